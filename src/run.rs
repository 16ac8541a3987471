//! The run: arguments -> settings -> discovery -> each file through the pipeline in parallel ->
//! diffs on stdout, notes and the summary on stderr -> one exit code. One file's failure is a
//! value, never an abort; a panic inside one file is caught and reported for that file.

use std::io::{IsTerminal, Write};
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use clap::Parser;
use rayon::prelude::*;

use crate::cli::{Cli, ColorChoice, Command, ConfigArgs, FixArgs, WalkArgs};
use crate::config::{CliOptions, ConfigChoice, ConfigResolver, Settings};
use crate::context::ContextReader;
use crate::discover::{self, Found};
use crate::knowledge::Knowledge;
use crate::pipeline::{self, Options, PipelineError};
use crate::report::{self, Colors, Summary};
use crate::syntax::SyntaxErrorKind;
use crate::transforms::{self, Context, Transform};

pub use crate::fsio::MAX_FILE_BYTES;
use crate::fsio::{read_text, write_atomic};

/// Exit codes.
pub const EXIT_OK: i32 = 0;
pub const EXIT_CHANGES: i32 = 1;
pub const EXIT_ERROR: i32 = 2;

/// Entry point of the binary: returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { EXIT_ERROR } else { EXIT_OK };
        }
    };
    // Panics are caught per file and reported as one line; the default hook would print a
    // backtrace banner in the middle of the output.
    panic::set_hook(Box::new(|_| {}));
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("restage: error: {e:#}");
            EXIT_ERROR
        }
    }
}

fn dispatch(cli: Cli) -> Result<i32> {
    match cli.command {
        Some(Command::List) => {
            let mut out = String::new();
            for t in transforms::registry() {
                out.push_str(&format!(
                    "{:<16} {}\n{:<16} confidence: {}\n",
                    t.id, t.summary, "", t.confidence
                ));
            }
            print_stdout(&out);
            Ok(EXIT_OK)
        }
        Some(Command::Explain { id }) => match transforms::find(&id) {
            Some(t) => {
                print_stdout(t.doc);
                Ok(EXIT_OK)
            }
            None => bail!("unknown transform id `{id}` (see `restage list`)"),
        },
        Some(Command::Knowledge { config, dir }) => {
            let args = FixArgs {
                config,
                ..fix_defaults()
            };
            let resolver = resolver(&args)?;
            // The settings of a (possibly absent) Dockerfile in `dir`: what applies there.
            let settings = resolver
                .settings_for(&dir.join("Dockerfile"))
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let knowledge = KnowledgeCache::new()?
                .for_settings(&settings)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            print_stdout(&knowledge.to_toml());
            Ok(EXIT_OK)
        }
        Some(Command::Files {
            paths,
            config,
            context,
            walk,
        }) => files(paths, config, context, walk),
        None => fix(cli.fix),
    }
}

/// `restage files`: what discovery picks, each with its build context and ecosystems.
fn files(
    paths: Vec<PathBuf>,
    config: ConfigArgs,
    context: Option<PathBuf>,
    walk: WalkArgs,
) -> Result<i32> {
    let args = FixArgs {
        paths,
        context,
        config,
        walk,
        ..fix_defaults()
    };
    let resolver = std::sync::Arc::new(resolver(&args)?);
    let contexts = ContextReader::new();
    let cwd = std::env::current_dir().context("reading the current directory")?;
    let roots = roots(&args.paths);
    let found = discover::discover_with(&roots, walk_options(&args, &resolver, 0));
    let lines: Vec<(String, bool)> = found
        .par_iter()
        .map(|f| {
            let display = report::display_path(f.path(), &cwd);
            match f {
                Found::Problem(_, reason) => (format!("{display}: error: {reason}"), false),
                Found::File(path) => {
                    let settings = match resolver.settings_for(path) {
                        Ok(s) => s,
                        // The config file's own line, printed once below.
                        Err(e) => {
                            return (e.located(&report::display_path(&e.path, &cwd)), false);
                        }
                    };
                    let build = contexts.read(path, settings.context.as_deref());
                    let dir = report::display_path(&build.dir, &cwd);
                    let dir = if dir.is_empty() { ".".to_string() } else { dir };
                    (
                        format!(
                            "{display}\tcontext: {dir} ({})\tecosystems: {}",
                            build.source.describe(),
                            build.summary()
                        ),
                        true,
                    )
                }
            }
        })
        .collect();
    let mut out = String::new();
    let mut ok = true;
    let mut printed = std::collections::HashSet::new();
    for (line, good) in lines {
        if good {
            out.push_str(&line);
            out.push('\n');
        } else {
            ok = false;
            if printed.insert(line.clone()) {
                eprintln!("{line}");
            }
        }
    }
    print_stdout(&out);
    Ok(if ok { EXIT_OK } else { EXIT_ERROR })
}

