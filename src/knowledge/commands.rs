//! Command knowledge compiled from `ecosystems.toml`: launchers, package managers (manifests,
//! flag grammar) and the ordered command patterns that classify one simple shell command.

use std::collections::BTreeMap;

use super::Sources;
use super::lazy::{LazyGlobSet, LazyRegex};
use super::schema::{
    ArgsDef, CarryDef, CommandDef, KindDef, Layer, ManagerDef, OutputDef, PruneDef,
};
use super::versions::VersionRange;

/// What a recognised command does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CommandKind {
    /// Installs the dependencies listed in manifests (`npm ci`, `pip install -r requirements.txt`).
    DependencyInstall,
    /// Builds the project (`npm run build`, `go build`, `cargo build --release`, `mvn package`).
    Build,
    /// Removes development dependencies after a build (`npm prune --omit=dev`).
    Prune,
    /// Installs the project itself, which needs its source (`pip install .`, `poetry install`).
    InstallsProject,
    /// Installs named packages no manifest lists (`npm install express`, `pip install flask`).
    AddsPackages,
    /// Runs a package.json script that is not a build (`npm run lint`).
    RunScript,
    /// Runs tests or checks (`npm test`, `go test ./...`, `cargo test`).
    Test,
}

/// The classification of one simple command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandMatch {
    pub ecosystem: String,
    /// The package manager id (`npm`, `pip`, ...); `None` for tools outside one (`tsc`, `javac`).
    pub manager: Option<String>,
    pub kind: CommandKind,
    /// The program that was classified, after launchers (`python -m pip` gives `pip`).
    pub program: String,
    /// Leading `NAME=value` assignments that were stripped, in order.
    pub env: Vec<(String, String)>,
    /// Manifest paths the command names (`-r requirements.txt`, `dotnet restore App.csproj`), as written.
    pub manifests: Vec<String>,
    /// Where the output goes (`-o` value, `target/release/`), as written; empty when unknown.
    pub outputs: Vec<String>,
    /// The script a `run` command runs (`build` in `npm run build`).
    pub script: Option<String>,
    /// The install is limited to runtime dependencies (`--omit=dev`, `--production`, `--no-dev`).
    pub production: bool,
    /// The install runs the project's lifecycle scripts (which may need the source).
    pub runs_scripts: bool,
    /// A dependency install that needs only its manifests, so it can run before `COPY . .`.
    pub pure: bool,
    /// Remarks from the knowledge files.
    pub notes: Vec<String>,
}

