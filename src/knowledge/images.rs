//! Image knowledge compiled from `images.toml` and `users.toml`: family lookup by repository,
//! tag rules with named captures, default Debian suites per version, runtime-image templates,
//! mirrors and the user's glob mappings.

use std::collections::BTreeMap;

use super::Sources;
use super::image_ref::{ImageRef, canonical_repository, spell};
use super::lazy::{LazyGlobSet, LazyRegex, check_regex};
use super::schema::{CandidateDef, FamilyDef, Layer, MappingDef, OsDef, RoleDef};

/// What part an image plays in a multi-stage build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ImageRole {
    /// An SDK or full image with a slimmer runtime counterpart (`node:20`, `golang:1.22`, `debian:bookworm`).
    Build,
    /// Already a runtime image: slim, alpine, distroless, a JRE, an ASP.NET runtime, scratch, ...
    Runtime,
    /// An image that manages its own user (databases, servers): leave its user alone.
    SelfManaged,
}

/// The operating system an image is built on, which decides how users are created.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Os {
    /// Debian; `suite` when known (`bookworm`).
    Debian { suite: Option<String> },
    /// Ubuntu; `release` codename when known (`noble`).
    Ubuntu { release: Option<String> },
    /// Alpine Linux.
    Alpine,
    /// BusyBox (busybox `adduser`/`addgroup`).
    Busybox,
    /// No shell and no package manager (gcr.io/distroless, .NET chiseled).
    Distroless,
    /// The empty image.
    Scratch,
    /// Not known.
    Unknown,
}

/// A user that exists in an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingUser {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: Option<String>,
}

/// How a final stage on an image runs as an unprivileged user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserPlan {
    /// The image already has this user: `USER <name>`.
    Existing(ExistingUser),
    /// Create the user with `command` (a shell command for one `RUN`), then `USER <name>`.
    Create {
        name: String,
        group: String,
        uid: u32,
        gid: u32,
        home: String,
        command: String,
    },
    /// Nothing to create users with (scratch): `USER <uid>:<gid>`.
    Numeric { uid: u32, gid: u32 },
}

/// What restage knows about one image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageInfo {
    /// The family name from images.toml (`node`, `golang`, ...), or the repository for a self-managed image.
    pub family: String,
    /// The ecosystem id (`node`, `go`, ...) when the family belongs to one.
    pub ecosystem: Option<String>,
    pub role: ImageRole,
    pub os: Os,
    /// How to run as non-root on this image; `None` when unknown or when the image manages its own user.
    pub user: Option<UserPlan>,
    /// The non-root user the image already runs as by default (distroless `:nonroot` tags, .NET
    /// chiseled images); `None` when it runs as root or this is not known.
    pub runs_as: Option<ExistingUser>,
    /// The language version the tag names (`3.9` for `python:3.9-buster`, `8` for `node:carbon`);
    /// `None` when the tag names none (`latest`, `lts`, `current`) or the image is not matched by
    /// a family rule.
    pub version: Option<String>,
    /// Remarks from the knowledge files.
    pub notes: Vec<String>,
    /// ENV the image sets, as far as the knowledge files say (`GOPATH` of the golang images).
    pub env: BTreeMap<String, String>,
}

impl ImageInfo {
    /// The Debian or Ubuntu suite the image runs on, when known.
    pub fn suite(&self) -> Option<&str> {
        match &self.os {
            Os::Debian { suite } => suite.as_deref(),
            Os::Ubuntu { release } => release.as_deref(),
            _ => None,
        }
    }

    /// The major language version of the tag (`3` for `python:3.9`).
    pub fn major_version(&self) -> Option<u64> {
        self.version.as_deref().and_then(super::versions::major)
    }
}

/// What the final stage needs from its runtime image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeNeeds {
    /// The stage runs shell commands (shell-form CMD/ENTRYPOINT, RUN in the final stage, a shell HEALTHCHECK).
    pub shell: bool,
    /// The binary is dynamically linked against libc (Go with cgo on; not `CGO_ENABLED=0`).
    pub cgo: bool,
    /// A .NET web app (`Some(true)`: aspnet), a console app (`Some(false)`: runtime); `None` when unknown (aspnet, the superset).
    pub web: Option<bool>,
}

impl Default for RuntimeNeeds {
    /// The conservative default: a shell, dynamic linking, app type unknown.
    fn default() -> Self {
        RuntimeNeeds {
            shell: true,
            cgo: true,
            web: None,
        }
    }
}

