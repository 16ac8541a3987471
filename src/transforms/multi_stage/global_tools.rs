//! Node's global packages (`npm install -g X`, `yarn global add X`, `pnpm add -g X`) reach a
//! running app only through their commands (bin links on the PATH) or through `NODE_PATH`:
//! `require()` does not look in the global folder. So when the container's start command, read
//! through `npm start` / `npm run X` / `yarn X` and the package.json scripts they run, starts
//! only `node`, no `ENV NODE_PATH` is set and the HEALTHCHECK runs no such tool, the global
//! packages stay in the build stage. Otherwise [`start_needs`] says which program may need them.

use super::super::Context;
use super::super::start::{StartCommand, base_name};
use super::super::{analysis, effects};
use crate::shell::{self, SimpleCommand};
use crate::syntax::{Document, Form, Instruction, Kind, Stage};

/// Shell builtins a start command may run besides node.
const BUILTINS: &[&str] = &["cd", "echo", "true", "exit", ":"];
/// What a HEALTHCHECK may run besides: the runtime stage installs these when it does.
const PROBES: &[&str] = &["curl", "wget"];
/// How many package.json scripts deep `npm run` is followed.
const MAX_DEPTH: usize = 4;

/// The package names a global install command installs (versions and tags removed:
/// `npm@10` is `npm`, `@nestjs/cli@latest` is `@nestjs/cli`).
pub(super) fn packages(words: &[String]) -> Vec<String> {
    let mut plain = words.iter().skip(1).filter(|w| !w.starts_with('-'));
    // The subcommand: `install`/`add` (npm, pnpm), `global add` (yarn).
    if words.first().map(String::as_str) == Some("yarn") {
        plain.next();
    }
    plain.next();
    plain
        .filter(|w| *w != "global")
        .map(|w| {
            let (scope, rest) = match w.strip_prefix('@') {
                Some(rest) => ("@", rest),
                None => ("", w.as_str()),
            };
            format!("{scope}{}", rest.split('@').next().unwrap_or(rest))
        })
        .collect()
}

/// Why the running app needs, or may need, the global packages a stage installs.
pub(super) struct Needs {
    /// A clause naming what runs them.
    pub(super) why: String,
    /// The global package whose command the start command or HEALTHCHECK runs by name
    /// (`gitbook` of `gitbook-cli`): then the app surely needs it.
    pub(super) provider: Option<String>,
}

/// The global package of `installed` that provides the command `program`: one of the same
/// name, or of that name with `-cli` (`gitbook-cli` gives `gitbook`, `@vue/cli` gives `vue`).
fn provider<'p>(installed: &'p [String], program: &str) -> Option<&'p String> {
    installed.iter().find(|p| {
        let (scope, name) = match p.strip_prefix('@').and_then(|r| r.split_once('/')) {
            Some((scope, name)) => (Some(scope), name),
            None => (None, p.as_str()),
        };
        name == program
            || name.strip_suffix("-cli") == Some(program)
            || (name == "cli" && scope == Some(program))
    })
}

/// Why the running app may need the global packages `installed`, or `Ok` when the start
/// command and HEALTHCHECK run only node on files of the application directory `workdir`.
pub(super) fn start_needs(
    doc: &Document,
    stage: &Stage,
    ctx: &Context,
    installed: &[String],
    workdir: &str,
) -> Result<(), Needs> {
    let mut chain = Chain {
        ctx,
        workdir,
        managers: Vec::new(),
        also: &[],
        installed,
        provider: None,
    };
    walk(doc, stage, ctx, installed, &mut chain).map_err(|why| Needs {
        why,
        provider: chain.provider.clone(),
    })
}

