//! Finding the build context a Compose file gives a Dockerfile.
//!
//! Search: the Dockerfile's own directory, then up to [`MAX_PARENT_LEVELS`] parent directories,
//! stopping early after a directory that holds `.git` (the repository root). In each directory
//! the Compose file names are tried in Compose's own order (`compose.yaml`, `compose.yml`,
//! `docker-compose.yaml`, `docker-compose.yml`). A service names the Dockerfile when
//! `build: <dir>` points at a directory whose `Dockerfile` is it, or when `build.context` plus
//! `build.dockerfile` (default `Dockerfile`, relative to the context) is it. The nearest
//! directory with a match decides; if its services disagree on the context, nothing is chosen.
//! Remote contexts (git URLs), `dockerfile_inline`, and paths with `${VARIABLES}` are skipped:
//! they cannot be resolved without guessing. Paths are compared lexically, and again with the
//! Compose file's directory and the Dockerfile resolved through symlinks (one
//! canonicalization per Compose file); a symlink inside a service's relative path is not
//! followed, so such a service is missed rather than guessed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_yaml_ng::Value;

use super::fsread::{
    ReadError, absolute_lexical, is_lexically_normal, normal_file_name, normal_parent, read_capped,
};

/// Compose file names, in the order Compose itself prefers them.
pub const COMPOSE_FILE_NAMES: [&str; 4] = [
    "compose.yaml",
    "compose.yml",
    "docker-compose.yaml",
    "docker-compose.yml",
];

/// How many directories above the Dockerfile's own directory are searched.
pub const MAX_PARENT_LEVELS: usize = 3;

/// A Compose file that names the Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ComposeChoice {
    pub file: PathBuf,
    pub services: Vec<String>,
    pub context: PathBuf,
}

struct Candidate {
    file: PathBuf,
    service: String,
    context: PathBuf,
}

/// Compose files already looked at, by path, so a run reads and parses each one once however
/// many Dockerfiles sit below it (absent files are remembered too).
#[derive(Debug, Default)]
pub(crate) struct ComposeCache(
    Mutex<HashMap<PathBuf, Arc<Loaded>>>,
    /// Per directory (by its bytes): which compose file names and `.git` it holds, from one
    /// listing.
    Mutex<rustc_hash::FxHashMap<std::ffi::OsString, Arc<Vec<String>>>>,
    /// Per directory a search starts from (by its bytes: the paths are lexically normal):
    /// whether no directory the search visits holds a Compose file.
    Mutex<rustc_hash::FxHashMap<std::ffi::OsString, bool>>,
    /// Per directory (by its bytes): the directory resolved through symlinks, or `None` when
    /// it cannot be (see [`ComposeCache::canonical`]).
    Mutex<rustc_hash::FxHashMap<std::ffi::OsString, Option<PathBuf>>>,
    /// Per directory a search visited above where it started (by its bytes): the first
    /// directory at or above it holding a Compose file or `.git`, as far as searches looked.
    Mutex<rustc_hash::FxHashMap<std::ffi::OsString, Stop>>,
);

/// What a search saw at and above a directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// A Compose file this many levels up (0: in the directory itself).
    Compose(usize),
    /// No Compose file, and `.git` this many levels up: a search goes no further.
    Git(usize),
    /// Neither in the directory nor this many levels above it (`usize::MAX`: up to `/`).
    NoneWithin(usize),
}

#[derive(Debug)]
enum Loaded {
    Missing,
    /// Unreadable or malformed: the note's text after the file name.
    Problem(String),
    Services(Services),
}

/// A Compose file's services, indexed by the Dockerfile each builds, so finding the services
/// of one Dockerfile does not scan them all (a Compose file of 10,000 services read for 10,000
/// Dockerfiles).
#[derive(Debug)]
struct Services {
    all: Vec<Service>,
    /// Indexes into `all`, by the lexical Dockerfile path of `Target::Resolved`.
    by_dockerfile: HashMap<PathBuf, Vec<usize>>,
    /// Indexes into `all`, by `real_dockerfile`.
    by_real: HashMap<PathBuf, Vec<usize>>,
    /// Indexes of the `Target::Variables` services.
    with_variables: Vec<usize>,
}

