//! The build context of one Dockerfile: which directory Docker would send, which manifests and
//! lockfiles sit at its root, what `.dockerignore` leaves out, and what the manifests say
//! (package.json, Cargo.toml, go.mod, pom.xml, Gradle settings, the root `*.csproj`,
//! pyproject.toml, requirements files). It is read before the pipeline (each context directory
//! once per run, however many Dockerfiles share it) and handed to the transforms; they never
//! touch the disk themselves.
//!
//! Reading never fails, never executes anything and never guesses: it lists the context root
//! once, reads only the handful of known files (each at most [`MAX_FILE_BYTES`], regular files
//! only), and a file that is malformed, oversized or unreadable yields `None` ("unknown") for
//! that file plus a line in [`BuildContext::notes`].
//!
//! Which directory is the context, first rule that applies (recorded in
//! [`BuildContext::source`]):
//! 1. the override the caller passes (`--context`, or `context` in `restage.toml`);
//! 2. the `build.context` of a Compose service that names this Dockerfile (see the
//!    `compose` module: the Dockerfile's directory and up to [`compose::MAX_PARENT_LEVELS`] parents,
//!    stopping at a directory holding `.git`);
//! 3. the Dockerfile's own directory.

mod cargo_toml;
mod compose;
mod dependencies;
mod dockerignore;
mod dotnet;
mod error;
mod fsread;
mod gemfile_lock;

pub(crate) use fsread::normalize_rel;
mod gomod;
mod gradle;
mod local_sources;
mod maven;
mod node;
mod node_build;
mod python;
mod xml;

use std::collections::BTreeMap;
use std::hash::BuildHasher;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use serde::Serialize;

pub use cargo_toml::CargoManifest;
pub use dependencies::Dependencies;
pub use dockerignore::DockerIgnore;
pub use dotnet::CsProj;
pub use error::ManifestError;
pub use gemfile_lock::GemfileLock;
pub use gomod::GoMod;
pub use gradle::Gradle;
pub use maven::Pom;
pub use node::PackageJson;
pub use node_build::{NodeBuild, Setting, TsConfig};
pub use python::{PyProject, RequirementsFile};

#[cfg(test)]
pub(crate) use fsread::agrees_on_short_paths;
pub(crate) use fsread::{Listed, ListedType, Listing, Listings};
use fsread::{ReadError, parent_dir, read_capped};
pub(crate) use fsread::{
    absolute_lexical, is_lexically_normal, join_name, listed_type, normal_parent,
    segments_after_slashes_are_names,
};

/// Files recorded when present at the context root (see also [`is_known_name`]).
pub const KNOWN_FILES: &[&str] = &[
    ".dockerignore",
    // Node
    "package.json",
    "package-lock.json",
    "npm-shrinkwrap.json",
    "yarn.lock",
    ".yarnrc.yml",
    "pnpm-lock.yaml",
    "pnpm-workspace.yaml",
    ".npmrc",
    "bun.lock",
    "bun.lockb",
    // Python
    "pyproject.toml",
    "poetry.lock",
    "Pipfile",
    "Pipfile.lock",
    "uv.lock",
    "setup.py",
    "setup.cfg",
    ".python-version",
    // Go
    "go.mod",
    "go.sum",
    // Rust
    "Cargo.toml",
    "Cargo.lock",
    "rust-toolchain",
    "rust-toolchain.toml",
    // Java
    "pom.xml",
    "mvnw",
    "build.gradle",
    "build.gradle.kts",
    "settings.gradle",
    "settings.gradle.kts",
    "gradlew",
    // .NET
    "Directory.Build.props",
    "Directory.Build.targets",
    "Directory.Packages.props",
    "global.json",
    // Ruby, PHP
    "Gemfile",
    "Gemfile.lock",
    "composer.json",
    "composer.lock",
];

/// The most root entry names recorded in [`BuildContext::root_names`].
pub const MAX_ROOT_NAMES: usize = 10_000;

/// Directories recorded when present at the context root.
pub const KNOWN_DIRS: &[&str] = &["vendor", "gradle", ".mvn", ".yarn"];

/// Whether a root entry named `name` is one the context records: [`KNOWN_FILES`],
/// [`KNOWN_DIRS`], `requirements*.txt`, `*.csproj`, `*.sln`, `*.gemspec`, and `NuGet.config` in
/// any case.
pub fn is_known_name(name: &str) -> bool {
    // Asked for every root entry of every context: one hash look-up, not a comparison with
    // each known name.
    static KNOWN: std::sync::LazyLock<rustc_hash::FxHashSet<&'static str>> =
        std::sync::LazyLock::new(|| KNOWN_FILES.iter().chain(KNOWN_DIRS).copied().collect());
    KNOWN.contains(name)
        || is_requirements_name(name)
        || (name.len() > ".csproj".len() && name.ends_with(".csproj"))
        || (name.len() > ".sln".len() && name.ends_with(".sln"))
        || (name.len() > ".gemspec".len() && name.ends_with(".gemspec"))
        || name.eq_ignore_ascii_case("nuget.config")
}

fn is_requirements_name(name: &str) -> bool {
    name.starts_with("requirements") && name.ends_with(".txt")
}

/// Which rule chose the context directory.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(tag = "rule", rename_all = "kebab-case")]
pub enum ContextSource {
    /// The caller's override (`--context`, or `context` in `restage.toml`).
    Given,
    /// A Compose file's service(s) naming this Dockerfile.
    Compose {
        file: PathBuf,
        services: Vec<String>,
    },
    /// The Dockerfile's own directory (the default).
    #[default]
    DockerfileDir,
}