/// The runtime image a build image maps to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeImage {
    /// The reference to write in the final `FROM` (same registry spelling as the input).
    pub reference: String,
    /// `false` when the mapping relies on a guess (a dropped digest, a vendor change, a floating patch).
    pub confident: bool,
    /// The runtime image is the input itself (it already was a runtime image).
    pub unchanged: bool,
    pub os: Os,
    pub user: Option<UserPlan>,
    pub notes: Vec<String>,
    /// `reference` names the image asked about itself: it has a tag, the same tag, and the
    /// same canonical repository (an Alpine SDK tag whose runtime is the same Alpine release).
    pub same_image: bool,
}

pub(crate) struct Suite {
    pub os: OsDef,
    pub version: String,
    pub distroless: bool,
}

struct Candidate {
    image: Template,
    shell: Option<bool>,
    cgo: Option<bool>,
    web: Option<bool>,
    confident: bool,
    note: Option<String>,
}

struct Rule {
    /// `^(?:expanded tag)$`.
    tag: LazyRegex,
    role: RoleDef,
    os: Option<OsDef>,
    user: Option<String>,
    runs_as: Option<String>,
    runtime: Vec<Candidate>,
    note: Option<String>,
}

enum VersionKey {
    Exact(String),
    Range(Vec<u64>, Vec<u64>),
}

struct Family {
    name: String,
    ecosystem: Option<String>,
    os: Option<OsDef>,
    user: Option<String>,
    default_suites: Vec<(VersionKey, String)>,
    version_aliases: BTreeMap<String, String>,
    env: BTreeMap<String, String>,
    rules: Vec<Rule>,
}

struct Mapping {
    /// The `from` glob as a regex whose groups are its `*`s.
    from: LazyRegex,
    to: Option<String>,
    role: RoleDef,
    family: Option<String>,
    os: Option<OsDef>,
    user: Option<String>,
    runs_as: Option<String>,
    confident: bool,
    note: Option<String>,
}

struct CreateRecipe {
    os: Vec<OsDef>,
    command: String,
}

pub(crate) struct NewUser {
    pub name: String,
    pub group: String,
    pub uid: u32,
    pub gid: u32,
    pub home: String,
}

pub(crate) struct Images {
    suites: BTreeMap<String, Suite>,
    families: Vec<Family>,
    /// All families' repository globs in one set; `family_of[glob index]` is the family index.
    family_set: LazyGlobSet,
    family_of: Vec<usize>,
    mirrors: Vec<(String, String)>,
    mappings: Vec<Mapping>,
    users: BTreeMap<String, ExistingUser>,
    new_user: NewUser,
    numeric: (u32, u32),
    create: Vec<CreateRecipe>,
    self_managed: LazyGlobSet,
    self_managed_notes: Vec<Option<String>>,
    /// Per glob of `self_managed`: its entry's `entrypoint_reads_command`.
    self_managed_reads: Vec<bool>,
}

/// A runtime template: literal text and `{placeholder}`s.
#[derive(Debug, Clone)]
struct Template(Vec<Piece>);

#[derive(Debug, Clone)]
enum Piece {
    Text(String),
    Var(String),
}

const SPECIAL_VARS: [&str; 3] = ["os_suite", "debian_version", "distroless_debian"];

impl Template {
    fn parse(text: &str) -> Result<Template, String> {
        let mut pieces = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                pieces.push(Piece::Text(rest[..open].to_string()));
            }
            let close = rest[open..]
                .find('}')
                .ok_or_else(|| format!("unclosed `{{` in template `{text}`"))?;
            let var = &rest[open + 1..open + close];
            if var.is_empty() || !var.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(format!("bad placeholder `{{{var}}}` in template `{text}`"));
            }
            pieces.push(Piece::Var(var.to_string()));
            rest = &rest[open + close + 1..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.to_string()));
        }
        Ok(Template(pieces))
    }

    fn vars(&self) -> impl Iterator<Item = &str> {
        self.0.iter().filter_map(|p| match p {
            Piece::Var(v) => Some(v.as_str()),
            Piece::Text(_) => None,
        })
    }
}

