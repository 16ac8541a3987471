//! `restage.toml`: where it is found, what it may say, and how it combines with the command
//! line into the [`Settings`] for one Dockerfile.
//!
//! **Discovery.** With [`ConfigChoice::Search`] (the default) the nearest `restage.toml` wins:
//! the Dockerfile's directory, then each parent up to the repository's root (the first directory
//! holding `.git`, whose own `restage.toml` still counts) or the file-system root. With
//! [`ConfigChoice::Path`] that file applies to every Dockerfile and nothing is searched; with
//! [`ConfigChoice::None`] no file is read. Lookups are cached per directory, so a tree of
//! thousands of Dockerfiles reads each config file once; [`ConfigResolver`] is `Sync` and is
//! meant to be shared by rayon workers.
//!
//! **Keys** (unknown keys are errors, reported as `path:line:column: message`):
//! ```toml
//! select = ["multi-stage", "copy-order"]   # which transforms run (default: all)
//! ignore = ["non-root-user"]               # transforms that never run
//! unsafe-fixes = false                     # also apply fixes that rely on a guess
//! context = "."                            # build context dir, relative to this file
//! exclude = ["node_modules"]              # walk exclusions (gitignore-style, relative to this
//! extend-exclude = ["legacy/"]             # file); `exclude` replaces the default, `extend-` adds
//! output-format = "github"                # the fix command's --output-format when none is given
//!                                          # (top level only; from the file of the current directory)
//! [non-root-user]
//! user-style = "numeric"                   # or "named": how the final USER is written
//! [[overrides]]
//! paths = ["services/legacy/**"]           # globs relative to this file's directory
//! ignore = ["multi-stage"]                 # + select, unsafe-fixes, context, [overrides.non-root-user]
//! [knowledge]                              # opaque here: merged by the knowledge module
//! [verify]                                 # opaque here: read by `restage verify`
//! ```
//! Override globs: `*` and `?` stay within one path element, `**` crosses any number; a glob
//! with no `/` matches at any depth (gitignore-like: `legacy` = `**/legacy`); a glob matches a
//! Dockerfile when it matches its path or one of its parent directories (relative to the config
//! file's directory). A Dockerfile outside that directory matches no override.
//!
//! **Precedence** (command line, then file, then defaults; among the file's layers, later and
//! more specific wins):
//! - `select`: the last layer that sets it wins, in the order defaults (all transforms) <-
//!   top-level `select` <- each matching override, in file order <- `--select`. It *replaces*
//!   what came before (as ruff's `select`).
//! - `ignore`: every layer's list adds up: top-level, every matching override, `--ignore`.
//!   A transform runs iff it is selected and not ignored, so an ignore in the file holds even
//!   against `--select` (to run it anyway, pass `--no-config`).
//! - `unsafe-fixes`: `--unsafe-fixes` forces it on; otherwise the last matching override that
//!   sets it, else the top level, else off.
//! - `context`: `--context`, else the last matching override's, else the top level's, else
//!   none (the build context module then decides).
//! - `user-style`: the last matching override's, else the top level's, else `numeric`.
//! - `[knowledge]`: top level only, carried with the file's path as its origin.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use ignore::gitignore::{Gitignore, GitignoreBuilder};
use serde::Deserialize;
use toml::Spanned;

use crate::context::{Listings, absolute_lexical, is_lexically_normal, normal_parent};
use crate::fsio::{ReadFailure, read_bounded};
use crate::syntax::line_char_col;

/// The config file's name.
pub const CONFIG_FILE_NAME: &str = "restage.toml";

/// Which config file applies (`--config PATH`, `--no-config`, or the search).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ConfigChoice {
    /// Nearest `restage.toml` upward from each Dockerfile.
    #[default]
    Search,
    /// This file, for every Dockerfile.
    Path(PathBuf),
    /// No config file.
    None,
}

