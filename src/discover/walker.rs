//! restage's own directory walk: each folder listed once (one `getdents64` listing), its
//! `.ignore`, `.gitignore` and `.git/info/exclude` read only when the listing names them, and
//! the listing of a folder holding a Dockerfile kept for its configuration look-up and build
//! context. What it finds is what `ignore::WalkBuilder` finds with the options restage walks
//! with (hidden entries skipped, `.ignore` and `.gitignore` honoured whether or not in a Git
//! repository, `.git/info/exclude`, ignore files in the roots' parent folders, no global
//! gitignore): the matching itself is `ignore`'s `Gitignore`, applied in its order (the nearest
//! folder first; `.ignore` over `.gitignore` over `.git/info/exclude`; a whitelisted hidden
//! name is walked).

use std::ffi::OsStr;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use ignore::{Error, Match};

use super::{Found, Seen, Walk, io_reason, is_dockerfile_name};
use crate::context::{Listed, ListedType, Listing, absolute_lexical, join_name, listed_type};

/// The ignore files of one folder (each may be empty).
struct Level {
    ignore: Gitignore,
    git_ignore: Gitignore,
    git_exclude: Gitignore,
}

impl Level {
    fn is_empty(&self) -> bool {
        self.ignore.is_empty() && self.git_ignore.is_empty() && self.git_exclude.is_empty()
    }
}

/// The folders from a walked folder up to its root whose ignore files hold rules, nearest
/// first.
struct Node {
    level: Level,
    parent: Option<Arc<Node>>,
}

/// What applies to everything under one root.
struct Root {
    /// The root as given.
    dir: PathBuf,
    /// The root made canonical, when it could be.
    absolute: Option<PathBuf>,
    /// The ignore files of the root's parent folders, nearest first (only when one has rules).
    parents: Vec<Level>,
}

/// A folder to walk.
struct Work {
    path: PathBuf,
    /// `path` made absolute and lexically normal.
    absolute: PathBuf,
    depth: usize,
    root: Arc<Root>,
    /// The levels that apply to the folder's entries, except the folder's own.
    chain: Option<Arc<Node>>,
}

/// The walk's state shared by its threads.
struct Shared<'w> {
    walk: &'w Walk,
    found: Mutex<Vec<Found>>,
}

impl Shared<'_> {
    fn push(&self, found: Found) {
        crate::sync::lock(&self.found).push(found);
    }
}

/// Walks the folders `dirs` (unsorted result; roots are never excluded).
pub(super) fn walk(dirs: &[PathBuf], walk: &Walk) -> Vec<Found> {
    let shared = Shared {
        walk,
        found: Mutex::new(Vec::new()),
    };
    let mut parents_read = std::collections::HashSet::new();
    let roots: Vec<Work> = dirs
        .iter()
        .map(|dir| {
            let (root, problem) = root(dir, &mut parents_read);
            if let Some(problem) = problem {
                shared.push(problem);
            }
            Work {
                path: dir.clone(),
                absolute: absolute_lexical(dir),
                depth: 0,
                root: Arc::new(root),
                chain: None,
            }
        })
        .collect();
    let threads = match walk.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get().min(12)),
        n => n,
    };
    let pool = (threads > 1)
        .then(|| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .ok()
        })
        .flatten();
    match pool {
        Some(pool) => pool.scope(|s| {
            for work in roots {
                let shared = &shared;
                s.spawn(move |s| walk_in(s, shared, work));
            }
        }),
        None => {
            let mut stack = roots;
            while let Some(work) = stack.pop() {
                visit(&shared, work, &mut |child| stack.push(child));
            }
        }
    }
    shared.found.into_inner().unwrap_or_else(|e| e.into_inner())
}

fn walk_in<'s>(s: &rayon::Scope<'s>, shared: &'s Shared<'_>, work: Work) {
    visit(shared, work, &mut |child| {
        s.spawn(move |s| walk_in(s, shared, child));
    });
}

