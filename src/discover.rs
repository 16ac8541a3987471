//! Finding Dockerfiles: a parallel walk of restage's own ([`walker`]: each folder listed once,
//! honouring .gitignore, .ignore and .git/info/exclude as the `ignore` crate's walker does) that
//! skips hidden directories and `node_modules`, and matches Dockerfile names. Paths given
//! explicitly are always processed. The result is sorted, so output never depends on the walk.

use std::path::{Path, PathBuf};
#[cfg(test)]
use std::sync::Mutex;

#[cfg(test)]
use ignore::{WalkBuilder, WalkState};

mod walker;

/// Extensions after `Dockerfile.` that name something else (docs, scripts, backups).
const NOT_DOCKERFILE_EXT: &[&str] = &[
    "md",
    "txt",
    "sh",
    "yml",
    "yaml",
    "json",
    "bak",
    "orig",
    "rej",
    "swp",
    "swo",
    "tmp",
    "old",
    "dockerignore",
    "lock",
    "log",
    "patch",
    "diff",
    "toml",
    "ini",
    "cfg",
    "py",
    "ps1",
    "bat",
    "rst",
    "html",
    "adoc",
    // Templates: rendered into a Dockerfile by another tool, not one themselves.
    "j2",
    "jinja",
    "jinja2",
    "tmpl",
    "tpl",
    "template",
    "in",
    "erb",
    "mustache",
    "hbs",
    "njk",
    "gotmpl",
    "tera",
    "liquid",
    "ejs",
];

/// True for names restage treats as Dockerfiles: `Dockerfile`, `Containerfile`, `*.Dockerfile`,
/// `*.Containerfile`, `Dockerfile.*` / `Containerfile.*` (but not `Dockerfile.md`, `.txt`,
/// ...), and the same in lowercase.
pub fn is_dockerfile_name(name: &str) -> bool {
    if matches!(
        name,
        "Dockerfile" | "Containerfile" | "dockerfile" | "containerfile"
    ) {
        return true;
    }
    if let Some(stem) = [
        ".Dockerfile",
        ".dockerfile",
        ".Containerfile",
        ".containerfile",
    ]
    .iter()
    .find_map(|suffix| name.strip_suffix(suffix))
    {
        return !stem.is_empty();
    }
    for prefix in [
        "Dockerfile.",
        "Containerfile.",
        "dockerfile.",
        "containerfile.",
    ] {
        if let Some(ext) = name.strip_prefix(prefix) {
            let last = ext.rsplit('.').next().unwrap_or(ext).to_ascii_lowercase();
            return !ext.is_empty()
                && !NOT_DOCKERFILE_EXT.contains(&last.as_str())
                && !name.ends_with('~');
        }
    }
    false
}

/// What discovery found for one path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Found {
    /// A file to process, with what the walk saw of it.
    File(PathBuf, Seen),
    /// A path that cannot be processed, with the reason (reported as an error for that path).
    Problem(PathBuf, String),
}

impl Found {
    pub fn path(&self) -> &Path {
        match self {
            Found::File(p, _) | Found::Problem(p, _) => p,
        }
    }
}

/// What the walk's directory listing told about a file, so reading it needs fewer system calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Seen {
    /// The inode number the listing gave for a regular file met directly (not through a
    /// symlink); `None` for paths named on the command line and for symlinks.
    pub regular_ino: Option<u64>,
}

impl Seen {
    /// True when the walk listed the path as a regular file, not a symlink: reading it needs
    /// no look-up by path before opening (the open file is checked anyway).
    pub fn is_regular(self) -> bool {
        self.regular_ino.is_some()
    }
}

/// A predicate over walked paths (path, is a directory): true leaves it out, and a directory
/// with everything below it. Asked for directories and for files with a Dockerfile's name, with
/// the path made absolute and lexically normal.
pub type Exclude = std::sync::Arc<dyn Fn(&Path, bool) -> bool + Send + Sync>;

