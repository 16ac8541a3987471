//! The runtime stage's filesystem, decided on the effects model: which paths the build made that
//! the runtime needs (carried with `COPY --from`), which preparation steps are replayed (only
//! what happened outside the carried paths, and only when it is safe to run again), which
//! carried paths need `COPY --chown`, and a check of the result before it is emitted.

use std::collections::BTreeMap;

use super::super::analysis;
use super::super::effects::{self, CommandEffects, InstructionEffects, Op};
use crate::shell::Separator;
use crate::syntax::Document;

/// Directories every Debian-based, Alpine or distroless runtime image has.
const RUNTIME_DIRS: &[&str] = &[
    "/",
    "/bin",
    "/etc",
    "/home",
    "/lib",
    "/opt",
    "/root",
    "/run",
    "/sbin",
    "/srv",
    "/tmp",
    "/usr",
    "/usr/bin",
    "/usr/lib",
    "/usr/local",
    "/usr/local/bin",
    "/usr/local/lib",
    "/usr/local/sbin",
    "/usr/local/share",
    "/usr/sbin",
    "/usr/share",
    "/var",
    "/var/lib",
    "/var/log",
    "/var/run",
    "/etc/passwd",
    "/etc/group",
];

/// Commands that copy or move content into place: what they make is carried, not replayed.
const CONTENT: &[&str] = &["cp", "mv", "install"];

/// The paths the runtime stage receives with `COPY --from`, and what it replays.
#[derive(Debug, Default)]
pub(super) struct RuntimeFs {
    /// Owner for the `COPY --from` of a carried path (the build chowned it recursively).
    pub chown: BTreeMap<String, String>,
    /// Steps replayed before the copies (users and groups that `--chown` needs), as RUN text.
    pub pre: Vec<String>,
    /// Steps replayed after the copies, as RUN text.
    pub post: Vec<String>,
    /// Paths the replayed steps create.
    pub created: Vec<String>,
    /// Why some replayed steps are not modelled (replayed whole).
    pub unmodelled: Vec<String>,
    /// The replayed commands before and after the copies.
    kept: [Vec<CommandEffects>; 2],
}

impl RuntimeFs {
    pub fn is_empty(&self) -> bool {
        self.pre.is_empty() && self.post.is_empty()
    }

    /// The replayed commands, in the order they run.
    pub fn replayed(&self) -> Vec<CommandEffects> {
        self.kept.concat()
    }
}

/// True when `path` exists in the runtime stage before any replayed step: inside a carried path,
/// an ancestor of one (COPY makes parents), the WORKDIR or one of its ancestors, or a directory
/// every runtime image has.
fn present(path: &str, carried: &[String], workdir: &str) -> bool {
    carried
        .iter()
        .any(|c| analysis::is_within(path, c) || analysis::is_within(c, path))
        || analysis::is_within(workdir, path)
        || RUNTIME_DIRS.contains(&path)
}

fn parent(path: &str) -> String {
    match path.rfind('/') {
        Some(0) | None => "/".to_string(),
        Some(i) => path[..i].to_string(),
    }
}

/// Files that RUN steps copy or move into place (`cp scripts/entrypoint.sh /entrypoint.sh`)
/// outside `carried`, that no later step removes and that are not scratch or cache: the runtime
/// needs them as the build left them.
pub(super) fn made_files(runs: &[(usize, InstructionEffects)], carried: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let all: Vec<(usize, usize, &CommandEffects)> = runs
        .iter()
        .enumerate()
        .flat_map(|(r, (_, e))| e.commands.iter().enumerate().map(move |(k, c)| (r, k, c)))
        .collect();
    for (r, k, c) in &all {
        let program = c.words.first().map(String::as_str).unwrap_or("");
        if !CONTENT.contains(&program) || c.unknown.is_some() {
            continue;
        }
        for e in &c.effects {
            if e.op != Op::Create
                || effects::is_scratch(&e.path)
                || carried.iter().any(|d| analysis::is_within(&e.path, d))
                || out.iter().any(|d| analysis::is_within(&e.path, d))
            {
                continue;
            }
            let removed_later = all
                .iter()
                .filter(|(r2, k2, _)| (r2, k2) > (r, k))
                .flat_map(|(_, _, c2)| c2.effects.iter())
                .any(|e2| e2.op == Op::Remove && analysis::is_within(&e.path, &e2.path));
            if !removed_later {
                out.push(e.path.clone());
            }
        }
    }
    out
}