/// The ignore files above `dir` (as `ignore`'s `add_parents`), and the problem they make. The
/// errors of a parent folder already read for an earlier root are not told again (`ignore`
/// keeps the parent folders it read while a walk below them is under way, so whether it tells
/// them again depends on its threads' timing; restage's walk is the same on any number of
/// threads).
fn root(
    dir: &Path,
    parents_read: &mut std::collections::HashSet<PathBuf>,
) -> (Root, Option<Found>) {
    let Ok(absolute) = dir.canonicalize() else {
        return (
            Root {
                dir: dir.to_path_buf(),
                absolute: None,
                parents: Vec::new(),
            },
            None,
        );
    };
    let mut parents = Vec::new();
    let mut errors = Vec::new();
    let mut at = absolute.parent();
    while let Some(parent) = at {
        let (level, error) = level(parent, None);
        parents.push(level);
        if parents_read.insert(parent.to_path_buf()) {
            errors.extend(error);
        }
        at = parent.parent();
    }
    // `ignore` reads them from the top down: its errors come in that order.
    errors.reverse();
    if parents.iter().all(Level::is_empty) {
        parents.clear();
    }
    let problem = one_error(errors).and_then(|e| super::walk_problem(&e));
    (
        Root {
            dir: dir.to_path_buf(),
            absolute: Some(absolute),
            parents,
        },
        problem,
    )
}

/// Which ignore files a listing names.
#[derive(Clone, Copy)]
struct Names {
    ignore: bool,
    git_ignore: bool,
    git: bool,
}

/// The ignore files of `dir` (all looked for when `names` is `None`), and the error reading
/// them makes (as `ignore` builds it).
fn level(dir: &Path, names: Option<Names>) -> (Level, Option<Error>) {
    let has_git = names.is_none_or(|n| n.git);
    let git_type = if has_git {
        dir.join(".git").metadata().ok().map(|m| m.file_type())
    } else {
        None
    };
    let mut errors = Vec::new();
    let mut read = |want: bool, from: &Path, name: &str| {
        if !want {
            return Gitignore::empty();
        }
        let (gitignore, error) = gitignore(dir, from, name);
        errors.extend(error);
        gitignore
    };
    let ignore = read(names.is_none_or(|n| n.ignore), dir, ".ignore");
    let git_ignore = read(names.is_none_or(|n| n.git_ignore), dir, ".gitignore");
    let git_exclude = if has_git {
        match git_common_dir(dir, git_type) {
            Ok(git_dir) => read(true, &git_dir, "info/exclude"),
            Err(error) => {
                errors.extend(error);
                Gitignore::empty()
            }
        }
    } else {
        Gitignore::empty()
    };
    (
        Level {
            ignore,
            git_ignore,
            git_exclude,
        },
        one_error(errors),
    )
}

/// `ignore`'s reading of one ignore file `from/name` for the folder `dir`.
fn gitignore(dir: &Path, from: &Path, name: &str) -> (Gitignore, Option<Error>) {
    let mut builder = GitignoreBuilder::new(dir);
    let mut errors = Vec::new();
    let path = from.join(name);
    if path.exists()
        && let Some(error) = builder.add(&path)
        && !error.is_io()
    {
        errors.push(error);
    }
    let gitignore = match builder.build() {
        Ok(gitignore) => gitignore,
        Err(error) => {
            errors.push(error);
            Gitignore::empty()
        }
    };
    (gitignore, one_error(errors))
}

/// Errors as `ignore` hands them on: none, the one, or all of them together.
fn one_error(mut errors: Vec<Error>) -> Option<Error> {
    match errors.len() {
        0 => None,
        1 => errors.pop(),
        _ => Some(Error::Partial(errors)),
    }
}

/// The folder `.git/info/exclude` is read from: `.git`, or for a `.git` file (a worktree) the
/// common folder it names (as `ignore` finds it).
fn git_common_dir(
    dir: &Path,
    git_type: Option<std::fs::FileType>,
) -> Result<PathBuf, Option<Error>> {
    let git_dir = dir.join(".git");
    if !git_type.is_some_and(|t| t.is_file()) {
        return Ok(git_dir);
    }
    let file = std::fs::File::open(&git_dir).map_err(|e| Some(io_error(e, &git_dir)))?;
    let line = first_line(file, &git_dir)?;
    let Some(real) = line.strip_prefix("gitdir: ") else {
        return Err(None);
    };
    let real = PathBuf::from(real);
    let commondir = real.join("commondir");
    let Ok(file) = std::fs::File::open(&commondir) else {
        return Err(None);
    };
    let line = first_line(file, &commondir)?;
    Ok(if line.starts_with('.') {
        real.join(line)
    } else {
        PathBuf::from(line)
    })
}

/// An IO error met at `path`, as `ignore` wraps it.
fn io_error(e: std::io::Error, path: &Path) -> Error {
    Error::WithPath {
        path: path.to_path_buf(),
        err: Box::new(Error::Io(e)),
    }
}

