//! restage's integration tests: one binary. `fixtures` runs every transform fixture with its
//! invariants, `syntax` the lossless model over the syntax fixtures, `docs` each transform's
//! documented example, `cli` the real binary on copied fixture trees, `stdin` reading stdin and mistyped commands,
//! `packaging` completions, man page, pre-commit hooks, the GitHub Action and the Dockerfile,
//! `lsp` the language server over JSON-RPC, `walk_reads` what the walk's listing spares.

mod cli;
mod common;
mod docs;
mod fixtures;
mod io;
mod lsp;
mod mutations;
mod outputs;
mod packaging;
mod stdin;
mod streamed;
mod syntax;
mod verify;
mod walk_reads;
