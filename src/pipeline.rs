//! One file through the transforms: parse, run each transform, apply its changes, re-parse, and
//! repeat until a pass changes nothing. The file is refused (left untouched, with an error naming
//! the transform) when an output does not parse, edits overlap, or no fixed point is reached.
//! Suppression comments (`# restage: ignore=ID`) are honoured here.

use std::fmt;

use crate::edit::{self, Applicability, Change, Edit};
use crate::syntax::{self, Document, ItemKind, Kind, SyntaxError};
use crate::transforms::{Context, Transform};

/// How many passes over all transforms before restage gives up on reaching a fixed point.
pub const MAX_PASSES: usize = 4;

/// A change as reported: where it was made and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub transform: &'static str,
    pub applicability: Applicability,
    /// 1-based line and column (in bytes) where the change starts.
    pub line: usize,
    pub column: usize,
    /// 1-based line and column (in bytes) just past the end of the span the change concerns
    /// (the instruction at its anchor).
    pub end_line: usize,
    pub end_column: usize,
    pub title: String,
    pub reason: String,
}

/// A problem that does not stop the file, at a 1-based line and column of the original text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// What the pipeline made of one file.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The original text.
    pub original: String,
    /// The text after every applied change (equal to `original` when nothing applied).
    pub text: String,
    /// Changes applied, in order.
    pub applied: Vec<Note>,
    /// Changes not applied: suggestions (DisplayOnly), and Unsafe changes without
    /// `--unsafe-fixes`.
    pub suggestions: Vec<Note>,
    /// Problems that do not stop the file: suppression comments that never matched, unknown ids.
    pub warnings: Vec<Warning>,
}

impl Outcome {
    pub fn changed(&self) -> bool {
        self.text != self.original
    }
}

/// Why the pipeline refused a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PipelineError {
    /// The input does not parse.
    Syntax(SyntaxError),
    /// A transform produced something restage will not write.
    Refused {
        transform: &'static str,
        message: String,
    },
}

impl fmt::Display for PipelineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PipelineError::Syntax(e) => e.fmt(f),
            PipelineError::Refused { transform, message } => {
                write!(f, "restage refused the change of `{transform}`: {message}")
            }
        }
    }
}

impl std::error::Error for PipelineError {}

/// Options of one pipeline run.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub unsafe_fixes: bool,
}

/// Runs `transforms` over `text` to a fixed point.
pub fn run(
    text: &str,
    ctx: &Context,
    transforms: &[&Transform],
    options: Options,
) -> Result<Outcome, PipelineError> {
    let mut doc = syntax::parse(text).map_err(PipelineError::Syntax)?;
    let known: Vec<&str> = crate::transforms::registry().iter().map(|t| t.id).collect();
    let mut suppressions = Suppressions::of(&doc);
    let mut warnings = suppressions.problems(&known);
    let mut applied = Vec::new();
    let mut suggestions;
    let mut pass = 0;
    loop {
        pass += 1;
        let mut changed_by: Option<&'static str> = None;
        suggestions = Vec::new();
        let mut current = Suppressions::of(&doc);
        for t in transforms {
            let mut accepted: Vec<Change> = Vec::new();
            for change in (t.run)(&doc, ctx) {
                if let Some(n) = current.covering(&doc, &change) {
                    if let Some(u) = suppressions.used.get_mut(n) {
                        *u = true;
                    }
                    continue;
                }
                let applies = match change.applicability {
                    Applicability::Safe => true,
                    Applicability::Unsafe => options.unsafe_fixes,
                    Applicability::DisplayOnly => false,
                };
                if !applies || change.edits.is_empty() {
                    suggestions.push(note(&doc, &change));
                    continue;
                }
                // A change that collides with one already accepted waits for the next pass.
                let collides = accepted.iter().any(|a| {
                    a.edits.iter().any(|x| {
                        change
                            .edits
                            .iter()
                            .any(|y| edit::overlaps(&x.range, &y.range))
                    })
                });
                if !collides {
                    accepted.push(change);
                }
            }
            if accepted.is_empty() {
                continue;
            }
            let edits: Vec<Edit> = accepted.iter().flat_map(|c| c.edits.clone()).collect();
            let new_text = edit::apply(doc.text(), &edits).map_err(|e| PipelineError::Refused {
                transform: t.id,
                message: e.to_string(),
            })?;
            if new_text == doc.text() {
                continue;
            }
            let new_doc = syntax::parse(&new_text).map_err(|e| PipelineError::Refused {
                transform: t.id,
                message: format!("its output does not parse ({e})"),
            })?;
            applied.extend(accepted.iter().map(|c| note(&doc, c)));
            doc = new_doc;
            current = Suppressions::of(&doc);
            changed_by = Some(t.id);
        }
        match changed_by {
            None => break,
            Some(id) if pass >= MAX_PASSES => {
                return Err(PipelineError::Refused {
                    transform: id,
                    message: format!("no fixed point after {MAX_PASSES} passes"),
                });
            }
            Some(_) => {}
        }
    }
    warnings.extend(suppressions.unused());
    Ok(Outcome {
        original: text.to_string(),
        text: doc.text().to_string(),
        applied,
        suggestions,
        warnings,
    })
}

