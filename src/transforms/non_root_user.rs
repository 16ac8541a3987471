//! `non-root-user`: the final stage runs as an unprivileged user, the way its base-image family
//! expects: the family's existing user (`node`, distroless `nonroot`, .NET `app`), a system user
//! created with the image's own tools (Debian/Ubuntu `groupadd`/`useradd`, Alpine/BusyBox
//! `addgroup`/`adduser`), a user the Dockerfile already creates, or numeric ids on `scratch`.
//! `USER` goes after the last instruction that needs root; application files stay root-owned
//! (read-only to the app) and the paths the app must write are given to the user: every
//! `VOLUME`, directories created for data, and the paths the frameworks the build context
//! reveals write into their own tree (users.toml `[[writer]]`: Rails `tmp`, Laravel `storage`,
//! SQLite's directory). Without readable manifests for an app it copies, the change is unsafe.
//! Images that manage their own user, entrypoints that drop privileges, and stages that already
//! run as non-root are left alone; unknown images and apps under `/root` get a suggestion.

use super::analysis::{self, Workdir};
use super::start::{self, StartCommand};
use super::{Context, Verdict, unsafe_because};
use crate::config::UserStyle;
use crate::edit::{Change, Edit};
use crate::knowledge::{ImageInfo, ImageRef, ImageRole, Os, UserPlan};
use crate::syntax::{Document, Kind, Stage};

const ID: &str = "non-root-user";

/// Title of a suggestion when restage cannot make the change.
const REFUSE_TITLE: &str = "Run the final stage as a non-root user";

pub(super) fn run(doc: &Document, ctx: &Context) -> Vec<Change> {
    plan(doc, ctx).into_changes(ID)
}

/// Who the final stage will run as.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Who {
    /// A user the base image already has.
    Existing { name: String, uid: u32, gid: u32 },
    /// A user restage creates with the image family's command.
    Create {
        name: String,
        uid: u32,
        gid: u32,
        command: String,
    },
    /// Numeric ids only (no user database, no tools to create one).
    Numeric { uid: u32, gid: u32 },
    /// A user the Dockerfile itself creates (and never switches to).
    Declared {
        name: String,
        uid: Option<u32>,
        gid: Option<u32>,
        line: analysis::Place,
    },
}

impl Who {
    /// The argument of the `USER` instruction.
    fn user_value(&self, style: UserStyle) -> String {
        match (self, style) {
            (Who::Numeric { uid, gid }, _)
            | (Who::Existing { uid, gid, .. } | Who::Create { uid, gid, .. }, UserStyle::Numeric) => {
                ids(*uid, *gid)
            }
            (Who::Existing { name, .. } | Who::Create { name, .. }, UserStyle::Named) => {
                name.clone()
            }
            (
                Who::Declared {
                    uid: Some(uid),
                    gid,
                    ..
                },
                UserStyle::Numeric,
            ) => match gid {
                Some(gid) => ids(*uid, *gid),
                None => number(*uid),
            },
            (Who::Declared { name, .. }, _) => name.clone(),
        }
    }

    /// The owner for `chown` and `COPY --chown`: numeric ids where known (they need no user
    /// database and cannot be mistaken).
    fn owner(&self) -> String {
        match self {
            Who::Existing { uid, gid, .. }
            | Who::Create { uid, gid, .. }
            | Who::Numeric { uid, gid } => ids(*uid, *gid),
            Who::Declared { name, uid, gid, .. } => {
                let mut user = uid.map_or_else(|| name.clone(), number);
                if let Some(g) = gid {
                    user.push(':');
                    push_number(&mut user, *g);
                }
                user
            }
        }
    }

    /// The change's title.
    fn title(&self) -> String {
        let mut s = String::with_capacity(64);
        match self {
            Who::Existing { name, .. } => {
                s.push_str("Run as the image's user ");
                s.push_str(name);
            }
            Who::Create { .. } => {
                s.push_str("Create user ");
                self.describe(&mut s);
                s.push_str(" and run as it");
            }
            Who::Numeric { .. } => {
                s.push_str("Run as ");
                self.describe(&mut s);
            }
            Who::Declared { name, .. } => {
                s.push_str("Run as ");
                s.push_str(name);
                s.push_str(", the user the Dockerfile creates");
            }
        }
        s
    }

    /// Where the user comes from, as a sentence about the image, appended to `s`.
    fn sentence(&self, s: &mut String) {
        match self {
            Who::Existing { .. } => {
                s.push_str("The image already has the user ");
                self.describe(s);
                s.push('.');
            }
            Who::Create { command, .. } => {
                s.push_str("It has no user for the app, so restage creates the system user ");
                self.describe(s);
                s.push_str(" with the image's own tools (");
                tools(command, s);
                s.push_str(").");
            }
            Who::Numeric { .. } => {
                s.push_str("It has no user database and no tools to create one, so the stage runs as the numeric ids ");
                self.describe(s);
                s.push('.');
            }
            Who::Declared { line, .. } => {
                s.push_str("The Dockerfile creates the user ");
                self.describe(s);
                let _ = std::fmt::Write::write_fmt(
                    s,
                    format_args!(" ({line}) but never switches to it."),
                );
            }
        }
    }

    /// `name (uid:gid)` for messages, appended to `s`.
    fn describe(&self, s: &mut String) {
        match self {
            Who::Existing { name, uid, gid } | Who::Create { name, uid, gid, .. } => {
                s.push_str(name);
                s.push_str(" (");
                push_number(s, *uid);
                s.push(':');
                push_number(s, *gid);
                s.push(')');
            }
            Who::Numeric { uid, gid } => {
                push_number(s, *uid);
                s.push(':');
                push_number(s, *gid);
            }
            Who::Declared { name, uid, gid, .. } => {
                s.push_str(name);
                match (uid, gid) {
                    (Some(u), Some(g)) => {
                        s.push_str(" (");
                        push_number(s, *u);
                        s.push(':');
                        push_number(s, *g);
                        s.push(')');
                    }
                    (Some(u), None) => {
                        s.push_str(" (uid ");
                        push_number(s, *u);
                        s.push(')');
                    }
                    _ => {}
                }
            }
        }
    }
}

/// `uid:gid`.
fn ids(uid: u32, gid: u32) -> String {
    let mut s = String::with_capacity(12);
    push_number(&mut s, uid);
    s.push(':');
    push_number(&mut s, gid);
    s
}

/// Appends where instruction `ix` is (`line 9`, see [`analysis::Place`]).
fn push_place(s: &mut String, doc: &Document, ix: usize) {
    analysis::place_of(doc, ix).push_to(s);
}

/// A number in decimal.
fn number(n: u32) -> String {
    let mut s = String::with_capacity(10);
    push_number(&mut s, n);
    s
}

/// Appends a number in decimal, without the formatting machinery (the texts of this transform
/// are built for every file).
fn push_number(s: &mut String, n: impl Into<u64>) {
    s.push_str(itoa::Buffer::new().format(n.into()));
}

/// A path the app must be able to write.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Writable {
    path: String,
    /// The VOLUME instruction of the final stage that declares it, if any.
    volume: Option<usize>,
    /// What asks for it (`VOLUME`, `mkdir`, a writer framework), for messages.
    origin: String,
    /// A RUN of the chain creates it with mkdir, or a COPY/ADD copies to it: no `mkdir -p`.
    exists: bool,
    /// How it is given to the user.
    how: Grant,
}

impl Writable {
    /// A directory a `mkdir` of the Dockerfile makes, given to the user with `chown`; `exists`
    /// is false when a later command may have removed it (then it is made again with `mkdir -p`).
    fn made_dir(path: String, origin: String, exists: bool) -> Self {
        Writable {
            path,
            volume: None,
            origin,
            exists,
            how: Grant::Dir,
        }
    }
}

/// How a writable path is given to the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Grant {
    /// A directory (VOLUME, mkdir): `chown` of the directory; a COPY into it gets `--chown`.
    Dir,
    /// A directory written with its contents (Rails `tmp`): `chown -R`.
    Tree,
    /// The application root, where the app creates files: `chown` of the directory only; the
    /// COPY that fills it keeps root as owner of what it copies.
    AppDir,
    /// An existing file the app writes (an SQLite database): `chown` of the file.
    File,
}

fn plan(doc: &Document, ctx: &Context) -> Verdict {
    let chain = chain(doc);
    let stage = doc.final_stage();
    let instructions = doc.instructions();
    let from = &instructions[stage.from];
    let anchor = from.extent.start;
    let style = ctx.options.user_style;

    let root_user = match effective_user(doc, &chain) {
        Effective::NonRoot => return Verdict::Nothing,
        Effective::Root(ix) => Some(ix),
        Effective::Default => None,
    };
    let body = stage.from + 1..stage.instructions.end;
    if let Some(ix) = body
        .clone()
        .find(|&i| instructions[i].kind == Kind::Onbuild)
    {
        return refuse(
            anchor,
            format!(
                "the final stage has ONBUILD triggers ({}): it is a base for other images, whose builds may need root",
                analysis::place_of(doc, ix)
            ),
        );
    }

    // The image the chain starts from.
    let root = chain[0];
    let written = root.image.value.as_str();
    let (reference, via_arg) = match resolve_image(doc, written) {
        Ok(r) => r,
        Err(why) => return refuse(anchor, why),
    };
    let Some(info) = ctx.knowledge.image_named(&reference) else {
        if ImageRef::parse(&reference).is_none() {
            return refuse(
                anchor,
                format!("restage cannot read the base image reference `{reference}`"),
            );
        }
        return refuse(
            anchor,
            format!(
                "restage does not know the base image `{reference}`, so it cannot tell whether it has a non-root user or how to create one; create a user and add `USER <uid>:<gid>` after the last step that needs root, or describe the image with [[knowledge.mapping]] in restage.toml"
            ),
        );
    };
    if info.role == ImageRole::SelfManaged {
        return Verdict::Nothing;
    }
    if info.runs_as.is_some() && root_user.is_none() {
        return Verdict::Nothing;
    }
    let start = start_commands(doc, &chain);
    if start.parts().any(|p| has_privilege_dropper(ctx, p.words)) {
        return Verdict::Nothing;
    }
    if let Some((ix, program, note)) = start.parts().find_map(|p| {
        p.words.iter().find_map(|w| {
            ctx.knowledge
                .root_program(w)
                .map(|note| (p.index, w.clone(), note))
        })
    }) {
        return refuse(
            anchor,
            format!(
                "the {} ({}) runs `{program}`, which needs root: {note}. Configure it to run as another user (or start it through a privilege dropper such as gosu), then run restage again",
                instructions[ix].kind,
                analysis::place_of(doc, ix)
            ),
        );
    }

    let who = match choose_user(doc, &chain, &info, &reference) {
        Ok(who) => who,
        Err(why) => return refuse(anchor, why),
    };
    let user_value = who.user_value(style);
    let user_kw = doc.style().keyword(Kind::User);
    if let Some((ix, script)) = entrypoint_script(ctx, &start) {
        let mut how = String::new();
        if let Who::Create { command, .. } = &who {
            how.push_str(&format!("`RUN {command}` and "));
        }
        how.push_str(&format!("`{user_kw} {user_value}`"));
        return refuse(
            anchor,
            format!(
                "the {} ({}) runs `{script}`, a script restage cannot read: entrypoint scripts often start as root to prepare files and then drop privileges themselves (gosu, su-exec), which fails under USER. If this one does not, add {how} before it",
                instructions[ix].kind,
                analysis::place_of(doc, ix)
            ),
        );
    }

    let mut unsafe_reasons: Vec<String> = Vec::new();
    if let Some(why) = root_home(doc, &chain, &start)
        .or_else(|| root_home_builds(doc, &chain))
        .or_else(|| uv_run_installs(doc, &chain, &start))
        .or_else(|| toolchain_after_build(doc, &chain, ctx, &start))
    {
        return refuse(anchor, why);
    }
    if root_user.is_some() {
        unsafe_reasons.push(
            "the Dockerfile asks for root explicitly, and restage cannot tell whether the app needs it at run time"
                .into(),
        );
    }
    if let Some((part, at)) = start.program(ctx.knowledge) {
        let program = &part.words[at];
        let base = start::base_name(program).to_ascii_lowercase();
        if base.ends_with(".sh") || base.ends_with(".bash") {
            unsafe_reasons.push(format!(
                "the {} ({}) runs `{program}`, a script restage does not read: start scripts often start daemons or prepare files as root before the app",
                instructions[part.index].kind,
                analysis::place_of(doc, part.index)
            ));
        }
    }
    if let Some(shell) = start.interactive_shell(ctx.knowledge) {
        unsafe_reasons.push(format!(
            "the container only opens a shell (`{shell}`), so what runs in it is typed at `docker run -it` (a build, a tool, a package install), and restage cannot tell whether that needs root or writes where root owns"
        ));
    }
    if start.parts().next().is_none() {
        unsafe_reasons.push(
            "the image has no CMD or ENTRYPOINT of its own, so what runs in it is chosen at `docker run` (a shell, a build, a tool), and restage cannot tell whether that needs root or writes where root owns"
                .into(),
        );
    }
    let port_notes = privileged_ports(doc, &chain);
    if let Some(tool) = start.toolchain(ctx.knowledge) {
        unsafe_reasons.push(format!(
            "the container starts with `{tool}`, which compiles the app when the container starts and writes its build output into the application tree (`target/`, `build/`, `obj/`) or the module cache, and those files and folders stay root-owned"
        ));
    }

    // Where USER goes: after the last instruction that may need root.
    let last = body
        .clone()
        .rev()
        .find(|&i| {
            matches!(
                instructions[i].kind,
                Kind::Run | Kind::Copy | Kind::Add | Kind::Workdir | Kind::User
            )
        })
        .unwrap_or(stage.from);

    // Directories the app must write.
    let shell = !matches!(info.os, Os::Distroless | Os::Scratch);
    let (mut writable, events) = writable_dirs(doc, &chain, &mut unsafe_reasons);
    let tree = app_writes(doc, &chain, ctx, &start, shell, &mut unsafe_reasons);
    for w in &tree.writable {
        if !writable.iter().any(|o| o.path == w.path) {
            writable.push(w.clone());
        }
    }
    for (dir, ix, sure) in settle(&mut writable, &events) {
        let place = analysis::place_of(doc, ix);
        unsafe_reasons.push(if sure {
            format!(
                "the app's files are copied to {dir}, which the RUN at {place} removes, so restage cannot tell which directory the app lives and writes in"
            )
        } else {
            format!(
                "the app's files are copied to {dir}, and the RUN at {place}, which restage cannot read, may remove it, so restage cannot tell which directory the app lives and writes in"
            )
        });
    }
    let owner = who.owner();
    let mut edits: Vec<Edit> = Vec::new();
    let mut created_by_copy: Vec<String> = Vec::new();
    for ix in body.clone() {
        let ins = &instructions[ix];
        if !matches!(ins.kind, Kind::Copy | Kind::Add) {
            continue;
        }
        let Some(dest) = analysis::resolved_destination(doc, stage, ix) else {
            continue;
        };
        // The COPY that fills the application root keeps root as the owner of what it copies.
        let into = |w: &&Writable| w.how != Grant::AppDir && analysis::is_within(&dest, &w.path);
        if !writable.iter().any(|w| into(&w)) {
            continue;
        }
        if writable.iter().filter(into).any(|w| w.path == dest) {
            created_by_copy.push(dest.clone());
        }
        if ins.flag("chown").is_none() {
            let mut flag = String::with_capacity(9 + owner.len());
            flag.push_str(" --chown=");
            flag.push_str(&owner);
            edits.push(Edit::insert(ins.keyword.end, flag));
        }
    }
    let mut early: Vec<&Writable> = Vec::new(); // declared by a VOLUME before `last`
    let mut late: Vec<&Writable> = Vec::new();
    for w in &writable {
        if !shell {
            if !created_by_copy.contains(&w.path) {
                unsafe_reasons.push(format!(
                    "{} {} must be writable, but `{reference}` has no shell to create it owned by {owner}: it stays root-owned unless a volume with the right owner is mounted there",
                    w.origin, w.path
                ));
            }
            continue;
        }
        match w.volume {
            Some(v) if v < last && runs_as_root_at(doc, &chain, v) => early.push(w),
            _ => late.push(w),
        }
    }
    let shell_ok = posix_shell(doc, &chain);
    let mut run_parts: Vec<String> = Vec::new();
    if let Who::Create { command, .. } = &who {
        run_parts.extend(and_parts(command).map(str::to_string));
    }
    // A directory declared by a VOLUME before the last RUN is prepared before that VOLUME,
    // where nothing of the stage may have created it yet.
    let dir_parts = |dirs: &[&Writable], before_volume: bool| -> Vec<String> {
        let missing: Vec<&str> = dirs
            .iter()
            .filter(|w| w.how != Grant::File && (before_volume || !w.exists))
            .map(|w| w.path.as_str())
            .collect();
        let paths = |tree: bool| -> Vec<&str> {
            dirs.iter()
                .filter(|w| (w.how == Grant::Tree) == tree)
                .map(|w| w.path.as_str())
                .collect()
        };
        let (plain, trees) = (paths(false), paths(true));
        // `head path path ...`, pushed piece by piece.
        let part = |head: &[&str], paths: &[&str]| {
            let mut s = String::with_capacity(64);
            for h in head {
                s.push_str(h);
            }
            for p in paths {
                s.push(' ');
                s.push_str(p);
            }
            s
        };
        let mut parts = Vec::new();
        if !missing.is_empty() {
            parts.push(part(&["mkdir -p"], &missing));
        }
        if !plain.is_empty() {
            parts.push(part(&["chown ", &owner], &plain));
        }
        if !trees.is_empty() {
            parts.push(part(&["chown -R ", &owner], &trees));
        }
        parts
    };
    run_parts.extend(dir_parts(&late, false));
    if (!run_parts.is_empty() || !early.is_empty()) && !shell_ok {
        unsafe_reasons.push(
            "the stage sets a SHELL that may not understand the `&&` list restage adds".into(),
        );
    }
    // A variable only in the tag (`node:${NODE_VERSION}-slim`) keeps the image family, so a
    // `chown` with numeric ids works for any value; creating or naming the user may not (the tag
    // may switch Debian for Alpine), nor anything with a variable repository.
    let tag_only = written.find('$').is_some_and(|d| {
        written[..d]
            .rfind(':')
            .is_some_and(|c| c > written[..d].rfind('/').unwrap_or(0))
    });
    let (creates, create_parts) = match &who {
        Who::Create { command, .. } => (true, and_parts(command).count()),
        _ => (false, 0),
    };
    let dir_work = run_parts.len() > create_parts || !early.is_empty();
    if via_arg && (creates || !user_value_is_numeric(&user_value) || (dir_work && !tag_only)) {
        unsafe_reasons.push(format!(
            "the base image `{written}` was read with its ARG default (`{reference}`), and another value given with --build-arg may need another way to create or name the user"
        ));
    }
    if let Some(first_volume) = early.iter().filter_map(|w| w.volume).min() {
        let at = analysis::extent_with_comments(doc, first_volume).start;
        edits.push(Edit::insert(at, {
            let mut text = run_text(doc, &dir_parts(&early, true));
            text.push_str(doc.style().nl());
            text
        }));
    }

    // The USER line (and the RUN before it).
    let nl = doc.style().nl();
    let last_ins = &instructions[last];
    let replaced = (root_user == Some(last) && run_parts.is_empty())
        .then(|| last_ins.words.first())
        .flatten();
    let replace_root = replaced.is_some();
    if let Some(word) = replaced {
        edits.push(Edit::replace(word.span.clone(), user_value.clone()));
    } else {
        let mut lines: Vec<String> = Vec::new();
        if !run_parts.is_empty() {
            lines.push(run_text(doc, &run_parts));
        }
        let mut user_line = String::with_capacity(user_kw.len() + 1 + user_value.len());
        user_line.push_str(&user_kw);
        user_line.push(' ');
        user_line.push_str(&user_value);
        lines.push(user_line);
        let at = last_ins.extent.end;
        let mut text = String::with_capacity(256);
        let at_end_without_newline = at == doc.text().len() && !doc.text().ends_with('\n');
        if at_end_without_newline {
            text.push_str(nl);
        }
        for (i, line) in lines.iter().enumerate() {
            if i > 0 {
                text.push_str(nl);
            }
            text.push_str(line);
        }
        if !at_end_without_newline {
            text.push_str(nl);
        }
        edits.push(Edit::insert(at, text));
    }

    // What the user reads.
    // Built piece by piece: the formatting machinery costs more than the text, for every file.
    let mut reason = String::with_capacity(1024);
    match root_user {
        Some(ix) => {
            reason.push_str("The final stage ends as root (`");
            reason.push_str(doc.slice(&instructions[ix].keyword));
            reason.push(' ');
            reason.push_str(doc.slice(&instructions[ix].args).trim());
            reason.push_str("`, ");
            push_place(&mut reason, doc, ix);
            reason.push_str("). ");
        }
        None => {
            reason.push_str("The final stage runs as root, the default of `");
            reason.push_str(&reference);
            reason.push_str("`. ");
        }
    }
    who.sentence(&mut reason);
    reason.push_str(" `");
    reason.push_str(&user_kw);
    reason.push(' ');
    reason.push_str(&user_value);
    reason.push_str("` ");
    if replace_root {
        reason.push_str("replaces it at ");
        push_place(&mut reason, doc, last);
    } else if last == stage.from {
        reason.push_str("goes right after FROM");
    } else {
        reason.push_str("goes after the ");
        reason.push_str(instructions[last].kind.keyword());
        reason.push_str(" at ");
        push_place(&mut reason, doc, last);
        reason.push_str(", the last instruction that may need root");
    }
    if matches!(who, Who::Declared { uid: None, .. }) && style == UserStyle::Numeric {
        reason.push_str(
            "; that user has no fixed uid, so USER names it (Kubernetes runAsNonRoot then needs runAsUser)",
        );
    } else if user_value_is_numeric(&user_value) {
        reason.push_str("; it is numeric so Kubernetes runAsNonRoot can verify it");
    }
    reason
        .push_str(". Application files stay root-owned: the app reads them but cannot change them");
    if let Some(why) = &tree.explained {
        reason.push_str("; ");
        reason.push_str(why);
    }
    if !writable.is_empty() {
        reason.push_str("; ");
        for (i, w) in writable.iter().enumerate() {
            if i > 0 {
                reason.push_str(", ");
            }
            reason.push_str(&w.path);
            match w.how {
                Grant::AppDir => reason.push_str(
                    " (the directory, not its contents, so the app can create files there)",
                ),
                Grant::Tree => reason.push_str(" (with its contents)"),
                Grant::Dir | Grant::File => {}
            }
        }
        reason.push_str(if writable.len() == 1 { " is" } else { " are" });
        reason.push_str(" owned by ");
        reason.push_str(&owner);
        reason.push_str(" so the app can write there");
    }
    for note in &port_notes {
        reason.push_str(". ");
        reason.push_str(note);
    }
    let applicability = unsafe_because(&mut reason, &unsafe_reasons);
    let anchor = root_user.map_or(anchor, |ix| instructions[ix].extent.start);
    Verdict::Change(Box::new(
        Change::new(ID, applicability, anchor, who.title(), reason).with_edits(edits),
    ))
}

