//! The emitters: one per `--output-format`, each writing a run's typed `FileReport`s as they
//! come, in path order, and the end of its output from the run's `Summary`. `text` writes each
//! file's diff on stdout and its notes on stderr; every other format writes one document on
//! stdout and nothing on stderr. A format keeps between files only what its end needs. Writes
//! that fail are errors (exit 2), except a closed pipe, which ends the output quietly.

mod github;
mod gitlab;
mod json;
mod markdown;
mod ordered;
mod progress;
mod sarif;
mod spill;
mod text;

use std::fmt;
use std::io::Write;

pub use ordered::Ordered;
pub use progress::Progress;

use crate::cli::OutputFormat;
use crate::report::{Colors, Summary};
use crate::run::{ChangeReport, FileReport};

/// What the emitters need besides the reports.
#[derive(Debug, Clone)]
pub struct Settings {
    pub write: bool,
    pub quiet: bool,
    pub colors: Colors,
    pub statistics: bool,
    pub show_fixes: bool,
    /// Lines the text format prints on stderr before the files' notes (configuration errors
    /// shared by many files, each once).
    pub preamble: Vec<String>,
    /// The same errors as the machine formats report them, each once, at the configuration
    /// file (a failed report of it), before the files: the Dockerfiles under a broken
    /// configuration count as errors without an entry of their own (JSON, a list of files,
    /// still gives each its status).
    pub config_errors: Vec<FileReport>,
}

/// Output text: what goes to stdout, then what goes to stderr (one file's part, or the
/// beginning or end of the run's output).
#[derive(Debug, Default)]
pub struct Rendered {
    pub stdout: String,
    pub stderr: String,
}

/// One file's output, rendered by the worker that processed it (so in parallel), then written
/// in order by [`Emitter::file`].
pub struct Part {
    /// The file's counts. The report itself stays with the worker that made it, which frees
    /// it: only the rendered text goes to the thread that writes.
    counts: Summary,
    /// What goes to stdout: text and GitHub, the file's lines; JSON, GitLab and SARIF, its
    /// elements of the document's array, each after a comma; Markdown, its table rows.
    out: String,
    /// What goes to stderr: text, the file's notes.
    err: String,
    /// What the end keeps: text, the `--show-fixes` lines; SARIF, its notifications, each after
    /// a comma; Markdown, its problems.
    kept: String,
    /// Markdown: the file's diff.
    diff: String,
}

impl Part {
    /// The file's part in `format`.
    pub fn of(format: OutputFormat, settings: &Settings, mut r: FileReport) -> Part {
        let mut part = Part {
            counts: Summary::default(),
            out: String::new(),
            err: String::new(),
            kept: String::new(),
            diff: String::new(),
        };
        // An error already reported at its configuration file: counted, not repeated.
        let reported =
            r.error_in_preamble && !matches!(format, OutputFormat::Text | OutputFormat::Json);
        match format {
            _ if reported => {}
            OutputFormat::Text => text::part(&mut r, settings, &mut part),
            OutputFormat::Json => json::part(&r, &mut part),
            OutputFormat::Sarif => sarif::part(&r, &mut part),
            OutputFormat::Github => github::part(&r, &mut part),
            OutputFormat::Gitlab => gitlab::part(&r, &mut part),
            OutputFormat::Markdown => markdown::part(&mut r, &mut part),
        }
        part.counts.add(&r);
        part
    }
}

/// The elements of an array, each after a comma: without the first comma when nothing was
/// written in the array before.
fn elements(s: &str, first: bool) -> &str {
    if first {
        s.strip_prefix(',').unwrap_or(s)
    } else {
        s
    }
}

/// What a format keeps between files: only what the end of its output needs.
enum State {
    /// The `--show-fixes` lines and how many.
    Text {
        fixes: String,
        count: usize,
    },
    /// Whether a file was written (the next one comes after a comma).
    Json {
        any: bool,
    },
    Sarif(sarif::State),
    Github,
    /// Whether an issue was written (the next one comes after a comma).
    Gitlab {
        any: bool,
    },
    Markdown(markdown::State),
}

/// A run's output, written as it goes: `begin`, then each file's [`Part`] in order with `file`
/// (written at once; only counts and what the format's end needs are kept), then `finish`.
/// The first failed write ends the output (the rest is dropped); files are still counted.
pub struct Emitter<'a, O: Write, E: Write> {
    settings: Settings,
    state: State,
    summary: Summary,
    out: O,
    err: E,
    /// stdout is flushed after each file (a terminal), not only before stderr is written.
    flush_each: bool,
    progress: Option<&'a Progress>,
    error: Option<WriteError>,
}