/// Expands `<name>` into `(?P<name>...)` from the family's, then the global, patterns.
fn expand_tag(
    tag: &str,
    local: &BTreeMap<String, toml::Spanned<String>>,
    global: &BTreeMap<String, toml::Spanned<String>>,
) -> Result<String, String> {
    let mut out = String::with_capacity(tag.len() * 2);
    let bytes = tag.as_bytes();
    let mut i = 0;
    while i < tag.len() {
        let name = (bytes[i] == b'<' && !tag[..i].ends_with("(?P") && !tag[..i].ends_with("(?"))
            .then(|| tag[i + 1..].find('>').map(|len| &tag[i + 1..i + 1 + len]))
            .flatten()
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
        if let Some(name) = name {
            let body = local
                .get(name)
                .or_else(|| global.get(name))
                .ok_or_else(|| format!("unknown pattern `<{name}>`"))?;
            out.push_str("(?P<");
            out.push_str(name);
            out.push('>');
            out.push_str(body.get_ref());
            out.push(')');
            i += name.len() + 2;
            continue;
        }
        let ch = tag[i..].chars().next().expect("in bounds");
        out.push(ch);
        i += ch.len_utf8();
    }
    Ok(out)
}

fn parse_version(v: &str) -> Option<Vec<u64>> {
    v.split('.').map(|p| p.parse().ok()).collect()
}

fn padded(mut v: Vec<u64>, fill: u64) -> Vec<u64> {
    v.resize(4, fill);
    v
}

/// Translates a glob over image references (`registry.corp/node:*`) into a regex whose groups
/// are the `*`s (checked now, compiled on first use unless `eager`).
fn glob_to_regex(glob: &str, eager: bool) -> Result<LazyRegex, String> {
    let mut re = String::from("^");
    let mut chars = glob.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' => re.push_str("([^/@]*)"),
            '?' => re.push_str("[^/@]"),
            '[' => {
                re.push('[');
                if chars.peek() == Some(&'!') {
                    chars.next();
                    re.push('^');
                }
                let mut closed = false;
                for d in chars.by_ref() {
                    if d == ']' {
                        closed = true;
                        break;
                    }
                    if d == '\\' || d == '[' {
                        re.push('\\');
                    }
                    re.push(d);
                }
                if !closed {
                    return Err(format!("unclosed `[` in glob `{glob}`"));
                }
                re.push(']');
            }
            '{' | '}' => return Err(format!("`{c}` is not supported in glob `{glob}`")),
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    LazyRegex::new(re, eager).map_err(|e| format!("bad glob `{glob}`: {e}"))
}

/// A glob over repositories, in canonical form; checked now with `eager`.
fn repo_glob(pattern: &str, eager: bool) -> Result<String, String> {
    let canonical = canonical_repository(pattern);
    if eager {
        super::lazy::glob(&canonical, true).map_err(|e| format!("bad glob `{pattern}`: {e}"))?;
    }
    Ok(canonical)
}

fn build_set(globs: Vec<String>, eager: bool) -> anyhow::Result<LazyGlobSet> {
    LazyGlobSet::new(globs, true, eager).map_err(|e| anyhow::anyhow!("{e}"))
}

impl Images {
    pub(crate) fn compile(layer: &Layer, sources: &Sources) -> anyhow::Result<Images> {
        let suites = layer
            .suite
            .iter()
            .map(|s| {
                (
                    s.name.clone(),
                    Suite {
                        os: s.os,
                        version: s.version.clone(),
                        distroless: s.distroless,
                    },
                )
            })
            .collect::<BTreeMap<_, _>>();
        // Global patterns were validated per source when loaded (they carry no origin after merging).
        let users: BTreeMap<String, ExistingUser> = layer
            .user
            .iter()
            .map(|u| {
                (
                    u.name.clone(),
                    ExistingUser {
                        name: u.name.clone(),
                        uid: u.uid,
                        gid: u.gid,
                        home: u.home.clone(),
                    },
                )
            })
            .collect();
        let mut families = Vec::new();
        let mut family_globs = Vec::new();
        let mut family_of = Vec::new();
        let mut eager_families = false;
        for f in &layer.family {
            eager_families |= sources.eager(f.origin);
            for r in &f.repositories {
                let g = repo_glob(r.get_ref(), sources.eager(f.origin))
                    .map_err(|e| sources.error(f.origin, r.span(), &e))?;
                family_globs.push(g);
                family_of.push(families.len());
            }
            families.push(compile_family(f, layer, &suites, &users, sources)?);
        }
        let mut mappings = Vec::new();
        for m in &layer.mapping {
            mappings.push(compile_mapping(m, layer, &users, sources)?);
        }
        let mut self_managed = Vec::new();
        let mut self_managed_notes = Vec::new();
        let mut self_managed_reads = Vec::new();
        let mut eager_self_managed = false;
        for s in &layer.self_managed {
            eager_self_managed |= sources.eager(s.origin);
            for r in &s.repositories {
                let g = repo_glob(r.get_ref(), sources.eager(s.origin))
                    .map_err(|e| sources.error(s.origin, r.span(), &e))?;
                self_managed.push(g);
                self_managed_notes.push(s.note.clone());
                self_managed_reads.push(s.entrypoint_reads_command);
            }
        }
        let nu = layer.new_user.clone().unwrap_or_default();
        let new_user = NewUser {
            name: nu.name.unwrap_or_else(|| "app".into()),
            group: nu.group.unwrap_or_else(|| "app".into()),
            uid: nu.uid.unwrap_or(10001),
            gid: nu.gid.unwrap_or(10001),
            home: nu.home.unwrap_or_else(|| "/home/app".into()),
        };
        let num = layer.numeric_user.clone().unwrap_or_default();
        Ok(Images {
            suites,
            families,
            family_set: build_set(family_globs, eager_families)?,
            family_of,
            mirrors: layer
                .mirror
                .iter()
                .map(|m| (m.prefix.clone(), m.upstream.clone()))
                .collect(),
            mappings,
            users,
            new_user,
            numeric: (num.uid.unwrap_or(65532), num.gid.unwrap_or(65532)),
            create: layer
                .create
                .iter()
                .map(|c| CreateRecipe {
                    os: c.os.clone(),
                    command: c.command.clone(),
                })
                .collect(),
            self_managed: build_set(self_managed, eager_self_managed)?,
            self_managed_notes,
            self_managed_reads,
        })
    }
}

