//! `sarif`: SARIF 2.1.0 for code scanning. One rule per transform (its documentation as help),
//! one result per change with its region in the original file; an applied change carries a fix
//! whose replacements come from a line diff of the original and rewritten text, in original
//! coordinates. Skipped files, errors and warnings are tool notifications.

use serde_json::{Value, json};
use similar::{DiffTag, TextDiff};

use std::io::Write;

use super::spill::Spill;
use super::{Part, WriteError};
use crate::run::{ChangeReport, FileReport, Problem, Status};
use crate::transforms;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// How deep `serde_json`'s pretty printer puts the elements of `results` and of
/// `toolExecutionNotifications` in the document.
const RESULT_INDENT: usize = 8;
const NOTIFICATION_INDENT: usize = 12;

/// What the document needs after the files are done. The document puts
/// `executionSuccessful` (whether any file failed) and the notifications before the results,
/// so no file's results can be written before the last file is done: each file's results are
/// kept as the text they are written as (never the file's texts), in a temporary file, and
/// written at the end.
#[derive(Default)]
pub struct State {
    failed: bool,
    notifications: String,
    results: Spill,
}

/// A file's results (for `out`) and notifications (for `kept`): elements of their arrays, each
/// after a comma, as the document's text.
pub fn part(r: &FileReport, part: &mut Part) {
    for value in results(r) {
        element(&mut part.out, &value, RESULT_INDENT);
    }
    for value in notifications(r) {
        element(&mut part.kept, &value, NOTIFICATION_INDENT);
    }
}

/// A file's results: one per change.
fn results(r: &FileReport) -> Vec<Value> {
    let original = r.texts.as_ref().map(|(o, _)| o.as_str());
    let replacements = r
        .texts
        .as_ref()
        .map(|(o, n)| replacements(o, n))
        .unwrap_or_default();
    r.changes
        .iter()
        .zip(super::fingerprints(r))
        .map(|(c, fp)| result(r, c, original, &replacements, &fp))
        .collect()
}

/// A file's notifications: its warnings, then why it was skipped or failed.
fn notifications(r: &FileReport) -> Vec<Value> {
    let mut out: Vec<Value> = r
        .warnings
        .iter()
        .map(|w| notification(r, w, "warning"))
        .collect();
    match &r.status {
        Status::Failed(p) => out.push(notification(r, p, "error")),
        Status::Skipped(p) => out.push(notification(r, p, "note")),
        Status::Changed | Status::Unchanged => {}
    }
    out
}

impl State {
    /// Keeps a file's results and notifications.
    pub fn take(&mut self, part: Part) {
        let first = self.results.is_empty();
        self.results.push_str(super::elements(&part.out, first));
        let first = self.notifications.is_empty();
        self.notifications
            .push_str(super::elements(&part.kept, first));
        self.failed |= part.counts.errors > 0;
    }

    /// The whole document: its frame as `serde_json` writes it, with the kept results and
    /// notifications in their arrays.
    pub fn end(self, out: &mut dyn Write) -> Result<(), WriteError> {
        let frame = document(!self.failed, Vec::new(), Vec::new());
        let mut frame = serde_json::to_string_pretty(&frame).expect("a JSON value serializes");
        frame.push('\n');
        let notifications_key = "\"toolExecutionNotifications\": [";
        let results_key = "\"results\": [";
        let (Some(n), Some(r)) = (frame.find(notifications_key), frame.find(results_key)) else {
            unreachable!("the frame has both arrays");
        };
        assert!(n < r, "serde_json writes an object's keys in order");
        let (n, r) = (n + notifications_key.len(), r + results_key.len());
        let stdout = |e| WriteError::new("stdout", e);
        let close = |indent: usize| format!("\n{}", " ".repeat(indent - 2));
        out.write_all(&frame.as_bytes()[..n]).map_err(stdout)?;
        if !self.notifications.is_empty() {
            out.write_all(self.notifications.as_bytes())
                .and_then(|()| out.write_all(close(NOTIFICATION_INDENT).as_bytes()))
                .map_err(stdout)?;
        }
        out.write_all(&frame.as_bytes()[n..r]).map_err(stdout)?;
        if !self.results.is_empty() {
            self.results.write_to(out)?;
            out.write_all(close(RESULT_INDENT).as_bytes())
                .map_err(stdout)?;
        }
        out.write_all(&frame.as_bytes()[r..]).map_err(stdout)
    }
}

/// Appends an element of an array `indent` spaces deep: a comma (dropped before the first
/// element of the array), a line break, the element.
fn element(items: &mut String, value: &Value, indent: usize) {
    items.push(',');
    items.push('\n');
    items.push_str(&" ".repeat(indent));
    super::push_pretty(items, value, indent);
}

/// The document with these results and notifications.
fn document(successful: bool, notifications: Vec<Value>, results: Vec<Value>) -> Value {
    let rules: Vec<Value> = transforms::registry()
        .iter()
        .map(|t| {
            json!({
                "id": t.id,
                "name": t.id,
                "shortDescription": {"text": t.summary},
                "fullDescription": {"text": format!("{} (confidence: {})", t.summary, t.confidence)},
                "help": {"text": t.doc, "markdown": t.doc},
                "defaultConfiguration": {"level": "warning"},
            })
        })
        .collect();
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "restage",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "invocations": [{
                "executionSuccessful": successful,
                "toolExecutionNotifications": notifications,
            }],
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    })
}

