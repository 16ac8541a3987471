//! `markdown`: a pull-request comment. One table of the changes (file, line, transform, what,
//! applied or why not, and the reason), the errors, and the diff in a collapsed block.

use std::fmt::Write as _;

use std::io::Write;

use super::spill::Spill;
use super::{Part, Settings, WriteError};
use crate::report::Summary;
use crate::run::{FileReport, Status};

/// What the comment needs after the files are done. It starts with the run's summary line, so
/// nothing can be written before the last file is done: each file's table rows, problems and
/// diff are kept as the text they are written as (the rows and the diff in a temporary file),
/// and written at the end.
#[derive(Default)]
pub struct State {
    rows: Spill,
    review: usize,
    problems: String,
    diff: Spill,
    /// The backticks at the end of the diff so far, and the longest run in it.
    backticks: usize,
    longest_backticks: usize,
}

/// A file's table rows (for `out`), problems (for `kept`) and diff.
pub fn part(r: &mut FileReport, part: &mut Part) {
    for c in &r.changes {
        let _ = writeln!(
            part.out,
            "| {} | {} | `{}` | {} | {} | {} |",
            code(&r.display),
            c.line,
            c.id,
            cell(&c.title),
            cell(super::label(c)),
            cell(&c.reason)
        );
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
            part.kept,
            "- {} {what}: {}",
            code(&at),
            p.message.replace('\n', " ")
        );
    }
    part.diff = std::mem::take(&mut r.diff);
}

impl State {
    /// Keeps a file's rows, problems and diff.
    pub fn take(&mut self, part: Part) {
        self.rows.push_str(&part.out);
        self.review += part.counts.unsafe_pending + part.counts.suggestions;
        self.problems.push_str(&part.kept);
        for b in part.diff.bytes() {
            if b == b'`' {
                self.backticks += 1;
                self.longest_backticks = self.longest_backticks.max(self.backticks);
            } else {
                self.backticks = 0;
            }
        }
        self.diff.push_str(&part.diff);
    }

    /// The whole comment.
    pub fn end(
        self,
        summary: &Summary,
        settings: &Settings,
        out: &mut dyn Write,
    ) -> Result<(), WriteError> {
        let stdout = |e| WriteError::new("stdout", e);
        let mut s = String::from("## restage\n\n");
        let line = summary.line(settings.write);
        let _ = writeln!(s, "{}\n", line.strip_prefix("restage: ").unwrap_or(&line));
        if !self.rows.is_empty() {
            s.push_str("| File | Line | Transform | Change | Status | Why |\n");
            s.push_str("|---|---|---|---|---|---|\n");
            out.write_all(s.as_bytes()).map_err(stdout)?;
            s.clear();
            self.rows.write_to(out)?;
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
        if !self.diff.is_empty() {
            let fence = "`".repeat(self.longest_backticks.max(2) + 1);
            let _ = write!(s, "<details><summary>Diff</summary>\n\n{fence}diff\n");
            out.write_all(s.as_bytes()).map_err(stdout)?;
            s.clear();
            let newline = if self.diff.ends_with_newline() {
                ""
            } else {
                "\n"
            };
            self.diff.write_to(out)?;
            let _ = write!(s, "{newline}{fence}\n\n</details>\n");
        }
        out.write_all(s.as_bytes()).map_err(stdout)
    }
}

/// Text safe inside a table cell.
pub(super) fn cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        if c == '`' {
            // A code span: a run of backticks up to the next run of the same length. Its
            // text is literal (a backslash there escapes nothing); only a pipe is escaped,
            // which a table reads before the span. A run with no closing one is literal.
            let n = rest.len() - rest.trim_start_matches('`').len();
            let after = &rest.as_bytes()[n..];
            let close = (0..after.len()).find(|&i| {
                after[i..].starts_with(&rest.as_bytes()[..n])
                    && (i == 0 || after[i - 1] != b'`')
                    && after.get(i + n) != Some(&b'`')
            });
            let end = close.map_or(n, |i| n + i + n);
            for c in rest[..end].chars() {
                push_cell_char(&mut out, c, false);
            }
            rest = &rest[end..];
            continue;
        }
        push_cell_char(&mut out, c, true);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// One character of a table cell: a pipe escaped, a line break a space, and a backslash
/// outside code doubled (so it stays one).
fn push_cell_char(out: &mut String, c: char, outside_code: bool) {
    match c {
        '|' => out.push_str("\\|"),
        '\r' | '\n' => out.push(' '),
        '\\' if outside_code => out.push_str("\\\\"),
        c => out.push(c),
    }
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
