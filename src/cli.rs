//! Command-line arguments (clap derive). Modes: print the diff (default), `--check`, `--write`;
//! subcommands `list`, `explain`, `knowledge`, `files`, `lsp`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Rewrite Dockerfiles into production-grade ones: multi-stage builds, dependency layers that
/// cache, non-root users. Prints a unified diff by default.
#[derive(Debug, Parser)]
#[command(name = "restage", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub fix: FixArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the transforms: id, confidence, summary.
    List,
    /// Show the documentation of one transform.
    Explain {
        /// A transform id, as `restage list` shows it.
        id: String,
    },
    /// Print the effective knowledge (built-in data merged with restage.toml overrides) as TOML.
    Knowledge {
        #[command(flatten)]
        config: ConfigArgs,
        /// Use the restage.toml that applies to this directory.
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// List the Dockerfiles discovery picks, each with its build context and ecosystems.
    Files {
        /// Files or directories (default: the current directory).
        paths: Vec<PathBuf>,
        #[command(flatten)]
        config: ConfigArgs,
        /// Build context for every Dockerfile (default: its directory, or what compose says).
        #[arg(long, value_name = "DIR")]
        context: Option<PathBuf>,
        #[command(flatten)]
        walk: WalkArgs,
    },
    /// Run a language server on stdin/stdout: diagnostics, code actions and hover for editors.
    Lsp {
        #[command(flatten)]
        config: ConfigArgs,
    },
}

/// How directories are walked.
#[derive(Debug, Clone, Args, Default)]
pub struct WalkArgs {
    /// Follow symlinks met while walking directories (paths named here are always followed).
    #[arg(short = 'L', long)]
    pub follow: bool,
    /// Leave out paths matching this gitignore-style glob, relative to the current directory
    /// (repeatable). Files named on the command line are still processed.
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
}

/// Where configuration comes from.
#[derive(Debug, Clone, Args, Default)]
pub struct ConfigArgs {
    /// Use this restage.toml instead of searching upward from each Dockerfile.
    #[arg(long, value_name = "PATH", global = true)]
    pub config: Option<PathBuf>,
    /// Ignore every restage.toml.
    #[arg(long, conflicts_with = "config", global = true)]
    pub no_config: bool,
}

/// The default command: rewrite Dockerfiles.
#[derive(Debug, Clone, Args)]
pub struct FixArgs {
    /// Files or directories to process (default: the current directory).
    pub paths: Vec<PathBuf>,
    /// Print the diff and exit 1 if any file would change.
    #[arg(long, conflicts_with = "write")]
    pub check: bool,
    /// Rewrite files in place (atomically).
    #[arg(long)]
    pub write: bool,
    /// Run only these transforms (comma-separated ids).
    #[arg(long, value_delimiter = ',', value_name = "ID,...")]
    pub select: Option<Vec<String>>,
    /// Do not run these transforms (comma-separated ids).
    #[arg(long, value_delimiter = ',', value_name = "ID,...")]
    pub ignore: Vec<String>,
    /// Also apply changes that rely on a guess (marked unsafe).
    #[arg(long)]
    pub unsafe_fixes: bool,
    /// Build context for every Dockerfile (default: its directory, or what compose says).
    #[arg(long, value_name = "DIR")]
    pub context: Option<PathBuf>,
    /// Worker threads (default: the number of CPUs).
    #[arg(short = 'j', long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Colour the diff.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Print only errors (and the diff, which is the output).
    #[arg(short, long)]
    pub quiet: bool,
    /// How to report: a diff with notes (text), or one document on stdout for a machine.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text, value_name = "FORMAT")]
    pub output_format: OutputFormat,
    /// With --check, also fail on changes not applied: `unsafe` fixes, or any `suggestion`.
    #[arg(long, value_enum, default_value_t = FailLevel::Safe, requires = "check")]
    pub fail_level: FailLevel,
    /// Exit 0 even when --check finds changes (errors still exit 2).
    #[arg(long)]
    pub exit_zero: bool,
    /// After the summary, count the changes of each transform (text format).
    #[arg(long)]
    pub statistics: bool,
    /// After the summary, list the applied changes with their reasons (text format).
    #[arg(long)]
    pub show_fixes: bool,
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub walk: WalkArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// `--output-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// The unified diff on stdout, notes and the summary on stderr.
    Text,
    /// One JSON document on stdout (schema in the README).
    Json,
    /// SARIF 2.1.0 on stdout, for code scanning.
    Sarif,
    /// GitHub Actions workflow commands on stdout, for annotations.
    Github,
    /// A GitLab Code Quality report on stdout.
    Gitlab,
    /// A Markdown summary on stdout, for a pull-request comment.
    Markdown,
}

/// `--fail-level`: what makes `--check` fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum FailLevel {
    /// A change that would be applied.
    Safe,
    /// Also an unsafe fix not applied without --unsafe-fixes.
    Unsafe,
    /// Also any suggestion.
    Suggestion,
}
