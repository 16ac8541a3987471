//! What each instruction of a stage does to the filesystem: the absolute paths it creates,
//! removes, or modifies (content, mode, owner), the trees it writes into, and the paths it only
//! reads. COPY, ADD, WORKDIR and VOLUME are exact; a RUN is read through [`crate::shell`] command
//! by command (`mkdir`, `rm`, `cp`, `mv`, `touch`, `ln`, `chmod`, `chown`, `install`, user and
//! group tools, OS package installs, and the build commands the knowledge files classify). What is
//! not modelled is `unknown`, with the reason, so a caller never acts on a guess. Relative paths
//! are resolved against the stage's WORKDIR at the instruction, following literal `cd`s.

use super::Context;
use super::analysis::{self, Workdir};
use super::facts;
use crate::shell::{Separator, SimpleCommand};
use crate::syntax::{Document, Kind, Stage};

/// What an operation does to one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// A directory is created; `parents`: an existing one is fine (`mkdir -p`, WORKDIR).
    CreateDir { parents: bool },
    /// A file (or a tree, for `cp -r`) is created or replaced with new content.
    Create,
    /// A symbolic or hard link is created, pointing at `target`.
    Link { target: String },
    /// The path is removed.
    Remove,
    /// The content of an existing file changes (`touch` of an existing file counts as create).
    Content,
    /// The permission bits change.
    Mode,
    /// The owner changes to `owner` (`user[:group]`), with `recursive` for `-R`.
    Owner { owner: String, recursive: bool },
    /// Something under the path is written (package installs, build output directories).
    Write,
    /// The path is read (a copy source inside the image).
    Read,
}

/// One effect on one absolute path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathEffect {
    pub path: String,
    pub op: Op,
}

impl PathEffect {
    fn new(path: String, op: Op) -> PathEffect {
        PathEffect { path, op }
    }
}

/// What one simple command of a RUN does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandEffects {
    /// The command (program first, assignments dropped).
    pub words: Vec<String>,
    /// Its text in the document.
    pub span: std::ops::Range<usize>,
    pub separator: Separator,
    pub effects: Vec<PathEffect>,
    /// Adds users or groups (`useradd`, `groupadd`, `adduser`, `addgroup`, `usermod`).
    pub users: bool,
    /// Why restage cannot tell what the command does to the filesystem.
    pub unknown: Option<String>,
    /// Only file-system preparation: re-running it needs no build tools.
    pub prep: bool,
}

/// What one instruction does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstructionEffects {
    /// RUN: one entry per simple command; empty for other instructions.
    pub commands: Vec<CommandEffects>,
    /// Non-RUN instructions: their effects.
    pub effects: Vec<PathEffect>,
    /// Why what the instruction does is not (fully) known.
    pub unknown: Option<String>,
}

impl InstructionEffects {
    /// Every effect, of the instruction or of its commands.
    pub fn all(&self) -> impl Iterator<Item = &PathEffect> {
        self.effects
            .iter()
            .chain(self.commands.iter().flat_map(|c| c.effects.iter()))
    }
}

/// Directories of the operating system and the language toolchains: what package installs and
/// toolchains write, never the application's own files.
pub const SYSTEM_DIRS: &[&str] = &[
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib64",
    "/etc",
    "/var/lib",
    "/opt/conda",
];

/// Paths that only hold caches and scratch files: never worth carrying into another stage.
pub const SCRATCH_DIRS: &[&str] = &[
    "/tmp",
    "/var/tmp",
    "/root/.cache",
    "/root/.npm",
    "/root/.m2",
    "/root/.gradle",
    "/root/.cargo/registry",
    "/usr/local/cargo/registry",
    "/go/pkg",
    "/var/cache",
    "/var/lib/apt",
    "/var/log",
    "/proc",
    "/sys",
    "/dev",
    "/run",
];

/// True when `path` is (inside) a scratch or cache directory.
pub fn is_scratch(path: &str) -> bool {
    SCRATCH_DIRS.iter().any(|d| analysis::is_within(path, d))
}

/// Directories inside [`SYSTEM_DIRS`] that hold applications, not the system's files
/// (`WORKDIR /usr/src/app` is a common application directory): no runtime image has them.
pub const APP_DIRS_IN_SYSTEM: &[&str] = &["/usr/src", "/usr/local/src"];