impl CommandMatch {
    /// The value of a stripped leading assignment (`CGO_ENABLED` in `CGO_ENABLED=0 go build`).
    pub fn env_value(&self, name: &str) -> Option<&str> {
        self.env
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What the runtime stage of an ecosystem carries over from the build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carry {
    /// The runtime image plus the whole app directory with its dependency directories (Node, Ruby, PHP).
    AppDir,
    /// The interpreter image plus the installed packages (site-packages, a venv, a prefix) and the app (Python).
    SitePackages,
    /// Only the built binaries, plus files the app reads (Go, Rust).
    Binary,
    /// A runtime (JRE, .NET) plus the built artifact (jar, publish directory).
    Artifact,
}

/// Facts about one ecosystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ecosystem {
    pub id: String,
    pub name: String,
    /// Image families of its build images.
    pub families: Vec<String>,
    pub carry: Carry,
    /// Where installed dependencies live (globs allowed).
    pub dependency_dirs: Vec<String>,
    /// Where built artifacts land (globs).
    pub artifacts: Vec<String>,
    /// Commands that start a development server (`next dev`, `nodemon`): words, a prefix of
    /// the command's words.
    pub dev_servers: Vec<Vec<String>>,
    /// Root entries of an app that only the build and development read (globs).
    pub dev_files: Vec<String>,
    /// Build tools whose output the runtime stage can carry without the sources.
    pub builds: Vec<BuildTool>,
    /// Dependency (as its lockfile names it) -> OS packages its native code needs (apt names:
    /// a `-dev` package stands for its runtime libraries).
    pub native_packages: std::collections::BTreeMap<String, Vec<String>>,
    /// OS packages only the build of front-end assets uses (nodejs, yarn).
    pub asset_packages: Vec<String>,
    /// Dependencies that need a JavaScript runtime when the app loads (`execjs`).
    pub js_runtime_dependencies: Vec<String>,
    /// The programs that run the app's code (`node`): a start command that runs only these
    /// does not run a globally installed package's command.
    pub interpreters: Vec<String>,
    /// Package managers a start command may run (`npm start`); a global install of one of them
    /// changes what the start command runs.
    pub package_managers: Vec<String>,
    /// The language versions whose images restage's recipe for this ecosystem works on
    /// (`3..` for Python: Python 2 has no `venv`); `None`: every version.
    pub versions: Option<VersionRange>,
    /// Why other versions are not supported.
    pub versions_note: Option<String>,
    pub note: Option<String>,
}

impl Ecosystem {
    /// Whether the recipe works on an image of language version `version` (`None`: a tag
    /// without a version, such as `latest`, which is a current version).
    pub fn supports(&self, version: Option<&str>) -> bool {
        match (&self.versions, version) {
            (Some(range), Some(v)) if super::versions::components(v).is_some() => range.contains(v),
            _ => true,
        }
    }
}

/// A build tool whose output restage can name (`[[ecosystem.build]]`): what it compiles, which
/// config files may move its output, and what the built app still reads at run time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildTool {
    /// The program as classified (`tsc`, `nest`, `next`, `vite`).
    pub tool: String,
    /// Root entries (globs) it compiles into its output.
    pub sources: Vec<String>,
    /// Its sources come from the tsconfig it compiles (`rootDir`, `include`, `files`).
    pub tsconfig: bool,
    /// File extensions a source directory may hold for it to be left behind.
    pub extensions: Vec<String>,
    /// Config files (globs) whose text may move the output.
    pub config: Vec<String>,
    /// Words that, in a config file, move the output (`distDir`, `outDir`).
    pub overrides: Vec<String>,
    /// Root entries (globs) the built app reads at run time, always carried.
    pub runtime: Vec<String>,
    /// A static build: the runtime stage carries it alone only when the start command names
    /// the output directory (a static file server).
    pub serves: bool,
}

/// One way to drop development dependencies, for the language versions in `versions` (every
/// version when `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prune {
    pub command: String,
    pub versions: Option<VersionRange>,
}

/// The manifest files of a package manager, as literal paths or globs relative to the build context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifests {
    /// Files the dependency install needs, all of them.
    pub required: Vec<String>,
    /// Files of which the install needs at least one (build.gradle or build.gradle.kts; a .NET project or solution).
    pub required_any: Vec<String>,
    /// Lockfiles (copy them when they exist).
    pub lockfiles: Vec<String>,
    /// Other files that change how dependencies are installed (copy them when they exist).
    pub optional: Vec<String>,
    /// Project lifecycle scripts an install runs (`postinstall`, `prepare`).
    pub lifecycle_scripts: Vec<String>,
    /// The commands that remove development dependencies from an installed tree, tried in order.
    pub prune: Vec<Prune>,
}

impl Manifests {
    /// The prune command for an image of language version `version`: the first entry whose
    /// range holds it; an entry without a range holds every version, and a tag without a
    /// version (`latest`, `lts`) only matches such an entry.
    pub fn prune_for(&self, version: Option<&str>) -> Option<&str> {
        self.prune
            .iter()
            .find(|p| match (&p.versions, version) {
                (None, _) => true,
                (Some(range), Some(v)) => range.contains(v),
                (Some(_), None) => false,
            })
            .map(|p| p.command.as_str())
    }
}

pub(crate) struct Manager {
    pub ecosystem: String,
    /// Installs into an environment it manages itself (poetry, pipenv, uv).
    pub own_environment: bool,
    pub manifests: Manifests,
    manifest_globs: LazyGlobSet,
    pub value_flags: Vec<String>,
    manifest_flags: Vec<String>,
    production: Vec<FlagSpec>,
    scripts_disabled_by: Vec<FlagSpec>,
    build_scripts: LazyGlobSet,
}

struct Launcher {
    programs: LazyGlobSet,
    module_flag: Option<String>,
    subcommand: Option<String>,
    value_flags: Vec<String>,
}

#[derive(Debug, Clone)]
struct FlagSpec {
    name: String,
    value: Option<String>,
}

