//! One file through the transforms: parse, run each transform, apply its changes, re-parse, and
//! repeat until a pass changes nothing. The file is refused (left untouched, with an error naming
//! the transform) when an output does not parse, edits overlap, or no fixed point is reached.
//! Suppression comments (`# restage: ignore=ID`) are honoured here, and every position reported
//! (notes, warnings) is mapped back to the original text through the edits applied so far.

use std::fmt;

use crate::edit::{self, Applicability, Change, Composed, Edit, Origin};
use crate::syntax::{self, Document, ItemKind, Kind, LineIndex, SyntaxError};
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
    /// For an applied change: the indices, in [`Outcome::edits`], of the edits it made or had
    /// a part in (an edit of the result can hold the work of several changes).
    pub edits: Vec<usize>,
}

/// A problem that does not stop the file, at a span of the original text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// 1-based line and column (in bytes) where the span starts.
    pub line: usize,
    pub column: usize,
    /// 1-based line and column (in bytes) just past its end.
    pub end_line: usize,
    pub end_column: usize,
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
    /// Every applied change, composed into edits against `original`: sorted, non-overlapping,
    /// and applying them to `original` gives `text`.
    pub edits: Vec<Edit>,
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

/// The ids of the transforms in [`crate::transforms::registry`], in its order.
pub(crate) fn transform_ids() -> &'static [&'static str] {
    static IDS: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    IDS.get_or_init(|| crate::transforms::registry().iter().map(|t| t.id).collect())
}

/// Options of one pipeline run.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub unsafe_fixes: bool,
    /// Record which applied change made each edit of the result ([`Note::edits`]): what a
    /// SARIF fix holds. Off, no note names edits.
    pub attribute: bool,
}

