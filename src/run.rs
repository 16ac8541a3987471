//! The run: arguments -> settings -> discovery -> each file through the pipeline in parallel ->
//! a typed `FileReport` per file -> the output format's emitter -> one exit code. One file's
//! failure is a value, never an abort; a panic inside one file is caught and reported for that
//! file, with where it happened.

use std::io::{IsTerminal, Write};
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, Result, bail};
use clap::Parser;
use rayon::prelude::*;

use crate::cli::{
    Cli, ColorChoice, Command, ConfigArgs, FailLevel, FixArgs, OutputFormat, PipelineArgs, WalkArgs,
};
use crate::config::{CliOptions, ConfigChoice, ConfigResolver, Settings};
use crate::context::ContextReader;
use crate::discover::{self, Found};
use crate::edit::Applicability;
use crate::knowledge::Knowledge;
use crate::output::{self, Progress};
use crate::pipeline::{self, Note, Options, PipelineError};
use crate::report::{self, Colors, Summary};
use crate::syntax::SyntaxErrorKind;
use crate::transforms::{self, Context, Transform};

pub use crate::fsio::MAX_FILE_BYTES;
use crate::fsio::{Known, read_text_as, write_atomic};

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
    // The hook only records where a panic happened, for the report: a panic inside one file is
    // caught and reported for that file, and one outside is reported below, in one line each.
    panic::set_hook(Box::new(|info| {
        let at = info
            .location()
            .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()));
        *crate::sync::lock(&LAST_PANIC_LOCATION) = at.clone();
        PANIC_LOCATION.with(|p| *p.borrow_mut() = at);
    }));
    match panic::catch_unwind(AssertUnwindSafe(|| dispatch(cli))) {
        Ok(Ok(code)) => code,
        Ok(Err(e)) => {
            if let Some(e) = e.downcast_ref::<output::WriteError>() {
                if !e.is_broken_pipe() {
                    let _ = writeln!(std::io::stderr(), "restage: error: {e}");
                }
                return if e.is_broken_pipe() {
                    EXIT_OK
                } else {
                    EXIT_ERROR
                };
            }
            let _ = writeln!(std::io::stderr(), "restage: error: {e:#}");
            EXIT_ERROR
        }
        Err(payload) => {
            // The panic may have happened on a worker thread: its location is the last one.
            let at = crate::sync::lock(&LAST_PANIC_LOCATION).take();
            PANIC_LOCATION.with(|p| *p.borrow_mut() = at);
            let _ = writeln!(
                std::io::stderr(),
                "restage: internal error: {}; please report it",
                panic_message(payload.as_ref())
            );
            EXIT_ERROR
        }
    }
}

/// Where the last panic on any thread happened, for a panic that reaches `main`.
static LAST_PANIC_LOCATION: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

thread_local! {
    /// Where the last panic on this thread happened (`file:line:column`).
    static PANIC_LOCATION: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// A caught panic's message and, when the hook saw it, its location in restage's source.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let msg = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string());
    match PANIC_LOCATION.with(|p| p.borrow_mut().take()) {
        Some(at) => format!("{msg} (at {at})"),
        None => msg,
    }
}

