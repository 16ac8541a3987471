//! `markdown`: a pull-request comment. One table of the changes (file, line, transform, what,
//! applied or why not, and the reason), the errors, and the diff in a collapsed block.

use std::fmt::Write as _;

use super::Settings;
use crate::report::Summary;
use crate::run::{FileReport, Status};

pub fn render(reports: &[FileReport], summary: &Summary, settings: &Settings) -> String {
    let mut s = String::from("## restage\n\n");
    let line = summary.line(settings.write);
    let _ = writeln!(s, "{}\n", line.strip_prefix("restage: ").unwrap_or(&line));
    let changes: Vec<_> = reports
        .iter()
        .flat_map(|r| r.changes.iter().map(move |c| (r, c)))
        .collect();
    if !changes.is_empty() {
        s.push_str("| File | Line | Transform | Change | Status | Why |\n");
        s.push_str("|---|---|---|---|---|---|\n");
        for (r, c) in &changes {
            let _ = writeln!(
                s,
                "| {} | {} | `{}` | {} | {} | {} |",
                code(&r.display),
                c.line,
                c.id,
                cell(&c.title),
                cell(super::label(c)),
                cell(&c.reason)
            );
        }
        s.push('\n');
    }
    let review: Vec<_> = changes.iter().filter(|(_, c)| !c.applied).collect();
    if !review.is_empty() {
        let _ = writeln!(
            s,
            "**Needs review:** {} not applied (run with `--unsafe-fixes` to apply unsafe fixes; suggestions are never applied).\n",
            if review.len() == 1 {
                "1 change".to_string()
            } else {
                format!("{} changes", review.len())
            }
        );
    }
    let problems: Vec<String> = reports
        .iter()
        .flat_map(|r| {
            let status = r.status.problem().map(|p| {
                let what = match r.status {
                    Status::Skipped(_) => "skipped",
                    _ => "error",
                };
                (p, what)
            });
            r.warnings
                .iter()
                .map(|w| (w, "warning"))
                .chain(status)
                .map(move |(p, what)| {
                    let at = if p.line > 0 {
                        format!("{}:{}:{}", r.display, p.line, p.column)
                    } else {
                        r.display.clone()
                    };
                    format!("- {} {what}: {}\n", code(&at), p.message.replace('\n', " "))
                })
        })
        .collect();
    if !problems.is_empty() {
        s.push_str("### Errors and warnings\n\n");
        for p in problems {
            s.push_str(&p);
        }
        s.push('\n');
    }
    let diff: String = reports.iter().map(|r| r.diff.as_str()).collect();
    if !diff.is_empty() {
        let fence = "`".repeat(longest_backtick_run(&diff).max(2) + 1);
        let _ = write!(
            s,
            "<details><summary>Diff</summary>\n\n{fence}diff\n{diff}{}{fence}\n\n</details>\n",
            if diff.ends_with('\n') { "" } else { "\n" }
        );
    }
    s
}

/// Text safe inside a table cell.
pub(super) fn cell(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\r', '\n'], " ")
}

/// Inline code that survives backticks in the text.
pub(super) fn code(s: &str) -> String {
    let ticks = "`".repeat(longest_backtick_run(s) + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') {
        " "
    } else {
        ""
    };
    // Only a pipe needs escaping in a code span inside a table.
    format!("{ticks}{pad}{s}{pad}{ticks}")
        .replace('|', "\\|")
        .replace(['\r', '\n'], " ")
}

fn longest_backtick_run(s: &str) -> usize {
    s.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}
