//! Command-line arguments (clap derive). Modes: print the diff (default), `--check`, `--write`;
//! subcommands `list`, `explain`, `knowledge`, `files`, `verify`, `lsp`, `completions`, `man`.

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
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Print restage's man page (roff), or a subcommand's (`restage man verify`).
    Man {
        /// The subcommand whose page to print (its page is `restage-COMMAND(1)`).
        command: Option<String>,
        /// Write every page (restage.1 and restage-COMMAND.1 for each subcommand) into DIR.
        #[arg(long, value_name = "DIR", conflicts_with = "command")]
        dir: Option<std::path::PathBuf>,
    },
    /// Build the original and the rewritten Dockerfile with a real engine, run both, and compare
    /// them. Exit 0: same behaviour; 1: something differs; 2: cannot verify.
    Verify(Box<VerifyArgs>),
    /// Run a language server on stdin/stdout: diagnostics, code actions and hover for editors.
    Lsp {
        #[command(flatten)]
        config: ConfigArgs,
    },
}

/// The subcommand a first path that does not exist was probably meant to be: `lst` -> `list`.
/// `None` when the path exists, has a separator, or is not close to any subcommand name.
pub fn mistyped_subcommand(paths: &[PathBuf]) -> Option<(String, String)> {
    use clap::CommandFactory;
    let first = paths.first()?.to_str()?;
    if first == "-" || first.contains(['/', '\\', '.']) || std::fs::symlink_metadata(first).is_ok()
    {
        return None;
    }
    let cli = Cli::command();
    let best = cli
        .get_subcommands()
        .map(|c| c.get_name())
        .filter(|name| *name != "help")
        .map(|name| (edit_distance(first, name), name))
        .min()?;
    // One typo in a short name, two in a longer one.
    let allowed = if first.chars().count() <= 4 { 1 } else { 2 };
    (best.0 <= allowed).then(|| (first.to_owned(), best.1.to_owned()))
}

/// Optimal-string-alignment distance: insertions, deletions, substitutions and swaps of two
/// adjacent characters each cost one (`explian` is one swap from `explain`).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
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
    /// Leave out files named on the command line as a walk would: names that are not
    /// Dockerfiles' (templates, docs) and excluded paths (for hooks that pass every file).
    #[arg(long)]
    pub force_exclude: bool,
}

/// What runs on each Dockerfile: the same flags for the fix command and `restage verify`.
#[derive(Debug, Clone, Args, Default)]
pub struct PipelineArgs {
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
    #[command(flatten)]
    pub pipeline: PipelineArgs,
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
    /// Files or directories to process (default: the current directory); `-` reads one
    /// Dockerfile from stdin.
    pub paths: Vec<PathBuf>,
    /// With `-`: the path the Dockerfile on stdin stands for (default: `Dockerfile`). Its
    /// restage.toml, build context and the diff's name come from it; nothing is read or
    /// written there, and `--write` prints the rewritten file on stdout.
    #[arg(long, value_name = "PATH")]
    pub stdin_filename: Option<PathBuf>,
    /// Print the diff and exit 1 if any file would change.
    #[arg(long, conflicts_with = "write")]
    pub check: bool,
    /// Rewrite files in place (atomically).
    #[arg(long)]
    pub write: bool,
    #[command(flatten)]
    pub pipeline: PipelineArgs,
    /// Worker threads (default: the number of CPUs).
    #[arg(short = 'j', long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Colour the diff.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Print only errors (and the diff, which is the output).
    #[arg(short, long)]
    pub quiet: bool,
    /// How to report: a diff with notes (text), or one document on stdout for a machine
    /// [default: text, or `output-format` in restage.toml]
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub output_format: Option<OutputFormat>,
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

/// `--output-format` (also `output-format` in restage.toml).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
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