/// A panic on purpose, to test how panics are reported (debug builds only).
fn panic_for_test(place: &str) {
    if cfg!(debug_assertions) && std::env::var_os("RESTAGE_TEST_PANIC").is_some_and(|v| v == place)
    {
        panic!("RESTAGE_TEST_PANIC={place}");
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
            print_stdout(&out)?;
            Ok(EXIT_OK)
        }
        Some(Command::Explain { id }) => match transforms::find(&id) {
            Some(t) => {
                print_stdout(t.doc)?;
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
            print_stdout(&knowledge.to_toml())?;
            Ok(EXIT_OK)
        }
        Some(Command::Files {
            paths,
            config,
            context,
            walk,
        }) => files(paths, config, context, walk),
        Some(Command::Lsp { config }) => crate::lsp::run_stdio(config_choice(&config)),
        Some(Command::Verify(args)) => Ok(crate::verify::command(&args)),
        Some(Command::Completions { shell }) => {
            print_stdout(&crate::packaging::completions(shell))?;
            Ok(EXIT_OK)
        }
        Some(Command::Man { command, dir }) => {
            match dir {
                Some(dir) => crate::packaging::man_pages_to(&dir)?,
                None => print_stdout(&crate::packaging::man_page(command.as_deref())?)?,
            }
            Ok(EXIT_OK)
        }
        None => {
            if let Some((typed, meant)) = crate::cli::mistyped_subcommand(&cli.fix.paths) {
                // The name itself, after an option (`restage --check list`): options before
                // a command are the rewrite's, so the command was read as a path.
                if typed == meant {
                    bail!(
                        "`{typed}` is a command, but an option comes before it: a command comes first, its options after it (`restage {typed} ...`)"
                    );
                }
                bail!("unknown command or path `{typed}`; did you mean `{meant}`?");
            }
            fix(cli.fix)
        }
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
        pipeline: PipelineArgs {
            context,
            ..PipelineArgs::default()
        },
        config,
        walk,
        ..fix_defaults()
    };
    let resolver = std::sync::Arc::new(resolver(&args)?);
    let contexts = ContextReader::new();
    let cwd = std::env::current_dir().context("reading the current directory")?;
    let roots = roots(&args.paths);
    let found = discover::discover_with(&roots, walk_options(&args, &resolver, &contexts, 0));
    let lines: Vec<(String, bool)> = found
        .par_iter()
        .map(|f| {
            let display = report::display_path(f.path(), &cwd);
            match f {
                Found::Problem(_, reason) => (format!("{display}: error: {reason}"), false),
                Found::File(path, _) => {
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
                writeln!(std::io::stderr(), "{line}")
                    .map_err(|e| output::WriteError::new("stderr", e))?;
            }
        }
    }
    print_stdout(&out)?;
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

pub(crate) fn fix_defaults() -> FixArgs {
    FixArgs {
        paths: Vec::new(),
        stdin_filename: None,
        check: false,
        write: false,
        pipeline: PipelineArgs::default(),
        jobs: None,
        color: ColorChoice::Never,
        quiet: false,
        output_format: None,
        fail_level: FailLevel::Safe,
        exit_zero: false,
        statistics: false,
        show_fixes: false,
        config: ConfigArgs::default(),
        walk: WalkArgs::default(),
    }
}

/// How discovery walks: `--follow`, and the excludes of the command line and config files
/// (a found file's folder listed once for its configuration and its build context).
fn walk_options(
    args: &FixArgs,
    resolver: &std::sync::Arc<ConfigResolver>,
    contexts: &ContextReader,
    threads: usize,
) -> discover::Walk {
    discover::Walk {
        threads,
        follow: args.walk.follow,
        exclude: resolver.excluder_listing(contexts),
        force_exclude: args.walk.force_exclude,
        listings: Some(contexts.listings()),
    }
}

/// Writes `s` to stdout; a failed write is an error (a closed pipe is told apart by `main`).
fn print_stdout(s: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(s.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| output::WriteError::new("stdout", e))?;
    Ok(())
}

/// Checks the ids named on the command line against the registry.
pub(crate) fn check_ids(args: &PipelineArgs) -> Result<()> {
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
        select: args.pipeline.select.clone(),
        ignore: args.pipeline.ignore.clone(),
        unsafe_fixes: args.pipeline.unsafe_fixes,
        context: args.pipeline.context.clone(),
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
    Skipped(Problem),
    /// An error for this file; left untouched.
    Failed(Problem),
}

impl Status {
    /// The name the machine formats use.
    pub fn name(&self) -> &'static str {
        match self {
            Status::Unchanged => "unchanged",
            Status::Changed => "changed",
            Status::Skipped(_) => "skipped",
            Status::Failed(_) => "error",
        }
    }

    /// Why the file was skipped or failed.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            Status::Skipped(p) | Status::Failed(p) => Some(p),
            Status::Unchanged | Status::Changed => None,
        }
    }
}

