//! `json`: one document on stdout. The schema (documented in the README) is versioned by
//! `version`; fields are only ever added within a version.

use std::fmt::Write as _;

use serde::Serialize;

use super::{Part, Rendered};

use crate::report::{Counts, Summary};
use crate::run::{FileReport, Problem};

/// The version of the JSON document's schema.
pub const SCHEMA_VERSION: u32 = 1;

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

/// A file as the document writes it.
fn file_of(r: &FileReport) -> File<'_> {
    File {
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
    }
}

/// The document's start, up to the files' array.
pub fn begin(part: &mut Rendered) {
    let _ = write!(
        part.stdout,
        "{{\n  \"version\": {SCHEMA_VERSION},\n  \"files\": ["
    );
}

/// A file: an element of `files`, after a comma, as `serde_json`'s pretty printer writes it in
/// the document.
pub fn part(r: &FileReport, part: &mut Part) {
    part.out.push_str(",\n    ");
    super::push_pretty(&mut part.out, &file_of(r), 4);
}

/// The end of `files` (`any`: a file was written), then the summary.
pub fn end(any: bool, summary: &Summary, part: &mut Rendered) {
    part.stdout.push_str(if any { "\n  ],\n" } else { "],\n" });
    part.stdout.push_str("  \"summary\": ");
    super::push_pretty(&mut part.stdout, &summary_of(summary), 2);
    part.stdout.push_str("\n}\n");
}

fn summary_of(summary: &Summary) -> SummaryOut<'_> {
    SummaryOut {
        files: summary.files,
        changed: summary.changed,
        unchanged: summary.unchanged,
        skipped: summary.skipped,
        errors: summary.errors,
        applied: summary.applied,
        unsafe_pending: summary.unsafe_pending,
        suggestions: summary.suggestions,
        by_transform: &summary.by_transform,
    }
}

/// The whole document of these files built as one value (what the streamed text must equal).
#[cfg(test)]
pub(super) fn whole_document(reports: &[FileReport]) -> String {
    #[derive(Serialize)]
    struct Document<'a> {
        version: u32,
        files: Vec<File<'a>>,
        summary: SummaryOut<'a>,
    }
    let summary = Summary::of(reports);
    let doc = Document {
        version: SCHEMA_VERSION,
        files: reports.iter().map(file_of).collect(),
        summary: summary_of(&summary),
    };
    let mut s = serde_json::to_string_pretty(&doc).expect("structs of strings serialize");
    s.push('\n');
    s
}