/// What the command line said about settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CliOptions {
    /// `--select`: `Some` only if passed (replaces the file's `select`).
    pub select: Option<Vec<String>>,
    /// `--ignore` (added to the file's `ignore`).
    pub ignore: Vec<String>,
    /// `--unsafe-fixes` (true only if passed).
    pub unsafe_fixes: bool,
    /// `--context DIR`, if passed.
    pub context: Option<PathBuf>,
    pub config: ConfigChoice,
    /// `--exclude GLOB`s: gitignore-style, relative to the current directory.
    pub exclude: Vec<String>,
}

/// What a walk leaves out when no config file says otherwise (`exclude` replaces it,
/// `extend-exclude` adds to it).
pub const DEFAULT_EXCLUDE: &[&str] = &["node_modules"];

/// How the non-root transform writes the final `USER`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UserStyle {
    /// `USER 10001:10001` (works with `runAsNonRoot` checks).
    #[default]
    Numeric,
    /// `USER app`.
    Named,
}

/// Which transforms are selected (before `ignore` is taken away).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Selection {
    /// Every registered transform (the default).
    #[default]
    All,
    /// Only these ids.
    Only(BTreeSet<String>),
}

/// The `[knowledge]` table of a config file, kept as written for the knowledge module.
#[derive(Debug, Clone, PartialEq)]
pub struct KnowledgeOverrides {
    /// The config file it came from (for error messages).
    pub origin: PathBuf,
    pub table: toml::Table,
}

/// A transform id named somewhere, with where: `--select`, `--ignore`, or `path:line:col`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdMention {
    pub id: String,
    pub origin: String,
}

/// The settings in force for one Dockerfile.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub select: Selection,
    pub ignore: BTreeSet<String>,
    /// Apply changes that rely on a guess (`Applicability::Unsafe`).
    pub unsafe_fixes: bool,
    pub user_style: UserStyle,
    /// The build context directory to use instead of the build context module's own choice.
    pub context: Option<PathBuf>,
    pub knowledge: Option<Arc<KnowledgeOverrides>>,
    /// The config file these settings came from, if any.
    pub config_file: Option<PathBuf>,
    /// Every transform id the command line and the config file name (all overrides, matching
    /// or not), for the caller to check against the registry.
    pub mentions: Arc<Vec<IdMention>>,
}

impl Settings {
    /// Whether transform `id` runs for this file: selected and not ignored.
    pub fn is_enabled(&self, id: &str) -> bool {
        let selected = match &self.select {
            Selection::All => true,
            Selection::Only(ids) => ids.contains(id),
        };
        selected && !self.ignore.contains(id)
    }

    /// Every transform id named by the command line or the config file.
    pub fn ids_mentioned(&self) -> &[IdMention] {
        &self.mentions
    }

    /// One message per id not in `known`, e.g.
    /// `restage.toml:2:11: unknown transform id `mutli-stage``.
    pub fn unknown_ids(&self, known: &[&str]) -> Vec<UnknownId> {
        self.mentions
            .iter()
            .filter(|m| !known.contains(&m.id.as_str()))
            .map(|m| UnknownId {
                id: m.id.clone(),
                origin: m.origin.clone(),
            })
            .collect()
    }
}

/// A transform id that names no transform, and where it was written (`--select`,
/// `restage.toml:2:11`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownId {
    pub id: String,
    pub origin: String,
}

impl fmt::Display for UnknownId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: unknown transform id `{}`", self.origin, self.id)
    }
}

impl std::error::Error for UnknownId {}

/// The messages of `unknown`, joined by `; `.
pub fn join_unknown_ids(unknown: &[UnknownId]) -> String {
    let messages: Vec<String> = unknown.iter().map(ToString::to_string).collect();
    messages.join("; ")
}

/// A config file that cannot be used. Every Dockerfile under it gets this same error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub path: PathBuf,
    /// 1-based line and column, when the problem has a place in the file.
    pub position: Option<(usize, usize)>,
    pub kind: ConfigErrorKind,
}