impl ContextSource {
    /// A short phrase for `restage files`, e.g. "compose.yaml service `api`".
    pub fn describe(&self) -> String {
        match self {
            ContextSource::Given => "given context".to_owned(),
            ContextSource::Compose { file, services } => {
                let name = file.file_name().map_or_else(
                    || file.display().to_string(),
                    |n| n.to_string_lossy().into_owned(),
                );
                let services: Vec<String> = services.iter().map(|s| format!("`{s}`")).collect();
                let noun = if services.len() == 1 {
                    "service"
                } else {
                    "services"
                };
                format!("{name} {noun} {}", services.join(", "))
            }
            ContextSource::DockerfileDir => "Dockerfile's directory".to_owned(),
        }
    }
}

/// What a root entry is (symlinks are followed; a dangling one is `Other`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EntryKind {
    File,
    Dir,
    Other,
}

/// The `.dockerignore` in force.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum DockerIgnoreState {
    /// No ignore file: nothing is left out.
    #[default]
    Absent,
    /// `file` is `<Dockerfile name>.dockerignore` next to the Dockerfile (BuildKit prefers it)
    /// or `.dockerignore` at the context root.
    Rules { file: PathBuf, rules: DockerIgnore },
    /// The ignore file exists but could not be read or parsed: every path counts as ignored,
    /// so no transform copies anything on the strength of it.
    Unknown { file: PathBuf },
}

/// Why a path of the context does not reach the build (see [`BuildContext::unsent`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unsent {
    /// The context has no such file.
    Missing,
    /// `.dockerignore` leaves it out.
    Excluded,
    /// The ignore file could not be read, so whether it is sent is not known.
    IgnoreUnreadable,
}

impl Unsent {
    /// The clause for a note: `X is not in the build context`, ...
    pub fn describe(self, rel_path: &str) -> String {
        match self {
            Unsent::Missing => format!("{rel_path} is not in the build context"),
            Unsent::Excluded => format!("{rel_path} is excluded by .dockerignore"),
            Unsent::IgnoreUnreadable => format!(
                "the .dockerignore could not be read, so restage cannot tell whether {rel_path} is sent"
            ),
        }
    }
}

/// The ecosystems `restage files` names, detected from root manifests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Ecosystem {
    Node,
    Python,
    Go,
    Rust,
    Maven,
    Gradle,
    Dotnet,
    Ruby,
    Php,
}

impl Ecosystem {
    /// All ecosystems, in report order.
    pub const ALL: [Ecosystem; 9] = [
        Ecosystem::Node,
        Ecosystem::Python,
        Ecosystem::Go,
        Ecosystem::Rust,
        Ecosystem::Maven,
        Ecosystem::Gradle,
        Ecosystem::Dotnet,
        Ecosystem::Ruby,
        Ecosystem::Php,
    ];

    /// Lower-case name: `node`, `python`, `go`, `rust`, `maven`, `gradle`, `dotnet`, `ruby`, `php`.
    pub fn name(self) -> &'static str {
        match self {
            Ecosystem::Node => "node",
            Ecosystem::Python => "python",
            Ecosystem::Go => "go",
            Ecosystem::Rust => "rust",
            Ecosystem::Maven => "maven",
            Ecosystem::Gradle => "gradle",
            Ecosystem::Dotnet => "dotnet",
            Ecosystem::Ruby => "ruby",
            Ecosystem::Php => "php",
        }
    }

    /// Whether root entry `name` marks this ecosystem as present.
    fn detected_by(self, name: &str) -> bool {
        match self {
            Ecosystem::Node => name == "package.json",
            Ecosystem::Python => {
                matches!(
                    name,
                    "pyproject.toml" | "Pipfile" | "setup.py" | "setup.cfg"
                ) || is_requirements_name(name)
            }
            Ecosystem::Go => name == "go.mod",
            Ecosystem::Rust => name == "Cargo.toml",
            Ecosystem::Maven => name == "pom.xml",
            Ecosystem::Gradle => {
                name.starts_with("build.gradle") || name.starts_with("settings.gradle")
            }
            Ecosystem::Dotnet => name.ends_with(".csproj") || name.ends_with(".sln"),
            Ecosystem::Ruby => name == "Gemfile",
            Ecosystem::Php => name == "composer.json",
        }
    }

    /// Whether root entry `name` belongs to this ecosystem (manifests, lockfiles, wrappers).
    fn owns(self, name: &str) -> bool {
        self.detected_by(name)
            || match self {
                Ecosystem::Node => matches!(
                    name,
                    "package-lock.json"
                        | "npm-shrinkwrap.json"
                        | "yarn.lock"
                        | ".yarnrc.yml"
                        | ".yarn"
                        | "pnpm-lock.yaml"
                        | "pnpm-workspace.yaml"
                        | ".npmrc"
                        | "bun.lock"
                        | "bun.lockb"
                ),
                Ecosystem::Python => matches!(
                    name,
                    "poetry.lock" | "Pipfile.lock" | "uv.lock" | ".python-version"
                ),
                Ecosystem::Go => matches!(name, "go.sum" | "vendor"),
                Ecosystem::Rust => {
                    matches!(
                        name,
                        "Cargo.lock" | "rust-toolchain" | "rust-toolchain.toml"
                    )
                }
                Ecosystem::Maven => matches!(name, "mvnw" | ".mvn"),
                Ecosystem::Gradle => matches!(name, "gradlew" | "gradle"),
                Ecosystem::Dotnet => {
                    name.eq_ignore_ascii_case("nuget.config")
                        || matches!(
                            name,
                            "Directory.Build.props"
                                | "Directory.Build.targets"
                                | "Directory.Packages.props"
                                | "global.json"
                        )
                }
                Ecosystem::Ruby => name == "Gemfile.lock",
                Ecosystem::Php => matches!(name, "composer.lock" | "vendor"),
            }
    }
}