/// The first line of `file` (read from `path`); `Err(None)` for an empty file.
fn first_line(file: std::fs::File, path: &Path) -> Result<String, Option<Error>> {
    match std::io::BufReader::new(file).lines().next() {
        Some(Ok(line)) => Ok(line),
        Some(Err(e)) => Err(Some(io_error(e, path))),
        None => Err(None),
    }
}

/// `path` without `prefix` (bytes), or as it is.
fn strip<'p>(prefix: &[u8], path: &'p Path) -> &'p Path {
    path.as_os_str()
        .as_encoded_bytes()
        .strip_prefix(prefix)
        .map_or(path, |rest| {
            // SAFETY: `rest` is `path`'s bytes after an ASCII or whole-path prefix.
            Path::new(unsafe { OsStr::from_encoded_bytes_unchecked(rest) })
        })
}

/// Whether the ignore files leave out `path`: ignored, whitelisted, or neither (`None`).
fn matched(chain: Option<&Node>, root: &Root, path: &Path, is_dir: bool) -> Match<()> {
    let path = strip(b"./", path);
    let (mut ignore, mut git_ignore, mut git_exclude) = (Match::None, Match::None, Match::None);
    let mut apply = |level: &Level, path: &Path| {
        if ignore.is_none() {
            ignore = level.ignore.matched(path, is_dir).map(|_| ());
        }
        if git_ignore.is_none() {
            git_ignore = level.git_ignore.matched(path, is_dir).map(|_| ());
        }
        if git_exclude.is_none() {
            git_exclude = level.git_exclude.matched(path, is_dir).map(|_| ());
        }
    };
    let mut node = chain;
    while let Some(n) = node {
        apply(&n.level, path);
        node = n.parent.as_deref();
    }
    if !root.parents.is_empty()
        && let Some(absolute) = &root.absolute
    {
        let relative = if root.dir == Path::new(".") {
            path
        } else {
            let dir = strip(b"./", &root.dir);
            strip(b"/", strip(dir.as_os_str().as_encoded_bytes(), path))
        };
        let path = absolute.join(relative);
        for level in &root.parents {
            apply(level, &path);
        }
    }
    ignore.or(git_ignore).or(git_exclude)
}

/// One entry of a listed folder, as the walk sees it.
struct Entry {
    path: PathBuf,
    name: std::ffi::OsString,
    is_dir: bool,
    /// Reached through a symlink (`--follow`), or a symlink not followed.
    is_link: bool,
    /// A regular file met directly: its inode number.
    regular_ino: Option<u64>,
}