/// What is wrong with a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigErrorKind {
    /// The file cannot be read: missing, not a regular file, over [`MAX_CONFIG_BYTES`], ...
    Read(ReadFailure),
    /// Not valid TOML, or not the keys and types restage knows (the parser's message).
    Invalid(String),
    /// An override's `paths = []`.
    EmptyPaths,
    /// A glob that is empty once `./` and `/` are trimmed.
    EmptyGlob,
    /// A glob (override `paths`, `exclude`, `extend-exclude`) that does not compile.
    InvalidGlob { glob: String, reason: String },
}

impl ConfigError {
    /// One line for stderr with the file shown as `display`:
    /// `restage.toml:3:5: error: invalid glob ...`.
    pub fn located(&self, display: &str) -> String {
        match self.position {
            Some((line, col)) => format!("{display}:{line}:{col}: error: {}", self.message()),
            None => format!("{display}: error: {}", self.message()),
        }
    }

    /// The message without the file and position, e.g. "`paths` is empty".
    pub fn message(&self) -> String {
        match &self.kind {
            ConfigErrorKind::Read(e) => format!("cannot read: {e}"),
            ConfigErrorKind::Invalid(m) => m.clone(),
            ConfigErrorKind::EmptyPaths => "`paths` is empty".to_owned(),
            ConfigErrorKind::EmptyGlob => "empty glob".to_owned(),
            ConfigErrorKind::InvalidGlob { glob, reason } => {
                format!("invalid glob `{glob}`: {reason}")
            }
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some((line, col)) => {
                write!(
                    f,
                    "{}:{line}:{col}: {}",
                    self.path.display(),
                    self.message()
                )
            }
            None => write!(f, "{}: {}", self.path.display(), self.message()),
        }
    }
}

/// The largest `restage.toml` read; a bigger one is an error (real ones are a few hundred
/// bytes, and `--config /dev/zero` must not fill the memory).
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// Reads a config file's text: a regular file of at most [`MAX_CONFIG_BYTES`] of UTF-8 on an
/// ordinary file system (never a FIFO, a device or a procfs file).
pub fn read_config_text(path: &Path) -> Result<String, ConfigError> {
    let error = |kind| ConfigError {
        path: path.to_path_buf(),
        position: None,
        kind,
    };
    let bytes =
        read_bounded(path, MAX_CONFIG_BYTES).map_err(|e| error(ConfigErrorKind::Read(e)))?;
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let text = String::from_utf8_lossy(&e.as_bytes()[..at]);
        ConfigError {
            path: path.to_path_buf(),
            position: Some(line_char_col(&text, at)),
            kind: ConfigErrorKind::Invalid("invalid UTF-8".to_owned()),
        }
    })
}

impl std::error::Error for ConfigError {}

/// Settings per Dockerfile, from the command line and the applicable config file; cached.
#[derive(Debug)]
pub struct ConfigResolver {
    cli: CliOptions,
    cli_mentions: Vec<IdMention>,
    /// The `--config PATH` file.
    fixed: Option<Arc<LoadedConfig>>,
    /// Settings for Dockerfiles with no config file.
    bare: Arc<Settings>,
    /// By the directory's bytes (its path is lexically normal): cheaper to hash than a path,
    /// and asked for every entry of the walk and every Dockerfile.
    by_dir: RwLock<rustc_hash::FxHashMap<std::ffi::OsString, DirLookup>>,
    by_file: RwLock<HashMap<PathBuf, Result<Arc<LoadedConfig>, ConfigError>>>,
    /// `--exclude`, rooted at the current directory.
    cli_exclude: Gitignore,
    /// [`DEFAULT_EXCLUDE`], for walks with no config file.
    default_exclude: Gitignore,
}

type DirLookup = Result<Option<Arc<LoadedConfig>>, ConfigError>;