/// Memo of [`BuildContext::exists`] answers for paths outside [`BuildContext::files`], so
/// repeated questions within a run get the same answer. Leave it as `Default`.
#[derive(Debug, Default)]
pub struct PathLookups(Mutex<BTreeMap<String, Option<EntryKind>>>);

impl Clone for PathLookups {
    fn clone(&self) -> Self {
        let map = crate::sync::lock(&self.0).clone();
        PathLookups(Mutex::new(map))
    }
}

/// Memo of [`BuildContext::read_text`] answers, by context-relative path: a file read once per
/// context however many transforms ask. For in-memory contexts (tests), the texts to answer.
#[derive(Debug, Default)]
pub struct FileTexts(pub Mutex<BTreeMap<String, Result<Arc<str>, String>>>);

impl Clone for FileTexts {
    fn clone(&self) -> Self {
        FileTexts(Mutex::new(crate::sync::lock(&self.0).clone()))
    }
}

/// Memo of [`BuildContext::root_names_matching`] answers, by key. Clones share it, so the
/// contexts of one directory filter its root names once per key, not once per Dockerfile.
#[derive(Debug, Default, Clone)]
pub struct RootMatches(Arc<Mutex<rustc_hash::FxHashMap<String, Shared<Vec<String>>>>>);

/// What restage knows about the build context of one Dockerfile. Every `Option` fact is
/// `None` when the file is absent *or* unknown; [`BuildContext::exists`] tells which, and
/// [`BuildContext::notes`] says why a present file is unknown.
///
/// For tests, a context can be built in memory: `BuildContext { files, package_json, ..
/// Default::default() }` answers [`exists`](BuildContext::exists) from `files` alone.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BuildContext {
    /// The Dockerfile, as given.
    pub dockerfile: PathBuf,
    /// The context directory (absolute, lexically normalized).
    pub dir: PathBuf,
    /// Which rule chose `dir`.
    pub source: ContextSource,
    /// Whether `dir` is on disk (set by [`BuildContext::read`]); when false, `exists` answers
    /// from `files` only.
    pub on_disk: bool,
    /// Known manifests, lockfiles and directories present at the root ([`is_known_name`]),
    /// by name. In-memory contexts may put any relative path here.
    pub files: BTreeMap<String, EntryKind>,
    /// Every root entry by name (`None`: the root was not listed, e.g. an in-memory context).
    /// Tells which files a `COPY . .` brings besides the sources (data, templates, config).
    #[serde(skip)]
    pub listing: Option<Shared<BTreeMap<String, EntryKind>>>,
    /// `listing` holds every root entry, all with ASCII names, and is small: a root-level
    /// name it holds in no letter case is not there (no look-up, even on a case-insensitive
    /// file system). Leave it as `Default` (false: ask the file system).
    #[serde(skip)]
    pub listing_is_whole: bool,
    pub dockerignore: DockerIgnoreState,
    pub package_json: Option<PackageJson>,
    /// What a Node build reads besides package.json (tsconfigs, build-tool configs, the file
    /// extensions under each root directory); `None` without a listed root `package.json`.
    #[serde(skip)]
    pub node_build: Option<NodeBuild>,
    pub cargo: Option<CargoManifest>,
    pub go_mod: Option<GoMod>,
    pub pom: Option<Pom>,
    /// `Some` when any Gradle build/settings file or `gradlew` is present.
    pub gradle: Option<Gradle>,
    /// The root `*.csproj` when there is exactly one.
    pub csproj: Option<CsProj>,
    pub pyproject: Option<PyProject>,
    /// Every `requirements*.txt` at the root, by name.
    pub requirements: Vec<RequirementsFile>,
    /// The package names `Cargo.lock` lists (`None`: no readable Cargo.lock). Tells whether a
    /// Rust binary links a system library such as OpenSSL (`openssl-sys`).
    pub cargo_lock_packages: Option<std::collections::BTreeSet<String>>,
    /// What Gemfile.lock resolves (`None`: absent or unreadable, see `notes`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gemfile_lock: Option<GemfileLock>,
    /// The dependency names the root manifests declare, per kind (`npm`, `pip`, `gem`,
    /// `composer`, `go`, `cargo`), and the manifests whose dependencies are unknown.
    #[serde(skip)]
    pub dependencies: Dependencies,
    /// The names of the entries at the context root (at most [`MAX_ROOT_NAMES`]), for
    /// markers such as `manage.py` or `*.sqlite3`. Empty for in-memory contexts.
    #[serde(skip)]
    pub root_names: Shared<std::collections::BTreeSet<String>>,
    /// Memo of [`BuildContext::root_names_matching`], shared by every context read from the
    /// same directory. Leave it as `Default`.
    #[serde(skip)]
    pub root_matches: RootMatches,
    /// Why something present is unknown, e.g. `package.json: invalid JSON: expected `,` or `}`
    /// at line 3 column 5`. In reading order.
    pub notes: Vec<String>,
    /// For each root manifest of [`local_sources::MANIFESTS`] that is present: the local
    /// sources it pulls in besides itself (path dependencies, workspaces, included builds), or
    /// why it could not be read. See [`BuildContext::local_sources`].
    #[serde(skip)]
    pub local_sources: BTreeMap<String, Result<Vec<String>, String>>,
    #[serde(skip)]
    pub lookups: PathLookups,
    #[serde(skip)]
    pub texts: FileTexts,
}