/// What to do with one command of a replayed RUN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// Its result is already in the copy, or it has nothing to do in the runtime.
    Drop,
    /// Replayed before the copies (users and groups).
    Pre,
    /// Replayed after the copies.
    Post,
}

/// Plans the replay of the preparation-only RUNs `prep` (filesystem steps that need no build
/// tools) given the `carried` paths: a step never touches carried paths (their content and
/// mode are in the copy), a recursive chown of a carried path becomes `COPY --chown`, and what
/// the step did elsewhere is replayed. `Err` gives the reason restage cannot do it safely.
pub(super) fn plan(
    doc: &Document,
    prep: &[(usize, &InstructionEffects, Option<String>)],
    runs: &[(usize, InstructionEffects)],
    carried: &[String],
    workdir: &str,
    run_kw: &str,
) -> Result<RuntimeFs, String> {
    let nl = doc.style().nl();
    let mut fs = RuntimeFs::default();
    // What any RUN of the build removes, at (RUN index, command index): a directory made before
    // it and removed by it is not in the original image, so it is not made again.
    let removals: Vec<((usize, usize), &str)> = runs
        .iter()
        .flat_map(|(ix, e)| {
            e.commands.iter().enumerate().flat_map(move |(j, c)| {
                c.effects
                    .iter()
                    .filter(|p| p.op == Op::Remove && !p.path.contains(['*', '?', '[']))
                    .map(move |p| ((*ix, j), p.path.as_str()))
            })
        })
        .collect();
    for (ix, e, dir) in prep {
        let line = analysis::place_of(doc, *ix);
        if let Some(why) = &e.unknown {
            // Not modelled: replayed as it is, and the change says so.
            fs.post.push(analysis::with_newline(
                doc,
                doc.slice(&doc.instructions()[*ix].extent),
            ));
            fs.unmodelled.push(format!(
                "the RUN at {line} {why}, so restage replays it whole in the runtime stage without knowing what it does to the copied files"
            ));
            // The sources its `cp`/`mv`/`install` read are still checked: a path left behind
            // in the build stage makes the step fail.
            fs.kept[1].extend(e.commands.iter().map(|c| {
                let mut c = c.clone();
                c.effects.retain(|p| matches!(p.op, Op::Read));
                c
            }));
            continue;
        }
        let mut fates: Vec<Fate> = Vec::new();
        for (j, c) in e.commands.iter().enumerate() {
            let removed_later = |path: &str| {
                removals
                    .iter()
                    .any(|(at, gone)| *at > (*ix, j) && analysis::is_within(path, gone))
            };
            fates.push(fate(c, carried, workdir, &removed_later, &mut fs)?);
        }
        // A `cd` is kept when a kept command follows it.
        for k in 0..e.commands.len() {
            if e.commands[k].words.first().is_some_and(|w| w == "cd") {
                fates[k] = fates[k + 1..]
                    .iter()
                    .copied()
                    .find(|f| *f != Fate::Drop)
                    .unwrap_or(Fate::Drop);
            }
        }
        let joined_otherwise = e
            .commands
            .iter()
            .any(|c| matches!(c.separator, Separator::Or | Separator::Pipe));
        let kept: Vec<Fate> = fates.iter().copied().filter(|f| *f != Fate::Drop).collect();
        if kept.is_empty() {
            continue;
        }
        for (n, phase) in [Fate::Pre, Fate::Post].into_iter().enumerate() {
            fs.kept[n].extend(
                e.commands
                    .iter()
                    .zip(&fates)
                    .filter(|(_, f)| **f == phase)
                    .map(|(c, _)| c.clone()),
            );
        }
        // The runtime stage replays in its final WORKDIR: a step that ran elsewhere and names a
        // relative path starts with a `cd` to where it ran.
        let relative = e.commands.iter().zip(&fates).any(|(c, f)| {
            *f != Fate::Drop && c.words[1..].iter().any(|w| !w.starts_with(['-', '/']))
        });
        let cd = match dir {
            Some(d) if d != workdir && relative => Some(d.as_str()),
            _ => None,
        };
        let whole = kept.len() == fates.len() && kept.iter().all(|f| *f == kept[0]) && cd.is_none();
        if whole {
            let text = analysis::with_newline(doc, doc.slice(&doc.instructions()[*ix].extent));
            match kept[0] {
                Fate::Pre => fs.pre.push(text),
                _ => fs.post.push(text),
            }
            continue;
        }
        if joined_otherwise {
            return Err(format!(
                "the RUN at {line} joins commands with `||` or `|`, and only some of them would run again in the runtime stage"
            ));
        }
        for phase in [Fate::Pre, Fate::Post] {
            let parts: Vec<&str> = e
                .commands
                .iter()
                .zip(&fates)
                .filter(|(_, f)| **f == phase)
                .map(|(c, _)| &doc.text()[c.span.clone()])
                .collect();
            if parts.is_empty() {
                continue;
            }
            let cd = cd.map(|d| format!("cd {d} && ")).unwrap_or_default();
            let text = format!("{run_kw} {cd}{}{nl}", parts.join(" && "));
            match phase {
                Fate::Pre => fs.pre.push(text),
                _ => fs.post.push(text),
            }
        }
    }
    Ok(fs)
}