/// A message about a place in the original file: 1-based line and column (in bytes); line 0
/// when it concerns the whole file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub message: String,
    pub line: usize,
    pub column: usize,
}

impl Problem {
    /// A problem of the whole file.
    pub fn file(message: String) -> Problem {
        Problem {
            message,
            line: 0,
            column: 0,
        }
    }
}

/// One change a transform made or proposed, at its place in the original file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeReport {
    pub id: &'static str,
    pub title: String,
    pub reason: String,
    pub applicability: Applicability,
    /// In the rewritten text (and the diff).
    pub applied: bool,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    /// For an applied change, when the file's edits are kept (see [`FileReport::edits`]): the
    /// indices of the edits it made or had a part in.
    pub fix: Vec<usize>,
}

impl ChangeReport {
    fn of(note: Note, applied: bool) -> ChangeReport {
        ChangeReport {
            fix: note.edits,
            id: note.transform,
            title: note.title,
            reason: note.reason,
            applicability: note.applicability,
            applied,
            line: note.line,
            column: note.column,
            end_line: note.end_line,
            end_column: note.end_column,
        }
    }
}

/// The result of one file, as data: the emitters in `output` render it.
#[derive(Debug, Clone)]
pub struct FileReport {
    /// The path as shown (relative to the current directory, with `/`).
    pub display: String,
    pub status: Status,
    /// Applied changes first, in order, then the ones not applied.
    pub changes: Vec<ChangeReport>,
    pub warnings: Vec<Problem>,
    /// The unified diff (empty when nothing changed).
    pub diff: String,
    /// The original and rewritten text, kept only when the output format needs them (for a
    /// file that does not parse, the original twice).
    pub texts: Option<(String, String)>,
    /// With `texts`: the edits against the original that give the rewritten text (sorted, apart
    /// from each other), which the applied changes' `fix` indices name.
    pub edits: Vec<crate::edit::Edit>,
    /// The error is one the run already reported once for many files (a broken
    /// configuration): the text format does not repeat it per file.
    pub error_in_preamble: bool,
}

impl FileReport {
    pub(crate) fn new(display: &str, status: Status) -> FileReport {
        FileReport {
            display: display.to_string(),
            status,
            changes: Vec::new(),
            warnings: Vec::new(),
            diff: String::new(),
            texts: None,
            edits: Vec::new(),
            error_in_preamble: false,
        }
    }
}

/// The built-in knowledge, and the built-in knowledge merged with each config file's
/// `[knowledge]` table, merged once per config file and shared by the files under it.
pub struct KnowledgeCache {
    builtin: Knowledge,
    merged: std::sync::Mutex<
        std::collections::BTreeMap<PathBuf, std::result::Result<Knowledge, KnowledgeError>>,
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
    pub fn for_settings(
        &self,
        settings: &Settings,
    ) -> std::result::Result<Knowledge, KnowledgeError> {
        let Some(overrides) = &settings.knowledge else {
            return Ok(self.builtin.clone());
        };
        let mut merged = crate::sync::lock(&self.merged);
        merged
            .entry(overrides.origin.clone())
            .or_insert_with(|| {
                let origin = overrides.origin.display().to_string();
                let text = crate::config::read_config_text(&overrides.origin)
                    .map_err(KnowledgeError::Read)?;
                self.builtin
                    .with_overrides_from_config(&text, &origin)
                    .map_err(|e| KnowledgeError::Invalid(format!("{e:#}")))
            })
            .clone()
    }
}

/// Why a config file's `[knowledge]` table cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KnowledgeError {
    /// The config file cannot be read (again) to take the table from.
    Read(crate::config::ConfigError),
    /// The table does not merge with the built-in knowledge (the whole chain of causes).
    Invalid(String),
}

