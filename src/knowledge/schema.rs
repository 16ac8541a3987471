//! The serde shape of the knowledge files (`transforms/*.toml`) and of the user's `[knowledge]`
//! overrides: one `Layer` per file, every table `deny_unknown_fields`, merged layer over layer.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use toml::Spanned;

/// One knowledge file (or the user's `[knowledge]` table). Any key may appear in any file; the
/// built-in files keep them apart by topic.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Layer {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub launcher: Vec<LauncherDef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ecosystem: Vec<EcosystemDef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub manager: Vec<ManagerDef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<CommandDef>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub patterns: BTreeMap<String, Spanned<String>>,
    /// The last source that set a global pattern (tag rules of every family expand them).
    #[serde(skip)]
    pub patterns_origin: Option<Origin>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suite: Vec<SuiteDef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mirror: Vec<MirrorDef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mapping: Vec<MappingDef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub family: Vec<FamilyDef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub user: Vec<UserDef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_user: Option<NewUserDef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numeric_user: Option<NumericUserDef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub create: Vec<CreateDef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub self_managed: Vec<SelfManagedDef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub privilege_dropper: Vec<DropperDef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub root_program: Vec<RootProgramDef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub writer: Vec<WriterDef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wrapper: Vec<WrapperDef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub toolchain: Vec<ToolchainDef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apt: Option<PackagesDef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apk: Option<PackagesDef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_stage: Option<RuntimeStageDef>,
}