impl Services {
    fn new(all: Vec<Service>) -> Services {
        let mut by_dockerfile: HashMap<PathBuf, Vec<usize>> = HashMap::new();
        let mut by_real: HashMap<PathBuf, Vec<usize>> = HashMap::new();
        let mut with_variables = Vec::new();
        for (i, service) in all.iter().enumerate() {
            match &service.target {
                Target::Resolved {
                    dockerfile,
                    real_dockerfile,
                    ..
                } => {
                    by_dockerfile.entry(dockerfile.clone()).or_default().push(i);
                    if let Some(real) = real_dockerfile {
                        by_real.entry(real.clone()).or_default().push(i);
                    }
                }
                Target::Variables { .. } => with_variables.push(i),
                Target::Skipped => {}
            }
        }
        Services {
            all,
            by_dockerfile,
            by_real,
            with_variables,
        }
    }

    /// In file order: the services that may concern `dockerfile` (those building it, and those
    /// with variables). `canonical` is `dockerfile` resolved through symlinks, computed at most
    /// once and only when some service has a resolved path to compare it with.
    fn relevant(
        &self,
        dockerfile: &Path,
        canonical: &mut Option<Option<PathBuf>>,
        cache: &ComposeCache,
    ) -> Vec<usize> {
        let mut out: Vec<usize> = self.with_variables.clone();
        if let Some(found) = self.by_dockerfile.get(dockerfile) {
            out.extend(found);
        }
        if !self.by_real.is_empty()
            && let Some(real) = canonical
                .get_or_insert_with(|| cache.canonical(dockerfile))
                .as_ref()
            && let Some(found) = self.by_real.get(real)
        {
            out.extend(found);
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// One service's build, resolved against the Compose file's directory once, at load time.
#[derive(Debug)]
struct Service {
    name: String,
    target: Target,
}

#[derive(Debug)]
enum Target {
    /// The Dockerfile this service builds: lexically, and (if the Compose file's directory
    /// resolves) through symlinks above the Compose file.
    Resolved {
        context: PathBuf,
        dockerfile: PathBuf,
        /// `dockerfile`'s last element, for a cheap first filter.
        dockerfile_name: std::ffi::OsString,
        real_dockerfile: Option<PathBuf>,
    },
    /// Paths with variables; `dockerfile_name` is the last element of `dockerfile`.
    Variables { dockerfile_name: String },
    /// Remote, inline, or not a usable `build`.
    Skipped,
}

impl ComposeCache {
    fn get(&self, path: &Path) -> Arc<Loaded> {
        if let Some(hit) = self.lock().get(path) {
            return Arc::clone(hit);
        }
        let dir = path.parent().unwrap_or(Path::new("/"));
        let loaded = Arc::new(match read_capped(path) {
            Err(ReadError::Missing) => Loaded::Missing,
            Err(e) => Loaded::Problem(e.describe()),
            Ok(text) => match services_of(&text) {
                Ok(services) => Loaded::Services(Services::new(resolve_services(dir, services))),
                Err(e) => Loaded::Problem(e),
            },
        });
        Arc::clone(self.lock().entry(path.to_path_buf()).or_insert(loaded))
    }

    /// Remembers what [`present`](Self::present) would find in `dir` from a listing of it
    /// already made (every UTF-8 name in it), unless `dir` is known already.
    pub(crate) fn seed<'a>(&self, dir: &Path, names: impl Iterator<Item = &'a str>) {
        let mut map = crate::sync::lock(&self.1);
        if map.contains_key(dir.as_os_str()) {
            return;
        }
        let names: Vec<String> = names
            .filter(|n| *n == ".git" || COMPOSE_FILE_NAMES.contains(n))
            .map(str::to_string)
            .collect();
        map.insert(dir.as_os_str().to_os_string(), Arc::new(names));
    }

    /// The compose file names and `.git` present in `dir`, listed once per directory (a
    /// monorepo lists each directory once instead of probing every name for every Dockerfile).
    fn present(&self, dir: &Path) -> Arc<Vec<String>> {
        let lock = || crate::sync::lock(&self.1);
        if let Some(hit) = lock().get(dir.as_os_str()) {
            return Arc::clone(hit);
        }
        let names: Vec<String> = match std::fs::read_dir(dir) {
            Ok(entries) => entries
                .filter_map(Result::ok)
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| n == ".git" || COMPOSE_FILE_NAMES.contains(&n.as_str()))
                .collect(),
            Err(_) => Vec::new(),
        };
        Arc::clone(
            lock()
                .entry(dir.as_os_str().to_os_string())
                .or_insert(Arc::new(names)),
        )
    }

    /// True when no directory a search from `dir` visits (`dir`, then its parents up to
    /// [`MAX_PARENT_LEVELS`], stopping after one with `.git`) holds a Compose file: the search
    /// finds nothing and says nothing. Answered once per directory, and from what earlier
    /// searches learnt of its parent when that is enough (sibling folders share their parents),
    /// so the Dockerfiles of a monorepo without Compose files cost one lookup each.
    fn nothing_from(&self, dir: &Path) -> bool {
        if let Some(&hit) = crate::sync::lock(&self.2).get(dir.as_os_str()) {
            return hit;
        }
        let nothing = self.search_nothing_from(dir);
        crate::sync::lock(&self.2).insert(dir.as_os_str().to_os_string(), nothing);
        nothing
    }

    fn search_nothing_from(&self, dir: &Path) -> bool {
        let stop_at = |present: &[String]| {
            if present
                .iter()
                .any(|p| COMPOSE_FILE_NAMES.contains(&p.as_str()))
            {
                Some(Stop::Compose(0))
            } else if present.iter().any(|p| p == ".git") {
                Some(Stop::Git(0))
            } else {
                None
            }
        };
        match stop_at(&self.present(dir)) {
            Some(Stop::Compose(_)) => return false,
            Some(_) => return true,
            None => {}
        }
        let Some(parent) = normal_parent(dir) else {
            return true;
        };
        // The search from `dir` visits `parent` and its parents up to MAX_PARENT_LEVELS - 1
        // levels above it.
        let known = crate::sync::lock(&self.4).get(parent.as_os_str()).copied();
        match known {
            Some(Stop::Compose(k)) => return k + 1 > MAX_PARENT_LEVELS,
            Some(Stop::Git(_)) => return true,
            Some(Stop::NoneWithin(checked)) if checked >= MAX_PARENT_LEVELS - 1 => return true,
            _ => {}
        }
        // Searched level by level; what it sees is kept for the parents it visits.
        let mut visited: Vec<PathBuf> = Vec::new();
        let mut at = parent.to_path_buf();
        let mut found = None;
        for level in 1..=MAX_PARENT_LEVELS {
            if let Some(stop) = stop_at(&self.present(&at)) {
                found = Some((stop, level));
                visited.push(at);
                break;
            }
            let up = at.parent().map(Path::to_path_buf);
            visited.push(at);
            match up {
                Some(up) => at = up,
                None => {
                    found = Some((Stop::NoneWithin(usize::MAX), level));
                    break;
                }
            }
        }
        let mut memo = crate::sync::lock(&self.4);
        for (i, seen) in visited.into_iter().enumerate() {
            let level = i + 1;
            let stop = match found {
                Some((Stop::Compose(_), at)) => Stop::Compose(at - level),
                Some((Stop::Git(_), at)) => Stop::Git(at - level),
                Some((Stop::NoneWithin(_), _)) => Stop::NoneWithin(usize::MAX),
                None => Stop::NoneWithin(MAX_PARENT_LEVELS - level),
            };
            let better = match memo.get(seen.as_os_str()) {
                Some(Stop::NoneWithin(checked)) => match stop {
                    Stop::NoneWithin(now) => now > *checked,
                    _ => true,
                },
                Some(_) => false,
                None => true,
            };
            if better {
                memo.insert(seen.into_os_string(), stop);
            }
        }
        !matches!(found, Some((Stop::Compose(_), _)))
    }

    /// `path` resolved through symlinks, as `std::fs::canonicalize` gives it (`None` where it
    /// fails). An absolute, lexically normal path is resolved from its parent, resolved once
    /// per directory and kept, and one `lstat` of its last element when that is not a symlink,
    /// rather than a look-up of every element each time.
    pub(crate) fn canonical(&self, path: &Path) -> Option<PathBuf> {
        let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
            return std::fs::canonicalize(path).ok();
        };
        if !is_lexically_normal(path.as_os_str().as_encoded_bytes()) {
            return std::fs::canonicalize(path).ok();
        }
        let real_parent = {
            let hit = crate::sync::lock(&self.3).get(parent.as_os_str()).cloned();
            match hit {
                Some(hit) => hit,
                None => {
                    let real = self.canonical(parent);
                    crate::sync::lock(&self.3)
                        .insert(parent.as_os_str().to_os_string(), real.clone());
                    real
                }
            }
        }?;
        let candidate = real_parent.join(name);
        match std::fs::symlink_metadata(&candidate) {
            Ok(meta) if !meta.file_type().is_symlink() => Some(candidate),
            Ok(_) => std::fs::canonicalize(&candidate).ok(),
            Err(_) => None,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<PathBuf, Arc<Loaded>>> {
        crate::sync::lock(&self.0)
    }
}

fn resolve_services(dir: &Path, services: Vec<(String, Build)>) -> Vec<Service> {
    let real_dir = std::fs::canonicalize(dir).ok();
    services
        .into_iter()
        .map(|(name, build)| {
            let target = match build {
                Build::Unusable => Target::Skipped,
                Build::Paths { context, .. } if is_remote(&context) => Target::Skipped,
                Build::Paths {
                    context,
                    dockerfile,
                } if context.contains('$') || dockerfile.contains('$') => Target::Variables {
                    dockerfile_name: crate::shell::base_name(&dockerfile).to_owned(),
                },
                Build::Paths {
                    context,
                    dockerfile,
                } => {
                    let context_dir = absolute_lexical(&dir.join(&context));
                    let resolved = absolute_lexical(&context_dir.join(&dockerfile));
                    Target::Resolved {
                        dockerfile_name: resolved.file_name().unwrap_or_default().to_os_string(),
                        dockerfile: resolved,
                        real_dockerfile: real_dir
                            .as_ref()
                            .map(|real| absolute_lexical(&real.join(&context).join(&dockerfile))),
                        context: context_dir,
                    }
                }
            };
            Service { name, target }
        })
        .collect()
}

/// Searches for a Compose file naming `dockerfile` (an absolute, lexically normal path).
pub(crate) fn find(
    dockerfile: &Path,
    cache: &ComposeCache,
    notes: &mut Vec<String>,
) -> Option<ComposeChoice> {
    let file_name = normal_file_name(dockerfile)?;
    let mut canonical: Option<Option<PathBuf>> = None;
    let mut dir = normal_parent(dockerfile)?.to_path_buf();
    if cache.nothing_from(&dir) {
        return None;
    }
    let mut shown_prefix = String::new();
    for _level in 0..=MAX_PARENT_LEVELS {
        let mut found: Vec<Candidate> = Vec::new();
        let present = cache.present(&dir);
        for name in COMPOSE_FILE_NAMES {
            if !present.iter().any(|p| p == name) {
                continue;
            }
            let path = dir.join(name);
            let shown = format!("{shown_prefix}{name}");
            let loaded = cache.get(&path);
            let services = match &*loaded {
                Loaded::Missing => continue,
                Loaded::Problem(e) => {
                    notes.push(format!("{shown}: {e}"));
                    continue;
                }
                Loaded::Services(services) => services,
            };
            for index in services.relevant(dockerfile, &mut canonical, cache) {
                let service = &services.all[index];
                match &service.target {
                    Target::Skipped => {}
                    Target::Variables { dockerfile_name } => {
                        if dockerfile_name.contains('$') || file_name == dockerfile_name.as_str() {
                            notes.push(format!(
                                "{shown}: service `{}` uses variables in its build paths; \
                                 not resolved",
                                service.name
                            ));
                        }
                    }
                    Target::Resolved {
                        context,
                        dockerfile: candidate,
                        dockerfile_name,
                        real_dockerfile,
                    } => {
                        if dockerfile_name != file_name {
                            continue;
                        }
                        // Both sides are lexically normal: byte equality is path equality.
                        let same = candidate.as_os_str() == dockerfile.as_os_str()
                            || real_dockerfile.as_ref().is_some_and(|real| {
                                canonical
                                    .get_or_insert_with(|| cache.canonical(dockerfile))
                                    .as_ref()
                                    == Some(real)
                            });
                        if same {
                            found.push(Candidate {
                                file: path.clone(),
                                service: service.name.clone(),
                                context: context.clone(),
                            });
                        }
                    }
                }
            }
        }
        if let Some(first) = found.first() {
            let key = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
            // One service agrees with itself: its context is not resolved to say so.
            if found.len() == 1 || {
                let first_key = key(&first.context);
                found[1..].iter().all(|c| key(&c.context) == first_key)
            } {
                return Some(ComposeChoice {
                    file: first.file.clone(),
                    services: found.iter().map(|c| c.service.clone()).collect(),
                    context: first.context.clone(),
                });
            }
            let list: Vec<String> = found
                .iter()
                .map(|c| format!("`{}` ({})", c.service, c.context.display()))
                .collect();
            notes.push(format!(
                "compose services disagree on the build context of this Dockerfile: {}; \
                 using the Dockerfile's directory",
                list.join(", ")
            ));
            return None;
        }
        if present.iter().any(|p| p == ".git") {
            return None;
        }
        match dir.parent() {
            Some(parent) => dir = parent.to_path_buf(),
            None => return None,
        }
        shown_prefix.push_str("../");
    }
    None
}

#[derive(Debug)]
enum Build {
    Paths { context: String, dockerfile: String },
    Unusable,
}

/// The `build` of every service, in file order.
fn services_of(text: &str) -> Result<Vec<(String, Build)>, String> {
    let mut value: Value =
        serde_yaml_ng::from_str(text).map_err(|e| format!("invalid YAML: {e}"))?;
    value
        .apply_merge()
        .map_err(|e| format!("invalid YAML merge: {e}"))?;
    let Some(services) = value.get("services").and_then(Value::as_mapping) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (name, service) in services {
        let Some(name) = name.as_str() else { continue };
        let build = match service.get("build") {
            None | Some(Value::Null) => continue,
            Some(Value::String(context)) => Build::Paths {
                context: context.clone(),
                dockerfile: "Dockerfile".to_owned(),
            },
            Some(Value::Mapping(build)) => {
                if build.get("dockerfile_inline").is_some() {
                    Build::Unusable
                } else {
                    let context = match build.get("context") {
                        None | Some(Value::Null) => Some(".".to_owned()),
                        Some(Value::String(s)) => Some(s.clone()),
                        Some(_) => None,
                    };
                    let dockerfile = match build.get("dockerfile") {
                        None | Some(Value::Null) => Some("Dockerfile".to_owned()),
                        Some(Value::String(s)) => Some(s.clone()),
                        Some(_) => None,
                    };
                    match (context, dockerfile) {
                        (Some(context), Some(dockerfile)) => Build::Paths {
                            context,
                            dockerfile,
                        },
                        _ => Build::Unusable,
                    }
                }
            }
            Some(_) => Build::Unusable,
        };
        out.push((name.to_owned(), build));
    }
    Ok(out)
}

/// A context Compose would fetch rather than read from disk.
fn is_remote(context: &str) -> bool {
    context.contains("://")
        || context.starts_with("git@")
        || context.starts_with("github.com/")
        || context.ends_with(".git")
        || context.contains(".git#")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn write(root: &Path, rel: &str, text: &str) {
        let path = root.join(rel);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(path, text).expect("write");
    }

    fn find_for(root: &Path, rel: &str) -> (Option<ComposeChoice>, Vec<String>) {
        let mut notes = Vec::new();
        let dockerfile = absolute_lexical(&root.join(rel));
        (
            find(&dockerfile, &ComposeCache::default(), &mut notes),
            notes,
        )
    }

    #[test]
    fn build_mapping_with_context_and_dockerfile() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path();
        write(root, ".git/HEAD", "");
        write(
            root,
            "compose.yaml",
            "services:\n  api:\n    build:\n      context: .\n      dockerfile: services/api/Dockerfile\n  db:\n    image: postgres\n",
        );
        write(root, "services/api/Dockerfile", "FROM node\n");
        let (choice, notes) = find_for(root, "services/api/Dockerfile");
        let choice = choice.expect("compose match");
        assert_eq!(choice.services, vec!["api".to_owned()]);
        assert_eq!(choice.context, absolute_lexical(root));
        assert!(notes.is_empty(), "{notes:?}");
    }

    #[test]
    fn build_string_means_default_dockerfile_in_that_dir() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path();
        write(
            root,
            "docker-compose.yml",
            "services:\n  web:\n    build: ./web\n",
        );
        write(root, "web/Dockerfile", "FROM node\n");
        write(root, "web/Dockerfile.dev", "FROM node\n");
        let (choice, _) = find_for(root, "web/Dockerfile");
        assert_eq!(
            choice.expect("match").context,
            absolute_lexical(&root.join("web"))
        );
        let (choice, _) = find_for(root, "web/Dockerfile.dev");
        assert_eq!(choice, None);
    }