/// A read-only value shared by every build context that comes from the same directory: cloning
/// it is a reference count, not a copy (a folder of 10,000 Dockerfiles lists 10,000 names once).
/// Build one with `collect()` or `Shared::from`; read it through `Deref`.
#[derive(Debug, Default)]
pub struct Shared<T>(Arc<T>);

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Shared(Arc::clone(&self.0))
    }
}

impl<T> std::ops::Deref for Shared<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> From<T> for Shared<T> {
    fn from(value: T) -> Self {
        Shared(Arc::new(value))
    }
}

impl<T: FromIterator<A>, A> FromIterator<A> for Shared<T> {
    fn from_iter<I: IntoIterator<Item = A>>(iter: I) -> Self {
        Shared(Arc::new(iter.into_iter().collect()))
    }
}

/// Reads build contexts for many Dockerfiles in one run. `Sync`: share one across rayon workers.
/// Compose files are read and parsed once each, and each context directory is listed and its
/// manifests read once however many Dockerfiles use it (a folder of Dockerfiles, or a Compose
/// file pointing many services at one context); only the `.dockerignore` choice, which depends
/// on the Dockerfile's name, is made per Dockerfile.
#[derive(Debug, Default)]
pub struct ContextReader {
    compose: compose::ComposeCache,
    dirs: DirCache,
    /// Folders listed before their context is read (by the walk's configuration look-up).
    listings: Arc<Listings>,
}

/// The facts of one context directory that do not depend on which Dockerfile asks: the root
/// listing and the manifests, with the notes each produced.
#[derive(Debug)]
struct DirFacts {
    /// `dir`, `on_disk`, the listing and the manifests filled in; `notes` holds the listing's
    /// notes followed by the manifests' notes.
    ctx: BuildContext,
    /// How many of `ctx.notes` come from listing the root.
    listing_notes: usize,
    /// The listing holds no name ending in `.dockerignore` (in any letter case, for
    /// case-insensitive file systems), so neither ignore file of a Dockerfile in this directory
    /// needs looking up.
    no_ignore_files: bool,
}

impl DirFacts {
    /// Reads `dir`, from `listing` when it was listed before.
    fn read(dir: PathBuf, listing: Option<Listing>) -> DirFacts {
        let mut ctx = BuildContext {
            dir,
            on_disk: true,
            ..BuildContext::default()
        };
        let no_ignore_files = ctx.list_root(listing);
        let listing_notes = ctx.notes.len();
        ctx.read_manifests();
        DirFacts {
            ctx,
            listing_notes,
            no_ignore_files,
        }
    }
}

const DOCKERIGNORE: &str = ".dockerignore";

/// A root listing of at most this many names answers for the names it does not hold (see
/// [`BuildContext::listing_is_whole`]): comparing with each name in any letter case is cheaper
/// than a look-up only for a few.
const WHOLE_LISTING_NAMES: usize = 64;

/// Number of independently locked shards of [`DirCache`]; workers asking for different
/// directories rarely wait for each other.
const DIR_SHARDS: usize = 16;
/// Directories kept per shard. A shard that is full keeps only the directories asked for more
/// than once since it was last full (a context many Dockerfiles share, such as the root a
/// Compose file points every service at) and drops the rest: the cache only has to hold the
/// directories being worked on, and files are processed in path order, so a directory's
/// Dockerfiles come together. A directory read twice gives the same facts.
const DIR_SHARD_CAPACITY: usize = 64;

type DirSlot = Arc<OnceLock<Arc<DirFacts>>>;

/// Context directories already read, keyed by their absolute path. Each directory is read by
/// the first worker that asks; others asking for it meanwhile wait for that one read.
#[derive(Debug, Default)]
struct DirCache {
    /// Keyed by the path's bytes: the paths are lexically normal, so equal paths are equal
    /// bytes, and hashing bytes is cheaper than hashing a path component by component.
    /// Each slot with how often it was asked for since the shard was last full.
    shards: [Mutex<rustc_hash::FxHashMap<std::ffi::OsString, (DirSlot, u32)>>; DIR_SHARDS],
}

impl DirCache {
    fn get(&self, dir: &Path, listings: &Listings) -> Arc<DirFacts> {
        let key = dir.as_os_str();
        let hash = rustc_hash::FxBuildHasher.hash_one(key.as_encoded_bytes());
        let shard = &self.shards[(hash as usize) % DIR_SHARDS];
        let slot: DirSlot = {
            let mut map = shard.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((slot, asked)) = map.get_mut(key) {
                *asked = asked.saturating_add(1);
                Arc::clone(slot)
            } else {
                if map.len() >= DIR_SHARD_CAPACITY {
                    // Keep the shared directories; without them a Compose root would be listed
                    // and walked again every few dozen Dockerfiles.
                    map.retain(|_, (_, asked)| *asked > 1);
                    if map.len() >= DIR_SHARD_CAPACITY / 2 {
                        map.clear();
                    }
                    map.values_mut().for_each(|(_, asked)| *asked = 1);
                }
                let (slot, _) = map
                    .entry(key.to_os_string())
                    .or_insert_with(|| (DirSlot::default(), 1));
                Arc::clone(slot)
            }
        };
        // Read outside the shard lock: a slow directory holds up only those who need it.
        Arc::clone(
            slot.get_or_init(|| Arc::new(DirFacts::read(dir.to_path_buf(), listings.take(dir)))),
        )
    }
}

impl ContextReader {
    pub fn new() -> ContextReader {
        ContextReader::default()
    }

    /// Where listings made before a context is read are kept for it (see
    /// [`crate::config::ConfigResolver::excluder_listing`]).
    pub(crate) fn listings(&self) -> Arc<Listings> {
        Arc::clone(&self.listings)
    }

