//! `github`: GitHub Actions workflow commands, one per line, which the runner turns into
//! annotations on the pull request: `::warning file=…,line=…,col=…,endLine=…,title=…::message`.

use std::fmt::Write as _;

use super::Part;
use crate::run::{FileReport, Problem, Status};

/// A file's commands: one per change, warning, skip or error.
pub fn part(r: &FileReport, part: &mut Part) {
    let s = &mut part.out;
    for c in &r.changes {
        let level = match crate::report::Fate::of(c) {
            crate::report::Fate::Suggestion => "notice",
            _ => "warning",
        };
        let _ = writeln!(
            s,
            "::{level} file={},line={},col={},endLine={},title={}::{}",
            property(&r.display),
            c.line.max(1),
            c.column.max(1),
            super::last_line(c).max(1),
            property(&format!("restage {}: {}", c.id, c.title)),
            data(&format!("{} ({})", c.reason, super::label(c)))
        );
    }
    for w in &r.warnings {
        command(s, "warning", r, w, "warning");
    }
    match &r.status {
        Status::Failed(p) => command(s, "error", r, p, "error"),
        Status::Skipped(p) => command(s, "notice", r, p, "skipped"),
        Status::Changed | Status::Unchanged => {}
    }
}

fn command(s: &mut String, level: &str, r: &FileReport, p: &Problem, what: &str) {
    let mut props = format!("file={}", property(&r.display));
    if p.line > 0 {
        let _ = write!(props, ",line={},col={}", p.line, p.column.max(1));
    }
    let _ = writeln!(
        s,
        "::{level} {props},title={}::{}",
        property(&format!("restage {what}")),
        data(&p.message)
    );
}

/// Escapes a command's message, as the runner expects.
pub fn data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value: as a message, plus `:` and `,`.
pub fn property(s: &str) -> String {
    data(s).replace(':', "%3A").replace(',', "%2C")
}