impl std::fmt::Display for KnowledgeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KnowledgeError::Read(e) => e.fmt(f),
            KnowledgeError::Invalid(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for KnowledgeError {}

/// Runs the transforms `settings` enables over `text`, with the options it sets: the one way the
/// fix command, `restage verify` and the language server run the pipeline on a file.
/// `attribute`: see [`pipeline::Options::attribute`].
pub(crate) fn run_settings(
    text: &str,
    settings: &Settings,
    knowledge: &Knowledge,
    build: &crate::context::BuildContext,
    attribute: bool,
) -> std::result::Result<pipeline::Outcome, PipelineError> {
    let selected: Vec<&'static Transform> = transforms::registry()
        .iter()
        .filter(|t| settings.is_enabled(t.id))
        .collect();
    run_selected(
        text,
        settings,
        knowledge,
        build,
        &selected,
        Options {
            unsafe_fixes: settings.unsafe_fixes,
            attribute,
        },
    )
}

/// Runs `selected` over `text` with these options (whether unsafe changes apply, whether edits
/// are attributed to changes).
pub(crate) fn run_selected(
    text: &str,
    settings: &Settings,
    knowledge: &Knowledge,
    build: &crate::context::BuildContext,
    selected: &[&'static Transform],
    options: Options,
) -> std::result::Result<pipeline::Outcome, PipelineError> {
    let ctx = Context {
        knowledge,
        options: crate::transforms::TransformOptions::of(settings),
        build,
    };
    pipeline::run(text, &ctx, selected, options)
}

/// Everything a worker needs, shared read-only across threads.
pub(crate) struct Job<'a> {
    pub(crate) knowledge: &'a KnowledgeCache,
    pub(crate) resolver: &'a ConfigResolver,
    pub(crate) contexts: &'a ContextReader,
    pub(crate) write: bool,
    pub(crate) keep_texts: bool,
    /// Whether the output shows diffs (text without `--write`, JSON, Markdown); other outputs
    /// never read them, so none is computed.
    pub(crate) diffs: bool,
    /// Whether the output shows why an applied change was made (every format but text, and text
    /// with `--show-fixes`); when it does not, those reasons are dropped as each file is done
    /// instead of being kept until the output is written.
    pub(crate) applied_reasons: bool,
    pub(crate) cwd: &'a Path,
}

fn fix(args: FixArgs) -> Result<i32> {
    check_ids(&args.pipeline)?;
    panic_for_test("run");
    // What the run builds up (the walk's list, the caches of build contexts, configuration and
    // knowledge) is left to the operating system when the process exits, as it does after this
    // run: freeing it piece by piece is work for one thread after the last file, much of it
    // memory other threads allocated.
    use std::mem::ManuallyDrop;
    let knowledge = ManuallyDrop::new(KnowledgeCache::new()?);
    let resolver = ManuallyDrop::new(std::sync::Arc::new(resolver(&args)?));
    let contexts = ManuallyDrop::new(ContextReader::new());
    let cwd = std::env::current_dir().context("reading the current directory")?;
    let roots = roots(&args.paths);
    let threads = args.jobs.unwrap_or(0);
    // Started only for more than one file: one file (an editor, a pre-commit hook) runs on
    // this thread, without starting workers and handing it over.
    let pool = || {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .context("starting worker threads")
    };
    let stdin = crate::stdin::requested(&args)?;
    // The command line wins, then `output-format` of the current directory's restage.toml
    // (a report format for CI, which a formatter's `--write` with stdin does not take).
    let formatting = stdin.is_some() && args.write;
    let format = args
        .output_format
        .or_else(|| {
            (!formatting)
                .then(|| resolver.output_format_for(&cwd))
                .flatten()
        })
        .unwrap_or(OutputFormat::Text);
    if formatting && format != OutputFormat::Text {
        bail!(
            "--write with stdin prints the rewritten file on stdout; it takes --output-format text"
        );
    }
    let found = ManuallyDrop::new(match &stdin {
        Some(_) => Vec::new(),
        None => discover::discover_with(
            &roots,
            // 0: one per CPU, as the pool.
            walk_options(&args, &resolver, &contexts, threads),
        ),
    });
    let progress = Progress::new(
        found.len(),
        Progress::wanted(
            std::io::stderr().is_terminal(),
            std::env::var_os("CI").is_some(),
            args.quiet,
            format,
        ),
    );
    let job = Job {
        knowledge: &knowledge,
        resolver: &resolver,
        contexts: &contexts,
        write: args.write,
        keep_texts: matches!(format, OutputFormat::Sarif | OutputFormat::Gitlab),
        diffs: match format {
            OutputFormat::Text => !args.write,
            OutputFormat::Json | OutputFormat::Markdown => true,
            OutputFormat::Sarif | OutputFormat::Github | OutputFormat::Gitlab => false,
        },
        applied_reasons: format != OutputFormat::Text || args.show_fixes,
        cwd: &cwd,
    };
    // A broken restage.toml is reported once, not once per Dockerfile under it.
    let Configs {
        lines: config_errors,
        reports: config_reports,
        broken,
        resolved,
    } = resolve_configs(&found, &job);
    let colors = Colors(match args.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stdout().is_terminal()
        }
    });
    let settings = output::Settings {
        write: args.write,
        quiet: args.quiet,
        colors,
        statistics: args.statistics,
        show_fixes: args.show_fixes,
        preamble: config_errors,
        config_errors: config_reports,
    };
    // Each file's output is written as soon as it and every file before it are done; stdout is
    // buffered (flushed before stderr is written, and after each file for a terminal).
    let mut emitter = output::Emitter::new(
        format,
        settings.clone(),
        std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout()),
        std::io::stderr(),
    )
    .flush_each_file(std::io::stdout().is_terminal())
    .around(&progress);
    match &stdin {
        // `--force-exclude`: a name discovery would leave out is not processed; the formatter
        // mode gives the input back.
        Some(name)
            if args.walk.force_exclude
                && discover::left_out_by_name(
                    name,
                    &walk_options(&args, &resolver, &contexts, threads),
                ) =>
        {
            if args.write {
                let text = crate::stdin::read_stdin(std::io::stdin().lock())
                    .map_err(|e| anyhow::anyhow!("stdin: {e}"))?;
                emitter.write_stdout(&text);
            }
            emitter.begin();
        }
        Some(name) => {
            let (report, rewritten) = crate::stdin::process(name, &job);
            // `--write` with stdin: the file goes to stdout, as an editor or formatter expects.
            if let Some(text) = rewritten {
                emitter.write_stdout(&text);
            }
            emitter.begin();
            emitter.file(output::Part::of(format, &settings, report));
        }
        None => {
            let pool = if found.len() > 1 { Some(pool()?) } else { None };
            emitter.begin();
            let ordered = output::Ordered::new(emitter);
            let work = |i: usize| {
                let f = &found[i];
                let r = match broken.get(&i) {
                    Some(reason) => FileReport {
                        error_in_preamble: true,
                        ..failed(&report::display_path(f.path(), job.cwd), reason.clone())
                    },
                    None => process_guarded(f, resolved[i].clone(), &job),
                };
                panic_for_test("worker");
                progress.tick();
                // Rendered here, in parallel; only writing waits for the files before.
                let part = output::Part::of(format, &settings, r);
                ordered.push(i, part, |emitter, part| emitter.file(part));
            };
            match pool {
                None => (0..found.len()).for_each(work),
                // Files are handed out in order, so only those in flight wait for an earlier
                // one to be written.
                Some(pool) => {
                    let next = std::sync::atomic::AtomicUsize::new(0);
                    pool.broadcast(|_| {
                        loop {
                            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            if i >= found.len() {
                                break;
                            }
                            work(i);
                        }
                    });
                }
            }
            emitter = ordered.into_inner();
        }
    }
    progress.finish();
    let (summary, emitted) = emitter.finish();
    match emitted {
        // The reader went away (`restage --check | head`): the rest of the output is dropped
        // and the exit code is still the run's.
        Err(e) if e.is_broken_pipe() => Ok(exit_code(&args, &summary)),
        Err(e) => Err(e.into()),
        Ok(()) => Ok(exit_code(&args, &summary)),
    }
}