/// True when `path` is (inside) a system directory.
pub fn is_system(path: &str) -> bool {
    SYSTEM_DIRS.iter().any(|d| analysis::is_within(path, d))
        && !APP_DIRS_IN_SYSTEM
            .iter()
            .any(|d| analysis::is_within(path, d))
}

/// Commands with no effect on the filesystem (navigation, output, checks).
const NEUTRAL: &[&str] = &[
    "true", "echo", "printf", "set", ":", "ls", "cat", "pwd", "id", "whoami", "sync", "test", "[",
    "which", "env", "date", "uname", "df", "du", "sleep",
];

/// Tools that add users or groups (they write /etc/passwd, /etc/group, /etc/shadow).
const USER_TOOLS: &[&str] = &["useradd", "groupadd", "adduser", "addgroup", "usermod"];

/// The working directory at instruction `index`, with `inherited` for the base image's own.
pub fn workdir(doc: &Document, stage: &Stage, index: usize, inherited: &str) -> Option<String> {
    let r = analysis::workdir_resolution_under(doc, stage, index, Some(inherited));
    if !r.arg_defaults.is_empty() {
        return None;
    }
    match r.value {
        Workdir::Known(w) => Some(w),
        Workdir::Inherited => Some(inherited.to_string()),
        Workdir::Unknown => None,
    }
}

/// The absolute destination of the COPY/ADD at `index` (`None`: it uses a variable or the
/// working directory is not known).
pub fn destination(doc: &Document, stage: &Stage, index: usize, inherited: &str) -> Option<String> {
    // Quotes removed and ENV values expanded the way BuildKit reads the word.
    if let Some(dest) = analysis::resolved_destination(doc, stage, index) {
        return Some(dest);
    }
    // A relative destination under the base image's working directory, or under a relative
    // WORKDIR joined to it.
    if matches!(analysis::workdir_at(doc, stage, index), Workdir::Known(_)) {
        return None;
    }
    let wd = workdir(doc, stage, index, inherited)?;
    let dest = analysis::destination(&doc.instructions()[index])?
        .value
        .trim_matches(['"', '\'']);
    if dest.contains('$') || dest.is_empty() {
        return None;
    }
    Some(analysis::join(&wd, dest))
}

/// The effects of instruction `index` of `stage`; `inherited` is the working directory the
/// base image sets (`/` for most).
pub fn instruction(
    doc: &Document,
    stage: &Stage,
    index: usize,
    ctx: &Context,
    inherited: &str,
) -> InstructionEffects {
    let ins = &doc.instructions()[index];
    let mut out = InstructionEffects::default();
    match ins.kind {
        Kind::Copy | Kind::Add => match destination(doc, stage, index, inherited) {
            Some(dest) => {
                out.effects.push(PathEffect::new(dest.clone(), Op::Create));
                if let Some(owner) = ins.flag("chown").and_then(|f| f.value.as_ref()) {
                    out.effects.push(PathEffect::new(
                        dest,
                        Op::Owner {
                            owner: owner.value.clone(),
                            recursive: true,
                        },
                    ));
                }
            }
            None => out.unknown = Some(format!("the {} destination uses a variable", ins.kind)),
        },
        Kind::Workdir => match workdir(doc, stage, index + 1, inherited) {
            Some(w) => out
                .effects
                .push(PathEffect::new(w, Op::CreateDir { parents: true })),
            _ => out.unknown = Some("the WORKDIR uses a variable".into()),
        },
        Kind::Volume => {
            for w in &ins.words {
                let p = w.value.trim_matches(['[', ']', '"', ',']);
                if p.starts_with('/') && !p.contains('$') {
                    out.effects.push(PathEffect::new(
                        analysis::normalize(p),
                        Op::CreateDir { parents: true },
                    ));
                }
            }
        }
        Kind::Run => run(doc, stage, index, ctx, inherited, &mut out),
        _ => {}
    }
    out
}

