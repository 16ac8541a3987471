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

/// The command-line definition as the man pages show it: built, so each subcommand is named
/// `restage-COMMAND`, as the SUBCOMMANDS section of the main page refers to it.
fn built() -> clap::Command {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    cmd
}

/// The man page of restage, or of one of its subcommands: roff source for section 1.
pub fn man_page(subcommand: Option<&str>) -> Result<String> {
    let cmd = built();
    let page = match subcommand {
        None => cmd,
        Some(name) => cmd
            .get_subcommands()
            .find(|s| s.get_name() == name)
            .cloned()
            .ok_or_else(|| {
                let names: Vec<&str> = cmd.get_subcommands().map(|s| s.get_name()).collect();
                anyhow::anyhow!("no subcommand `{name}` (restage has {})", names.join(", "))
            })?,
    };
    let mut out = Vec::new();
    clap_mangen::Man::new(page)
        .render(&mut out)
        .context("rendering the man page")?;
    String::from_utf8(out).context("the man page is not UTF-8")
}

/// Every man page, restage.1 and restage-COMMAND.1 for each subcommand, written into `dir`.
pub fn man_pages_to(dir: &std::path::Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    clap_mangen::generate_to(built(), dir)
        .with_context(|| format!("writing the man pages into {}", dir.display()))
}
