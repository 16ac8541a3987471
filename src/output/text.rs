//! `text`: the unified diff on stdout (unless `--write`), one line per note on stderr
//! (`path:line:col: ...`), then the summary, `--statistics` and `--show-fixes`.

use std::fmt::Write as _;

use super::{Part, Rendered, Settings};
use crate::report::{self, Summary};
use crate::run::{FileReport, Status};

/// The configuration errors shared by many files, each once, before any file.
pub fn begin(settings: &Settings, part: &mut Rendered) {
    for line in &settings.preamble {
        part.stderr.push_str(line);
        part.stderr.push('\n');
    }
}

/// A file's diff for stdout, its notes for stderr, and its `--show-fixes` lines to keep.
pub fn part(r: &mut FileReport, settings: &Settings, part: &mut Part) {
    if !settings.quiet || matches!(r.status, Status::Failed(_)) {
        for line in notes(r) {
            part.err.push_str(&line);
            part.err.push('\n');
        }
    }
    if settings.show_fixes {
        for c in r.changes.iter().filter(|c| c.applied) {
            let _ = writeln!(
                part.kept,
                "{}:{}:{}: {}: {}: {}",
                one_line(&r.display),
                c.line,
                c.column,
                c.id,
                c.title,
                c.reason
            );
        }
    }
    if !settings.write && !r.diff.is_empty() {
        part.out = if settings.colors.0 {
            report::colorize(&r.diff, settings.colors)
        } else {
            std::mem::take(&mut r.diff)
        };
    }
}

/// The summary, `--statistics` and `--show-fixes` (the `count` applied changes' `fixes`
/// lines), on stderr.
pub fn end(summary: &Summary, settings: &Settings, fixes: &str, count: usize, part: &mut Rendered) {
    if !settings.quiet || summary.errors > 0 {
        part.stderr.push_str(&summary.line(settings.write));
        part.stderr.push('\n');
    }
    if settings.statistics {
        part.stderr.push_str(&statistics(summary));
    }
    if settings.show_fixes {
        part.stderr.push_str(&fixes_header(count, settings.write));
        part.stderr.push_str(fixes);
    }
}

/// A file's notes: applied changes, changes not applied, warnings, and why it was skipped or
/// failed.
pub fn notes(r: &FileReport) -> Vec<String> {
    let d = &*one_line(&r.display);
    let mut lines = Vec::new();
    for c in &r.changes {
        if c.applied {
            lines.push(format!(
                "{d}:{}:{}: {}: {}",
                c.line, c.column, c.id, c.title
            ));
        } else {
            lines.push(format!(
                "{d}:{}:{}: {} ({}): {}: {}",
                c.line,
                c.column,
                c.id,
                super::label(c),
                c.title,
                c.reason
            ));
        }
    }
    for w in &r.warnings {
        lines.push(format!(
            "{}: warning: {}",
            location(d, w.line, w.column),
            w.message
        ));
    }
    match &r.status {
        Status::Skipped(p) => lines.push(format!(
            "{}: skipped: {}",
            location(d, p.line, p.column),
            p.message
        )),
        Status::Failed(_) if r.error_in_preamble => {}
        Status::Failed(p) => lines.push(format!(
            "{}: error: {}",
            location(d, p.line, p.column),
            p.message
        )),
        Status::Unchanged | Status::Changed => {}
    }
    lines
}

/// A path as a note shows it: as it is, or, when it holds a control character (a line break
/// would split the note), quoted with escapes (`"a\nb/Dockerfile"`), so each note stays one line.
pub fn one_line(display: &str) -> std::borrow::Cow<'_, str> {
    if display.chars().any(char::is_control) {
        format!("\"{}\"", display.escape_debug()).into()
    } else {
        display.into()
    }
}

fn location(display: &str, line: usize, column: usize) -> String {
    if line > 0 {
        format!("{display}:{line}:{column}")
    } else {
        display.to_string()
    }
}

/// `--statistics`: one row per transform with changes, in id order.
fn statistics(summary: &Summary) -> String {
    if summary.by_transform.is_empty() {
        return "restage: statistics: no changes\n".to_string();
    }
    let mut s = String::from("restage: statistics:\n");
    let _ = writeln!(
        s,
        "{:>7}  {:<16} {:>7} {:>7} {:>11}",
        "changes", "transform", "applied", "unsafe", "suggestions"
    );
    for (id, c) in &summary.by_transform {
        let _ = writeln!(
            s,
            "{:>7}  {:<16} {:>7} {:>7} {:>11}",
            c.total(),
            id,
            c.applied,
            c.unsafe_pending,
            c.suggestions
        );
    }
    s
}

/// `--show-fixes`: the line before every applied change with its reason.
fn fixes_header(n: usize, write: bool) -> String {
    let what = match (n, write) {
        (1, true) => "fix applied".to_string(),
        (_, true) => "fixes applied".to_string(),
        (1, false) => "fix in the diff".to_string(),
        (_, false) => "fixes in the diff".to_string(),
    };
    format!("restage: {n} {what}{}\n", if n > 0 { ":" } else { "" })
}
