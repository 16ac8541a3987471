//! Ecosystem and base-image knowledge: the data files under `transforms/` (ecosystems, images,
//! users, packages), read at build time (`build.rs`, `builtin.rs`) and embedded in the binary,
//! validated when loaded (unknown keys, bad references, and in the user's `[knowledge]`
//! overrides bad globs and regexes, are errors naming the file, line and column), merged with
//! those overrides, and turned into matchers the transforms query, each compiled when first
//! used (`lazy.rs`). Everything here is pure: no IO, and no output whose order depends on a
//! hash map.
//!
//! Entry points: [`Knowledge::builtin`], [`Knowledge::with_overrides_from_config`] /
//! [`Knowledge::with_overrides`], then the queries [`Knowledge::image`],
//! [`Knowledge::runtime_image`], [`Knowledge::classify_command`], [`Knowledge::manifests`],
//! [`Knowledge::privilege_dropper`], [`Knowledge::is_wrapper`], [`Knowledge::toolchain`],
//! [`Knowledge::writers`] and [`Knowledge::package`]. `transforms/README.md` documents
//! every key of the files.

mod builtin;
mod commands;
mod image_ref;
mod images;
mod lazy;
mod schema;
#[cfg(test)]
mod tests;
mod versions;
mod writers;

use std::collections::BTreeSet;
use std::ops::Range;
use std::sync::{Arc, OnceLock};

use anyhow::anyhow;
use serde::Deserialize;

pub use commands::{BuildTool, CommandKind, CommandMatch, Ecosystem, Manifests};
pub use image_ref::ImageRef;
pub use images::{ImageInfo, ImageRole, Os, RuntimeImage, RuntimeNeeds, UserPlan};
pub use writers::{Writer, normalise_package};

use commands::Commands;
use images::Images;
use schema::{DevDef, Layer, OsDef, PackagesDef, SuiteDef};

/// The built-in knowledge files, in load order: (path shown in errors, contents).
const BUILTIN_FILES: [(&str, &str); 4] = [
    (
        "transforms/ecosystems.toml",
        include_str!("../../transforms/ecosystems.toml"),
    ),
    (
        "transforms/images.toml",
        include_str!("../../transforms/images.toml"),
    ),
    (
        "transforms/users.toml",
        include_str!("../../transforms/users.toml"),
    ),
    (
        "transforms/packages.toml",
        include_str!("../../transforms/packages.toml"),
    ),
];

/// The texts the knowledge was loaded from, to turn spans into `file:line:col`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Sources {
    files: Vec<(String, Arc<str>)>,
    /// The first `builtin` sources are the built-in files.
    builtin: usize,
}

impl Sources {
    fn push(&mut self, name: &str, text: Arc<str>) -> usize {
        self.files.push((name.to_string(), text));
        self.files.len() - 1
    }

    /// Whether matchers of entries from source `origin` are compiled at load rather than on
    /// first use: everything but the built-in files (see `lazy.rs`).
    pub(crate) fn eager(&self, origin: usize) -> bool {
        origin >= self.builtin
    }

    /// `name:line:col: message` for a span in source `origin`.
    pub(crate) fn error(&self, origin: usize, span: Range<usize>, message: &str) -> anyhow::Error {
        let (name, text) = &self.files[origin];
        anyhow!("{}: {message}", location(name, text, span.start))
    }
}

fn location(name: &str, text: &str, offset: usize) -> String {
    let (line, col) = crate::syntax::line_col(text, offset);
    format!("{name}:{line}:{col}")
}

/// How an OS package is installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum OsPackageManager {
    /// Debian/Ubuntu `apt-get`.
    Apt,
    /// Alpine `apk`.
    Apk,
}

/// What an OS package is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PackageClass {
    /// Only needed to build (compilers, headers, git): drop it from the runtime stage.
    BuildOnly,
    /// A development package: drop it, and install `runtime` (the libraries it stands for) instead.
    Dev { runtime: Vec<String> },
    /// A development package whose runtime libraries have no known name on this system: on
    /// `suite`, or on an image whose suite is not known (`None`).
    DevUnresolved { suite: Option<String> },
    /// Named like a development package (`-dev`, `-devel`, `-headers`) but not in the map:
    /// which runtime library it stands for is not known.
    DevUnknown,
    /// Useful at run time whatever the build (ca-certificates, tzdata, curl): keep it if it was there.
    Runtime,
    /// Not known: a transform must not drop it silently.
    Unknown,
}