/// How to walk the directories given.
#[derive(Clone)]
pub struct Walk {
    /// Worker threads for the walk (0: one per CPU).
    pub threads: usize,
    /// Follow symlinks met during the walk (`--follow`). Paths named as roots are always
    /// followed.
    pub follow: bool,
    /// What to leave out of the walk (roots themselves are never excluded, unless
    /// `force_exclude`).
    pub exclude: Exclude,
    /// `--force-exclude`: a file named as a root is left out as the walk would leave it out
    /// (a name that is not a Dockerfile's, or what `exclude` leaves out). Hooks that pass every
    /// staged file by name (pre-commit) then get what discovery picks.
    pub force_exclude: bool,
    /// Where the listing of each folder holding a Dockerfile is kept, before the exclusion
    /// check of its Dockerfiles (which looks the folder's configuration up in it) and for its
    /// build context.
    pub(crate) listings: Option<std::sync::Arc<crate::context::Listings>>,
}

/// Finds the Dockerfiles under `roots`, sorted by path. One file reached twice (two spellings
/// of a path, a symlink, a hard link) is kept once: the first in sorted order.
pub fn discover_with(roots: &[PathBuf], walk: Walk) -> Vec<Found> {
    let mut found = Vec::new();
    let mut dirs = Vec::new();
    for root in roots {
        match std::fs::symlink_metadata(root) {
            _ if walk.force_exclude && left_out_by_name(root, &walk) => {}
            Err(e) => found.push(Found::Problem(root.clone(), io_reason(&e))),
            Ok(meta) if meta.is_dir() => dirs.push(root.clone()),
            // Files (and symlinks to anything) given explicitly are always processed; reading
            // them reports what is wrong.
            Ok(_) if root.is_dir() => dirs.push(root.clone()),
            Ok(_) => found.push(Found::File(root.clone(), Seen::default())),
        }
    }
    if !dirs.is_empty() {
        found.extend(walker::walk(&dirs, &walk));
    }
    sorted(found)
}

/// For `--force-exclude`: a path named on the command line (or `--stdin-filename`'s) that is
/// not a directory, whose name discovery would not take, or which `walk.exclude` leaves out:
/// itself, or a folder it is in below the current directory (a walk from there would not have
/// entered it).
pub(crate) fn left_out_by_name(root: &Path, walk: &Walk) -> bool {
    if root.is_dir() {
        return false;
    }
    let name = root.file_name().map(|n| n.to_string_lossy());
    if !name.is_some_and(|n| is_dockerfile_name(&n)) {
        return true;
    }
    let absolute = crate::context::absolute_lexical(root);
    if (walk.exclude)(&absolute, false) {
        return true;
    }
    let cwd = crate::context::absolute_lexical(Path::new("."));
    absolute
        .ancestors()
        .skip(1)
        .take_while(|dir| dir.starts_with(&cwd) && *dir != cwd)
        .any(|dir| (walk.exclude)(dir, true))
}

/// The path's [`order_key`], then files before problems, then a problem's reason.
type SortKey = (Vec<u8>, u8, String);

/// `found` sorted by path, each path once, each file once.
fn sorted(found: Vec<Found>) -> Vec<Found> {
    // `Found`'s order, with each path's components read once rather than at every comparison
    // (equal keys are equal paths, so they also tell the paths found twice).
    let mut keyed: Vec<(SortKey, Found)> = found
        .into_iter()
        .map(|f| {
            let key = match &f {
                Found::File(p, _) => (order_key(p), 0u8, String::new()),
                Found::Problem(p, reason) => (order_key(p), 1u8, reason.clone()),
            };
            (key, f)
        })
        .collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    keyed.dedup_by(|a, b| a.0.0 == b.0.0);
    dedup_by_identity(keyed.into_iter().map(|(_, f)| f).collect())
}