impl ConfigResolver {
    /// Prepares resolution. With `--config PATH` the file is loaded now, so a bad one is
    /// reported once, before any Dockerfile.
    pub fn new(cli: CliOptions) -> Result<ConfigResolver, ConfigError> {
        let mut cli_mentions = Vec::new();
        for id in cli.select.iter().flatten() {
            cli_mentions.push(IdMention {
                id: id.clone(),
                origin: "--select".to_owned(),
            });
        }
        for id in &cli.ignore {
            cli_mentions.push(IdMention {
                id: id.clone(),
                origin: "--ignore".to_owned(),
            });
        }
        let bare = Arc::new(resolve(&cli, &cli_mentions, None, &[]));
        let cwd = absolute_lexical(Path::new("."));
        let cli_error = |glob: &str, reason: String| ConfigError {
            path: PathBuf::from("--exclude"),
            position: None,
            kind: ConfigErrorKind::InvalidGlob {
                glob: glob.to_owned(),
                reason,
            },
        };
        let cli_exclude = exclude_matcher(&cwd, cli.exclude.iter().map(String::as_str))
            .map_err(|(glob, reason)| cli_error(glob, reason))?;
        let default_exclude = exclude_matcher(&cwd, DEFAULT_EXCLUDE.iter().copied())
            .map_err(|(glob, reason)| cli_error(glob, reason))?;
        let mut resolver = ConfigResolver {
            cli,
            cli_mentions,
            fixed: None,
            bare,
            by_dir: RwLock::default(),
            by_file: RwLock::default(),
            cli_exclude,
            default_exclude,
        };
        if let ConfigChoice::Path(path) = &resolver.cli.config {
            let path = path.clone();
            resolver.fixed = Some(resolver.load(&path)?);
        }
        Ok(resolver)
    }

    /// The settings for `dockerfile`, or the error of the config file that applies to it.
    pub fn settings_for(&self, dockerfile: &Path) -> Result<Arc<Settings>, ConfigError> {
        let dockerfile = absolute_lexical(dockerfile);
        let config = match &self.cli.config {
            ConfigChoice::None => None,
            ConfigChoice::Path(_) => self.fixed.clone(),
            ConfigChoice::Search => {
                let dir = normal_parent(&dockerfile).unwrap_or(Path::new("/"));
                self.lookup_dir(dir)?
            }
        };
        let Some(config) = config else {
            return Ok(Arc::clone(&self.bare));
        };
        let matched: Vec<usize> = config.matching_overrides(&dockerfile);
        if let Some(hit) = read_lock(&config.resolved).get(&matched) {
            return Ok(Arc::clone(hit));
        }
        let layers: Vec<&Layer> = matched
            .iter()
            .map(|&i| &config.overrides[i].layer)
            .collect();
        let settings = Arc::new(resolve(
            &self.cli,
            &self.cli_mentions,
            Some(&config),
            &layers,
        ));
        write_lock(&config.resolved)
            .entry(matched)
            .or_insert_with(|| Arc::clone(&settings));
        Ok(settings)
    }

    /// Whether a walk leaves out `path` (a directory when `is_dir`): it matches `--exclude`
    /// (relative to the current directory), or the `exclude` + `extend-exclude` of the config
    /// file that applies to its directory (relative to that file), or [`DEFAULT_EXCLUDE`] when
    /// no file applies. A config file that cannot be loaded excludes by the default; its error
    /// is reported for the Dockerfiles under it.
    pub fn is_excluded(&self, path: &Path, is_dir: bool) -> bool {
        self.is_excluded_in(path, is_dir, None)
    }

    /// [`ConfigResolver::is_excluded`]; with `listings`, the configuration of the folder of
    /// `path` is looked up in a listing of that folder, kept in `listings` for its build
    /// context.
    fn is_excluded_in(&self, path: &Path, is_dir: bool, listings: Option<&Listings>) -> bool {
        // The walk asks with absolute, lexically normal paths: used as they are.
        let path = if is_lexically_normal(path.as_os_str().as_encoded_bytes()) {
            std::borrow::Cow::Borrowed(path)
        } else {
            std::borrow::Cow::Owned(absolute_lexical(path))
        };
        let path = &*path;
        if self.cli_exclude.matched(path, is_dir).is_ignore() {
            return true;
        }
        let config = match &self.cli.config {
            ConfigChoice::None => None,
            ConfigChoice::Path(_) => self.fixed.clone(),
            ConfigChoice::Search => {
                let dir = normal_parent(path).unwrap_or(Path::new("/"));
                self.lookup_dir_in(dir, listings).ok().flatten()
            }
        };
        match config {
            Some(config) => match path.strip_prefix(&config.dir) {
                Ok(rel) => config.exclude.matched(rel, is_dir).is_ignore(),
                Err(_) => false,
            },
            // Each default glob is a plain name, which gitignore matches as a whole component
            // at any depth (and what is below it): a path with no such component cannot match.
            None => {
                has_default_exclude_component(path)
                    && self.default_exclude.matched(path, is_dir).is_ignore()
            }
        }
    }