    /// Reads the build context of `dockerfile`. `context_override` (relative to the current
    /// directory) wins over Compose and the default. Never fails; problems become notes.
    pub fn read(&self, dockerfile: &Path, context_override: Option<&Path>) -> BuildContext {
        let mut compose_notes = Vec::new();
        let dockerfile_abs = absolute_lexical(dockerfile);
        // The Dockerfile's folder was listed whole and holds no `NAME.dockerignore`.
        let mut own_without_ignore_files = false;
        // The facts of the Dockerfile's folder, when read for the Compose search: the context's
        // own when it is that folder too.
        let mut own_facts: Option<Arc<DirFacts>> = None;
        let (dir, source) = match context_override {
            Some(dir) => (absolute_lexical(dir), ContextSource::Given),
            None => {
                // The folder of a path that ends in a name is the folder of that path made
                // absolute: no second pass over the bytes.
                let ends_in_name = matches!(
                    dockerfile.components().next_back(),
                    Some(std::path::Component::Normal(_))
                );
                let parent = normal_parent(&dockerfile_abs);
                let own = match parent {
                    Some(parent) if ends_in_name => parent.to_path_buf(),
                    _ => absolute_lexical(&parent_dir(dockerfile)),
                };
                // The Dockerfile's directory is usually its context: list it once, for the
                // Compose search and the context both.
                if parent == Some(own.as_path()) {
                    let facts = self.dirs.get(&own, &self.listings);
                    own_without_ignore_files = facts.no_ignore_files;
                    if let Some(listing) = &facts.ctx.listing {
                        self.compose.seed(&own, listing.keys().map(String::as_str));
                    }
                    own_facts = Some(facts);
                }
                match compose::find(&dockerfile_abs, &self.compose, &mut compose_notes) {
                    Some(choice) => (
                        choice.context,
                        ContextSource::Compose {
                            file: choice.file,
                            services: choice.services,
                        },
                    ),
                    None => (own, ContextSource::DockerfileDir),
                }
            }
        };
        let facts = match own_facts {
            Some(facts) if facts.ctx.dir == dir => facts,
            _ => self.dirs.get(&dir, &self.listings),
        };
        let mut ctx = facts.ctx.clone();
        ctx.dockerfile = dockerfile.to_path_buf();
        ctx.source = source;
        // Notes in reading order: Compose, the listing, the ignore file, the manifests.
        let manifest_notes = ctx.notes.split_off(facts.listing_notes);
        let listing_notes = std::mem::replace(&mut ctx.notes, compose_notes);
        ctx.notes.extend(listing_notes);
        // An ignore file is looked up only where a listing may hold it: `NAME.dockerignore` in
        // the Dockerfile's folder, `.dockerignore` at the context root.
        let own_clean = own_without_ignore_files
            || (facts.no_ignore_files && normal_parent(&dockerfile_abs) == Some(ctx.dir.as_path()));
        if !(own_clean && facts.no_ignore_files) {
            ctx.read_dockerignore(&dockerfile_abs, own_clean);
        }
        ctx.notes.extend(manifest_notes);
        ctx
    }
}

impl BuildContext {
    /// Reads the build context of one Dockerfile (see [`ContextReader::read`]; use a shared
    /// [`ContextReader`] when reading many).
    pub fn read(dockerfile: &Path, context_override: Option<&Path>) -> BuildContext {
        ContextReader::new().read(dockerfile, context_override)
    }

    /// Whether `rel_path` (relative to the context root; `./`, a leading `/` and a trailing `/`
    /// are accepted) exists. Names from the known list are answered from the root listing;
    /// other paths with one cached `lstat`. A path climbing out of the context is `false`.
    pub fn exists(&self, rel_path: &str) -> bool {
        self.kind(rel_path).is_some()
    }

    /// Whether `rel_path` exists and is a directory (symlinks followed).
    pub fn is_dir(&self, rel_path: &str) -> bool {
        self.kind(rel_path) == Some(EntryKind::Dir)
    }

    /// The text of the small file `rel_path` of the context (a start script, say), read once
    /// and remembered; why not when it is missing, left out by `.dockerignore`, too large, not
    /// UTF-8 or unreadable. An in-memory context answers only the texts it was given.
    pub fn read_text(&self, rel_path: &str) -> Result<Arc<str>, String> {
        let Some(rel) = normalize_rel(rel_path).filter(|r| !r.is_empty()) else {
            return Err(format!("`{rel_path}` is not a file of the build context"));
        };
        let mut memo = crate::sync::lock(&self.texts.0);
        if let Some(hit) = memo.get(&rel) {
            return hit.clone();
        }
        let answer = if !self.on_disk {
            Err(format!("the build context has no {rel}"))
        } else if self.is_ignored(&rel) {
            Err(format!(
                ".dockerignore leaves {rel} out of the build context"
            ))
        } else {
            match read_capped(&self.dir.join(&rel)) {
                Ok(text) => Ok(Arc::from(text)),
                Err(ReadError::Missing) => Err(format!("the build context has no {rel}")),
                Err(e) => Err(format!("{rel} is {}", e.describe())),
            }
        };
        memo.insert(rel, answer.clone());
        answer
    }

    /// What a requirements file that is not one of the root's `requirements*.txt` (read when the
    /// context is) installs: `requirements/prod.txt`, `requirement.txt`. Read on demand through
    /// [`read_text`](BuildContext::read_text), with its `-r`/`-c` includes; the normalised
    /// project names, or why not: unreadable, or it installs local sources (`-e .`, `./pkg`)
    /// whose dependencies restage does not read.
    pub fn requirements_names(
        &self,
        rel: &str,
    ) -> Result<std::collections::BTreeSet<String>, String> {
        let read = |f: &str| self.read_text(f).map(|t| t.to_string());
        let exists = |f: &str| self.exists(f);
        let refs = python::analyse_requirements(rel, &read, &exists)?;
        if !refs.local.is_empty() {
            return Err(format!(
                "{rel} installs local sources ({}) whose dependencies restage does not read",
                refs.local.join(", ")
            ));
        }
        dependencies::requirements_names(rel, &read)
    }