/// Walks one folder: lists it, and hands each folder below it to `spawn`.
fn visit(shared: &Shared<'_>, work: Work, spawn: &mut dyn FnMut(Work)) {
    let walk = shared.walk;
    let (entries, errors) = match Listing::read_detailed(&work.path) {
        Ok(listed) => listed,
        Err(e) => {
            shared.push(Found::Problem(work.path.clone(), io_reason(&e)));
            return;
        }
    };
    let mut names = Names {
        ignore: false,
        git_ignore: false,
        git: false,
    };
    for entry in &entries {
        if let Listed::Entry { name, .. } = entry {
            match name.as_encoded_bytes() {
                b".ignore" => names.ignore = true,
                b".gitignore" => names.git_ignore = true,
                b".git" => names.git = true,
                _ => {}
            }
        }
    }
    let chain = if names.ignore || names.git_ignore || names.git {
        let (level, _) = level(&work.path, Some(names));
        if level.is_empty() {
            work.chain.clone()
        } else {
            Some(Arc::new(Node {
                level,
                parent: work.chain.clone(),
            }))
        }
    } else {
        work.chain.clone()
    };
    let mut files = Vec::new();
    for listed in &entries {
        let Listed::Entry {
            name,
            file_type,
            ino,
        } = listed
        else {
            continue;
        };
        let path = join_name(&work.path, name);
        let file_type = match file_type {
            Some(t) => *t,
            None => match std::fs::symlink_metadata(&path) {
                Ok(meta) => listed_type(meta.file_type()),
                Err(e) => {
                    shared.push(Found::Problem(path, io_reason(&e)));
                    continue;
                }
            },
        };
        let (is_dir, is_link, regular_ino) = if file_type == ListedType::Link && walk.follow {
            match std::fs::metadata(&path) {
                Ok(meta) => {
                    if meta.is_dir() {
                        match is_loop(&work.path, work.depth, &path) {
                            Ok(false) => {}
                            // An error for that path, as a named symlink loop is.
                            Ok(true) => {
                                shared.push(Found::Problem(path, super::LOOP_REASON.into()));
                                continue;
                            }
                            Err(e) => {
                                shared.push(Found::Problem(path, io_reason(&e)));
                                continue;
                            }
                        }
                    }
                    (meta.is_dir(), true, None)
                }
                Err(e) => {
                    shared.push(Found::Problem(path, io_reason(&e)));
                    continue;
                }
            }
        } else {
            (
                file_type == ListedType::Dir,
                file_type == ListedType::Link,
                (file_type == ListedType::File).then_some(*ino),
            )
        };
        let m = matched(chain.as_deref(), &work.root, &path, is_dir);
        if m.is_ignore() || (m.is_none() && name.as_encoded_bytes().starts_with(b".")) {
            continue;
        }
        let lossy = name.to_string_lossy();
        if is_dir {
            // The exclusion check is asked with the absolute path: an entry's name joined to
            // its folder's absolute path is already lexically normal.
            let absolute = join_name(&work.absolute, name);
            if (walk.exclude)(&absolute, true) {
                continue;
            }
            if lossy == "Dockerfile" || lossy == "Containerfile" {
                shared.push(Found::Problem(
                    path.clone(),
                    "is a directory, not a Dockerfile".to_string(),
                ));
            }
            spawn(Work {
                path,
                absolute,
                depth: work.depth + 1,
                root: Arc::clone(&work.root),
                chain: chain.clone(),
            });
        } else if is_dockerfile_name(&lossy) {
            files.push(Entry {
                path,
                name: name.clone(),
                is_dir,
                is_link,
                regular_ino,
            });
        }
    }
    for e in errors {
        shared.push(Found::Problem(work.path.clone(), io_reason(&e)));
    }
    if files.is_empty() {
        return;
    }
    // The folder's listing answers its configuration look-up and starts its build context.
    if let Some(listings) = &walk.listings {
        listings.keep(&work.absolute, Listing::from_entries(entries));
    }
    for file in files {
        debug_assert!(!file.is_dir);
        if (walk.exclude)(&join_name(&work.absolute, &file.name), false)
            || (file.is_link && !walk.follow)
        {
            continue;
        }
        shared.push(Found::File(
            file.path,
            Seen {
                regular_ino: if cfg!(unix) { file.regular_ino } else { None },
            },
        ));
    }
}

/// Whether the folder `child` (reached through a symlink in `dir`, at `depth` below the root)
/// is `dir` or one of the folders above it up to the root (as `ignore` tells a loop: by
/// opening each).
fn is_loop(dir: &Path, depth: usize, child: &Path) -> std::io::Result<bool> {
    let child = handle(child)?;
    let mut at = dir;
    for _ in 0..=depth {
        if handle(at)? == child {
            return Ok(true);
        }
        match at.parent() {
            Some(parent) => at = parent,
            None => break,
        }
    }
    Ok(false)
}