impl FlagSpec {
    fn parse(spec: &str) -> FlagSpec {
        match spec.split_once('=') {
            Some((n, v)) => FlagSpec {
                name: n.to_string(),
                value: Some(v.to_string()),
            },
            None => FlagSpec {
                name: spec.to_string(),
                value: None,
            },
        }
    }

    fn present(&self, args: &Parsed<'_>) -> bool {
        args.flags.iter().any(|(n, v)| {
            *n == self.name
                && match (&self.value, v) {
                    (None, None) => true,
                    (None, Some(v)) => *v != "false",
                    (Some(want), Some(v)) => want == v,
                    (Some(_), None) => false,
                }
        })
    }
}

struct Output {
    flag: Option<String>,
    path: Option<String>,
    when: Vec<FlagSpec>,
}

struct Pattern {
    ecosystem: String,
    manager: Option<String>,
    kind: CommandKind,
    subcommands: Vec<Vec<String>>,
    args: ArgsDef,
    args_match: Option<LazyRegex>,
    args_require: Option<LazyRegex>,
    require: Vec<FlagSpec>,
    require_any: Vec<FlagSpec>,
    forbid: Vec<FlagSpec>,
    outputs: Vec<Output>,
    pure: bool,
    runs_scripts: Option<bool>,
    /// The manager's value flags plus the flags the outputs read.
    value_flags: Vec<String>,
    note: Option<String>,
}

pub(crate) struct Commands {
    launchers: Vec<Launcher>,
    pub managers: BTreeMap<String, Manager>,
    pub ecosystems: BTreeMap<String, Ecosystem>,
    patterns: Vec<Pattern>,
    /// Every pattern's program globs in one set; `pattern_of[glob index]` is the pattern index.
    programs: LazyGlobSet,
    pattern_of: Vec<usize>,
}

fn program_set(
    programs: &[toml::Spanned<String>],
    sources: &Sources,
    origin: usize,
) -> anyhow::Result<LazyGlobSet> {
    let mut globs = Vec::new();
    for p in programs {
        globs.push(checked_glob(p, false, sources, origin)?);
    }
    glob_set(globs, false, sources.eager(origin))
}

fn glob_set(
    globs: Vec<String>,
    literal_separator: bool,
    eager: bool,
) -> anyhow::Result<LazyGlobSet> {
    LazyGlobSet::new(globs, literal_separator, eager).map_err(|e| anyhow::anyhow!("{e}"))
}

/// A glob of source `origin`, checked now when its source's matchers are compiled at load.
fn checked_glob(
    p: &toml::Spanned<String>,
    literal_separator: bool,
    sources: &Sources,
    origin: usize,
) -> anyhow::Result<String> {
    if sources.eager(origin) {
        super::lazy::glob(p.get_ref(), literal_separator).map_err(|e| {
            sources.error(
                origin,
                p.span(),
                &format!("bad glob `{}`: {e}", p.get_ref()),
            )
        })?;
    }
    Ok(p.get_ref().clone())
}