/// From the RUNs that are not replayed (they build): the steps the runtime still needs. Users and
/// groups they add are added again (before the copies), and the ownership they give carried
/// paths is kept: `COPY --chown` for a recursive chown of a carried path, the chown again after
/// the copies otherwise. Commands whose paths are relative or not resolved are left out.
pub(super) fn extract(
    doc: &Document,
    others: &[(usize, &InstructionEffects)],
    carried: &[String],
    run_kw: &str,
    fs: &mut RuntimeFs,
) {
    let nl = doc.style().nl();
    for (_, e) in others {
        let mut pre: Vec<&CommandEffects> = Vec::new();
        let mut post: Vec<&CommandEffects> = Vec::new();
        for c in &e.commands {
            if c.unknown.is_some() {
                continue;
            }
            if c.users {
                pre.push(c);
                continue;
            }
            let owners: Vec<(&String, &String, bool)> = c
                .effects
                .iter()
                .filter_map(|p| match &p.op {
                    Op::Owner { owner, recursive } => Some((&p.path, owner, *recursive)),
                    _ => None,
                })
                .collect();
            if owners.is_empty()
                || !owners
                    .iter()
                    .all(|(p, _, _)| carried.iter().any(|d| analysis::is_within(p, d)))
            {
                continue;
            }
            if owners.iter().all(|(p, _, r)| *r && carried.contains(p)) {
                for (p, owner, _) in owners {
                    fs.chown.insert(p.clone(), owner.clone());
                }
            } else if c.words[1..]
                .iter()
                .all(|w| w.starts_with('-') || !w.contains('/') || w.starts_with('/'))
            {
                post.push(c);
            }
        }
        for (n, list) in [pre, post].into_iter().enumerate() {
            if list.is_empty() {
                continue;
            }
            let text = list
                .iter()
                .map(|c| &doc.text()[c.span.clone()])
                .collect::<Vec<_>>()
                .join(" && ");
            fs.kept[n].extend(list.iter().map(|c| (*c).clone()));
            let text = format!("{run_kw} {text}{nl}");
            if n == 0 {
                fs.pre.push(text);
            } else {
                fs.post.push(text);
            }
        }
    }
}

