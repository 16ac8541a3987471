//! Finding Dockerfiles: a parallel walk (the `ignore` crate) that honours .gitignore and .ignore,
//! skips hidden directories and `node_modules`, and matches Dockerfile names. Paths given
//! explicitly are always processed. The result is sorted, so output never depends on the walk.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ignore::{WalkBuilder, WalkState};

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
/// `*.dockerfile`, `Dockerfile.*` / `Containerfile.*` (but not `Dockerfile.md`, `.txt`, ...).
pub fn is_dockerfile_name(name: &str) -> bool {
    if name == "Dockerfile" || name == "Containerfile" || name == "dockerfile" {
        return true;
    }
    if let Some(stem) = name
        .strip_suffix(".Dockerfile")
        .or_else(|| name.strip_suffix(".dockerfile"))
    {
        return !stem.is_empty();
    }
    for prefix in ["Dockerfile.", "Containerfile.", "dockerfile."] {
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
    /// A file to process.
    File(PathBuf),
    /// A path that cannot be processed, with the reason (reported as an error for that path).
    Problem(PathBuf, String),
}

impl Found {
    pub fn path(&self) -> &Path {
        match self {
            Found::File(p) | Found::Problem(p, _) => p,
        }
    }
}

/// A predicate over walked paths (path, is a directory): true leaves it out, and a directory
/// with everything below it.
pub type Exclude = std::sync::Arc<dyn Fn(&Path, bool) -> bool + Send + Sync>;

/// How to walk the directories given.
#[derive(Clone)]
pub struct Walk {
    /// Worker threads for the walk (0: one per CPU).
    pub threads: usize,
    /// Follow symlinks met during the walk (`--follow`). Paths named as roots are always
    /// followed.
    pub follow: bool,
    /// What to leave out of the walk (roots themselves are never excluded).
    pub exclude: Exclude,
}

/// Finds the Dockerfiles under `roots`, sorted by path. One file reached twice (two spellings
/// of a path, a symlink, a hard link) is kept once: the first in sorted order.
pub fn discover_with(roots: &[PathBuf], walk: Walk) -> Vec<Found> {
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
            Ok(_) => crate::sync::lock(&found).push(Found::File(root.clone())),
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
                e.depth() == 0 || !exclude(e.path(), e.file_type().is_some_and(|t| t.is_dir()))
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
                            Some(Found::File(entry.path().to_path_buf()))
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
    let mut found = found.into_inner().expect("no panic while holding the lock");
    // `Found`'s order, with each path's components read once rather than at every comparison.
    found.sort_by_cached_key(|f| match f {
        Found::File(p) => (0u8, order_key(p), String::new()),
        Found::Problem(p, reason) => (1u8, order_key(p), reason.clone()),
    });
    found.dedup_by(|a, b| a.path() == b.path());
    dedup_by_identity(found)
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

/// Keeps the first of the files that are one file (same device and inode).
fn dedup_by_identity(found: Vec<Found>) -> Vec<Found> {
    let mut seen = std::collections::HashSet::new();
    found
        .into_iter()
        .filter(|f| match f {
            Found::File(path) => file_id(path).is_none_or(|id| seen.insert(id)),
            Found::Problem(..) => true,
        })
        .collect()
}

#[cfg(unix)]
fn file_id(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn file_id(path: &Path) -> Option<std::path::PathBuf> {
    std::fs::canonicalize(path).ok()
}

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
    // Unreadable directories are reported; a broken .gitignore line is not a Dockerfile problem.
    let path = path?;
    let reason = match e {
        ignore::Error::Io(io) => io_reason(io),
        ignore::Error::Loop { child, .. } => format!("symlink loop at {}", child.display()),
        other => other.to_string(),
    };
    Some(Found::Problem(path, reason))
}

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