/// An entrypoint program that drops privileges itself (gosu, su-exec, `chroot --userspec`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivilegeDropper {
    pub program: String,
}

#[derive(Debug, Default)]
struct Packages {
    build_only: BTreeSet<String>,
    runtime: BTreeSet<String>,
    dev: std::collections::BTreeMap<String, DevDef>,
    dev_suffixes: Vec<String>,
}

impl Packages {
    fn from_def(d: Option<&PackagesDef>) -> Packages {
        let Some(d) = d else {
            return Packages::default();
        };
        Packages {
            build_only: d.build_only.iter().cloned().collect(),
            runtime: d.runtime.iter().cloned().collect(),
            dev: d
                .dev
                .iter()
                .map(|(k, v)| (k.clone(), v.get_ref().clone()))
                .collect(),
            dev_suffixes: d.dev_suffixes.clone(),
        }
    }
}

/// Checks the `-dev` maps of a freshly parsed layer: per-suite names only in `[apt.dev]`, for
/// suites that `[[suite]]` defines (`known` and the layer's own), and never an empty list.
fn check_packages(
    layer: &Layer,
    known: &[SuiteDef],
    sources: &Sources,
    origin: usize,
) -> anyhow::Result<()> {
    let suites: Vec<&str> = known
        .iter()
        .chain(&layer.suite)
        .filter(|s| matches!(s.os, OsDef::Debian | OsDef::Ubuntu))
        .map(|s| s.name.as_str())
        .collect();
    for (table, def) in [("apt", &layer.apt), ("apk", &layer.apk)] {
        let Some(def) = def else { continue };
        for (name, entry) in &def.dev {
            let fail = |msg: String| sources.error(origin, entry.span(), &msg);
            match entry.get_ref() {
                DevDef::All(libs) if libs.is_empty() => {
                    return Err(fail(format!(
                        "[{table}.dev] `{name}`: an empty list (leave the package out instead)"
                    )));
                }
                DevDef::All(_) => {}
                DevDef::BySuite(_) if table == "apk" => {
                    return Err(fail(format!(
                        "[apk.dev] `{name}`: names per suite are for Debian and Ubuntu ([apt.dev]); give a list"
                    )));
                }
                DevDef::BySuite(by_suite) => {
                    if by_suite.is_empty() {
                        return Err(fail(format!("[apt.dev] `{name}`: no suite given")));
                    }
                    for (suite, libs) in by_suite {
                        if !suites.contains(&suite.as_str()) {
                            return Err(fail(format!(
                                "[apt.dev] `{name}`: unknown suite `{suite}` (known: {})",
                                suites.join(", ")
                            )));
                        }
                        if libs.is_empty() {
                            return Err(fail(format!(
                                "[apt.dev] `{name}`: an empty list for `{suite}` (leave the suite out instead)"
                            )));
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

struct Inner {
    sources: Sources,
    layer: Layer,
    images: Images,
    commands: Commands,
    apt: Packages,
    apk: Packages,
    droppers: Vec<(String, Vec<String>)>,
    root_programs: Vec<(String, String)>,
    writers: Vec<Writer>,
    /// Every writer's file globs in one string (see [`Knowledge::writers_key`]).
    writers_key: String,
    /// The dependency kinds some writer is revealed by, each once, in order.
    writer_kinds: Vec<&'static str>,
    wrappers: Vec<String>,
    toolchains: Vec<(String, Option<String>)>,
    runtime_stage: schema::RuntimeStageDef,
    /// `runtime_stage.build_cleanup`, each entry split into its words once.
    build_cleanup: Vec<Vec<String>>,
    /// Answers already given, by image reference: a monorepo asks about the same few images
    /// thousands of times, and matching the families' tag rules is the costly part.
    memo: Memo,
}

/// Each worker thread keeps its own answers (see [`crate::sync::PerThread`]).
#[derive(Default)]
struct Memo(crate::sync::PerThread<Maps>);

#[derive(Default)]
struct Maps {
    image: rustc_hash::FxHashMap<String, Option<Arc<ImageInfo>>>,
    runtime: rustc_hash::FxHashMap<String, Option<Arc<RuntimeImage>>>,
    /// Command classifications, by the hash of the command's words (see `command_hash`), each
    /// with the words it answers for (see `command_key`).
    command: rustc_hash::FxHashMap<u64, CommandBucket>,
}

/// How many answers a memo map holds before it is emptied.
const MEMO_CAPACITY: usize = 4096;

/// Inserts `key` into `map`, emptying it first when full.
fn remember<K: std::hash::Hash + Eq, T>(map: &mut rustc_hash::FxHashMap<K, T>, key: K, value: T) {
    if map.len() >= MEMO_CAPACITY {
        map.clear();
    }
    map.insert(key, value);
}

/// The commands whose words share one hash: each key (see `command_key`) with its answer.
type CommandBucket = Vec<(Vec<u8>, Option<Arc<CommandMatch>>)>;

/// The memo key of a command's words: each word with its length in front, so no two lists of
/// words share a key.
fn command_key<S: AsRef<str>>(words: &[S]) -> Vec<u8> {
    let mut key = Vec::with_capacity(words.iter().map(|w| w.as_ref().len() + 8).sum());
    for w in words {
        let w = w.as_ref();
        key.extend_from_slice(&(w.len() as u64).to_le_bytes());
        key.extend_from_slice(w.as_bytes());
    }
    key
}

/// The hash of [`command_key`]`(words)`, computed from the words without building the key.
fn command_hash<S: AsRef<str>>(words: &[S]) -> u64 {
    use std::hash::Hasher;
    let mut h = rustc_hash::FxHasher::default();
    for w in words {
        let w = w.as_ref();
        h.write_u64(w.len() as u64);
        h.write(w.as_bytes());
    }
    h.finish()
}

/// Whether `key` is [`command_key`]`(words)`, compared without building it.
fn is_command_key<S: AsRef<str>>(key: &[u8], words: &[S]) -> bool {
    let mut rest = key;
    for w in words {
        let w = w.as_ref();
        let Some((len, tail)) = rest.split_first_chunk::<8>() else {
            return false;
        };
        if u64::from_le_bytes(*len) != w.len() as u64 || !tail.starts_with(w.as_bytes()) {
            return false;
        }
        rest = &tail[w.len()..];
    }
    rest.is_empty()
}

/// The memo key of an image reference: its text as displayed (`registry/path:tag@digest`),
/// pushed piece by piece.
fn image_key(image: &ImageRef) -> String {
    let pieces = [
        image.registry.as_deref().map(|r| [r, "/"]),
        Some([image.path.as_str(), ""]),
        image.tag.as_deref().map(|t| [":", t]),
        image.digest.as_deref().map(|d| ["@", d]),
    ];
    let mut key = String::with_capacity(pieces.iter().flatten().flatten().map(|p| p.len()).sum());
    for piece in pieces.iter().flatten().flatten() {
        key.push_str(piece);
    }
    key
}

/// Appends `|{shell}|{cgo}|{web:?}` to a runtime-image memo key, piece by piece (no
/// formatting machinery).
fn push_needs(key: &mut String, needs: &RuntimeNeeds) {
    for part in [
        "|",
        bool_text(needs.shell),
        "|",
        bool_text(needs.cgo),
        "|",
        match needs.web {
            None => "None",
            Some(true) => "Some(true)",
            Some(false) => "Some(false)",
        },
    ] {
        key.push_str(part);
    }
}

fn bool_text(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

/// The effective, merged knowledge: cheap to clone (shared behind an `Arc`).
#[derive(Clone)]
pub struct Knowledge {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Knowledge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Knowledge")
            .field(
                "sources",
                &self
                    .inner
                    .sources
                    .files
                    .iter()
                    .map(|(n, _)| n)
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

fn contains(list: Option<&[String]>, program: &str) -> bool {
    list.unwrap_or_default().iter().any(|p| p == program)
}

/// Parses one source into a layer; errors name the source, line and column.
fn parse_layer(
    sources: &mut Sources,
    name: &str,
    text: Arc<str>,
    in_config: bool,
) -> anyhow::Result<Layer> {
    let origin = sources.push(name, text.clone());
    let parsed: Result<Layer, toml::de::Error> = if in_config {
        #[derive(Deserialize)]
        struct Config {
            #[serde(default)]
            knowledge: Option<Layer>,
        }
        toml::from_str::<Config>(&text).map(|c| c.knowledge.unwrap_or_default())
    } else {
        toml::from_str::<Layer>(&text)
    };
    let mut layer = parsed.map_err(|e| {
        let at = e.span().map_or(0, |s| s.start);
        let message = e.message().trim_end().replace('`', "'");
        anyhow!("{}: {message}", location(name, &text, at))
    })?;
    layer.set_origin(origin);
    let eager = sources.eager(origin);
    for (pattern, body) in &layer.patterns {
        lazy::check_regex(body.get_ref(), eager).map_err(|e| {
            sources.error(
                origin,
                body.span(),
                &format!("bad pattern `{pattern}`: {e}"),
            )
        })?;
    }
    Ok(layer)
}

impl Knowledge {
    /// The built-in knowledge, parsed and validated once per process and shared afterwards.
    pub fn builtin() -> anyhow::Result<Knowledge> {
        static BUILTIN: OnceLock<Result<Knowledge, String>> = OnceLock::new();
        BUILTIN
            .get_or_init(|| Knowledge::load_builtin().map_err(|e| format!("{e:#}")))
            .clone()
            .map_err(|e| anyhow!("{e}"))
    }

    /// The built-in files, their regexes and glob sets compiled on first use (see `lazy.rs`).
    fn load_builtin() -> anyhow::Result<Knowledge> {
        Knowledge::load_builtin_files(true)
    }

    /// The built-in files; unless `lazy`, checked and compiled at load like an override (what
    /// the test suite does, for errors that name the file, line and column).
    fn load_builtin_files(lazy: bool) -> anyhow::Result<Knowledge> {
        let mut sources = Sources {
            builtin: if lazy { BUILTIN_FILES.len() } else { 0 },
            ..Sources::default()
        };
        let mut layer = Layer::default();
        // The values build.rs read (no TOML to parse), unless checking like an override; on
        // any error the TOML text is parsed instead, for toml's own messages.
        let mut read = if lazy { builtin::layers() } else { None }.map(Vec::into_iter);
        for (name, text) in BUILTIN_FILES {
            let l = match read.as_mut().and_then(Iterator::next) {
                Some(mut l) => {
                    l.set_origin(sources.push(name, Arc::from(text)));
                    l
                }
                None => parse_layer(&mut sources, name, Arc::from(text), false)?,
            };
            check_packages(&l, &layer.suite, &sources, sources.files.len() - 1)?;
            layer.merge(l);
        }
        Knowledge::compile(sources, layer)
    }

    fn compile(sources: Sources, layer: Layer) -> anyhow::Result<Knowledge> {
        let images = Images::compile(&layer, &sources)?;
        let commands = Commands::compile(&layer, &sources)?;
        let writers = writers::compile(&layer, &sources)?;
        let mut writer_kinds: Vec<&'static str> = Vec::new();
        for (kind, _) in writers.iter().flat_map(|w| &w.dependencies) {
            if !writer_kinds.contains(kind) {
                writer_kinds.push(kind);
            }
        }
        let mut writers_key = String::from("\0writers");
        for w in &writers {
            writers_key.push('\0');
            for g in w.file_globs() {
                writers_key.push('\n');
                writers_key.push_str(g);
            }
        }
        Ok(Knowledge {
            inner: Arc::new(Inner {
                apt: Packages::from_def(layer.apt.as_ref()),
                apk: Packages::from_def(layer.apk.as_ref()),
                droppers: layer
                    .privilege_dropper
                    .iter()
                    .map(|d| (d.program.clone(), d.requires.clone()))
                    .collect(),
                root_programs: layer
                    .root_program
                    .iter()
                    .map(|r| (r.program.clone(), r.note.clone()))
                    .collect(),
                writers,
                writers_key,
                writer_kinds,
                wrappers: layer.wrapper.iter().map(|w| w.program.clone()).collect(),
                toolchains: layer
                    .toolchain
                    .iter()
                    .map(|t| (t.program.clone(), t.subcommand.clone()))
                    .collect(),
                build_cleanup: layer
                    .runtime_stage
                    .as_ref()
                    .and_then(|r| r.build_cleanup.as_deref())
                    .unwrap_or_default()
                    .iter()
                    .map(|entry| entry.split_whitespace().map(str::to_string).collect())
                    .collect(),
                runtime_stage: layer.runtime_stage.clone().unwrap_or_default(),
                sources,
                layer,
                images,
                commands,
                memo: Memo::default(),
            }),
        })
    }

    fn merged(
        &self,
        over: impl FnOnce(&mut Sources) -> anyhow::Result<Layer>,
    ) -> anyhow::Result<Knowledge> {
        let mut sources = self.inner.sources.clone();
        let over = over(&mut sources)?;
        // Base-image ENV is read where no configuration is at hand (resolving `$GOPATH` in any
        // transform), from the built-in files only: an override could not change it.
        if let Some((f, (name, value))) = over
            .family
            .iter()
            .find_map(|f| f.env.iter().next().map(|e| (f, e)))
        {
            return Err(sources.error(
                sources.files.len() - 1,
                value.span(),
                &format!(
                    "family `{}`: `env` ({name}) is built-in knowledge only and cannot be overridden",
                    f.name
                ),
            ));
        }
        check_packages(
            &over,
            &self.inner.layer.suite,
            &sources,
            sources.files.len() - 1,
        )?;
        let mut layer = self.inner.layer.clone();
        layer.merge(over);
        Knowledge::compile(sources, layer)
    }

    /// Merges the `[knowledge]` table of a config file (the whole `restage.toml` text; other
    /// tables are ignored). Errors name `origin`, the line and the column:
    /// `restage.toml:12:1: unknown field 'runtme', expected ...`. Prefer this over
    /// [`Knowledge::with_overrides`], which cannot know lines.
    pub fn with_overrides_from_config(
        &self,
        config_text: &str,
        origin: &str,
    ) -> anyhow::Result<Knowledge> {
        self.merged(|sources| parse_layer(sources, origin, Arc::from(config_text), true))
    }

    /// Merges user overrides given as the already-parsed `[knowledge]` table, in the same schema
    /// as the built-in files. Override entries win (see transforms/README.md). A table has no
    /// line numbers: errors name `origin`, `[knowledge]` and the offending line as re-printed.
    pub fn with_overrides(
        &self,
        overrides: &toml::Table,
        origin: &str,
    ) -> anyhow::Result<Knowledge> {
        let text = toml::to_string(overrides).map_err(|e| anyhow!("{origin}: [knowledge]: {e}"))?;
        self.merged(|sources| {
            let name = format!("{origin} [knowledge]");
            parse_layer(sources, &name, Arc::from(text.as_str()), false).map_err(|e| {
                // Replace the re-printed text's line number with the line itself.
                let msg = format!("{e:#}");
                let rest = msg.strip_prefix(&name).unwrap_or(&msg);
                let line_no: Option<usize> = rest
                    .trim_start_matches(':')
                    .split(':')
                    .next()
                    .and_then(|n| n.parse().ok());
                let after = rest.splitn(4, ':').nth(3).unwrap_or(rest).trim();
                match line_no.and_then(|n| text.lines().nth(n - 1)) {
                    Some(line) => anyhow!("{origin}: [knowledge]: {after} (at `{}`)", line.trim()),
                    None => anyhow!("{origin}: [knowledge]: {after}"),
                }
            })
        })
    }

    /// Every regex and glob set, compiled at load or on first use.
    #[cfg(test)]
    fn deferred(&self) -> Vec<&dyn lazy::Deferred> {
        let mut out = self.inner.images.deferred();
        out.extend(self.inner.commands.deferred());
        out.extend(self.inner.writers.iter().flat_map(|w| w.deferred()));
        out
    }

    /// The effective knowledge (built-in files merged with overrides) as one TOML document, in
    /// the schema of the files (for `restage knowledge`).
    pub fn to_toml(&self) -> String {
        toml::to_string(&self.inner.layer).expect("the knowledge schema serializes to TOML")
    }

    /// The value of ENV `name` the image sets, from the built-in knowledge (a family's `env`);
    /// `None` when the knowledge files do not say.
    pub(crate) fn builtin_image_env(image: &ImageRef, name: &str) -> Option<String> {
        Knowledge::builtin()
            .ok()?
            .image(image)?
            .env
            .get(name)
            .cloned()
    }

    /// What restage knows about an image; `None` for unknown images or tags.
    /// Shared with the memo (not cloned out of it): most images are asked about several
    /// times per file.
    pub fn image(&self, image: &ImageRef) -> Option<Arc<ImageInfo>> {
        let key = image_key(image);
        if let Some(hit) = self.inner.memo.0.with(|m| m.image.get(&key).cloned()) {
            return hit;
        }
        let value = self.inner.images.image(image).map(Arc::new);
        self.inner
            .memo
            .0
            .with(|m| remember(&mut m.image, key, value.clone()));
        value
    }

    /// [`image`](Knowledge::image) for the reference `text` as written (`node:20-slim`); `None`
    /// also when it is not a reference ([`ImageRef::parse`]). Looked up by the text itself,
    /// which is the memo's key of the reference it parses to (`image_key` puts the parsed
    /// pieces back together), so a repeated question neither parses nor builds a key.
    pub fn image_named(&self, text: &str) -> Option<Arc<ImageInfo>> {
        if let Some(hit) = self.inner.memo.0.with(|m| m.image.get(text).cloned()) {
            return hit;
        }
        // Text that does not parse is never the key of a parsed reference: remembering its
        // `None` under the same map cannot shadow an image.
        let info = ImageRef::parse(text).and_then(|r| self.inner.images.image(&r).map(Arc::new));
        self.inner
            .memo
            .0
            .with(|m| remember(&mut m.image, text.to_string(), info.clone()));
        info
    }

    /// The runtime image for the final stage when building on `image`. A runtime image maps to
    /// itself (`unchanged`); a self-managed or unknown image, or an unknown default suite, gives `None`.
    /// Shared with the memo (not cloned out of it).
    pub fn runtime_image(
        &self,
        image: &ImageRef,
        needs: &RuntimeNeeds,
    ) -> Option<Arc<RuntimeImage>> {
        let mut key = image_key(image);
        push_needs(&mut key, needs);
        if let Some(hit) = self.inner.memo.0.with(|m| m.runtime.get(&key).cloned()) {
            return hit;
        }
        let value = self.inner.images.runtime_image(image, needs).map(Arc::new);
        self.inner
            .memo
            .0
            .with(|m| remember(&mut m.runtime, key, value.clone()));
        value
    }

    /// [`runtime_image`](Knowledge::runtime_image) for the reference `text` as written; `None`
    /// also when it is not a reference. Looked up by the text itself, the memo's key of the
    /// reference it parses to (see [`image_named`](Knowledge::image_named)).
    pub fn runtime_image_named(
        &self,
        text: &str,
        needs: &RuntimeNeeds,
    ) -> Option<Arc<RuntimeImage>> {
        let mut key = String::with_capacity(text.len() + 24);
        key.push_str(text);
        push_needs(&mut key, needs);
        if let Some(hit) = self.inner.memo.0.with(|m| m.runtime.get(&key).cloned()) {
            return hit;
        }
        // A reference has no `|`: the key of text that does not parse is never that of one that
        // does, so remembering its `None` here shadows nothing.
        let rt = ImageRef::parse(text)
            .and_then(|r| self.inner.images.runtime_image(&r, needs).map(Arc::new));
        self.inner
            .memo
            .0
            .with(|m| remember(&mut m.runtime, key, rt.clone()));
        rt
    }

    /// Whether the image starts through an ENTRYPOINT script of its own that reads the command
    /// it is given (postgres, redis, nginx, ...): a CMD is that script's argument list.
    pub fn entrypoint_reads_command(&self, image: &ImageRef) -> bool {
        self.inner.images.entrypoint_reads_command(image)
    }

    /// Whether the image manages its own user (postgres, nginx, ...): leave its USER alone.
    pub fn is_self_managed_image(&self, image: &ImageRef) -> bool {
        self.inner.images.is_self_managed(image)
    }

    /// Classifies ONE simple command given as shell words after quote removal (the caller splits
    /// on `&&`, `||`, `;`, `|`). Leading `NAME=value` assignments (also after `env`) are stripped
    /// and reported in [`CommandMatch::env`]. `None` when no pattern matches.
    pub fn classify_command<S: AsRef<str>>(&self, words: &[S]) -> Option<Arc<CommandMatch>> {
        // A monorepo's files run the same few commands; the answer depends on the words only.
        // It is shared out of the memo, not cloned.
        // Looked up by the words' hash and compared word by word: a hit builds no key.
        let hash = command_hash(words);
        let memo = &self.inner.memo.0;
        let hit = memo.with(|m| {
            let bucket = m.command.get(&hash)?;
            let (_, hit) = bucket.iter().find(|(k, _)| is_command_key(k, words))?;
            Some(hit.clone())
        });
        if let Some(hit) = hit {
            return hit;
        }
        let refs: Vec<&str> = words.iter().map(AsRef::as_ref).collect();
        let value = self.inner.commands.classify(&refs).map(Arc::new);
        memo.with(|m| {
            if m.command.len() >= MEMO_CAPACITY {
                m.command.clear();
            }
            // This thread missed just now, and only it inserts here.
            m.command
                .entry(hash)
                .or_default()
                .push((command_key(words), value.clone()));
        });
        value
    }

    /// The manifest files of a package manager (`npm`, `pip`, `cargo`, ...).
    pub fn manifests(&self, manager: &str) -> Option<&Manifests> {
        self.inner
            .commands
            .managers
            .get(manager)
            .map(|m| &m.manifests)
    }

    /// The flags of a package manager that take a value (`-r FILE`, `--index-url URL`).
    pub fn value_flags(&self, manager: &str) -> &[String] {
        self.inner
            .commands
            .managers
            .get(manager)
            .map_or(&[], |m| m.value_flags.as_slice())
    }

    /// Whether `path` (relative to the build context) is one of a manager's manifest files.
    pub fn is_manifest(&self, manager: &str, path: &str) -> bool {
        self.inner.commands.is_manifest(manager, path)
    }

    /// Whether a manager installs into an environment it manages itself (`own_environment`:
    /// poetry, pipenv, uv): multi-stage points it at its virtualenv or carries the project's `.venv`.
    pub fn has_own_environment(&self, manager: &str) -> bool {
        self.inner
            .commands
            .managers
            .get(manager)
            .is_some_and(|m| m.own_environment)
    }

    /// The ids of the known package managers, sorted.
    pub fn managers(&self) -> Vec<&str> {
        self.inner
            .commands
            .managers
            .keys()
            .map(String::as_str)
            .collect()
    }

    /// Every ecosystem, by id.
    pub fn ecosystems(&self) -> impl Iterator<Item = &Ecosystem> {
        self.inner.commands.ecosystems.values()
    }

    /// Facts about an ecosystem (`node`, `python`, `go`, ...).
    pub fn ecosystem(&self, id: &str) -> Option<&Ecosystem> {
        self.inner.commands.ecosystems.get(id)
    }

    /// Whether a command (words, program first) drops privileges itself, like `gosu app cmd` or
    /// `chroot --userspec=app / cmd`. A bare program name works for droppers that need no flag.
    pub fn privilege_dropper(&self, words: &[&str]) -> Option<PrivilegeDropper> {
        let program = crate::shell::base_name(words.first()?);
        let (name, requires) = self.inner.droppers.iter().find(|(p, _)| p == program)?;
        let ok = requires.is_empty()
            || words[1..].iter().any(|w| {
                let flag = w.split_once('=').map_or(*w, |(f, _)| f);
                requires.iter().any(|r| r == flag)
            });
        ok.then(|| PrivilegeDropper {
            program: name.clone(),
        })
    }

    /// Why `program` (a path or a bare name) needs root when the container starts, when it is a
    /// `[[root_program]]` (a name ending in `*` matches names it begins: `php-fpm*`).
    pub fn root_program(&self, program: &str) -> Option<&str> {
        let name = crate::shell::base_name(program);
        self.inner
            .root_programs
            .iter()
            .find(|(p, _)| match p.strip_suffix('*') {
                Some(prefix) => name.starts_with(prefix),
                None => p == name,
            })
            .map(|(_, note)| note.as_str())
    }

    /// The directories of the default PATH of the runtime images multi-stage writes, in order
    /// (ecosystems.toml `[runtime_stage] path`).
    pub fn runtime_path(&self) -> &[String] {
        self.inner.runtime_stage.path.as_deref().unwrap_or_default()
    }

    /// Whether `program` (a bare name) only prepares the runtime filesystem without build tools
    /// (`mkdir`, `chown`, `useradd`; ecosystems.toml `[runtime_stage] prep`).
    pub fn is_runtime_prep(&self, program: &str) -> bool {
        contains(self.inner.runtime_stage.prep.as_deref(), program)
    }

    /// Whether `program` (a bare name) has no effect on what the runtime needs (cleanup,
    /// navigation, output; ecosystems.toml `[runtime_stage] neutral`).
    pub fn is_runtime_neutral(&self, program: &str) -> bool {
        contains(self.inner.runtime_stage.neutral.as_deref(), program)
    }

    /// Whether the command `words` only cleans or configures the package managers' caches of
    /// the build (ecosystems.toml `[runtime_stage] build_cleanup`, matched as leading words:
    /// `npm cache clean --force`): it leaves nothing the runtime needs, and stays in the build.
    pub fn is_build_cleanup(&self, words: &[String]) -> bool {
        let program = words.first().map(|p| crate::shell::base_name(p));
        self.inner.build_cleanup.iter().any(|entry| {
            let mut want = entry.iter().map(String::as_str);
            want.next() == program
                && want
                    .enumerate()
                    .all(|(i, w)| words.get(i + 1).map(String::as_str) == Some(w))
        })
    }

    /// Whether the command `words` only prints facts about the build machine: a program of
    /// `[runtime_stage] queries` (`uname -r`), or a program named by its bare name with one
    /// argument of `query_flags` (`curl --version`, `go version`). It leaves nothing the runtime
    /// needs and stays in the build stage (its program may not be in the runtime image).
    pub fn is_build_query(&self, words: &[String]) -> bool {
        let stage = &self.inner.runtime_stage;
        let Some(program) = words.first() else {
            return false;
        };
        if contains(stage.queries.as_deref(), program) {
            return true;
        }
        match words {
            [program, flag] => {
                !program.contains(['/', '$', '.', '='])
                    && contains(stage.query_flags.as_deref(), flag)
            }
            _ => false,
        }
    }

    /// Whether `program` (a bare name) starts another program rather than being the app: an
    /// init process, a shell, `env`, `exec` (ecosystems.toml `[[wrapper]]`).
    pub fn is_wrapper(&self, program: &str) -> bool {
        self.inner.wrappers.iter().any(|w| w == program)
    }

    /// The build tool `program` (a bare name) followed by `subcommand` is, when it compiles the
    /// app at start (ecosystems.toml `[[toolchain]]`): `go run`, `mvnw`.
    pub fn toolchain(&self, program: &str, subcommand: Option<&str>) -> Option<String> {
        self.inner
            .toolchains
            .iter()
            .find(|(p, s)| p == program && s.as_deref().is_none_or(|s| Some(s) == subcommand))
            .map(|(p, s)| match s {
                Some(s) => format!("{p} {s}"),
                None => p.clone(),
            })
    }

    /// The frameworks and libraries that write into the application's own tree (users.toml
    /// `[[writer]]`), in file order (override entries with a new id last).
    pub fn writers(&self) -> &[Writer] {
        &self.inner.writers
    }

    /// A key naming every writer's file globs together, in order (one string built when the
    /// knowledge loads): what a build context remembers the root names they match under.
    pub fn writers_key(&self) -> &str {
        &self.inner.writers_key
    }

    /// The dependency kinds (`npm`, `pip`, ...) that reveal some writer, each once: every
    /// writer's `dependencies` kinds, gathered when the knowledge loads.
    pub fn writer_kinds(&self) -> &[&'static str] {
        &self.inner.writer_kinds
    }

    /// Classifies an OS package (`libpq-dev`, `gcc`, `ca-certificates`) for an image running
    /// `os`; a version pin (`=1.2`, `>1`, `~1`) or an architecture (`:amd64`) is ignored. The
    /// runtime libraries of a `-dev` package are named for the image's Debian or Ubuntu suite: a
    /// plain list in `[apt.dev]` holds on every Debian suite; names given per suite hold only on
    /// those suites, and nowhere when the suite is not known.
    pub fn package(&self, name: &str, manager: OsPackageManager, os: &Os) -> PackageClass {
        let table = match manager {
            OsPackageManager::Apt => &self.inner.apt,
            OsPackageManager::Apk => &self.inner.apk,
        };
        let end = name.find(['=', '>', '<', '~', ':']).unwrap_or(name.len());
        let name = &name[..end];
        if let Some(dev) = table.dev.get(name) {
            return match (manager, dev, os) {
                (OsPackageManager::Apk, DevDef::All(libs), _)
                | (OsPackageManager::Apt, DevDef::All(libs), Os::Debian { .. }) => {
                    PackageClass::Dev {
                        runtime: libs.clone(),
                    }
                }
                (OsPackageManager::Apt, DevDef::BySuite(by_suite), _) => {
                    let suite = match os {
                        Os::Debian { suite } => suite.clone(),
                        Os::Ubuntu { release } => release.clone(),
                        _ => None,
                    };
                    match suite.as_deref().and_then(|s| by_suite.get(s)) {
                        Some(libs) => PackageClass::Dev {
                            runtime: libs.clone(),
                        },
                        None => PackageClass::DevUnresolved { suite },
                    }
                }
                (_, _, Os::Ubuntu { release }) => PackageClass::DevUnresolved {
                    suite: release.clone(),
                },
                _ => PackageClass::DevUnresolved { suite: None },
            };
        }
        if table.build_only.contains(name) {
            PackageClass::BuildOnly
        } else if table.runtime.contains(name) {
            PackageClass::Runtime
        } else if table
            .dev_suffixes
            .iter()
            .any(|s| name.ends_with(s.as_str()))
        {
            PackageClass::DevUnknown
        } else {
            PackageClass::Unknown
        }
    }

    /// The command that drops development dependencies for `manager` on an image of language
    /// version `version` (`None`: a tag without a version, which takes the current form).
    pub fn prune_command(&self, manager: &str, version: Option<&str>) -> Option<String> {
        self.manifests(manager)?
            .prune_for(version)
            .map(str::to_string)
    }
}
