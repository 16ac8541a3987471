//! `copy-order`: a dependency install that runs after a copy of the whole build context
//! (`COPY . .`) is re-run on every source edit. In each stage, the first such install gets the
//! manifests it reads (from the knowledge files, as they exist in the build context) copied in
//! the broad copy's place, with the broad copy's flags, and the broad copy moves to just after
//! the install. An install chained with a build (`npm ci && npm run build`) is split when every
//! part is recognised. Anything that could change what the install does is refused with a
//! suggestion; a Cargo build gets the stub-source trick as an unsafe change.

use std::collections::BTreeMap;

use globset::GlobBuilder;

use super::analysis;
use super::{Context, Verdict, unsafe_because};
use crate::edit::{Change, Edit};
use crate::knowledge::{CommandKind, CommandMatch, Manifests};
use crate::shell::{Separator, SimpleCommand};
use crate::syntax::{Document, Instruction, Kind, Stage};

const ID: &str = "copy-order";

const TITLE: &str = "Install dependencies before copying the sources";

/// Flags of the broad copy that carry over to the manifest copy unchanged.
const CARRIED_FLAGS: &[&str] = &["chown", "chmod", "link"];

/// Root-level manifest globs whose every match the build context lists (it records these
/// names at the root), so restage can expand them without guessing.
const LISTED_ROOT_GLOBS: &[&str] = &["*.csproj", "*.sln", "*.gemspec", "requirements*.txt"];

/// System paths a build context never provides: removing or creating them reads no source.
const SCRATCH_PATHS: &[&str] = &[
    "/tmp",
    "/var/tmp",
    "/var/lib/apt/lists",
    "/var/cache/apt",
    "/var/cache/apk",
    "/var/cache/yum",
    "/var/cache/dnf",
    "/root/.cache",
    "/root/.npm",
    "/usr/local/share/.cache",
];

/// OS-level commands: packages, users, certificates. They read no source.
const SYSTEM_COMMANDS: &[&str] = &[
    "apt-get",
    "apt",
    "apk",
    "yum",
    "dnf",
    "microdnf",
    "zypper",
    "update-ca-certificates",
    "useradd",
    "groupadd",
    "adduser",
    "addgroup",
    "usermod",
    "groupmod",
    "locale-gen",
    "ldconfig",
];

/// Commands that only print or set shell options.
const NEUTRAL: &[&str] = &[
    "echo", "printf", "true", ":", "set", "sleep", "whoami", "id",
];

/// File commands restage recognises: they stay where they are when a RUN is split.
const FILE_COMMANDS: &[&str] = &[
    "mkdir", "chmod", "chown", "chgrp", "ln", "touch", "rm", "cp", "mv", "ls", "cat",
];

pub(super) fn run(doc: &Document, ctx: &Context) -> Vec<Change> {
    doc.stages()
        .iter()
        .flat_map(|stage| plan(doc, ctx, stage).into_changes(ID))
        .collect()
}

/// What one simple command of a RUN is, for this transform.
#[derive(Debug, Clone)]
enum Class {
    /// A dependency install from manifests (knowledge: `dependency-install`).
    Install(std::sync::Arc<CommandMatch>),
    /// Installs the project itself, which needs the sources (`pip install .`).
    Project(std::sync::Arc<CommandMatch>),
    /// `cargo build`.
    CargoBuild(std::sync::Arc<CommandMatch>),
    /// Reads no source and builds nothing: OS packages, global tools, tool configuration,
    /// cache cleanup, paths outside the application directory.
    Setup,
    /// Recognised (by the knowledge files or as a file command); it may read the sources.
    Known,
    /// Not recognised.
    Unknown,
}

impl Class {
    fn is_focus(&self) -> bool {
        matches!(
            self,
            Class::Install(_) | Class::Project(_) | Class::CargoBuild(_)
        )
    }
}

/// The RUN that runs after the broad copy and what its commands are.
struct Target<'d> {
    ix: usize,
    /// Borrowed from the document's memo when it has one.
    commands: std::borrow::Cow<'d, [SimpleCommand]>,
    classes: Vec<Class>,
    /// Index of the first install, project install or cargo build.
    focus: usize,
}

/// The broad copy, as the rewrite needs it.
struct Broad {
    /// Flags carried to the manifest copy, as written (`--chown=node:node --link`).
    flags: String,
    /// The destination as written, ending with `/` (`./`, `/app/`, `$APP_HOME/`).
    dest: String,
    /// Set when matching the destination to the install's directory relied on an ARG default.
    unsafe_reason: Option<String>,
}

/// One path to copy before the install, relative to the context root.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Manifest {
    path: String,
    dir: bool,
}

fn plan(doc: &Document, ctx: &Context, stage: &Stage) -> Verdict {
    let instructions = doc.instructions();
    let body = stage.from + 1..stage.instructions.end;
    let mut broads: Vec<usize> = Vec::new();
    let mut target = None;
    // The directory the last broad copy fills, read once per broad copy.
    let mut tree: Option<(usize, Option<String>)> = None;
    for ix in body {
        let ins = &instructions[ix];
        if analysis::is_broad_copy(ins) {
            broads.push(ix);
            continue;
        }
        let Some(&last_broad) = broads.last() else {
            continue;
        };
        let Some(commands) = analysis::commands(doc, ins) else {
            continue;
        };
        let tree = match tree.take() {
            Some((b, t)) if b == last_broad => tree.insert((b, t)),
            _ => tree.insert((last_broad, tree_of(doc, stage, last_broad))),
        };
        let tree = tree.1.as_deref();
        let classes: Vec<Class> = commands.iter().map(|c| classify(ctx, c, tree)).collect();
        if let Some(focus) = classes.iter().position(Class::is_focus) {
            target = Some(Target {
                ix,
                commands,
                classes,
                focus,
            });
            break;
        }
    }
    let Some(target) = target else {
        return Verdict::Nothing;
    };
    // Copied more than once before the install: an earlier copy already brings the sources.
    let [b] = broads.as_slice() else {
        return Verdict::Nothing;
    };
    if already_cached(doc, ctx, stage, *b, &target.classes[target.focus]) {
        return Verdict::Nothing;
    }
    let anchor = instructions[target.ix].extent.start;
    // The suggestion's text, made only when restage leaves the install where it is.
    let refuse = |why: String| {
        let focus_text = command_text(&target.commands[target.focus]);
        let broad_text = one_line(doc.slice(&instructions[*b].args));
        let broad_kw = instructions[*b].kind.keyword();
        // Pushed piece by piece: `format!` costs several times the text it makes.
        let pieces: [&str; 8] = [
            "`",
            &focus_text,
            "` runs after `",
            broad_kw,
            " ",
            &broad_text,
            "`, so every source change re-runs it; restage leaves it because ",
            &why,
        ];
        let mut reason = String::with_capacity(pieces.iter().map(|p| p.len()).sum());
        for p in pieces {
            reason.push_str(p);
        }
        Verdict::suggestion(anchor, TITLE, reason)
    };
    let result = match &target.classes[target.focus] {
        Class::Project(m) => Err(project_reason(m)),
        Class::CargoBuild(_) => cargo_plan(doc, ctx, stage, *b, &target),
        Class::Install(_) => install_plan(doc, ctx, stage, *b, &target),
        _ => unreachable!("the focus is an install, a project install or a cargo build"),
    };
    match result {
        Ok(Some(change)) => Verdict::Change(Box::new(change)),
        Ok(None) => Verdict::Nothing,
        Err(why) => refuse(why),
    }
}

/// The absolute directory the broad copy fills, when known.
fn tree_of(doc: &Document, stage: &Stage, broad: usize) -> Option<String> {
    analysis::resolved_destination(doc, stage, broad)
}