/// Who the stage will run as: a user the Dockerfile creates, else the image's default non-root
/// user, else the family's existing user, else one created the family's way, else numeric ids.
fn choose_user(
    doc: &Document,
    chain: &[&Stage],
    info: &ImageInfo,
    reference: &str,
) -> Result<Who, String> {
    if let Some(who) = created_user(doc, chain)? {
        return Ok(who);
    }
    Ok(match (&info.runs_as, &info.user) {
        (Some(u), _) | (None, Some(UserPlan::Existing(u))) => Who::Existing {
            name: u.name.clone(),
            uid: u.uid,
            gid: u.gid,
        },
        (
            None,
            Some(UserPlan::Create {
                name,
                uid,
                gid,
                command,
                ..
            }),
        ) => Who::Create {
            name: name.clone(),
            uid: *uid,
            gid: *gid,
            command: command.clone(),
        },
        (None, Some(UserPlan::Numeric { uid, gid })) => Who::Numeric {
            uid: *uid,
            gid: *gid,
        },
        (None, None) => {
            return Err(format!(
                "restage knows no non-root user of `{reference}` ({}) and no way to create one there",
                os_name(&info.os)
            ));
        }
    })
}

fn refuse(anchor: usize, reason: impl Into<String>) -> Verdict {
    Verdict::suggestion(anchor, REFUSE_TITLE, reason)
}

/// The final stage and the stages of this file it is built FROM, the first ancestor first.
fn chain(doc: &Document) -> Vec<&Stage> {
    let mut out = vec![doc.final_stage()];
    while let Some(parent) = doc
        .stage_named(&out.last().expect("not empty").image.value)
        .filter(|p| p.index < out.last().expect("not empty").index)
    {
        out.push(parent);
    }
    out.reverse();
    out
}

/// Indices of the instructions of the chain's stages (FROMs excluded), in build order.
fn chain_body<'c>(chain: &'c [&Stage]) -> impl DoubleEndedIterator<Item = usize> + 'c {
    chain.iter().flat_map(|s| s.from + 1..s.instructions.end)
}

/// The user the final stage ends as.
enum Effective {
    /// No USER anywhere in the chain: the base image's default.
    Default,
    /// The last USER names root (`root`, `0`, `0:0`, `root:root`): its index.
    Root(usize),
    /// The last USER names another user, or a variable (the author's choice either way).
    NonRoot,
}

fn effective_user(doc: &Document, chain: &[&Stage]) -> Effective {
    let instructions = doc.instructions();
    let Some(ix) = chain_body(chain)
        .rev()
        .find(|&i| instructions[i].kind == Kind::User)
    else {
        return Effective::Default;
    };
    if is_root(&instructions[ix]) {
        Effective::Root(ix)
    } else {
        Effective::NonRoot
    }
}

/// A USER instruction that names root: `root`, `0`, `0:0`, `root:root` (a variable is not).
fn is_root(user: &crate::syntax::Instruction) -> bool {
    let value = user.words.first().map_or("", |w| w.value.trim());
    let name = value.split(':').next().unwrap_or("");
    !value.contains('$') && (name == "root" || name.parse::<u64>() == Ok(0))
}

/// True when no USER of the chain before instruction `ix` names a user other than root: a RUN
/// inserted there runs as root.
fn runs_as_root_at(doc: &Document, chain: &[&Stage], ix: usize) -> bool {
    let instructions = doc.instructions();
    chain_body(chain)
        .rev()
        .find(|&i| i < ix && instructions[i].kind == Kind::User)
        .is_none_or(|i| is_root(&instructions[i]))
}

/// The base image reference, with global ARG defaults substituted (`true` when one was).
fn resolve_image(doc: &Document, written: &str) -> Result<(String, bool), String> {
    analysis::expand_image(doc, written).ok_or_else(|| {
        format!(
            "the base image `{written}` uses a variable with no default restage can read, so it cannot tell which image the stage runs on"
        )
    })
}

/// How the container starts: the last ENTRYPOINT and the last CMD of the chain.
fn start_commands<'a>(doc: &'a Document, chain: &[&Stage]) -> StartCommand<'a> {
    StartCommand::of(doc, chain_body(chain))
}

/// True when some word of the start command begins a privilege-dropping command (gosu, su-exec,
/// `setpriv --reuid`, ...): the entrypoint must start as root.
fn has_privilege_dropper(ctx: &Context, words: &[String]) -> bool {
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    (0..words.len()).any(|i| ctx.knowledge.privilege_dropper(&words[i..]).is_some())
}

/// The script the container starts with, when restage cannot tell what it does: the program of
/// the ENTRYPOINT (after init wrappers such as tini and `sh -c`) when it is a shell script or
/// named like an entrypoint, or such a name in the CMD the ENTRYPOINT runs. Such scripts often
/// drop privileges themselves.
fn entrypoint_script(ctx: &Context, start: &StartCommand) -> Option<(usize, String)> {
    let (part, at) = start.program(ctx.knowledge)?;
    let program = &part.words[at];
    let from_entrypoint = start
        .entrypoint
        .as_ref()
        .is_some_and(|e| e.index == part.index);
    let base = start::base_name(program).to_ascii_lowercase();
    let named_entrypoint = base.contains("entrypoint");
    let script = base.ends_with(".sh") || base.ends_with(".bash");
    (named_entrypoint || (from_entrypoint && script)).then(|| (part.index, program.clone()))
}

/// A note for every EXPOSE of the chain below 1024. Docker 20.10+, Podman and containerd 2.0+
/// (CRI) set `net.ipv4.ip_unprivileged_port_start=0` in each container's network namespace, so
/// a non-root process binds such ports there; where a runtime does not, the note says what to
/// set. A port restage cannot resolve gets no note.
fn privileged_ports(doc: &Document, chain: &[&Stage]) -> Vec<String> {
    let instructions = doc.instructions();
    let mut out = Vec::new();
    for ix in chain_body(chain).filter(|&i| instructions[i].kind == Kind::Expose) {
        for w in &instructions[ix].words {
            let spec = w.value.trim();
            let lookup = |name: &str| variable_at(doc, chain, ix, name);
            let port = analysis::expand_vars(spec, &lookup).and_then(|v| {
                let v = v.split('/').next().unwrap_or("").to_string();
                v.split('-')
                    .next()
                    .and_then(|p| p.trim().parse::<u32>().ok())
            });
            if port.is_some_and(|p| p < 1024) {
                out.push(format!(
                    "EXPOSE {spec} ({}) is below 1024: Docker 20.10+, Podman and containerd 2.0+ let a non-root process bind it; on CRI-O, containerd 1.x or with host networking set the sysctl net.ipv4.ip_unprivileged_port_start=0 (a safe sysctl in Kubernetes 1.22+) or listen on 1024 or above",
                    analysis::place_of(doc, ix)
                ));
            }
        }
    }
    out
}

/// The value of `name` at instruction `ix`: the last ENV of the chain before it, else an ARG of
/// its stage (a declaration without default takes the global ARG's default).
fn variable_at(doc: &Document, chain: &[&Stage], ix: usize, name: &str) -> Option<String> {
    let instructions = doc.instructions();
    let stage = instructions[ix].stage;
    for i in chain_body(chain).rev().filter(|&i| i < ix) {
        let ins = &instructions[i];
        match ins.kind {
            Kind::Env => {
                if let Some(d) = analysis::declared(doc, ins)
                    .iter()
                    .rfind(|d| d.name == name)
                {
                    let v = d.value.clone().unwrap_or_default();
                    return (!v.contains('$')).then_some(v);
                }
            }
            Kind::Arg if ins.stage == stage => {
                if let Some(d) = analysis::declared(doc, ins)
                    .iter()
                    .rfind(|d| d.name == name)
                {
                    let v = d
                        .value
                        .clone()
                        .or_else(|| analysis::global_arg(doc, name).and_then(|g| g.value))?;
                    return (!v.contains('$')).then_some(v);
                }
            }
            _ => {}
        }
    }
    None
}

/// The last user the chain's RUN steps create (useradd / adduser), with its ids when the command
/// gives them. An error when a RUN creates a user restage cannot read.
fn created_user(doc: &Document, chain: &[&Stage]) -> Result<Option<Who>, String> {
    let instructions = doc.instructions();
    let mut groups: Vec<(String, u32)> = Vec::new();
    let mut user: Option<Who> = None;
    for ix in chain_body(chain).filter(|&i| instructions[i].kind == Kind::Run) {
        let ins = &instructions[ix];
        let cannot = || {
            format!(
                "the RUN at {} creates a user restage cannot read; add `USER <that user>` after the last step that needs root",
                analysis::place_of(doc, ix)
            )
        };
        let Some(commands) = analysis::commands(doc, ins) else {
            let raw = doc.slice(&ins.extent);
            if ["useradd", "adduser"].iter().any(|p| raw.contains(p)) {
                return Err(cannot());
            }
            continue;
        };
        for cmd in commands.iter() {
            let words = cmd.program_words();
            let Some(program) = words.first() else {
                continue;
            };
            let program = crate::shell::base_name(program);
            match program {
                "groupadd" | "addgroup" => {
                    let (pos, opts) = parse_options(&words[1..], GROUP_VALUE_OPTIONS);
                    let gid = option(&opts, &["-g", "--gid"]).and_then(|g| g.parse().ok());
                    if let ([name], Some(gid)) = (pos.as_slice(), gid) {
                        groups.push((name.clone(), gid));
                    }
                }
                "useradd" | "adduser" => {
                    let (pos, opts) = parse_options(&words[1..], USER_VALUE_OPTIONS);
                    if pos.len() != 1 {
                        // `adduser user group` adds a user to a group; no positional is odd.
                        if pos.is_empty() {
                            return Err(cannot());
                        }
                        continue;
                    }
                    let name = pos[0].clone();
                    if name.contains('$') || name.contains('`') {
                        return Err(cannot());
                    }
                    let uid = option(&opts, &["-u", "--uid"]).and_then(|u| u.parse().ok());
                    let group = if program == "useradd" {
                        option(&opts, &["-g", "--gid"])
                    } else {
                        option(&opts, &["--gid", "-G", "--ingroup"])
                    };
                    let gid = group.and_then(|g| {
                        g.parse().ok().or_else(|| {
                            groups.iter().rev().find(|(n, _)| n == g).map(|(_, id)| *id)
                        })
                    });
                    user = Some(Who::Declared {
                        name,
                        uid,
                        gid,
                        line: analysis::place_of(doc, ix),
                    });
                }
                _ => {}
            }
        }
    }
    Ok(user)
}

/// Options of groupadd/addgroup (shadow, BusyBox and Debian) that take a value.
const GROUP_VALUE_OPTIONS: &[&str] = &[
    "-g",
    "--gid",
    "-K",
    "--key",
    "-p",
    "--password",
    "-R",
    "--root",
    "-P",
    "--prefix",
    "--users",
    "-U",
    "--conf",
];

