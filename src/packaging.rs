//! What installing restage needs besides the binary: shell completion scripts
//! (`restage completions SHELL`) and the man page (`restage man`), both generated from the
//! command-line definition so they never drift from it.

use anyhow::{Context as _, Result};
use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;

/// The completion script for `shell`.
pub fn completions(shell: Shell) -> String {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "restage", &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// The man page, roff source for section 1.
pub fn man_page() -> Result<String> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut out)
        .context("rendering the man page")?;
    String::from_utf8(out).context("the man page is not UTF-8")
}