    /// [`ConfigResolver::is_excluded`] as a walk's exclusion predicate.
    pub fn excluder(self: &Arc<Self>) -> crate::discover::Exclude {
        let resolver = Arc::clone(self);
        Arc::new(move |path: &Path, is_dir: bool| resolver.is_excluded(path, is_dir))
    }

    /// [`ConfigResolver::excluder`] for a walk whose files are Dockerfiles about to be read with
    /// `contexts`: a file's folder is listed once, which answers whether it holds `restage.toml`
    /// or `.git` and is kept as the first listing of its build context.
    pub(crate) fn excluder_listing(
        self: &Arc<Self>,
        contexts: &crate::context::ContextReader,
    ) -> crate::discover::Exclude {
        let resolver = Arc::clone(self);
        let listings = contexts.listings();
        Arc::new(move |path: &Path, is_dir: bool| {
            resolver.is_excluded_in(path, is_dir, (!is_dir).then_some(&*listings))
        })
    }

    /// `output-format` of the config file that applies to the directory `dir` (the current
    /// directory: the setting is for the whole run), or `None` (no file, the file does not set
    /// it, or it cannot be loaded: its error is reported with the Dockerfiles under it).
    pub(crate) fn output_format_for(&self, dir: &Path) -> Option<crate::cli::OutputFormat> {
        let config = match &self.cli.config {
            ConfigChoice::None => None,
            ConfigChoice::Path(_) => self.fixed.clone(),
            ConfigChoice::Search => self.lookup_dir(&absolute_lexical(dir)).ok().flatten(),
        };
        config.and_then(|c| c.output_format)
    }

    /// The config file that applies to `dockerfile` (without resolving settings).
    pub fn config_file_for(&self, dockerfile: &Path) -> Result<Option<PathBuf>, ConfigError> {
        Ok(self.settings_for(dockerfile)?.config_file.clone())
    }

    fn lookup_dir(&self, start: &Path) -> DirLookup {
        self.lookup_dir_in(start, None)
    }

    /// [`ConfigResolver::lookup_dir`]; with `listings`, `start` is listed (and the listing kept
    /// there) and looked up only for the names the listing may hold.
    fn lookup_dir_in(&self, start: &Path, listings: Option<&Listings>) -> DirLookup {
        let mut visited: Vec<PathBuf> = Vec::new();
        let mut dir = Some(start);
        let result = loop {
            let Some(current) = dir else {
                break Ok(None);
            };
            if let Some(hit) = read_lock(&self.by_dir).get(current.as_os_str()) {
                break hit.clone();
            }
            let (may_config, may_git) = match listings {
                Some(listings) if visited.is_empty() => listings.list_with(current, |l| {
                    (l.may_hold(CONFIG_FILE_NAME), l.may_hold(".git"))
                }),
                _ => (true, true),
            };
            visited.push(current.to_path_buf());
            if may_config {
                let candidate = current.join(CONFIG_FILE_NAME);
                if candidate.is_file() {
                    break self.load(&candidate).map(Some);
                }
            }
            // The repository's root (a directory holding `.git`) is as far as the search goes:
            // a config above it belongs to something else.
            if may_git && std::fs::symlink_metadata(current.join(".git")).is_ok() {
                break Ok(None);
            }
            dir = normal_parent(current);
        };
        let mut cache = write_lock(&self.by_dir);
        for dir in visited {
            cache.insert(dir.into_os_string(), result.clone());
        }
        result
    }