fn run(
    doc: &Document,
    stage: &Stage,
    index: usize,
    ctx: &Context,
    inherited: &str,
    out: &mut InstructionEffects,
) {
    let ins = &doc.instructions()[index];
    let Some(commands) = analysis::commands(doc, ins) else {
        out.unknown = Some(
            "uses shell syntax restage does not read (a here-document, substitution or redirect)"
                .into(),
        );
        return;
    };
    let mut cwd = workdir(doc, stage, index, inherited);
    for cmd in commands.iter() {
        let expanded = expand_env(doc, stage, index, cmd);
        let c = command(expanded.as_ref().unwrap_or(cmd), cwd.as_deref(), ctx);
        if c.words.first().is_some_and(|w| w == "cd") {
            cwd = match (c.words.get(1), &cwd) {
                (Some(d), _) if d.starts_with('/') && plain(d) => Some(analysis::normalize(d)),
                (Some(d), Some(base)) if plain(d) => Some(analysis::join(base, d)),
                _ => None,
            };
        }
        if out.unknown.is_none() {
            out.unknown.clone_from(&c.unknown);
        }
        out.commands.push(c);
    }
}

/// `cmd` with its `$NAME` / `${NAME}` references replaced by the values the stage's ENV
/// instructions give them (`ENV APP_HOME /app` then `RUN mkdir $APP_HOME`); `None` when it has
/// none, uses a command substitution, or names a variable only an ARG (a build argument) or a
/// base-image ENV the knowledge files do not know sets.
pub(crate) fn expand_env(
    doc: &Document,
    stage: &Stage,
    index: usize,
    cmd: &SimpleCommand,
) -> Option<SimpleCommand> {
    if !cmd.expands
        || cmd
            .words
            .iter()
            .any(|w| w.contains("$(") || w.contains('`'))
    {
        return None;
    }
    let lookup = |name: &str| {
        analysis::variable_at(doc, stage, index, name)
            .filter(|r| r.arg_defaults.is_empty())
            .map(|r| r.value)
    };
    let words = cmd
        .words
        .iter()
        .map(|w| {
            if w.contains('$') {
                analysis::expand_vars(w, &lookup)
            } else {
                Some(w.clone())
            }
        })
        .collect::<Option<Vec<String>>>()?;
    Some(SimpleCommand {
        words,
        expands: false,
        ..cmd.clone()
    })
}

/// A literal path word: no expansion, glob or home directory.
fn plain(word: &str) -> bool {
    !word.is_empty() && !word.contains(['$', '*', '?', '[', '`', '~', '{'])
}