/// True when the stage already installs these dependencies before the broad copy (a good
/// file, or restage's own output): nothing to do.
fn already_cached(
    doc: &Document,
    ctx: &Context,
    stage: &Stage,
    broad: usize,
    focus: &Class,
) -> bool {
    let instructions = doc.instructions();
    for ins in &instructions[stage.from + 1..broad] {
        if ins.kind != Kind::Run {
            continue;
        }
        let Some(commands) = analysis::commands(doc, ins) else {
            // The stub-source trick writes a file with a redirect, which the reader gives up on.
            let text = doc.slice(&ins.extent);
            if matches!(focus, Class::CargoBuild(_))
                && ["cargo build", "cargo fetch", "cargo chef"]
                    .iter()
                    .any(|c| text.contains(c))
            {
                return true;
            }
            continue;
        };
        for c in commands.iter() {
            let cached = match (classify(ctx, c, None), focus) {
                (Class::Install(early), Class::Install(late)) => {
                    early.manager == late.manager
                        && (early.manifests.is_empty() || early.manifests == late.manifests)
                }
                (Class::Install(early), Class::Project(late)) => early.ecosystem == late.ecosystem,
                (Class::Install(early) | Class::CargoBuild(early), Class::CargoBuild(_)) => {
                    early.manager.as_deref() == Some("cargo")
                }
                _ => false,
            };
            if cached {
                return true;
            }
        }
    }
    false
}

fn project_reason(m: &CommandMatch) -> String {
    let suggestion = match m.manager.as_deref() {
        Some("poetry") => {
            "; run `poetry install --no-root` before COPY and `poetry install --only-root` after it"
        }
        Some("uv") => "; run `uv sync --no-install-project` before COPY and `uv sync` after it",
        Some("pip") => {
            "; install the dependencies from a requirements file before COPY and the project after it"
        }
        _ => "",
    };
    let note = match m.notes.first() {
        Some(n) if n.starts_with("installs") => format!("it {n}"),
        Some(n) => n.clone(),
        None => "it installs the project itself, which needs the sources".to_string(),
    };
    format!("{note}{suggestion}")
}

// --- The install ---------------------------------------------------------------------------

fn install_plan(
    doc: &Document,
    ctx: &Context,
    stage: &Stage,
    b: usize,
    target: &Target,
) -> Result<Option<Change>, String> {
    let broad = check_broad(doc, stage, b, target.ix)?;
    check_between(doc, ctx, stage, b, target.ix)?;
    check_redirecting_env(doc, stage, target.ix)?;

    // The install part: setup commands, then installs and setup commands; the rest stays.
    let classes = &target.classes;
    let commands = &target.commands;
    if let Some(i) = (0..target.focus).find(|&i| !matches!(classes[i], Class::Setup)) {
        let text = command_text(&commands[i]);
        if commands[i]
            .program_words()
            .first()
            .is_some_and(|p| p == "cd")
        {
            return Err(format!(
                "`{text}` changes the directory it runs in, so restage cannot tell which manifests it reads"
            ));
        }
        return Err(format!(
            "`{text}` runs before it in the same RUN and may need the sources"
        ));
    }
    let mut end = target.focus;
    while end + 1 < commands.len() && matches!(classes[end + 1], Class::Install(_) | Class::Setup) {
        end += 1;
    }
    let split = end + 1 < commands.len();
    if split {
        if commands[1..].iter().any(|c| c.separator != Separator::And) {
            return Err(
                "the RUN joins the install and the build with `;`, `||` or `|`, so it cannot be split without changing what fails"
                    .into(),
            );
        }
        if let Some(i) = (end + 1..commands.len()).find(|&i| matches!(classes[i], Class::Unknown)) {
            return Err(format!(
                "the same RUN goes on with `{}`, which restage does not recognise, so it does not split the RUN",
                command_text(&commands[i])
            ));
        }
    }

    let mut manifests: Vec<Manifest> = Vec::new();
    // The installs as written: from the first to the last, with the operators between them.
    let mut installs: Option<std::ops::Range<usize>> = None;
    for (c, class) in commands[..=end].iter().zip(&classes[..=end]) {
        let Class::Install(m) = class else {
            continue;
        };
        for f in install_manifests(ctx, m, c)? {
            if !manifests.contains(&f) {
                manifests.push(f);
            }
        }
        check_dependency_dirs(ctx, m)?;
        let start = installs.as_ref().map_or(c.span.start, |r| r.start);
        installs = Some(start..c.span.end);
    }
    let installs = installs.map_or_else(String::new, |r| one_line(&doc.text()[r]));

    // Edits.
    let instructions = doc.instructions();
    let run = &instructions[target.ix];
    let nl = doc.style().nl();
    let fresh: Vec<Manifest> = manifests
        .iter()
        .filter(|m| !copied_before(doc, stage, b, &broad, m))
        .cloned()
        .collect();
    let mut edits = vec![Edit::replace(
        analysis::extent_with_comments(doc, b),
        copy_lines(doc, &broad, &fresh),
    )];
    let broad_text =
        analysis::with_newline(doc, doc.slice(&analysis::extent_with_comments(doc, b)));
    if split {
        let moved = &doc.text()[run.extent.start..commands[end].span.end];
        edits.push(Edit::insert(
            analysis::extent_with_comments(doc, target.ix).start,
            format!("{moved}{nl}{broad_text}"),
        ));
        edits.push(Edit::delete(
            commands[0].span.start..commands[end + 1].span.start,
        ));
    } else {
        edits.push(insert_after(doc, run, &broad_text));
    }

    let earlier: Vec<Manifest> = manifests
        .iter()
        .filter(|m| !fresh.contains(m))
        .cloned()
        .collect();
    let copied = match (fresh.as_slice(), earlier.as_slice()) {
        ([], _) => format!("{} already copied before it", listed(&earlier)),
        (_, []) => format!("{} copied first", listed(&fresh)),
        _ => format!(
            "{} copied first ({} already {})",
            listed(&fresh),
            names(&earlier),
            if earlier.len() == 1 { "was" } else { "were" }
        ),
    };
    let mut reason = format!(
        "`{}` ran after `{} {}`, so every source change invalidated its layer and re-installed every dependency; now {copied}, the install runs before the sources, and its layer stays cached until they change",
        installs,
        instructions[b].kind,
        one_line(doc.slice(&instructions[b].args)),
    );
    if split {
        let rest = commands[end + 1].span.start..commands[commands.len() - 1].span.end;
        reason.push_str(&format!(
            "; the rest of the RUN (`{}`) stays after the sources",
            one_line(&doc.text()[rest])
        ));
    }
    let applicability = unsafe_because(&mut reason, broad.unsafe_reason.as_slice());
    Ok(Some(
        Change::new(ID, applicability, run.extent.start, TITLE, reason).with_edits(edits),
    ))
}

/// Inserts `text` (ending with a newline) right after instruction `ins`.
fn insert_after(doc: &Document, ins: &Instruction, text: &str) -> Edit {
    let end = ins.extent.end;
    if doc.text()[..end].ends_with('\n') {
        Edit::insert(end, text.to_string())
    } else {
        // The file ends without a newline: keep it that way.
        let nl = doc.style().nl();
        Edit::insert(end, format!("{nl}{}", text.trim_end_matches(['\n', '\r'])))
    }
}