fn compile_family(
    f: &FamilyDef,
    layer: &Layer,
    suites: &BTreeMap<String, Suite>,
    users: &BTreeMap<String, ExistingUser>,
    sources: &Sources,
) -> anyhow::Result<Family> {
    let o = f.origin;
    // A rule's tag expands the family's patterns and the global ones, which an override may
    // have replaced: then it is compiled at load like the override's own entries.
    let eager = sources.eager(o) || layer.patterns_origin.is_some_and(|p| sources.eager(p));
    for (name, body) in &f.patterns {
        check_regex(body.get_ref(), sources.eager(o))
            .map_err(|e| sources.error(o, body.span(), &format!("bad pattern `{name}`: {e}")))?;
    }
    let check_user = |u: &Option<toml::Spanned<String>>| -> anyhow::Result<Option<String>> {
        match u {
            Some(u) if !users.contains_key(u.get_ref()) => Err(sources.error(
                o,
                u.span(),
                &format!(
                    "unknown user `{}` (define it in a [[user]] table)",
                    u.get_ref()
                ),
            )),
            Some(u) => Ok(Some(u.get_ref().clone())),
            None => Ok(None),
        }
    };
    let mut default_suites = Vec::new();
    for d in &f.default_suites {
        if !suites.contains_key(d.suite.get_ref()) {
            return Err(sources.error(
                o,
                d.suite.span(),
                &format!("unknown suite `{}`", d.suite.get_ref()),
            ));
        }
        let v = d.versions.get_ref();
        let key = match v.split_once("..=") {
            Some((a, b)) => match (parse_version(a), parse_version(b)) {
                (Some(a), Some(b)) => VersionKey::Range(padded(a, 0), padded(b, u64::MAX)),
                _ => {
                    return Err(sources.error(
                        o,
                        d.versions.span(),
                        &format!("bad version range `{v}` (want `1.2..=1.4.7`)"),
                    ));
                }
            },
            None => VersionKey::Exact(v.clone()),
        };
        default_suites.push((key, d.suite.get_ref().clone()));
    }
    let mut version_aliases = BTreeMap::new();
    for (alias, version) in &f.version_aliases {
        if super::versions::components(version.get_ref()).is_none() {
            return Err(sources.error(
                o,
                version.span(),
                &format!(
                    "version alias `{alias}` = `{}` is not a version number",
                    version.get_ref()
                ),
            ));
        }
        version_aliases.insert(alias.clone(), version.get_ref().clone());
    }
    let mut env = BTreeMap::new();
    for (name, value) in &f.env {
        let valid_name = !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name.bytes().all(|b| b == b'_' || b.is_ascii_alphanumeric());
        if !valid_name || value.get_ref().contains('$') {
            return Err(sources.error(
                o,
                value.span(),
                &format!("bad env `{name}`: want a variable name and a literal value"),
            ));
        }
        env.insert(name.clone(), value.get_ref().clone());
    }
    let mut rules = Vec::new();
    for r in &f.rule {
        let expanded = expand_tag(r.tag.get_ref(), &f.patterns, &layer.patterns)
            .map_err(|e| sources.error(o, r.tag.span(), &e))?;
        let mut anchored = String::with_capacity(expanded.len() + 6);
        anchored.push_str("^(?:");
        anchored.push_str(&expanded);
        anchored.push_str(")$");
        let tag = LazyRegex::new(anchored, eager)
            .map_err(|e| sources.error(o, r.tag.span(), &format!("bad tag pattern: {e}")))?;
        let mut runtime = Vec::new();
        for c in r.runtime.iter().flat_map(|rt| rt.candidates()) {
            runtime.push(compile_candidate(&c, &tag).map_err(|e| {
                sources.error(
                    o,
                    r.tag.span(),
                    &format!("family `{}`: runtime of this rule: {e}", f.name),
                )
            })?);
        }
        rules.push(Rule {
            tag,
            role: r.role,
            os: r.os,
            user: check_user(&r.user)?,
            runs_as: check_user(&r.runs_as)?,
            runtime,
            note: r.note.clone(),
        });
    }
    Ok(Family {
        name: f.name.clone(),
        ecosystem: f.ecosystem.as_ref().map(|e| e.get_ref().clone()),
        os: f.os,
        user: check_user(&f.user)?,
        default_suites,
        version_aliases,
        env,
        rules,
    })
}

