//! The emitters: one per `--output-format`, each rendering the typed `FileReport`s and the
//! `Summary` of a run. `text` writes the diff on stdout and notes on stderr; every other format
//! writes one document on stdout and nothing on stderr. Writes that fail are errors (exit 2),
//! except a closed pipe, which ends the output quietly.

mod github;
mod gitlab;
mod json;
mod markdown;
mod progress;
mod sarif;
mod text;

use std::fmt;
use std::io::Write;

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
}

/// Rendered output: what goes to stdout, then what goes to stderr.
#[derive(Debug, Default)]
pub struct Rendered {
    pub stdout: String,
    pub stderr: String,
}

/// Renders the run in `format`.
pub fn render(
    format: OutputFormat,
    reports: &[FileReport],
    summary: &Summary,
    settings: &Settings,
) -> Rendered {
    let stdout = |s: String| Rendered {
        stdout: s,
        stderr: String::new(),
    };
    match format {
        OutputFormat::Text => text::render(reports, summary, settings),
        OutputFormat::Json => stdout(json::render(reports, summary)),
        OutputFormat::Sarif => stdout(sarif::render(reports)),
        OutputFormat::Github => stdout(github::render(reports)),
        OutputFormat::Gitlab => stdout(gitlab::render(reports)),
        OutputFormat::Markdown => stdout(markdown::render(reports, summary, settings)),
    }
}

/// Renders and writes the run: stdout first, then stderr.
pub fn emit(
    format: OutputFormat,
    reports: &[FileReport],
    summary: &Summary,
    settings: &Settings,
) -> Result<(), WriteError> {
    let rendered = render(format, reports, summary, settings);
    write_to(&mut std::io::stdout().lock(), "stdout", &rendered.stdout)?;
    write_to(&mut std::io::stderr().lock(), "stderr", &rendered.stderr)
}

/// Writes `s` to stdout and flushes it.
pub fn write_stdout(s: &str) -> Result<(), WriteError> {
    write_to(&mut std::io::stdout().lock(), "stdout", s)
}

fn write_to(w: &mut dyn Write, stream: &'static str, s: &str) -> Result<(), WriteError> {
    if s.is_empty() {
        return Ok(());
    }
    w.write_all(s.as_bytes())
        .and_then(|()| w.flush())
        .map_err(|e| WriteError::new(stream, e))
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