/// The exit code of a run: 2 on any error, else 1 when `--check` finds what `--fail-level`
/// fails on (unless `--exit-zero`), else 0.
fn exit_code(args: &FixArgs, summary: &Summary) -> i32 {
    if summary.errors > 0 {
        return EXIT_ERROR;
    }
    let failing = match args.fail_level {
        FailLevel::Safe => summary.changed > 0,
        FailLevel::Unsafe => summary.changed > 0 || summary.unsafe_pending > 0,
        FailLevel::Suggestion => {
            summary.changed > 0 || summary.unsafe_pending > 0 || summary.suggestions > 0
        }
    };
    if args.check && failing && !args.exit_zero {
        EXIT_CHANGES
    } else {
        EXIT_OK
    }
}

fn process_guarded(found: &Found, settings: Option<Arc<Settings>>, job: &Job) -> FileReport {
    let display = report::display_path(found.path(), job.cwd);
    let result = panic::catch_unwind(AssertUnwindSafe(|| process(found, settings, &display, job)));
    result.unwrap_or_else(|payload| {
        failed(
            &display,
            format!(
                "internal error (please report it): {}",
                panic_message(payload.as_ref())
            ),
        )
    })
}

pub(crate) fn failed(display: &str, message: String) -> FileReport {
    FileReport::new(display, Status::Failed(Problem::file(message)))
}

