//! `sarif`: SARIF 2.1.0 for code scanning. One rule per transform (its documentation as help),
//! one result per change with its region in the original file; an applied change carries a fix:
//! the edits it made (or had a part in), widened to whole lines of the original. Skipped files,
//! errors and warnings are tool notifications.

use serde_json::{Value, json};

use std::io::Write;

use super::spill::Spill;
use super::{Part, WriteError};
use crate::edit::Edit;
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
    let replacements = original
        .map(|o| replacements(o, &r.edits))
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
    // The replacements that hold the change's edits.
    let chosen: Vec<&Replacement> = replacements
        .iter()
        .filter(|x| c.fix.iter().any(|i| x.edits.contains(i)))
        .collect();
    if c.applied && !chosen.is_empty() {
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
        let original = r.texts.as_ref().map(|(o, _)| o.as_str());
        let column = char_column(original, p.line, p.column);
        region = Some(json!({"startLine": p.line, "startColumn": column}));
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
    // Columns of line 1 count from after a BOM.
    let text = if line == 1 {
        text.trim_start_matches('\u{feff}')
    } else {
        text
    };
    let byte = (column - 1).min(text.len());
    match text.get(..byte) {
        Some(before) => before.chars().count() + 1,
        None => column,
    }
}

/// One replacement of the fixes: whole lines of the original (or the point between two lines
/// where lines are inserted) and what the rewritten text has in their place, in SARIF form.
/// `edits` are the indices of the file's edits it holds.
struct Replacement {
    edits: std::ops::Range<usize>,
    json: Value,
}

/// The replacements that turn `original` into the rewritten text, from the file's edits (see
/// [`FileReport::edits`]): each edit widened to the whole lines it touches (a pure insertion of
/// whole lines stays one, before the line it is inserted at), and edits that share a line joined
/// into one replacement. They do not overlap, so a change's fix (the replacements holding its
/// edits) applies on its own, and all of them together give the rewritten text.
fn replacements(original: &str, edits: &[Edit]) -> Vec<Replacement> {
    let len = original.len();
    let bom = if original.starts_with('\u{feff}') {
        3
    } else {
        0
    };
    // Line 1 starts after the BOM, which is no part of its text.
    let line_start = |x: usize| match original[..x].rfind('\n') {
        Some(p) => p + 1,
        None if x >= bom => bom,
        None => 0,
    };
    let line_end = |x: usize| original[x..].find('\n').map_or(len, |p| x + p + 1);
    // (start, end, first edit, end of edits) of each replacement, in order.
    let mut groups: Vec<(usize, usize, usize, usize)> = Vec::new();
    for (k, e) in edits.iter().enumerate() {
        let (s, t) = (e.range.start, e.range.end);
        let insertion =
            s == t && line_start(s) == s && (e.text.is_empty() || e.text.ends_with('\n'));
        let (g0, g1) = if insertion {
            (s, s)
        } else if t > s && line_start(t) == t {
            (line_start(s), t)
        } else {
            (line_start(s), line_end(t))
        };
        match groups.last_mut() {
            Some(last) if g0 < last.1 => {
                last.1 = last.1.max(g1);
                last.3 = k + 1;
            }
            _ => groups.push((g0, g1, k, k + 1)),
        }
    }
    // Lines and code-point columns, line 1's from after a BOM.
    let position = |x: usize| crate::syntax::line_char_col(original, x);
    groups
        .into_iter()
        .map(|(g0, g1, first, end)| {
            let mut inserted = String::new();
            let mut at = g0;
            for e in &edits[first..end] {
                inserted.push_str(&original[at.min(e.range.start)..e.range.start]);
                inserted.push_str(&e.text);
                at = e.range.end;
            }
            inserted.push_str(&original[at.min(g1)..g1]);
            let (start, end_pos) = (position(g0), position(g1));
            Replacement {
                edits: first..end,
                json: json!({
                    "deletedRegion": {
                        "startLine": start.0,
                        "startColumn": start.1,
                        "endLine": end_pos.0,
                        "endColumn": end_pos.1,
                    },
                    "insertedContent": {"text": inserted},
                }),
            }
        })
        .collect()
}

#[cfg(test)]
pub(super) fn replacements_for_test(original: &str, edits: &[Edit]) -> Vec<Value> {
    replacements(original, edits)
        .into_iter()
        .map(|r| r.json)
        .collect()
}
