//! `exec-form`: the final stage's shell-form `CMD`/`ENTRYPOINT` becomes JSON exec form, so the
//! app runs as PID 1 and receives SIGTERM. Only plain words qualify (no variables, quotes, globs,
//! lists, pipes, redirects, escapes or `~`), and never an ENTRYPOINT next to a CMD. A shell-form
//! command left as it is gets a note (a suggestion with no edit) that says why.

use super::Context;
use crate::edit::{Applicability, Change, Edit};
use crate::shell::{is_assignment, is_plain_words};
use crate::syntax::{Document, Form, Instruction, Kind};

const ID: &str = "exec-form";

/// What shell syntax `text` uses, for the note, when it is not plain words.
fn shell_syntax(text: &str) -> Option<&'static str> {
    if is_plain_words(text) {
        return None;
    }
    let c = text
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || " \t-_./:=,@+%".contains(*c)))?;
    Some(match c {
        '$' => "a variable or substitution (`$`)",
        '\'' | '"' => "quotes",
        '`' => "a command substitution (a backquote)",
        '*' | '?' | '[' | ']' => "a glob",
        '&' | ';' | '|' => "a list or a pipe",
        '<' | '>' => "a redirect",
        '\\' => "an escape",
        '~' => "`~`",
        '#' => "a comment",
        '(' | ')' | '{' | '}' => "a subshell or a group",
        '!' => "`!`",
        _ => "characters outside plain words",
    })
}

/// Shell builtins and keywords that are not programs: exec form cannot run them.
const BUILTINS: &[&str] = &[
    ".", ":", "alias", "bg", "break", "builtin", "cd", "command", "continue", "declare", "eval",
    "exit", "export", "fg", "getopts", "hash", "jobs", "let", "local", "read", "readonly",
    "return", "set", "shift", "source", "times", "trap", "type", "typeset", "ulimit", "umask",
    "unalias", "unset", "wait", "if", "for", "while", "until", "case", "function", "time",
];

pub(super) fn run(doc: &Document, ctx: &Context) -> Vec<Change> {
    let stage = doc.final_stage();
    let body = &doc.stage_instructions(stage)[1..];
    let last = |kind: Kind| body.iter().rev().find(|i| i.kind == kind);
    let (cmd, entrypoint) = (last(Kind::Cmd), last(Kind::Entrypoint));
    if let Some(shell) = body.iter().rev().find(|i| i.kind == Kind::Shell) {
        let line = super::analysis::place_at(doc, shell.extent.start);
        return [entrypoint, cmd]
            .into_iter()
            .flatten()
            .filter(|i| i.is_shell_form())
            .map(|i| {
                keep(i,
                    format!(
                        "The stage sets SHELL at {line}, so the shell form runs under that shell; exec form would bypass it"
                    ),
                )
            })
            .collect();
    }
    // `ENTRYPOINT []` resets the entrypoint: CMD alone starts the container.
    let resets_entrypoint = entrypoint.is_some_and(Instruction::is_empty_exec);
    let entrypoint = entrypoint.filter(|e| !e.is_empty_exec());
    let mut changes = Vec::new();
    if let Some(ep) = entrypoint {
        if cmd.is_none() {
            changes.extend(convert(doc, ep));
        } else if ep.is_shell_form() {
            changes.push(keep(ep,
                "The stage also sets CMD: a shell-form ENTRYPOINT ignores it, an exec-form one would receive it as arguments, so the container would start differently".to_string(),
            ));
        }
    }
    if let Some(cmd) = cmd {
        if let Some(ep) = entrypoint {
            if cmd.is_shell_form() {
                changes.push(keep(cmd,
                    if ep.is_shell_form() {
                        "The stage's ENTRYPOINT is in shell form, which ignores CMD: this CMD has no effect in either form".to_string()
                    } else {
                        "The stage sets an ENTRYPOINT, which receives CMD as its arguments; exec form would change those arguments".to_string()
                    },
                ));
            }
        } else if !resets_entrypoint && let Some(from) = inherited_entrypoint(doc, stage.index) {
            if cmd.is_shell_form() {
                let whose = if from.owner == from.parent {
                    format!("stage `{}`, whose ENTRYPOINT", from.parent)
                } else {
                    format!(
                        "stage `{}`, which inherits the ENTRYPOINT of stage `{}`: that ENTRYPOINT",
                        from.parent, from.owner
                    )
                };
                changes.push(keep(cmd,
                    if from.shell_form {
                        format!(
                            "The stage is built FROM {whose} is in shell form, which ignores CMD: this CMD has no effect in either form"
                        )
                    } else {
                        format!(
                            "The stage is built FROM {whose} receives this CMD as its arguments; exec form would change those arguments"
                        )
                    },
                ));
            }
        } else if cmd.is_shell_form()
            && !resets_entrypoint
            && let Some(image) = entrypoint_script_image(doc, ctx, stage.index)
        {
            changes.push(keep(cmd,
                format!(
                    "`{image}` starts through its own ENTRYPOINT script, which receives this CMD as its arguments (now `/bin/sh -c ...`) and treats its server's command specially (setting up data and dropping to the service user, for example); exec form would change what that script sees and runs"
                ),
            ));
        } else {
            changes.extend(convert(doc, cmd));
        }
    }
    changes
}