    fn load(&self, path: &Path) -> Result<Arc<LoadedConfig>, ConfigError> {
        if let Some(hit) = read_lock(&self.by_file).get(path) {
            return hit.clone();
        }
        let loaded = LoadedConfig::load(path, &self.cli_mentions).map(Arc::new);
        write_lock(&self.by_file)
            .entry(path.to_path_buf())
            .or_insert(loaded)
            .clone()
    }
}

fn read_lock<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}

fn write_lock<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|e| e.into_inner())
}

/// One layer of settings: the file's top level or one override.
#[derive(Debug, Default)]
struct Layer {
    select: Option<BTreeSet<String>>,
    ignore: BTreeSet<String>,
    unsafe_fixes: Option<bool>,
    context: Option<PathBuf>,
    user_style: Option<UserStyle>,
}

#[derive(Debug)]
struct Override {
    globs: GlobSet,
    layer: Layer,
}

#[derive(Debug)]
struct LoadedConfig {
    /// As found (search) or as given (`--config`).
    path: PathBuf,
    /// Absolute directory of the file: globs and `context` are relative to it.
    dir: PathBuf,
    top: Layer,
    overrides: Vec<Override>,
    knowledge: Option<Arc<KnowledgeOverrides>>,
    /// Top-level `output-format`.
    output_format: Option<crate::cli::OutputFormat>,
    mentions: Arc<Vec<IdMention>>,
    /// `exclude` (or [`DEFAULT_EXCLUDE`]) and `extend-exclude`, rooted at `dir`.
    exclude: Gitignore,
    /// Settings per set of matching overrides.
    resolved: RwLock<HashMap<Vec<usize>, Arc<Settings>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawConfig {
    select: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    ignore: Vec<Spanned<String>>,
    unsafe_fixes: Option<bool>,
    context: Option<String>,
    non_root_user: Option<RawNonRootUser>,
    #[serde(default)]
    overrides: Vec<RawOverride>,
    knowledge: Option<toml::Table>,
    exclude: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    extend_exclude: Vec<Spanned<String>>,
    /// Opaque here: read by `restage verify`.
    #[allow(dead_code)]
    verify: Option<toml::Table>,
    /// The fix command's `--output-format` when the command line names none.
    output_format: Option<crate::cli::OutputFormat>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawNonRootUser {
    user_style: Option<UserStyle>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawOverride {
    paths: Spanned<Vec<Spanned<String>>>,
    select: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    ignore: Vec<Spanned<String>>,
    unsafe_fixes: Option<bool>,
    context: Option<String>,
    non_root_user: Option<RawNonRootUser>,
}

impl LoadedConfig {
    fn load(path: &Path, cli_mentions: &[IdMention]) -> Result<LoadedConfig, ConfigError> {
        let error = |position: Option<(usize, usize)>, kind: ConfigErrorKind| ConfigError {
            path: path.to_path_buf(),
            position,
            kind,
        };
        let text = read_config_text(path)?;
        let raw: RawConfig = toml::from_str(&text).map_err(|e| {
            let position = e.span().map(|span| line_char_col(&text, span.start));
            error(
                position,
                ConfigErrorKind::Invalid(e.message().trim().replace('\n', " ")),
            )
        })?;
        let at = |span: std::ops::Range<usize>| Some(line_char_col(&text, span.start));
        let origin = |span: std::ops::Range<usize>| {
            let (line, col) = line_char_col(&text, span.start);
            format!("{}:{line}:{col}", path.display())
        };

        let dir = absolute_lexical(path)
            .parent()
            .map_or_else(|| PathBuf::from("/"), Path::to_path_buf);
        let mut mentions: Vec<IdMention> = cli_mentions.to_vec();
        let mut mention = |ids: &[Spanned<String>]| {
            for id in ids {
                mentions.push(IdMention {
                    id: id.get_ref().clone(),
                    origin: origin(id.span()),
                });
            }
        };
        let ids = |ids: &[Spanned<String>]| -> BTreeSet<String> {
            ids.iter().map(|id| id.get_ref().clone()).collect()
        };
        let context = |c: Option<String>| c.map(|c| absolute_lexical(&dir.join(c)));

        mention(raw.select.as_deref().unwrap_or_default());
        mention(&raw.ignore);
        let top = Layer {
            select: raw.select.as_deref().map(ids),
            ignore: ids(&raw.ignore),
            unsafe_fixes: raw.unsafe_fixes,
            context: context(raw.context),
            user_style: raw.non_root_user.and_then(|n| n.user_style),
        };

        let mut overrides = Vec::new();
        for raw_override in raw.overrides {
            let paths = raw_override.paths;
            if paths.get_ref().is_empty() {
                return Err(error(at(paths.span()), ConfigErrorKind::EmptyPaths));
            }
            let mut builder = GlobSetBuilder::new();
            for glob in paths.get_ref() {
                let pattern = normalize_glob(glob.get_ref())
                    .ok_or_else(|| error(at(glob.span()), ConfigErrorKind::EmptyGlob))?;
                let compiled = GlobBuilder::new(&pattern)
                    .literal_separator(true)
                    .build()
                    .map_err(|e| {
                        error(
                            at(glob.span()),
                            ConfigErrorKind::InvalidGlob {
                                glob: glob.get_ref().clone(),
                                reason: e.kind().to_string(),
                            },
                        )
                    })?;
                builder.add(compiled);
            }
            let globs = builder.build().map_err(|e| {
                error(
                    at(paths.span()),
                    ConfigErrorKind::InvalidGlob {
                        glob: paths
                            .get_ref()
                            .iter()
                            .map(|g| g.get_ref().as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                        reason: e.to_string(),
                    },
                )
            })?;
            mention(raw_override.select.as_deref().unwrap_or_default());
            mention(&raw_override.ignore);
            overrides.push(Override {
                globs,
                layer: Layer {
                    select: raw_override.select.as_deref().map(ids),
                    ignore: ids(&raw_override.ignore),
                    unsafe_fixes: raw_override.unsafe_fixes,
                    context: context(raw_override.context),
                    user_style: raw_override.non_root_user.and_then(|n| n.user_style),
                },
            });
        }

        let default_exclude: Vec<Spanned<String>>;
        let exclude_globs = match &raw.exclude {
            Some(globs) => globs.as_slice(),
            None => {
                default_exclude = DEFAULT_EXCLUDE
                    .iter()
                    .map(|g| Spanned::new(0..0, (*g).to_owned()))
                    .collect();
                default_exclude.as_slice()
            }
        };
        let mut builder = GitignoreBuilder::new(&dir);
        for glob in exclude_globs.iter().chain(&raw.extend_exclude) {
            builder.add_line(None, glob.get_ref()).map_err(|e| {
                error(
                    at(glob.span()),
                    ConfigErrorKind::InvalidGlob {
                        glob: glob.get_ref().clone(),
                        reason: glob_reason(&e),
                    },
                )
            })?;
        }
        let exclude = builder.build().map_err(|e| {
            error(
                None,
                ConfigErrorKind::InvalidGlob {
                    glob: "exclude".to_owned(),
                    reason: glob_reason(&e),
                },
            )
        })?;

        Ok(LoadedConfig {
            exclude,
            path: path.to_path_buf(),
            knowledge: raw.knowledge.map(|table| {
                Arc::new(KnowledgeOverrides {
                    origin: path.to_path_buf(),
                    table,
                })
            }),
            dir,
            top,
            overrides,
            output_format: raw.output_format,
            mentions: Arc::new(mentions),
            resolved: RwLock::default(),
        })
    }

    /// Indices of the overrides whose globs match `dockerfile` (absolute, lexical) or one of
    /// its parent directories, relative to the config's directory.
    fn matching_overrides(&self, dockerfile: &Path) -> Vec<usize> {
        if self.overrides.is_empty() {
            return Vec::new();
        }
        let Ok(rel) = dockerfile.strip_prefix(&self.dir) else {
            return Vec::new();
        };
        let parts: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let candidates: Vec<String> = (1..=parts.len()).map(|n| parts[..n].join("/")).collect();
        self.overrides
            .iter()
            .enumerate()
            .filter(|(_, o)| candidates.iter().any(|c| o.globs.is_match(c)))
            .map(|(i, _)| i)
            .collect()
    }
}

/// Whether a component of `path` is one of [`DEFAULT_EXCLUDE`].
fn has_default_exclude_component(path: &Path) -> bool {
    // Asked for every folder and file walked, most of which hold none of the names anywhere:
    // told by one substring search for each, with searchers built once.
    static FINDERS: std::sync::LazyLock<Vec<memchr::memmem::Finder<'static>>> =
        std::sync::LazyLock::new(|| {
            DEFAULT_EXCLUDE
                .iter()
                .map(|name| memchr::memmem::Finder::new(name.as_bytes()))
                .collect()
        });
    let bytes = path.as_os_str().as_encoded_bytes();
    FINDERS.iter().any(|f| f.find(bytes).is_some())
        && bytes
            .split(|&b| b.is_ascii() && std::path::is_separator(char::from(b)))
            .any(|part| DEFAULT_EXCLUDE.iter().any(|name| part == name.as_bytes()))
}

/// A gitignore-style matcher rooted at `root`, or the first glob that does not compile.
fn exclude_matcher<'g>(
    root: &Path,
    globs: impl Iterator<Item = &'g str>,
) -> Result<Gitignore, (&'g str, String)> {
    let mut builder = GitignoreBuilder::new(root);
    for glob in globs {
        builder
            .add_line(None, glob)
            .map_err(|e| (glob, glob_reason(&e)))?;
    }
    builder.build().map_err(|e| ("", glob_reason(&e)))
}

/// The reason of a glob error, without the glob itself (the caller names it).
fn glob_reason(e: &ignore::Error) -> String {
    match e {
        ignore::Error::Glob { err, .. } => err.clone(),
        other => other.to_string(),
    }
}

/// `./a/b/` -> `a/b`; a glob without `/` matches at any depth (`x` -> `**/x`).
fn normalize_glob(glob: &str) -> Option<String> {
    let mut g = glob.trim();
    while let Some(rest) = g.strip_prefix("./") {
        g = rest;
    }
    let g = g.trim_start_matches('/').trim_end_matches('/');
    if g.is_empty() {
        return None;
    }
    Some(if g.contains('/') {
        g.to_owned()
    } else {
        format!("**/{g}")
    })
}

/// Combines the layers: see the module documentation for the rules.
fn resolve(
    cli: &CliOptions,
    cli_mentions: &[IdMention],
    config: Option<&LoadedConfig>,
    matched: &[&Layer],
) -> Settings {
    let mut settings = Settings {
        mentions: Arc::new(cli_mentions.to_vec()),
        ..Settings::default()
    };
    if let Some(config) = config {
        for layer in std::iter::once(&config.top).chain(matched.iter().copied()) {
            if let Some(select) = &layer.select {
                settings.select = Selection::Only(select.clone());
            }
            settings.ignore.extend(layer.ignore.iter().cloned());
            if let Some(flag) = layer.unsafe_fixes {
                settings.unsafe_fixes = flag;
            }
            if let Some(context) = &layer.context {
                settings.context = Some(context.clone());
            }
            if let Some(style) = layer.user_style {
                settings.user_style = style;
            }
        }
        settings.knowledge = config.knowledge.clone();
        settings.config_file = Some(config.path.clone());
        settings.mentions = Arc::clone(&config.mentions);
    }
    if let Some(select) = &cli.select {
        settings.select = Selection::Only(select.iter().cloned().collect());
    }
    settings.ignore.extend(cli.ignore.iter().cloned());
    settings.unsafe_fixes |= cli.unsafe_fixes;
    if let Some(context) = &cli.context {
        settings.context = Some(context.clone());
    }
    settings
}

#[cfg(test)]
mod tests;