/// The whole document of these files built as one value (what the streamed text must equal).
#[cfg(test)]
pub(super) fn whole_document(reports: &[FileReport]) -> String {
    let mut results = Vec::new();
    let mut notifications = Vec::new();
    for r in reports {
        results.extend(self::results(r));
        notifications.extend(self::notifications(r));
    }
    let successful = !reports
        .iter()
        .any(|r| matches!(r.status, Status::Failed(_)));
    let doc = document(successful, notifications, results);
    let mut s = serde_json::to_string_pretty(&doc).expect("a JSON value serializes");
    s.push('\n');
    s
}

fn result(
    r: &FileReport,
    c: &ChangeReport,
    original: Option<&str>,
    replacements: &[Replacement],
    fingerprint: &str,
) -> Value {
    let index = transforms::registry()
        .iter()
        .position(|t| t.id == c.id)
        .unwrap_or(0);
    let level = match crate::report::Fate::of(c) {
        crate::report::Fate::Suggestion => "note",
        _ => "warning",
    };
    let last = super::last_line(c);
    let mut region = json!({
        "startLine": c.line.max(1),
        "startColumn": char_column(original, c.line, c.column),
    });
    if last > c.line {
        region["endLine"] = json!(last);
    }
    let mut result = json!({
        "ruleId": c.id,
        "ruleIndex": index,
        "level": level,
        "message": {"text": format!("{} ({}): {}", c.title, super::label(c), c.reason)},
        "locations": [location(&r.display, region)],
        "partialFingerprints": {"restage/v1": fingerprint},
    });
    if c.applied && !replacements.is_empty() {
        // The replacements of this change's lines; when none touch them (a change that moves
        // text elsewhere), the whole file's.
        let near: Vec<&Replacement> = replacements
            .iter()
            .filter(|x| x.first <= last + 1 && c.line <= x.last.max(x.first))
            .collect();
        let chosen: Vec<&Replacement> = if near.is_empty() {
            replacements.iter().collect()
        } else {
            near
        };
        result["fixes"] = json!([{
            "description": {"text": c.title},
            "artifactChanges": [{
                "artifactLocation": {"uri": uri(&r.display)},
                "replacements": chosen.iter().map(|x| x.json.clone()).collect::<Vec<_>>(),
            }],
        }]);
    }
    result
}

fn notification(r: &FileReport, p: &Problem, level: &str) -> Value {
    let mut region = None;
    if p.line > 0 {
        region = Some(json!({"startLine": p.line, "startColumn": p.column.max(1)}));
    }
    let mut physical = json!({"artifactLocation": {"uri": uri(&r.display)}});
    if let Some(region) = region {
        physical["region"] = region;
    }
    json!({
        "level": level,
        "message": {"text": format!("{}: {}", r.display, p.message)},
        "locations": [{"physicalLocation": physical}],
    })
}

fn location(path: &str, region: Value) -> Value {
    json!({"physicalLocation": {
        "artifactLocation": {"uri": uri(path)},
        "region": region,
    }})
}

/// A relative URI reference for a display path: `/` kept, everything but unreserved
/// characters percent-encoded.
fn uri(path: &str) -> String {
    let mut s = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            s.push(char::from(b));
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

/// A byte column of a line of `original` as a column in Unicode code points.
fn char_column(original: Option<&str>, line: usize, column: usize) -> usize {
    let column = column.max(1);
    let Some(text) = super::lines_of(original.unwrap_or(""), line, line)
        .first()
        .copied()
    else {
        return column;
    };
    let byte = (column - 1).min(text.len());
    match text.get(..byte) {
        Some(before) => before.chars().count() + 1,
        None => column,
    }
}

/// One replacement of a fix: original lines `first..=last` (1-based; `last < first` for an
/// insertion before `first`) and its SARIF form.
struct Replacement {
    first: usize,
    last: usize,
    json: Value,
}

/// The replacements that turn `original` into `rewritten`, from a line diff.
fn replacements(original: &str, rewritten: &str) -> Vec<Replacement> {
    if original == rewritten {
        return Vec::new();
    }
    let diff = TextDiff::from_lines(original, rewritten);
    let old: Vec<&str> = diff.iter_old_slices().collect();
    let new: Vec<&str> = diff.iter_new_slices().collect();
    let mut out = Vec::new();
    for op in diff.ops() {
        if op.tag() == DiffTag::Equal {
            continue;
        }
        let (a, b) = (op.old_range().start, op.old_range().end);
        let inserted: String = new[op.new_range()].concat();
        // The deleted region runs from the start of line a+1 to the start of line b+1; past the
        // last line, to the end of the file.
        let end = if b < old.len() || original.ends_with('\n') {
            (b + 1, 1)
        } else {
            let last = old.get(b.wrapping_sub(1)).copied().unwrap_or("");
            (b.max(1), last.chars().count() + 1)
        };
        let start = if a >= old.len() && !original.ends_with('\n') {
            end
        } else {
            (a + 1, 1)
        };
        let json = json!({
            "deletedRegion": {
                "startLine": start.0,
                "startColumn": start.1,
                "endLine": end.0,
                "endColumn": end.1,
            },
            "insertedContent": {"text": inserted},
        });
        out.push(Replacement {
            first: a + 1,
            last: b,
            json,
        });
    }
    out
}

#[cfg(test)]
pub(super) fn replacements_for_test(original: &str, rewritten: &str) -> Vec<Value> {
    replacements(original, rewritten)
        .into_iter()
        .map(|r| r.json)
        .collect()
}