fn compile_candidate(c: &CandidateDef, tag: &LazyRegex) -> Result<Candidate, String> {
    let image = Template::parse(&c.image)?;
    // A tag compiled on first use (a built-in one) was checked by the test suite instead.
    let names = tag.capture_names().unwrap_or_default();
    for v in image.vars() {
        if !SPECIAL_VARS.contains(&v)
            && tag.capture_names().is_some()
            && !names.iter().any(|n| n == v)
        {
            return Err(format!(
                "placeholder `{{{v}}}` in `{}` is neither a group of the tag pattern nor one of {SPECIAL_VARS:?}",
                c.image
            ));
        }
    }
    Ok(Candidate {
        image,
        shell: c.shell,
        cgo: c.cgo,
        web: c.web,
        confident: c.confident,
        note: c.note.clone(),
    })
}

fn compile_mapping(
    m: &MappingDef,
    layer: &Layer,
    users: &BTreeMap<String, ExistingUser>,
    sources: &Sources,
) -> anyhow::Result<Mapping> {
    let o = m.origin;
    let from = glob_to_regex(m.from.get_ref(), sources.eager(o))
        .map_err(|e| sources.error(o, m.from.span(), &e))?;
    if let Some(to) = &m.to {
        let stars = m.from.get_ref().matches('*').count();
        if to.matches('*').count() > stars {
            return Err(sources.error(
                o,
                m.from.span(),
                &format!("`to = \"{to}\"` has more `*` than `from` captures"),
            ));
        }
    }
    if let Some(f) = &m.family
        && !layer.family.iter().any(|d| &d.name == f.get_ref())
    {
        return Err(sources.error(o, f.span(), &format!("unknown family `{}`", f.get_ref())));
    }
    for u in [&m.user, &m.runs_as].into_iter().flatten() {
        if !users.contains_key(u.get_ref()) {
            return Err(sources.error(o, u.span(), &format!("unknown user `{}`", u.get_ref())));
        }
    }
    Ok(Mapping {
        from,
        role: m.role.unwrap_or(if m.to.is_some() {
            RoleDef::Build
        } else {
            RoleDef::Runtime
        }),
        to: m.to.clone(),
        family: m.family.as_ref().map(|f| f.get_ref().clone()),
        os: m.os,
        user: m.user.as_ref().map(|u| u.get_ref().clone()),
        runs_as: m.runs_as.as_ref().map(|u| u.get_ref().clone()),
        confident: m.confident,
        note: m.note.clone(),
    })
}

/// A matched family rule with its captures.
struct Hit<'a> {
    family: &'a Family,
    rule: &'a Rule,
    groups: BTreeMap<String, String>,
}

impl Images {
    /// Every matcher compiled on first use.
    #[cfg(test)]
    pub(crate) fn deferred(&self) -> Vec<&dyn super::lazy::Deferred> {
        let mut out: Vec<&dyn super::lazy::Deferred> = vec![&self.family_set, &self.self_managed];
        for f in &self.families {
            out.extend(f.rules.iter().map(|r| &r.tag as &dyn super::lazy::Deferred));
        }
        out.extend(
            self.mappings
                .iter()
                .map(|m| &m.from as &dyn super::lazy::Deferred),
        );
        out
    }

    fn family_named(&self, name: &str) -> Option<&Family> {
        self.families.iter().find(|f| f.name == name)
    }