    /// Whether `.dockerignore` leaves `rel_path` out of the context (Docker's semantics; see
    /// [`DockerIgnore`]). When the ignore file could not be read, everything counts as ignored.
    pub fn is_ignored(&self, rel_path: &str) -> bool {
        let Some(rel) = normalize_rel(rel_path) else {
            return true;
        };
        match &self.dockerignore {
            DockerIgnoreState::Absent => false,
            DockerIgnoreState::Rules { rules, .. } => rules.is_ignored(&rel),
            DockerIgnoreState::Unknown { .. } => true,
        }
    }

    /// Why a `COPY <rel_path>` would not find it, or `None` when it would.
    pub fn unsent(&self, rel_path: &str) -> Option<Unsent> {
        if !self.exists(rel_path) {
            Some(Unsent::Missing)
        } else if let DockerIgnoreState::Unknown { .. } = self.dockerignore {
            Some(Unsent::IgnoreUnreadable)
        } else if self.is_ignored(rel_path) {
            Some(Unsent::Excluded)
        } else {
            None
        }
    }

    /// Whether a `COPY <rel_path>` would find it: it exists and is not ignored.
    pub fn is_copyable(&self, rel_path: &str) -> bool {
        self.exists(rel_path) && !self.is_ignored(rel_path)
    }

    /// The [`root_names`](BuildContext::root_names) for which `matches` holds, in order. `key`
    /// names the predicate (e.g. the globs it matches): the answer is remembered under it and
    /// shared by every Dockerfile whose context is the same directory, so a folder of many
    /// Dockerfiles filters its listing once per key.
    pub fn root_names_matching(
        &self,
        key: &str,
        matches: impl Fn(&str) -> bool,
    ) -> Shared<Vec<String>> {
        let mut memo = self
            .root_matches
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(hit) = memo.get(key) {
            return hit.clone();
        }
        let found: Shared<Vec<String>> = self
            .root_names
            .iter()
            .filter(|n| matches(n))
            .cloned()
            .collect();
        memo.insert(key.to_owned(), found.clone());
        found
    }

    /// The names of the context root's listing that the `.dockerignore` in force keeps and for
    /// which `matches` holds, in order, or `None` when the root could not be listed. Like
    /// [`root_names_matching`](BuildContext::root_names_matching), the answer is remembered
    /// under `key` (with the ignore file in force) for every Dockerfile whose context is the
    /// same directory: a folder of many Dockerfiles filters its listing once.
    pub fn listed_names_matching(
        &self,
        key: &str,
        matches: impl Fn(&str) -> bool,
    ) -> Option<Shared<Vec<String>>> {
        let listing = self.listing.as_ref()?;
        let ignore = match &self.dockerignore {
            DockerIgnoreState::Absent => String::new(),
            DockerIgnoreState::Rules { file, .. } | DockerIgnoreState::Unknown { file } => {
                file.display().to_string()
            }
        };
        let key = format!("listed\n{key}\n{ignore}");
        let mut memo = self
            .root_matches
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(hit) = memo.get(&key) {
            return Some(hit.clone());
        }
        let found: Shared<Vec<String>> = listing
            .keys()
            .filter(|n| !self.is_ignored(n) && matches(n))
            .cloned()
            .collect();
        memo.insert(key, found.clone());
        Some(found)
    }

    /// The known root entries, directories with a trailing `/` (e.g. `vendor/`).
    pub fn manifests(&self) -> Vec<String> {
        self.files
            .iter()
            .map(|(name, kind)| match kind {
                EntryKind::Dir => format!("{name}/"),
                _ => name.clone(),
            })
            .collect()
    }

    /// What root manifest `name` (package.json, pyproject.toml, Pipfile, composer.json,
    /// Gemfile, settings.gradle[.kts]) pulls in from the context besides itself: path
    /// dependencies, workspace members, included builds (`Ok(empty)`: none). `None` when the
    /// file is absent or restage does not read it; `Err` when it could not be read.
    pub fn local_sources(&self, name: &str) -> Option<Result<&[String], &str>> {
        self.local_sources
            .get(name)
            .map(|r| r.as_ref().map(Vec::as_slice).map_err(String::as_str))
    }

    /// The requirements file named `name`, if present.
    pub fn requirements_file(&self, name: &str) -> Option<&RequirementsFile> {
        self.requirements.iter().find(|r| r.name == name)
    }

    /// The ecosystems whose manifests are at the root, in [`Ecosystem::ALL`] order.
    pub fn ecosystems(&self) -> Vec<Ecosystem> {
        Ecosystem::ALL
            .into_iter()
            .filter(|eco| self.files.keys().any(|name| eco.detected_by(name)))
            .collect()
    }

    /// One line for `restage files`: each ecosystem with its root files, e.g.
    /// `node (package.json, package-lock.json); go (go.mod, go.sum, vendor/)`, or `none`.
    pub fn summary(&self) -> String {
        let manifests = self.manifests();
        let parts: Vec<String> = self
            .ecosystems()
            .into_iter()
            .map(|eco| {
                let owned: Vec<&str> = manifests
                    .iter()
                    .filter(|m| eco.owns(m.trim_end_matches('/')))
                    .map(String::as_str)
                    .collect();
                format!("{} ({})", eco.name(), owned.join(", "))
            })
            .collect();
        if parts.is_empty() {
            "none".to_owned()
        } else {
            parts.join("; ")
        }
    }