#[cfg(unix)]
fn handle(path: &Path) -> std::io::Result<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::File::open(path)?.metadata()?;
    Ok((meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn handle(path: &Path) -> std::io::Result<PathBuf> {
    std::fs::canonicalize(path)
}

#[cfg(test)]
mod tests {
    use super::super::{Walk, discover_with, discover_with_ignore};
    use std::path::{Path, PathBuf};

    /// A small deterministic generator (xorshift), so a failing tree can be made again.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }
        fn below(&mut self, n: usize) -> usize {
            usize::try_from(self.next() % n as u64).expect("small")
        }
        fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
            items[self.below(items.len())]
        }
        fn chance(&mut self, percent: usize) -> bool {
            self.below(100) < percent
        }
    }

    const DIRS: &[&str] = &[
        "a",
        "b",
        "src",
        ".hidden",
        "node_modules",
        "Dockerfile",
        "build",
        "x y",
        "vendor",
        "svc",
        ".config",
        "api.Dockerfile",
    ];
    const FILES: &[&str] = &[
        "Dockerfile",
        "Containerfile",
        "api.Dockerfile",
        "Dockerfile.prod",
        "Dockerfile.md",
        ".Dockerfile",
        "dockerfile",
        "README.md",
        "x.dockerfile",
        "Dockerfile.j2",
        "skip.Dockerfile",
        ".gitkeep",
    ];
    const LINES: &[&str] = &[
        "Dockerfile",
        "*.Dockerfile",
        "/a",
        "a/",
        "**/b",
        "src/**/Dockerfile",
        "!Dockerfile",
        "!.hidden",
        "!/a",
        "build/",
        "*.prod",
        "!api.Dockerfile",
        "b/Dockerfile",
        "# a comment",
        "",
        "[ab]/",
        "x y",
        "**/node_modules/**",
        "!**/src",
        "!*/",
        "!Dockerfile.prod",
        ".*",
        "!.config",
        "svc/*",
        "!svc/Dockerfile",
        "/Dockerfile",
        "a/**/b/",
        "Dockerfile/",
        "?ockerfile",
        "!.h*",
        "[z-a]",
        "{a,b",
    ];

    fn write_ignore(rng: &mut Rng, path: &Path) {
        let lines: Vec<&str> = (0..1 + rng.below(4)).map(|_| rng.pick(LINES)).collect();
        std::fs::write(path, lines.join("\n") + "\n").expect("write ignore file");
    }

    /// Fills `dir` with random folders, files, ignore files, `.git` folders and symlinks.
    fn fill(rng: &mut Rng, top: &Path, dir: &Path, depth: usize) {
        for _ in 0..rng.below(4) {
            let file = dir.join(rng.pick(FILES));
            if !file.exists() {
                std::fs::write(&file, "FROM scratch\n").expect("write");
            }
        }
        for name in [".gitignore", ".ignore"] {
            if rng.chance(30) {
                write_ignore(rng, &dir.join(name));
            }
        }
        if rng.chance(12) {
            let info = dir.join(".git/info");
            std::fs::create_dir_all(&info).expect("mkdir .git");
            if rng.chance(70) {
                write_ignore(rng, &info.join("exclude"));
            }
        } else if rng.chance(5) {
            // A worktree: `.git` names the folder, whose `commondir` names the common one.
            let real = top.join(format!("gitdirs/{}", rng.next()));
            let common = top.join(format!("gitdirs/common{}", rng.next()));
            std::fs::create_dir_all(&real).expect("mkdir gitdir");
            std::fs::create_dir_all(common.join("info")).expect("mkdir common");
            write_ignore(rng, &common.join("info/exclude"));
            if rng.chance(70) {
                std::fs::write(real.join("commondir"), format!("{}\n", common.display()))
                    .expect("write commondir");
            }
            std::fs::write(dir.join(".git"), format!("gitdir: {}\n", real.display()))
                .expect("write .git");
        }
        #[cfg(unix)]
        if rng.chance(20) {
            let link = dir.join(rng.pick(&["Dockerfile", "link", "l.Dockerfile", "up"]));
            let target = match rng.below(5) {
                0 => PathBuf::from(".."),
                1 => PathBuf::from("missing"),
                2 => top.join("root"),
                3 => PathBuf::from("Dockerfile.prod"),
                _ => top.join("outside"),
            };
            if std::fs::symlink_metadata(&link).is_err() {
                std::os::unix::fs::symlink(target, &link).expect("symlink");
            }
        }
        if depth < 4 {
            for _ in 0..rng.below(if depth == 0 { 5 } else { 4 }) {
                let sub = dir.join(rng.pick(DIRS));
                if std::fs::symlink_metadata(&sub).is_err() {
                    std::fs::create_dir(&sub).expect("mkdir");
                    fill(rng, top, &sub, depth + 1);
                }
            }
        }
    }

    fn walk(threads: usize, follow: bool) -> Walk {
        Walk {
            threads,
            follow,
            exclude: std::sync::Arc::new(|path: &Path, is_dir: bool| {
                let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
                match name.as_deref() {
                    Some("vendor") => is_dir,
                    Some("skip.Dockerfile") => !is_dir,
                    _ => false,
                }
            }),
            force_exclude: false,
            listings: None,
        }
    }

    #[test]
    fn the_walk_finds_what_the_ignore_crate_finds() {
        let mut compared = 0;
        let mut found_files = 0;
        let mut found_problems = 0;
        let seeds: u64 = std::env::var("RESTAGE_WALK_SEEDS")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(300);
        for seed in 1..=seeds {
            let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
            let tmp = tempfile::tempdir().expect("tempdir");
            let top = tmp.path();
            // Ignore files above the roots apply too.
            for dir in [top.to_path_buf(), top.join("above")] {
                std::fs::create_dir_all(&dir).expect("mkdir");
                if rng.chance(30) {
                    write_ignore(&mut rng, &dir.join(".gitignore"));
                }
                if rng.chance(15) {
                    write_ignore(&mut rng, &dir.join(".ignore"));
                }
            }
            if rng.chance(20) {
                std::fs::create_dir_all(top.join("above/.git/info")).expect("mkdir");
                write_ignore(&mut rng, &top.join("above/.git/info/exclude"));
            }
            let root = top.join("above/root");
            std::fs::create_dir_all(&root).expect("mkdir");
            std::fs::create_dir_all(top.join("outside")).expect("mkdir");
            std::fs::write(top.join("outside/Dockerfile"), "FROM x\n").expect("write");
            fill(&mut rng, top, &root, 0);
            #[cfg(unix)]
            std::os::unix::fs::symlink(&root, top.join("root")).expect("symlink");
            let mut roots = vec![root.clone()];
            match rng.below(4) {
                0 => roots.push(root.join("a")),
                1 => roots = vec![PathBuf::from(format!("{}/", root.display()))],
                2 => roots = vec![top.join("root")],
                _ => {}
            }
            for follow in [false, true] {
                let one_thread = discover_with(&roots, walk(1, follow));
                for threads in [1, 2] {
                    let ours = discover_with(&roots, walk(threads, follow));
                    assert_eq!(
                        ours, one_thread,
                        "seed {seed}, follow {follow}, threads {threads}"
                    );
                    let theirs = discover_with_ignore(&roots, walk(threads, follow));
                    // With several roots, whether `ignore` tells again the broken ignore file of
                    // a parent folder another root read depends on its threads' timing: those
                    // problems are left out of the comparison there.
                    let comparable = |found: &[super::super::Found]| -> Vec<super::super::Found> {
                        found
                            .iter()
                            .filter(|f| {
                                roots.len() == 1
                                    || !matches!(f, super::super::Found::Problem(p, _)
                                        if p.ends_with(".gitignore")
                                            || p.ends_with(".ignore")
                                            || p.ends_with("info/exclude")
                                            || p.ends_with(".git"))
                            })
                            .cloned()
                            .collect()
                    };
                    assert_eq!(
                        comparable(&ours),
                        comparable(&theirs),
                        "seed {seed}, follow {follow}, threads {threads}, roots {roots:?}"
                    );
                    compared += 1;
                    for f in &ours {
                        match f {
                            super::super::Found::File(..) => found_files += 1,
                            super::super::Found::Problem(..) => found_problems += 1,
                        }
                    }
                }
            }
        }
        // The trees find files and problems both, so the comparison means something.
        assert_eq!(compared, seeds * 4);
        assert!(found_files > 1000, "{found_files} files");
        assert!(found_problems > 50, "{found_problems} problems");
    }

    #[test]
    fn the_listing_of_a_folder_holding_a_dockerfile_is_kept_for_its_context() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path().join("t");
        std::fs::create_dir_all(root.join("svc/src")).expect("mkdir");
        std::fs::write(root.join("svc/Dockerfile"), "FROM x\n").expect("write");
        std::fs::write(root.join("svc/package.json"), "{}").expect("write");
        std::fs::write(root.join("svc/src/main.js"), "").expect("write");
        let listings = std::sync::Arc::new(crate::context::Listings::default());
        let walk = Walk {
            listings: Some(std::sync::Arc::clone(&listings)),
            ..walk(1, false)
        };
        let found = discover_with(std::slice::from_ref(&root), walk);
        assert_eq!(found.len(), 1);
        let names = |dir: &Path| -> Option<Vec<String>> {
            let listing = listings.take(dir)?;
            let mut names: Vec<String> = listing
                .entries
                .expect("listed")
                .into_iter()
                .map(|e| match e {
                    crate::context::Listed::Entry { name, .. } => {
                        name.to_string_lossy().into_owned()
                    }
                    crate::context::Listed::Unreadable => "?".to_owned(),
                })
                .collect();
            names.sort();
            Some(names)
        };
        assert_eq!(
            names(&root.join("svc")),
            Some(vec![
                "Dockerfile".to_owned(),
                "package.json".to_owned(),
                "src".to_owned()
            ])
        );
        // Folders without a Dockerfile are not kept.
        assert_eq!(names(&root), None);
        assert_eq!(names(&root.join("svc/src")), None);
    }
}