impl<'a, O: Write, E: Write> Emitter<'a, O, E> {
    /// An emitter of `format` writing to `out` (stdout) and `err` (stderr); nothing is written
    /// before `begin`.
    pub fn new(format: OutputFormat, settings: Settings, out: O, err: E) -> Self {
        let state = match format {
            OutputFormat::Text => State::Text {
                fixes: String::new(),
                count: 0,
            },
            OutputFormat::Json => State::Json { any: false },
            OutputFormat::Sarif => State::Sarif(sarif::State::default()),
            OutputFormat::Github => State::Github,
            OutputFormat::Gitlab => State::Gitlab { any: false },
            OutputFormat::Markdown => State::Markdown(markdown::State::default()),
        };
        Emitter {
            settings,
            state,
            summary: Summary::default(),
            out,
            err,
            flush_each: false,
            progress: None,
            error: None,
        }
    }

    /// Flushes stdout after each file (for a terminal reader).
    pub fn flush_each_file(mut self, yes: bool) -> Self {
        self.flush_each = yes;
        self
    }

    /// Writes around this progress bar (which is cleared while a file's output is written).
    pub fn around(mut self, progress: &'a Progress) -> Self {
        self.progress = Some(progress);
        self
    }

    /// Text for stdout before anything else (the rewritten file, for `--write` with stdin).
    pub fn write_stdout(&mut self, text: &str) {
        self.write(text, "");
    }

    /// What comes before the first file: in the machine formats, the configuration errors
    /// (rendered as a failed file each, not counted: the files under them are).
    pub fn begin(&mut self) {
        let mut part = Rendered::default();
        let format = match &self.state {
            State::Text { .. } => {
                text::begin(&self.settings, &mut part);
                None
            }
            State::Json { .. } => {
                json::begin(&mut part);
                None
            }
            State::Sarif(_) => Some(OutputFormat::Sarif),
            State::Github => Some(OutputFormat::Github),
            State::Gitlab { .. } => Some(OutputFormat::Gitlab),
            State::Markdown(_) => Some(OutputFormat::Markdown),
        };
        self.write(&part.stdout, &part.stderr);
        if let Some(format) = format {
            let reports = std::mem::take(&mut self.settings.config_errors);
            for r in reports {
                let mut part = Part::of(format, &self.settings, r);
                part.counts = Summary::default();
                self.file(part);
            }
        }
    }

    /// The next file's part, in the output's order: counted and written.
    pub fn file(&mut self, part: Part) {
        self.summary.merge(&part.counts);
        if self.error.is_some() {
            return;
        }
        match &mut self.state {
            State::Text { fixes, count } => {
                if self.settings.show_fixes {
                    fixes.push_str(&part.kept);
                    *count += part.counts.applied;
                }
                self.write(&part.out, &part.err);
            }
            State::Json { any } => {
                let first = !*any;
                *any = true;
                self.write(elements(&part.out, first), "");
            }
            State::Sarif(s) => s.take(part),
            State::Github => self.write(&part.out, ""),
            State::Gitlab { any } => {
                if !part.out.is_empty() {
                    let first = !*any;
                    *any = true;
                    if first {
                        self.write("[", "");
                    }
                    self.write(elements(&part.out, first), "");
                }
            }
            State::Markdown(s) => s.take(part),
        }
    }

    /// Writes what comes after the last file and flushes; returns the run's counts and the
    /// first write that failed, if one did.
    pub fn finish(mut self) -> (Summary, Result<(), WriteError>) {
        if self.error.is_none() {
            let mut part = Rendered::default();
            let state = std::mem::replace(&mut self.state, State::Github);
            match state {
                State::Text { fixes, count } => {
                    text::end(&self.summary, &self.settings, &fixes, count, &mut part)
                }
                State::Json { any } => json::end(any, &self.summary, &mut part),
                State::Sarif(s) => self.error = s.end(&mut self.out).err(),
                State::Github => {}
                State::Gitlab { any } => part.stdout.push_str(if any { "\n]\n" } else { "[]\n" }),
                State::Markdown(s) => {
                    self.error = s.end(&self.summary, &self.settings, &mut self.out).err();
                }
            }
            self.write(&part.stdout, &part.stderr);
        }
        if self.error.is_none()
            && let Err(e) = self.out.flush()
        {
            self.error = Some(WriteError::new("stdout", e));
        }
        let result = match self.error {
            Some(e) => Err(e),
            None => Ok(()),
        };
        (self.summary, result)
    }

    fn write(&mut self, out: &str, err: &str) {
        if self.error.is_some() || (out.is_empty() && err.is_empty()) {
            return;
        }
        let done = match self.progress {
            Some(progress) => progress.suspend(|| self.write_now(out, err)),
            None => self.write_now(out, err),
        };
        if let Err(e) = done {
            self.error = Some(e);
        }
    }

    /// stdout first, then stderr (so in a shared log a file's notes follow its diff).
    fn write_now(&mut self, out: &str, err: &str) -> Result<(), WriteError> {
        let stdout = |e| WriteError::new("stdout", e);
        if !out.is_empty() {
            self.out.write_all(out.as_bytes()).map_err(stdout)?;
            if self.flush_each {
                self.out.flush().map_err(stdout)?;
            }
        }
        if !err.is_empty() {
            self.out.flush().map_err(stdout)?;
            self.err
                .write_all(err.as_bytes())
                .and_then(|()| self.err.flush())
                .map_err(|e| WriteError::new("stderr", e))?;
        }
        Ok(())
    }
}