fn walk(
    doc: &Document,
    stage: &Stage,
    ctx: &Context,
    installed: &[String],
    chain: &mut Chain<'_>,
) -> Result<(), String> {
    let body = stage.from + 1..stage.instructions.end;
    let instructions = doc.instructions();
    for ix in body.clone() {
        let ins = &instructions[ix];
        if ins.kind == Kind::Env
            && analysis::declarations(doc, ins)
                .iter()
                .any(|d| d.name == "NODE_PATH")
        {
            return Err(format!(
                "the ENV at {} sets NODE_PATH, so the app may require them",
                analysis::place_of(doc, ix)
            ));
        }
    }
    let start = StartCommand::of(doc, body.clone());
    let entrypoint = start.entrypoint.as_ref().filter(|e| !e.empty);
    let by = "the start command";
    match (entrypoint, &start.cmd) {
        (Some(e), _) if e.shell_form => chain.text(form_text(doc, e.index), by, 0)?,
        (Some(e), Some(c)) if c.shell_form && !c.empty => {
            // Docker passes a shell-form CMD to an exec-form ENTRYPOINT as `/bin/sh -c "..."`.
            let mut args = e.args.to_vec();
            args.extend(["/bin/sh".into(), "-c".into(), form_text(doc, c.index)?]);
            chain.words(&args, by, 0)?;
        }
        (Some(e), c) => {
            let mut args = e.args.to_vec();
            args.extend(c.iter().flat_map(|c| c.args.iter().cloned()));
            chain.words(&args, by, 0)?;
        }
        (None, Some(c)) if c.shell_form => chain.text(form_text(doc, c.index), by, 0)?,
        (None, Some(c)) if !c.empty => chain.words(c.args, by, 0)?,
        (None, _) => return Err("the stage has no start command".into()),
    }
    let node = ctx.knowledge.ecosystem("node");
    let managers = node.map_or(&[][..], |e| e.package_managers.as_slice());
    if let Some(m) = installed
        .iter()
        .find(|p| managers.contains(p) && !chain.managers.is_empty())
    {
        return Err(format!(
            "the start command runs `{}` and the global install replaces `{m}`",
            chain.managers.join("`, `")
        ));
    }
    chain.also = PROBES;
    for ix in body {
        let ins = &instructions[ix];
        if ins.kind != Kind::Healthcheck {
            continue;
        }
        let by = "the HEALTHCHECK";
        match &ins.form {
            Form::None => {}
            Form::Shell { .. } => chain.text(form_text(doc, ix), by, 0)?,
            Form::Exec { words, .. } => {
                let args: Vec<String> = words.iter().map(|w| w.value.clone()).collect();
                chain.words(&args, by, 0)?;
            }
        }
    }
    Ok(())
}

/// The shell-form command text of instruction `ix`.
fn form_text(doc: &Document, ix: usize) -> Result<String, String> {
    let ins: &Instruction = &doc.instructions()[ix];
    match &ins.form {
        Form::Shell { span } => Ok(doc.slice(span).to_string()),
        _ => Err(format!(
            "restage does not read the {} at {}",
            ins.kind,
            analysis::place_of(doc, ix)
        )),
    }
}

/// Walks a start command down to the programs it runs.
struct Chain<'a> {
    ctx: &'a Context<'a>,
    workdir: &'a str,
    /// The package managers it runs, in order.
    managers: Vec<String>,
    /// Programs allowed besides node and the builtins.
    also: &'static [&'static str],
    /// The global packages the stage installs.
    installed: &'a [String],
    /// The one whose command it runs, once found.
    provider: Option<String>,
}