impl Commands {
    pub(crate) fn compile(layer: &Layer, sources: &Sources) -> anyhow::Result<Commands> {
        let mut launchers = Vec::new();
        for l in &layer.launcher {
            launchers.push(Launcher {
                programs: program_set(&l.programs, sources, l.origin)?,
                module_flag: l.module_flag.clone(),
                subcommand: l.subcommand.clone(),
                value_flags: l.value_flags.clone(),
            });
        }
        let mut ecosystems: BTreeMap<String, Ecosystem> = BTreeMap::new();
        for e in &layer.ecosystem {
            let versions = match &e.versions {
                Some(v) => Some(
                    VersionRange::parse(v.get_ref())
                        .map_err(|msg| sources.error(e.origin, v.span(), &msg))?,
                ),
                None => None,
            };
            ecosystems.insert(
                e.id.clone(),
                Ecosystem {
                    id: e.id.clone(),
                    name: e.name.clone(),
                    families: e.families.clone(),
                    carry: match e.carry {
                        CarryDef::AppDir => Carry::AppDir,
                        CarryDef::SitePackages => Carry::SitePackages,
                        CarryDef::Binary => Carry::Binary,
                        CarryDef::Artifact => Carry::Artifact,
                    },
                    dependency_dirs: e.dependency_dirs.clone(),
                    artifacts: e.artifacts.clone(),
                    dev_servers: e
                        .dev_servers
                        .iter()
                        .map(|d| d.split_whitespace().map(str::to_string).collect())
                        .collect(),
                    dev_files: e.dev_files.clone(),
                    builds: e
                        .build
                        .iter()
                        .map(|b| BuildTool {
                            tool: b.tool.clone(),
                            sources: b.sources.clone(),
                            tsconfig: b.tsconfig,
                            extensions: b.extensions.clone(),
                            config: b.config.clone(),
                            overrides: b.overrides.clone(),
                            runtime: b.runtime.clone(),
                            serves: b.serves,
                        })
                        .collect(),
                    native_packages: e.native_packages.clone(),
                    asset_packages: e.asset_packages.clone(),
                    js_runtime_dependencies: e.js_runtime_dependencies.clone(),
                    interpreters: e.interpreters.clone(),
                    package_managers: e.package_managers.clone(),
                    versions,
                    versions_note: e.versions_note.clone(),
                    note: e.note.clone(),
                },
            );
        }
        let mut managers = BTreeMap::new();
        for m in &layer.manager {
            let o = m.origin;
            if !ecosystems.contains_key(m.ecosystem.get_ref()) {
                return Err(sources.error(
                    o,
                    m.ecosystem.span(),
                    &format!("unknown ecosystem `{}`", m.ecosystem.get_ref()),
                ));
            }
            let mut globs = Vec::new();
            for p in m
                .required
                .iter()
                .chain(&m.required_any)
                .chain(&m.lockfiles)
                .chain(&m.optional)
            {
                globs.push(checked_glob(p, true, sources, o)?);
            }
            let mut scripts = Vec::new();
            for p in &m.build_scripts {
                scripts.push(checked_glob(p, true, sources, o)?);
            }
            let strings =
                |v: &[toml::Spanned<String>]| v.iter().map(|s| s.get_ref().clone()).collect();
            managers.insert(
                m.id.clone(),
                Manager {
                    ecosystem: m.ecosystem.get_ref().clone(),
                    own_environment: m.own_environment,
                    manifests: Manifests {
                        required: strings(&m.required),
                        required_any: strings(&m.required_any),
                        lockfiles: strings(&m.lockfiles),
                        optional: strings(&m.optional),
                        lifecycle_scripts: m.lifecycle_scripts.clone(),
                        prune: compile_prune(m, sources)?,
                    },
                    manifest_globs: glob_set(globs, true, sources.eager(o))?,
                    value_flags: m.value_flags.clone(),
                    manifest_flags: m.manifest_flags.clone(),
                    production: m.production.iter().map(|s| FlagSpec::parse(s)).collect(),
                    scripts_disabled_by: m
                        .scripts_disabled_by
                        .iter()
                        .map(|s| FlagSpec::parse(s))
                        .collect(),
                    build_scripts: glob_set(scripts, true, sources.eager(o))?,
                },
            );
        }
        let mut patterns = Vec::new();
        let mut programs = Vec::new();
        let mut pattern_of = Vec::new();
        let mut eager_programs = false;
        for c in &layer.command {
            eager_programs |= sources.eager(c.origin);
            for p in &c.program {
                programs.push(checked_glob(p, false, sources, c.origin)?);
                pattern_of.push(patterns.len());
            }
            patterns.push(compile_pattern(c, &managers, &ecosystems, sources)?);
        }
        Ok(Commands {
            launchers,
            managers,
            ecosystems,
            patterns,
            programs: glob_set(programs, false, eager_programs)?,
            pattern_of,
        })
    }
}