fn note(doc: &Document, change: &Change) -> Note {
    let (line, column) = doc.line_col(change.anchor);
    let end = doc
        .instructions()
        .iter()
        .find(|i| i.extent.start <= change.anchor && change.anchor < i.extent.end)
        .map_or(change.anchor, |i| i.extent.end);
    let (end_line, end_column) = doc.line_col(end);
    Note {
        transform: change.transform,
        applicability: change.applicability,
        line,
        column,
        end_line,
        end_column,
        title: change.title.clone(),
        reason: change.reason.clone(),
    }
}

/// One `# restage:` comment.
#[derive(Debug, Clone)]
struct Suppression {
    line: usize,
    /// Empty: every transform.
    ids: Vec<String>,
    scope: Scope,
    /// Text after `restage:` when it is not a directive restage knows.
    unknown: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
enum Scope {
    File,
    /// Byte range of the instruction (or the whole stage, for a comment above FROM).
    Range(std::ops::Range<usize>),
    /// Not above an instruction: covers nothing.
    Nothing,
}

/// The suppression comments of a document, in file order.
#[derive(Debug, Clone)]
struct Suppressions {
    list: Vec<Suppression>,
    used: Vec<bool>,
}

impl Suppressions {
    fn of(doc: &Document) -> Suppressions {
        let text = doc.text();
        let mut list = Vec::new();
        let items = doc.items();
        for (k, item) in items.iter().enumerate() {
            if item.kind != ItemKind::Trivia {
                continue;
            }
            let mut offset = item.range.start;
            let lines: Vec<&str> = text[item.range.clone()].split_inclusive('\n').collect();
            let count = lines.len();
            for (n, line) in lines.into_iter().enumerate() {
                let start = offset;
                offset += line.len();
                let t = line.trim().trim_start_matches('\u{feff}');
                let Some(rest) = t.strip_prefix('#') else {
                    continue;
                };
                let Some(directive) = rest.trim_start().strip_prefix("restage:") else {
                    continue;
                };
                let directive = directive.trim();
                let (name, ids) = match directive.split_once('=') {
                    Some((n, ids)) => (n.trim(), parse_ids(ids)),
                    None => (directive, Vec::new()),
                };
                let line_no = doc.line_col(start).0;
                let (scope, unknown) = match name {
                    "ignore-file" => (Scope::File, None),
                    "ignore" if !ids.is_empty() => {
                        // Only the last comment block line directly above an instruction counts:
                        // the rest of this trivia after it must be comment lines only.
                        let trailing_comments_only = n + 1 == count
                            || text[offset..item.range.end]
                                .lines()
                                .all(|l| l.trim().starts_with('#'));
                        let next = items.get(k + 1).and_then(|i| match i.kind {
                            ItemKind::Instruction(ix) => Some(ix),
                            ItemKind::Trivia => None,
                        });
                        match next {
                            Some(ix) if trailing_comments_only => {
                                let ins = &doc.instructions()[ix];
                                let range = if ins.kind == Kind::From {
                                    let stage =
                                        &doc.stages()[ins.stage.expect("FROM opens a stage")];
                                    let last = &doc.instructions()[stage.instructions.end - 1];
                                    ins.extent.start..last.extent.end
                                } else {
                                    ins.extent.clone()
                                };
                                (Scope::Range(range), None)
                            }
                            _ => (Scope::Nothing, None),
                        }
                    }
                    _ => (Scope::Nothing, Some(directive.to_string())),
                };
                list.push(Suppression {
                    line: line_no,
                    ids,
                    scope,
                    unknown,
                });
            }
        }
        let used = vec![false; list.len()];
        Suppressions { list, used }
    }

    /// The suppression that covers a change, if any.
    fn covering(&self, _doc: &Document, change: &Change) -> Option<usize> {
        self.list.iter().position(|s| {
            let id_ok = s.ids.is_empty() || s.ids.iter().any(|i| i == change.transform);
            let in_scope = match &s.scope {
                Scope::File => true,
                Scope::Range(r) => r.start <= change.anchor && change.anchor < r.end,
                Scope::Nothing => false,
            };
            id_ok && in_scope && s.unknown.is_none()
        })
    }

    /// Comments restage cannot use: unknown directives, unknown ids, `ignore` not above an
    /// instruction.
    fn problems(&self, known: &[&str]) -> Vec<Warning> {
        let mut out = Vec::new();
        for s in &self.list {
            if let Some(d) = &s.unknown {
                out.push(warning(
                    s.line,
                    format!(
                        "unknown restage directive `{d}` (expected `ignore=ID[,ID]` or `ignore-file[=ID,...]`)"
                    ),
                ));
                continue;
            }
            for id in &s.ids {
                if !known.contains(&id.as_str()) {
                    out.push(warning(
                        s.line,
                        format!("unknown transform id `{id}` in suppression"),
                    ));
                }
            }
            if s.scope == Scope::Nothing {
                out.push(warning(
                    s.line,
                    "`restage: ignore` must be directly above an instruction".to_string(),
                ));
            }
        }
        out
    }

    fn unused(&self) -> Vec<Warning> {
        self.list
            .iter()
            .zip(&self.used)
            .filter(|(s, used)| !**used && s.unknown.is_none() && s.scope != Scope::Nothing)
            .map(|(s, _)| warning(s.line, "suppression never matched a change".to_string()))
            .collect()
    }
}

fn warning(line: usize, message: String) -> Warning {
    Warning {
        line,
        column: 1,
        message,
    }
}

fn parse_ids(s: &str) -> Vec<String> {
    s.split(',')
        .map(|x| x.trim().to_string())
        .filter(|x| !x.is_empty())
        .collect()
}