/// The paths to process: those given, or the current directory.
fn roots(paths: &[PathBuf]) -> Vec<PathBuf> {
    if paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        paths.to_vec()
    }
}

fn fix_defaults() -> FixArgs {
    FixArgs {
        paths: Vec::new(),
        check: false,
        write: false,
        select: None,
        ignore: Vec::new(),
        unsafe_fixes: false,
        context: None,
        jobs: None,
        color: ColorChoice::Never,
        quiet: false,
        config: ConfigArgs::default(),
        walk: WalkArgs::default(),
    }
}

/// How discovery walks: `--follow`, and the excludes of the command line and config files.
fn walk_options(
    args: &FixArgs,
    resolver: &std::sync::Arc<ConfigResolver>,
    threads: usize,
) -> discover::Walk {
    discover::Walk {
        threads,
        follow: args.walk.follow,
        exclude: resolver.excluder(),
    }
}

fn print_stdout(s: &str) {
    let mut out = std::io::stdout().lock();
    // A closed pipe (`restage | head`) is not an error worth a panic.
    let _ = out.write_all(s.as_bytes());
    let _ = out.flush();
}

/// Checks the ids named on the command line against the registry.
fn check_ids(args: &FixArgs) -> Result<()> {
    for id in args.select.iter().flatten().chain(&args.ignore) {
        if transforms::find(id).is_none() {
            bail!("unknown transform id `{id}` (see `restage list`)");
        }
    }
    Ok(())
}

/// The resolver for the configuration the command line asks for.
pub fn resolver(args: &FixArgs) -> Result<ConfigResolver> {
    let options = CliOptions {
        select: args.select.clone(),
        ignore: args.ignore.clone(),
        unsafe_fixes: args.unsafe_fixes,
        context: args.context.clone(),
        config: config_choice(&args.config),
        exclude: args.walk.exclude.clone(),
    };
    ConfigResolver::new(options).map_err(|e| anyhow::anyhow!("{e}"))
}

fn config_choice(args: &ConfigArgs) -> ConfigChoice {
    match (&args.config, args.no_config) {
        (_, true) => ConfigChoice::None,
        (Some(p), false) => ConfigChoice::Path(p.clone()),
        (None, false) => ConfigChoice::Search,
    }
}

/// How one file ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Unchanged,
    Changed,
    /// Valid input restage does not handle yet; left untouched.
    Skipped(String),
    /// An error for this file; left untouched.
    Failed(String),
}

/// The result of one file, ready to print.
#[derive(Debug, Clone)]
pub struct FileReport {
    pub display: String,
    pub status: Status,
    pub diff: String,
    /// Lines for stderr (notes, suggestions, warnings), already prefixed with the path.
    pub notes: Vec<String>,
    pub suggestions: usize,
}

/// The built-in knowledge, and the built-in knowledge merged with each config file's
/// `[knowledge]` table, merged once per config file and shared by the files under it.
pub struct KnowledgeCache {
    builtin: Knowledge,
    merged: std::sync::Mutex<
        std::collections::BTreeMap<PathBuf, std::result::Result<Knowledge, String>>,
    >,
}

impl KnowledgeCache {
    pub fn new() -> Result<KnowledgeCache> {
        Ok(KnowledgeCache {
            builtin: Knowledge::builtin().context("loading the built-in knowledge")?,
            merged: Default::default(),
        })
    }

    /// The knowledge in force under these settings.
    pub fn for_settings(&self, settings: &Settings) -> std::result::Result<Knowledge, String> {
        let Some(overrides) = &settings.knowledge else {
            return Ok(self.builtin.clone());
        };
        let mut merged = self.merged.lock().expect("no panic while holding the lock");
        merged
            .entry(overrides.origin.clone())
            .or_insert_with(|| {
                let origin = overrides.origin.display().to_string();
                let text = crate::config::read_config_text(&overrides.origin)
                    .map_err(|e| e.to_string())?;
                self.builtin
                    .with_overrides_from_config(&text, &origin)
                    .map_err(|e| format!("{e:#}"))
            })
            .clone()
    }
}