fn fate(
    c: &CommandEffects,
    carried: &[String],
    workdir: &str,
    removed_later: &dyn Fn(&str) -> bool,
    fs: &mut RuntimeFs,
) -> Result<Fate, String> {
    let program = c.words.first().map(String::as_str).unwrap_or("");
    let inside = |p: &str| carried.iter().any(|d| analysis::is_within(p, d));
    if c.users {
        return Ok(Fate::Pre);
    }
    if c.effects.is_empty() {
        // Output and checks: nothing to replay.
        return Ok(Fate::Drop);
    }
    let mut fate = Fate::Drop;
    for e in &c.effects {
        let f = match &e.op {
            Op::CreateDir { .. } => {
                if present(&e.path, carried, workdir)
                    || fs.created.contains(&e.path)
                    || removed_later(&e.path)
                {
                    Fate::Drop
                } else {
                    fs.created.push(e.path.clone());
                    Fate::Post
                }
            }
            Op::Create | Op::Link { .. } => {
                if inside(&e.path) {
                    Fate::Drop
                } else if CONTENT.contains(&program) {
                    // Made by copying content: carried instead (see `made_files`).
                    Fate::Drop
                } else {
                    fs.created.push(e.path.clone());
                    Fate::Post
                }
            }
            Op::Remove | Op::Read => {
                if inside(&e.path) || !effects::is_system(&e.path) {
                    Fate::Drop
                } else {
                    Fate::Post
                }
            }
            Op::Content | Op::Write => Fate::Post,
            Op::Mode => {
                if inside(&e.path) {
                    Fate::Drop
                } else {
                    Fate::Post
                }
            }
            Op::Owner { owner, recursive } => {
                if *recursive && carried.contains(&e.path) {
                    fs.chown.insert(e.path.clone(), owner.clone());
                    Fate::Drop
                } else {
                    // Ownership is the one thing COPY resets: set it again.
                    Fate::Post
                }
            }
        };
        if f != Fate::Drop {
            fate = Fate::Post;
        }
    }
    Ok(fate)
}

