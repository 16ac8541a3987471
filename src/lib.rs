//! restage rewrites Dockerfiles into production-grade ones: a pipeline of transforms runs over a
//! lossless model of each Dockerfile and emits text edits, shown as a unified diff, checked, or
//! written in place.

pub(crate) mod cli;
pub mod config;
pub mod context;
pub(crate) mod discover;
pub mod edit;
pub(crate) mod fsio;
pub mod knowledge;
pub mod lsp;
pub(crate) mod output;
pub(crate) mod packaging;
pub mod pipeline;
pub mod report;
pub mod run;
pub(crate) mod shell;
mod signals;
pub(crate) mod stdin;
pub(crate) mod sync;
pub mod syntax;
pub mod transforms;
pub mod verify;