fn compile_pattern(
    c: &CommandDef,
    managers: &BTreeMap<String, Manager>,
    ecosystems: &BTreeMap<String, Ecosystem>,
    sources: &Sources,
) -> anyhow::Result<Pattern> {
    let o = c.origin;
    let manager = match &c.manager {
        Some(m) if !managers.contains_key(m.get_ref()) => {
            return Err(sources.error(o, m.span(), &format!("unknown manager `{}`", m.get_ref())));
        }
        Some(m) => Some(m.get_ref().clone()),
        None => None,
    };
    let ecosystem = match (&c.ecosystem, &manager) {
        (Some(e), _) if !ecosystems.contains_key(e.get_ref()) => {
            return Err(sources.error(
                o,
                e.span(),
                &format!("unknown ecosystem `{}`", e.get_ref()),
            ));
        }
        (Some(e), _) => e.get_ref().clone(),
        (None, Some(m)) => managers[m].ecosystem.clone(),
        (None, None) => {
            let span = c.program.first().map_or(0..0, |p| p.span());
            return Err(sources.error(o, span, "a [[command]] needs `manager` or `ecosystem`"));
        }
    };
    let regex = |r: &Option<toml::Spanned<String>>| -> anyhow::Result<Option<LazyRegex>> {
        r.as_ref()
            .map(|r| {
                LazyRegex::new(r.get_ref().clone(), sources.eager(o))
                    .map_err(|e| sources.error(o, r.span(), &format!("bad regex: {e}")))
            })
            .transpose()
    };
    let specs = |v: &[String]| v.iter().map(|s| FlagSpec::parse(s)).collect::<Vec<_>>();
    let mut value_flags = manager
        .as_ref()
        .map_or_else(Vec::new, |m| managers[m].value_flags.clone());
    for o in &c.outputs {
        value_flags.extend(o.flag.clone());
        let mut rest = o.path.as_deref().unwrap_or("");
        while let Some(open) = rest.find('{') {
            let Some(close) = rest[open..].find('}') else {
                break;
            };
            value_flags.push(rest[open + 1..open + close].to_string());
            rest = &rest[open + close + 1..];
        }
    }
    let subcommands = if c.subcommand.is_empty() {
        vec![Vec::new()]
    } else {
        c.subcommand
            .iter()
            .map(|s| s.split_whitespace().map(str::to_string).collect())
            .collect()
    };
    Ok(Pattern {
        ecosystem,
        manager,
        kind: match c.kind {
            KindDef::DependencyInstall => CommandKind::DependencyInstall,
            KindDef::Build => CommandKind::Build,
            KindDef::Prune => CommandKind::Prune,
            KindDef::InstallsProject => CommandKind::InstallsProject,
            KindDef::AddsPackages => CommandKind::AddsPackages,
            KindDef::RunScript => CommandKind::RunScript,
            KindDef::Test => CommandKind::Test,
        },
        subcommands,
        args: c.args,
        args_match: regex(&c.args_match)?,
        args_require: regex(&c.args_require)?,
        require: specs(&c.require),
        require_any: specs(&c.require_any),
        forbid: specs(&c.forbid),
        outputs: c
            .outputs
            .iter()
            .map(|OutputDef { flag, path, when }| Output {
                flag: flag.clone(),
                path: path.clone(),
                when: specs(when),
            })
            .collect(),
        pure: c.pure,
        runs_scripts: c.runs_scripts,
        value_flags,
        note: c.note.clone(),
    })
}

/// Flags and positionals of the words after the program.
struct Parsed<'a> {
    flags: Vec<(&'a str, Option<&'a str>)>,
    positionals: Vec<&'a str>,
}

fn parse_args<'a>(words: &[&'a str], value_flags: &[String]) -> Parsed<'a> {
    let takes = |n: &str| value_flags.iter().any(|f| f == n);
    let mut flags = Vec::new();
    let mut positionals = Vec::new();
    let mut i = 0;
    let mut rest_positional = false;
    while i < words.len() {
        let w = words[i];
        i += 1;
        if rest_positional || !w.starts_with('-') || w == "-" {
            positionals.push(w);
        } else if w == "--" {
            rest_positional = true;
        } else if takes(w) {
            flags.push((w, words.get(i).copied()));
            i += 1;
        } else if let Some((n, v)) = w
            .split_once('=')
            .filter(|(n, _)| takes(n) || w.starts_with("--"))
        {
            flags.push((n, Some(v)));
        } else if !w.starts_with("--") && w.len() > 2 && w.is_char_boundary(2) && takes(&w[..2]) {
            let v = &w[2..];
            flags.push((&w[..2], Some(v.strip_prefix('=').unwrap_or(v))));
        } else if let Some((n, v)) = w.split_once('=') {
            flags.push((n, Some(v)));
        } else {
            flags.push((w, None));
        }
    }
    Parsed { flags, positionals }
}

