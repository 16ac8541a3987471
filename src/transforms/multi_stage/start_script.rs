//! The shell script a start command runs (`ENTRYPOINT ["/docker-entrypoint.sh"]`,
//! `CMD ["./start.sh"]`): found in the build context through the COPYs (and `cp`s in RUNs) that
//! put it in the image, read, and checked command by command against what the runtime stage
//! has. The runtime image lacks what only the build image had (curl, netcat, compilers, the
//! devDependencies), so a script that runs anything restage cannot place there keeps the split
//! unsafe, and so does a script restage cannot find or read.

use super::super::Context;
use super::super::analysis;
use super::super::effects;
use super::super::start::is_shell;
use super::recipes::Recipe;
use crate::knowledge::Knowledge;
use crate::syntax::{Document, Kind, Stage};

/// Builtins and base utilities every runtime image with a shell has (Debian's essential
/// packages: coreutils, grep, sed, mawk, findutils; BusyBox on Alpine).
const SHELL_BASICS: &[&str] = &[
    "set", "export", "unset", "echo", "printf", "cd", "true", "false", ":", "test", "[", "exit",
    "trap", "wait", "shift", "umask", "ulimit", "sleep", "exec", "readonly", "local", "return",
    "grep", "egrep", "fgrep", "sed", "awk", "cut", "tr", "head", "tail", "sort", "uniq", "wc",
    "basename", "dirname", "tee", "hostname", "expr", "seq", "date", "env", "id",
];

/// Words that open or close a block of an `if` or a loop, alone or before a command on the
/// same line (`then echo x`).
const BLOCK_WORDS: &[&str] = &["if", "elif", "while", "until", "then", "else", "do", "!"];

/// Why the start command's script is not known to work in the runtime stage; `Ok` when every
/// command of it is one the runtime stage has.
#[allow(clippy::too_many_arguments)]
pub(super) fn check(
    doc: &Document,
    stage: &Stage,
    ctx: &Context,
    inherited: &str,
    script: &str,
    recipe: &dyn Recipe,
    start_programs: &[String],
    binaries: &[String],
) -> Result<(), String> {
    let end = stage.instructions.end;
    let workdir = effects::workdir(doc, stage, end - 1, inherited)
        .ok_or("restage cannot tell the working directory it runs in")?;
    let candidates: Vec<String> = if script.starts_with('/') {
        vec![analysis::normalize(script)]
    } else if script.contains('/') {
        vec![analysis::join(&workdir, script)]
    } else {
        // By name (`docker-entrypoint.sh`): an argument of `sh` is in the working directory, a
        // program is looked for on the PATH.
        std::iter::once(analysis::join(&workdir, script))
            .chain(
                ctx.knowledge
                    .runtime_path()
                    .iter()
                    .map(|dir| analysis::join(dir, script)),
            )
            .collect()
    };
    let source = candidates
        .iter()
        .find_map(|path| context_source(doc, stage, ctx, inherited, end, path))
        .ok_or("restage cannot trace it to a file of the build context")??;
    let text = ctx
        .build
        .read_text(&source)
        .map_err(|why| format!("restage cannot read it: {why}"))?;
    let commands = commands(&text).map_err(|why| format!("{source} uses {why}"))?;
    for words in &commands {
        let here = Here {
            workdir: &workdir,
            start_programs,
            binaries,
        };
        command_ok(ctx, recipe, words, &here).map_err(|why| format!("{source} runs {why}"))?;
    }
    Ok(())
}

