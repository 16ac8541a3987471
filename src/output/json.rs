//! `json`: one document on stdout. The schema (documented in the README) is versioned by
//! `version`; fields are only ever added within a version.

use serde::Serialize;

use crate::report::{Counts, Summary};
use crate::run::{FileReport, Problem};

/// The version of the JSON document's schema.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct Document<'a> {
    version: u32,
    files: Vec<File<'a>>,
    summary: SummaryOut<'a>,
}

#[derive(Serialize)]
struct File<'a> {
    path: &'a str,
    /// changed, unchanged, skipped, error
    status: &'static str,
    /// Why the file was skipped or failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<Location<'a>>,
    changes: Vec<Change<'a>>,
    warnings: Vec<Location<'a>>,
    /// The unified diff; empty when nothing changed.
    diff: &'a str,
}

#[derive(Serialize)]
struct Change<'a> {
    id: &'a str,
    title: &'a str,
    reason: &'a str,
    /// safe, unsafe, suggestion
    applicability: &'static str,
    applied: bool,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
}

#[derive(Serialize)]
struct Location<'a> {
    message: &'a str,
    /// 1-based; 0 when it concerns the whole file.
    line: usize,
    column: usize,
}

impl<'a> Location<'a> {
    fn of(p: &'a Problem) -> Location<'a> {
        Location {
            message: &p.message,
            line: p.line,
            column: p.column,
        }
    }
}

#[derive(Serialize)]
struct SummaryOut<'a> {
    files: usize,
    changed: usize,
    unchanged: usize,
    skipped: usize,
    errors: usize,
    applied: usize,
    #[serde(rename = "unsafe")]
    unsafe_pending: usize,
    suggestions: usize,
    by_transform: &'a std::collections::BTreeMap<&'static str, Counts>,
}

pub fn render(reports: &[FileReport], summary: &Summary) -> String {
    let doc = Document {
        version: SCHEMA_VERSION,
        files: reports
            .iter()
            .map(|r| File {
                path: &r.display,
                status: r.status.name(),
                error: r.status.problem().map(Location::of),
                changes: r
                    .changes
                    .iter()
                    .map(|c| Change {
                        id: c.id,
                        title: &c.title,
                        reason: &c.reason,
                        applicability: super::applicability_name(c.applicability),
                        applied: c.applied,
                        line: c.line,
                        column: c.column,
                        end_line: c.end_line,
                        end_column: c.end_column,
                    })
                    .collect(),
                warnings: r.warnings.iter().map(Location::of).collect(),
                diff: &r.diff,
            })
            .collect(),
        summary: SummaryOut {
            files: summary.files,
            changed: summary.changed,
            unchanged: summary.unchanged,
            skipped: summary.skipped,
            errors: summary.errors,
            applied: summary.applied,
            unsafe_pending: summary.unsafe_pending,
            suggestions: summary.suggestions,
            by_transform: &summary.by_transform,
        },
    };
    let mut s =
        serde_json::to_string_pretty(&doc).expect("structs of strings and numbers serialize");
    s.push('\n');
    s
}
