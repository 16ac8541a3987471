//! The run: arguments -> settings -> discovery -> each file through the pipeline in parallel ->
//! diffs on stdout, notes and the summary on stderr -> one exit code. One file's failure is a
//! value, never an abort; a panic inside one file is caught and reported for that file.

use std::io::{IsTerminal, Write};
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use clap::Parser;
use rayon::prelude::*;

use crate::cli::{Cli, ColorChoice, Command, ConfigArgs, FixArgs};
use crate::config::{CliOptions, ConfigChoice, ConfigResolver, Settings};
use crate::context::ContextReader;
use crate::discover::{self, Found, io_reason};
use crate::knowledge::Knowledge;
use crate::pipeline::{self, Options, PipelineError};
use crate::report::{self, Colors, Summary};
use crate::syntax::SyntaxErrorKind;
use crate::transforms::{self, Context, Transform};

/// Files larger than this are refused without being read: real Dockerfiles are a few KiB, and a
/// bound keeps a stray multi-gigabyte file from stalling a monorepo run.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

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
        }) => files(paths, config, context),
        Some(Command::Verify(args)) => Ok(crate::verify::command(&args)),
        None => fix(cli.fix),
    }
}

/// `restage files`: what discovery picks, each with its build context and ecosystems.
fn files(paths: Vec<PathBuf>, config: ConfigArgs, context: Option<PathBuf>) -> Result<i32> {
    let args = FixArgs {
        paths,
        context,
        config,
        ..fix_defaults()
    };
    let resolver = resolver(&args)?;
    let contexts = ContextReader::new();
    let cwd = std::env::current_dir().context("reading the current directory")?;
    let roots = roots(&args.paths);
    let found = discover::discover(&roots, 0);
    let lines: Vec<(String, bool)> = found
        .par_iter()
        .map(|f| {
            let display = report::display_path(f.path(), &cwd);
            match f {
                Found::Problem(_, reason) => (format!("{display}: error: {reason}"), false),
                Found::File(path) => {
                    let settings = match resolver.settings_for(path) {
                        Ok(s) => s,
                        Err(e) => return (format!("{display}: error: configuration: {e}"), false),
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
    for (line, good) in lines {
        if good {
            out.push_str(&line);
            out.push('\n');
        } else {
            ok = false;
            eprintln!("{line}");
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
                let text = std::fs::read_to_string(&overrides.origin)
                    .map_err(|e| format!("{origin}: {}", io_reason(&e)))?;
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
    let resolver = resolver(&args)?;
    let contexts = ContextReader::new();
    let cwd = std::env::current_dir().context("reading the current directory")?;
    let roots = roots(&args.paths);
    let threads = args.jobs.unwrap_or(0);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("starting worker threads")?;
    let found = discover::discover(&roots, pool.current_num_threads());
    let job = Job {
        knowledge: &knowledge,
        resolver: &resolver,
        contexts: &contexts,
        write: args.write,
        cwd: &cwd,
    };
    let reports: Vec<FileReport> =
        pool.install(|| found.par_iter().map(|f| process_guarded(f, &job)).collect());

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

/// Reads a file as a Dockerfile's text, or says in a few words why it cannot be one.
pub fn read_text(path: &Path) -> std::result::Result<String, String> {
    use std::io::Read;
    // Metadata first, by path: opening a FIFO would block until a writer appears.
    let meta = std::fs::metadata(path).map_err(|e| io_reason(&e))?;
    if meta.is_dir() {
        return Err("is a directory, not a Dockerfile".into());
    }
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(format!(
            "file of {} bytes is over the {} MiB limit for Dockerfiles",
            meta.len(),
            MAX_FILE_BYTES / (1024 * 1024)
        ));
    }
    let file = std::fs::File::open(path).map_err(|e| io_reason(&e))?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // A file that grows while it is read is still bounded.
    Read::take(file, MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| io_reason(&e))?;
    if bytes.is_empty() {
        return Err("empty file".into());
    }
    if let Some(p) = bytes.iter().position(|&b| b == 0) {
        return Err(format!("binary file (NUL byte at offset {p})"));
    }
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let (line, col) = crate::syntax::line_col(
            std::str::from_utf8(&e.as_bytes()[..at]).expect("valid up to here"),
            at,
        );
        format!("invalid UTF-8 at line {line} column {col} (byte {at})")
    })
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
        diff: report::unified_diff(display, &outcome.original, &outcome.text),
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

/// Replaces the file's content atomically: a temporary file in the same directory, fsync, then
/// rename over the original. Permissions (and, when allowed, ownership) are kept; a symlink is
/// kept and its target rewritten.
pub fn write_atomic(path: &Path, text: &str) -> Result<()> {
    let target =
        std::fs::canonicalize(path).with_context(|| format!("resolving {}", path.display()))?;
    let dir = target
        .parent()
        .context("the file has no parent directory")?;
    let meta = std::fs::metadata(&target)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".restage-")
        .tempfile_in(dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    tmp.write_all(text.as_bytes())?;
    tmp.as_file().set_permissions(meta.permissions())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let _ = std::os::unix::fs::fchown(tmp.as_file(), Some(meta.uid()), Some(meta.gid()));
    }
    tmp.as_file().sync_all()?;
    tmp.persist(&target)
        .map_err(|e| e.error)
        .with_context(|| format!("replacing {}", target.display()))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}
