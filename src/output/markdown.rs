//! `markdown`: a pull-request comment. One table of the changes (file, line, transform, what,
//! applied or why not, and the reason), the errors, and the diff in a collapsed block.

use std::fmt::Write as _;

use super::{Rendered, Settings};
use crate::report::Summary;
use crate::run::{FileReport, Status};

/// What the comment needs after the files are done. It starts with the run's summary line, so
/// nothing can be written before the last file is done: each file's table rows, problems and
/// diff are kept as the text they are written as, and written at the end.
#[derive(Default)]
pub struct State {
    rows: String,
    review: usize,
    problems: String,
    diff: String,
}

impl State {
    /// A file's rows, problems and diff.
    pub fn file(&mut self, r: FileReport) {
        for c in &r.changes {
            let _ = writeln!(
                self.rows,
                "| {} | {} | `{}` | {} | {} | {} |",
                code(&r.display),
                c.line,
                c.id,
                cell(&c.title),
                cell(super::label(c)),
                cell(&c.reason)
            );
            if !c.applied {
                self.review += 1;
            }
        }
        let status = r.status.problem().map(|p| {
            let what = match r.status {
                Status::Skipped(_) => "skipped",
                _ => "error",
            };
            (p, what)
        });
        for (p, what) in r.warnings.iter().map(|w| (w, "warning")).chain(status) {
            let at = if p.line > 0 {
                format!("{}:{}:{}", r.display, p.line, p.column)
            } else {
                r.display.clone()
            };
            let _ = writeln!(
                self.problems,
                "- {} {what}: {}",
                code(&at),
                p.message.replace('\n', " ")
            );
        }
        if self.diff.is_empty() {
            self.diff = r.diff;
        } else {
            self.diff.push_str(&r.diff);
        }
    }

    /// The whole comment.
    pub fn end(self, summary: &Summary, settings: &Settings, part: &mut Rendered) {
        let s = &mut part.stdout;
        s.push_str("## restage\n\n");
        let line = summary.line(settings.write);
        let _ = writeln!(s, "{}\n", line.strip_prefix("restage: ").unwrap_or(&line));
        if !self.rows.is_empty() {
            s.push_str("| File | Line | Transform | Change | Status | Why |\n");
            s.push_str("|---|---|---|---|---|---|\n");
            s.push_str(&self.rows);
            s.push('\n');
        }
        if self.review > 0 {
            let _ = writeln!(
                s,
                "**Needs review:** {} not applied (run with `--unsafe-fixes` to apply unsafe fixes; suggestions are never applied).\n",
                if self.review == 1 {
                    "1 change".to_string()
                } else {
                    format!("{} changes", self.review)
                }
            );
        }
        if !self.problems.is_empty() {
            s.push_str("### Errors and warnings\n\n");
            s.push_str(&self.problems);
            s.push('\n');
        }
        let diff = self.diff;
        if !diff.is_empty() {
            let fence = "`".repeat(longest_backtick_run(&diff).max(2) + 1);
            let _ = write!(
                s,
                "<details><summary>Diff</summary>\n\n{fence}diff\n{diff}{}{fence}\n\n</details>\n",
                if diff.ends_with('\n') { "" } else { "\n" }
            );
        }
    }
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