/// [`discover_with`] with the walk of the `ignore` crate, which restage's own walk matches.
#[cfg(test)]
fn discover_with_ignore(roots: &[PathBuf], walk: Walk) -> Vec<Found> {
    let threads = walk.threads;
    let exclude = walk.exclude.clone();
    let found = Mutex::new(Vec::new());
    let mut dirs = Vec::new();
    for root in roots {
        match std::fs::symlink_metadata(root) {
            Err(e) => crate::sync::lock(&found).push(Found::Problem(root.clone(), io_reason(&e))),
            Ok(meta) if meta.is_dir() => dirs.push(root.clone()),
            // Files (and symlinks to anything) given explicitly are always processed; reading
            // them reports what is wrong.
            Ok(_) if root.is_dir() => dirs.push(root.clone()),
            Ok(_) => crate::sync::lock(&found).push(Found::File(root.clone(), Seen::default())),
        }
    }
    if let Some((first, rest)) = dirs.split_first() {
        let mut builder = WalkBuilder::new(first);
        for d in rest {
            builder.add(d);
        }
        builder
            .threads(threads)
            .hidden(true)
            .git_ignore(true)
            .git_global(false)
            .git_exclude(true)
            .require_git(false)
            .follow_links(walk.follow)
            .filter_entry(move |e| {
                // Only directories (to leave out what is below them) and the files the walk
                // yields need the check; the rest are passed over by the visitor anyway.
                let is_dir = e.file_type().is_some_and(|t| t.is_dir());
                e.depth() == 0
                    || (!is_dir && !is_dockerfile_name(&e.file_name().to_string_lossy()))
                    || !exclude(e.path(), is_dir)
            });
        builder.build_parallel().run(|| {
            let found = &found;
            Box::new(move |entry| {
                let item = match entry {
                    Ok(entry) => {
                        let name = entry.file_name().to_string_lossy();
                        let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
                        let is_link = entry.path_is_symlink();
                        if entry.depth() == 0 || !is_dockerfile_name(&name) {
                            None
                        } else if is_link && !walk.follow {
                            // Like ripgrep: a symlink met during the walk is not followed
                            // unless asked (`--follow`); `--write` never reaches through one.
                            None
                        } else if is_dir {
                            (name == "Dockerfile" || name == "Containerfile").then(|| {
                                Found::Problem(
                                    entry.path().to_path_buf(),
                                    "is a directory, not a Dockerfile".to_string(),
                                )
                            })
                        } else {
                            Some(Found::File(
                                entry.path().to_path_buf(),
                                seen(&entry, is_link),
                            ))
                        }
                    }
                    Err(err) => walk_problem(&err),
                };
                if let Some(item) = item {
                    crate::sync::lock(found).push(item);
                }
                WalkState::Continue
            })
        });
    }
    sorted(found.into_inner().expect("no panic while holding the lock"))
}

/// Bytes that compare like `path` compares with other paths (component by component): each
/// component is a tag in the order of [`std::path::Component`]'s variants, a normal
/// component's bytes, and a 0 that ends it (no component holds a 0 byte).
fn order_key(path: &Path) -> Vec<u8> {
    use std::path::Component;
    let mut key = Vec::with_capacity(path.as_os_str().len() + 8);
    for c in path.components() {
        match c {
            Component::Prefix(p) => {
                key.push(1);
                key.extend_from_slice(p.as_os_str().as_encoded_bytes());
            }
            Component::RootDir => key.push(2),
            Component::CurDir => key.push(3),
            Component::ParentDir => key.push(4),
            Component::Normal(n) => {
                key.push(5);
                key.extend_from_slice(n.as_encoded_bytes());
            }
        }
        key.push(0);
    }
    key
}

/// What a walked entry tells about the file: the listing's inode number of a regular file
/// met directly (`readdir`'s type and inode, or one `lstat` when the file system gives no type).
#[cfg(test)]
fn seen(entry: &ignore::DirEntry, is_link: bool) -> Seen {
    let regular = !is_link && entry.file_type().is_some_and(|t| t.is_file());
    #[cfg(unix)]
    let ino = entry.ino();
    #[cfg(not(unix))]
    let ino: Option<u64> = None;
    Seen {
        regular_ino: if regular { ino } else { None },
    }
}