fn basename(program: &str) -> &str {
    crate::shell::base_name(program)
}

fn is_assignment(w: &str) -> Option<(&str, &str)> {
    let (n, v) = w.split_once('=')?;
    let mut chars = n.chars();
    let first = chars.next()?;
    ((first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_'))
    .then_some((n, v))
}

impl Commands {
    /// Follows launchers (`python -m pip`, `npx tsc`, `bundle exec rake`) to the launched program.
    fn launch<'a>(&self, mut words: &'a [&'a str]) -> Option<&'a [&'a str]> {
        for _ in 0..4 {
            let program = basename(words.first()?);
            let Some(l) = self.launchers.iter().find(|l| {
                l.programs.is_match(program)
                    && l.subcommand.as_ref().is_none_or(|s| {
                        let p = parse_args(&words[1..], &l.value_flags);
                        p.positionals.first() == Some(&s.as_str())
                    })
            }) else {
                return Some(words);
            };
            let rest = &words[1..];
            let mut i = 0;
            let mut seen_subcommand = l.subcommand.is_none();
            let next = loop {
                let w = *rest.get(i)?;
                if let Some(m) = &l.module_flag {
                    if w == m {
                        break i + 1;
                    }
                    if w == "-c" || !w.starts_with('-') {
                        return None; // `python -c ...` or `python script.py`: not a launched tool
                    }
                    i += if l.value_flags.iter().any(|f| f == w) {
                        2
                    } else {
                        1
                    };
                    continue;
                }
                if w.starts_with('-') {
                    i += if l.value_flags.iter().any(|f| f == w) {
                        2
                    } else {
                        1
                    };
                    continue;
                }
                if !seen_subcommand {
                    seen_subcommand = true;
                    i += 1;
                    continue;
                }
                break i;
            };
            words = rest.get(next..).filter(|w| !w.is_empty())?;
        }
        Some(words)
    }

    pub(crate) fn classify(&self, words: &[&str]) -> Option<CommandMatch> {
        let mut env = Vec::new();
        let mut start = 0;
        if words.first() == Some(&"env") {
            start = 1;
        }
        while let Some((n, v)) = words.get(start).and_then(|w| is_assignment(w)) {
            env.push((n.to_string(), v.to_string()));
            start += 1;
        }
        if words.get(start).is_some_and(|w| w.starts_with('-')) {
            return None; // `env -i ...`: flags we do not model
        }
        let words = self.launch(&words[start..])?;
        let program = basename(words[0]);
        let mut candidates: Vec<usize> = self
            .programs
            .matches(program)
            .into_iter()
            .map(|g| self.pattern_of[g])
            .collect();
        candidates.dedup();
        for p in candidates.into_iter().map(|i| &self.patterns[i]) {
            let manager = p.manager.as_deref().and_then(|m| self.managers.get(m));
            let parsed = parse_args(&words[1..], &p.value_flags);
            for sub in &p.subcommands {
                if let Some(m) = self.try_pattern(p, sub, manager, &parsed, program, &env) {
                    return Some(m);
                }
            }
        }
        None
    }

    fn try_pattern(
        &self,
        p: &Pattern,
        sub: &[String],
        manager: Option<&Manager>,
        args: &Parsed<'_>,
        program: &str,
        env: &[(String, String)],
    ) -> Option<CommandMatch> {
        let n = sub.len();
        if args.positionals.len() < n || !args.positionals[..n].iter().zip(sub).all(|(a, b)| a == b)
        {
            return None;
        }
        let rest = &args.positionals[n..];
        if !p.require.iter().all(|s| s.present(args))
            || !(p.require_any.is_empty() || p.require_any.iter().any(|s| s.present(args)))
            || p.forbid.iter().any(|s| s.present(args))
        {
            return None;
        }
        let ok = match p.args {
            ArgsDef::None => rest.is_empty(),
            ArgsDef::Any | ArgsDef::Manifests => true,
            ArgsDef::Script => !rest.is_empty(),
        };
        if !ok
            || p.args_match
                .as_ref()
                .is_some_and(|r| !rest.iter().all(|a| r.is_match(a)))
            || p.args_require
                .as_ref()
                .is_some_and(|r| !rest.iter().any(|a| r.is_match(a)))
        {
            return None;
        }
        let mut manifests: Vec<String> = Vec::new();
        if let Some(m) = manager {
            for (n, v) in &args.flags {
                if let Some(v) = v
                    && m.manifest_flags.iter().any(|f| f == n)
                {
                    manifests.push((*v).to_string());
                }
            }
        }
        if p.args == ArgsDef::Manifests {
            manifests.extend(rest.iter().map(|s| (*s).to_string()));
        }
        let script = (p.args == ArgsDef::Script).then(|| rest[0].to_string());
        let mut kind = p.kind;
        if kind == CommandKind::RunScript
            && let (Some(s), Some(m)) = (&script, manager)
            && m.build_scripts.is_match(s)
        {
            kind = CommandKind::Build;
        }
        let outputs = p
            .outputs
            .iter()
            .find_map(|o| output(o, args))
            .into_iter()
            .collect();
        let production = manager.is_some_and(|m| m.production.iter().any(|s| s.present(args)));
        let runs_scripts = kind == CommandKind::DependencyInstall
            && p.runs_scripts != Some(false)
            && manager.is_some_and(|m| {
                !m.manifests.lifecycle_scripts.is_empty()
                    && !m.scripts_disabled_by.iter().any(|s| s.present(args))
            });
        let pure = kind == CommandKind::DependencyInstall
            && p.pure
            && manifests.iter().all(|m| !m.contains('$'));
        Some(CommandMatch {
            ecosystem: p.ecosystem.clone(),
            manager: p.manager.clone(),
            kind,
            program: program.to_string(),
            env: env.to_vec(),
            manifests,
            outputs,
            script,
            production,
            runs_scripts,
            pure,
            notes: p.note.clone().into_iter().collect(),
        })
    }

    /// Every matcher compiled on first use.
    #[cfg(test)]
    pub(crate) fn deferred(&self) -> Vec<&dyn super::lazy::Deferred> {
        use super::lazy::Deferred;
        let mut out: Vec<&dyn Deferred> = vec![&self.programs];
        for l in &self.launchers {
            out.push(&l.programs);
        }
        for m in self.managers.values() {
            out.push(&m.manifest_globs);
            out.push(&m.build_scripts);
        }
        for p in &self.patterns {
            for r in p.args_match.iter().chain(&p.args_require) {
                out.push(r);
            }
        }
        out
    }

    pub(crate) fn is_manifest(&self, manager: &str, path: &str) -> bool {
        self.managers
            .get(manager)
            .is_some_and(|m| m.manifest_globs.is_match(path))
    }
}

fn flag_value<'a>(args: &Parsed<'a>, name: &str) -> Option<&'a str> {
    args.flags
        .iter()
        .rev()
        .find(|(n, _)| *n == name)
        .and_then(|(_, v)| *v)
}

fn output(o: &Output, args: &Parsed<'_>) -> Option<String> {
    if !o.when.is_empty() && !o.when.iter().any(|s| s.present(args)) {
        return None;
    }
    if let Some(f) = &o.flag {
        return flag_value(args, f).map(str::to_string);
    }
    let path = o.path.as_ref()?;
    let mut out = String::new();
    let mut rest = path.as_str();
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}')? + open;
        out.push_str(flag_value(args, &rest[open + 1..close])?);
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// A manager's prune commands, with their version ranges checked.
fn compile_prune(m: &ManagerDef, sources: &Sources) -> anyhow::Result<Vec<Prune>> {
    let entries = match &m.prune {
        None => return Ok(Vec::new()),
        Some(PruneDef::One(command)) => {
            return Ok(vec![Prune {
                command: command.clone(),
                versions: None,
            }]);
        }
        Some(PruneDef::Many(entries)) => entries,
    };
    entries
        .iter()
        .map(|p| {
            let versions = match &p.versions {
                Some(v) => Some(VersionRange::parse(v).map_err(|msg| {
                    sources.error(
                        m.origin,
                        m.ecosystem.span(),
                        &format!("manager `{}`: prune: {msg}", m.id),
                    )
                })?),
                None => None,
            };
            Ok(Prune {
                command: p.command.clone(),
                versions,
            })
        })
        .collect()
}