/// The context-relative path of the file at the absolute `path` before instruction `before`:
/// through the latest COPY/ADD from the context that put it there, or a `cp`/`mv` in a RUN
/// whose source is traced in turn. `None` when nothing before put a file there; `Some(Err)`
/// when a RUN changes it in a way restage does not follow.
pub(super) fn context_source(
    doc: &Document,
    stage: &Stage,
    ctx: &Context,
    inherited: &str,
    before: usize,
    path: &str,
) -> Option<Result<String, String>> {
    let instructions = doc.instructions();
    let base = |p: &str| crate::shell::base_name(p).to_string();
    for ix in (stage.from + 1..before).rev() {
        let ins = &instructions[ix];
        match ins.kind {
            Kind::Copy | Kind::Add if analysis::copies_from_context(ins) => {
                let Some(dest) = effects::destination(doc, stage, ix, inherited) else {
                    return Some(Err(format!(
                        "restage cannot tell where the COPY at {} puts its files",
                        analysis::place_of(doc, ix)
                    )));
                };
                for s in analysis::sources(ins).iter().rev() {
                    if s.value.contains(['*', '?', '[', '$']) {
                        if analysis::is_within(path, &dest) {
                            return Some(Err(format!(
                                "the COPY at {} may put it there through a pattern restage does not expand",
                                analysis::place_of(doc, ix)
                            )));
                        }
                        continue;
                    }
                    let Some(src) = crate::context::normalize_rel(&s.value) else {
                        continue;
                    };
                    if !src.is_empty()
                        && (path == dest || path == analysis::join(&dest, &base(&src)))
                    {
                        return Some(Ok(src));
                    }
                    let directory = src.is_empty() || ctx.build.is_dir(&src);
                    if directory && path != dest && analysis::is_within(path, &dest) {
                        let rest = path[dest.len()..].trim_start_matches('/');
                        let joined = if src.is_empty() {
                            rest.to_string()
                        } else {
                            format!("{src}/{rest}")
                        };
                        return crate::context::normalize_rel(&joined).map(Ok);
                    }
                }
            }
            Kind::Copy | Kind::Add => {
                let dest = effects::destination(doc, stage, ix, inherited);
                if dest.is_none_or(|dest| path == dest || analysis::is_within(path, &dest)) {
                    return Some(Err(format!(
                        "the COPY at {} brings it from another stage or a URL",
                        analysis::place_of(doc, ix)
                    )));
                }
            }
            Kind::Run => {
                let Some(cmds) = analysis::commands(doc, ins) else {
                    continue;
                };
                let mut cwd = effects::workdir(doc, stage, ix, inherited);
                let mut found = None;
                for cmd in cmds.iter() {
                    let words = cmd.program_words();
                    match words {
                        [cd, dir] if cd == "cd" && !cmd.expands => {
                            cwd = cwd.map(|c| analysis::join(&c, dir));
                        }
                        [program, args @ ..] if program == "cp" || program == "mv" => {
                            let plain: Vec<&String> =
                                args.iter().filter(|a| !a.starts_with('-')).collect();
                            if let (Some(wd), [from, to]) = (&cwd, plain.as_slice()) {
                                let to = analysis::join(wd, to);
                                if to == path || analysis::join(&to, &base(from)) == path {
                                    found = Some(analysis::join(wd, from));
                                }
                            }
                        }
                        _ => {}
                    }
                }
                if let Some(from) = found {
                    return context_source(doc, stage, ctx, inherited, ix, &from);
                }
                // A RUN that names the script and is not a chmod may rewrite it.
                let name = base(path);
                let edits = cmds.iter().any(|c| {
                    let words = c.program_words();
                    !matches!(words.first().map(String::as_str), Some("chmod" | "chown"))
                        && words.iter().skip(1).any(|w| base(w) == name)
                });
                if edits {
                    return Some(Err(format!(
                        "the RUN at {} may change it after it is copied",
                        analysis::place_of(doc, ix)
                    )));
                }
            }
            _ => {}
        }
    }
    None
}