/// The broad copy must be movable: one source, flags restage can carry, a destination it can
/// write, and the install must run in the directory it fills.
fn check_broad(doc: &Document, stage: &Stage, b: usize, run: usize) -> Result<Broad, String> {
    let instructions = doc.instructions();
    let ins = &instructions[b];
    let kw = ins.kind;
    if analysis::sources(ins).len() != 1 {
        return Err(format!("the {kw} of the context has several sources"));
    }
    if let Some(f) = ins
        .flags
        .iter()
        .find(|f| !CARRIED_FLAGS.contains(&f.name.as_str()))
    {
        return Err(format!(
            "the {kw} of the context uses `--{}`, which restage does not carry to a copy of the manifests",
            f.name
        ));
    }
    let dest_word = analysis::destination(ins).ok_or("the copy has no destination")?;
    let json = doc.slice(&ins.args).trim_start().starts_with('[');
    let dest = if json {
        dest_word.value.clone()
    } else {
        doc.slice(&dest_word.span).to_string()
    };
    if dest.is_empty()
        || !dest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-@+:$~{}".contains(c))
    {
        return Err(format!(
            "the destination `{dest}` is not a plain path restage can reuse"
        ));
    }
    let flags = ins
        .flags
        .iter()
        .map(|f| doc.slice(&f.span))
        .collect::<Vec<_>>()
        .join(" ");

    // The install runs where the broad copy writes.
    let between = &instructions[b + 1..run];
    let workdir_between = between.iter().any(|i| i.kind == Kind::Workdir);
    let at_broad = analysis::workdir_at(doc, stage, b);
    let at_run = analysis::workdir_at(doc, stage, run);
    let is_dot = matches!(dest.as_str(), "." | "./");
    let mut unsafe_reason = None;
    let same_dir = if dest.contains('$') {
        // `WORKDIR $APP` ... `COPY . $APP`: the same text, expanded the same way (no ENV or
        // ARG in between sets its variables).
        let workdir = (stage.from + 1..b)
            .rev()
            .find(|&i| instructions[i].kind == Kind::Workdir);
        let refs = analysis::variable_refs(&dest);
        workdir.is_some_and(|w| {
            let text = instructions[w]
                .words
                .first()
                .map(|w| w.value.trim().trim_end_matches('/').to_string());
            text.as_deref() == Some(dest.trim_end_matches('/'))
                && instructions[w + 1..b].iter().all(|i| {
                    analysis::declared(doc, i)
                        .iter()
                        .all(|d| !refs.contains(&d.name))
                })
        }) && !workdir_between
    } else if dest.starts_with('/') {
        let resolved = analysis::workdir_resolution(doc, stage, run);
        let same = resolved.value.known() == Some(analysis::normalize(&dest).as_str());
        if same {
            unsafe_reason = resolved
                .arg_reason()
                .map(|why| format!("the install's WORKDIR is `{dest}` only by default: {why}"));
        }
        same
    } else {
        // A WORKDIR in between that leaves the directory as it was (`WORKDIR .`, or the same
        // path again) is no move, whether that directory is known or the image's own.
        is_dot
            && (!workdir_between
                || (!matches!(at_broad, analysis::Workdir::Unknown) && at_broad == at_run))
    };
    if !same_dir {
        return Err(format!(
            "the install does not run in the directory the {kw} of the context fills (`{dest}`), so restage cannot tell which manifests it reads"
        ));
    }
    if !dest.starts_with('/') && !dest.starts_with('$') && at_broad != at_run {
        return Err(format!(
            "a WORKDIR between the {kw} and the install changes where a relative destination points"
        ));
    }
    // Moving the broad copy past ENV/ARG must not change what its variables expand to.
    let refs = analysis::variable_refs(doc.slice(&ins.extent));
    for i in between {
        if let Some(name) = analysis::declared(doc, i)
            .iter()
            .map(|d| &d.name)
            .find(|n| refs.contains(n))
        {
            return Err(format!(
                "the {kw} of the context uses `${name}`, which {} {} between it and the install sets",
                article(i.kind),
                i.kind
            ));
        }
    }
    let dest = if dest.ends_with('/') {
        dest
    } else if is_dot {
        "./".to_string()
    } else {
        format!("{dest}/")
    };
    Ok(Broad {
        flags,
        dest,
        unsafe_reason,
    })
}

/// Every instruction between the broad copy and the install must be able to run before the
/// sources are copied, and the install may depend on any of them, so they stay before it.
fn check_between(
    doc: &Document,
    ctx: &Context,
    stage: &Stage,
    b: usize,
    run: usize,
) -> Result<(), String> {
    let instructions = doc.instructions();
    let tree = tree_of(doc, stage, b);
    for (ix, ins) in instructions.iter().enumerate().take(run).skip(b + 1) {
        let line = analysis::place_of(doc, ix);
        match ins.kind {
            Kind::Workdir
            | Kind::Env
            | Kind::Arg
            | Kind::User
            | Kind::Shell
            | Kind::Expose
            | Kind::Label
            | Kind::Cmd
            | Kind::Entrypoint
            | Kind::Healthcheck
            | Kind::Stopsignal
            | Kind::Maintainer => {}
            Kind::Copy | Kind::Add => {
                let outside = match (&tree, analysis::resolved_destination(doc, stage, ix)) {
                    (Some(tree), Some(dest)) => {
                        !analysis::is_within(&dest, tree) && !analysis::is_within(tree, &dest)
                    }
                    _ => false,
                };
                if !outside {
                    return Err(format!(
                        "the {} at {line}, between the copy of the context and the install, writes where the sources go",
                        ins.kind
                    ));
                }
            }
            Kind::Run => {
                let Some(commands) = analysis::commands(doc, ins) else {
                    return Err(format!(
                        "the RUN at {line}, between the copy of the context and the install, uses shell syntax restage does not read"
                    ));
                };
                if let Some(c) = commands
                    .iter()
                    .find(|c| !matches!(classify(ctx, c, tree.as_deref()), Class::Setup))
                {
                    return Err(format!(
                        "`{}` ({line}) runs between the copy of the context and the install and may need the sources",
                        command_text(c)
                    ));
                }
            }
            Kind::Volume | Kind::Onbuild | Kind::From => {
                return Err(format!(
                    "{} {} at {line} comes between the copy of the context and the install",
                    article(ins.kind),
                    ins.kind
                ));
            }
        }
    }
    Ok(())
}

/// True when an earlier COPY of the stage, with no RUN after it before the broad copy, already
/// brings root file `m` to the broad copy's destination with the same flags
/// (`COPY package*.json ./` ... `COPY . .` ... `RUN npm ci`).
fn copied_before(doc: &Document, stage: &Stage, b: usize, broad: &Broad, m: &Manifest) -> bool {
    if m.dir || m.path.contains('/') {
        return false;
    }
    let instructions = doc.instructions();
    let same_place = |ix: usize| {
        let (Some(here), Some(there)) = (
            analysis::destination(&instructions[ix]),
            analysis::destination(&instructions[b]),
        ) else {
            return false;
        };
        let norm = |d: &str| match d.trim_end_matches('/') {
            "" if d.starts_with('/') => "/".to_string(),
            "." | "" => ".".to_string(),
            other => other.to_string(),
        };
        match (
            analysis::resolved_destination(doc, stage, ix),
            analysis::resolved_destination(doc, stage, b),
        ) {
            (Some(x), Some(y)) => x == y,
            _ => {
                norm(&here.value) == norm(&there.value)
                    && analysis::workdir_at(doc, stage, ix) == analysis::workdir_at(doc, stage, b)
                    && !instructions[ix..b].iter().any(|i| i.kind == Kind::Workdir)
            }
        }
    };
    for ix in (stage.from + 1..b).rev() {
        let ins = &instructions[ix];
        if ins.kind == Kind::Run {
            return false;
        }
        if !analysis::copies_from_context(ins) || !ins.heredocs.is_empty() {
            continue;
        }
        let flags = ins
            .flags
            .iter()
            .map(|f| doc.slice(&f.span))
            .collect::<Vec<_>>()
            .join(" ");
        if flags != broad.flags || !same_place(ix) {
            continue;
        }
        let matches = analysis::sources(ins).iter().any(|s| {
            let src = s.value.trim_start_matches("./");
            glob_matches(src, &m.path)
        });
        if matches {
            return true;
        }
    }
    false
}

/// The `COPY` lines that bring the manifests to the broad copy's destination: root files in
/// one line, files in a subdirectory one line per directory, each directory on its own line.
fn copy_lines(doc: &Document, broad: &Broad, manifests: &[Manifest]) -> String {
    let style = doc.style();
    let nl = style.nl();
    let kw = style.keyword(Kind::Copy);
    let flags = if broad.flags.is_empty() {
        String::new()
    } else {
        format!("{} ", broad.flags)
    };
    let mut groups: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut dirs: Vec<&str> = Vec::new();
    for m in manifests {
        if m.dir {
            dirs.push(&m.path);
            continue;
        }
        let parent = m.path.rsplit_once('/').map_or("", |(p, _)| p).to_string();
        if !groups.contains_key(&parent) {
            order.push(parent.clone());
        }
        groups.entry(parent).or_default().push(&m.path);
    }
    // Root files first.
    order.sort_by_key(|p| !p.is_empty());
    let mut out = String::new();
    for parent in &order {
        let dest = if parent.is_empty() {
            broad.dest.clone()
        } else {
            format!("{}{parent}/", broad.dest)
        };
        out.push_str(&format!(
            "{kw} {flags}{} {dest}{nl}",
            groups[parent].join(" ")
        ));
    }
    for dir in dirs {
        out.push_str(&format!("{kw} {flags}{dir} {}{dir}/{nl}", broad.dest));
    }
    out
}

