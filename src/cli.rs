//! Command-line arguments (clap derive). Modes: print the diff (default), `--check`, `--write`;
//! subcommands `list`, `explain`, `knowledge`, `files`, `verify`.

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
    },
    /// Build the original and the rewritten Dockerfile with a real engine, run both, and compare
    /// them. Exit 0: same behaviour; 1: something differs; 2: cannot verify.
    Verify(Box<VerifyArgs>),
}

/// `restage verify`.
#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    /// A Dockerfile, or a directory with one.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Verify this Dockerfile as the rewrite instead of computing restage's.
    #[arg(long, value_name = "FILE")]
    pub against: Option<PathBuf>,
    /// Run only these transforms (comma-separated ids).
    #[arg(long, value_delimiter = ',', value_name = "ID,...")]
    pub select: Option<Vec<String>>,
    /// Do not run these transforms (comma-separated ids).
    #[arg(long, value_delimiter = ',', value_name = "ID,...")]
    pub ignore: Vec<String>,
    /// Also apply changes that rely on a guess (marked unsafe).
    #[arg(long)]
    pub unsafe_fixes: bool,
    /// Build context (default: the Dockerfile's directory, or what compose says).
    #[arg(long, value_name = "DIR")]
    pub context: Option<PathBuf>,
    /// Probe: publish PORT on 127.0.0.1 and GET PATH (default `/`) from both containers.
    #[arg(long, value_name = "PORT[/PATH]", conflicts_with = "run")]
    pub http: Option<String>,
    /// Probe: run both images with these arguments (shell words; empty: their own command) and
    /// compare stdout.
    #[arg(long, value_name = "ARGS", allow_hyphen_values = true)]
    pub run: Option<String>,
    /// Both answers must contain TEXT (alone: run the image's own command).
    #[arg(long, value_name = "TEXT")]
    pub expect: Option<String>,
    /// Environment for both containers (repeatable).
    #[arg(short = 'e', long = "env", value_name = "NAME=VALUE")]
    pub env: Vec<String>,
    /// Seconds to wait for a probe's answer (default 60).
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u64>,
    /// Also edit a source file in a copy of the context (FILE, or one restage picks), rebuild
    /// both, and check that the dependency install is reused from the build cache.
    #[arg(long, value_name = "FILE", num_args = 0..=1, require_equals = true, default_missing_value = "")]
    pub rebuild: Option<String>,
    /// Text of the dependency-install RUN step for --rebuild (default: the install commands
    /// restage knows).
    #[arg(long, value_name = "TEXT")]
    pub install_step: Option<String>,
    /// The container engine.
    #[arg(long, value_enum, default_value_t = EngineChoice::Docker)]
    pub engine: EngineChoice,
    /// Memory limit of each container.
    #[arg(long, value_name = "SIZE", default_value = "2g")]
    pub memory: String,
    /// Seconds a build may take.
    #[arg(long, value_name = "SECS", default_value_t = 1800)]
    pub build_timeout: u64,
    /// Build without the cache (comparable build times; slower).
    #[arg(long)]
    pub no_cache: bool,
    /// How to print the result.
    #[arg(long, value_enum, default_value_t = VerifyFormat::Table)]
    pub output_format: VerifyFormat,
    #[command(flatten)]
    pub config: ConfigArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EngineChoice {
    Docker,
    Podman,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VerifyFormat {
    Table,
    Json,
    Markdown,
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
    #[command(flatten)]
    pub config: ConfigArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}