/// The words of each simple command of a script, line by line (continuations joined,
/// comments and the `#!` line skipped); `Err` on syntax the shell reader does not model
/// (control flow, substitutions, redirects) or an interpreter that is not a shell.
fn commands(text: &str) -> Result<Vec<Vec<String>>, String> {
    let mut out = Vec::new();
    let mut pending = String::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if n == 0 && line.starts_with("#!") {
            let interpreter: Vec<&str> = line[2..].split_whitespace().collect();
            let shell = match interpreter.as_slice() {
                [env, shell, ..] if env.ends_with("/env") => *shell,
                [shell, ..] => crate::shell::base_name(shell),
                [] => "sh",
            };
            if !is_shell(shell) {
                return Err(format!("`{}`, not a shell", line.trim()));
            }
            continue;
        }
        if let Some(head) = line.strip_suffix('\\') {
            pending.push_str(head);
            pending.push(' ');
            continue;
        }
        pending.push_str(line);
        let full = std::mem::take(&mut pending);
        let trimmed = full.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let Some(trimmed) = plain_line(trimmed) else {
            continue;
        };
        let cmds = crate::shell::split(&trimmed, 0, '\\').ok_or_else(|| {
            format!(
                "shell syntax restage does not read at line {} (control flow, a substitution or a redirect)",
                n + 1
            )
        })?;
        out.extend(cmds.into_iter().map(|c| c.words));
    }
    Ok(out)
}

/// Where the script runs: its working directory, the programs the ENTRYPOINT and CMD name, and
/// the binaries the build wrote.
struct Here<'a> {
    workdir: &'a str,
    start_programs: &'a [String],
    binaries: &'a [String],
}

/// The commands of one script line with the shell structure around them taken off: the
/// keywords of `if`/`while` blocks (`if [ -z "$X" ]; then` reads as `[ -z "$X" ]`), and the
/// redirects that only silence output (`> /dev/null`, `2>&1`). `None` for a line with no
/// command (`fi`, `done`, `else`); a `for` header or a `case` is left whole for the shell reader,
/// which does not read it.
fn plain_line(line: &str) -> Option<String> {
    let mut rest = line.trim();
    for end in ["; then", ";then", "; do", ";do"] {
        if let Some(head) = rest.strip_suffix(end) {
            rest = head.trim_end();
        }
    }
    loop {
        let first = rest.split_whitespace().next()?;
        if BLOCK_WORDS.contains(&first) {
            rest = rest[first.len()..].trim_start();
        } else if matches!(first, "fi" | "done" | "fi;" | "done;") && rest.len() == first.len() {
            return None;
        } else {
            break;
        }
    }
    let words: Vec<&str> = rest
        .split(' ')
        .filter(|w| {
            !matches!(
                *w,
                ">/dev/null" | "2>/dev/null" | "&>/dev/null" | "2>&1" | ">&2" | "1>&2"
            )
        })
        .collect();
    let mut kept: Vec<&str> = Vec::new();
    let mut skip_next = false;
    for w in words {
        if skip_next {
            skip_next = false;
            if w == "/dev/null" {
                continue;
            }
            kept.push(">");
        }
        if matches!(w, ">" | "2>" | "1>") {
            skip_next = true;
            continue;
        }
        kept.push(w);
    }
    let text = kept.join(" ");
    (!text.trim().is_empty()).then_some(text)
}

/// Whether one command of the start script runs something the runtime stage has.
fn command_ok(
    ctx: &Context,
    recipe: &dyn Recipe,
    words: &[String],
    here: &Here,
) -> Result<(), String> {
    let knowledge: &Knowledge = ctx.knowledge;
    let mut rest: &[String] = words;
    // Assignments, then `exec` and `env` with its assignments, before the program.
    loop {
        match rest.first().map(String::as_str) {
            Some(w) if crate::shell::is_assignment(w) => rest = &rest[1..],
            Some("exec" | "env") if rest.len() > 1 => rest = &rest[1..],
            _ => break,
        }
    }
    let Some(program) = rest.first() else {
        return Ok(());
    };
    // `exec "$@"`: the CMD, which restage reads as the start command.
    if matches!(program.as_str(), "$@" | "$*") {
        return Ok(());
    }
    if program.contains('$') {
        return Err(format!("`{program}`, a program named through a variable"));
    }
    let base = crate::shell::base_name(program);
    if matches!(base, "." | "source" | "eval") {
        return Err(format!(
            "`{}`, which runs code restage does not read",
            rest.join(" ")
        ));
    }
    if SHELL_BASICS.contains(&base)
        || knowledge.is_runtime_neutral(base)
        || knowledge.is_runtime_prep(base)
        || here
            .start_programs
            .iter()
            .any(|p| p == program && !is_script(p) && !is_shell(p))
        || here
            .binaries
            .iter()
            .any(|b| *b == analysis::join(here.workdir, program))
    {
        return Ok(());
    }
    match recipe.runs_at_start(ctx, rest) {
        Some(verdict) => verdict,
        None => Err(format!(
            "`{program}`, which restage cannot tell the runtime image has"
        )),
    }
}