/// Checks the runtime stage restage is about to emit: every path a replayed step works on
/// exists there when it runs (carried, made by an earlier replayed step, or a directory every
/// runtime image has), nothing is created twice, and every path the start command and the
/// HEALTHCHECK name exists. `Err` is the reason to refuse.
pub(super) fn check(
    replayed: &[CommandEffects],
    carried: &[String],
    workdir: &str,
    used: &[(String, &str)],
) -> Result<(), String> {
    let mut made: Vec<String> = Vec::new();
    let exists = |p: &str, made: &[String]| {
        present(p, carried, workdir) || made.iter().any(|m| analysis::is_within(p, m))
    };
    for c in replayed {
        let program = c.words.first().map(String::as_str).unwrap_or("");
        // A removal restage cannot resolve (`rm -r /var/lib/apt/lists/*`) fails when it finds
        // nothing, unless forced.
        if matches!(crate::shell::base_name(program), "rm" | "rmdir")
            && c.unknown.is_some()
            && !forced(&c.words)
        {
            return Err(format!(
                "`{}` removes without -f what restage cannot resolve, and the runtime stage may not have it, so the replayed step would fail",
                c.words.join(" ")
            ));
        }
        for e in &c.effects {
            match &e.op {
                Op::CreateDir { parents } => {
                    if !parents && exists(&e.path, &made) {
                        return Err(format!(
                            "`{program}` would create {} again in the runtime stage, where it already exists",
                            e.path
                        ));
                    }
                    if !parents && !exists(&parent(&e.path), &made) {
                        return Err(format!(
                            "`{program}` needs {} in the runtime stage, which does not have it",
                            parent(&e.path)
                        ));
                    }
                    made.push(e.path.clone());
                }
                Op::Create | Op::Link { .. } => {
                    if !exists(&parent(&e.path), &made) {
                        return Err(format!(
                            "`{program}` writes into {}, which the runtime stage does not have",
                            parent(&e.path)
                        ));
                    }
                    // A link to an absolute path the runtime stage lacks would dangle.
                    if let Op::Link { target } = &e.op
                        && target.starts_with('/')
                        && !target.contains('$')
                        && !exists(&analysis::normalize(target), &made)
                        && !effects::is_system(target)
                    {
                        return Err(format!(
                            "`{program}` makes a link to {target}, which the runtime stage does not have"
                        ));
                    }
                    made.push(e.path.clone());
                }
                Op::Mode | Op::Owner { .. } | Op::Content => {
                    if !exists(&e.path, &made) && !effects::is_system(&e.path) {
                        return Err(format!(
                            "`{program}` works on {}, which the runtime stage does not have",
                            e.path
                        ));
                    }
                }
                // `cp`/`mv`/`install` from a path the runtime stage lacks fails.
                Op::Read
                    if CONTENT.contains(&program)
                        && !exists(&e.path, &made)
                        && !effects::is_system(&e.path) =>
                {
                    return Err(format!(
                        "`{program}` reads {}, which the runtime stage does not have",
                        e.path
                    ));
                }
                // `rm` without `-f` fails on a path that is not there (a glob matching nothing
                // included): the runtime stage starts from another image.
                Op::Remove
                    if !forced(&c.words)
                        && !exists(&e.path, &made)
                        && !effects::is_system(&e.path) =>
                {
                    return Err(format!(
                        "`{program}` removes {} without -f, and the runtime stage may not have it, so the replayed step would fail",
                        e.path
                    ));
                }
                Op::Remove | Op::Read | Op::Write => {}
            }
        }
    }
    for (path, by) in used {
        if !exists(path, &made) && !effects::is_system(path) {
            return Err(format!(
                "{by} uses {path}, which the runtime stage would not have"
            ));
        }
    }
    Ok(())
}

/// Whether an `rm` (its words, the program first) is forced: `-f`, `--force`, or `-f` among
/// combined short options (`-rf`), before any `--`.
fn forced(words: &[String]) -> bool {
    words
        .iter()
        .skip(1)
        .take_while(|w| *w != "--")
        .any(|w| w == "--force" || (w.starts_with('-') && !w.starts_with("--") && w.contains('f')))
}

/// Root entries of the build context that are not sources or project metadata: the data files,
/// templates, static assets and configuration an app may read relative to its directory.
/// `sources` tells an ecosystem's own source entries.
pub(super) fn data_entries<'a>(
    listing: impl Iterator<Item = &'a str>,
    sources: &dyn Fn(&str) -> bool,
) -> Vec<String> {
    listing
        .filter(|name| is_data_entry(name, sources))
        .map(str::to_string)
        .collect()
}

/// Whether the root entry `name` is data (see [`data_entries`]).
pub(super) fn is_data_entry(name: &str, sources: &dyn Fn(&str) -> bool) -> bool {
    !sources(name) && !is_metadata(name)
}

/// Project metadata never read by a running app. Compared without regard to ASCII case, and
/// without allocating: a folder of thousands of Dockerfiles asks for every name.
fn is_metadata(name: &str) -> bool {
    let starts = |p: &str| {
        name.len() >= p.len() && name.as_bytes()[..p.len()].eq_ignore_ascii_case(p.as_bytes())
    };
    let ends = |s: &str| {
        name.len() >= s.len()
            && name.as_bytes()[name.len() - s.len()..].eq_ignore_ascii_case(s.as_bytes())
    };
    (name.starts_with('.') && !name.starts_with(".env"))
        || starts("dockerfile")
        || ends(".dockerfile")
        || ends(".md")
        || starts("readme")
        || starts("license")
        || starts("licence")
        || starts("changelog")
        || starts("docker-compose")
        || starts("compose.")
        || [
            "makefile",
            "justfile",
            "taskfile.yml",
            "node_modules",
            "docs",
            "doc",
        ]
        .iter()
        .any(|m| name.eq_ignore_ascii_case(m))
}