/// Renders a whole run in `format` (every file in order), as the streamed output writes it.
#[cfg(test)]
pub fn render(
    format: OutputFormat,
    reports: &[FileReport],
    settings: &Settings,
) -> (Rendered, Summary) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let mut emitter = Emitter::new(format, settings.clone(), &mut out, &mut err);
    emitter.begin();
    for r in reports {
        emitter.file(Part::of(format, settings, r.clone()));
    }
    let (summary, _) = emitter.finish();
    let text = |b: Vec<u8>| {
        String::from_utf8(b).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    };
    (
        Rendered {
            stdout: text(out),
            stderr: text(err),
        },
        summary,
    )
}

/// Appends `value` as `serde_json`'s pretty printer writes it `indent` spaces deep in a
/// document: every line after the first indented (a JSON string never holds a raw newline).
pub(crate) fn push_pretty(s: &mut String, value: &impl serde::Serialize, indent: usize) {
    let text =
        serde_json::to_string_pretty(value).expect("structs of strings and numbers serialize");
    if indent == 0 {
        s.push_str(&text);
        return;
    }
    let pad = " ".repeat(indent);
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            s.push('\n');
            s.push_str(&pad);
        }
        s.push_str(line);
    }
}

/// A write to stdout or stderr that failed.
#[derive(Debug)]
pub struct WriteError {
    stream: &'static str,
    error: std::io::Error,
}

impl WriteError {
    pub fn new(stream: &'static str, error: std::io::Error) -> WriteError {
        WriteError { stream, error }
    }

    /// The reader went away (`restage | head`): not an error worth a message.
    pub fn is_broken_pipe(&self) -> bool {
        self.error.kind() == std::io::ErrorKind::BrokenPipe
    }
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "writing to {}: {}", self.stream, self.error)
    }
}

impl std::error::Error for WriteError {}

/// How a change is labelled for people: applied, or why not.
pub fn label(c: &ChangeReport) -> &'static str {
    match crate::report::Fate::of(c) {
        crate::report::Fate::Applied => "applied",
        crate::report::Fate::UnsafePending => "unsafe fix, not applied without --unsafe-fixes",
        crate::report::Fate::Suggestion => "suggestion",
    }
}

/// The applicability as the machine formats name it.
pub fn applicability_name(a: crate::edit::Applicability) -> &'static str {
    match a {
        crate::edit::Applicability::Safe => "safe",
        crate::edit::Applicability::Unsafe => "unsafe",
        crate::edit::Applicability::DisplayOnly => "suggestion",
    }
}

/// The last line (1-based) of a change's span: its end position is just past it, often at the
/// start of the next line.
pub fn last_line(c: &ChangeReport) -> usize {
    if c.end_line > c.line && c.end_column <= 1 {
        c.end_line - 1
    } else {
        c.end_line.max(c.line)
    }
}

/// Lines `first..=last` (1-based) of `text`, without their line ends; empty when out of range.
pub fn lines_of(text: &str, first: usize, last: usize) -> Vec<&str> {
    if first == 0 {
        return Vec::new();
    }
    text.lines()
        .skip(first - 1)
        .take(last.saturating_sub(first) + 1)
        .collect()
}

/// A stable fingerprint of a change: the path, the transform and the original instruction's
/// text (whitespace-normalised), not its line, so it survives edits elsewhere in the file;
/// `nth` tells apart identical instructions in one file. FNV-1a, 128 bits, as hex.
pub fn fingerprint(path: &str, c: &ChangeReport, original: Option<&str>, nth: usize) -> String {
    let snippet = original
        .map(|t| {
            lines_of(t, c.line, last_line(c))
                .iter()
                .flat_map(|l| l.split_whitespace())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    let material = format!("{path}\0{}\0{snippet}\0{nth}", c.id);
    format!(
        "{:016x}{:016x}",
        fnv1a(0xcbf2_9ce4_8422_2325, material.as_bytes()),
        fnv1a(0x8422_2325_cbf2_9ce4, material.as_bytes())
    )
}

fn fnv1a(seed: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(seed, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// A stable fingerprint of a file's error.
pub fn fingerprint_of_error(path: &str, message: &str) -> String {
    let material = format!("{path}\0error\0{message}");
    format!(
        "{:016x}{:016x}",
        fnv1a(0xcbf2_9ce4_8422_2325, material.as_bytes()),
        fnv1a(0x8422_2325_cbf2_9ce4, material.as_bytes())
    )
}

/// Fingerprints for every change of a file, in order.
pub fn fingerprints(r: &FileReport) -> Vec<String> {
    let original = r.texts.as_ref().map(|(o, _)| o.as_str());
    let mut seen: std::collections::BTreeMap<String, usize> = Default::default();
    r.changes
        .iter()
        .map(|c| {
            let first = fingerprint(&r.display, c, original, 0);
            let n = seen.entry(first.clone()).or_default();
            *n += 1;
            if *n == 1 {
                first
            } else {
                fingerprint(&r.display, c, original, *n - 1)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