/// Keeps the first of the files that are one file (same device and inode). Two files whose
/// inode numbers differ are not one file, so a file met directly by the walk is looked up for
/// its device only when its listed inode number is also another file's; files named on the
/// command line and symlinks are always looked up.
fn dedup_by_identity(found: Vec<Found>) -> Vec<Found> {
    let lookup = |path: &Path| file_id(path).map_or(Key::Unknown, Key::Known);
    let mut keys: Vec<Option<Key>> = found
        .iter()
        .map(|f| match f {
            Found::File(path, seen) => Some(match seen.regular_ino {
                Some(ino) if cfg!(unix) => Key::Listed(ino),
                _ => lookup(path),
            }),
            Found::Problem(..) => None,
        })
        .collect();
    let mut inodes: rustc_hash::FxHashMap<u64, u32> = rustc_hash::FxHashMap::default();
    for key in keys.iter().flatten() {
        if let Some(ino) = key.ino() {
            *inodes.entry(ino).or_default() += 1;
        }
    }
    for (key, f) in keys.iter_mut().zip(&found) {
        if let (Some(Key::Listed(ino)), Found::File(path, _)) = (&*key, f)
            && inodes.get(ino).is_some_and(|&n| n > 1)
        {
            *key = Some(lookup(path));
        }
    }
    let mut seen = std::collections::HashSet::new();
    found
        .into_iter()
        .zip(keys)
        .filter_map(|(f, key)| match key {
            Some(Key::Known(id)) => seen.insert(id).then_some(f),
            Some(Key::Listed(_) | Key::Unknown) | None => Some(f),
        })
        .collect()
}

/// A found file's identity as far as it is known.
enum Key {
    /// The walk's inode number; the device not looked up.
    Listed(u64),
    /// Looked up.
    Known(FileId),
    /// The look-up failed: the file is kept, and reading it reports the problem.
    Unknown,
}

impl Key {
    /// The inode number, when known (on Unix; elsewhere identities are paths).
    fn ino(&self) -> Option<u64> {
        match self {
            Key::Listed(ino) => Some(*ino),
            #[cfg(unix)]
            Key::Known((_, ino)) => Some(*ino),
            #[cfg(not(unix))]
            Key::Known(_) => None,
            Key::Unknown => None,
        }
    }
}

#[cfg(unix)]
type FileId = (u64, u64);

#[cfg(not(unix))]
type FileId = std::path::PathBuf;

#[cfg(unix)]
fn file_id(path: &Path) -> Option<FileId> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn file_id(path: &Path) -> Option<FileId> {
    std::fs::canonicalize(path).ok()
}

/// The problem a walk error is for restage: a path and a reason, or nothing when the error
/// names no path.
fn walk_problem(err: &ignore::Error) -> Option<Found> {
    let mut path = None;
    let mut e = err;
    loop {
        match e {
            ignore::Error::WithPath { path: p, err } => {
                path = Some(p.clone());
                e = err;
            }
            ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
                e = err
            }
            _ => break,
        }
    }
    if let ignore::Error::Loop { child, .. } = e {
        return Some(Found::Problem(child.clone(), LOOP_REASON.into()));
    }
    // Unreadable directories are reported; a broken .gitignore line is not a Dockerfile problem.
    let path = path?;
    let reason = match e {
        ignore::Error::Io(io) => io_reason(io),
        other => other.to_string(),
    };
    Some(Found::Problem(path, reason))
}

/// Why a symlink met with `--follow` is an error when it leads to a folder it is in.
pub(crate) const LOOP_REASON: &str = "symlink loop: it leads back to a folder it is in";