/// Environment variables that point a package manager at other manifests or another
/// directory.
const REDIRECTING_ENV: &[&str] = &[
    "BUNDLE_GEMFILE",
    "PIPENV_PIPFILE",
    "COMPOSER",
    "NPM_CONFIG_PREFIX",
    "npm_config_prefix",
    "YARN_CWD",
    "UV_PROJECT",
    "POETRY_PROJECT_DIR",
];

/// A flag that makes the install read its manifests from another directory or file, if any.
fn redirecting_flag<'a>(manager: &str, args: &[&'a str]) -> Option<&'a str> {
    let flags: &[&str] = match manager {
        "npm" => &["--prefix", "-C"],
        "yarn" => &["--cwd"],
        "pnpm" => &["-C", "--dir"],
        "poetry" => &["-C", "--directory", "-P", "--project"],
        "uv" => &["--directory", "--project"],
        "go" => &["-C", "-modfile"],
        "gradle" => &[
            "-p",
            "--project-dir",
            "-b",
            "--build-file",
            "-c",
            "--settings-file",
        ],
        "bundler" => &["--gemfile"],
        "composer" => &["-d", "--working-dir"],
        "cargo" => &["--manifest-path"],
        _ => &[],
    };
    args.iter().copied().find(|w| {
        flags.iter().any(|f| {
            *w == *f
                || w.strip_prefix(f).is_some_and(|rest| rest.starts_with('='))
                || (f.len() == 2
                    && !f.starts_with("--")
                    && w.starts_with(f)
                    && w.len() > 2
                    && !w.starts_with("--"))
        })
    })
}

/// Refuses when an ENV of the stage before the install points the package manager elsewhere.
fn check_redirecting_env(doc: &Document, stage: &Stage, run: usize) -> Result<(), String> {
    for ins in &doc.instructions()[stage.from + 1..run] {
        if ins.kind != Kind::Env {
            continue;
        }
        if let Some(name) = analysis::declared(doc, ins)
            .iter()
            .map(|d| &d.name)
            .find(|n| REDIRECTING_ENV.contains(&n.as_str()))
        {
            return Err(format!(
                "the ENV `{name}` points the install at other manifests"
            ));
        }
    }
    Ok(())
}

/// The files one install reads, as they exist in the build context, or why restage cannot
/// tell.
fn install_manifests(
    ctx: &Context,
    m: &CommandMatch,
    cmd: &SimpleCommand,
) -> Result<Vec<Manifest>, String> {
    let manager = m
        .manager
        .as_deref()
        .ok_or("the knowledge files name no package manager for it")?;
    let spec = ctx
        .knowledge
        .manifests(manager)
        .ok_or_else(|| format!("the knowledge files list no manifests for {manager}"))?;
    if !m.pure {
        // The manifest itself missing says more than why the install is not pure.
        if let Some(manifest) = spec.required.first() {
            require_copyable(ctx, manifest)?;
        }
        return Err(m.notes.first().cloned().unwrap_or_else(|| {
            "the knowledge files say it needs more than its manifests".to_string()
        }));
    }
    let words: Vec<&str> = cmd.program_words().iter().map(String::as_str).collect();
    if let Some(w) = words[1..]
        .iter()
        .find(|w| w.starts_with('$') || w.contains("$(") || w.contains('`'))
    {
        return Err(format!(
            "`{w}` is only known when the shell runs, so restage cannot tell what the install reads"
        ));
    }
    if let Some(flag) = redirecting_flag(manager, &words[1..]) {
        return Err(format!(
            "`{flag}` makes it read its manifests from another directory"
        ));
    }
    if let Some(var) = cmd
        .assignments()
        .iter()
        .filter_map(|a| a.split_once('=').map(|(n, _)| n))
        .find(|n| REDIRECTING_ENV.contains(n))
    {
        return Err(format!(
            "`{var}` makes it read its manifests from another place"
        ));
    }
    let mut named: Vec<String> = Vec::new();
    match manager {
        "npm" | "yarn" | "pnpm" => node_checks(ctx, m, spec)?,
        "pip" => named = requirement_files(ctx, m, &words)?,
        "uv" => {
            if m.manifests.is_empty() {
                local_sources(ctx, "pyproject.toml")?;
            } else {
                named = requirement_files(ctx, m, &words)?;
            }
        }
        "poetry" => local_sources(ctx, "pyproject.toml")?,
        "pipenv" => local_sources(ctx, "Pipfile")?,
        "go" => go_checks(ctx)?,
        "maven" => {
            let Some(pom) = ctx.build.pom.as_ref() else {
                require_copyable(ctx, "pom.xml")?;
                return Err("pom.xml could not be read".into());
            };
            if !pom.modules.is_empty() {
                return Err(format!(
                    "pom.xml is a multi-module build ({}), whose modules' pom.xml files the install needs too",
                    pom.modules.join(", ")
                ));
            }
            for f in &m.manifests {
                named.push(
                    context_path(f).ok_or_else(|| {
                        format!("it names `{f}`, a path outside the build context")
                    })?,
                );
            }
        }
        "gradle" => {
            for settings in ["settings.gradle", "settings.gradle.kts"] {
                local_sources(ctx, settings)?;
            }
        }
        "bundler" => local_sources(ctx, "Gemfile")?,
        "composer" => {
            if !words.contains(&"--no-autoloader") {
                return Err("without --no-autoloader, composer install also writes the autoloader, which scans the sources (classmap, --optimize-autoloader); add --no-autoloader and run `composer dump-autoload` after COPY".into());
            }
            local_sources(ctx, "composer.json")?;
        }
        _ => {}
    }
    collect_manifests(ctx, spec, &named)
}

/// The manifests of a manager that exist and can be copied: every `required` one (or an
/// error), at least one `required_any`, the lockfiles and optional files present, and the
/// files the command names.
fn collect_manifests(
    ctx: &Context,
    spec: &Manifests,
    named: &[String],
) -> Result<Vec<Manifest>, String> {
    let mut out: Vec<Manifest> = Vec::new();
    let add = |path: String, out: &mut Vec<Manifest>| {
        let dir = ctx.build.is_dir(&path);
        let m = Manifest { path, dir };
        if !out.contains(&m) {
            out.push(m);
        }
    };
    for pattern in &spec.required {
        for path in expand(ctx, pattern)? {
            require_copyable(ctx, &path)?;
            add(path, &mut out);
        }
    }
    if !spec.required_any.is_empty() {
        let mut any = false;
        for pattern in &spec.required_any {
            for path in expand(ctx, pattern)? {
                if ctx.build.is_copyable(&path) {
                    any = true;
                    add(path, &mut out);
                }
            }
        }
        if !any {
            return Err(format!(
                "none of {} is in the build context (or they are excluded by .dockerignore)",
                spec.required_any.join(", ")
            ));
        }
    }
    for pattern in spec.lockfiles.iter().chain(&spec.optional) {
        for path in expand(ctx, pattern)? {
            if ctx.build.is_copyable(&path) {
                add(path, &mut out);
            }
        }
    }
    for path in named {
        require_copyable(ctx, path)?;
        add(path.clone(), &mut out);
    }
    if out.is_empty() {
        return Err("restage found no manifest to copy for it".into());
    }
    if let Some(odd) = out.iter().find(|m| {
        !m.path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-+@/".contains(c))
    }) {
        return Err(format!(
            "the manifest `{}` has characters restage does not write into a COPY line",
            odd.path
        ));
    }
    Ok(out)
}

fn require_copyable(ctx: &Context, path: &str) -> Result<(), String> {
    match ctx.build.unsent(path) {
        Some(why) => Err(why.describe(path)),
        None => Ok(()),
    }
}