/// Options of useradd/adduser (shadow, BusyBox and Debian) that take a value. BusyBox
/// `adduser -g` is the GECOS field, not a group, which is why adduser reads `-G` for the group.
const USER_VALUE_OPTIONS: &[&str] = &[
    "-b",
    "--base-dir",
    "-c",
    "--comment",
    "-d",
    "--home-dir",
    "-e",
    "--expiredate",
    "-f",
    "--inactive",
    "-g",
    "--gid",
    "-G",
    "--groups",
    "-k",
    "--skel",
    "-K",
    "--key",
    "-p",
    "--password",
    "-R",
    "--root",
    "-P",
    "--prefix",
    "-s",
    "--shell",
    "-u",
    "--uid",
    "-Z",
    "--selinux-user",
    "-h",
    "--home",
    "--ingroup",
    "--gecos",
    "--firstuid",
    "--lastuid",
    "--firstgid",
    "--lastgid",
    "--conf",
];

/// Splits arguments into positionals and `(option, value)` pairs (`--opt=value` understood).
fn parse_options(args: &[String], with_value: &[&str]) -> (Vec<String>, Vec<(String, String)>) {
    let mut pos = Vec::new();
    let mut opts = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if let Some((k, v)) = a.split_once('=').filter(|_| a.starts_with("--")) {
            opts.push((k.to_string(), v.to_string()));
        } else if a.len() > 2
            && !a.starts_with("--")
            && a.is_char_boundary(2)
            && with_value.contains(&&a[..2])
        {
            // `-u1000`
            opts.push((a[..2].to_string(), a[2..].to_string()));
        } else if with_value.contains(&a.as_str()) {
            opts.push((a.clone(), args.get(i + 1).cloned().unwrap_or_default()));
            i += 1;
        } else if a.starts_with('-') && a.len() > 1 {
            opts.push((a.clone(), String::new()));
        } else {
            pos.push(a.clone());
        }
        i += 1;
    }
    (pos, opts)
}

fn option<'a>(opts: &'a [(String, String)], names: &[&str]) -> Option<&'a str> {
    opts.iter()
        .rev()
        .find(|(k, _)| names.contains(&k.as_str()))
        .map(|(_, v)| v.as_str())
}

