//! `exec-form`: the final stage's shell-form `CMD`/`ENTRYPOINT` becomes JSON exec form, so the
//! app runs as PID 1 and receives SIGTERM. Only plain words qualify (no variables, quotes, globs,
//! lists, pipes, redirects, escapes or `~`), and never an ENTRYPOINT next to a CMD.

use super::Context;
use crate::edit::{Applicability, Change, Edit};
use crate::shell::{is_assignment, is_plain_words};
use crate::syntax::{Document, Form, Instruction, Kind};

const ID: &str = "exec-form";

/// Shell builtins and keywords that are not programs: exec form cannot run them.
const BUILTINS: &[&str] = &[
    ".", ":", "alias", "bg", "break", "builtin", "cd", "command", "continue", "declare", "eval",
    "exit", "export", "fg", "getopts", "hash", "jobs", "let", "local", "read", "readonly",
    "return", "set", "shift", "source", "times", "trap", "type", "typeset", "ulimit", "umask",
    "unalias", "unset", "wait", "if", "for", "while", "until", "case", "function", "time",
];

pub(super) fn run(doc: &Document, _ctx: &Context) -> Vec<Change> {
    let stage = doc.final_stage();
    let body = &doc.stage_instructions(stage)[1..];
    if body.iter().any(|i| i.kind == Kind::Shell) {
        return Vec::new();
    }
    let last = |kind: Kind| body.iter().rev().find(|i| i.kind == kind);
    let (cmd, entrypoint) = (last(Kind::Cmd), last(Kind::Entrypoint));
    // `ENTRYPOINT []` resets the entrypoint: CMD alone starts the container.
    let resets_entrypoint = entrypoint.is_some_and(Instruction::is_empty_exec);
    let entrypoint = entrypoint.filter(|e| !e.is_empty_exec());
    let mut changes = Vec::new();
    if let Some(ep) = entrypoint
        && cmd.is_none()
        && let Some(change) = convert(doc, ep)
    {
        changes.push(change);
    }
    if let Some(cmd) = cmd
        && entrypoint.is_none()
        && (resets_entrypoint || !inherits_entrypoint(doc, stage.index))
        && let Some(change) = convert(doc, cmd)
    {
        changes.push(change);
    }
    changes
}

/// True when the stage is built FROM an earlier stage of the file that sets an ENTRYPOINT:
/// a shell-form CMD is then its argument list, and exec form would change that list.
fn inherits_entrypoint(doc: &Document, stage: usize) -> bool {
    let mut current = stage;
    let mut seen = 0;
    while let Some(parent) = doc.stage_named(&doc.stages()[current].image.value) {
        if parent.index >= current || seen > doc.stages().len() {
            return false;
        }
        if let Some(ep) = doc
            .stage_instructions(parent)
            .iter()
            .rev()
            .find(|i| i.kind == Kind::Entrypoint)
        {
            return !ep.is_empty_exec();
        }
        current = parent.index;
        seen += 1;
    }
    false
}

fn convert(doc: &Document, ins: &Instruction) -> Option<Change> {
    let Form::Shell { span } = &ins.form else {
        return None;
    };
    let raw = doc.slice(span);
    if !is_plain_words(raw) {
        return None;
    }
    let mut words: Vec<&str> = raw.split_whitespace().collect();
    if words.first() == Some(&"exec") && words.len() > 1 {
        words.remove(0);
    }
    let program = *words.first()?;
    if BUILTINS.contains(&program) || program == "exec" || is_assignment(program) {
        return None;
    }
    let lead = raw.len() - raw.trim_start().len();
    let start = span.start + lead;
    let end = start + raw.trim().len();
    let json = format!(
        "[{}]",
        words
            .iter()
            .map(|w| serde_json::to_string(w).expect("a string serializes"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let keyword = ins.kind.keyword();
    Some(
        Change::new(
            ID,
            Applicability::Safe,
            ins.extent.start,
            format!("Write {keyword} in exec form"),
            format!(
                "Shell form runs `{}` under /bin/sh as PID 1, which does not forward SIGTERM; exec form starts it directly with the same words",
                raw.trim()
            ),
        )
        .with_edits(vec![Edit::replace(start..end, json)]),
    )
}