/// Index of the source (file or override) an entry came from, for error messages.
pub(crate) type Origin = usize;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LauncherDef {
    pub programs: Vec<Spanned<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module_flag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subcommand: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub value_flags: Vec<String>,
    #[serde(skip)]
    pub origin: Origin,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum CarryDef {
    AppDir,
    SitePackages,
    Binary,
    Artifact,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EcosystemDef {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub families: Vec<String>,
    pub carry: CarryDef,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependency_dirs: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub artifacts: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dev_servers: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dev_files: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub build: Vec<BuildDef>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub native_packages: BTreeMap<String, Vec<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub asset_packages: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub js_runtime_dependencies: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interpreters: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub package_managers: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub versions: Option<Spanned<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub versions_note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(skip)]
    pub origin: Origin,
}

/// A build tool whose output the runtime stage can carry alone (`[[ecosystem.build]]`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BuildDef {
    pub tool: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub config: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runtime: Vec<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tsconfig: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub serves: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ManagerDef {
    pub id: String,
    pub ecosystem: Spanned<String>,
    #[serde(default)]
    pub required: Vec<Spanned<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required_any: Vec<Spanned<String>>,
    #[serde(default)]
    pub lockfiles: Vec<Spanned<String>>,
    #[serde(default)]
    pub optional: Vec<Spanned<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub value_flags: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub manifest_flags: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub production: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lifecycle_scripts: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scripts_disabled_by: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub build_scripts: Vec<Spanned<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prune: Option<PruneDef>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub own_environment: bool,
    #[serde(skip)]
    pub origin: Origin,
}

/// `prune = "npm prune --omit=dev"` or a list of `{ command, versions }`, tried in order.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
pub(crate) enum PruneDef {
    One(String),
    Many(Vec<PruneEntryDef>),
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PruneEntryDef {
    pub command: String,
    /// No span: it sits in an untagged enum, which loses them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub versions: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum ArgsDef {
    None,
    Any,
    Manifests,
    Script,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum KindDef {
    DependencyInstall,
    Build,
    Prune,
    InstallsProject,
    AddsPackages,
    RunScript,
    Test,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OutputDef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub when: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CommandDef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<Spanned<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecosystem: Option<Spanned<String>>,
    pub kind: KindDef,
    pub program: Vec<Spanned<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subcommand: Vec<String>,
    #[serde(default = "args_none")]
    pub args: ArgsDef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args_match: Option<Spanned<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args_require: Option<Spanned<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub require: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub require_any: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub forbid: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outputs: Vec<OutputDef>,
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub pure: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runs_scripts: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(skip)]
    pub origin: Origin,
}

fn is_true(b: &bool) -> bool {
    *b
}

fn args_none() -> ArgsDef {
    ArgsDef::None
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum OsDef {
    Debian,
    Ubuntu,
    Alpine,
    Busybox,
    Distroless,
    Scratch,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SuiteDef {
    pub name: String,
    pub os: OsDef,
    pub version: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub distroless: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MirrorDef {
    pub prefix: String,
    pub upstream: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum RoleDef {
    Build,
    Runtime,
    SelfManaged,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MappingDef {
    pub from: Spanned<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<RoleDef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<Spanned<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<OsDef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<Spanned<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runs_as: Option<Spanned<String>>,
    #[serde(default = "yes")]
    pub confident: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(skip)]
    pub origin: Origin,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SuiteRangeDef {
    pub versions: Spanned<String>,
    pub suite: Spanned<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CandidateDef {
    pub image: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shell: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgo: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web: Option<bool>,
    #[serde(default = "yes")]
    pub confident: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// `runtime = "image"`, `runtime = { image = ... }` or `runtime = [{ image = ... }, ...]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
pub(crate) enum RuntimeDef {
    Template(String),
    One(CandidateDef),
    Many(Vec<CandidateDef>),
}

impl RuntimeDef {
    pub fn candidates(&self) -> Vec<CandidateDef> {
        match self {
            RuntimeDef::Template(image) => vec![CandidateDef {
                image: image.clone(),
                shell: None,
                cgo: None,
                web: None,
                confident: true,
                note: None,
            }],
            RuntimeDef::One(c) => vec![c.clone()],
            RuntimeDef::Many(cs) => cs.clone(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RuleDef {
    pub tag: Spanned<String>,
    pub role: RoleDef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<OsDef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<Spanned<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runs_as: Option<Spanned<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<RuntimeDef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FamilyDef {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecosystem: Option<Spanned<String>>,
    pub repositories: Vec<Spanned<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<OsDef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<Spanned<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub default_suites: Vec<SuiteRangeDef>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub version_aliases: BTreeMap<String, Spanned<String>>,
    /// ENV the family's images set (`GOPATH = "/go"`), which a Dockerfile's `$VAR` can use.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, Spanned<String>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub patterns: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    pub rule: Vec<RuleDef>,
    #[serde(skip)]
    pub origin: Origin,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserDef {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewUserDef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NumericUserDef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<u32>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateDef {
    pub os: Vec<OsDef>,
    pub command: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SelfManagedDef {
    pub repositories: Vec<Spanned<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The image's ENTRYPOINT is a script that reads the command it is given (`redis-server`
    /// set up and run as the service user, anything else run as is).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub entrypoint_reads_command: bool,
    #[serde(skip)]
    pub origin: Origin,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DropperDef {
    pub program: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requires: Vec<String>,
}

/// A program that needs root when the container starts (a system daemon, a service manager, a
/// command that changes the system): a start command that runs one keeps root.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RootProgramDef {
    pub program: String,
    pub note: String,
}

/// A program a start command runs to start another one (an init process, a shell, `env`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WrapperDef {
    pub program: String,
}

/// A build tool that compiles the app when the container starts (`go run`, `mvn`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ToolchainDef {
    pub program: String,
    /// Counts only with this subcommand (`run` for `go run`); none: any use counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subcommand: Option<String>,
}

/// A framework or library that writes into the application's own tree at run time.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WriterDef {
    pub id: Spanned<String>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub npm: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pip: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gem: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub composer: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub go: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cargo: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<Spanned<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub start: Vec<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub app_dir: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dirs: Vec<Spanned<String>>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub chown_files: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(skip)]
    pub origin: Origin,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PackagesDef {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub build_only: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runtime: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dev_suffixes: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dev: BTreeMap<String, Spanned<DevDef>>,
}

/// What multi-stage knows about the runtime stage it writes: the default PATH of the runtime
/// images, and the commands a RUN may be made of to be carried into that stage. A list an
/// override gives replaces the built-in one.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RuntimeStageDef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prep: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub neutral: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_cleanup: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queries: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_flags: Option<Vec<String>>,
}

/// `"libpq-dev" = ["libpq5"]` (the same names on every Debian suite) or
/// `"libssl-dev" = { bookworm = ["libssl3"], trixie = ["libssl3t64"] }` (names per suite).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
pub(crate) enum DevDef {
    All(Vec<String>),
    BySuite(BTreeMap<String, Vec<String>>),
}

impl Layer {
    /// Stamps every entry that can fail to compile with the source it came from.
    pub fn set_origin(&mut self, origin: Origin) {
        if !self.patterns.is_empty() {
            self.patterns_origin = Some(origin);
        }
        self.launcher.iter_mut().for_each(|d| d.origin = origin);
        self.ecosystem.iter_mut().for_each(|d| d.origin = origin);
        self.manager.iter_mut().for_each(|d| d.origin = origin);
        self.command.iter_mut().for_each(|d| d.origin = origin);
        self.mapping.iter_mut().for_each(|d| d.origin = origin);
        self.family.iter_mut().for_each(|d| d.origin = origin);
        self.self_managed.iter_mut().for_each(|d| d.origin = origin);
        self.writer.iter_mut().for_each(|d| d.origin = origin);
    }

    /// Merges `over` on top of `self`: keyed entries (ecosystem, manager, family, suite, user,
    /// privilege_dropper, root_program, writer, wrapper, toolchain) replace the entry with the same key; ordered entries (launcher, command,
    /// mirror, mapping, create, self_managed) and new families go first so they win.
    pub fn merge(&mut self, over: Layer) {
        prepend(&mut self.launcher, over.launcher);
        replace_by_key(&mut self.ecosystem, over.ecosystem, |e| e.id.clone(), false);
        replace_by_key(&mut self.manager, over.manager, |m| m.id.clone(), false);
        prepend(&mut self.command, over.command);
        for (k, v) in over.patterns {
            self.patterns.insert(k, v);
        }
        self.patterns_origin = self.patterns_origin.max(over.patterns_origin);
        replace_by_key(&mut self.suite, over.suite, |s| s.name.clone(), false);
        prepend(&mut self.mirror, over.mirror);
        prepend(&mut self.mapping, over.mapping);
        replace_by_key(&mut self.family, over.family, |f| f.name.clone(), true);
        replace_by_key(&mut self.user, over.user, |u| u.name.clone(), false);
        if let Some(n) = over.new_user {
            let base = self.new_user.get_or_insert_with(NewUserDef::default);
            base.name = n.name.or(base.name.take());
            base.group = n.group.or(base.group.take());
            base.uid = n.uid.or(base.uid);
            base.gid = n.gid.or(base.gid);
            base.home = n.home.or(base.home.take());
        }
        if let Some(n) = over.numeric_user {
            let base = self
                .numeric_user
                .get_or_insert_with(NumericUserDef::default);
            base.uid = n.uid.or(base.uid);
            base.gid = n.gid.or(base.gid);
        }
        if let Some(r) = over.runtime_stage {
            let base = self
                .runtime_stage
                .get_or_insert_with(RuntimeStageDef::default);
            base.path = r.path.or(base.path.take());
            base.prep = r.prep.or(base.prep.take());
            base.neutral = r.neutral.or(base.neutral.take());
            base.build_cleanup = r.build_cleanup.or(base.build_cleanup.take());
            base.queries = r.queries.or(base.queries.take());
            base.query_flags = r.query_flags.or(base.query_flags.take());
        }
        prepend(&mut self.create, over.create);
        prepend(&mut self.self_managed, over.self_managed);
        replace_by_key(
            &mut self.privilege_dropper,
            over.privilege_dropper,
            |d| d.program.clone(),
            false,
        );
        replace_by_key(
            &mut self.root_program,
            over.root_program,
            |r| r.program.clone(),
            false,
        );
        replace_by_key(
            &mut self.writer,
            over.writer,
            |w| w.id.get_ref().clone(),
            false,
        );
        replace_by_key(
            &mut self.wrapper,
            over.wrapper,
            |w| w.program.clone(),
            false,
        );
        replace_by_key(
            &mut self.toolchain,
            over.toolchain,
            |t| format!("{} {}", t.program, t.subcommand.as_deref().unwrap_or("")),
            false,
        );
        merge_packages(&mut self.apt, over.apt);
        merge_packages(&mut self.apk, over.apk);
    }
}

fn prepend<T>(base: &mut Vec<T>, over: Vec<T>) {
    if over.is_empty() {
        return;
    }
    let old = std::mem::take(base);
    base.extend(over);
    base.extend(old);
}

fn replace_by_key<T>(base: &mut Vec<T>, over: Vec<T>, key: impl Fn(&T) -> String, new_first: bool) {
    let mut fresh = Vec::new();
    for item in over {
        let k = key(&item);
        match base.iter_mut().find(|b| key(b) == k) {
            Some(slot) => *slot = item,
            None => fresh.push(item),
        }
    }
    if new_first {
        prepend(base, fresh);
    } else {
        base.extend(fresh);
    }
}

fn merge_packages(base: &mut Option<PackagesDef>, over: Option<PackagesDef>) {
    let Some(over) = over else { return };
    let base = base.get_or_insert_with(PackagesDef::default);
    let named: Vec<String> = over
        .build_only
        .iter()
        .chain(over.runtime.iter())
        .chain(over.dev.keys())
        .cloned()
        .collect();
    base.build_only.retain(|p| !named.contains(p));
    base.runtime.retain(|p| !named.contains(p));
    base.dev.retain(|p, _| !named.contains(p));
    if !over.dev_suffixes.is_empty() {
        base.dev_suffixes = over.dev_suffixes;
    }
    base.build_only.extend(over.build_only);
    base.runtime.extend(over.runtime);
    base.dev.extend(over.dev);
}