    #[test]
    fn merge_keys_are_applied() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path();
        write(
            root,
            "compose.yml",
            "x-build: &b\n  context: ..\n  dockerfile: app/Dockerfile\nservices:\n  app:\n    build:\n      <<: *b\n",
        );
        write(root, "app/Dockerfile", "FROM node\n");
        // The compose file is in root, context `..` is root's parent.
        let (choice, _) = find_for(root, "app/Dockerfile");
        assert_eq!(choice, None, "context .. + app/Dockerfile is not root/app");
        write(
            root,
            "compose.yml",
            "x-build: &b\n  context: .\n  dockerfile: app/Dockerfile\nservices:\n  app:\n    build:\n      <<: *b\n",
        );
        let (choice, _) = find_for(root, "app/Dockerfile");
        assert_eq!(choice.expect("match").context, absolute_lexical(root));
    }

    #[test]
    fn disagreeing_services_choose_nothing() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path();
        write(
            root,
            "compose.yaml",
            "services:\n  a:\n    build: ./app\n  b:\n    build:\n      context: .\n      dockerfile: app/Dockerfile\n",
        );
        write(root, "app/Dockerfile", "FROM node\n");
        let (choice, notes) = find_for(root, "app/Dockerfile");
        assert_eq!(choice, None);
        assert!(notes[0].contains("disagree"), "{notes:?}");
    }

    #[test]
    fn malformed_yaml_is_a_note_and_search_goes_on() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path();
        write(
            root,
            "compose.yaml",
            "services:\n  api:\n    build: ./api\n",
        );
        write(root, "api/compose.yaml", "services: [\n");
        write(root, "api/Dockerfile", "FROM node\n");
        let (choice, notes) = find_for(root, "api/Dockerfile");
        assert_eq!(
            choice.expect("parent compose").services,
            vec!["api".to_owned()]
        );
        assert_eq!(notes.len(), 1);
        assert!(
            notes[0].starts_with("compose.yaml: invalid YAML"),
            "{notes:?}"
        );
    }

    #[test]
    fn search_stops_at_the_repository_root_and_after_a_few_levels() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path();
        write(root, "compose.yaml", "services:\n  x:\n    build: repo/a\n");
        write(root, "repo/.git/HEAD", "");
        write(root, "repo/a/Dockerfile", "FROM node\n");
        let (choice, _) = find_for(root, "repo/a/Dockerfile");
        assert_eq!(choice, None, "compose above the repo root is not read");

        let deep = tempfile::tempdir().expect("tempdir");
        let root = deep.path();
        write(
            root,
            "compose.yaml",
            "services:\n  x:\n    build: a/b/c/d\n",
        );
        write(root, "a/b/c/d/Dockerfile", "FROM node\n");
        let (choice, _) = find_for(root, "a/b/c/d/Dockerfile");
        assert_eq!(choice, None, "four levels up is too far");
        write(
            root,
            "a/compose.yaml",
            "services:\n  x:\n    build: b/c/d\n",
        );
        let (choice, _) = find_for(root, "a/b/c/d/Dockerfile");
        assert!(choice.is_some(), "three levels up is searched");
    }

    #[test]
    fn what_a_search_learnt_of_a_parent_answers_as_a_search_does() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let t = std::fs::canonicalize(tmp.path()).expect("canonical");
        write(&t, "compose.yaml", "services: {}\n");
        write(&t, "repo/.git/HEAD", "");
        write(&t, "deep/compose.yml", "services: {}\n");
        let dirs = [
            "a",
            "a/b",
            "a/b/c",
            "a/b/c/d",
            "a/b/c/d/e",
            "a/b/c/d2",
            "a/b/c2/d",
            "repo/s",
            "repo/s/t",
            "repo/s/t/u/v",
            "deep/1/2/3",
            "deep/1/2/3/4",
            "deep/1/2/3b",
            "deep/1/2/3b/4",
        ];
        for dir in dirs {
            fs::create_dir_all(t.join(dir)).expect("mkdir");
        }
        // The search itself: each level up to MAX_PARENT_LEVELS, stopping at `.git`.
        let search = |dir: &Path| {
            let cache = ComposeCache::default();
            let mut at = dir.to_path_buf();
            for _ in 0..=MAX_PARENT_LEVELS {
                let present = cache.present(&at);
                if present
                    .iter()
                    .any(|p| COMPOSE_FILE_NAMES.contains(&p.as_str()))
                {
                    return false;
                }
                if present.iter().any(|p| p == ".git") {
                    return true;
                }
                match at.parent() {
                    Some(parent) => at = parent.to_path_buf(),
                    None => return true,
                }
            }
            true
        };
        let fresh: Vec<bool> = dirs.iter().map(|d| search(&t.join(d))).collect();
        assert_eq!(
            fresh,
            [
                false, false, false, true, true, true, true, true, true, true, false, true, false,
                true
            ]
        );
        // A shared cache answers from what earlier questions learnt, in any order.
        for order in [
            (0..dirs.len()).collect::<Vec<_>>(),
            (0..dirs.len()).rev().collect(),
            vec![4, 3, 5, 2, 6, 1, 0, 9, 8, 7, 13, 12, 11, 10],
        ] {
            let shared = ComposeCache::default();
            for i in order {
                assert_eq!(
                    shared.nothing_from(&t.join(dirs[i])),
                    fresh[i],
                    "{}",
                    dirs[i]
                );
            }
        }
    }

    #[cfg(unix)]
    #[test]
    fn canonical_paths_agree_with_canonicalize() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let t = std::fs::canonicalize(tmp.path()).expect("canonical");
        write(&t, "real/app/Dockerfile", "FROM node\n");
        write(&t, "real/file", "");
        std::os::unix::fs::symlink(t.join("real"), t.join("link")).expect("symlink");
        std::os::unix::fs::symlink("app/Dockerfile", t.join("real/df")).expect("symlink");
        std::os::unix::fs::symlink("nowhere", t.join("real/dangling")).expect("symlink");
        let cache = ComposeCache::default();
        // Twice: the second time from the directories kept.
        for _ in 0..2 {
            for rel in [
                "real/app/Dockerfile",
                "link/app/Dockerfile",
                "link/df",
                "real/dangling",
                "real/missing",
                "real/file/below",
                "link",
                "",
            ] {
                let p = if rel.is_empty() {
                    t.clone()
                } else {
                    t.join(rel)
                };
                assert_eq!(cache.canonical(&p), std::fs::canonicalize(&p).ok(), "{rel}");
            }
        }
        for p in ["/", "relative/path", "/a/../b"] {
            let p = Path::new(p);
            assert_eq!(cache.canonical(p), std::fs::canonicalize(p).ok(), "{p:?}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn symlinked_checkout_still_matches() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let real = tmp.path().join("real");
        write(&real, "app/Dockerfile", "FROM node\n");
        let real_abs = std::fs::canonicalize(&real).expect("canonical");
        write(
            &real,
            "compose.yaml",
            &format!("services:\n  app:\n    build: {}/app\n", real_abs.display()),
        );
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&real, &link).expect("symlink");
        let (choice, notes) = find_for(&link, "app/Dockerfile");
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(choice.expect("match").context, real_abs.join("app"));
    }

    #[test]
    fn alias_bombs_are_refused() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path();
        let mut bomb = String::from("a: &a [x,x,x,x,x,x,x,x,x]\n");
        for (name, prev) in ["b", "c", "d", "e", "f", "g", "h", "i"]
            .iter()
            .zip(["a", "b", "c", "d", "e", "f", "g", "h"])
        {
            let refs = vec![format!("*{prev}"); 9].join(",");
            bomb.push_str(&format!("{name}: &{name} [{refs}]\n"));
        }
        bomb.push_str("services:\n  app:\n    build: .\n");
        write(root, "compose.yaml", &bomb);
        write(root, "Dockerfile", "FROM node\n");
        let (choice, notes) = find_for(root, "Dockerfile");
        assert_eq!(choice, None);
        assert_eq!(
            notes,
            ["compose.yaml: invalid YAML: repetition limit exceeded"]
        );
    }

    #[test]
    fn remote_inline_and_variable_contexts_are_skipped() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path();
        write(
            root,
            "compose.yaml",
            "services:\n  r:\n    build: https://github.com/x/y.git\n  i:\n    build:\n      dockerfile_inline: FROM scratch\n  v:\n    build:\n      context: ${CTX}\n",
        );
        write(root, "Dockerfile", "FROM node\n");
        let (choice, notes) = find_for(root, "Dockerfile");
        assert_eq!(choice, None);
        assert_eq!(notes.len(), 1);
        assert!(notes[0].contains("service `v` uses variables"), "{notes:?}");
    }
}