    /// Resolves a mirror: the upstream canonical name and the mirror used.
    fn upstream(&self, image: &ImageRef) -> (String, Option<usize>) {
        let name = image.name();
        for (i, (prefix, upstream)) in self.mirrors.iter().enumerate() {
            if let Some(rest) = name.strip_prefix(prefix.as_str()) {
                return (canonical_repository(&format!("{upstream}{rest}")), Some(i));
            }
        }
        (image.canonical_name(), None)
    }

    fn hit(&self, image: &ImageRef) -> Option<Hit<'_>> {
        let (canonical, _) = self.upstream(image);
        let tag = image.tag_or_latest()?;
        let first = *self.family_set.matches(&canonical).first()?;
        let family = &self.families[self.family_of[first]];
        for rule in &family.rules {
            // A rule that failed to compile leaves the tag unknown rather than trying the next.
            if let Some(caps) = rule.tag.captures(tag).ok()? {
                let groups = caps
                    .into_iter()
                    .filter_map(|(n, m)| Some((n?.to_string(), m?.to_string())))
                    .collect();
                return Some(Hit {
                    family,
                    rule,
                    groups,
                });
            }
        }
        None
    }

    fn default_suite(&self, family: &Family, version: &str) -> Option<String> {
        let v = parse_version(version).map(|v| padded(v, u64::MAX));
        family
            .default_suites
            .iter()
            .find(|(key, _)| match key {
                VersionKey::Exact(e) => e == version,
                VersionKey::Range(lo, hi) => v.as_ref().is_some_and(|v| lo <= v && v <= hi),
            })
            .map(|(_, s)| s.clone())
    }

    fn os_suite(&self, hit: &Hit<'_>) -> Option<String> {
        for g in ["suite", "ubuntu"] {
            if let Some(s) = hit.groups.get(g).filter(|s| !s.is_empty()) {
                return Some(s.clone());
            }
        }
        let version = hit.groups.get("version").map_or("latest", |v| v.as_str());
        let version = if version.is_empty() {
            "latest"
        } else {
            version
        };
        self.default_suite(hit.family, version)
    }

    fn os_of(&self, hit: &Hit<'_>) -> Os {
        let explicit = hit.rule.os;
        if let Some(os) = explicit
            && !matches!(os, OsDef::Debian | OsDef::Ubuntu)
        {
            return os_from_def(os, None);
        }
        if let Some(suite) = self.os_suite(hit)
            && let Some(s) = self.suites.get(&suite)
        {
            return os_from_def(s.os, Some(suite));
        }
        match explicit.or(hit.family.os) {
            Some(os) => os_from_def(os, None),
            None => Os::Unknown,
        }
    }

    pub(crate) fn user_plan(&self, os: &Os, user: Option<&str>) -> Option<UserPlan> {
        if let Some(u) = user.and_then(|u| self.users.get(u)) {
            return Some(UserPlan::Existing(u.clone()));
        }
        let def = match os {
            Os::Debian { .. } => OsDef::Debian,
            Os::Ubuntu { .. } => OsDef::Ubuntu,
            Os::Alpine => OsDef::Alpine,
            Os::Busybox => OsDef::Busybox,
            Os::Scratch => {
                return Some(UserPlan::Numeric {
                    uid: self.numeric.0,
                    gid: self.numeric.1,
                });
            }
            Os::Distroless | Os::Unknown => return None,
        };
        let recipe = self.create.iter().find(|c| c.os.contains(&def))?;
        let n = &self.new_user;
        let command = recipe
            .command
            .replace("{name}", &n.name)
            .replace("{group}", &n.group)
            .replace("{uid}", &n.uid.to_string())
            .replace("{gid}", &n.gid.to_string())
            .replace("{home}", &n.home);
        Some(UserPlan::Create {
            name: n.name.clone(),
            group: n.group.clone(),
            uid: n.uid,
            gid: n.gid,
            home: n.home.clone(),
            command,
        })
    }

    fn self_managed(&self, image: &ImageRef) -> Option<Option<String>> {
        let (canonical, _) = self.upstream(image);
        let first = *self.self_managed.matches(&canonical).first()?;
        Some(self.self_managed_notes[first].clone())
    }

    fn mapping(&self, image: &ImageRef) -> Option<(&Mapping, Vec<String>)> {
        let written = match &image.tag {
            Some(t) => format!("{}:{t}", image.name()),
            None => image.name(),
        };
        for m in &self.mappings {
            // A mapping that failed to compile leaves the image unknown.
            if let Some(c) = m.from.captures(&written).ok()? {
                let stars = c
                    .into_iter()
                    .map(|(_, g)| g.map_or(String::new(), str::to_string))
                    .collect();
                return Some((m, stars));
            }
        }
        None
    }

    /// Whether the image manages its own user and starts through an ENTRYPOINT script that
    /// reads the command it is given (`entrypoint_reads_command`).
    pub(crate) fn entrypoint_reads_command(&self, image: &ImageRef) -> bool {
        let (canonical, _) = self.upstream(image);
        self.self_managed
            .matches(&canonical)
            .first()
            .is_some_and(|&i| self.self_managed_reads[i])
            && self.is_self_managed(image)
    }

    pub(crate) fn is_self_managed(&self, image: &ImageRef) -> bool {
        self.image(image)
            .is_some_and(|i| i.role == ImageRole::SelfManaged)
    }

    pub(crate) fn image(&self, image: &ImageRef) -> Option<ImageInfo> {
        if let Some(note) = self.self_managed(image) {
            return Some(ImageInfo {
                family: image.canonical_name(),
                ecosystem: None,
                role: ImageRole::SelfManaged,
                os: Os::Unknown,
                user: None,
                runs_as: None,
                version: None,
                notes: note.into_iter().collect(),
                env: BTreeMap::new(),
            });
        }
        if let Some((m, _)) = self.mapping(image) {
            let family = m.family.as_deref().and_then(|f| self.family_named(f));
            let os =
                m.os.or(family.and_then(|f| f.os))
                    .map_or(Os::Unknown, |o| os_from_def(o, None));
            let role = role_from_def(m.role);
            let user_name = m.user.as_deref().or(family.and_then(|f| f.user.as_deref()));
            return Some(ImageInfo {
                family: m.family.clone().unwrap_or_else(|| image.canonical_name()),
                ecosystem: family.and_then(|f| f.ecosystem.clone()),
                role,
                user: if role == ImageRole::SelfManaged {
                    None
                } else {
                    self.user_plan(&os, user_name)
                },
                os,
                runs_as: m
                    .runs_as
                    .as_deref()
                    .and_then(|u| self.users.get(u))
                    .cloned(),
                version: None,
                notes: m.note.clone().into_iter().collect(),
                env: family.map(|f| f.env.clone()).unwrap_or_default(),
            });
        }
        let hit = self.hit(image)?;
        let role = role_from_def(hit.rule.role);
        let os = self.os_of(&hit);
        let user_name = hit.rule.user.as_deref().or(hit.family.user.as_deref());
        Some(ImageInfo {
            family: hit.family.name.clone(),
            ecosystem: hit.family.ecosystem.clone(),
            role,
            user: if role == ImageRole::SelfManaged {
                None
            } else {
                self.user_plan(&os, user_name)
            },
            os,
            runs_as: hit
                .rule
                .runs_as
                .as_deref()
                .and_then(|u| self.users.get(u))
                .cloned(),
            version: hit
                .groups
                .get("version")
                .filter(|v| !v.is_empty())
                .map(|v| {
                    hit.family
                        .version_aliases
                        .get(v)
                        .cloned()
                        .unwrap_or_else(|| v.clone())
                })
                .filter(|v| super::versions::components(v).is_some()),
            notes: hit.rule.note.clone().into_iter().collect(),
            env: hit.family.env.clone(),
        })
    }

    pub(crate) fn runtime_image(
        &self,
        image: &ImageRef,
        needs: &RuntimeNeeds,
    ) -> Option<RuntimeImage> {
        let info = self.image(image)?;
        match info.role {
            ImageRole::SelfManaged => return None,
            ImageRole::Runtime => {
                return Some(RuntimeImage {
                    reference: image.to_string(),
                    confident: true,
                    unchanged: true,
                    os: info.os,
                    user: info.user,
                    notes: info.notes,
                    // The reference is the image's own text: the same whenever it has a tag.
                    same_image: image.tag.is_some(),
                });
            }
            ImageRole::Build => {}
        }
        let mut notes = Vec::new();
        let (reference, confident) = if let Some((m, stars)) = self.mapping(image) {
            let to = m.to.as_ref()?;
            let mut out = String::new();
            let mut stars = stars.into_iter();
            for (i, part) in to.split('*').enumerate() {
                if i > 0 {
                    out.push_str(&stars.next().unwrap_or_default());
                }
                out.push_str(part);
            }
            notes.extend(m.note.clone());
            (out, m.confident)
        } else {
            let hit = self.hit(image)?;
            let (candidate, rendered) = hit.rule.runtime.iter().find_map(|c| {
                let applies = c.shell.is_none_or(|s| s == needs.shell)
                    && c.cgo.is_none_or(|v| v == needs.cgo)
                    && c.web.is_none_or(|w| needs.web == Some(w));
                if !applies {
                    return None;
                }
                self.render(&c.image, &hit).map(|r| (c, r))
            })?;
            notes.extend(candidate.note.clone());
            let (_, mirror) = self.upstream(image);
            let reference = self.respell(image, mirror, &rendered)?;
            (reference, candidate.confident)
        };
        let mut confident = confident;
        if image.digest.is_some() {
            confident = false;
            notes.push(
                "the build image was pinned by digest; the runtime image is not: pin it again"
                    .into(),
            );
        }
        let parsed = ImageRef::parse(&reference)?;
        let target = self.image(&parsed);
        let (os, user) = match target {
            Some(t) => (t.os, t.user),
            None => (Os::Unknown, None),
        };
        // The tags first: they are cheap to compare and mostly differ (`golang:1.22` runs on
        // `debian:bookworm-slim`), which spares the canonical names.
        let same_image = parsed.tag.is_some()
            && parsed.tag == image.tag
            && parsed.canonical_name() == image.canonical_name();
        Some(RuntimeImage {
            reference,
            confident,
            unchanged: false,
            os,
            user,
            notes,
            same_image,
        })
    }

    /// Renders a template; `None` when a needed value is unknown or the result is not a reference.
    fn render(&self, template: &Template, hit: &Hit<'_>) -> Option<String> {
        let mut out = String::new();
        for piece in &template.0 {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Var(v) => match v.as_str() {
                    "os_suite" => out.push_str(&self.os_suite(hit)?),
                    "debian_version" | "distroless_debian" => {
                        let suite = self.os_suite(hit)?;
                        let s = self.suites.get(&suite)?;
                        if s.os != OsDef::Debian || (v == "distroless_debian" && !s.distroless) {
                            return None;
                        }
                        out.push_str(&s.version);
                    }
                    group => out.push_str(hit.groups.get(group).map_or("", |g| g.as_str())),
                },
            }
        }
        let (name, tag) = match out.rfind(':') {
            Some(c) if !out[c..].contains('/') => (&out[..c], Some(&out[c + 1..])),
            _ => (out.as_str(), None),
        };
        let out = match tag {
            Some(tag) => {
                let mut t = tag.to_string();
                while t.contains("--") {
                    t = t.replace("--", "-");
                }
                let t = t.trim_matches('-');
                if t.is_empty() {
                    return None;
                }
                format!("{name}:{t}")
            }
            None => out.clone(),
        };
        ImageRef::parse(&out).map(|_| out)
    }

    /// Spells a rendered reference like the input: same Docker Hub form, or through the same mirror.
    fn respell(&self, input: &ImageRef, mirror: Option<usize>, rendered: &str) -> Option<String> {
        let r = ImageRef::parse(rendered)?;
        let canonical = r.canonical_name();
        let suffix = rendered[r.name_range.end..].to_string();
        if let Some(used) = mirror {
            // Through a mirror: the runtime image must be reachable through a declared mirror too,
            // the input's own mirror first.
            let order =
                std::iter::once(used).chain((0..self.mirrors.len()).filter(move |&i| i != used));
            for (prefix, upstream) in order.filter_map(|i| self.mirrors.get(i)) {
                let up = canonical_repository(&format!("{upstream}x"));
                let up = up.strip_suffix('x').unwrap_or(&up);
                if let Some(rest) = canonical.strip_prefix(up) {
                    return Some(format!("{prefix}{rest}{suffix}"));
                }
            }
            return None;
        }
        match input.hub_style() {
            Some((style, registry)) => {
                Some(format!("{}{suffix}", spell(&canonical, style, registry)))
            }
            None => Some(rendered.to_string()),
        }
    }
}

fn role_from_def(r: RoleDef) -> ImageRole {
    match r {
        RoleDef::Build => ImageRole::Build,
        RoleDef::Runtime => ImageRole::Runtime,
        RoleDef::SelfManaged => ImageRole::SelfManaged,
    }
}

fn os_from_def(os: OsDef, suite: Option<String>) -> Os {
    match os {
        OsDef::Debian => Os::Debian { suite },
        OsDef::Ubuntu => Os::Ubuntu { release: suite },
        OsDef::Alpine => Os::Alpine,
        OsDef::Busybox => Os::Busybox,
        OsDef::Distroless => Os::Distroless,
        OsDef::Scratch => Os::Scratch,
    }
}