impl Chain<'_> {
    /// A shell command text: each simple command.
    fn text(&mut self, text: Result<String, String>, by: &str, depth: usize) -> Result<(), String> {
        let text = text?;
        let commands = shell::split(&text, 0, '\\')
            .ok_or_else(|| format!("{by} (`{text}`) uses shell syntax restage does not read"))?;
        for cmd in &commands {
            self.command(cmd, by, depth)?;
        }
        Ok(())
    }

    fn command(&mut self, cmd: &SimpleCommand, by: &str, depth: usize) -> Result<(), String> {
        if cmd.expands {
            return Err(format!(
                "{by} runs `{}`, whose value only the shell knows",
                cmd.words.join(" ")
            ));
        }
        self.words(cmd.program_words(), by, depth)
    }

    /// One command's words (exec-form arguments or a simple command's words).
    fn words(&mut self, words: &[String], by: &str, depth: usize) -> Result<(), String> {
        let words = skip_wrappers(self.ctx, words);
        let Some(first) = words.first() else {
            return Ok(());
        };
        let program = base_name(first);
        let args = &words[1..];
        let interpreters = self
            .ctx
            .knowledge
            .ecosystem("node")
            .map_or(&[][..], |e| e.interpreters.as_slice());
        if interpreters.iter().any(|i| i == program) {
            // A file elsewhere may be a global package's (`node /usr/local/bin/graphql-faker`,
            // a bin link into the global folder).
            if let Some(p) = args.iter().find(|a| {
                a.starts_with('/')
                    && (!analysis::is_within(a, self.workdir) || effects::is_system(a))
            }) {
                return Err(format!(
                    "{by} runs node on `{p}`, outside the application directory"
                ));
            }
            return Ok(());
        }
        if matches!(program, "sh" | "bash" | "ash" | "dash") {
            // `sh -c "script"` (flags such as `-e` may come first); a script file is not read.
            let at = args
                .iter()
                .position(|a| a.starts_with('-') && !a.starts_with("--") && a.ends_with('c'));
            return match at.and_then(|i| args.get(i + 1)) {
                Some(script) => self.text(Ok(script.clone()), by, depth),
                None => Err(format!("{by} runs `{}`", words.join(" "))),
            };
        }
        if BUILTINS.contains(&program) || self.also.contains(&program) {
            return Ok(());
        }
        let plain: Vec<&str> = args.iter().map(String::as_str).collect();
        let script = match (program, plain.as_slice()) {
            ("npm", ["start", ..]) | ("yarn", ["start", ..]) => "start",
            ("npm", ["run" | "run-script", name, ..]) | ("yarn", ["run", name, ..]) => *name,
            ("yarn", [name, ..]) if !name.starts_with('-') => *name,
            _ => {
                if let Some(p) = provider(self.installed, program) {
                    self.provider = Some(p.clone());
                    return Err(format!(
                        "{by} runs `{program}`, a command of the global package `{p}`"
                    ));
                }
                return Err(format!("{by} runs `{program}`"));
            }
        };
        if !self.managers.iter().any(|m| m == program) {
            self.managers.push(program.to_string());
        }
        if depth >= MAX_DEPTH {
            return Err(format!(
                "{by} runs the package.json script `{script}` more than {MAX_DEPTH} scripts deep"
            ));
        }
        let Some(package) = &self.ctx.build.package_json else {
            return Err(format!(
                "{by} runs the package.json script `{script}` and restage cannot read package.json"
            ));
        };
        // npm and yarn run `preX` and `postX` around `X`.
        for hook in [
            format!("pre{script}"),
            script.into(),
            format!("post{script}"),
        ] {
            let by = format!("the package.json script `{hook}`");
            match package.script(&hook) {
                Some(text) => self.text(Ok(text.to_string()), &by, depth + 1)?,
                // Without a start script, `npm start` runs `node server.js`.
                None if hook == "start" && program == "npm" => {}
                None if hook == script => {
                    return Err(format!("package.json has no script `{script}`"));
                }
                None => {}
            }
        }
        Ok(())
    }
}

/// The words after init processes (`tini --`), `exec` and `env` with its flags and assignments.
fn skip_wrappers<'w>(ctx: &Context, words: &'w [String]) -> &'w [String] {
    let mut i = 0;
    while let Some(w) = words.get(i) {
        let name = base_name(w);
        let skip = !matches!(name, "sh" | "bash" | "ash" | "dash")
            && (ctx.knowledge.is_wrapper(name)
                || w.starts_with('-')
                || (i > 0 && shell::is_assignment(w)));
        if !skip {
            break;
        }
        i += 1;
    }
    // Assignments before the program (`NODE_ENV=production node app.js`).
    while words.get(i).is_some_and(|w| shell::is_assignment(w)) {
        i += 1;
    }
    &words[i..]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn package_names_without_versions() {
        assert_eq!(packages(&w("npm install -g nodemon")), ["nodemon"]);
        assert_eq!(packages(&w("npm i typescript@5.4 -g")), ["typescript"]);
        assert_eq!(
            packages(&w("npm -g install npm@10 @nestjs/cli@latest")),
            ["npm", "@nestjs/cli"]
        );
        assert_eq!(packages(&w("yarn global add pm2")), ["pm2"]);
        assert_eq!(packages(&w("pnpm add -g serve")), ["serve"]);
        // The package of the working directory.
        assert!(packages(&w("npm install -g")).is_empty());
    }

    #[test]
    fn node_knowledge_names_the_interpreter_and_managers() {
        let k = crate::knowledge::Knowledge::builtin().expect("builtin knowledge");
        let node = k.ecosystem("node").expect("node ecosystem");
        assert_eq!(node.interpreters, ["node", "nodejs"]);
        assert!(node.package_managers.iter().any(|m| m == "npm"));
        assert!(node.package_managers.iter().any(|m| m == "corepack"));
    }
}