    fn kind(&self, rel_path: &str) -> Option<EntryKind> {
        let rel = normalize_rel(rel_path)?;
        if rel.is_empty() {
            // A root that was listed is a directory (as every other answer, a fact of the time
            // the context was read).
            return (!self.on_disk || self.listing.is_some() || self.dir.is_dir())
                .then_some(EntryKind::Dir);
        }
        if let Some(kind) = self.files.get(&rel) {
            return Some(*kind);
        }
        if !self.on_disk || (!rel.contains('/') && is_known_name(&rel)) {
            return None;
        }
        if self.listing_is_whole
            && !rel.contains('/')
            && let Some(listing) = &self.listing
            && !listing.keys().any(|name| name.eq_ignore_ascii_case(&rel))
        {
            return None;
        }
        let mut memo = crate::sync::lock(&self.lookups.0);
        *memo
            .entry(rel)
            .or_insert_with_key(|rel| entry_kind(&self.dir.join(rel)))
    }

    /// Lists the root. True when the listing was read whole and holds no name that could be
    /// an ignore file: none ending in `.dockerignore` in any letter case (case-insensitive file
    /// systems), and none that is not UTF-8.
    fn list_root(&mut self, listing: Option<Listing>) -> bool {
        let listing = listing.unwrap_or_else(|| Listing::read(&self.dir));
        let entries = match listing.entries {
            Ok(entries) => entries,
            Err(e) => {
                self.notes.push(format!(
                    "context directory {} cannot be listed: {e}",
                    self.dir.display()
                ));
                return false;
            }
        };
        let mut listing = BTreeMap::new();
        let mut root_names = std::collections::BTreeSet::new();
        let mut no_ignore_files = true;
        let mut whole = entries.len() <= WHOLE_LISTING_NAMES;
        for entry in entries {
            let Listed::Entry {
                name, file_type, ..
            } = entry
            else {
                no_ignore_files = false;
                whole = false;
                continue;
            };
            let Ok(name) = name.into_string() else {
                no_ignore_files = false;
                whole = false;
                continue;
            };
            whole &= name.is_ascii();
            if name.len() >= DOCKERIGNORE.len()
                && name.as_bytes()[name.len() - DOCKERIGNORE.len()..]
                    .eq_ignore_ascii_case(DOCKERIGNORE.as_bytes())
            {
                no_ignore_files = false;
            }
            if root_names.len() < MAX_ROOT_NAMES {
                root_names.insert(name.clone());
            }
            let kind = match file_type {
                Some(ListedType::File) => EntryKind::File,
                Some(ListedType::Dir) => EntryKind::Dir,
                _ => entry_kind(&self.dir.join(&name)).unwrap_or(EntryKind::Other),
            };
            if is_known_name(&name) {
                self.files.insert(name.clone(), kind);
            }
            listing.insert(name, kind);
        }
        self.listing = Some(listing.into());
        self.listing_is_whole = whole;
        self.root_names = root_names.into();
        no_ignore_files
    }

    /// Reads the ignore file that applies: `NAME.dockerignore` next to the Dockerfile (not
    /// looked up when `own_clean`: its folder's listing holds none), else `.dockerignore` at
    /// the root.
    fn read_dockerignore(&mut self, dockerfile_abs: &Path, own_clean: bool) {
        let mut candidates = Vec::new();
        if !own_clean
            && let (Some(parent), Some(name)) =
                (dockerfile_abs.parent(), dockerfile_abs.file_name())
        {
            let mut special = name.to_os_string();
            special.push(".dockerignore");
            candidates.push(parent.join(special));
        }
        candidates.push(self.dir.join(".dockerignore"));
        for file in candidates {
            let shown = file
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            match read_capped(&file) {
                Err(ReadError::Missing) => continue,
                Err(e) => {
                    self.notes.push(format!(
                        "{shown}: {}; every path is treated as ignored",
                        e.describe()
                    ));
                    self.dockerignore = DockerIgnoreState::Unknown { file };
                }
                Ok(text) => match DockerIgnore::parse_shared(&text) {
                    Ok(rules) => self.dockerignore = DockerIgnoreState::Rules { file, rules },
                    Err(e) => {
                        self.notes
                            .push(format!("{shown}: {e}; every path is treated as ignored"));
                        self.dockerignore = DockerIgnoreState::Unknown { file };
                    }
                },
            }
            return;
        }
    }

    /// The text of root file `rel` if it is listed; a note when it is present but unreadable.
    fn read_root_file(&mut self, rel: &str) -> Option<String> {
        if !self.files.contains_key(rel) {
            return None;
        }
        match read_capped(&self.dir.join(rel)) {
            Ok(text) => Some(text),
            Err(e) => {
                self.notes.push(format!("{rel}: {}", e.describe()));
                None
            }
        }
    }

    /// Reads and parses root file `rel`; a parse error becomes a note.
    fn parse_root_file<T>(
        &mut self,
        rel: &str,
        parse: impl FnOnce(&str) -> Result<T, ManifestError>,
    ) -> Option<T> {
        let text = self.read_root_file(rel)?;
        match parse(&text) {
            Ok(value) => Some(value),
            Err(e) => {
                self.notes.push(format!("{rel}: {e}"));
                None
            }
        }
    }

