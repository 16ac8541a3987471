//! `gitlab`: a GitLab Code Quality report (a JSON array of Code Climate issues): one issue per
//! change, and one per file that failed.

use serde::Serialize;

use super::Part;
use crate::run::{FileReport, Status};

#[derive(Serialize)]
struct Issue<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    description: String,
    check_name: &'a str,
    fingerprint: String,
    severity: &'static str,
    location: Location<'a>,
}

#[derive(Serialize)]
struct Location<'a> {
    path: &'a str,
    lines: Lines,
}

#[derive(Serialize)]
struct Lines {
    begin: usize,
}

/// A file's issues: elements of the array, each after a comma, as `serde_json`'s pretty
/// printer writes them.
pub fn part(r: &FileReport, part: &mut Part) {
    for issue in issues(r) {
        part.out.push_str(",\n  ");
        super::push_pretty(&mut part.out, &issue, 2);
    }
}

/// A file's issues: one per change, and one if it failed.
fn issues(r: &FileReport) -> Vec<Issue<'_>> {
    let mut issues = Vec::new();
    for (c, fingerprint) in r.changes.iter().zip(super::fingerprints(r)) {
        issues.push(Issue {
            kind: "issue",
            description: format!("{} ({}): {}", c.title, super::label(c), c.reason),
            check_name: c.id,
            fingerprint,
            severity: match crate::report::Fate::of(c) {
                crate::report::Fate::Suggestion => "info",
                _ => "minor",
            },
            location: Location {
                path: &r.display,
                lines: Lines {
                    begin: c.line.max(1),
                },
            },
        });
    }
    if let Status::Failed(p) = &r.status {
        issues.push(Issue {
            kind: "issue",
            description: p.message.clone(),
            check_name: "restage-error",
            fingerprint: super::fingerprint_of_error(&r.display, &p.message),
            severity: "major",
            location: Location {
                path: &r.display,
                lines: Lines {
                    begin: p.line.max(1),
                },
            },
        });
    }
    issues
}

/// The whole array of these files built as one value (what the streamed text must equal).
#[cfg(test)]
pub(super) fn whole_document(reports: &[FileReport]) -> String {
    let all: Vec<Issue> = reports.iter().flat_map(issues).collect();
    let mut s = serde_json::to_string_pretty(&all).expect("structs of strings serialize");
    s.push('\n');
    s
}