/// A directory every Linux root has: copying a context entry of that name into `/` merges into it.
pub(super) fn is_top_level_system(name: &str) -> bool {
    matches!(
        name,
        "bin"
            | "boot"
            | "dev"
            | "etc"
            | "home"
            | "lib"
            | "lib32"
            | "lib64"
            | "libx32"
            | "media"
            | "mnt"
            | "opt"
            | "proc"
            | "root"
            | "run"
            | "sbin"
            | "srv"
            | "sys"
            | "tmp"
            | "usr"
            | "var"
    )
}

/// Go sources and module files.
pub(super) fn go_source(name: &str) -> bool {
    name.ends_with(".go")
        || matches!(
            name,
            "go.mod" | "go.sum" | "go.work" | "go.work.sum" | "vendor"
        )
}

/// Rust sources, manifests and build output.
pub(super) fn rust_source(name: &str) -> bool {
    name.ends_with(".rs")
        || matches!(
            name,
            "src"
                | "target"
                | "Cargo.toml"
                | "Cargo.lock"
                | "benches"
                | "tests"
                | "examples"
                | "rust-toolchain"
                | "rust-toolchain.toml"
                | "rustfmt.toml"
                | "clippy.toml"
                | "deny.toml"
        )
}

/// Paths a start command or HEALTHCHECK names: the program when it is a path, and arguments
/// that look like paths (`/x`, `./x`, `dir/file`), resolved against `workdir`.
pub(super) fn used_paths(words: &[String], workdir: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, w) in words.iter().enumerate() {
        let w = w.as_str();
        let looks = w.starts_with('/') || w.starts_with("./") || w.starts_with("../");
        let program_path = i == 0 && w.contains('/');
        if !(looks || program_path)
            || w.contains("://")
            || w.contains(['$', '*', '?', '=', ':', '{', '`'])
        {
            continue;
        }
        out.push(analysis::join(workdir, w));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_entries_skip_sources_and_metadata() {
        let names = [
            "main.go",
            "go.mod",
            "vendor",
            "templates",
            "var",
            "config.yaml",
            "README.md",
            "Dockerfile",
            ".git",
            ".env",
            "Makefile",
        ];
        assert_eq!(
            data_entries(names.iter().copied(), &go_source),
            ["templates", "var", "config.yaml", ".env"]
        );
        assert_eq!(
            data_entries(
                ["src", "target", "Cargo.toml", "static"].into_iter(),
                &rust_source
            ),
            ["static"]
        );
    }

    #[test]
    fn used_paths_of_start_commands() {
        let w = |s: &str| s.split(' ').map(str::to_string).collect::<Vec<_>>();
        assert_eq!(
            used_paths(&w("./server --config ./conf/app.yaml"), "/app"),
            ["/app/server", "/app/conf/app.yaml"]
        );
        assert_eq!(
            used_paths(&w("curl -f http://localhost/health"), "/app"),
            Vec::<String>::new()
        );
        assert_eq!(
            used_paths(&w("/docker-entrypoint.sh"), "/app"),
            ["/docker-entrypoint.sh"]
        );
    }

    fn cmd(words: &str, effects: Vec<(&str, Op)>) -> CommandEffects {
        CommandEffects {
            words: words.split(' ').map(str::to_string).collect(),
            span: 0..0,
            separator: Separator::And,
            effects: effects
                .into_iter()
                .map(|(p, op)| effects::PathEffect {
                    path: p.to_string(),
                    op,
                })
                .collect(),
            users: false,
            unknown: None,
            prep: true,
        }
    }

    #[test]
    fn check_refuses_what_would_break() {
        let carried = vec!["/app".to_string()];
        let mkdir = |p: &str| cmd("mkdir", vec![(p, Op::CreateDir { parents: false })]);
        // Created twice: the WORKDIR (or the copy) already made it.
        let twice = check(&[mkdir("/app")], &carried, "/app", &[]).unwrap_err();
        assert!(twice.contains("create /app again"), "{twice}");
        let again = check(&[mkdir("/data"), mkdir("/data")], &carried, "/app", &[]).unwrap_err();
        assert!(again.contains("again"), "{again}");
        // A parent the runtime stage does not have.
        let parent = check(&[mkdir("/srv/data/cache")], &carried, "/app", &[]).unwrap_err();
        assert!(parent.contains("/srv/data"), "{parent}");
        // A mode change on a path nothing made.
        let chmod = cmd("chmod", vec![("/docker-entrypoint.sh", Op::Mode)]);
        let missing = check(std::slice::from_ref(&chmod), &carried, "/app", &[]).unwrap_err();
        assert!(missing.contains("/docker-entrypoint.sh"), "{missing}");
        // A path the start command or HEALTHCHECK uses.
        let used = [("/opt/assets".to_string(), "the HEALTHCHECK")];
        let start = check(&[], &carried, "/app", &used).unwrap_err();
        assert!(
            start.starts_with("the HEALTHCHECK uses /opt/assets"),
            "{start}"
        );
        // What is carried or made first is fine.
        let ok = [mkdir("/data"), cmd("chmod", vec![("/data", Op::Mode)])];
        assert_eq!(check(&ok, &carried, "/app", &[]), Ok(()));
        let carried_entry = vec!["/app".to_string(), "/docker-entrypoint.sh".to_string()];
        assert_eq!(check(&[chmod], &carried_entry, "/app", &[]), Ok(()));
        // `rm` without -f of what the runtime stage may lack fails there; forced, or of what
        // is carried or made, it does not.
        let rm = |words: &str, p: &str| cmd(words, vec![(p, Op::Remove)]);
        let data = check(
            &[rm("rm -r /data/cache", "/data/cache")],
            &carried,
            "/app",
            &[],
        )
        .unwrap_err();
        assert!(data.contains("removes /data/cache without -f"), "{data}");
        for ok in [
            rm("rm -rf /data/cache", "/data/cache"),
            rm("rm -r -f /data/x", "/data/x"),
            rm("rm --force /data/x", "/data/x"),
            rm("rm /app/.env.example", "/app/.env.example"),
            // The base image's own files, as for the other checks: `rm /bin/sh && ln -s ...`.
            rm("rm /bin/sh", "/bin/sh"),
        ] {
            assert_eq!(check(&[ok], &carried, "/app", &[]), Ok(()));
        }
        let mut glob = cmd("rm -r /var/lib/apt/lists/*", vec![]);
        glob.unknown = Some("`rm` names a path restage cannot resolve".into());
        let unresolved = check(std::slice::from_ref(&glob), &carried, "/app", &[]).unwrap_err();
        assert!(unresolved.contains("without -f"), "{unresolved}");
        glob.words[1] = "-rf".into();
        assert_eq!(check(&[glob], &carried, "/app", &[]), Ok(()));
        let made_then_removed = [mkdir("/data"), rm("rmdir /data", "/data")];
        assert_eq!(check(&made_then_removed, &carried, "/app", &[]), Ok(()));
        assert!(check(&[rm("rm -- -f", "/app/-f")], &[], "/", &[]).is_err());
    }

    #[test]
    fn presence() {
        let carried = vec!["/app".to_string()];
        assert!(present("/app/data", &carried, "/app"));
        assert!(present("/usr/local/bin", &carried, "/app"));
        assert!(!present("/data", &carried, "/app"));
        assert_eq!(parent("/x"), "/");
        assert_eq!(parent("/a/b"), "/a");
    }
}