    fn read_manifests(&mut self) {
        self.package_json = self.parse_root_file("package.json", PackageJson::parse);
        if let Some(listing) = self
            .listing
            .as_ref()
            .filter(|_| self.files.contains_key("package.json"))
        {
            self.node_build = Some(NodeBuild::read(&self.dir, listing));
        }

        if self.files.contains_key("Cargo.toml") {
            let layout = cargo_toml::SourceLayout::scan(&self.dir);
            self.cargo = self.parse_root_file("Cargo.toml", |t| CargoManifest::parse(t, &layout));
            if self.cargo.as_ref().is_some_and(|c| c.bins.is_none()) {
                self.notes.push(
                    "Cargo.toml: the binaries depend on an inherited edition; unknown".to_owned(),
                );
            }
            if self.files.contains_key("Cargo.lock") {
                self.cargo_lock_packages = self.parse_root_file("Cargo.lock", |t| {
                    Ok(t.lines()
                        .filter_map(|l| l.trim().strip_prefix("name = \""))
                        .filter_map(|r| r.strip_suffix('"'))
                        .map(str::to_owned)
                        .collect())
                });
            }
        }

        self.gemfile_lock = self.parse_root_file("Gemfile.lock", GemfileLock::parse);

        let vendor = self.is_dir("vendor");
        self.go_mod = self
            .parse_root_file("go.mod", GoMod::parse)
            .map(|m| GoMod { vendor, ..m });

        self.pom = self.parse_root_file("pom.xml", Pom::parse);

        self.read_gradle();
        self.read_csproj();

        self.pyproject = self.parse_root_file("pyproject.toml", PyProject::parse);
        self.read_requirements();

        for name in local_sources::MANIFESTS {
            if !self.files.contains_key(name) {
                continue;
            }
            let found = read_capped(&self.dir.join(name))
                .map_err(|e| e.describe())
                .and_then(|text| local_sources::read(name, &text));
            self.local_sources.insert(name.to_owned(), found);
        }

        let dir = self.dir.clone();
        let read = |rel: &str| read_capped(&dir.join(rel)).map_err(|e| e.describe());
        self.dependencies = dependencies::read(&self.files, self.package_json.as_ref(), &read);
    }

    fn read_gradle(&mut self) {
        let present = |names: [&str; 2]| -> Vec<String> {
            names
                .into_iter()
                .filter(|n| self.files.contains_key(*n))
                .map(str::to_owned)
                .collect()
        };
        let build_files = present(["build.gradle", "build.gradle.kts"]);
        let settings_files = present(["settings.gradle", "settings.gradle.kts"]);
        let wrapper = self.files.contains_key("gradlew");
        if build_files.is_empty() && settings_files.is_empty() && !wrapper {
            return;
        }
        let root_project_name = match settings_files.as_slice() {
            [one] => {
                let one = one.clone();
                self.read_root_file(&one)
                    .and_then(|text| gradle::root_project_name(&text))
            }
            [] => None,
            _ => {
                self.notes.push(
                    "settings.gradle and settings.gradle.kts both exist; rootProject.name unknown"
                        .to_owned(),
                );
                None
            }
        };
        self.gradle = Some(Gradle {
            build_files,
            settings_files,
            wrapper,
            root_project_name,
        });
    }

    fn read_csproj(&mut self) {
        let projects: Vec<String> = self
            .files
            .keys()
            .filter(|n| n.ends_with(".csproj"))
            .cloned()
            .collect();
        match projects.as_slice() {
            [] => {}
            [one] => {
                let before = self.msbuild_layer("Directory.Build.props");
                let after = self.msbuild_layer("Directory.Build.targets");
                let one = one.clone();
                self.csproj = self.parse_root_file(&one, |t| CsProj::parse(&one, t, before, after));
            }
            many => self.notes.push(format!(
                "{} project files at the root ({}); none read",
                many.len(),
                many.join(", ")
            )),
        }
    }

    /// The properties a `Directory.Build.*` file sets; unknown (not absent) if unreadable.
    fn msbuild_layer(&mut self, rel: &str) -> Option<dotnet::Props> {
        if !self.files.contains_key(rel) {
            return None;
        }
        Some(
            self.parse_root_file(rel, dotnet::parse_props)
                .unwrap_or(dotnet::Props::UNKNOWN),
        )
    }

    fn read_requirements(&mut self) {
        let names: Vec<String> = self
            .files
            .iter()
            .filter(|(n, k)| is_requirements_name(n) && **k != EntryKind::Dir)
            .map(|(n, _)| n.clone())
            .collect();
        let mut results = Vec::new();
        for name in names {
            let read = |rel: &str| read_capped(&self.dir.join(rel)).map_err(|e| e.describe());
            let exists = |rel: &str| self.exists(rel);
            let refs = python::analyse_requirements(&name, &read, &exists);
            results.push((name, refs));
        }
        for (name, refs) in results {
            let refs = match refs {
                Ok(refs) => Some(refs),
                Err(e) => {
                    let e = e
                        .strip_prefix(&format!("{name}: "))
                        .unwrap_or(&e)
                        .to_owned();
                    self.notes.push(format!("{name}: {e}"));
                    None
                }
            };
            self.requirements.push(RequirementsFile { name, refs });
        }
    }
}

/// The kind of `path` without following a final symlink for existence, but following it to
/// tell a directory from a file. `None` if nothing is there.
fn entry_kind(path: &Path) -> Option<EntryKind> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    let meta = if meta.file_type().is_symlink() {
        match std::fs::metadata(path) {
            Ok(target) => target,
            Err(_) => return Some(EntryKind::Other),
        }
    } else {
        meta
    };
    Some(if meta.is_dir() {
        EntryKind::Dir
    } else if meta.is_file() {
        EntryKind::File
    } else {
        EntryKind::Other
    })
}

#[cfg(test)]
mod tests;
