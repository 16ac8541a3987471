//! `text`: the unified diff on stdout (unless `--write`), one line per note on stderr
//! (`path:line:col: ...`), then the summary, `--statistics` and `--show-fixes`.

use std::fmt::Write as _;

use super::{Rendered, Settings};
use crate::report::{self, Summary};
use crate::run::{FileReport, Status};

pub fn render(reports: &[FileReport], summary: &Summary, settings: &Settings) -> Rendered {
    let mut out = Rendered::default();
    for line in &settings.preamble {
        out.stderr.push_str(line);
        out.stderr.push('\n');
    }
    for r in reports {
        if !settings.write && !r.diff.is_empty() {
            out.stdout
                .push_str(&report::colorize(&r.diff, settings.colors));
        }
        if !settings.quiet || matches!(r.status, Status::Failed(_)) {
            for line in notes(r) {
                out.stderr.push_str(&line);
                out.stderr.push('\n');
            }
        }
    }
    if !settings.quiet || summary.errors > 0 {
        out.stderr.push_str(&summary.line(settings.write));
        out.stderr.push('\n');
    }
    if settings.statistics {
        out.stderr.push_str(&statistics(summary));
    }
    if settings.show_fixes {
        out.stderr.push_str(&fixes(reports, settings.write));
    }
    out
}

/// A file's notes: applied changes, changes not applied, warnings, and why it was skipped or
/// failed.
pub fn notes(r: &FileReport) -> Vec<String> {
    let d = &r.display;
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

/// `--show-fixes`: every applied change with its reason.
fn fixes(reports: &[FileReport], write: bool) -> String {
    let applied: Vec<String> = reports
        .iter()
        .flat_map(|r| {
            r.changes.iter().filter(|c| c.applied).map(move |c| {
                format!(
                    "{}:{}:{}: {}: {}: {}\n",
                    r.display, c.line, c.column, c.id, c.title, c.reason
                )
            })
        })
        .collect();
    let n = applied.len();
    let what = match (n, write) {
        (1, true) => "fix applied".to_string(),
        (_, true) => "fixes applied".to_string(),
        (1, false) => "fix in the diff".to_string(),
        (_, false) => "fixes in the diff".to_string(),
    };
    let mut s = format!("restage: {n} {what}{}\n", if n > 0 { ":" } else { "" });
    for line in applied {
        s.push_str(&line);
    }
    s
}