/// The context paths a manifest pattern stands for: itself when literal; the listed root
/// names it matches when the context lists every candidate; nothing when its directory does
/// not exist; otherwise restage cannot tell.
fn expand(ctx: &Context, pattern: &str) -> Result<Vec<String>, String> {
    if !pattern.contains(['*', '?', '[', '{']) {
        return Ok(vec![pattern.to_string()]);
    }
    let cannot = || {
        Err(format!(
            "restage cannot list which files `{pattern}` matches in the build context"
        ))
    };
    if pattern.contains("**") {
        return cannot();
    }
    if let Some((parent, _)) = pattern.rsplit_once('/') {
        if parent.contains(['*', '?', '[', '{']) || ctx.build.exists(parent) {
            return cannot();
        }
        return Ok(Vec::new());
    }
    if !LISTED_ROOT_GLOBS.contains(&pattern) {
        return cannot();
    }
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .map_err(|e| format!("bad manifest glob `{pattern}`: {e}"))?;
    Ok(ctx
        .build
        .files
        .keys()
        .filter(|name| glob_matches(pattern, name))
        .cloned()
        .collect())
}

/// `pattern` (a Docker COPY source glob, `*` not crossing `/`) matches `path`. Literal patterns
/// compare directly; compiled globs are kept per thread, since the same few patterns
/// (`package*.json`, `requirements*.txt`) recur across thousands of files.
fn glob_matches(pattern: &str, path: &str) -> bool {
    if !pattern.contains(['*', '?', '[', '{', '\\']) {
        return pattern == path;
    }
    thread_local! {
        static CACHE: std::cell::RefCell<std::collections::HashMap<String, Option<globset::GlobMatcher>>> =
            std::cell::RefCell::new(std::collections::HashMap::new());
    }
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.len() > 4096 {
            cache.clear();
        }
        cache
            .entry(pattern.to_string())
            .or_insert_with(|| {
                GlobBuilder::new(pattern)
                    .literal_separator(true)
                    .build()
                    .ok()
                    .map(|g| g.compile_matcher())
            })
            .as_ref()
            .is_some_and(|m| m.is_match(path))
    })
}

/// Refuses when a manifest pulls in local sources (path dependencies, workspaces, included
/// builds) or could not be read.
fn local_sources(ctx: &Context, manifest: &str) -> Result<(), String> {
    match ctx.build.local_sources(manifest) {
        None => Ok(()),
        Some(Err(e)) => Err(format!("{manifest} could not be read ({e})")),
        Some(Ok([])) => Ok(()),
        Some(Ok(found)) => Err(format!(
            "{manifest} pulls in local sources the install would need ({}), which are not copied before it",
            found.join(", ")
        )),
    }
}

fn node_checks(ctx: &Context, m: &CommandMatch, spec: &Manifests) -> Result<(), String> {
    let pkg = match &ctx.build.package_json {
        Some(pkg) => pkg,
        None if ctx.build.exists("package.json") => {
            return Err("package.json could not be read".into());
        }
        None => return Err("package.json is not in the build context".into()),
    };
    if let Some(ws) = pkg.workspaces.as_ref().filter(|w| !w.is_empty()) {
        return Err(format!(
            "package.json declares workspaces ({}), and the install needs every workspace's package.json; restage does not list them",
            ws.join(", ")
        ));
    }
    if ctx.build.exists("pnpm-workspace.yaml") {
        return Err(
            "pnpm-workspace.yaml makes it a workspace, and the install needs every workspace's package.json; restage does not list them"
                .into(),
        );
    }
    if m.runs_scripts {
        let hooks: Vec<String> = spec
            .lifecycle_scripts
            .iter()
            .filter_map(|h| pkg.script(h).map(|cmd| format!("`{h}` (`{cmd}`)")))
            .collect();
        if !hooks.is_empty() {
            return Err(format!(
                "the install runs package.json's {} script{}, which may need the sources",
                hooks.join(", "),
                if hooks.len() == 1 { "" } else { "s" },
            ));
        }
        if ctx.build.exists("binding.gyp") {
            return Err(
                "binding.gyp is in the build context: the install builds that native addon from the sources"
                    .into(),
            );
        }
    }
    local_sources(ctx, "package.json")
}

/// The requirement files `pip install -r` reads (and the files they include), when every one
/// is a root `requirements*.txt` restage read and none points at local sources.
fn requirement_files(
    ctx: &Context,
    m: &CommandMatch,
    words: &[&str],
) -> Result<Vec<String>, String> {
    // `--find-links ./wheels` reads a directory of the context.
    let mut iter = words.iter().peekable();
    while let Some(w) = iter.next() {
        let value = match *w {
            "-f" | "--find-links" => iter.peek().copied().copied(),
            w if w.starts_with("--find-links=") => w.strip_prefix("--find-links="),
            w if w.starts_with("-f") && w.len() > 2 && !w.starts_with("--") => w.get(2..),
            _ => None,
        };
        if let Some(v) = value
            && !(v.starts_with("http://") || v.starts_with("https://"))
        {
            return Err(format!("it reads packages from `{v}` (--find-links)"));
        }
    }
    let mut out: Vec<String> = Vec::new();
    for f in &m.manifests {
        let rel = context_path(f)
            .ok_or_else(|| format!("it names `{f}`, a path outside the build context"))?;
        let Some(file) = ctx.build.requirements_file(&rel) else {
            // Missing or left out: say so, rather than where restage looks.
            require_copyable(ctx, &rel)?;
            return Err(if rel.contains('/') {
                format!(
                    "restage reads requirements files only at the context root (`requirements*.txt`), not `{f}`"
                )
            } else {
                format!(
                    "restage reads only the requirements files named `requirements*.txt` at the context root, and `{f}` is named otherwise"
                )
            });
        };
        match (&file.refs, file.needs_sources()) {
            (Some(refs), Some(false)) => {
                if !out.contains(&rel) {
                    out.push(rel.clone());
                }
                for inc in &refs.includes {
                    if !out.contains(inc) {
                        out.push(inc.clone());
                    }
                }
            }
            (Some(refs), _) => {
                return Err(format!(
                    "{rel} installs local sources ({})",
                    refs.local.join(", ")
                ));
            }
            (None, _) => return Err(format!("{rel} could not be read")),
        }
    }
    if out.is_empty() {
        return Err("it names no requirements file".into());
    }
    Ok(out)
}

fn go_checks(ctx: &Context) -> Result<(), String> {
    let go_mod = match &ctx.build.go_mod {
        Some(m) => m,
        None if ctx.build.exists("go.mod") => return Err("go.mod could not be read".into()),
        None => return Err("go.mod is not in the build context".into()),
    };
    if !go_mod.local_replaces.is_empty() {
        return Err(format!(
            "go.mod replaces modules with local directories ({}), which the download needs",
            go_mod.local_replaces.join(", ")
        ));
    }
    if ctx.build.is_copyable("go.work") {
        return Err(
            "go.work makes it a workspace, whose modules the download needs; restage does not list them"
                .into(),
        );
    }
    Ok(())
}