/// What [`resolve_configs`] tells of the files found.
struct Configs {
    /// The configuration errors, each once in the order first met.
    lines: Vec<String>,
    /// The same errors for the machine formats: a failed report of the configuration file
    /// each is in (of no file for one that has none).
    reports: Vec<FileReport>,
    /// The files (by index) under a broken configuration, with their reason.
    broken: std::collections::HashMap<usize, String>,
    /// The settings of each file (by index; `None` for a problem or a broken configuration),
    /// which its worker then uses.
    resolved: Vec<Option<Arc<Settings>>>,
}

/// The configuration of every file found, resolved once (see [`Configs`]).
fn resolve_configs(found: &[Found], job: &Job) -> Configs {
    let known: Vec<&str> = transforms::registry().iter().map(|t| t.id).collect();
    let mut lines: Vec<String> = Vec::new();
    let mut reports: Vec<FileReport> = Vec::new();
    let mut broken = std::collections::HashMap::new();
    let mut resolved = vec![None; found.len()];
    for (i, f) in found.iter().enumerate() {
        let Found::File(path, _) = f else { continue };
        // Each error: its line for stderr, and the file and problem it is for the machine formats.
        let errors: Vec<(String, String, Problem)> = match job.resolver.settings_for(path) {
            Err(e) => {
                let display = report::display_path(&e.path, job.cwd);
                let (line, column) = e.position.unwrap_or((0, 0));
                let problem = Problem {
                    message: format!("configuration: {}", e.message()),
                    line,
                    column,
                };
                vec![(e.located(&display), display, problem)]
            }
            Ok(settings) => {
                resolved[i] = Some(Arc::clone(&settings));
                let display = settings
                    .config_file
                    .as_deref()
                    .map(|p| report::display_path(p, job.cwd))
                    .unwrap_or_default();
                let mut messages: Vec<String> = settings
                    .unknown_ids(&known)
                    .iter()
                    .map(ToString::to_string)
                    .collect();
                if let Err(e) = job.knowledge.for_settings(&settings) {
                    messages.push(e.to_string());
                }
                messages
                    .into_iter()
                    .map(|m| {
                        (
                            format!("restage: error: configuration: {m}"),
                            display.clone(),
                            Problem::file(format!("configuration: {m}")),
                        )
                    })
                    .collect()
            }
        };
        if errors.is_empty() {
            continue;
        }
        resolved[i] = None;
        let lines_of_file: Vec<&str> = errors.iter().map(|(l, _, _)| l.as_str()).collect();
        broken.insert(i, format!("configuration: {}", lines_of_file.join("; ")));
        for (line, display, problem) in errors {
            if !lines.contains(&line) {
                lines.push(line);
                reports.push(FileReport::new(&display, Status::Failed(problem)));
            }
        }
    }
    Configs {
        lines,
        reports,
        broken,
        resolved,
    }
}