/// A short, lower-case reason for an IO error.
pub fn io_reason(e: &std::io::Error) -> String {
    use std::io::ErrorKind::*;
    match e.kind() {
        NotFound => "no such file or directory".into(),
        PermissionDenied => "permission denied".into(),
        _ => {
            let s = e.to_string();
            // "Too many levels of symbolic links (os error 40)" -> without the errno.
            match s.find(" (os error") {
                Some(p) => s[..p].to_lowercase(),
                None => s.to_lowercase(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_keys_sort_paths_as_path_order_does() {
        let paths: Vec<PathBuf> = [
            "a/b", "a-b", "a", "a/", "a//b", "./a", "./x", "-a", ".a", "../a", "/a", "/", "a/./b",
            "a/b/c", "a/bc", "ab", "a b", "./a/b", "a/../b", "a\u{e9}", "a/\u{e9}", "", ".",
        ]
        .iter()
        .map(PathBuf::from)
        .collect();
        for x in &paths {
            for y in &paths {
                assert_eq!(
                    order_key(x).cmp(&order_key(y)),
                    x.cmp(y),
                    "{} against {}",
                    x.display(),
                    y.display()
                );
            }
        }
    }

    fn walk() -> Walk {
        Walk {
            threads: 2,
            follow: false,
            exclude: std::sync::Arc::new(|_: &Path, _: bool| false),
            force_exclude: false,
            listings: None,
        }
    }

    #[cfg(unix)]
    #[test]
    fn one_file_reached_twice_is_kept_once_and_listed_files_carry_their_inode() {
        use std::os::unix::fs::MetadataExt;
        let tmp = tempfile::tempdir().expect("tempdir");
        let t = tmp.path().join("t");
        for dir in ["a", "b", "c"] {
            std::fs::create_dir_all(t.join(dir)).expect("mkdir");
        }
        std::fs::write(t.join("a/Dockerfile"), "FROM a\n").expect("write");
        std::fs::hard_link(t.join("a/Dockerfile"), t.join("b/Dockerfile")).expect("hard link");
        std::fs::write(t.join("c/Dockerfile"), "FROM c\n").expect("write");
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(t.join("c/Dockerfile"), &link).expect("symlink");
        let ino = |rel: &str| std::fs::metadata(t.join(rel)).expect("stat").ino();
        // The hard link's second path is dropped; the listed inode is the file's.
        assert_eq!(
            discover_with(std::slice::from_ref(&t), walk()),
            vec![
                Found::File(
                    t.join("a/Dockerfile"),
                    Seen {
                        regular_ino: Some(ino("a/Dockerfile"))
                    }
                ),
                Found::File(
                    t.join("c/Dockerfile"),
                    Seen {
                        regular_ino: Some(ino("c/Dockerfile"))
                    }
                ),
            ]
        );
        // A symlink named on the command line is looked up, and the walked file it points to
        // (after it in sorted order) is dropped.
        assert_eq!(
            discover_with(&[t.clone(), link.clone()], walk()),
            vec![
                Found::File(link, Seen::default()),
                Found::File(
                    t.join("a/Dockerfile"),
                    Seen {
                        regular_ino: Some(ino("a/Dockerfile"))
                    }
                ),
            ]
        );
    }

    #[test]
    fn dockerfile_names() {
        for yes in [
            "Dockerfile",
            "Containerfile",
            "api.Dockerfile",
            "api.dockerfile",
            "Dockerfile.prod",
            "Dockerfile.dev",
            "Containerfile.base",
            "Dockerfile.node20",
            "dockerfile",
            "containerfile.dev",
            "web.Containerfile",
            "web.containerfile",
        ] {
            assert!(is_dockerfile_name(yes), "{yes}");
        }
        for no in [
            "Dockerfile.md",
            "Dockerfile.txt",
            "Dockerfile.sh",
            "Dockerfile.yml",
            "Dockerfile.yaml",
            "Dockerfile.json",
            "Dockerfile.bak",
            "Dockerfile.orig",
            "Dockerfile.rej",
            "Dockerfile.swp",
            "Dockerfile.",
            ".Dockerfile",
            "Dockerfiles",
            "README.md",
            "docker-compose.yml",
            "Dockerfile.prod.bak",
            "Dockerfile~",
            "Dockerfile.j2",
            "Dockerfile.jinja",
            "Dockerfile.tmpl",
            "Dockerfile.template",
            "Dockerfile.in",
            "Dockerfile.erb",
            "Dockerfile.tpl",
            "Dockerfile.prod.j2",
        ] {
            assert!(!is_dockerfile_name(no), "{no}");
        }
    }
}