/// Refuses when the install writes a dependency directory that the context also has: the
/// broad copy, now after the install, would overwrite what it installed.
fn check_dependency_dirs(ctx: &Context, m: &CommandMatch) -> Result<(), String> {
    let mut dirs: Vec<String> = ctx
        .knowledge
        .ecosystem(&m.ecosystem)
        .map(|e| {
            e.dependency_dirs
                .iter()
                .filter(|d| !d.starts_with('/') && !d.contains('*'))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    if matches!(m.manager.as_deref(), Some("uv" | "poetry" | "pipenv")) {
        dirs.push(".venv".to_string());
    }
    match dirs.iter().find(|d| ctx.build.is_copyable(d)) {
        Some(d) => Err(format!(
            "{d} is in the build context and not excluded by .dockerignore: copied after the install, it would overwrite the installed dependencies; add {d} to .dockerignore"
        )),
        None => Ok(()),
    }
}

// --- Cargo: the stub-source trick -----------------------------------------------------------

fn cargo_plan(
    doc: &Document,
    ctx: &Context,
    stage: &Stage,
    b: usize,
    target: &Target,
) -> Result<Option<Change>, String> {
    let instructions = doc.instructions();
    let run = &instructions[target.ix];
    if run.flags.iter().any(|f| f.name == "mount") {
        // A cache mount already keeps the compiled dependencies.
        return Ok(None);
    }
    let cmd = &target.commands[target.focus];
    if target.focus != 0 {
        return Err("`cargo build` is not the first command of its RUN".into());
    }
    let words: Vec<&str> = cmd.program_words().iter().map(String::as_str).collect();
    if let Some(flag) = redirecting_flag("cargo", &words[1..]) {
        return Err(format!("`{flag}` builds another manifest"));
    }
    if cmd.expands {
        return Err("the build command uses shell expansions".into());
    }
    let Some(cargo) = ctx.build.cargo.as_ref() else {
        let why = match require_copyable(ctx, "Cargo.toml") {
            Err(why) => why,
            Ok(()) => "Cargo.toml could not be read".into(),
        };
        return Err(format!(
            "a Cargo build compiles every dependency again after each source change, and {why}"
        ));
    };
    let stub = "the stub-source trick (build the dependencies from the manifests and an empty src/main.rs)";
    if cargo.is_workspace_root() {
        return Err(format!(
            "Cargo.toml is a workspace, whose members {stub} would need"
        ));
    }
    let name = cargo
        .package_name
        .as_deref()
        .ok_or("Cargo.toml has no package")?;
    if cargo.bins.as_deref() != Some(&[name.to_string()][..]) || !ctx.build.exists("src/main.rs") {
        return Err(format!(
            "{stub} only fits a package with one binary at src/main.rs"
        ));
    }
    if ctx.build.exists("build.rs") {
        return Err(format!(
            "build.rs is part of the build, which {stub} leaves out"
        ));
    }
    let clean = cargo_clean(cmd, name)?;
    let broad = check_broad(doc, stage, b, target.ix)?;
    check_between(doc, ctx, stage, b, target.ix)?;
    let spec = ctx
        .knowledge
        .manifests("cargo")
        .ok_or("the knowledge files list no manifests for cargo")?;
    let manifests = collect_manifests(ctx, spec, &[])?;

    let style = doc.style();
    let nl = style.nl();
    let flags: String = run
        .flags
        .iter()
        .map(|f| format!(" {}", doc.slice(&f.span)))
        .collect();
    let stub_run = format!(
        "{}{flags} mkdir -p src && echo 'fn main() {{}}' > src/main.rs && {} && {clean} && rm -rf src{nl}",
        style.keyword(Kind::Run),
        doc.slice(&cmd.span),
    );
    let broad_text =
        analysis::with_newline(doc, doc.slice(&analysis::extent_with_comments(doc, b)));
    let edits = vec![
        Edit::replace(
            analysis::extent_with_comments(doc, b),
            copy_lines(doc, &broad, &manifests),
        ),
        Edit::insert(
            analysis::extent_with_comments(doc, target.ix).start,
            format!("{stub_run}{broad_text}"),
        ),
    ];
    let mut reason = format!(
        "`{}` ran after `{} {}`, so every source change recompiled every dependency; now {} copied first and the dependencies are built against an empty src/main.rs; `cargo clean -p` then removes the stub's own build, so the real sources are compiled after the copy",
        command_text(cmd),
        instructions[b].kind,
        one_line(doc.slice(&instructions[b].args)),
        listed(&manifests)
    );
    let applicability = unsafe_because(
        &mut reason,
        &["restage assumes the package builds from its manifests and that stub alone: no path dependencies, and no [[example]], [[bench]] or [[test]] target that needs its file".to_string()],
    );
    Ok(Some(
        Change::new(
            ID,
            applicability,
            run.extent.start,
            "Build the dependencies before copying the sources",
            reason,
        )
        .with_edits(edits),
    ))
}

/// `cargo clean -p <package>` with the build's profile, target and target directory (and its
/// leading assignments), so it removes exactly the stub's artifacts wherever the build put them.
fn cargo_clean(build: &SimpleCommand, package: &str) -> Result<String, String> {
    let plain = |w: &str| {
        w.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/=:+@,".contains(c))
    };
    let mut out: Vec<String> = build.assignments().to_vec();
    out.extend(["cargo", "clean", "-p", package].map(String::from));
    let words = build.program_words();
    let mut i = 2;
    while i < words.len() {
        let w = words[i].as_str();
        match w {
            "--release" | "-r" => out.push("--release".into()),
            "--profile" | "--target" | "--target-dir" | "--config" => {
                let value = words
                    .get(i + 1)
                    .ok_or("the build command ends with a flag")?;
                out.push(w.to_string());
                out.push(value.clone());
                i += 1;
            }
            _ if ["--profile=", "--target=", "--target-dir=", "--config="]
                .iter()
                .any(|f| w.starts_with(f)) =>
            {
                out.push(w.to_string());
            }
            _ => {}
        }
        i += 1;
    }
    match out.iter().find(|w| !plain(w)) {
        Some(w) => Err(format!(
            "`{w}` in the build command is not a plain word restage can repeat"
        )),
        None => Ok(out.join(" ")),
    }
}

// --- Commands --------------------------------------------------------------------------------

fn classify(ctx: &Context, cmd: &SimpleCommand, tree: Option<&str>) -> Class {
    // A command substitution runs code restage cannot see.
    let substitutes = cmd.expands
        && cmd
            .words
            .iter()
            .any(|w| w.contains("$(") || w.contains('`'));
    if let Some(m) = ctx.knowledge.classify_command(&cmd.words) {
        let program_words = cmd.program_words();
        return match m.kind {
            CommandKind::DependencyInstall => Class::Install(m),
            CommandKind::InstallsProject => Class::Project(m),
            CommandKind::Build
                if m.manager.as_deref() == Some("cargo")
                    && program_words
                        .iter()
                        .skip(1)
                        .find(|w| !w.starts_with('-'))
                        .is_some_and(|w| w == "build" || w == "b") =>
            {
                Class::CargoBuild(m)
            }
            CommandKind::AddsPackages if !substitutes && adds_tools(&m, program_words) => {
                Class::Setup
            }
            _ => Class::Known,
        };
    }
    let pw: Vec<&str> = cmd.program_words().iter().map(String::as_str).collect();
    let Some(first) = pw.first() else {
        return Class::Known;
    };
    if substitutes {
        return Class::Unknown;
    }
    let program = crate::shell::base_name(first);
    let sub = pw.iter().skip(1).find(|w| !w.starts_with('-')).copied();
    let has = |flag: &str| {
        pw.iter().any(|w| {
            w.strip_prefix(flag)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('='))
        })
    };
    let setup = match program {
        p if SYSTEM_COMMANDS.contains(&p) || NEUTRAL.contains(&p) => true,
        "corepack" => {
            matches!(sub, Some("enable" | "disable" | "prepare"))
                || (sub == Some("install") && (has("-g") || has("--global")))
        }
        "npm" => match sub {
            Some("cache") => true,
            Some("config") => !pw.iter().any(|w| w.contains("project")),
            _ => false,
        },
        "yarn" => match sub {
            Some("cache") => true,
            // Yarn 1 writes ~/.yarnrc; Yarn 2+ writes the project's .yarnrc.yml unless --home.
            Some("config") => {
                has("-H")
                    || has("--home")
                    || (super::facts::yarn_major(ctx).is_none_or(|v| v < 2)
                        && !ctx.build.exists(".yarnrc.yml"))
            }
            _ => false,
        },
        "pnpm" => match sub {
            Some("store") => true,
            Some("config") => !pw.iter().any(|w| w.contains("project")),
            _ => false,
        },
        "pip" | "pip3" => matches!(sub, Some("cache" | "config")),
        "poetry" => sub == Some("config") && !has("--local"),
        "bundle" | "bundler" => {
            sub == Some("config") && (!has("--local") || !ctx.build.is_copyable(".bundle"))
        }
        "gem" => matches!(sub, Some("update" | "sources")),
        "composer" | "composer.phar" => match sub {
            Some("clear-cache" | "clearcache" | "cc" | "self-update" | "selfupdate") => true,
            Some("config") => has("-g") || has("--global"),
            _ => false,
        },
        "go" => match sub {
            Some("env") => has("-w"),
            Some("clean") => has("-modcache") || has("-cache"),
            _ => false,
        },
        "git" => sub == Some("config") && (has("--global") || has("--system")),
        "python" | "python3" | "virtualenv" => venv_path(&pw).is_some_and(|p| outside(p, tree)),
        p if p.starts_with("python3.") => venv_path(&pw).is_some_and(|p| outside(p, tree)),
        "rm" | "mkdir" | "touch" | "ln" => {
            let paths: Vec<&str> = pw[1..]
                .iter()
                .filter(|w| !w.starts_with('-'))
                .copied()
                .collect();
            !paths.is_empty() && paths.iter().all(|p| outside(p, tree))
        }
        "chmod" | "chown" | "chgrp" => {
            let args: Vec<&str> = pw[1..]
                .iter()
                .filter(|w| !w.starts_with('-'))
                .copied()
                .collect();
            args.len() > 1 && args[1..].iter().all(|p| outside(p, tree))
        }
        _ => false,
    };
    if setup {
        Class::Setup
    } else if FILE_COMMANDS.contains(&program) {
        Class::Known
    } else {
        Class::Unknown
    }
}

/// An adds-packages command that installs tools, not the project's dependencies: it reads no
/// manifest (`pip install --upgrade pip`, `npm install -g pnpm`, `gem install bundler`).
fn adds_tools(m: &CommandMatch, words: &[String]) -> bool {
    let has = |w: &str| words.iter().any(|x| x == w);
    match m.manager.as_deref() {
        Some("pip") => m.manifests.is_empty(),
        Some("uv") => {
            m.manifests.is_empty() && words.get(1).is_some_and(|w| w == "pip" || w == "tool")
        }
        Some("npm" | "pnpm") => has("-g") || has("--global"),
        Some("yarn") => words.get(1).is_some_and(|w| w == "global"),
        Some("bundler") => m.program == "gem",
        Some("composer") => has("global"),
        _ => false,
    }
}

/// The directory of `python -m venv DIR` / `virtualenv DIR`.
fn venv_path<'a>(words: &[&'a str]) -> Option<&'a str> {
    let rest: Vec<&str> = match words {
        [p, "-m", "venv", rest @ ..] if !p.is_empty() => rest.to_vec(),
        ["virtualenv", rest @ ..] => rest.to_vec(),
        _ => return None,
    };
    let paths: Vec<&str> = rest.into_iter().filter(|w| !w.starts_with('-')).collect();
    match paths.as_slice() {
        [one] => Some(one),
        _ => None,
    }
}