fn process(found: &Found, settings: Option<Arc<Settings>>, display: &str, job: &Job) -> FileReport {
    let (path, seen) = match found {
        Found::Problem(_, reason) => return failed(display, reason.clone()),
        Found::File(p, seen) => (p, seen),
    };
    let known = if seen.is_regular() {
        Known::ListedRegular
    } else {
        Known::Nothing
    };
    let text = match read_text_as(path, known) {
        Ok(t) => t,
        Err(reason) => return failed(display, reason.to_string()),
    };
    let (report, rewritten) = process_text(path, settings, text, display, job);
    if job.write
        && let Some(new) = rewritten
        && let Err(e) = write_atomic(path, &new)
    {
        return failed(display, format!("could not write: {e:#}"));
    }
    report
}

/// One Dockerfile's text through the pipeline, as if read from `path` (which gives its
/// configuration, unless `settings` are given already resolved for it, and its build
/// context). Returns the report and, when it changed, the new text.
pub(crate) fn process_text(
    path: &Path,
    settings: Option<Arc<Settings>>,
    text: String,
    display: &str,
    job: &Job,
) -> (FileReport, Option<String>) {
    let no_text = |r: FileReport| (r, None);
    let settings: Arc<Settings> = match settings
        .map(Ok)
        .unwrap_or_else(|| job.resolver.settings_for(path))
    {
        Ok(s) => s,
        Err(e) => return no_text(failed(display, format!("configuration: {e}"))),
    };
    let unknown = settings.unknown_ids(pipeline::transform_ids());
    if !unknown.is_empty() {
        return no_text(failed(
            display,
            format!(
                "configuration: {}",
                crate::config::join_unknown_ids(&unknown)
            ),
        ));
    }
    let knowledge = match job.knowledge.for_settings(&settings) {
        Ok(k) => k,
        Err(e) => return no_text(failed(display, format!("configuration: {e}"))),
    };
    let build = job.contexts.read(path, settings.context.as_deref());
    let outcome = match run_settings(&text, &settings, &knowledge, &build, job.keep_texts) {
        Ok(o) => o,
        Err(PipelineError::Syntax(e)) => {
            let problem = Problem {
                message: e.message_with_kind(),
                line: e.line,
                column: e.column,
            };
            let status = if e.kind == SyntaxErrorKind::Unsupported {
                Status::Skipped(problem)
            } else {
                Status::Failed(problem)
            };
            let mut report = FileReport::new(display, status);
            if job.keep_texts {
                // Nothing was rewritten: the text is kept to place the error (SARIF's columns
                // count code points).
                report.texts = Some((text.clone(), text));
            }
            return no_text(report);
        }
        Err(e) => return no_text(failed(display, e.to_string())),
    };
    panic_for_test("file");
    let mut report = FileReport::new(display, Status::Unchanged);
    let changed = outcome.changed();
    let pipeline::Outcome {
        original,
        text: rewritten,
        edits,
        applied,
        suggestions,
        warnings,
    } = outcome;
    let mut changes = Vec::with_capacity(applied.len() + suggestions.len());
    changes.extend(applied.into_iter().map(|mut n| {
        if !job.applied_reasons {
            n.reason = String::new();
        }
        if !job.keep_texts {
            n.edits = Vec::new();
        }
        ChangeReport::of(n, true)
    }));
    changes.extend(suggestions.into_iter().map(|n| ChangeReport::of(n, false)));
    report.changes = changes;
    report.warnings = warnings
        .into_iter()
        .map(|w| Problem {
            message: w.message,
            line: w.line,
            column: w.column,
        })
        .collect();
    if job.keep_texts {
        report.texts = Some((original.clone(), rewritten.clone()));
        report.edits = edits;
    }
    if !changed {
        return (report, None);
    }
    report.status = Status::Changed;
    if job.diffs {
        report.diff = report::unified_diff_path(path, job.cwd, &original, &rewritten);
    }
    (report, Some(rewritten))
}