fn is_script(program: &str) -> bool {
    let lower = program.to_ascii_lowercase();
    lower.ends_with(".sh") || lower.ends_with(".bash")
}

#[cfg(test)]
mod tests {
    use super::commands;

    #[test]
    fn scripts_are_read_line_by_line() {
        let text = "#!/bin/sh\n# set up\nset -e\nexport GREETING=\"${GREETING:-ahoy}\"\nnpx prisma migrate deploy \\\n  --schema db.prisma\nexec \"$@\"\n";
        let cmds = commands(text).expect("readable");
        let programs: Vec<&str> = cmds.iter().map(|c| c[0].as_str()).collect();
        assert_eq!(programs, ["set", "export", "npx", "exec"]);
        assert_eq!(
            cmds[2],
            [
                "npx",
                "prisma",
                "migrate",
                "deploy",
                "--schema",
                "db.prisma"
            ]
        );
    }

    #[test]
    fn if_blocks_and_silenced_output_are_read() {
        let text = "#!/bin/sh\nif [ -z \"$HOST\" ]\nthen\n    echo \"HOST not set\"\n    exit 1\nfi\nif [ \"$SILENT\" -eq 1 ]; then\n    locust -f load.py > /dev/null 2>&1\nelse\n    locust -f load.py\nfi\n";
        let cmds = commands(text).expect("readable");
        let programs: Vec<&str> = cmds.iter().map(|c| c[0].as_str()).collect();
        assert_eq!(programs, ["[", "echo", "exit", "[", "locust", "locust"]);
        assert_eq!(cmds[4], ["locust", "-f", "load.py"]);
    }

    #[test]
    fn a_shell_or_xargs_in_the_script_is_not_vouched_for() {
        use super::{Here, command_ok};
        let knowledge = crate::knowledge::Knowledge::builtin().expect("built-in knowledge");
        let build = crate::context::BuildContext::default();
        let ctx = crate::transforms::Context {
            knowledge: &knowledge,
            options: Default::default(),
            build: &build,
        };
        let recipe = super::super::recipes::for_ecosystem("node").expect("node recipe");
        // `CMD ["sh", "start.sh"]`: `sh` starts the container, yet `sh other.sh` in the script
        // runs a file restage has not read.
        let here = Here {
            workdir: "/app",
            start_programs: &["sh".to_string()],
            binaries: &[],
        };
        let words = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
        assert!(command_ok(&ctx, recipe, &words("sh other.sh"), &here).is_err());
        assert!(command_ok(&ctx, recipe, &words("xargs curl -fsS"), &here).is_err());
        assert!(command_ok(&ctx, recipe, &words("node server.js"), &here).is_ok());
    }

    #[test]
    fn control_flow_and_other_interpreters_are_not_read() {
        // One-line blocks, loops over words and case are left to the shell reader, which
        // gives up on them; so does a redirect into a file.
        assert!(commands("if [ -n \"$X\" ]; then echo x; fi\n").is_err());
        assert!(commands("for f in *.sql; do\n  psql -f \"$f\"\ndone\n").is_err());
        assert!(commands("case \"$1\" in\n  web) exec node web.js ;;\nesac\n").is_err());
        assert!(commands("echo ready > /tmp/state\n").is_err());
        assert!(commands("#!/usr/bin/env python3\nprint(1)\n").is_err());
        assert!(commands("#!/usr/bin/env bash\nexec node server.js\n").is_ok());
    }
}