/// The effects of one simple command run in `cwd` (`None`: not known).
pub fn command(cmd: &SimpleCommand, cwd: Option<&str>, ctx: &Context) -> CommandEffects {
    // Borrowed while the effects are read; copied into the result once, at the end.
    let words = cmd.program_words();
    let mut c = CommandEffects {
        words: Vec::new(),
        span: cmd.span.clone(),
        separator: cmd.separator,
        effects: Vec::new(),
        users: false,
        unknown: None,
        prep: true,
    };
    let Some(program) = words.first().map(String::as_str) else {
        return c;
    };
    let program = crate::shell::base_name(program);
    let args: Vec<&str> = words[1..].iter().map(String::as_str).collect();
    // Resolves a path operand; `None` (and the command unknown) when it cannot be read.
    let mut bad: Option<String> = None;
    let mut resolve = |p: &str| -> Option<String> {
        if !plain(p) {
            bad.get_or_insert_with(|| {
                format!("`{program}` names a path restage cannot resolve (`{p}`)")
            });
            return None;
        }
        if p.starts_with('/') {
            return Some(analysis::normalize(p));
        }
        match cwd {
            Some(d) => Some(analysis::join(d, p)),
            None => {
                bad.get_or_insert_with(|| {
                    format!("`{program}` runs in a directory restage cannot tell")
                });
                None
            }
        }
    };
    match program {
        "cd" => {}
        p if NEUTRAL.contains(&p) => {}
        "mkdir" => {
            let (flags, operands) = split_options(&args, &["-m", "--mode"]);
            let parents = flags.iter().any(|f| is_short(f, 'p') || *f == "--parents");
            for o in operands {
                if let Some(p) = resolve(o) {
                    c.effects
                        .push(PathEffect::new(p, Op::CreateDir { parents }));
                }
            }
        }
        "rm" | "rmdir" => {
            let (_, operands) = split_options(&args, &[]);
            for o in operands {
                if let Some(p) = resolve(o) {
                    c.effects.push(PathEffect::new(p, Op::Remove));
                }
            }
        }
        "touch" => {
            let (_, operands) = split_options(&args, &["-d", "-r", "-t"]);
            for o in operands {
                if let Some(p) = resolve(o) {
                    c.effects.push(PathEffect::new(p, Op::Create));
                }
            }
        }
        "chmod" => {
            let (_, operands) = split_options(&args, &["--reference"]);
            // The first operand is the mode (it may look like an option: `-x`).
            let operands: Vec<&str> = if args.first().is_some_and(|a| {
                a.starts_with('-')
                    && !a.starts_with("-R")
                    && a.len() > 1
                    && !a.chars().skip(1).all(|ch| "RvcfH".contains(ch))
            }) {
                args[1..]
                    .iter()
                    .copied()
                    .filter(|a| !a.starts_with('-'))
                    .collect()
            } else {
                operands.into_iter().skip(1).collect()
            };
            for o in operands {
                if let Some(p) = resolve(o) {
                    c.effects.push(PathEffect::new(p, Op::Mode));
                }
            }
        }
        "chown" | "chgrp" => {
            let (flags, operands) = split_options(&args, &["--reference"]);
            let recursive = flags
                .iter()
                .any(|f| is_short(f, 'R') || *f == "--recursive");
            let mut it = operands.into_iter();
            let owner = it.next().unwrap_or_default().to_string();
            let owner = if program == "chgrp" {
                format!(":{owner}")
            } else {
                owner
            };
            for o in it {
                if let Some(p) = resolve(o) {
                    c.effects.push(PathEffect::new(
                        p,
                        Op::Owner {
                            owner: owner.clone(),
                            recursive,
                        },
                    ));
                }
            }
        }
        "cp" | "mv" | "ln" | "install" => {
            let takes = match program {
                "install" => &[
                    "-m",
                    "--mode",
                    "-o",
                    "--owner",
                    "-g",
                    "--group",
                    "-t",
                    "--target-directory",
                ][..],
                _ => &["-t", "--target-directory", "-S", "--suffix"][..],
            };
            let (flags, operands) = split_options(&args, takes);
            if flags
                .iter()
                .any(|f| *f == "-t" || f.starts_with("--target-directory"))
            {
                c.unknown = Some(format!("`{program} -t` is not modelled"));
            }
            let dir_only = program == "install"
                && flags
                    .iter()
                    .any(|f| is_short(f, 'd') || *f == "--directory");
            if dir_only {
                for o in operands {
                    if let Some(p) = resolve(o) {
                        c.effects
                            .push(PathEffect::new(p, Op::CreateDir { parents: true }));
                    }
                }
            } else if let Some((dest, sources)) = operands.split_last() {
                if sources.is_empty() && program != "ln" {
                    c.unknown = Some(format!("`{program}` with one operand is not modelled"));
                }
                let sources: Vec<&str> = if sources.is_empty() {
                    vec![*dest]
                } else {
                    sources.to_vec()
                };
                let dest_abs = if program == "ln" && operands_len(words) == 1 {
                    cwd.map(str::to_string)
                } else {
                    resolve(dest)
                };
                // A directory of the images' PATH (`cp tool /usr/local/bin`) is a directory.
                let into_dir = dest.ends_with('/')
                    || sources.len() > 1
                    || (program == "ln" && operands_len(words) == 1)
                    || dest_abs.as_deref().is_some_and(|d| {
                        ctx.knowledge.runtime_path().iter().any(|p| p.as_str() == d)
                    });
                for s in &sources {
                    let name = s
                        .trim_end_matches('/')
                        .rsplit('/')
                        .next()
                        .unwrap_or(s)
                        .to_string();
                    let Some(d) = dest_abs.clone() else { continue };
                    let target = if into_dir {
                        analysis::join(&d, &name)
                    } else {
                        d
                    };
                    if program == "ln" {
                        c.effects.push(PathEffect::new(
                            target,
                            Op::Link {
                                target: (*s).to_string(),
                            },
                        ));
                        continue;
                    }
                    if let Some(sp) = resolve(s) {
                        c.effects.push(PathEffect::new(
                            sp.clone(),
                            if program == "mv" {
                                Op::Remove
                            } else {
                                Op::Read
                            },
                        ));
                    }
                    c.effects.push(PathEffect::new(target, Op::Create));
                }
            }
        }
        p if USER_TOOLS.contains(&p) => {
            c.users = true;
            for f in ["/etc/passwd", "/etc/group", "/etc/shadow"] {
                c.effects.push(PathEffect::new(f.to_string(), Op::Content));
            }
        }
        _ => {
            c.prep = false;
            if let Some(system) = package_install(words) {
                for d in system {
                    c.effects.push(PathEffect::new(d.to_string(), Op::Write));
                }
            } else if let Some(m) = facts::classify(ctx, cmd) {
                if m.pip {
                    c.effects
                        .push(PathEffect::new("/usr/local".into(), Op::Write));
                }
                match cwd {
                    Some(d) => c.effects.push(PathEffect::new(d.to_string(), Op::Write)),
                    None => {
                        c.unknown = Some(format!(
                            "`{program}` runs in a directory restage cannot tell"
                        ))
                    }
                }
                for b in m.binaries {
                    let path = if b.starts_with('/') {
                        Some(analysis::normalize(&b))
                    } else {
                        cwd.map(|d| analysis::join(d, &b))
                    };
                    if let Some(p) = path {
                        c.effects.push(PathEffect::new(p, Op::Create));
                    }
                }
            } else {
                let short: Vec<&str> = words.iter().take(3).map(String::as_str).collect();
                c.unknown = Some(format!(
                    "runs `{}`, which restage does not recognise",
                    short.join(" ")
                ));
            }
        }
    }
    if c.unknown.is_none() {
        c.unknown = bad;
    }
    c.words = words.to_vec();
    c
}