/// Runs `transforms` over `text` to a fixed point.
pub fn run(
    text: &str,
    ctx: &Context,
    transforms: &[&Transform],
    options: Options,
) -> Result<Outcome, PipelineError> {
    let mut doc = syntax::parse(text).map_err(PipelineError::Syntax)?;
    // Positions are reported in the original text: keep its line index, not the whole model.
    // (Its own, not a copy of the document's, which is built only if a transform asks.)
    let original = std::sync::Arc::new(LineIndex::new(text));
    // Suppressions are identified by their span in the original text; the comments of each
    // intermediate document are matched back to them (see `Suppressions::identify`).
    let mut suppressions = Suppressions::of(&doc);
    let mut warnings = if suppressions.list.is_empty() {
        Vec::new()
    } else {
        suppressions.problems(&original, transform_ids())
    };
    // Shared with each rewritten document (its `origin`), which is let go of before the next
    // edits are recorded: recording them then changes it in place.
    let mut composed = std::sync::Arc::new(Composed::new(text.len()));
    let mut applied = Vec::new();
    let mut pass = 0;
    // Transforms are pure: one that changed nothing when it last ran, on the document as it is
    // now, would change nothing again and report the same suggestions. `quiet[i]` is the
    // version of the document transform `i` last left unchanged, and `made[i]` the suggestions
    // of its last run; the pass that proves the fixed point skips such transforms. The
    // suggestions reported are those of the last pass: every transform's `made`, in order.
    let mut version: usize = 0;
    let mut quiet: Vec<Option<usize>> = vec![None; transforms.len()];
    let mut made: Vec<Vec<Note>> = std::iter::repeat_with(Vec::new)
        .take(transforms.len())
        .collect();
    loop {
        pass += 1;
        let mut changed_by: Option<&'static str> = None;
        let mut current = suppressions.identify(&doc, &composed);
        for (i, t) in transforms.iter().enumerate() {
            if quiet[i] == Some(version) {
                continue;
            }
            let suggestions = &mut made[i];
            suggestions.clear();
            let mut accepted: Vec<Change> = Vec::new();
            for change in (t.run)(&doc, ctx) {
                if let Some(n) = current.covering(&change) {
                    suppressions.used[n] = true;
                    continue;
                }
                let applies = match change.applicability {
                    Applicability::Safe => true,
                    Applicability::Unsafe => options.unsafe_fixes,
                    Applicability::DisplayOnly => false,
                };
                if !applies || change.edits.is_empty() {
                    suggestions.push(note(&original, &doc, &composed, change));
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
                quiet[i] = Some(version);
                continue;
            }
            // Each edit's owner: the index its change will have in `applied`.
            let mut owners: Vec<usize> = Vec::new();
            if options.attribute {
                for (k, c) in accepted.iter().enumerate() {
                    owners.extend(std::iter::repeat_n(applied.len() + k, c.edits.len()));
                }
            }
            let edits: Vec<Edit> = accepted
                .iter_mut()
                .flat_map(|c| std::mem::take(&mut c.edits))
                .collect();
            let new_text = edit::apply(doc.text(), &edits).map_err(|e| PipelineError::Refused {
                transform: t.id,
                message: e.to_string(),
            })?;
            if new_text == doc.text() {
                quiet[i] = Some(version);
                continue;
            }
            applied.extend(
                accepted
                    .into_iter()
                    .map(|c| note(&original, &doc, &composed, c)),
            );
            // The document is about to be replaced: its share of `composed` goes first.
            doc.origin = None;
            std::sync::Arc::make_mut(&mut composed).apply(doc.text(), &edits, &owners);
            // The new document is built from this one: the instructions the edits did not
            // touch are kept (see `syntax::reparse`).
            let mut changes: Vec<(std::ops::Range<usize>, usize)> = edits
                .iter()
                .map(|e| (e.range.clone(), e.text.len()))
                .collect();
            changes.sort_by_key(|(range, _)| (range.start, !range.is_empty()));
            let mut new_doc =
                syntax::reparse(doc, &changes, new_text).map_err(|e| PipelineError::Refused {
                    transform: t.id,
                    message: format!("its output does not parse ({e})"),
                })?;
            // Transforms that name a line in a message (`the COPY at line 14`) get the file's.
            new_doc.origin = Some(syntax::Origin {
                lines: original.clone(),
                composed: std::sync::Arc::clone(&composed),
            });
            doc = new_doc;
            version += 1;
            current = suppressions.identify(&doc, &composed);
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
    warnings.extend(suppressions.unused(&original));
    let suggestions = made.into_iter().flatten().collect();
    let edits = if options.attribute {
        let mut edits = Vec::new();
        for (j, (e, owners)) in composed.owned_edits().into_iter().enumerate() {
            for o in owners {
                if let Some(note) = applied.get_mut(o) {
                    note.edits.push(j);
                }
            }
            edits.push(e);
        }
        edits
    } else {
        composed.edits()
    };
    debug_assert_eq!(
        edit::apply(text, &edits).as_deref(),
        Ok(doc.text()),
        "composed edits rebuild the output"
    );
    Ok(Outcome {
        original: text.to_string(),
        text: doc.text,
        edits,
        applied,
        suggestions,
        warnings,
    })
}

/// A change as reported, its positions mapped back to the original text: a change anchored in
/// text restage wrote is reported where that text was written, one anchored in lines restage
/// moved where they were read. The change's title and reason become the note's.
fn note(original: &LineIndex, doc: &Document, composed: &Composed, change: Change) -> Note {
    let end = doc
        .instruction_at(change.anchor)
        .map_or(change.anchor, |i| i.extent.end);
    // An instruction restage moved whole: its lines as read (its line terminator, written
    // with it, as the original's after them).
    let content_end = end - usize::from(doc.text().as_bytes()[..end].ends_with(b"\n"));
    let moved = match composed.origin(change.anchor) {
        Origin::Moved { read: from, .. } if content_end > change.anchor => composed
            .read_at(content_end - 1)
            .filter(|&to| to + change.anchor == from + content_end - 1)
            .map(|to| (from, to + 1 + (end - content_end))),
        _ => None,
    };
    let (start, end) = moved.unwrap_or_else(|| {
        let start = composed.map_start(change.anchor);
        (start, composed.map_end(end).max(start))
    });
    // A change restage makes at the end of the file (a stage written after its last line) is
    // reported on that last line: a line the file has, as annotations need. (An end just past
    // a last line's terminator is the start of the line after, as for every instruction.)
    let (line, column) = original.line_col_in_file(start);
    let (end_line, end_column) = original.line_col(end);
    Note {
        transform: change.transform,
        applicability: change.applicability,
        line,
        column,
        end_line,
        end_column,
        title: change.title,
        reason: change.reason,
        edits: Vec::new(),
    }
}

/// One `# restage:` comment.
#[derive(Debug, Clone)]
struct Suppression {
    /// The comment: from its `#` to the end of its line (no terminator).
    span: std::ops::Range<usize>,
    /// Empty: every transform.
    ids: Vec<String>,
    scope: Scope,
    /// The comment's text (the bytes of `span`).
    text: String,
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

/// The suppression comments of the original document, in file order, and which of them
/// suppressed a change.
#[derive(Debug, Clone)]
struct Suppressions {
    list: Vec<Suppression>,
    used: Vec<bool>,
}

/// The suppression comments of an intermediate document, each with the index of the original
/// comment it is (`None` for a comment restage wrote).
struct Current {
    list: Vec<(Suppression, Option<usize>)>,
}

impl Current {
    /// The original suppression that covers a change, if any.
    fn covering(&self, change: &Change) -> Option<usize> {
        self.list.iter().find_map(|(s, id)| {
            let id_ok = s.ids.is_empty() || s.ids.iter().any(|i| i == change.transform);
            let in_scope = match &s.scope {
                Scope::File => true,
                Scope::Range(r) => r.start <= change.anchor && change.anchor < r.end,
                Scope::Nothing => false,
            };
            if id_ok && in_scope && s.unknown.is_none() {
                *id
            } else {
                None
            }
        })
    }
}

impl Suppressions {
    fn of(doc: &Document) -> Suppressions {
        let list = scan(doc);
        let used = vec![false; list.len()];
        Suppressions { list, used }
    }

    /// The suppressions of `doc` (the original after the edits in `composed`), each matched to
    /// the original comment it is: a comment in kept text by its original offset, a comment a
    /// transform moved (deleted and written elsewhere) by its text, in order.
    fn identify(&self, doc: &Document, composed: &Composed) -> Current {
        // Without suppression comments in the original, none in a later text can be matched
        // to one, and an unmatched comment suppresses nothing.
        if self.list.is_empty() {
            return Current { list: Vec::new() };
        }
        let found = scan(doc);
        let mut ids: Vec<Option<usize>> = vec![None; found.len()];
        let mut claimed = vec![false; self.list.len()];
        for (k, s) in found.iter().enumerate() {
            if let Origin::Kept(at) = composed.origin(s.span.start)
                && let Ok(n) = self.list.binary_search_by_key(&at, |o| o.span.start)
            {
                ids[k] = Some(n);
                claimed[n] = true;
            }
        }
        // Written comments: the unclaimed original with the same text, in order (a move); else
        // the first original with that text (a copy, such as an instruction repeated in a new
        // stage with its comments).
        let mut by_text: std::collections::HashMap<&str, std::collections::VecDeque<usize>> =
            std::collections::HashMap::new();
        let mut first: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for (n, o) in self.list.iter().enumerate() {
            first.entry(o.text.as_str()).or_insert(n);
            if !claimed[n] {
                by_text.entry(o.text.as_str()).or_default().push_back(n);
            }
        }
        for (k, s) in found.iter().enumerate() {
            if ids[k].is_none() {
                ids[k] = by_text
                    .get_mut(s.text.as_str())
                    .and_then(|q| q.pop_front())
                    .or_else(|| first.get(s.text.as_str()).copied());
            }
        }
        Current {
            list: found.into_iter().zip(ids).collect(),
        }
    }

    /// Comments restage cannot use: unknown directives, unknown ids, `ignore` not above an
    /// instruction.
    fn problems(&self, original: &LineIndex, known: &[&str]) -> Vec<Warning> {
        let mut out = Vec::new();
        for s in &self.list {
            if let Some(d) = &s.unknown {
                out.push(warning(
                    original,
                    s,
                    format!(
                        "unknown restage directive `{d}` (expected `ignore=ID[,ID]` or `ignore-file[=ID,...]`)"
                    ),
                ));
                continue;
            }
            for id in &s.ids {
                if !known.contains(&id.as_str()) {
                    out.push(warning(
                        original,
                        s,
                        format!("unknown transform id `{id}` in suppression"),
                    ));
                }
            }
            if s.scope == Scope::Nothing {
                out.push(warning(
                    original,
                    s,
                    "`restage: ignore` must be directly above an instruction".to_string(),
                ));
            }
        }
        out
    }

    /// Usable comments that suppressed no change.
    fn unused(&self, original: &LineIndex) -> Vec<Warning> {
        self.list
            .iter()
            .zip(&self.used)
            .filter(|(s, used)| !**used && s.unknown.is_none() && s.scope != Scope::Nothing)
            .map(|(s, _)| {
                warning(
                    original,
                    s,
                    "suppression never matched a change".to_string(),
                )
            })
            .collect()
    }
}

/// The text after `restage:` of a suppression comment line (`# restage: ignore=exec-form`
/// gives `ignore=exec-form`), trimmed; `None` for any other line.
fn directive(line: &str) -> Option<&str> {
    let t = line.trim().trim_start_matches('\u{feff}');
    let rest = t.strip_prefix('#')?;
    Some(rest.trim_start().strip_prefix("restage:")?.trim())
}

/// The ids of a suppression comment that, above a `FROM`, covers the stage (`# restage:
/// ignore=ID[,ID]`); `None` for any other line. multi-stage carries such a comment over to the
/// runtime stage it splits off, which carries on that stage.
pub(crate) fn stage_suppression_ids(line: &str) -> Option<Vec<String>> {
    let (name, ids) = directive(line)?.split_once('=')?;
    let ids = parse_ids(ids);
    (name.trim() == "ignore" && !ids.is_empty()).then_some(ids)
}

/// The `# restage:` comments of a document, in file order. Linear in the size of the file.
fn scan(doc: &Document) -> Vec<Suppression> {
    let text = doc.text();
    let mut list = Vec::new();
    // Most files have none: without `restage:` anywhere there is no comment to read.
    static DIRECTIVE: std::sync::OnceLock<memchr::memmem::Finder<'static>> =
        std::sync::OnceLock::new();
    let finder = DIRECTIVE.get_or_init(|| memchr::memmem::Finder::new("restage:"));
    if finder.find(text.as_bytes()).is_none() {
        return list;
    }
    let items = doc.items();
    for (k, item) in items.iter().enumerate() {
        if item.kind != ItemKind::Trivia {
            continue;
        }
        let lines: Vec<&str> = text[item.range.clone()].split_inclusive('\n').collect();
        // Only the last lines of a comment block directly above an instruction count: every
        // line after such a comment, up to the instruction, must be a comment too.
        let last_not_comment = lines
            .iter()
            .rposition(|l| !l.trim().trim_start_matches('\u{feff}').starts_with('#'));
        let mut offset = item.range.start;
        for (n, line) in lines.iter().enumerate() {
            let start = offset;
            offset += line.len();
            let body = line.trim_end_matches(['\n', '\r']);
            let Some(directive) = directive(body) else {
                continue;
            };
            let (name, ids) = match directive.split_once('=') {
                Some((n, ids)) => (n.trim(), parse_ids(ids)),
                None => (directive, Vec::new()),
            };
            let hash = start + body.find('#').unwrap_or(0);
            let span = hash..start + body.trim_end().len();
            let (scope, unknown) = match name {
                "ignore-file" => (Scope::File, None),
                "ignore" if !ids.is_empty() => {
                    let trailing_comments_only = last_not_comment.is_none_or(|j| j < n);
                    let next = items.get(k + 1).and_then(|i| match i.kind {
                        ItemKind::Instruction(ix) => Some(ix),
                        ItemKind::Trivia => None,
                    });
                    match next {
                        Some(ix) if trailing_comments_only => {
                            let ins = &doc.instructions()[ix];
                            let stage = ins.stage.map(|s| &doc.stages()[s]);
                            let range = match stage {
                                Some(stage) if ins.kind == Kind::From => {
                                    let last = &doc.instructions()[stage.instructions.end - 1];
                                    ins.extent.start..last.extent.end
                                }
                                _ => ins.extent.clone(),
                            };
                            (Scope::Range(range), None)
                        }
                        _ => (Scope::Nothing, None),
                    }
                }
                _ => (Scope::Nothing, Some(directive.to_string())),
            };
            list.push(Suppression {
                text: text[span.clone()].to_string(),
                span,
                ids,
                scope,
                unknown,
            });
        }
    }
    list
}

/// A warning about a suppression comment, at the comment's span in the original text.
fn warning(original: &LineIndex, s: &Suppression, message: String) -> Warning {
    let (line, column) = original.line_col(s.span.start);
    let (end_line, end_column) = original.line_col(s.span.end);
    Warning {
        line,
        column,
        end_line,
        end_column,
        message,
    }
}
fn parse_ids(s: &str) -> Vec<String> {
    s.split(',')
        .map(|x| x.trim().to_string())
        .filter(|x| !x.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::sync::atomic::{AtomicUsize, Ordering};

    static SUGGESTER_RUNS: AtomicUsize = AtomicUsize::new(0);

    /// Appends `RUN b` once.
    fn appender(doc: &Document, _: &Context) -> Vec<Change> {
        if doc.text().contains("RUN b") {
            return Vec::new();
        }
        let end = doc.text().len();
        vec![
            Change::new("appender", Applicability::Safe, 0, "append", "test")
                .with_edits(vec![Edit::insert(end, "RUN b\n")]),
        ]
    }

    /// Suggests, never edits; counts its runs.
    fn suggester(_: &Document, _: &Context) -> Vec<Change> {
        SUGGESTER_RUNS.fetch_add(1, Ordering::SeqCst);
        vec![Change::new(
            "suggester",
            Applicability::DisplayOnly,
            0,
            "suggest",
            "test",
        )]
    }

    #[test]
    fn a_transform_is_not_run_again_on_a_document_it_left_unchanged() {
        let transform = |id, run| Transform {
            id,
            summary: "",
            confidence: "",
            doc: "",
            run,
            final_stage_only: false,
        };
        let appender = transform(
            "appender",
            appender as fn(&Document, &Context) -> Vec<Change>,
        );
        let suggester = transform("suggester", suggester);
        let knowledge = crate::knowledge::Knowledge::builtin().expect("knowledge");
        let build = crate::context::BuildContext::default();
        let ctx = Context {
            knowledge: &knowledge,
            options: crate::transforms::TransformOptions::default(),
            build: &build,
        };
        let outcome = run(
            "FROM a\n",
            &ctx,
            &[&appender, &suggester],
            Options {
                unsafe_fixes: false,
                attribute: true,
            },
        )
        .expect("runs");
        assert_eq!(outcome.text, "FROM a\nRUN b\n");
        // Pass 1: the appender changes the file, the suggester runs on the result. Pass 2: the
        // appender changes nothing, so the document is the one the suggester already saw: it is
        // not run again, and its suggestion is reported once.
        assert_eq!(SUGGESTER_RUNS.load(Ordering::SeqCst), 1);
        let titles: Vec<&str> = outcome
            .suggestions
            .iter()
            .map(|n| n.title.as_str())
            .collect();
        assert_eq!(titles, ["suggest"]);
    }

    #[test]
    fn moved_and_copied_comments_keep_their_identity() {
        let text = "FROM a\n# restage: ignore=x\nRUN a\n# restage: ignore=y\nCMD b\n";
        let original = syntax::parse(text).unwrap();
        let suppressions = Suppressions::of(&original);
        assert_eq!(suppressions.list.len(), 2);
        // The RUN moves below the CMD with its comment, and a copy of the CMD's comment is
        // written above a new RUN.
        let edits = vec![
            Edit::delete(7..33),
            Edit::insert(
                59,
                "# restage: ignore=x\nRUN a\n# restage: ignore=y\nRUN c\n",
            ),
        ];
        let new_text = edit::apply(text, &edits).unwrap();
        let mut composed = Composed::new(text.len());
        composed.apply(text, &edits, &[]);
        let doc = syntax::parse(&new_text).unwrap();
        let current = suppressions.identify(&doc, &composed);
        let ids: Vec<(String, Option<usize>)> = current
            .list
            .iter()
            .map(|(s, id)| (s.text.clone(), *id))
            .collect();
        assert_eq!(
            ids,
            [
                ("# restage: ignore=y".to_string(), Some(1)),
                ("# restage: ignore=x".to_string(), Some(0)),
                ("# restage: ignore=y".to_string(), Some(1)),
            ]
        );
        // Warnings stay at the original comment: line 2, columns 1 to 20.
        let w = warning(original.line_index(), &suppressions.list[0], String::new());
        assert_eq!((w.line, w.column, w.end_line, w.end_column), (2, 1, 2, 20));
    }
}