/// Directories the app must write: every VOLUME of the chain, and directories its RUN steps
/// create with `mkdir` for data (not the application directory, not where files are copied,
/// not system trees). What restage cannot resolve becomes an unsafe reason.
fn writable_dirs(
    doc: &Document,
    chain: &[&Stage],
    unsafe_reasons: &mut Vec<String>,
) -> (Vec<Writable>, Vec<Event>) {
    let instructions = doc.instructions();
    let stage = doc.final_stage();
    let final_workdir = analysis::workdir_at(doc, stage, stage.instructions.end);
    let stage_of = |ix: usize| &doc.stages()[instructions[ix].stage.expect("in a stage")];
    let mut app_dirs: Vec<String> = final_workdir
        .known()
        .map(str::to_string)
        .into_iter()
        .collect();
    for ix in chain_body(chain) {
        if matches!(instructions[ix].kind, Kind::Copy | Kind::Add)
            && let Some(dest) = analysis::resolved_destination(doc, stage_of(ix), ix)
        {
            app_dirs.push(dest);
        }
    }
    // What the chain makes and takes away, in its order: the image's working directory,
    // WORKDIRs, copy destinations and mkdir targets (with their parents), and `rm`, `rmdir` and
    // `mv`.
    let mut events: Vec<Event> = chain
        .first()
        .and_then(|root| {
            analysis::workdir_at(doc, root, root.from + 1)
                .known()
                .map(|wd| Event::Made(wd.to_string()))
        })
        .into_iter()
        .collect();
    let made = |events: &mut Vec<Event>, path: String| events.push(Event::Made(path));
    // The directories each stage a `COPY --from` reads makes, found once.
    let mut stage_dirs: Vec<(usize, Vec<(String, bool)>)> = Vec::new();
    let mut out: Vec<Writable> = Vec::new();
    // A path asked for twice keeps its first entry; a VOLUME that declares a directory a RUN
    // already made still marks it, so it is prepared before that VOLUME.
    let push =
        |w: Writable, out: &mut Vec<Writable>| match out.iter_mut().find(|o| o.path == w.path) {
            Some(o) => {
                if o.volume.is_none() && w.volume.is_some() {
                    o.volume = w.volume;
                    o.origin = w.origin;
                }
            }
            None => out.push(w),
        };
    for ix in chain_body(chain) {
        let ins = &instructions[ix];
        match ins.kind {
            Kind::Workdir => {
                if let Some(wd) = analysis::workdir_at(doc, stage_of(ix), ix + 1).known() {
                    made(&mut events, wd.to_string());
                }
            }
            Kind::Copy | Kind::Add => {
                if let Some(dest) = analysis::resolved_destination(doc, stage_of(ix), ix) {
                    made(&mut events, dest);
                }
                // A directory an earlier stage made inside what a `COPY --from` carries here
                // arrives with that tree, root-owned, as the mkdir itself would have left it
                // (multi-stage's runtime stage gets `/app/uploads` with `/app`).
                for (dir, sure) in copied_mkdirs(doc, stage_of(ix), ix, &mut stage_dirs) {
                    if sure {
                        made(&mut events, dir.clone());
                    }
                    if is_data_dir(&dir, final_workdir.known(), &app_dirs) {
                        let origin = format!(
                            "mkdir (copied by the COPY --from at {})",
                            analysis::place_of(doc, ix)
                        );
                        push(Writable::made_dir(dir, origin, sure), &mut out);
                    }
                }
            }
            Kind::Volume => {
                for w in &ins.words {
                    let path = w.value.trim();
                    if path.is_empty() {
                        continue;
                    }
                    let wd = analysis::workdir_at(doc, stage_of(ix), ix);
                    match resolve_path(path, &wd) {
                        Some(p) if p != "/" => push(
                            Writable {
                                path: p,
                                volume: (ins.stage == Some(stage.index)).then_some(ix),
                                origin: "VOLUME".into(),
                                exists: false,
                                how: Grant::Dir,
                            },
                            &mut out,
                        ),
                        Some(_) => {}
                        None => unsafe_reasons.push(format!(
                            "VOLUME {path} ({}) names a path restage cannot resolve, so it cannot give it to the user",
                            analysis::place_of(doc, ix)
                        )),
                    }
                }
            }
            Kind::Run => {
                let Some(commands) = analysis::commands(doc, ins) else {
                    let text = doc.slice(&ins.extent);
                    if text.contains("mkdir") {
                        unsafe_reasons.push(format!(
                            "the RUN at {} creates directories restage cannot read, which the app may need to write",
                            analysis::place_of(doc, ix)
                        ));
                    }
                    // What its `rm` and `mv` name may be gone, or may not (a condition, a loop).
                    events.extend(
                        unread_removals(text)
                            .into_iter()
                            .map(|removal| Event::MaybeRemoved(removal, ix)),
                    );
                    continue;
                };
                let mut cwd = analysis::workdir_at(doc, stage_of(ix), ix);
                for cmd in commands.iter() {
                    let words = cmd.program_words();
                    let Some(program) = words.first() else {
                        continue;
                    };
                    match crate::shell::base_name(program) {
                        "cd" => {
                            cwd = match words.get(1).and_then(|d| resolve_path(d, &cwd)) {
                                Some(d) => Workdir::Known(d),
                                None => Workdir::Unknown,
                            }
                        }
                        "mkdir" => {
                            for target in mkdir_targets(words) {
                                match resolve_path(&target, &cwd) {
                                    Some(p) => {
                                        made(&mut events, p.clone());
                                        if is_data_dir(&p, final_workdir.known(), &app_dirs) {
                                            push(
                                                Writable::made_dir(p, "mkdir".into(), true),
                                                &mut out,
                                            );
                                        }
                                    }
                                    None => unsafe_reasons.push(format!(
                                        "the RUN at {} creates `{target}`, a directory restage cannot resolve, which the app may need to write",
                                        analysis::place_of(doc, ix)
                                    )),
                                }
                            }
                        }
                        "rm" | "rmdir" | "mv" => events.extend(
                            removed_paths(words)
                                .into_iter()
                                .filter_map(|gone| removal(gone, &cwd))
                                .map(|removal| Event::Removed(removal, ix)),
                        ),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    (out, events)
}

/// What a chain does to a path, in its order: a directory made (a WORKDIR, a copy's
/// destination, a mkdir, a directory a `COPY --from` carries) or taken away.
enum Event {
    Made(String),
    /// Taken away by the RUN at this index.
    Removed(Removal, usize),
    /// Perhaps taken away by the RUN at this index, which restage cannot read as commands.
    MaybeRemoved(Removal, usize),
}

/// Where the events of a chain leave a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// Nothing made it or took it away.
    Unseen,
    /// Made (or a directory inside it made) after anything that took it away.
    Exists,
    /// Taken away (by the RUN at this index) after it was last made.
    Removed(usize),
    /// A glob restage cannot read may have taken it away.
    Maybe,
    /// The RUN at this index, which restage cannot read as commands, may have taken it away.
    Unread(usize),
}

fn fate(events: &[Event], path: &str) -> Fate {
    let mut fate = Fate::Unseen;
    for event in events {
        match event {
            Event::Made(made) if analysis::is_within(made, path) => fate = Fate::Exists,
            Event::Made(_) => {}
            Event::Removed(removal, ix) => match removal.reach(path) {
                Reach::Gone => fate = Fate::Removed(*ix),
                Reach::Maybe if !matches!(fate, Fate::Removed(_)) => fate = Fate::Maybe,
                Reach::Maybe | Reach::Untouched => {}
            },
            Event::MaybeRemoved(removal, ix) => {
                if removal.reach(path) != Reach::Untouched && !matches!(fate, Fate::Removed(_)) {
                    fate = Fate::Unread(*ix);
                }
            }
        }
    }
    fate
}

/// The absolute paths the `rm`, `rmdir` and `mv` commands of a RUN restage cannot split into
/// commands name, read word by word between separators (`;`, `&`, `|`, parentheses).
fn unread_removals(text: &str) -> Vec<Removal> {
    let mut out = Vec::new();
    for segment in text.split([';', '&', '|', '(', ')', '\n']) {
        let words: Vec<String> = segment
            .split_whitespace()
            .filter(|w| *w != "\\")
            .map(|w| w.trim_matches(['"', '\'']).to_string())
            .collect();
        let Some(at) = words
            .iter()
            .position(|w| matches!(crate::shell::base_name(w), "rm" | "rmdir" | "mv"))
        else {
            continue;
        };
        out.extend(
            removed_paths(&words[at..])
                .into_iter()
                .filter(|p| p.starts_with('/'))
                .filter_map(|p| removal(p, &Workdir::Unknown)),
        );
    }
    out
}

/// Settles each writable path by what the chain did to it: one made is there (no `mkdir -p`);
/// one taken away after it was made is not, so a directory or file that was there is left out
/// (a `chown` of it would fail the build) and a VOLUME or a framework's directory is made again;
/// one a glob may have taken is made again, and such a file left out. Returns the application
/// directories taken away, each with the RUN that takes it away and whether that is sure (else
/// a RUN restage cannot read may have).
fn settle(writable: &mut Vec<Writable>, events: &[Event]) -> Vec<(String, usize, bool)> {
    let mut gone_apps = Vec::new();
    writable.retain_mut(|w| match fate(events, &w.path) {
        Fate::Unseen => true,
        Fate::Exists => {
            w.exists = true;
            true
        }
        Fate::Removed(ix) => {
            let keep = !w.exists || w.volume.is_some();
            if !keep && w.how == Grant::AppDir {
                gone_apps.push((w.path.clone(), ix, true));
            }
            w.exists = false;
            keep
        }
        Fate::Maybe => {
            w.exists = false;
            w.how != Grant::File
        }
        Fate::Unread(ix) => {
            if w.how == Grant::AppDir {
                gone_apps.push((w.path.clone(), ix, false));
            }
            w.exists = false;
            w.how != Grant::File
        }
    });
    gone_apps
}

/// The directories that the `COPY --from=<stage>` at `ix` brings from an earlier stage of the
/// file which that stage (or one it is built FROM) made with `mkdir`, at their paths here, each
/// with whether it surely still exists (see `stage_mkdirs`). Only a COPY of one directory to a
/// known destination is read. `known` keeps each source stage's directories for the next COPY.
fn copied_mkdirs(
    doc: &Document,
    stage: &Stage,
    ix: usize,
    known: &mut Vec<(usize, Vec<(String, bool)>)>,
) -> Vec<(String, bool)> {
    let ins = &doc.instructions()[ix];
    if ins.kind != Kind::Copy {
        return Vec::new();
    }
    let Some(from) = ins.flag("from").and_then(|f| f.value.as_ref()) else {
        return Vec::new();
    };
    let Some(source_stage) = doc.stage_named(&from.value) else {
        return Vec::new();
    };
    let [source] = analysis::sources(ins) else {
        return Vec::new();
    };
    if source_stage.index >= stage.index || source.value.contains(['$', '*', '?', '[']) {
        return Vec::new();
    }
    let Some(dest) = analysis::resolved_destination(doc, stage, ix) else {
        return Vec::new();
    };
    let source = analysis::normalize(&analysis::join("/", &source.value));
    let at = match known.iter().position(|(i, _)| *i == source_stage.index) {
        Some(at) => at,
        None => {
            known.push((source_stage.index, stage_mkdirs(doc, source_stage)));
            known.len() - 1
        }
    };
    known[at]
        .1
        .iter()
        .filter(|(p, _)| analysis::is_within(p, &source))
        .map(|(p, sure)| {
            let rest = p[source.len()..].trim_start_matches('/');
            let here = if rest.is_empty() {
                dest.clone()
            } else {
                analysis::join(&dest, rest)
            };
            (here, *sure)
        })
        .collect()
}

/// The directories `stage` (with the stages of the file it is built FROM, oldest first) makes
/// with `mkdir` and does not take away again with `rm`, `rmdir` or `mv`, each with whether it
/// surely still exists: false when a glob restage cannot read, or a RUN it cannot read as
/// commands, may have taken it.
fn stage_mkdirs(doc: &Document, stage: &Stage) -> Vec<(String, bool)> {
    let mut lineage: Vec<&Stage> = Vec::new();
    let mut current = Some(stage);
    while let Some(st) = current {
        if lineage.len() > doc.stages().len() {
            break;
        }
        lineage.push(st);
        current = doc
            .stage_named(&st.image.value)
            .filter(|parent| parent.index < st.index);
    }
    let mut made: Vec<(String, bool)> = Vec::new();
    for st in lineage.into_iter().rev() {
        each_run_command(doc, st, |_, step| {
            let (words, cwd) = match step {
                Step::Command(words, cwd) => (words, cwd),
                Step::Unread(text) => {
                    // What its `rm` and `mv` name may be gone, or may not.
                    for removal in unread_removals(text) {
                        for (m, sure) in &mut made {
                            if removal.reach(m) != Reach::Untouched {
                                *sure = false;
                            }
                        }
                    }
                    return None::<()>;
                }
            };
            match words.first().map(|p| crate::shell::base_name(p)) {
                Some("mkdir") => {
                    for target in mkdir_targets(words) {
                        if let Some(p) = resolve_path(&target, cwd) {
                            made.retain(|(m, _)| *m != p);
                            made.push((p, true));
                        }
                    }
                }
                Some("rm" | "rmdir" | "mv") => {
                    for removal in removed_paths(words)
                        .into_iter()
                        .filter_map(|gone| removal(gone, cwd))
                    {
                        made.retain(|(m, _)| removal.reach(m) != Reach::Gone);
                        for (m, sure) in &mut made {
                            if removal.reach(m) == Reach::Maybe {
                                *sure = false;
                            }
                        }
                    }
                }
                _ => {}
            }
            None
        });
    }
    made
}

/// What an `rm`, `rmdir` or `mv` takes away from where it was.
#[derive(Debug, PartialEq, Eq)]
enum Removal {
    /// A path, with everything in it.
    Path(String),
    /// The entries of a directory whose names match a pattern of `*` and `?` (`rm -rf var/*`,
    /// `rm -rf /tmp/phantomjs*`), with everything in them.
    Matching { dir: String, pattern: String },
    /// What another glob may match: something under this directory (`rm -f cache/*/x`,
    /// `rm -f var/[ab]*`).
    Glob(String),
}

/// Whether a removal takes a path away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reach {
    Gone,
    Maybe,
    Untouched,
}

impl Removal {
    fn reach(&self, path: &str) -> Reach {
        match self {
            Removal::Path(p) if analysis::is_within(path, p) => Reach::Gone,
            Removal::Matching { dir, pattern } if under(path, dir) => {
                let rest = path[dir.len()..].trim_start_matches('/');
                let name = rest.split('/').next().unwrap_or(rest);
                if glob_matches(pattern, name) {
                    Reach::Gone
                } else {
                    Reach::Untouched
                }
            }
            Removal::Glob(d) if under(path, d) => Reach::Maybe,
            _ => Reach::Untouched,
        }
    }
}

/// True when the shell pattern `pattern` (only `*` and `?`) matches the file name `name`; a name
/// starting with a dot is matched only by a pattern starting with one, as the shell does.
fn glob_matches(pattern: &str, name: &str) -> bool {
    if name.starts_with('.') && !pattern.starts_with('.') {
        return false;
    }
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    // Iterative matching with one backtrack point for the last `*`.
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while j < n.len() {
        if i < p.len() && (p[i] == '?' || p[i] == n[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some((i, j));
            i += 1;
        } else if let Some((si, sj)) = star {
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    p[i..].iter().all(|&c| c == '*')
}

/// What removing `target` (an operand of `rm`, `rmdir` or the source of `mv`) takes away, run
/// in `cwd`; `None` when restage cannot tell (a variable, an unknown directory).
fn removal(target: &str, cwd: &Workdir) -> Option<Removal> {
    let Some(glob) = target.find(['*', '?', '[']) else {
        return resolve_path(target, cwd).map(Removal::Path);
    };
    let slash = target[..glob].rfind('/');
    let dir = match slash.map_or("", |slash| &target[..slash]) {
        "" if target.starts_with('/') => Some("/".to_string()),
        "" => cwd.known().map(str::to_string),
        d => resolve_path(d, cwd),
    }?;
    let last = target[slash.map_or(0, |s| s + 1)..].trim_end_matches('/');
    Some(if last.contains(['/', '[']) {
        Removal::Glob(dir)
    } else {
        Removal::Matching {
            dir,
            pattern: last.to_string(),
        }
    })
}

/// True when `path` is strictly inside `dir`.
fn under(path: &str, dir: &str) -> bool {
    path != dir && analysis::is_within(path, dir)
}

/// The paths an `rm`, `rmdir` or `mv` command takes away: their operands, or for `mv` every
/// operand but the destination (all of them with `-t`). Options are skipped; empty for other
/// commands.
fn removed_paths(words: &[String]) -> Vec<&str> {
    let program = words.first().map_or("", |p| crate::shell::base_name(p));
    if !matches!(program, "rm" | "rmdir" | "mv") {
        return Vec::new();
    }
    let mut operands: Vec<&str> = Vec::new();
    let mut target_given = false;
    let mut options = true;
    let mut i = 1;
    while i < words.len() {
        let w = words[i].as_str();
        if options && w == "--" {
            options = false;
        } else if options && w.starts_with('-') && w.len() > 1 {
            if program == "mv" {
                if w == "-t" || w == "--target-directory" || w == "-S" || w == "--suffix" {
                    target_given |= w.starts_with("-t") || w.starts_with("--t");
                    i += 1;
                } else if w.starts_with("--target-directory=") || w.starts_with("-t") {
                    target_given = true;
                }
            }
        } else {
            operands.push(w);
        }
        i += 1;
    }
    if program == "mv" && !target_given {
        operands.pop();
    }
    operands
}

/// One step of a stage's RUNs, as `each_run_command` gives it.
enum Step<'a> {
    /// A simple command (not `cd`) and the directory it runs in: the stage's WORKDIR, followed
    /// through `cd`.
    Command(&'a [String], &'a Workdir),
    /// The text of a RUN restage cannot split into commands.
    Unread(&'a str),
}

/// Calls `f` with each step of the RUNs of `stage`, in order, and its RUN's index: each simple
/// command of a readable RUN, or the text of one restage cannot read. Stops at the first `Some`
/// `f` returns.
fn each_run_command<T>(
    doc: &Document,
    stage: &Stage,
    mut f: impl FnMut(usize, Step<'_>) -> Option<T>,
) -> Option<T> {
    let body = stage.from + 1..stage.instructions.end;
    for (ix, ins) in doc.instructions()[body.clone()].iter().enumerate() {
        let ix = body.start + ix;
        if ins.kind != Kind::Run {
            continue;
        }
        let Some(commands) = analysis::commands(doc, ins) else {
            if let Some(found) = f(ix, Step::Unread(doc.slice(&ins.extent))) {
                return Some(found);
            }
            continue;
        };
        let mut cwd = analysis::workdir_at(doc, stage, ix);
        for cmd in commands.iter() {
            let words = cmd.program_words();
            if words.first().map(|p| crate::shell::base_name(p)) == Some("cd") {
                cwd = match words.get(1).and_then(|d| resolve_path(d, &cwd)) {
                    Some(d) => Workdir::Known(d),
                    None => Workdir::Unknown,
                };
                continue;
            }
            if let Some(found) = f(ix, Step::Command(words, &cwd)) {
                return Some(found);
            }
        }
    }
    None
}

/// True for `/root` and paths inside it.
fn in_root_home(path: &str) -> bool {
    analysis::is_within(path, "/root")
}

/// Why the final stage cannot run as another user because of `/root`, root's home (mode 0700
/// on Debian, Ubuntu and Alpine images): the app lives there (its WORKDIR, or the start command
/// runs a path there), so a non-root user cannot even read its files; or files are copied
/// there, for root: a non-root user can neither read them nor would it look there.
fn root_home(doc: &Document, chain: &[&Stage], start: &StartCommand) -> Option<String> {
    let instructions = doc.instructions();
    let stage = doc.final_stage();
    let advice = "/root is root's home directory, mode 0700 on Debian, Ubuntu and Alpine images, so a non-root user could not even read the app's files. Move the app out of /root (for example `WORKDIR /app`, and copy it there), then run restage again";
    if let Some(wd) = analysis::workdir_at(doc, stage, stage.instructions.end).known()
        && in_root_home(wd)
    {
        let at = chain_body(chain)
            .rev()
            .find(|&i| instructions[i].kind == Kind::Workdir)
            .map_or(stage.from, |i| i);
        return Some(format!(
            "the app lives under /root (WORKDIR {wd}, {}): {advice}",
            analysis::place_of(doc, at)
        ));
    }
    for part in start.parts() {
        let ix = &part.index;
        if let Some(w) = part
            .words
            .iter()
            .find(|w| w.starts_with("/root/") && in_root_home(&analysis::normalize(w)))
        {
            return Some(format!(
                "the {} ({}) starts `{w}`, under /root: {advice}",
                instructions[*ix].kind,
                analysis::place_of(doc, *ix)
            ));
        }
    }
    let stage_of = |ix: usize| &doc.stages()[instructions[ix].stage.expect("in a stage")];
    chain_body(chain)
        .filter(|&i| matches!(instructions[i].kind, Kind::Copy | Kind::Add))
        .find_map(|ix| {
            let dest = analysis::resolved_destination(doc, stage_of(ix), ix)?;
            in_root_home(&dest).then(|| {
                format!(
                    "the {} at {} copies to {dest}, under /root, root's home (mode 0700 on Debian, Ubuntu and Alpine images): a non-root user could neither read it nor look for it there. Copy it where the app reads it as any user (for example under /app or /etc), then run restage again",
                    instructions[ix].kind,
                    analysis::place_of(doc, ix)
                )
            })
        })
}

/// Programs a RUN may run in root's home without leaving anything there for the app: removing
/// caches, printing, shell built-ins.
const HOME_NEUTRAL: &[&str] = &[
    "rm", "ls", "echo", "printf", "cat", "true", ":", "set", "export", "cd", "pwd", "test", "[",
    "apt-get", "apt", "apk", "dpkg", "yum", "dnf", "ldconfig", "sleep",
];

/// Programs whose path arguments name what they create (a clone, a download, a copy, an
/// environment): one under root's home puts the app's files or tools where a non-root user
/// cannot reach them.
const HOME_WRITERS: &[&str] = &[
    "git",
    "wget",
    "curl",
    "mkdir",
    "cp",
    "mv",
    "ln",
    "tar",
    "unzip",
    "install",
    "virtualenv",
    "pip",
    "pip3",
    "python",
    "python3",
    "npm",
    "yarn",
    "pnpm",
    "go",
    "cargo",
    "gem",
    "bundle",
];

/// Why the final stage cannot run as another user because its build put things in root's home
/// without WORKDIR or the start command saying so: an ENV puts a directory there on PATH (a
/// toolchain installed for root: rustup, nvm, `pip install --user`'s scripts), `pip install
/// --user` installs the app's packages into /root/.local, where another user's Python does not
/// look, or a RUN clones, downloads or creates files there (`cd ~ && git clone ...`).
fn root_home_builds(doc: &Document, chain: &[&Stage]) -> Option<String> {
    let instructions = doc.instructions();
    // `~` and $HOME are root's home unless the chain sets HOME elsewhere.
    let home_at = |ix: usize| variable_at(doc, chain, ix, "HOME");
    let advice = "/root is root's home directory (mode 0700 on Debian, Ubuntu and Alpine images), so a non-root user could not use what is there. Install it outside /root (for example under /usr/local or /opt), then run restage again";
    for ix in chain_body(chain) {
        let ins = &instructions[ix];
        if !matches!(ins.kind, Kind::Env | Kind::Run) {
            continue;
        }
        // Both asked only on the way to an answer: most instructions need neither.
        let line = || analysis::place_of(doc, ix);
        let home = std::cell::OnceCell::new();
        let home_is_root = || {
            *home.get_or_init(|| home_at(ix).is_none_or(|h| in_root_home(&analysis::normalize(&h))))
        };
        let under_home = |w: &str| {
            let w = w.trim_matches(|c| c == '"' || c == '\'');
            if ["~", "$HOME", "${HOME}"].iter().any(|h| {
                w.strip_prefix(h)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
            }) && home_is_root()
            {
                return true;
            }
            w.starts_with("/root") && in_root_home(&analysis::normalize(w))
        };
        match ins.kind {
            Kind::Env => {
                for d in analysis::declared(doc, ins).iter() {
                    let value = d.value.as_deref().unwrap_or_default();
                    if d.name == "PATH"
                        && let Some(dir) = value.split(':').find(|c| under_home(c))
                    {
                        return Some(format!(
                            "the ENV at {} puts {dir} on PATH, under root's home: {advice}",
                            line()
                        ));
                    }
                }
            }
            Kind::Run => {
                let Some(commands) = analysis::commands(doc, ins) else {
                    continue;
                };
                let pip_user = || {
                    variable_at(doc, chain, ix, "PIP_USER").is_some_and(|v| {
                        matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on")
                    })
                };
                let user_base_elsewhere = || {
                    variable_at(doc, chain, ix, "PYTHONUSERBASE").is_some_and(|b| !under_home(&b))
                };
                let mut in_home = false;
                for cmd in commands.iter() {
                    let words = cmd.program_words();
                    let Some((program, args)) = words.split_first() else {
                        continue;
                    };
                    let name = crate::shell::base_name(program);
                    if name == "cd" {
                        in_home = match args {
                            [] => home_is_root(),
                            [dir]
                                if dir.starts_with('/')
                                    || dir.starts_with('~')
                                    || dir.starts_with('$') =>
                            {
                                under_home(dir)
                            }
                            _ => in_home,
                        };
                        continue;
                    }
                    let is_pip = name.starts_with("pip")
                        || (name.starts_with("python")
                            && args.windows(2).any(|w| w[0] == "-m" && w[1] == "pip"));
                    if is_pip
                        && args.iter().any(|a| a == "install")
                        && (args.iter().any(|a| a == "--user") || pip_user())
                        && !user_base_elsewhere()
                        && home_is_root()
                    {
                        return Some(format!(
                            "the RUN at {} runs `{}`, which installs the packages into /root/.local, where the Python of another user does not look: {advice}",
                            line(),
                            words.join(" ")
                        ));
                    }
                    if name == "poetry"
                        && home_is_root()
                        && let Some(sub) = poetry_installs(args)
                        && poetry_venv_in_cache(doc, chain, ix, &under_home)
                    {
                        return Some(format!(
                            "the RUN at {} runs `{}`, which {sub}s into a virtualenv under poetry's cache directory in root's home (~/.cache/pypoetry/virtualenvs), where poetry run as another user does not look: {advice}; or have poetry install into the project (`ENV POETRY_VIRTUALENVS_IN_PROJECT=true`) or into the image's Python (`ENV POETRY_VIRTUALENVS_CREATE=false`)",
                            line(),
                            words.join(" ")
                        ));
                    }
                    if name == "pipenv"
                        && home_is_root()
                        && pipenv_installs(args)
                        && pipenv_venv_in_home(doc, chain, ix, &under_home)
                    {
                        return Some(format!(
                            "the RUN at {} runs `{}`, which installs into a virtualenv under root's home (~/.local/share/virtualenvs), where pipenv run as another user does not look: {advice}; or have pipenv install into the project (`ENV PIPENV_VENV_IN_PROJECT=1`) or into the image's Python (`pipenv install --system`)",
                            line(),
                            words.join(" ")
                        ));
                    }
                    if in_home && !HOME_NEUTRAL.contains(&name) {
                        return Some(format!(
                            "the RUN at {} runs `{}` in root's home: {advice}",
                            line(),
                            words.join(" ")
                        ));
                    }
                    if HOME_WRITERS.contains(&name)
                        && let Some(w) = args.iter().find(|a| under_home(a))
                    {
                        return Some(format!(
                            "the RUN at {} runs `{}`, which writes {w}, under root's home: {advice}",
                            line(),
                            words.join(" ")
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    None
}

/// True when `pipenv` with `args` installs the project's dependencies into its virtualenv:
/// `install` or `sync` without `--system`.
fn pipenv_installs(args: &[String]) -> bool {
    args.iter()
        .find(|a| !a.starts_with('-'))
        .is_some_and(|sub| sub == "install" || sub == "sync")
        && !args.iter().any(|a| a == "--system")
}

/// True when pipenv, run by root at instruction `ix`, creates its virtualenv in its default
/// place, `~/.local/share/virtualenvs`: nothing before it in the chain puts it in the project
/// (PIPENV_VENV_IN_PROJECT), points WORKON_HOME outside root's home, or activates a virtualenv
/// (VIRTUAL_ENV), which pipenv would use instead.
fn pipenv_venv_in_home(
    doc: &Document,
    chain: &[&Stage],
    ix: usize,
    under_home: &dyn Fn(&str) -> bool,
) -> bool {
    let set = |name: &str| variable_at(doc, chain, ix, name);
    let in_project = set("PIPENV_VENV_IN_PROJECT").is_some_and(|v| truthy(&v));
    !(in_project
        || set("WORKON_HOME").is_some_and(|w| !under_home(&w))
        || set("VIRTUAL_ENV").is_some())
}

/// True when a setting's value turns it on: anything but empty, `0`, `false`, `no`, `off`
/// (quotes and case aside).
fn truthy(v: &str) -> bool {
    !matches!(
        v.trim_matches(['"', '\'']).to_ascii_lowercase().as_str(),
        "" | "0" | "false" | "no" | "off"
    )
}

/// The poetry subcommand among `args` that installs the project's dependencies into its
/// virtualenv (`install`, `sync`, `add`), if any.
fn poetry_installs(args: &[String]) -> Option<&'static str> {
    let sub = args.iter().find(|a| !a.starts_with('-'))?;
    ["install", "sync", "add"].into_iter().find(|s| sub == s)
}

/// True when poetry, run by root at instruction `ix`, creates its virtualenv in its default place,
/// `{cache-dir}/virtualenvs` with the cache in `~/.cache/pypoetry`: nothing before it in the chain
/// (ENV, or `poetry config` in a RUN) turns virtualenvs off, puts them in the project, points
/// them, the cache or XDG_CACHE_HOME outside root's home, or activates a virtualenv (VIRTUAL_ENV),
/// which poetry would use instead.
fn poetry_venv_in_cache(
    doc: &Document,
    chain: &[&Stage],
    ix: usize,
    under_home: &dyn Fn(&str) -> bool,
) -> bool {
    // `poetry config [--local] KEY VALUE` up to and including instruction `ix`, the last wins.
    let instructions = doc.instructions();
    let config = |key: &str| -> Option<String> {
        let mut value = None;
        for i in chain_body(chain).filter(|&i| i <= ix) {
            let ins = &instructions[i];
            if ins.kind != Kind::Run {
                continue;
            }
            let Some(commands) = analysis::commands(doc, ins) else {
                continue;
            };
            for cmd in commands.iter() {
                let w = cmd.program_words();
                let rest: Vec<&String> = w.iter().skip(2).filter(|x| !x.starts_with('-')).collect();
                if w.first()
                    .is_some_and(|p| Some(crate::shell::base_name(p)) == Some("poetry"))
                    && w.get(1).is_some_and(|s| s == "config")
                    && rest.first().is_some_and(|k| *k == key)
                {
                    value = rest.get(1).map(|v| v.to_string());
                }
            }
        }
        value
    };
    // Poetry reads its environment variables before its configuration files.
    let setting = |env: &str, key: &str| variable_at(doc, chain, ix, env).or_else(|| config(key));
    if setting("POETRY_VIRTUALENVS_CREATE", "virtualenvs.create").is_some_and(|v| !truthy(&v)) {
        return false;
    }
    if setting("POETRY_VIRTUALENVS_IN_PROJECT", "virtualenvs.in-project")
        .is_some_and(|v| truthy(&v))
    {
        return false;
    }
    let elsewhere = |v: Option<String>| v.is_some_and(|v| !under_home(&v));
    !(elsewhere(setting("POETRY_VIRTUALENVS_PATH", "virtualenvs.path"))
        || elsewhere(setting("POETRY_CACHE_DIR", "cache-dir"))
        || elsewhere(variable_at(doc, chain, ix, "XDG_CACHE_HOME"))
        || variable_at(doc, chain, ix, "VIRTUAL_ENV").is_some())
}

/// `uv sync` flags that leave out what `uv run` installs by default (the dev group, the
/// project itself, editable installs): with one of them in the build and not in the start
/// command, `uv run` installs the rest into the virtualenv at start.
const UV_SYNC_LEAVES_OUT: &[&str] = &[
    "--no-dev",
    "--only-dev",
    "--no-default-groups",
    "--no-group",
    "--only-group",
    "--no-install-project",
    "--no-install-workspace",
    "--no-install-package",
    "--no-editable",
];

/// `uv run` flags that ask for more than a plain `uv sync` installs.
const UV_RUN_ADDS: &[&str] = &[
    "--group",
    "--all-groups",
    "--extra",
    "--all-extras",
    "--dev",
];

/// Why the final stage cannot run as another user because its start command runs `uv run`,
/// which syncs the project's virtualenv before the app starts: when the build's `uv sync` left
/// something out that `uv run` installs by default (`--no-dev`, `--no-install-project`, ...), the
/// sync at start writes into the virtualenv, which the build made root-owned, and fails as
/// another user (`Permission denied`). A start command with the build's selection, `--no-sync`
/// or UV_NO_SYNC installs nothing and reads the virtualenv only.
/// Why the final stage cannot run as another user because it starts with a build tool (`cargo
/// run`, `dotnet run`, `mvn`, `gradle`) that a RUN of the chain already ran as root in the same
/// tree: the tool compiles again where that build left its output (`target/`, `obj/`,
/// `build/`) root-owned, and takes a lock there, so as another user it always fails.
fn toolchain_after_build(
    doc: &Document,
    chain: &[&Stage],
    ctx: &Context,
    start: &StartCommand,
) -> Option<String> {
    let tool = start.toolchain(ctx.knowledge)?;
    let program = tool.split(' ').next()?;
    let (builds, output): (&[&str], &str) = match program.trim_start_matches("./") {
        "cargo" => (&["build", "test", "install", "run"], "target/"),
        "dotnet" => (&["restore", "build", "publish", "test", "run"], "obj/"),
        "mvn" | "mvnw" => (&[], "target/"),
        "gradle" | "gradlew" => (&[], "build/ and .gradle/"),
        _ => return None,
    };
    let instructions = doc.instructions();
    chain_body(chain).find_map(|ix| {
        let ins = &instructions[ix];
        if ins.kind != Kind::Run {
            return None;
        }
        let commands = analysis::commands(doc, ins)?;
        commands.iter().find_map(|cmd| {
            let words = cmd.program_words();
            let first = crate::shell::base_name(words.first()?);
            if first != crate::shell::base_name(program) {
                return None;
            }
            let sub = words[1..].iter().find(|w| !w.starts_with('-'));
            let built = if builds.is_empty() {
                sub.is_some()
            } else {
                sub.is_some_and(|s| builds.contains(&s.as_str()))
            };
            built.then(|| {
                format!(
                    "the container starts with `{tool}`, which builds the app again in its tree, where the RUN at {} (`{}`) left {output} root-owned; as another user the tool cannot write its files there and fails with Permission denied. Start what the build produced directly (the binary or the jar), then run restage again",
                    analysis::place_of(doc, ix),
                    words.join(" ")
                )
            })
        })
    })
}

fn uv_run_installs(doc: &Document, chain: &[&Stage], start: &StartCommand) -> Option<String> {
    let flag_name = |w: &str| w.split('=').next().unwrap_or(w).to_string();
    let (part, run_flags) = start.parts().find_map(|p| {
        let at = p
            .words
            .windows(2)
            .position(|w| start::base_name(&w[0]) == "uv" && w[1] == "run")?;
        let flags: Vec<String> = p.words[at + 2..]
            .iter()
            .take_while(|w| w.starts_with('-'))
            .map(|w| flag_name(w))
            .collect();
        Some((p, flags))
    })?;
    let no_sync = variable_at(doc, chain, part.index, "UV_NO_SYNC")
        .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on"));
    if no_sync
        || run_flags
            .iter()
            .any(|f| f == "--no-sync" || f == "--no-project")
    {
        return None;
    }
    // The last `uv sync` of the build, with its flags.
    let instructions = doc.instructions();
    let (sync_ix, sync_words) = chain_body(chain)
        .filter(|&i| instructions[i].kind == Kind::Run)
        .filter_map(|i| {
            let commands = analysis::commands(doc, &instructions[i])?;
            commands
                .iter()
                .rev()
                .map(|c| {
                    c.program_words()
                        .iter()
                        .map(|w| w.to_string())
                        .collect::<Vec<String>>()
                })
                .find(|w| {
                    w.windows(2)
                        .any(|p| start::base_name(&p[0]) == "uv" && p[1] == "sync")
                })
                .map(|w| (i, w))
        })
        .last()?;
    let sync_flags: Vec<String> = sync_words
        .iter()
        .filter(|w| w.starts_with('-'))
        .map(|w| flag_name(w))
        .collect();
    let left_out = sync_flags
        .iter()
        .find(|f| UV_SYNC_LEAVES_OUT.contains(&f.as_str()) && !run_flags.contains(f));
    let added = run_flags
        .iter()
        .find(|f| UV_RUN_ADDS.contains(&f.as_str()) && !sync_flags.contains(f));
    let sync = format!(
        "the build's `{}` ({})",
        sync_words.join(" "),
        analysis::place_of(doc, sync_ix)
    );
    let what = match (left_out, added) {
        (Some(f), _) => format!("what {sync} left out with {f}"),
        (None, Some(f)) => format!("what its {f} asks for beyond {sync}"),
        (None, None) => return None,
    };
    Some(format!(
        "the {} ({}) starts the app with `uv run`, which first installs into the project's virtualenv {what}; that needs write access to the virtualenv, which the build leaves root-owned, so as another user it fails with Permission denied. Give `uv run` the same selection as the build (or --no-sync), or start the virtualenv's own programs, then run restage again",
        instructions[part.index].kind,
        analysis::place_of(doc, part.index)
    ))
}

/// What the app writes into its own tree, from the writers (users.toml `[[writer]]`) the build
/// context reveals.
#[derive(Default)]
struct TreeWrites {
    writable: Vec<Writable>,
    /// Why those paths (or that none) are given to the user, for the change's reason.
    explained: Option<String>,
}

/// The paths the app writes into its own tree. Only for a final stage that copies application
/// files (from the context or another stage): restage reads the context's manifests, finds the
/// writers they name, and gives the user exactly their paths under the application root. A
/// context without a readable manifest, a writer whose application root restage cannot
/// locate, are unsafe reasons.
fn app_writes(
    doc: &Document,
    chain: &[&Stage],
    ctx: &Context,
    start: &StartCommand,
    shell: bool,
    unsafe_reasons: &mut Vec<String>,
) -> TreeWrites {
    let instructions = doc.instructions();
    let copies_app = chain_body(chain).any(|ix| {
        let ins = &instructions[ix];
        matches!(ins.kind, Kind::Copy | Kind::Add)
            && (analysis::copies_from_context(ins)
                || ins.flag("from").is_some_and(|f| {
                    f.value
                        .as_ref()
                        .is_some_and(|v| stage_ref(doc, &v.value).is_some())
                }))
    });
    if !copies_app {
        return TreeWrites::default();
    }
    let build = ctx.build;
    let cannot = "so restage cannot tell whether the app writes into the files and folders of its own tree, which stay root-owned";
    let no_ecosystem = build.ecosystems().is_empty();
    let writerless = no_ecosystem && writerless_images(doc, chain, ctx);
    // A context that holds what the COPYs name but no dependency manifest has no dependencies
    // that could write; one that lacks them is not the app's context at all. Asked only
    // without a manifest, the only case that reads it.
    // A RUN that reads a dependency manifest the context does not have (`npm ci` and no
    // package.json) says the same: the app has dependencies restage cannot see.
    let unseen_install = if no_ecosystem {
        manifest_read_elsewhere(doc, ctx)
    } else {
        None
    };
    let complete = no_ecosystem && unseen_install.is_none() && copied_sources_present(doc, build);
    if let Some((ix, command, manifest)) = &unseen_install {
        unsafe_reasons.push(format!(
            "`{command}` ({}) reads {manifest}, which the build context does not have: restage is not reading the app's own context and cannot see its dependencies, {cannot}",
            analysis::place_of(doc, *ix)
        ));
    } else if no_ecosystem && !writerless && !complete {
        unsafe_reasons.push(format!(
            "the build context has no manifest restage reads (package.json, requirements.txt, pyproject.toml, Pipfile, Gemfile, composer.json, go.mod, Cargo.toml, ...) nor every file the COPY instructions name, {cannot}"
        ));
    }
    for unknown in &build.dependencies.unknown {
        unsafe_reasons.push(format!("{unknown}, {cannot}"));
    }
    // The application directory, found once for all the questions below.
    let (app_dir, holds_context) = match app_root(doc, chain) {
        Some((dir, whole)) => (Some(dir), whole),
        None => (None, false),
    };
    if let Some(root) = app_dir.as_deref().filter(|r| *r != "/")
        && let Some((ix, command)) = runs_app_code(doc, chain, ctx, root)
    {
        unsafe_reasons.push(format!(
            "the RUN at {} runs the app's own `{command}` at build time: what it creates in {root} (a SQLite database, a generated file) stays root-owned, and the app could not write into it at runtime",
            analysis::place_of(doc, ix)
        ));
    }
    // The writers the context or the start command reveals, each with the marker that revealed it.
    let in_start = |marker: &str| start.parts().any(|p| p.words.iter().any(|w| w == marker));
    let mut found: Vec<(&crate::knowledge::Writer, String, Vec<String>)> = Vec::new();
    // The root names any writer's globs match, filtered from the listing once (one memo entry
    // for all writers, keyed by all their globs), then each writer's own among them, in order.
    let writers = ctx.knowledge.writers();
    let markers = build.root_names_matching(ctx.knowledge.writers_key(), |n| {
        writers.iter().any(|w| w.matches_file(n))
    });
    for w in writers {
        let files: Vec<String> = if markers.is_empty() {
            Vec::new()
        } else {
            markers
                .iter()
                .filter(|n| w.matches_file(n) && !build.is_ignored(n))
                .cloned()
                .collect()
        };
        let marker = w
            .dependencies
            .iter()
            .find(|(kind, name)| build.dependencies.has(kind, name))
            .map(|(kind, name)| format!("`{name}` in {}", manifest_of(kind)))
            .or_else(|| files.first().map(|f| format!("`{f}` in the build context")))
            .or_else(|| {
                w.start
                    .iter()
                    .find(|m| in_start(m))
                    .map(|m| format!("`{m}` in the start command"))
            });
        if let Some(marker) = marker {
            found.push((w, marker, files));
        }
    }
    if found.is_empty() {
        let read = !no_ecosystem && build.dependencies.unknown.is_empty();
        let explained = if read {
            Some(
                "the build context's manifests name no framework restage knows to write into its own directory",
            )
        } else if complete && build.dependencies.unknown.is_empty() {
            Some(
                "the build context has no dependency manifest, so the app uses no library restage knows to write into its own directory",
            )
        } else if writerless && build.dependencies.unknown.is_empty() {
            Some(
                "restage knows no framework of this image's ecosystem that writes into its own directory",
            )
        } else {
            None
        };
        // Apps create files next to themselves that no manifest announces: an SQLite database
        // through a standard library, a log, a pid or cache file. The application directory
        // itself (not its contents) goes to the user, so those work while the code stays
        // root-owned. An image without a shell cannot run the chown: nothing is claimed there.
        let root = app_dir;
        if shell && !writerless && lives_at_root(doc, chain, root.as_deref()) {
            unsafe_reasons.push(
                "the app has no directory of its own (it lives at /, or restage cannot locate it), which cannot be given to the user: an app that creates files next to itself would fail"
                    .to_string(),
            );
        }
        let writable = root
            .filter(|r| shell && r != "/")
            .map(|root| Writable {
                path: root,
                volume: None,
                origin: "the app".into(),
                exists: true,
                how: Grant::AppDir,
            })
            .into_iter()
            .collect::<Vec<_>>();
        return TreeWrites {
            writable,
            explained: explained.map(str::to_string),
        };
    }
    let Some(root) = app_dir.filter(|r| r != "/") else {
        let names: Vec<String> = found
            .iter()
            .map(|(w, marker, _)| format!("{} ({marker})", w.name))
            .collect();
        unsafe_reasons.push(format!(
            "{} writes into the application directory, which restage cannot locate (no `COPY . <dir>` with a known directory other than /), so it cannot give those paths to the user",
            names.join(", ")
        ));
        return TreeWrites::default();
    };
    let mut out = TreeWrites::default();
    let mut said: Vec<String> = Vec::new();
    for (w, marker, files) in &found {
        let origin = format!("{} ({marker})", w.name);
        let mut push = |path: String, how: Grant, exists: bool| {
            if !out.writable.iter().any(|o| o.path == path) {
                out.writable.push(Writable {
                    path,
                    volume: None,
                    origin: origin.clone(),
                    exists,
                    how,
                });
            }
        };
        let mut what: Vec<String> = Vec::new();
        if w.app_dir {
            push(root.clone(), Grant::AppDir, true);
            what.push(format!("creates files in {root}"));
        }
        for d in &w.dirs {
            push(analysis::join(&root, d), Grant::Tree, false);
        }
        if !w.dirs.is_empty() {
            what.push(format!("writes {} in {root}", w.dirs.join(", ")));
        }
        // Root entries are there only when the whole context is copied to the root: a chown
        // of one that no COPY brought would fail the build.
        if w.chown_files && holds_context && !files.is_empty() {
            for f in files {
                push(analysis::join(&root, f), Grant::File, true);
            }
            what.push(format!("writes {}", files.join(", ")));
        }
        said.push(format!("{origin} {}", what.join(" and ")));
    }
    out.explained = Some(format!(
        "the app writes into its own tree: {}",
        said.join("; ")
    ));
    out
}

/// Interpreters whose first argument is a program file.
const INTERPRETERS: &[&str] = &[
    "python", "python3", "python2", "node", "ruby", "php", "perl", "sh", "bash", "ash", "dash",
];
/// `manage.py` commands that write only what the app reads (static files, translations).
const READ_ONLY_MANAGE: &[&str] = &["collectstatic", "compilemessages", "check"];
/// Build and packaging scripts: what they leave in the app's directory (`build/`, `*.egg-info`,
/// a Makefile) is not the app's data.
const BUILD_SCRIPTS: &[&str] = &[
    "setup.py",
    "distribute_setup.py",
    "ez_setup.py",
    "configure",
    "autogen.sh",
];

/// The first RUN that runs the app's own code at build time (`python init_db.py`, `python
/// manage.py migrate`, `./seed.sh`): a program file inside the application directory `root`, run
/// in the final stage's chain or in a stage whose copy of `root` a `COPY --from` brings here.
/// Package managers and builds the knowledge files classify are not the app's code.
fn runs_app_code(
    doc: &Document,
    chain: &[&Stage],
    ctx: &Context,
    root: &str,
) -> Option<(usize, String)> {
    let instructions = doc.instructions();
    let stage_of = |ix: usize| &doc.stages()[instructions[ix].stage.expect("in a stage")];
    // (stage, the directory there that becomes `root` here)
    let mut places: Vec<(&Stage, String)> = chain.iter().map(|s| (*s, root.to_string())).collect();
    for ix in chain_body(chain) {
        let ins = &instructions[ix];
        let Some(from) = ins
            .flag("from")
            .and_then(|f| f.value.as_ref())
            .and_then(|v| doc.stage_named(&v.value))
        else {
            continue;
        };
        if ins.kind != Kind::Copy || from.index >= stage_of(ix).index {
            continue;
        }
        let [src] = analysis::sources(ins) else {
            continue;
        };
        if analysis::resolved_destination(doc, stage_of(ix), ix).as_deref() == Some(root)
            && !src.value.contains(['$', '*', '?', '['])
        {
            places.push((from, analysis::normalize(&analysis::join("/", &src.value))));
        }
    }
    places.into_iter().find_map(|(stage, dir)| {
        each_run_command(doc, stage, |ix, step| {
            let Step::Command(words, cwd) = step else {
                return None;
            };
            let program = words.first()?;
            let name = crate::shell::base_name(program);
            let interpreter = INTERPRETERS.contains(&name)
                || name
                    .strip_prefix("python3.")
                    .is_some_and(|v| v.bytes().all(|b| b.is_ascii_digit()));
            let (file, rest) = if interpreter {
                let at = words[1..].iter().position(|w| !w.starts_with('-'))?;
                // `python -m pkg`, `node -e '...'`: no program file.
                if words[1..=at]
                    .iter()
                    .any(|w| matches!(w.as_str(), "-m" | "-c" | "-e"))
                {
                    return None;
                }
                (&words[1 + at], &words[2 + at..])
            } else if program.contains('/') {
                (program, &words[1..])
            } else {
                return None;
            };
            let script = crate::shell::base_name(file);
            if BUILD_SCRIPTS.contains(&script)
                || (script == "manage.py"
                    && rest
                        .first()
                        .is_some_and(|c| READ_ONLY_MANAGE.contains(&c.as_str())))
            {
                return None;
            }
            let path = resolve_path(file, cwd)?;
            // Asked last: most commands are not a program file of the app at all.
            (analysis::is_within(&path, &dir) && ctx.knowledge.classify_command(words).is_none())
                .then(|| (ix, words.join(" ")))
        })
    })
}

/// True when the app's own files sit at `/` itself: its root is `/`, or (root unknown) the final
/// stage copies something straight into `/` (`COPY app.py /`, `COPY --from=build /main.py /main.py`)
/// rather than into a directory such as `/usr/local/bin`.
fn lives_at_root(doc: &Document, chain: &[&Stage], root: Option<&str>) -> bool {
    const SYSTEM: &[&str] = &[
        "/bin", "/sbin", "/lib", "/lib64", "/usr", "/etc", "/opt", "/srv", "/var", "/home", "/tmp",
        "/run", "/mnt", "/media",
    ];
    match root {
        Some(r) => r == "/",
        None => {
            let stage = doc.final_stage();
            (stage.from + 1..stage.instructions.end).any(|ix| {
                let ins = &doc.instructions()[ix];
                if !matches!(ins.kind, Kind::Copy | Kind::Add) {
                    return false;
                }
                match analysis::resolved_destination(doc, stage, ix) {
                    Some(d) => {
                        d == "/" || (d.rfind('/') == Some(0) && !SYSTEM.contains(&d.as_str()))
                    }
                    // A relative destination under the image's own working directory (`/` for
                    // most images): no directory of the app's own. A stage built FROM another
                    // stage inherits that stage's WORKDIR instead, which is not known here.
                    // A relative destination under a WORKDIR restage cannot resolve (a relative
                    // `WORKDIR app` on the image's own, a variable): it cannot locate the app.
                    None => match analysis::workdir_at(doc, stage, ix) {
                        Workdir::Inherited => {
                            chain.len() == 1
                                && analysis::destination(ins).is_some_and(|w| {
                                    !w.value.starts_with('/') && !w.value.contains('$')
                                })
                        }
                        Workdir::Unknown => {
                            analysis::destination(ins).is_some_and(|w| !w.value.starts_with('/'))
                        }
                        Workdir::Known(_) => false,
                    },
                }
            })
        }
    }
}

/// True when the build context was read and holds every source the file's COPY/ADD
/// instructions take from it (a glob: some root entry matches; a variable or a URL: not known).
/// The first command of any stage's RUNs that reads a dependency manifest (`npm ci`:
/// package.json), with its instruction and the manifest, for a context that has none.
fn manifest_read_elsewhere(doc: &Document, ctx: &Context) -> Option<(usize, String, String)> {
    let instructions = doc.instructions();
    (0..instructions.len())
        .filter(|&ix| instructions[ix].kind == Kind::Run && instructions[ix].stage.is_some())
        .find_map(|ix| {
            let commands = analysis::commands(doc, &instructions[ix])?;
            commands.iter().find_map(|c| {
                let m = ctx.knowledge.classify_command(&c.words)?;
                let spec = ctx.knowledge.manifests(m.manager.as_deref()?)?;
                let manifest = m
                    .manifests
                    .first()
                    .or_else(|| spec.required.first())
                    .or_else(|| spec.required_any.first())?
                    .clone();
                Some((ix, c.program_words().join(" "), manifest))
            })
        })
}

fn copied_sources_present(doc: &Document, build: &crate::context::BuildContext) -> bool {
    let Some(listing) = &build.listing else {
        return false;
    };
    // Every stage: the final one may get the app only through `COPY --from` of a build stage.
    let instructions = doc.instructions();
    (0..instructions.len())
        .filter(|&ix| instructions[ix].stage.is_some())
        .filter(|&ix| analysis::copies_from_context(&instructions[ix]))
        .flat_map(|ix| analysis::sources(&instructions[ix]))
        .all(|src| {
            let s = src.value.trim_matches(['"', '\'']);
            if s.contains('$') || s.contains("://") {
                return false;
            }
            if s.contains(['*', '?', '[']) {
                let pattern = s.trim_start_matches("./");
                return !pattern.contains('/')
                    && globset::Glob::new(pattern)
                        .map(|g| g.compile_matcher())
                        .is_ok_and(|m| listing.keys().any(|name| m.is_match(name)));
            }
            build.exists(s)
        })
}

/// The ecosystem a dependency kind of users.toml `[[writer]]` belongs to.
fn kind_ecosystem(kind: &str) -> &'static str {
    match kind {
        "npm" => "node",
        "pip" => "python",
        "gem" => "ruby",
        "composer" => "php",
        "go" => "go",
        "cargo" => "rust",
        _ => "",
    }
}

/// True when the final stage's image and the images of every stage it copies from belong to
/// ecosystems for which the knowledge files name no writer by dependency (Java, .NET): then the
/// manifests could not reveal one, and their absence (a plain `javac` project) hides nothing.
fn writerless_images(doc: &Document, chain: &[&Stage], ctx: &Context) -> bool {
    let instructions = doc.instructions();
    let mut stages: Vec<&Stage> = vec![chain[0]];
    for ix in chain_body(chain) {
        if let Some(from) = instructions[ix]
            .flag("from")
            .and_then(|f| f.value.as_ref())
            .and_then(|v| stage_ref(doc, &v.value))
        {
            stages.push(from);
        }
    }
    let kinds = ctx.knowledge.writer_kinds();
    stages.into_iter().all(|stage| {
        // Follow FROM <stage> to the external image.
        let mut s = stage;
        while let Some(parent) = doc
            .stage_named(&s.image.value)
            .filter(|p| p.index < s.index)
        {
            s = parent;
        }
        let ecosystem = resolve_image(doc, &s.image.value)
            .ok()
            .and_then(|(r, _)| ctx.knowledge.image_named(&r))
            .and_then(|info| info.ecosystem.clone());
        ecosystem.is_some_and(|e| !kinds.iter().any(|k| kind_ecosystem(k) == e))
    })
}

/// The manifest a dependency kind is read from, for messages.
fn manifest_of(kind: &str) -> &'static str {
    match kind {
        "npm" => "package.json",
        "pip" => "the Python requirements",
        "gem" => "the Gemfile",
        "composer" => "composer.json",
        "go" => "go.mod",
        "cargo" => "the Cargo manifests",
        _ => "a manifest",
    }
}

/// The stage of this file a `--from` names (alias or index).
fn stage_ref<'d>(doc: &'d Document, from: &str) -> Option<&'d Stage> {
    doc.stage_named(from)
        .or_else(|| from.parse::<usize>().ok().and_then(|i| doc.stages().get(i)))
}

/// The application root of the final stage: where the build context is copied (`COPY . <dir>`
/// in the chain, or `COPY --from=<stage> <dir> <dest>` of a stage that copied it to `<dir>`),
/// else the final WORKDIR when the stage copies files into it; with whether the whole build
/// context is there (the first case), so its root entries are.
fn app_root(doc: &Document, chain: &[&Stage]) -> Option<(String, bool)> {
    let instructions = doc.instructions();
    let stage_of = |ix: usize| &doc.stages()[instructions[ix].stage.expect("in a stage")];
    let final_stage = doc.final_stage();
    let mut root: Option<String> = None;
    for ix in chain_body(chain) {
        let ins = &instructions[ix];
        if !matches!(ins.kind, Kind::Copy | Kind::Add) {
            continue;
        }
        if analysis::is_broad_copy(ins) {
            if let Some(d) = analysis::resolved_destination(doc, stage_of(ix), ix) {
                root = Some(d);
            }
            continue;
        }
        let Some(from) = ins
            .flag("from")
            .and_then(|f| f.value.as_ref())
            .and_then(|v| stage_ref(doc, &v.value))
        else {
            continue;
        };
        let [src] = analysis::sources(ins) else {
            continue;
        };
        let src = analysis::join("/", &src.value);
        let Some(dest) = analysis::resolved_destination(doc, stage_of(ix), ix) else {
            continue;
        };
        let copied = (from.from + 1..from.instructions.end)
            .rev()
            .filter(|&i| analysis::is_broad_copy(&instructions[i]))
            .find_map(|i| analysis::resolved_destination(doc, from, i));
        if let Some(d) = copied
            && analysis::is_within(&d, &src)
        {
            let rest = d[src.len()..].trim_start_matches('/');
            root = Some(if rest.is_empty() {
                dest
            } else {
                analysis::join(&dest, rest)
            });
        }
    }
    match root {
        Some(root) => Some((root, true)),
        None => analysis::workdir_at(doc, final_stage, final_stage.instructions.end)
            .known()
            .filter(|wd| *wd != "/")
            .map(|wd| (wd.to_string(), false)),
    }
}

/// An absolute, normalised path for `path` in working directory `cwd`; `None` for variables,
/// globs, braces, `~`, or a relative path in an unknown directory.
fn resolve_path(path: &str, cwd: &Workdir) -> Option<String> {
    if path.is_empty() || path.contains(['$', '`', '{', '}', '*', '?', '[', '~']) {
        return None;
    }
    if path.starts_with('/') {
        return Some(analysis::normalize(path));
    }
    cwd.known().map(|wd| analysis::join(wd, path))
}

/// The directories a `mkdir` command names (options skipped; `-m`/`--mode` take a value).
fn mkdir_targets(words: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut options = true;
    let mut i = 1;
    while i < words.len() {
        let w = &words[i];
        if options && w == "--" {
            options = false;
        } else if options && w.starts_with("--") {
            if w == "--mode" {
                i += 1;
            }
        } else if options && w.starts_with('-') && w.len() > 1 {
            if w.ends_with('m') {
                i += 1;
            }
        } else {
            out.push(w.clone());
        }
        i += 1;
    }
    out
}

/// Top-level directories of the system: a directory created there is for software, not data.
const SYSTEM_TREES: &[&str] = &[
    "bin", "boot", "dev", "etc", "lib", "lib32", "lib64", "libx32", "media", "mnt", "opt", "proc",
    "root", "run", "sbin", "sys", "usr",
];

/// True when a directory created with `mkdir` is for data the app writes: inside the
/// application directory, under `/var/{lib,log,cache,tmp}/`, `/srv/`, `/home/`, `/tmp/`, or
/// a top-level directory of its own (`/data`) — and neither the application directory (or one
/// of its parents) nor a directory files are copied into.
fn is_data_dir(path: &str, workdir: Option<&str>, app_dirs: &[String]) -> bool {
    if path == "/" || app_dirs.iter().any(|a| analysis::is_within(a, path)) {
        return false;
    }
    if workdir.is_some_and(|wd| analysis::is_within(path, wd)) {
        return true;
    }
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match parts[0] {
        top if SYSTEM_TREES.contains(&top) => false,
        "var" => parts.len() >= 3 && matches!(parts[1], "lib" | "log" | "cache" | "tmp"),
        "tmp" | "srv" | "home" => parts.len() >= 2,
        _ => true,
    }
}

/// True unless a SHELL of the chain names something other than a POSIX shell.
fn posix_shell(doc: &Document, chain: &[&Stage]) -> bool {
    let instructions = doc.instructions();
    chain_body(chain)
        .rev()
        .find(|&i| instructions[i].kind == Kind::Shell)
        .is_none_or(|ix| {
            let program = instructions[ix]
                .words
                .first()
                .map_or("", |w| w.value.as_str());
            let base = crate::shell::base_name(program);
            matches!(base, "sh" | "bash" | "ash" | "dash" | "zsh" | "ksh")
        })
}

fn user_value_is_numeric(value: &str) -> bool {
    value
        .split(':')
        .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// A RUN instruction made of `parts` joined with `&&`, one per line (no line terminator).
fn run_text(doc: &Document, parts: &[String]) -> String {
    let style = doc.style();
    let mut s = String::with_capacity(128);
    s.push_str(&style.keyword(Kind::Run));
    s.push(' ');
    s.push_str(&parts[0]);
    for p in &parts[1..] {
        s.push(' ');
        s.push(doc.escape());
        s.push_str(style.nl());
        s.push_str(&style.continuation_indent);
        s.push_str("&& ");
        s.push_str(p);
    }
    s
}

/// The parts of a `&&` list, as `command.split(" && ")` gives them, without the substring
/// searcher `split` builds for every call (several times the cost of these short commands).
fn and_parts(command: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(command);
    std::iter::from_fn(move || {
        let r = rest?;
        let found = r.as_bytes().windows(4).position(|w| w == b" && ");
        match found {
            Some(i) => {
                rest = r.get(i + 4..);
                r.get(..i)
            }
            None => {
                rest = None;
                Some(r)
            }
        }
    })
}

/// The programs a creation command runs (`groupadd/useradd`).
fn tools(command: &str, s: &mut String) {
    for (i, program) in and_parts(command)
        .filter_map(|c| c.split_whitespace().next())
        .enumerate()
    {
        if i > 0 {
            s.push('/');
        }
        s.push_str(program);
    }
}

fn os_name(os: &Os) -> &'static str {
    match os {
        Os::Debian { .. } => "Debian",
        Os::Ubuntu { .. } => "Ubuntu",
        Os::Alpine => "Alpine",
        Os::Busybox => "BusyBox",
        Os::Distroless => "distroless",
        Os::Scratch => "scratch",
        Os::Unknown => "unknown OS",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;
    use crate::context::BuildContext;
    use crate::edit::Applicability;
    use crate::knowledge::Knowledge;
    use crate::syntax::parse;

    /// A context whose manifests were read and name no writer (a package.json without
    /// dependencies).
    fn plain_context() -> BuildContext {
        let mut build = BuildContext::default();
        build
            .files
            .insert("package.json".into(), crate::context::EntryKind::File);
        build.package_json = Some(Default::default());
        build
            .dependencies
            .names
            .insert("npm".into(), Default::default());
        build
    }

    #[test]
    fn and_parts_splits_as_split_does() {
        for command in [
            "",
            "groupadd -g 10001 app && useradd -u 10001 -g app app",
            "a && b && c",
            "a && && b",
            " && a && ",
            "a&&b && c",
            "a &&  b",
            "a && b &&",
            "\u{e9} && \u{e9}\u{e9}",
        ] {
            let want: Vec<&str> = command.split(" && ").collect();
            assert_eq!(and_parts(command).collect::<Vec<_>>(), want, "{command:?}");
        }
    }

    fn words(command: &str) -> Vec<String> {
        command.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn removed_paths_are_the_operands_rm_and_mv_take_away() {
        let cases: &[(&str, &[&str])] = &[
            ("rm -rf /app/tmp /app/cache", &["/app/tmp", "/app/cache"]),
            ("rm -r -f -- -odd", &["-odd"]),
            ("rmdir logs", &["logs"]),
            ("mv logs old-logs", &["logs"]),
            ("mv -f a b dest/", &["a", "b"]),
            ("mv -t dest a b", &["a", "b"]),
            ("mv --target-directory=dest a", &["a"]),
            ("mv -S .bak a b", &["a"]),
            ("cp -r a b", &[]),
            ("mkdir a", &[]),
        ];
        for (command, want) in cases {
            assert_eq!(removed_paths(&words(command)), *want, "{command}");
        }
    }

    #[test]
    fn a_removal_is_a_path_or_what_a_glob_reaches() {
        let app = Workdir::Known("/app".into());
        let of = |t: &str| removal(t, &app);
        assert_eq!(of("tmp"), Some(Removal::Path("/app/tmp".into())));
        assert_eq!(of("/srv/data/"), Some(Removal::Path("/srv/data".into())));
        let matching = |dir: &str, pattern: &str| {
            Some(Removal::Matching {
                dir: dir.into(),
                pattern: pattern.into(),
            })
        };
        assert_eq!(of("var/*"), matching("/app/var", "*"));
        assert_eq!(of("/tmp/*"), matching("/tmp", "*"));
        assert_eq!(of("/*"), matching("/", "*"));
        assert_eq!(of("*.log"), matching("/app", "*.log"));
        assert_eq!(of("/tmp/phantomjs*/"), matching("/tmp", "phantomjs*"));
        assert_eq!(of("cache/ab*/x"), Some(Removal::Glob("/app/cache".into())));
        assert_eq!(of("var/[ab]*"), Some(Removal::Glob("/app/var".into())));
        assert_eq!(of("$DIR"), None);
        assert_eq!(removal("tmp", &Workdir::Unknown), None);
        let reach = |t: &str, path: &str| of(t).expect("resolves").reach(path);
        assert_eq!(reach("tmp", "/app/tmp"), Reach::Gone);
        assert_eq!(reach("tmp", "/app/tmp/a"), Reach::Gone);
        assert_eq!(reach("tmp", "/app/tmpx"), Reach::Untouched);
        assert_eq!(reach("var/*", "/app/var/sessions/x"), Reach::Gone);
        assert_eq!(reach("var/*", "/app/var/.keep"), Reach::Untouched);
        assert_eq!(reach("var/*", "/app/var"), Reach::Untouched);
        assert_eq!(reach("var/*.pid", "/app/var/run"), Reach::Untouched);
        assert_eq!(reach("var/*.pid", "/app/var/x.pid/y"), Reach::Gone);
        assert_eq!(reach("var/[ab]*", "/app/var/run"), Reach::Maybe);
        for (pattern, name, want) in [
            ("*", "x", true),
            ("*", ".x", false),
            (".*", ".x", true),
            ("phantomjs*", "phantomjs", true),
            ("ares_parse_*_reply", "ares_parse_reply", false),
            ("ares_parse_*_reply", "ares_parse_a_reply", true),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("*a*b", "xaayb", true),
            ("*a*b", "xaaybc", false),
        ] {
            assert_eq!(glob_matches(pattern, name), want, "{pattern} {name}");
        }
        assert!(under("/app/a", "/app") && !under("/app", "/app") && !under("/apple", "/app"));
    }

    #[test]
    fn unread_runs_are_searched_for_what_rm_and_mv_name() {
        let paths = |text: &str| -> Vec<String> {
            unread_removals(text)
                .into_iter()
                .map(|r| match r {
                    Removal::Path(p) => p,
                    Removal::Matching { dir, pattern } => format!("{dir}/{pattern}"),
                    Removal::Glob(d) => format!("{d}/?"),
                })
                .collect()
        };
        assert_eq!(
            paths("RUN cd /app && x > /dev/null && rm -rf /app /root"),
            ["/app", "/root"]
        );
        assert_eq!(
            paths("RUN rm -r $(stack path) && rm -r \"/code\" ;mv /a/b /c"),
            ["/code", "/a/b"]
        );
        assert_eq!(paths("RUN if [ -d x ]; then rm -rf /tmp/*; fi"), ["/tmp/*"]);
        assert!(paths("RUN cd /app && echo $(pwd) > /app/x && rm -f build.log").is_empty());
    }

    #[test]
    fn a_path_s_fate_follows_the_chain_in_order() {
        let made = |p: &str| Event::Made(p.into());
        let rm = |p: &str, ix| Event::Removed(Removal::Path(p.into()), ix);
        let glob = |d: &str| Event::Removed(Removal::Glob(d.into()), 9);
        let events = [
            made("/app"),
            made("/app/tmp/cache"),
            rm("/app/tmp", 3),
            made("/app/data"),
            rm("/app/data", 5),
            made("/app/data/x"),
            glob("/app/var"),
        ];
        assert_eq!(fate(&events, "/app/tmp"), Fate::Removed(3));
        assert_eq!(fate(&events, "/app/tmp/cache"), Fate::Removed(3));
        // Made again below it, so there again.
        assert_eq!(fate(&events, "/app/data"), Fate::Exists);
        assert_eq!(fate(&events, "/app"), Fate::Exists);
        assert_eq!(fate(&events, "/app/var/log"), Fate::Maybe);
        assert_eq!(fate(&events, "/srv"), Fate::Unseen);
        let writable = |path: &str, exists, how| Writable {
            path: path.into(),
            volume: None,
            origin: "test".into(),
            exists,
            how,
        };
        let mut ws = vec![
            writable("/app/tmp/cache", true, Grant::Dir),
            writable("/app/tmp", false, Grant::Tree),
            writable("/app/var/log", true, Grant::Dir),
            writable("/app/var/db.sqlite3", true, Grant::File),
            writable("/app/data", false, Grant::Dir),
        ];
        let gone_apps = settle(&mut ws, &events);
        assert!(gone_apps.is_empty());
        let left: Vec<(&str, bool)> = ws.iter().map(|w| (w.path.as_str(), w.exists)).collect();
        assert_eq!(
            left,
            [
                ("/app/tmp", false),
                ("/app/var/log", false),
                ("/app/data", true)
            ]
        );
        let mut app = vec![writable("/app/tmp", true, Grant::AppDir)];
        assert_eq!(
            settle(&mut app, &events),
            [("/app/tmp".to_string(), 3, true)]
        );
        assert!(app.is_empty());
    }

    fn changes(text: &str, style: UserStyle) -> Vec<Change> {
        changes_in(text, style, &plain_context())
    }

    fn changes_in(text: &str, style: UserStyle, build: &BuildContext) -> Vec<Change> {
        let knowledge = Knowledge::builtin().expect("built-in knowledge loads");
        let settings = Settings {
            user_style: style,
            ..Settings::default()
        };
        let ctx = Context {
            knowledge: &knowledge,
            options: crate::transforms::TransformOptions::of(&settings),
            build,
        };
        run(&parse(text).expect("parses"), &ctx)
    }

    fn applied(text: &str, style: UserStyle) -> String {
        let cs = changes(text, style);
        assert_eq!(cs.len(), 1, "{cs:?}");
        crate::edit::apply(text, &cs[0].edits).expect("no overlap")
    }

    #[test]
    fn named_style_writes_names_where_a_user_database_exists() {
        let node = "FROM node:20-slim\nCOPY . .\nCMD [\"node\"]\n";
        assert!(applied(node, UserStyle::Named).contains("COPY . .\nUSER node\nCMD"));
        assert!(applied(node, UserStyle::Numeric).contains("USER 1000:1000\n"));
        let alpine = "FROM alpine:3.20\nCOPY app /app\nCMD [\"/app\"]\n";
        let out = applied(alpine, UserStyle::Named);
        assert!(
            out.contains(
                "&& adduser -S -D -h /home/app -s /sbin/nologin -u 10001 -G app app\nUSER app\n"
            ),
            "{out}"
        );
        // scratch has no /etc/passwd: numeric whatever the style.
        let scratch = "FROM scratch\nCOPY app /app\nENTRYPOINT [\"/app\"]\n";
        assert!(applied(scratch, UserStyle::Named).contains("USER 65532:65532\n"));
        // A user the Dockerfile creates is named in either style when its uid is not fixed.
        let declared = "FROM debian:bookworm-slim\nRUN useradd -m svc\nCMD [\"svc\"]\n";
        assert!(applied(declared, UserStyle::Numeric).contains("USER svc\n"));
        let fixed = "FROM debian:bookworm-slim\nRUN useradd -u1500 -m svc\nCMD [\"svc\"]\n";
        assert!(applied(fixed, UserStyle::Numeric).contains("USER 1500\n"));
        assert!(applied(fixed, UserStyle::Named).contains("USER svc\n"));
    }

    #[test]
    fn knowledge_marks_images_that_already_run_as_non_root() {
        let k = Knowledge::builtin().unwrap();
        let runs_as = |r: &str| {
            k.image(&ImageRef::parse(r).unwrap())
                .and_then(|i| i.runs_as.clone())
                .map(|u| u.name)
        };
        for r in [
            "gcr.io/distroless/static-debian12:nonroot",
            "gcr.io/distroless/base-debian12:debug-nonroot",
            "gcr.io/distroless/java21-debian12:nonroot-arm64",
        ] {
            assert_eq!(runs_as(r).as_deref(), Some("nonroot"), "{r}");
        }
        assert_eq!(
            runs_as("mcr.microsoft.com/dotnet/aspnet:8.0-noble-chiseled").as_deref(),
            Some("app")
        );
        // .NET 8+ SDK images inherit `app` from the aspnet image; 6.0/7.0 have no such user.
        let user = |r: &str| {
            k.image(&ImageRef::parse(r).unwrap())
                .and_then(|i| i.user.clone())
        };
        for r in [
            "mcr.microsoft.com/dotnet/sdk:8.0",
            "mcr.microsoft.com/dotnet/sdk:9.0-alpine",
            "mcr.microsoft.com/dotnet/sdk:8.0.204",
        ] {
            assert!(
                matches!(user(r), Some(UserPlan::Existing(u)) if u.uid == 1654),
                "{r}"
            );
        }
        for r in [
            "mcr.microsoft.com/dotnet/sdk:7.0",
            "mcr.microsoft.com/dotnet/sdk:6.0-alpine",
        ] {
            assert!(matches!(user(r), Some(UserPlan::Create { .. })), "{r}");
            assert!(
                k.runtime_image(&ImageRef::parse(r).unwrap(), &Default::default())
                    .is_some(),
                "{r} still maps to a runtime image"
            );
        }
        for r in [
            "gcr.io/distroless/static-debian12",
            "gcr.io/distroless/static-debian12:debug",
            "mcr.microsoft.com/dotnet/aspnet:8.0",
            "node:20-slim",
        ] {
            assert_eq!(runs_as(r), None, "{r}");
        }
    }

    #[test]
    fn leaves_alone_what_already_is_or_must_stay_root() {
        for text in [
            // Already non-root, by name, id or variable.
            "FROM node:20-slim\nUSER node\nCMD [\"node\"]\n",
            "FROM debian:12-slim\nUSER 1001:1001\nCMD [\"x\"]\n",
            "FROM mcr.microsoft.com/dotnet/aspnet:8.0\nUSER $APP_UID\nCMD [\"x\"]\n",
            // Self-managed.
            "FROM redis:7\nCOPY redis.conf /usr/local/etc/redis/\n",
            "FROM nginx:1.27\nCOPY site /usr/share/nginx/html\n",
            // Privilege droppers in shell form, behind an init, or via setpriv / chroot.
            "FROM debian:bookworm-slim\nENTRYPOINT exec gosu app /usr/local/bin/app\n",
            "FROM debian:bookworm-slim\nENTRYPOINT [\"tini\", \"--\", \"su-exec\", \"app\", \"/app\"]\n",
            "FROM debian:bookworm-slim\nCMD [\"setpriv\", \"--reuid=1000\", \"--regid=1000\", \"--init-groups\", \"/app\"]\n",
            "FROM debian:bookworm-slim\nCMD [\"chroot\", \"--userspec=1000:1000\", \"/\", \"/app\"]\n",
        ] {
            assert!(changes(text, UserStyle::Numeric).is_empty(), "{text}");
        }
        // `chroot` without --userspec does not drop privileges.
        let chroot = "FROM debian:bookworm-slim\nCMD [\"chroot\", \"/jail\", \"/app\"]\n";
        assert_eq!(changes(chroot, UserStyle::Numeric).len(), 1);
    }

    #[test]
    fn scripts_and_unknowns_are_suggestions() {
        for text in [
            "FROM node:20-slim\nENTRYPOINT [\"/usr/local/bin/start.sh\"]\n",
            "FROM node:20-slim\nENTRYPOINT [\"tini\", \"--\", \"/entrypoint\"]\n",
            "FROM node:20-slim\nENTRYPOINT [\"tini\", \"--\"]\nCMD [\"/docker-entrypoint.sh\", \"node\"]\n",
            "FROM node:20-slim\nENTRYPOINT [\"sh\", \"-c\", \"./run.sh\"]\n",
            "FROM $BASE\nCMD [\"x\"]\n",
            "FROM quay.io/someone/thing:1\nCMD [\"x\"]\n",
            "FROM debian:bookworm-slim\nRUN useradd -m \"$NAME\"\nCMD [\"x\"]\n",
        ] {
            let cs = changes(text, UserStyle::Numeric);
            assert_eq!(cs.len(), 1, "{text}");
            assert_eq!(cs[0].applicability, Applicability::DisplayOnly, "{text}");
            assert!(cs[0].edits.is_empty());
        }
        // A start script in CMD (no ENTRYPOINT) is not an entrypoint that drops privileges, but
        // restage cannot read it either (it may start daemons as root): unsafe, not refused.
        let cmd = "FROM node:20-slim\nCOPY . /app\nCMD [\"/app/start.sh\"]\n";
        let cs = changes(cmd, UserStyle::Numeric);
        assert_eq!(cs[0].applicability, Applicability::Unsafe);
        assert!(
            cs[0]
                .reason
                .contains("runs `/app/start.sh`, a script restage does not read")
        );
        // A program that is not a script is read as the app.
        let cmd = "FROM node:20-slim\nCOPY . /app\nCMD [\"node\", \"/app/start.js\"]\n";
        assert_eq!(
            changes(cmd, UserStyle::Numeric)[0].applicability,
            Applicability::Safe
        );
    }

    #[test]
    fn a_toolchain_at_start_is_unsafe() {
        for cmd in [
            "CMD [\"dotnet\", \"run\"]",
            "CMD go run .",
            "ENTRYPOINT [\"./mvnw\", \"spring-boot:run\"]",
        ] {
            let text = format!("FROM golang:1.22\nWORKDIR /src\nCOPY . .\n{cmd}\n");
            let cs = changes(&text, UserStyle::Numeric);
            assert_eq!(cs[0].applicability, Applicability::Unsafe, "{cmd}");
        }
        let built =
            "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN go build -o /app .\nCMD [\"/app\"]\n";
        assert_eq!(
            changes(built, UserStyle::Numeric)[0].applicability,
            Applicability::Safe
        );
    }

    #[test]
    fn ports_and_paths() {
        let port = |expose: &str| {
            let text =
                format!("FROM node:20-slim\nARG P=8080\nENV Q=443\n{expose}\nCMD [\"node\"]\n");
            changes(&text, UserStyle::Numeric)[0].applicability
        };
        // Ports below 1024 are safe (Docker 20.10+, Podman, containerd 2.0+); the reason says
        // what to set where a runtime does not allow them.
        for expose in [
            "EXPOSE 3000 8080/tcp",
            "EXPOSE $P",
            "EXPOSE ${Q}/tcp",
            "EXPOSE 1000-1100",
            "EXPOSE $UNKNOWN",
        ] {
            assert_eq!(port(expose), Applicability::Safe, "{expose}");
        }
        let note = |expose: &str| {
            let text = format!("FROM node:20-slim\nENV Q=443\n{expose}\nCMD [\"node\"]\n");
            changes(&text, UserStyle::Numeric)[0]
                .reason
                .contains("net.ipv4.ip_unprivileged_port_start=0")
        };
        assert!(note("EXPOSE 80") && note("EXPOSE ${Q}/tcp") && note("EXPOSE 1000-1100"));
        assert!(!note("EXPOSE 8080") && !note("EXPOSE $UNKNOWN"));

        let words = |s: &str| s.split_whitespace().map(str::to_string).collect::<Vec<_>>();
        assert_eq!(
            mkdir_targets(&words("mkdir -pv -m 0750 /a --mode=700 b -- -c")),
            ["/a", "b", "-c"]
        );
        let app = vec!["/app".to_string(), "/etc/app".to_string()];
        for (path, data) in [
            ("/app/uploads", true),
            ("/data", true),
            ("/var/lib/app", true),
            ("/var/lib", false),
            ("/var/run/sshd", false),
            ("/usr/share/man/man1", false),
            ("/opt/tool", false),
            ("/app", false),
            ("/", false),
            ("/etc", false),
            ("/tmp/cache", true),
        ] {
            assert_eq!(is_data_dir(path, Some("/app"), &app), data, "{path}");
        }
        assert_eq!(
            resolve_path("x/../y", &Workdir::Known("/app".into())).as_deref(),
            Some("/app/y")
        );
        assert_eq!(resolve_path("x", &Workdir::Inherited), None);
        assert_eq!(resolve_path("/d/{a,b}", &Workdir::Inherited), None);
        assert!(user_value_is_numeric("10001:10001") && !user_value_is_numeric("app"));
    }

    #[test]
    fn poetry_virtualenvs_in_roots_cache_are_refused_unless_placed_elsewhere() {
        let base = "FROM python:3.11\nRUN pip install poetry\nWORKDIR /srv\nCOPY . .\n";
        let refused = [
            "RUN poetry install\n",
            "RUN poetry sync --no-root\n",
            "ENV POETRY_VIRTUALENVS_PATH=/root/venvs\nRUN poetry install\n",
            "RUN poetry config virtualenvs.in-project false && poetry install\n",
            "ENV POETRY_VIRTUALENVS_IN_PROJECT=false\nRUN poetry config virtualenvs.in-project true && poetry install\n",
        ];
        for body in refused {
            let text = format!("{base}{body}CMD [\"poetry\", \"run\", \"python\", \"app.py\"]\n");
            let cs = changes(&text, UserStyle::Numeric);
            assert_eq!(cs[0].applicability, Applicability::DisplayOnly, "{text}");
            assert!(cs[0].reason.contains("pypoetry"), "{}", cs[0].reason);
        }
        let kept = [
            "ENV POETRY_VIRTUALENVS_CREATE=false\nRUN poetry install\n",
            "RUN poetry config virtualenvs.create false\nRUN poetry install\n",
            "RUN poetry config --local virtualenvs.in-project true && poetry install\n",
            "ENV POETRY_VIRTUALENVS_PATH=/opt/venvs\nRUN poetry install\n",
            "ENV POETRY_CACHE_DIR=/opt/poetry\nRUN poetry install\n",
            "ENV XDG_CACHE_HOME=/var/cache\nRUN poetry install\n",
            "ENV VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH\nRUN python -m venv /opt/venv && poetry install\n",
            "ENV HOME=/home/build\nRUN poetry install\n",
            // The environment variable wins over `poetry config`.
            "ENV POETRY_VIRTUALENVS_CREATE=false\nRUN poetry config virtualenvs.create true && poetry install\n",
            "RUN poetry build\n",
        ];
        for body in kept {
            let text = format!("{base}{body}CMD [\"poetry\", \"run\", \"python\", \"app.py\"]\n");
            let cs = changes(&text, UserStyle::Numeric);
            assert_eq!(
                cs[0].applicability,
                Applicability::Safe,
                "{text}: {}",
                cs[0].reason
            );
        }
    }

    #[test]
    fn pipenv_virtualenvs_in_roots_home_are_refused_unless_placed_elsewhere() {
        let base = "FROM python:3.12-slim\nRUN pip install pipenv\nWORKDIR /app\nCOPY . .\n";
        for body in [
            "RUN pipenv install\n",
            "RUN pipenv install --deploy\n",
            "RUN pipenv sync\n",
            "ENV WORKON_HOME=/root/venvs\nRUN pipenv install\n",
            "ENV PIPENV_VENV_IN_PROJECT=0\nRUN pipenv install\n",
        ] {
            let text = format!("{base}{body}CMD [\"pipenv\", \"run\", \"python\", \"app.py\"]\n");
            let cs = changes(&text, UserStyle::Numeric);
            assert_eq!(cs[0].applicability, Applicability::DisplayOnly, "{text}");
            assert!(cs[0].reason.contains("virtualenvs"), "{}", cs[0].reason);
        }
        for body in [
            "RUN pipenv install --system --deploy\n",
            "ENV PIPENV_VENV_IN_PROJECT=1\nRUN pipenv install\n",
            "ENV WORKON_HOME=/opt/venvs\nRUN pipenv install\n",
            "ENV HOME=/home/build\nRUN pipenv install\n",
            "RUN pipenv lock\n",
        ] {
            let text = format!("{base}{body}CMD [\"python\", \"app.py\"]\n");
            let cs = changes(&text, UserStyle::Numeric);
            assert_eq!(
                cs[0].applicability,
                Applicability::Safe,
                "{text}: {}",
                cs[0].reason
            );
        }
    }

    #[test]
    fn uv_run_that_would_install_at_start_is_refused() {
        let base = "FROM python:3.12-slim\nRUN pip install uv\nWORKDIR /srv\nCOPY . .\n";
        let refused = [
            (
                "RUN uv sync --frozen --no-dev\n",
                "[\"uv\", \"run\", \"python\", \"app.py\"]",
            ),
            (
                "RUN uv sync --no-install-project\n",
                "[\"sh\", \"-c\", \"uv run python app.py\"]",
            ),
            (
                "RUN uv sync\n",
                "[\"uv\", \"run\", \"--extra\", \"web\", \"python\", \"app.py\"]",
            ),
            (
                "RUN uv sync --no-group=docs\n",
                "[\"uv\", \"run\", \"app\"]",
            ),
        ];
        for (sync, cmd) in refused {
            let text = format!("{base}{sync}CMD {cmd}\n");
            let cs = changes(&text, UserStyle::Numeric);
            assert_eq!(cs[0].applicability, Applicability::DisplayOnly, "{text}");
            assert!(cs[0].reason.contains("uv run"), "{}", cs[0].reason);
        }
        let kept = [
            (
                "RUN uv sync --frozen\n",
                "[\"uv\", \"run\", \"python\", \"app.py\"]",
            ),
            (
                "RUN uv sync --frozen --no-dev\n",
                "[\"uv\", \"run\", \"--no-dev\", \"python\", \"app.py\"]",
            ),
            (
                "RUN uv sync --no-dev\n",
                "[\"uv\", \"run\", \"--no-sync\", \"python\", \"app.py\"]",
            ),
            (
                "ENV UV_NO_SYNC=1\nRUN uv sync --no-dev\n",
                "[\"uv\", \"run\", \"python\", \"app.py\"]",
            ),
            (
                "RUN uv sync --no-dev\n",
                "[\".venv/bin/python\", \"app.py\"]",
            ),
        ];
        for (sync, cmd) in kept {
            let text = format!("{base}{sync}CMD {cmd}\n");
            let cs = changes(&text, UserStyle::Numeric);
            assert_eq!(
                cs[0].applicability,
                Applicability::Safe,
                "{text}: {}",
                cs[0].reason
            );
        }
    }

    #[test]
    fn an_app_under_root_home_is_refused() {
        for text in [
            "FROM python:3.12-slim\nWORKDIR /root/app\nCOPY . .\nCMD [\"python\", \"app.py\"]\n",
            "FROM python:3.12-slim\nWORKDIR /root\nCOPY . .\nCMD [\"python\", \"app.py\"]\n",
            "FROM node:20-slim\nCOPY . /root/app/\nCMD [\"node\", \"/root/app/server.js\"]\n",
            "FROM debian:bookworm-slim\nCOPY run /root/bin/run\nENTRYPOINT /root/bin/run\n",
        ] {
            let cs = changes(text, UserStyle::Numeric);
            assert_eq!(cs.len(), 1, "{text}");
            assert_eq!(cs[0].applicability, Applicability::DisplayOnly, "{text}");
            assert!(cs[0].reason.contains("Move the app out of /root"), "{text}");
        }
        // Files copied under /root, for root: refused too.
        let text = "FROM node:20-slim\nWORKDIR /app\nCOPY .npmrc /root/.npmrc\nCOPY . .\nCMD [\"node\", \"server.js\"]\n";
        let cs = changes(text, UserStyle::Numeric);
        assert_eq!(cs[0].applicability, Applicability::DisplayOnly);
        assert!(
            cs[0].reason.contains("copies to /root/.npmrc"),
            "{}",
            cs[0].reason
        );
        // `/rootfs` is not /root.
        let text = "FROM node:20-slim\nWORKDIR /rootfs\nCOPY . .\nCMD [\"node\", \"server.js\"]\n";
        assert_eq!(
            changes(text, UserStyle::Numeric)[0].applicability,
            Applicability::Safe
        );
    }

    /// A context whose manifests of `kind` name `names`, with `root` entries at its root.
    fn context_with(kind: &str, names: &[&str], root: &[&str]) -> BuildContext {
        let mut build = BuildContext::default();
        let manifest = match kind {
            "gem" => "Gemfile",
            "composer" => "composer.json",
            "pip" => "requirements.txt",
            _ => "package.json",
        };
        build
            .files
            .insert(manifest.into(), crate::context::EntryKind::File);
        if kind == "npm" {
            build.package_json = Some(Default::default());
        }
        let set = build.dependencies.names.entry(kind.into()).or_default();
        set.extend(names.iter().map(|n| n.to_string()));
        build.root_names = root.iter().map(|n| n.to_string()).collect();
        build
    }

    #[test]
    fn the_paths_a_framework_writes_are_given_to_the_user() {
        let rails =
            "FROM ruby:3.3-slim\nWORKDIR /rails\nCOPY . .\nCMD [\"bin/rails\", \"server\"]\n";
        let cs = changes_in(
            rails,
            UserStyle::Numeric,
            &context_with("gem", &["rails"], &[]),
        );
        assert_eq!(cs[0].applicability, Applicability::Safe);
        let out = crate::edit::apply(rails, &cs[0].edits).expect("no overlap");
        assert!(
            out.contains("&& mkdir -p /rails/db /rails/log /rails/storage /rails/tmp \\\n    && chown -R 10001:10001 /rails/db /rails/log /rails/storage /rails/tmp\nUSER"),
            "{out}"
        );
        // Laravel: only storage and bootstrap/cache, recursively.
        let php =
            "FROM php:8.3-cli\nWORKDIR /var/www\nCOPY . .\nCMD [\"php\", \"artisan\", \"serve\"]\n";
        let cs = changes_in(
            php,
            UserStyle::Numeric,
            &context_with("composer", &["laravel/framework"], &["artisan"]),
        );
        let out = crate::edit::apply(php, &cs[0].edits).expect("no overlap");
        assert!(
            out.contains("chown -R 10001:10001 /var/www/storage /var/www/bootstrap/cache\n"),
            "{out}"
        );
        // SQLite in the working directory: the directory itself (not its contents), and an
        // existing database file.
        let flask = "FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nCMD [\"python\", \"app.py\"]\n";
        let cs = changes_in(
            flask,
            UserStyle::Numeric,
            &context_with("pip", &["flask"], &["app.py", "app.db"]),
        );
        let out = crate::edit::apply(flask, &cs[0].edits).expect("no overlap");
        assert!(
            out.contains("&& chown 10001:10001 /app /app/app.db\nUSER"),
            "{out}"
        );
        assert!(!out.contains("--chown"), "{out}");
        // A COPY of the context into the build stage, carried by COPY --from.
        let staged = "FROM node:20 AS build\nWORKDIR /src\nCOPY . .\nRUN npm ci\nFROM node:20-slim\nWORKDIR /srv\nCOPY --from=build /src /srv/app\nCMD [\"node\", \"app/server.js\"]\n";
        let cs = changes_in(
            staged,
            UserStyle::Numeric,
            &context_with("npm", &["better-sqlite3"], &[]),
        );
        assert_eq!(cs[0].applicability, Applicability::Safe);
        let out = crate::edit::apply(staged, &cs[0].edits).expect("no overlap");
        assert!(
            out.contains("RUN chown 1000:1000 /srv/app\nUSER 1000:1000"),
            "{out}"
        );
        // The context copied to `/`: restage will not give `/` or `/tmp` away.
        let slash = "FROM ruby:3.3-slim\nCOPY . /\nCMD [\"bin/rails\", \"server\"]\n";
        let cs = changes_in(
            slash,
            UserStyle::Numeric,
            &context_with("gem", &["rails"], &[]),
        );
        assert_eq!(cs[0].applicability, Applicability::Unsafe);
        assert!(
            !crate::edit::apply(slash, &cs[0].edits)
                .expect("no overlap")
                .contains("chown")
        );
        // No shell to chown with: unsafe.
        let distroless = "FROM gcr.io/distroless/nodejs20-debian12\nWORKDIR /app\nCOPY . .\nCMD [\"server.js\"]\n";
        let cs = changes_in(
            distroless,
            UserStyle::Numeric,
            &context_with("npm", &["sqlite3"], &[]),
        );
        assert_eq!(cs[0].applicability, Applicability::Unsafe);
    }

    #[test]
    fn a_writer_described_in_restage_toml_is_honoured() {
        let config = "[knowledge]\n[[knowledge.writer]]\nid = \"uploads\"\nname = \"our upload service\"\nfiles = [\"uploader.py\"]\ndirs = [\"uploads\"]\n";
        let knowledge = Knowledge::builtin()
            .expect("built-in knowledge loads")
            .with_overrides_from_config(config, "restage.toml")
            .expect("valid override");
        let settings = Settings::default();
        let build = context_with("pip", &["flask"], &["uploader.py"]);
        let ctx = Context {
            knowledge: &knowledge,
            options: crate::transforms::TransformOptions::of(&settings),
            build: &build,
        };
        let text =
            "FROM python:3.12-slim\nWORKDIR /srv\nCOPY . .\nCMD [\"python\", \"uploader.py\"]\n";
        let cs = run(&parse(text).expect("parses"), &ctx);
        assert_eq!(cs[0].applicability, Applicability::Safe);
        let out = crate::edit::apply(text, &cs[0].edits).expect("no overlap");
        assert!(
            out.contains("mkdir -p /srv/uploads \\\n    && chown -R 10001:10001 /srv/uploads\n"),
            "{out}"
        );
    }

    #[test]
    fn an_unknown_context_is_unsafe() {
        let text = "FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nCMD [\"python\", \"app.py\"]\n";
        let cs = changes_in(text, UserStyle::Numeric, &BuildContext::default());
        assert_eq!(cs[0].applicability, Applicability::Unsafe);
        assert!(cs[0].reason.contains("no manifest restage reads"));
        let mut unreadable = context_with("pip", &[], &[]);
        unreadable
            .dependencies
            .unknown
            .push("setup.py: restage does not read the dependencies it declares".into());
        let cs = changes_in(text, UserStyle::Numeric, &unreadable);
        assert_eq!(cs[0].applicability, Applicability::Unsafe);
        // Java and .NET: no writer is known there, so no manifest hides one.
        let java = "FROM eclipse-temurin:21-jdk AS build\nWORKDIR /src\nCOPY . .\nRUN javac -d out src/Main.java\nFROM eclipse-temurin:21-jre\nCOPY --from=build /src/out /app\nCMD [\"java\", \"-cp\", \"/app\", \"Main\"]\n";
        let cs = changes_in(java, UserStyle::Numeric, &BuildContext::default());
        assert_eq!(cs[0].applicability, Applicability::Safe);
        // An app whose files sit at / itself cannot get its directory: it may write there.
        let at_root = "FROM python:3.12-slim\nCOPY download.py /download.py\nCMD [\"python\", \"download.py\"]\n";
        let mut complete = context_with("pip", &[], &[]);
        complete.listing = Some(
            [("download.py".to_string(), crate::context::EntryKind::File)]
                .into_iter()
                .collect(),
        );
        let cs = changes_in(at_root, UserStyle::Numeric, &complete);
        assert_eq!(cs[0].applicability, Applicability::Unsafe);
        assert!(
            cs[0].reason.contains("no directory of its own"),
            "{}",
            cs[0].reason
        );
        // A Debian image copying from a Go build stage could hide an SQLite driver.
        let go = "FROM golang:1.22 AS build\nCOPY . .\nRUN go build -o /out/app .\nFROM debian:bookworm-slim\nCOPY --from=build /out/app /app\nCMD [\"/app\"]\n";
        let cs = changes_in(go, UserStyle::Numeric, &BuildContext::default());
        assert_eq!(cs[0].applicability, Applicability::Unsafe);
        // A final stage that copies no application files keeps today's behaviour.
        let text = "FROM debian:bookworm-slim\nRUN apt-get update\nCMD [\"sleep\", \"infinity\"]\n";
        let cs = changes_in(text, UserStyle::Numeric, &BuildContext::default());
        assert_eq!(cs[0].applicability, Applicability::Safe);
        // Copies from an external image are not the app.
        let text = "FROM debian:bookworm-slim\nCOPY --from=busybox:1.36 /bin/busybox /bin/\nCMD [\"busybox\"]\n";
        let cs = changes_in(text, UserStyle::Numeric, &BuildContext::default());
        assert_eq!(cs[0].applicability, Applicability::Safe);
    }

    #[test]
    fn a_volume_is_prepared_before_its_declaration_while_root() {
        let text =
            "FROM node:20-slim\nWORKDIR /app\nVOLUME /data\nCOPY . .\nRUN npm ci\nCMD [\"node\"]\n";
        let out = applied(text, UserStyle::Numeric);
        assert!(
            out.contains(
                "WORKDIR /app\nRUN mkdir -p /data \\\n    && chown 1000:1000 /data\nVOLUME /data\n"
            ),
            "{out}"
        );
        // The application directory itself goes to the user, so the app can create files there.
        assert!(
            out.contains("RUN npm ci\nRUN chown 1000:1000 /app\nUSER 1000:1000\nCMD"),
            "{out}"
        );
        // Made by a RUN before its VOLUME: still prepared before the VOLUME (the legacy builder
        // drops what a later step changes in a declared volume).
        let text = "FROM node:20-slim\nWORKDIR /app\nCOPY . .\nRUN mkdir /data\nVOLUME /data\nRUN npm ci\nCMD [\"node\"]\n";
        let out = applied(text, UserStyle::Numeric);
        assert!(
            out.contains("RUN mkdir /data\nRUN mkdir -p /data \\\n    && chown 1000:1000 /data\nVOLUME /data\n"),
            "{out}"
        );
        assert!(!out.contains("chown 1000:1000 /data /app"), "{out}");
        // After a non-root USER a RUN there would not run as root: prepare it with the rest.
        let text = "FROM node:20-slim\nUSER node\nVOLUME /data\nUSER root\nRUN apt-get update\nCMD [\"node\"]\n";
        let out = applied(text, UserStyle::Numeric);
        assert!(
            out.contains("VOLUME /data\nUSER root\nRUN apt-get update\nRUN mkdir -p /data \\\n    && chown 1000:1000 /data\nUSER 1000:1000\n"),
            "{out}"
        );
    }

    #[test]
    fn create_command_comes_from_the_knowledge_files() {
        let k = Knowledge::builtin().unwrap();
        let Some(UserPlan::Create { command, .. }) = k
            .image(&ImageRef::parse("debian:bookworm-slim").unwrap())
            .and_then(|i| i.user.clone())
        else {
            panic!("debian creates a user");
        };
        let out = applied(
            "FROM debian:bookworm-slim\nCOPY app /app\nCMD [\"/app\"]\n",
            UserStyle::Numeric,
        );
        assert!(
            out.contains(&command.replace(" && ", " \\\n    && ")),
            "{out}"
        );
    }
}