/// True when `path` cannot be part of the copied sources: a scratch path of the system, a
/// home directory, or an absolute path outside the (known) application directory.
fn outside(path: &str, tree: Option<&str>) -> bool {
    if path.contains('$') {
        return false;
    }
    if path.starts_with("~/") || path == "~" {
        return tree.is_some_and(|t| t != "/");
    }
    if !path.starts_with('/') {
        return false;
    }
    let p = analysis::normalize(path.trim_end_matches('*'));
    if SCRATCH_PATHS.iter().any(|s| analysis::is_within(&p, s)) {
        return true;
    }
    match tree {
        Some(t) => !analysis::is_within(&p, t) && !analysis::is_within(t, &p),
        None => false,
    }
}

/// A path relative to the context root (`./requirements.txt` -> `requirements.txt`); `None`
/// for absolute paths, variables and paths that climb out.
fn context_path(path: &str) -> Option<String> {
    if path.starts_with('/') || path.contains('$') {
        return None;
    }
    crate::context::normalize_rel(path).filter(|p| !p.is_empty())
}

/// Manifest paths for a message, directories with a trailing `/`.
fn names(manifests: &[Manifest]) -> String {
    manifests
        .iter()
        .map(|m| {
            if m.dir {
                format!("{}/", m.path)
            } else {
                m.path.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `names` with its verb: `package.json is`, `package.json, package-lock.json are`.
fn listed(manifests: &[Manifest]) -> String {
    let verb = if manifests.len() == 1 { "is" } else { "are" };
    format!("{} {verb}", names(manifests))
}

/// `a` or `an` before a keyword.
fn article(kind: Kind) -> &'static str {
    if kind.keyword().starts_with(['A', 'E', 'O']) {
        "an"
    } else {
        "a"
    }
}

/// A command's words as one line (for messages).
fn command_text(cmd: &SimpleCommand) -> String {
    cmd.words.join(" ")
}

/// Text on one line, whitespace and line continuations folded (for messages). Comment lines
/// inside the continuation, which the builder drops, are dropped too.
fn one_line(text: &str) -> String {
    text.lines()
        .enumerate()
        .filter(|(n, l)| *n == 0 || !l.trim_start().starts_with('#'))
        .flat_map(|(_, l)| l.split_whitespace())
        .filter(|w| *w != "\\" && *w != "`")
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;
    use crate::context::{BuildContext, EntryKind, PackageJson};
    use crate::edit::Applicability;
    use crate::knowledge::Knowledge;
    use crate::syntax::parse;

    /// An in-memory build context holding `files` (a trailing `/` makes a directory).
    fn context(files: &[&str]) -> BuildContext {
        let mut build = BuildContext::default();
        for f in files {
            let (name, kind) = match f.strip_suffix('/') {
                Some(d) => (d, EntryKind::Dir),
                None => (*f, EntryKind::File),
            };
            build.files.insert(name.to_string(), kind);
        }
        if files.contains(&"package.json") {
            build.package_json = Some(PackageJson::default());
        }
        build
    }

    /// The text after applying every change of one run, and the changes.
    fn rewrite(text: &str, build: &BuildContext) -> (String, Vec<Change>) {
        let knowledge = Knowledge::builtin().expect("knowledge");
        let settings = Settings::default();
        let ctx = Context {
            knowledge: &knowledge,
            options: crate::transforms::TransformOptions::of(&settings),
            build,
        };
        let doc = parse(text).expect("parses");
        let changes = run(&doc, &ctx);
        let edits: Vec<Edit> = changes
            .iter()
            .filter(|c| c.applicability == Applicability::Safe)
            .flat_map(|c| c.edits.clone())
            .collect();
        let out = crate::edit::apply(text, &edits).expect("no overlap");
        (out, changes)
    }

    #[test]
    fn json_forms_and_an_absolute_destination() {
        let (out, _) = rewrite(
            "FROM node:20\nCOPY [\".\", \"/srv/app\"]\nWORKDIR /srv/app\nRUN [\"npm\", \"ci\"]\n",
            &context(&["package.json"]),
        );
        assert_eq!(
            out,
            "FROM node:20\nCOPY package.json /srv/app/\nWORKDIR /srv/app\nRUN [\"npm\", \"ci\"]\nCOPY [\".\", \"/srv/app\"]\n"
        );
    }

    #[test]
    fn variable_destination_matching_the_workdir() {
        let (out, _) = rewrite(
            "FROM python:3.12\nENV APP_HOME=/srv/app\nWORKDIR $APP_HOME\nCOPY . $APP_HOME\nRUN pip install -r requirements.txt\n",
            &BuildContext {
                requirements: vec![crate::context::RequirementsFile {
                    name: "requirements.txt".into(),
                    refs: Some(Default::default()),
                }],
                ..context(&["requirements.txt"])
            },
        );
        assert_eq!(
            out,
            "FROM python:3.12\nENV APP_HOME=/srv/app\nWORKDIR $APP_HOME\nCOPY requirements.txt $APP_HOME/\nRUN pip install -r requirements.txt\nCOPY . $APP_HOME\n"
        );
    }

    #[test]
    fn every_stage_gets_its_own_change() {
        let text = "FROM node:20 AS web\nWORKDIR /web\nCOPY . .\nRUN npm ci\n\nFROM golang:1.22 AS api\nWORKDIR /api\nCOPY . .\nRUN go mod download && go build -o /api/server .\n";
        let mut build = context(&["package.json", "go.mod"]);
        build.go_mod = Some(Default::default());
        let (out, changes) = rewrite(text, &build);
        assert_eq!(changes.len(), 2);
        assert_eq!(
            out,
            "FROM node:20 AS web\nWORKDIR /web\nCOPY package.json ./\nRUN npm ci\nCOPY . .\n\nFROM golang:1.22 AS api\nWORKDIR /api\nCOPY go.mod ./\nRUN go mod download\nCOPY . .\nRUN go build -o /api/server .\n"
        );
    }

    #[test]
    fn backtick_escape_continuations_split() {
        let (out, _) = rewrite(
            "# escape=`\nFROM node:20\nWORKDIR /app\nCOPY . .\nRUN npm ci `\n    && npm run build\n",
            &context(&["package.json"]),
        );
        assert_eq!(
            out,
            "# escape=`\nFROM node:20\nWORKDIR /app\nCOPY package.json ./\nRUN npm ci\nCOPY . .\nRUN npm run build\n"
        );
    }

    #[test]
    fn a_second_broad_copy_or_an_earlier_install_means_nothing_to_do() {
        let build = context(&["package.json"]);
        for text in [
            "FROM node:20\nCOPY . .\nRUN echo hi\nCOPY . .\nRUN npm ci\n",
            "FROM node:20\nCOPY package.json .\nRUN npm ci\nCOPY . .\nRUN npm ci --omit=dev\n",
            "FROM node:20\nCOPY . .\nRUN npm run build\n",
            "FROM node:20\nRUN npm ci\nCOPY . .\n",
        ] {
            let (out, changes) = rewrite(text, &build);
            assert!(changes.is_empty(), "{text}: {changes:?}");
            assert_eq!(out, text);
        }
    }

    #[test]
    fn setup_commands_read_no_source() {
        let knowledge = Knowledge::builtin().expect("knowledge");
        let settings = Settings::default();
        let build = context(&[]);
        let ctx = Context {
            knowledge: &knowledge,
            options: crate::transforms::TransformOptions::of(&settings),
            build: &build,
        };
        let class = |text: &str| {
            let cmds = crate::shell::split(text, 0, '\\').expect("splits");
            let c = classify(&ctx, &cmds[0], Some("/app"));
            match c {
                Class::Setup => "setup",
                Class::Known => "known",
                Class::Unknown => "unknown",
                Class::Install(_) => "install",
                Class::Project(_) => "project",
                Class::CargoBuild(_) => "cargo-build",
            }
        };
        for (text, want) in [
            ("apt-get install -y gcc", "setup"),
            ("rm -rf /var/lib/apt/lists/*", "setup"),
            ("rm -rf node_modules", "known"),
            ("rm -rf /app/tmp", "known"),
            ("mkdir -p /opt/tools", "setup"),
            ("chown -R node:node /app", "known"),
            ("pip install --upgrade pip", "setup"),
            ("pip install -r requirements.txt gunicorn", "known"),
            ("npm install -g pnpm@9", "setup"),
            ("npm install express", "known"),
            ("npm config set fund false", "setup"),
            ("npm cache clean --force", "setup"),
            ("corepack enable", "setup"),
            ("poetry config virtualenvs.create false", "setup"),
            (
                "poetry config --local virtualenvs.in-project true",
                "unknown",
            ),
            ("gem install bundler -v 2.5.9", "setup"),
            ("python3 -m venv /opt/venv", "setup"),
            ("python3 -m venv .venv", "unknown"),
            ("go env -w GOPROXY=direct", "setup"),
            ("git config --global url.x.insteadOf y", "setup"),
            ("cd web", "unknown"),
            ("./build.sh", "unknown"),
            ("npm run build", "known"),
            ("npm ci", "install"),
            ("pip install .", "project"),
            ("cargo build --release", "cargo-build"),
            ("cargo install --path .", "known"),
            ("echo $(cat package.json)", "unknown"),
            ("pip install $(cat tools.txt)", "known"),
            ("apt-get install -y $PACKAGES", "setup"),
            ("rm -rf $HOME/.cache", "known"),
        ] {
            assert_eq!(class(text), want, "{text}");
        }
    }

    #[test]
    fn installs_pointed_elsewhere_are_refused() {
        let build = context(&["package.json", "Gemfile", "Gemfile.lock"]);
        for text in [
            "FROM node:20\nCOPY . .\nRUN npm ci --prefix web\n",
            "FROM node:20\nCOPY . .\nRUN npm ci -Cweb\n",
            "FROM python:3.12\nCOPY . .\nRUN pip install -r $REQUIREMENTS\n",
            "FROM ruby:3.3\nCOPY . .\nRUN BUNDLE_GEMFILE=gems/Gemfile bundle install\n",
            "FROM ruby:3.3\nENV BUNDLE_GEMFILE=gems/Gemfile\nCOPY . .\nRUN bundle install\n",
        ] {
            let (out, changes) = rewrite(text, &build);
            assert_eq!(out, text);
            assert_eq!(changes.len(), 1, "{text}");
            assert_eq!(
                changes[0].applicability,
                Applicability::DisplayOnly,
                "{text}"
            );
        }
        // A value that is only a flag's argument does not change what is read.
        let (out, _) = rewrite(
            "FROM node:20\nCOPY . .\nRUN npm ci --registry=$REGISTRY\n",
            &build,
        );
        assert_eq!(
            out,
            "FROM node:20\nCOPY package.json ./\nRUN npm ci --registry=$REGISTRY\nCOPY . .\n"
        );
    }

    #[test]
    fn an_unreadable_dockerignore_blocks_the_copy() {
        let build = BuildContext {
            dockerignore: crate::context::DockerIgnoreState::Unknown {
                file: ".dockerignore".into(),
            },
            ..context(&["package.json"])
        };
        let text = "FROM node:20\nCOPY . .\nRUN npm ci\n";
        let (out, changes) = rewrite(text, &build);
        assert_eq!(out, text);
        assert!(
            changes[0]
                .reason
                .contains(".dockerignore could not be read")
        );
    }

    #[test]
    fn manifest_globs_expand_only_when_listed() {
        let knowledge = Knowledge::builtin().expect("knowledge");
        let settings = Settings::default();
        let build = context(&["widget.gemspec", "Gemfile", "gradle/"]);
        let ctx = Context {
            knowledge: &knowledge,
            options: crate::transforms::TransformOptions::of(&settings),
            build: &build,
        };
        assert_eq!(expand(&ctx, "*.gemspec").unwrap(), ["widget.gemspec"]);
        assert_eq!(expand(&ctx, "Gemfile").unwrap(), ["Gemfile"]);
        assert!(expand(&ctx, "**/*.csproj").is_err());
        assert!(expand(&ctx, "*.fsproj").is_err());
        assert!(
            expand(&ctx, "gradle/dependency-locks/*.lockfile")
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn context_paths() {
        assert_eq!(
            context_path("./requirements.txt").as_deref(),
            Some("requirements.txt")
        );
        assert_eq!(context_path("a/../b.txt").as_deref(), Some("b.txt"));
        assert_eq!(context_path("../x"), None);
        assert_eq!(context_path("/app/x"), None);
        assert_eq!(context_path("$REQS"), None);
        assert_eq!(context_path("."), None);
    }

    #[test]
    fn outside_the_application_directory() {
        assert!(outside("/var/lib/apt/lists/*", None));
        assert!(outside("/opt/venv", Some("/app")));
        assert!(!outside("/app/venv", Some("/app")));
        assert!(!outside("/", Some("/app")));
        assert!(!outside("/opt/venv", None));
        assert!(!outside("node_modules", Some("/app")));
        assert!(outside("~/.cache/pip", Some("/app")));
        assert!(!outside("~/.cache/pip", Some("/")));
        assert!(!outside("/$HOME/x", Some("/app")));
    }

    #[test]
    fn venv_paths() {
        assert_eq!(
            venv_path(&["python3", "-m", "venv", "/opt/venv"]),
            Some("/opt/venv")
        );
        assert_eq!(venv_path(&["virtualenv", "--copies", "/v"]), Some("/v"));
        assert_eq!(venv_path(&["python3", "app.py"]), None);
    }

    #[test]
    fn one_line_folds_continuations() {
        assert_eq!(
            one_line("--chown=a:b \\\n    . \\\n    /app"),
            "--chown=a:b . /app"
        );
        assert_eq!(
            one_line("npm ci \\\n# fall back\n  || npm install"),
            "npm ci || npm install"
        );
    }
}