/// Everything a worker needs, shared read-only across threads.
struct Job<'a> {
    knowledge: &'a KnowledgeCache,
    resolver: &'a ConfigResolver,
    contexts: &'a ContextReader,
    write: bool,
    cwd: &'a Path,
}

fn fix(args: FixArgs) -> Result<i32> {
    check_ids(&args)?;
    let knowledge = KnowledgeCache::new()?;
    let resolver = std::sync::Arc::new(resolver(&args)?);
    let contexts = ContextReader::new();
    let cwd = std::env::current_dir().context("reading the current directory")?;
    let roots = roots(&args.paths);
    let threads = args.jobs.unwrap_or(0);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("starting worker threads")?;
    let found = discover::discover_with(
        &roots,
        walk_options(&args, &resolver, pool.current_num_threads()),
    );
    let job = Job {
        knowledge: &knowledge,
        resolver: &resolver,
        contexts: &contexts,
        write: args.write,
        cwd: &cwd,
    };
    // A broken restage.toml is reported once, not once per Dockerfile under it.
    let (config_errors, broken) = broken_configs(&found, &job);
    let reports: Vec<FileReport> = pool.install(|| {
        found
            .par_iter()
            .enumerate()
            .map(|(i, f)| match broken.get(&i) {
                Some(reason) => FileReport {
                    notes: Vec::new(),
                    ..failed(&report::display_path(f.path(), job.cwd), reason.clone())
                },
                None => process_guarded(f, &job),
            })
            .collect()
    });

    let colors = Colors(match args.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stdout().is_terminal()
        }
    });
    let mut summary = Summary {
        files: reports.len(),
        ..Summary::default()
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let stderr = std::io::stderr();
    let mut err = stderr.lock();
    for line in &config_errors {
        let _ = writeln!(err, "{line}");
    }
    for r in &reports {
        match &r.status {
            Status::Unchanged => summary.unchanged += 1,
            Status::Changed => summary.changed += 1,
            Status::Skipped(_) => summary.skipped += 1,
            Status::Failed(_) => summary.errors += 1,
        }
        summary.suggestions += r.suggestions;
        if !args.write && !r.diff.is_empty() {
            let _ = out.write_all(report::colorize(&r.diff, colors).as_bytes());
        }
        let show_notes = !args.quiet || matches!(r.status, Status::Failed(_));
        if show_notes {
            for n in &r.notes {
                let _ = writeln!(err, "{n}");
            }
        }
    }
    let _ = out.flush();
    if !args.quiet || summary.errors > 0 {
        let _ = writeln!(err, "{}", summary.line(args.write));
    }
    Ok(if summary.errors > 0 {
        EXIT_ERROR
    } else if args.check && summary.changed > 0 {
        EXIT_CHANGES
    } else {
        EXIT_OK
    })
}

fn process_guarded(found: &Found, job: &Job) -> FileReport {
    let display = report::display_path(found.path(), job.cwd);
    let result = panic::catch_unwind(AssertUnwindSafe(|| process(found, &display, job)));
    result.unwrap_or_else(|payload| {
        let msg = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string());
        failed(
            &display,
            format!("internal error (please report it): {msg}"),
        )
    })
}

fn failed(display: &str, message: String) -> FileReport {
    FileReport {
        display: display.to_string(),
        notes: vec![format!("{display}: error: {message}")],
        status: Status::Failed(message),
        diff: String::new(),
        suggestions: 0,
    }
}

/// The configuration errors of the files found, each once in the order first met, and the
/// files (by index) under a broken configuration with their reason.
fn broken_configs(
    found: &[Found],
    job: &Job,
) -> (Vec<String>, std::collections::HashMap<usize, String>) {
    let known: Vec<&str> = transforms::registry().iter().map(|t| t.id).collect();
    let mut lines: Vec<String> = Vec::new();
    let mut broken = std::collections::HashMap::new();
    for (i, f) in found.iter().enumerate() {
        let Found::File(path) = f else { continue };
        let errors: Vec<String> = match job.resolver.settings_for(path) {
            Err(e) => vec![e.located(&report::display_path(&e.path, job.cwd))],
            Ok(settings) => {
                let mut errors: Vec<String> = settings
                    .unknown_ids(&known)
                    .into_iter()
                    .map(|u| format!("restage: error: configuration: {u}"))
                    .collect();
                if let Err(e) = job.knowledge.for_settings(&settings) {
                    errors.push(format!("restage: error: configuration: {e}"));
                }
                errors
            }
        };
        if errors.is_empty() {
            continue;
        }
        broken.insert(i, format!("configuration: {}", errors.join("; ")));
        for line in errors {
            if !lines.contains(&line) {
                lines.push(line);
            }
        }
    }
    (lines, broken)
}