/// The number of non-option operands of a command.
fn operands_len(words: &[String]) -> usize {
    words[1..].iter().filter(|w| !w.starts_with('-')).count()
}

/// A short option cluster (`-rf`) that holds `letter`.
fn is_short(flag: &str, letter: char) -> bool {
    flag.starts_with('-') && !flag.starts_with("--") && flag[1..].contains(letter)
}

/// Splits arguments into options and operands; `takes_value` lists the options followed by a
/// value. `--` ends the options.
fn split_options<'a>(args: &[&'a str], takes_value: &[&str]) -> (Vec<&'a str>, Vec<&'a str>) {
    let mut flags = Vec::new();
    let mut operands = Vec::new();
    let mut it = args.iter().copied();
    let mut only_operands = false;
    while let Some(a) = it.next() {
        if only_operands || !a.starts_with('-') || a == "-" {
            operands.push(a);
        } else if a == "--" {
            only_operands = true;
        } else {
            flags.push(a);
            if takes_value.contains(&a) {
                it.next();
            }
        }
    }
    (flags, operands)
}

/// The system directories an OS package command writes, or `None` when it is not one.
fn package_install(words: &[String]) -> Option<&'static [&'static str]> {
    let program = words.first()?.as_str();
    match program {
        "apt-get" | "apt" | "dpkg" => Some(&[
            "/usr",
            "/etc",
            "/var/lib/dpkg",
            "/var/lib/apt",
            "/var/cache/apt",
        ]),
        "apk" => Some(&["/usr", "/etc", "/lib", "/var/cache/apk"]),
        "yum" | "dnf" | "microdnf" => Some(&["/usr", "/etc", "/var/lib/rpm", "/var/cache"]),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;
    use crate::context::BuildContext;
    use crate::knowledge::Knowledge;
    use crate::syntax::parse;

    fn effects(src: &str, index: usize) -> InstructionEffects {
        let doc = parse(src).unwrap();
        let knowledge = Knowledge::builtin().expect("knowledge");
        let settings = Settings::default();
        let build = BuildContext::default();
        let ctx = Context {
            knowledge: &knowledge,
            options: crate::transforms::TransformOptions::of(&settings),
            build: &build,
        };
        instruction(&doc, &doc.stages()[0], index, &ctx, "/")
    }

    fn ops(e: &InstructionEffects) -> Vec<(String, Op)> {
        e.all().map(|p| (p.path.clone(), p.op.clone())).collect()
    }

    #[test]
    fn cp_into_a_path_directory_creates_the_file_in_it() {
        let src = "FROM a\nWORKDIR /src\nRUN cp build/tool /usr/local/bin && cp run.sh /entry\n";
        assert_eq!(
            ops(&effects(src, 2)),
            [
                ("/src/build/tool".into(), Op::Read),
                ("/usr/local/bin/tool".into(), Op::Create),
                ("/src/run.sh".into(), Op::Read),
                ("/entry".into(), Op::Create),
            ]
        );
    }

    #[test]
    fn copy_workdir_volume() {
        let src = "FROM a\nWORKDIR /app\nCOPY --chown=node:node . .\nVOLUME [\"/data\"]\n";
        assert_eq!(
            ops(&effects(src, 1)),
            [("/app".into(), Op::CreateDir { parents: true })]
        );
        assert_eq!(
            ops(&effects(src, 2)),
            [
                ("/app".into(), Op::Create),
                (
                    "/app".into(),
                    Op::Owner {
                        owner: "node:node".into(),
                        recursive: true
                    }
                )
            ]
        );
        assert_eq!(
            ops(&effects(src, 3)),
            [("/data".into(), Op::CreateDir { parents: true })]
        );
    }

    #[test]
    fn paths_through_env_values() {
        // ENV values are facts of the file; a build argument's default is not.
        let src = "FROM a\nENV APP_HOME /srv/app\nARG DATA=/data\nRUN mkdir -p $APP_HOME/tmp ${APP_HOME}/log && mkdir $DATA\n";
        let e = effects(src, 3);
        assert_eq!(
            ops(&e)[..2],
            [
                ("/srv/app/tmp".into(), Op::CreateDir { parents: true }),
                ("/srv/app/log".into(), Op::CreateDir { parents: true }),
            ]
        );
        assert!(e.unknown.unwrap().contains("$DATA"));
    }

    #[test]
    fn filesystem_commands() {
        let src = "FROM a\nWORKDIR /app\nRUN mkdir data && mkdir -p /var/x && rm -rf app.db && touch app.db && chmod +x run.sh && chown -R app:app /app && cp scripts/entry.sh /entry.sh && ln -s /app/bin/x /usr/local/bin/ && mv a b\n";
        let e = effects(src, 2);
        assert_eq!(e.unknown, None);
        assert_eq!(
            ops(&e),
            [
                ("/app/data".into(), Op::CreateDir { parents: false }),
                ("/var/x".into(), Op::CreateDir { parents: true }),
                ("/app/app.db".into(), Op::Remove),
                ("/app/app.db".into(), Op::Create),
                ("/app/run.sh".into(), Op::Mode),
                (
                    "/app".into(),
                    Op::Owner {
                        owner: "app:app".into(),
                        recursive: true
                    }
                ),
                ("/app/scripts/entry.sh".into(), Op::Read),
                ("/entry.sh".into(), Op::Create),
                (
                    "/usr/local/bin/x".into(),
                    Op::Link {
                        target: "/app/bin/x".into()
                    }
                ),
                ("/app/a".into(), Op::Remove),
                ("/app/b".into(), Op::Create),
            ]
        );
        assert!(e.commands.iter().all(|c| c.prep));
    }

    #[test]
    fn cd_users_packages_and_unknowns() {
        let src = "FROM a\nRUN cd /srv && mkdir www && useradd -m app && apt-get install -y curl\nRUN ./configure\nRUN mkdir $HOME/x\n";
        let e = effects(src, 1);
        assert_eq!(e.commands[1].effects[0].path, "/srv/www");
        assert!(e.commands[2].users);
        assert!(!e.commands[3].prep);
        assert!(
            e.commands[3]
                .effects
                .iter()
                .any(|p| p.path == "/usr" && p.op == Op::Write)
        );
        assert!(effects(src, 2).unknown.unwrap().contains("./configure"));
        assert!(effects(src, 3).unknown.unwrap().contains("$HOME/x"));
    }

    #[test]
    fn build_commands_write_their_directory() {
        let src = "FROM golang:1.22\nWORKDIR /src\nRUN go build -o /bin/server . && npm ci\n";
        let e = effects(src, 2);
        let all = ops(&e);
        assert!(all.contains(&("/bin/server".into(), Op::Create)));
        assert!(all.contains(&("/src".into(), Op::Write)));
    }

    #[test]
    fn scratch_and_system() {
        assert!(is_scratch("/tmp") && is_scratch("/root/.cache/pip") && !is_scratch("/app"));
        assert!(is_system("/usr/local/bin/x") && !is_system("/docker-entrypoint.sh"));
        assert!(!is_system("/usr/src/app/bin/server") && !is_system("/usr/local/src/app"));
    }
}
