//! `exec-form`: the final stage's shell-form `CMD`/`ENTRYPOINT` becomes JSON exec form, so the
//! app runs as PID 1 and receives SIGTERM. Only plain words qualify (no variables, quotes, globs,
//! lists, pipes, redirects, escapes or `~`), and never an ENTRYPOINT next to a CMD. A shell-form
//! command left as it is gets a note (a suggestion with no edit) that says why. A command that
//! is a JSON array gone wrong (`CMD ['npm', 'start']`, shell form to Docker) gets the valid array
//! as an unsafe fix, or a note when the words meant are not clear.

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
    // A list or a pipe says the most: several commands, or a program fed by another.
    if text.contains(['&', ';', '|']) {
        return Some("a list or a pipe");
    }
    if text.split_whitespace().any(|w| w == "[" || w == "[[") {
        return Some("a test (`[ ... ]`)");
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
            changes.push(malformed(doc, ep, Runs::Alone).unwrap_or_else(|| keep(ep,
                "The stage also sets CMD: a shell-form ENTRYPOINT ignores it, an exec-form one would receive it as arguments, so the container would start differently".to_string(),
            )));
        }
    }
    if let Some(cmd) = cmd {
        if let Some(ep) = entrypoint {
            if cmd.is_shell_form() {
                changes.push(if ep.is_shell_form() {
                    keep(cmd, "The stage's ENTRYPOINT is in shell form, which ignores CMD: this CMD has no effect in either form".to_string())
                } else {
                    malformed(doc, cmd, Runs::ByEntrypoint).unwrap_or_else(|| keep(cmd,
                        "The stage sets an ENTRYPOINT, which receives CMD as its arguments; exec form would change those arguments".to_string()))
                });
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
                changes.push(if from.shell_form {
                    keep(cmd, format!(
                        "The stage is built FROM {whose} is in shell form, which ignores CMD: this CMD has no effect in either form"
                    ))
                } else {
                    malformed(doc, cmd, Runs::ByEntrypoint).unwrap_or_else(|| keep(cmd, format!(
                        "The stage is built FROM {whose} receives this CMD as its arguments; exec form would change those arguments"
                    )))
                });
            }
        } else if cmd.is_shell_form()
            && !resets_entrypoint
            && let Some(image) = entrypoint_script_image(doc, ctx, stage.index)
        {
            changes.push(malformed(doc, cmd, Runs::ByImageScript).unwrap_or_else(|| keep(cmd,
                format!(
                    "`{image}` starts through its own ENTRYPOINT script, which receives this CMD as its arguments (now `/bin/sh -c ...`) and treats its server's command specially (setting up data and dropping to the service user, for example); exec form would change what that script sees and runs"
                ),
            )));
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
    let root = super::analysis::root_stage(doc, stage)?;
    let (reference, _) = super::analysis::expand_image(doc, &doc.stages()[root].image.value)?;
    let image = crate::knowledge::ImageRef::parse(&reference)?;
    ctx.knowledge
        .entrypoint_reads_command(&image)
        .then_some(reference)
}

/// What starts a command, for the note on one that is not valid JSON.
#[derive(Clone, Copy)]
enum Runs {
    /// The command itself (a CMD with no ENTRYPOINT, or an ENTRYPOINT).
    Alone,
    /// An exec-form ENTRYPOINT of the stage or of a stage it is built FROM.
    ByEntrypoint,
    /// The image's own ENTRYPOINT script (`entrypoint_reads_command`).
    ByImageScript,
}

/// The change for a shell-form command that is a JSON array gone wrong, if `ins` is one.
fn malformed(doc: &Document, ins: &Instruction, runs: Runs) -> Option<Change> {
    let Form::Shell { span } = &ins.form else {
        return None;
    };
    let raw = doc.slice(span);
    Malformed::of(raw).map(|bad| bad.change(ins, span.start, raw, runs))
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
    if let Some(bad) = Malformed::of(raw) {
        return Some(bad.change(ins, span.start, raw, Runs::Alone));
    }
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

/// A command written as a JSON array that is not valid JSON (`CMD ['npm', 'start']`). Docker
/// then reads it as shell form and runs the text under /bin/sh, where it names no program: the
/// container cannot start. When the words it meant are clear (strings in single or double
/// quotes, with a trailing or a missing comma), the valid array is offered as an unsafe fix: it
/// makes a container start that did not, which is what was meant but not what the image does.
struct Malformed {
    /// What makes it invalid, for the reason.
    problem: &'static str,
    /// The words meant, when they are clear.
    words: Option<Vec<String>>,
    /// A `#` comment follows the array on its line.
    comment: bool,
}

impl Malformed {
    fn of(raw: &str) -> Option<Malformed> {
        // A command continued over lines gets the note for continuations.
        if raw.contains('\n') {
            return None;
        }
        let mut rest = raw.trim().strip_prefix('[')?;
        let mut words = Vec::new();
        let mut problem: Option<&'static str> = None;
        let mut clear = true;
        // After a word, a comma is expected before the next one.
        let mut after_word = false;
        let mut commas = 0;
        let mut unquoted = false;
        let tail = loop {
            rest = rest.trim_start();
            // No closing bracket: not an array.
            let c = rest.chars().next()?;
            match c {
                ']' => {
                    if !after_word && commas > 0 {
                        problem.get_or_insert("it has a comma after the last string");
                    }
                    break &rest[1..];
                }
                ',' => {
                    if !after_word {
                        // `[, "a"]` or `["a",, "b"]`: nothing says what was meant.
                        problem.get_or_insert("it has an extra comma");
                        clear = false;
                    }
                    commas += 1;
                    after_word = false;
                    rest = &rest[1..];
                }
                '"' | '\'' | '\u{201c}' | '\u{2018}' => {
                    if after_word {
                        problem.get_or_insert("it has no comma between two strings");
                    }
                    let close = match c {
                        '\u{201c}' => '\u{201d}',
                        '\u{2018}' => '\u{2019}',
                        _ => c,
                    };
                    let Some(end) = closing(rest, c, close) else {
                        problem.get_or_insert("it has a string that is not closed");
                        clear = false;
                        break "";
                    };
                    let quoted = &rest[..end + close.len_utf8()];
                    let content = &quoted[c.len_utf8()..end];
                    match c {
                        '"' => match serde_json::from_str::<String>(quoted) {
                            Ok(w) => words.push(w),
                            Err(_) => {
                                problem.get_or_insert("it has an escape JSON does not take");
                                clear = false;
                            }
                        },
                        '\'' => {
                            problem.get_or_insert(
                                "it has single quotes where JSON takes double quotes",
                            );
                            // A backslash in single quotes: whether it meant an escape is unclear.
                            clear &= !content.contains('\\');
                            words.push(content.to_string());
                        }
                        _ => {
                            problem.get_or_insert(
                                "it has curly quotes where JSON takes straight double quotes",
                            );
                            clear &= !content.contains('\\');
                            words.push(content.to_string());
                        }
                    }
                    after_word = true;
                    rest = &rest[quoted.len()..];
                }
                _ => {
                    problem.get_or_insert("it has words without quotes");
                    clear = false;
                    unquoted = true;
                    after_word = true;
                    let end = rest
                        .find(|c: char| c == ',' || c == ']' || c.is_whitespace())
                        .unwrap_or(rest.len());
                    rest = &rest[end..];
                }
            }
        };
        // Without commas, bare words in brackets are a shell test (`[ -f /app/x ] && ...`).
        if unquoted && commas == 0 {
            return None;
        }
        let comment = tail.trim_start().starts_with('#');
        match tail.trim() {
            "" => {}
            // `CMD ["app"] # comment`: a comment only at the start of a line.
            t if t.starts_with('#') => {
                problem.get_or_insert(
                    "it has text after the closing bracket; `#` starts a comment only at the start of a line",
                );
                clear = false;
            }
            // `[ "$a" = "b" ] && ...`: a shell test, not an array.
            _ => return None,
        }
        // Valid JSON that the parser read as shell form for another reason is left alone.
        let problem = problem?;
        Some(Malformed {
            problem,
            words: (clear && !words.is_empty()).then_some(words),
            comment,
        })
    }

    /// The change: the valid array as an unsafe fix when the words are clear, otherwise a note.
    fn change(self, ins: &Instruction, span_start: usize, raw: &str, runs: Runs) -> Change {
        let keyword = ins.kind.keyword();
        let command = raw.trim();
        let mut reason = format!(
            "`{command}` is not valid JSON ({}), so Docker reads it as shell form{}",
            self.problem,
            match runs {
                Runs::Alone =>
                    " and /bin/sh runs the text, which names no program: the container cannot start",
                Runs::ByEntrypoint =>
                    ": the ENTRYPOINT receives `/bin/sh -c` and this text as its arguments, not the words in the brackets",
                Runs::ByImageScript =>
                    ": the image's ENTRYPOINT script receives `/bin/sh -c` and this text as its arguments, not the words in the brackets",
            }
        );
        let json = self.words.as_ref().map(|words| {
            let mut json = String::from("[");
            for (i, w) in words.iter().enumerate() {
                if i > 0 {
                    json.push_str(", ");
                }
                json.push_str(&serde_json::to_string(w).expect("a string serializes"));
            }
            json.push(']');
            json
        });
        match json {
            Some(json) => {
                reason.push_str(&format!(
                    "; `{json}` is the exec form it was meant to be. Unsafe: the container then runs those words, which it does not today"
                ));
                let lead = raw.len() - raw.trim_start().len();
                let start = span_start + lead;
                Change::new(
                    ID,
                    Applicability::Unsafe,
                    ins.extent.start,
                    format!("Write {keyword} as a valid JSON array"),
                    reason,
                )
                .with_edits(vec![Edit::replace(start..start + command.len(), json)])
            }
            None => {
                reason.push_str(if self.comment {
                    "; moving the comment to a line of its own above the instruction makes it valid (restage does not move comments)"
                } else {
                    "; the words it meant are not clear enough for restage to write them"
                });
                Change::new(
                    ID,
                    Applicability::DisplayOnly,
                    ins.extent.start,
                    format!("{keyword} is not valid JSON"),
                    reason,
                )
            }
        }
    }
}

/// The index of the quote `close` that ends the string `open` begins `s` with (`"` takes JSON
/// escapes).
fn closing(s: &str, open: char, close: char) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in s.char_indices().skip(1) {
        if escaped {
            escaped = false;
        } else if c == '\\' && open == '"' {
            escaped = true;
        } else if c == close {
            return Some(i);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::Malformed;

    fn words(raw: &str) -> Option<Vec<String>> {
        Malformed::of(raw).and_then(|m| m.words)
    }

    #[test]
    fn arrays_gone_wrong_are_told_and_mended_when_clear() {
        let w = |xs: &[&str]| Some(xs.iter().map(|x| x.to_string()).collect::<Vec<_>>());
        assert_eq!(words("['npm', 'start']"), w(&["npm", "start"]));
        assert_eq!(
            words(" [\"python\", \"app.py\",] "),
            w(&["python", "app.py"])
        );
        assert_eq!(words("[\"make\" \"test\"]"), w(&["make", "test"]));
        assert_eq!(
            words("[\u{201c}sleep\u{201d}, \u{201c}infinity\u{201d}]"),
            w(&["sleep", "infinity"])
        );
        assert_eq!(words("['say \"hi\"']"), w(&["say \"hi\""]));
        // Told, not mended: unquoted words, extra commas, an escape in single quotes, a comment.
        for raw in [
            "[npm, start]",
            "[\"a\",, \"b\"]",
            "['C:\\app']",
            "[\"app\"] # the server",
            "['unclosed]",
        ] {
            let m = Malformed::of(raw).unwrap_or_else(|| panic!("{raw} is told"));
            assert!(m.words.is_none(), "{raw} is not mended");
        }
        assert!(Malformed::of("[\"app\"] # the server").unwrap().comment);
    }

    #[test]
    fn shell_tests_and_valid_arrays_are_not_arrays_gone_wrong() {
        for raw in [
            "[ -f /app/.env ] && exec node server.js",
            "[ \"$MODE\" = \"prod\" ] && exec app",
            "[ \"$MODE\" = \"prod\" ]",
            "[ -n \"$X\" ]",
            "[\"node\", \"server.js\"]",
            "[]",
            "npm start",
            "['a',\n 'b']",
        ] {
            assert!(Malformed::of(raw).is_none(), "{raw}");
        }
    }
}