fn process(found: &Found, display: &str, job: &Job) -> FileReport {
    let path = match found {
        Found::Problem(_, reason) => return failed(display, reason.clone()),
        Found::File(p) => p,
    };
    let text = match read_text(path) {
        Ok(t) => t,
        Err(reason) => return failed(display, reason),
    };
    let settings: std::sync::Arc<Settings> = match job.resolver.settings_for(path) {
        Ok(s) => s,
        Err(e) => return failed(display, format!("configuration: {e}")),
    };
    let known: Vec<&str> = transforms::registry().iter().map(|t| t.id).collect();
    let unknown = settings.unknown_ids(&known);
    if !unknown.is_empty() {
        return failed(display, format!("configuration: {}", unknown.join("; ")));
    }
    let selected: Vec<&'static Transform> = transforms::registry()
        .iter()
        .filter(|t| settings.is_enabled(t.id))
        .collect();
    let knowledge = match job.knowledge.for_settings(&settings) {
        Ok(k) => k,
        Err(e) => return failed(display, format!("configuration: {e}")),
    };
    let build = job.contexts.read(path, settings.context.as_deref());
    let ctx = Context {
        knowledge: &knowledge,
        settings: &settings,
        build: &build,
    };
    let options = Options {
        unsafe_fixes: settings.unsafe_fixes,
    };
    let outcome = match pipeline::run(&text, &ctx, &selected, options) {
        Ok(o) => o,
        Err(PipelineError::Syntax(e)) if e.kind == SyntaxErrorKind::Unsupported => {
            let location = location(display, e.line, e.column);
            return FileReport {
                display: display.to_string(),
                notes: vec![format!("{location}: skipped: {}", e.message_with_kind())],
                status: Status::Skipped(e.to_string()),
                diff: String::new(),
                suggestions: 0,
            };
        }
        Err(PipelineError::Syntax(e)) => {
            let location = location(display, e.line, e.column);
            let message = e.message_with_kind();
            return FileReport {
                display: display.to_string(),
                notes: vec![format!("{location}: error: {message}")],
                status: Status::Failed(message),
                diff: String::new(),
                suggestions: 0,
            };
        }
        Err(e) => return failed(display, e.to_string()),
    };
    let mut notes = Vec::new();
    for n in &outcome.applied {
        notes.push(format!(
            "{display}:{}:{}: {}: {}",
            n.line, n.column, n.transform, n.title
        ));
    }
    for n in &outcome.suggestions {
        let label = match n.applicability {
            crate::edit::Applicability::Unsafe => "unsafe fix, not applied without --unsafe-fixes",
            _ => "suggestion",
        };
        notes.push(format!(
            "{display}:{}:{}: {} ({label}): {}: {}",
            n.line, n.column, n.transform, n.title, n.reason
        ));
    }
    for w in &outcome.warnings {
        notes.push(format!(
            "{}: warning: {}",
            location(display, w.line, w.column),
            w.message
        ));
    }
    let suggestions = outcome.suggestions.len();
    if !outcome.changed() {
        return FileReport {
            display: display.to_string(),
            status: Status::Unchanged,
            diff: String::new(),
            notes,
            suggestions,
        };
    }
    if job.write
        && let Err(e) = write_atomic(path, &outcome.text)
    {
        return failed(display, format!("could not write: {e:#}"));
    }
    FileReport {
        display: display.to_string(),
        status: Status::Changed,
        diff: report::unified_diff_path(path, job.cwd, &outcome.original, &outcome.text),
        notes,
        suggestions,
    }
}

fn location(display: &str, line: usize, column: usize) -> String {
    if line > 0 {
        format!("{display}:{line}:{column}")
    } else {
        display.to_string()
    }
}