/// The registry image a stage starts from (through the file's own stages), with global ARG
/// defaults substituted, when restage knows it starts through an ENTRYPOINT script of its own
/// that reads the command (`entrypoint_reads_command` in users.toml: databases, brokers, some
/// servers).
fn entrypoint_script_image(doc: &Document, ctx: &Context, stage: usize) -> Option<String> {
    let mut current = stage;
    let mut seen = 0;
    while let Some(parent) = doc.stage_named(&doc.stages()[current].image.value) {
        if parent.index >= current || seen > doc.stages().len() {
            return None;
        }
        current = parent.index;
        seen += 1;
    }
    let written = doc.stages()[current].image.value.as_str();
    let reference = if written.contains('$') {
        let lookup = |name: &str| super::analysis::global_arg(doc, name).and_then(|d| d.value);
        super::analysis::expand_vars(written, &lookup)?
    } else {
        written.to_string()
    };
    let image = crate::knowledge::ImageRef::parse(&reference)?;
    ctx.knowledge
        .entrypoint_reads_command(&image)
        .then_some(reference)
}

/// A shell-form command restage leaves as it is, and why: a note with no edit.
fn keep(ins: &Instruction, reason: String) -> Change {
    Change::new(
        ID,
        Applicability::DisplayOnly,
        ins.extent.start,
        format!("Keep {} in shell form", ins.kind.keyword()),
        reason,
    )
}

/// The ENTRYPOINT a stage inherits from the earlier stages of the file it is built FROM
/// (directly or through others): a shell-form CMD is then its argument list (or, under a
/// shell-form ENTRYPOINT, ignored), and exec form would change that list.
struct Inherited {
    /// The stage named in the FROM.
    parent: String,
    /// The stage that sets the ENTRYPOINT (`parent` itself, or one it is built FROM).
    owner: String,
    shell_form: bool,
}

fn inherited_entrypoint(doc: &Document, stage: usize) -> Option<Inherited> {
    let parent_name = doc.stages()[stage].image.value.clone();
    let mut current = stage;
    let mut seen = 0;
    while let Some(parent) = doc.stage_named(&doc.stages()[current].image.value) {
        if parent.index >= current || seen > doc.stages().len() {
            return None;
        }
        if let Some(ep) = doc
            .stage_instructions(parent)
            .iter()
            .rev()
            .find(|i| i.kind == Kind::Entrypoint)
        {
            return (!ep.is_empty_exec()).then(|| Inherited {
                parent: parent_name,
                owner: doc.stages()[current].image.value.clone(),
                shell_form: ep.is_shell_form(),
            });
        }
        current = parent.index;
        seen += 1;
    }
    None
}

/// The change for a shell-form command: exec form when its words are plain, otherwise a note
/// saying why it stays. `None` when it is not in shell form.
fn convert(doc: &Document, ins: &Instruction) -> Option<Change> {
    let Form::Shell { span } = &ins.form else {
        return None;
    };
    let raw = doc.slice(span);
    if raw.contains('\n') {
        return Some(keep(
            ins,
            "The command is continued over several lines; restage rewrites only a command on one line".to_string(),
        ));
    }
    if let Some(what) = shell_syntax(raw) {
        return Some(keep(
            ins,
            format!(
                "`{}` uses {what}, which only a shell interprets; exec form would pass it to the program as is",
                raw.trim()
            ),
        ));
    }
    let mut words: Vec<&str> = raw.split_whitespace().collect();
    let exec_prefix = words.first() == Some(&"exec") && words.len() > 1;
    if exec_prefix {
        words.remove(0);
    }
    let Some(&program) = words.first() else {
        return Some(keep(ins, "The command is empty".to_string()));
    };
    if program == "exec" || BUILTINS.contains(&program) {
        return Some(keep(
            ins,
            format!(
                "`{program}` is a shell builtin or keyword, not a program: exec form cannot run it"
            ),
        ));
    }
    if is_assignment(program) {
        return Some(keep(
            ins,
            format!("`{program}` sets a variable for the command, which only a shell does"),
        ));
    }
    let lead = raw.len() - raw.trim_start().len();
    let start = span.start + lead;
    let end = start + raw.trim().len();
    // The JSON array, each word written by serde_json straight into one buffer.
    let mut json = Vec::with_capacity(raw.len() + 2 + 4 * words.len());
    json.push(b'[');
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            json.extend_from_slice(b", ");
        }
        serde_json::to_writer(&mut json, w).expect("a string serializes");
    }
    json.push(b']');
    let json = String::from_utf8(json).expect("serde_json writes UTF-8");
    let keyword = ins.kind.keyword();
    // Title and reason pushed piece by piece: `format!` costs several times the text it makes.
    let mut title = String::with_capacity(keyword.len() + 19);
    title.push_str("Write ");
    title.push_str(keyword);
    title.push_str(" in exec form");
    const TAIL: &str = "` under /bin/sh as PID 1, which does not forward SIGTERM; exec form starts it directly with the same words";
    let command = raw.trim();
    let mut reason = String::with_capacity(command.len() + 24 + TAIL.len());
    if exec_prefix {
        // `exec` already hands PID 1 to the program: the shell only starts it.
        reason.push_str("Shell form starts /bin/sh, whose `exec` then replaces it with `");
        reason.push_str(&words.join(" "));
        reason
            .push_str("`; exec form starts the program directly, without the shell or the `exec`");
    } else {
        reason.push_str("Shell form runs `");
        reason.push_str(command);
        reason.push_str(TAIL);
    }
    Some(
        Change::new(ID, Applicability::Safe, ins.extent.start, title, reason)
            .with_edits(vec![Edit::replace(start..end, json)]),
    )
}
