//! The facts the rewrites ask about, in the shape they need: a thin adapter over the knowledge
//! files and the build context, so a transform reads as decisions rather than look-ups.

use super::Context;
use crate::knowledge::{
    CommandKind, ImageRole, Os, PackageClass as KPackageClass, RuntimeNeeds, UserPlan,
};
use crate::shell::SimpleCommand;

pub use crate::knowledge::OsPackageManager as PackageManager;

/// What an image is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// An SDK image of the ecosystem with this id in the knowledge files.
    Build(String),
    /// Anything else restage knows (runtime, self-managed, an ecosystem multi-stage does not split).
    Other,
}

/// Facts about a base image.
#[derive(Debug, Clone)]
pub struct ImageFacts {
    pub role: Role,
    /// How packages are installed on it, if it has a package manager.
    pub package_manager: PackageManager,
    /// The reference as written.
    pub reference: String,
    /// Its operating system (with the Debian or Ubuntu suite when known).
    pub os: Os,
    /// The language version its tag names (`3.9`, `14`; `8` for `node:carbon`); `None` for
    /// `latest`, `lts`, `current`.
    pub version: Option<String>,
}

/// The knowledge files' notes on the image `text` names (its tag rule's `note`).
pub fn image_notes(ctx: &Context, text: &str) -> Vec<String> {
    ctx.knowledge
        .image_named(text)
        .map(|info| info.notes.clone())
        .unwrap_or_default()
}

/// Facts about the image `text` names; `None` for unknown images and references with variables.
pub fn image(ctx: &Context, text: &str) -> Option<ImageFacts> {
    let info = ctx.knowledge.image_named(text)?;
    let role = match (info.role, info.ecosystem.as_deref()) {
        (ImageRole::Build, Some(eco)) => Role::Build(eco.to_string()),
        _ => Role::Other,
    };
    let package_manager = match info.os {
        Os::Alpine => PackageManager::Apk,
        _ => PackageManager::Apt,
    };
    Some(ImageFacts {
        role,
        package_manager,
        reference: text.to_string(),
        os: info.os.clone(),
        version: info.version.clone(),
    })
}

/// Why restage's recipe for `ecosystem` does not work on this image's language version
/// (`python:2.7`: no `venv`), or `None` when it does.
pub fn unsupported_version(ctx: &Context, image: &ImageFacts, ecosystem: &str) -> Option<String> {
    let eco = ctx.knowledge.ecosystem(ecosystem)?;
    let version = image.version.as_deref();
    if eco.supports(version) {
        return None;
    }
    Some(format!(
        "{} runs {} {} and restage splits only versions {} of it: {}",
        image.reference,
        eco.name,
        version.unwrap_or_default(),
        eco.versions.as_ref().map_or("", |r| r.as_str()),
        eco.versions_note
            .as_deref()
            .unwrap_or("restage's recipe is for other versions")
    ))
}

/// What the runtime image must offer.
#[derive(Debug, Clone, Copy)]
pub struct Needs {
    /// A shell (shell-form start command, carried RUN steps, a shell-form HEALTHCHECK).
    pub shell: bool,
    /// glibc (a binary built with cgo).
    pub cgo: bool,
    /// A package manager to install runtime packages.
    pub packages: bool,
}

/// The runtime image a build image maps to.
#[derive(Debug, Clone)]
pub struct RuntimeFacts {
    pub reference: String,
    pub confident: bool,
    /// Why it is not certain, when it is not.
    pub note: String,
    pub package_manager: Option<PackageManager>,
    /// Users the runtime image already has.
    pub users: Vec<String>,
    /// The runtime image is the build image itself (same repository and tag: an Alpine build
    /// image whose runtime is the same Alpine release); `reference` is then the build
    /// reference as written, digest included.
    pub same_image: bool,
}

pub fn runtime_image(
    ctx: &Context,
    text: &str,
    needs: Needs,
    web: Option<bool>,
) -> Option<RuntimeFacts> {
    let k_needs = RuntimeNeeds {
        shell: needs.shell || needs.packages,
        cgo: needs.cgo,
        web,
    };
    let mut rt = ctx.knowledge.runtime_image_named(text, &k_needs)?;
    let mut reference = None;
    let same_image = rt.same_image;
    // A reference's digest follows its first `@`.
    if same_image && let Some(at) = text.find('@') {
        // The same image keeps its digest: the mapping lost nothing. Its confidence is that of
        // the reference without the digest.
        rt = ctx.knowledge.runtime_image_named(&text[..at], &k_needs)?;
        reference = Some(text.to_string());
    }
    let package_manager = match rt.os {
        crate::knowledge::Os::Debian { .. } | crate::knowledge::Os::Ubuntu { .. } => {
            Some(PackageManager::Apt)
        }
        crate::knowledge::Os::Alpine => Some(PackageManager::Apk),
        _ => None,
    };
    if needs.packages && package_manager.is_none() {
        return None;
    }
    let users = match &rt.user {
        Some(UserPlan::Existing(u)) => vec![u.name.clone()],
        _ => Vec::new(),
    };
    Some(RuntimeFacts {
        reference: reference.unwrap_or_else(|| rt.reference.clone()),
        confident: rt.confident,
        note: rt.notes.join("; "),
        package_manager,
        users,
        same_image,
    })
}

/// True when the build image `text` has itself as its runtime image (an Alpine SDK tag: the
/// runtime stage keeps the same musl and Alpine release).
pub fn maps_to_itself(ctx: &Context, text: &str) -> bool {
    let needs = Needs {
        shell: true,
        cgo: true,
        packages: true,
    };
    runtime_image(ctx, text, needs, None).is_some_and(|rt| rt.same_image)
}

/// What one recognised command does, for `multi-stage`.
#[derive(Debug, Clone, Default)]
pub struct CommandFacts {
    /// It runs pip (a virtualenv captures what it installs).
    pub pip: bool,
    /// pip with `--user`, `--prefix`, `--target` or `--root`: outside a virtualenv.
    pub pip_outside_env: bool,
    /// A dependency install: the manager id and whether it already omits dev dependencies.
    pub install: Option<(String, bool)>,
    /// Binaries it builds, relative to the command's working directory or absolute.
    pub binaries: Vec<String>,
    /// `CGO_ENABLED=0` is set for it.
    pub cgo_disabled: bool,
    /// The package.json script a `npm run X` / `yarn X` / `pnpm X` runs, when its name is not
    /// one of the manager's build scripts (`build`, `compile`, ...): what it does is only known
    /// from its text.
    pub run_script: Option<String>,
}

/// Classifies a simple command with the knowledge files; `None` when it is not recognised.
pub fn classify(ctx: &Context, cmd: &SimpleCommand) -> Option<CommandFacts> {
    let words = &cmd.words;
    let m = ctx.knowledge.classify_command(words)?;
    let mut f = CommandFacts {
        cgo_disabled: m.env_value("CGO_ENABLED") == Some("0"),
        ..CommandFacts::default()
    };
    let manager = m.manager.as_deref().unwrap_or_default();
    if manager == "pip" {
        f.pip = true;
        f.pip_outside_env = words.iter().any(|w| {
            matches!(
                w.as_str(),
                "--user" | "--prefix" | "--target" | "-t" | "--root"
            ) || w.starts_with("--prefix=")
                || w.starts_with("--target=")
                || w.starts_with("--root=")
        });
    }
    if m.kind == CommandKind::DependencyInstall {
        f.install = Some((manager.to_string(), m.production));
    }
    if m.kind == CommandKind::RunScript {
        f.run_script = m.script.clone();
    }
    if m.kind == CommandKind::Build && !cmd.expands {
        match manager {
            "go" => f.binaries = go_binaries(&m.outputs),
            "cargo" => {
                if let Some(dir) = m.outputs.first() {
                    f.binaries = cargo_bins(ctx)
                        .into_iter()
                        .map(|b| format!("{}{b}", dir))
                        .collect();
                }
            }
            _ => {}
        }
    }
    Some(f)
}

/// The binary a `go build`/`go install` writes to the file `-o` names. Without `-o FILE` the
/// name and place follow Go's rules and the stage (multi-stage's `go_outputs`).
fn go_binaries(outputs: &[String]) -> Vec<String> {
    match outputs.first() {
        Some(out) if !out.ends_with('/') => vec![out.clone()],
        _ => Vec::new(),
    }
}

/// The binaries of the Cargo package in the context.
fn cargo_bins(ctx: &Context) -> Vec<String> {
    let Some(cargo) = &ctx.build.cargo else {
        return Vec::new();
    };
    if cargo.is_workspace_root() {
        return Vec::new();
    }
    match (&cargo.bins, &cargo.package_name) {
        (Some(bins), _) if !bins.is_empty() => bins.clone(),
        (_, Some(name)) => vec![name.clone()],
        _ => Vec::new(),
    }
}

/// How a package of the OS is used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PackageClass {
    /// Only needed to build (compilers, headers).
    BuildOnly,
    /// A `-dev` package: these runtime libraries are what the app needs.
    RuntimeLibraries(Vec<String>),
    /// Needed at runtime.
    Runtime,
    /// Not known: kept, to be safe.
    Unknown,
    /// A development package that must not go to the runtime stage and whose runtime libraries
    /// restage cannot name for this image: the reason.
    NoRuntimeName(String),
}

/// How the package `name`, installed with `pm` on the build image `image`, is used. The runtime
/// stage keeps the build image's suite, so runtime library names are those of that suite.
pub fn package(ctx: &Context, image: &ImageFacts, pm: PackageManager, name: &str) -> PackageClass {
    match ctx.knowledge.package(name, pm, &image.os) {
        KPackageClass::BuildOnly => PackageClass::BuildOnly,
        KPackageClass::Dev { runtime } => PackageClass::RuntimeLibraries(runtime),
        KPackageClass::Runtime => PackageClass::Runtime,
        KPackageClass::Unknown => PackageClass::Unknown,
        KPackageClass::DevUnresolved { suite } => {
            PackageClass::NoRuntimeName(unresolved(image, name, suite.as_deref()))
        }
        KPackageClass::DevUnknown => PackageClass::NoRuntimeName(format!(
            "`{name}` is a development package and restage does not know which runtime library it stands for: it does not belong in the runtime stage, and leaving it out could drop a library the app loads"
        )),
    }
}

fn unresolved(image: &ImageFacts, name: &str, suite: Option<&str>) -> String {
    match (suite, &image.os) {
        (Some(suite), Os::Ubuntu { .. }) => format!(
            "`{name}` is a development package whose runtime libraries restage knows no name for on Ubuntu {suite}"
        ),
        (Some(suite), _) => format!(
            "`{name}` is a development package whose runtime libraries restage knows no name for on Debian {suite}"
        ),
        (None, Os::Debian { .. }) => format!(
            "`{name}` is a development package whose runtime libraries restage names per Debian release, and it does not know which release {} runs on; a tag that names the suite (such as `-bookworm`) tells it",
            image.reference
        ),
        (None, _) => format!(
            "`{name}` is a development package whose runtime library names restage knows only for Debian, and {} is not known to run on Debian",
            image.reference
        ),
    }
}

/// The runtime libraries of OpenSSL on the build image's suite (a Rust binary that links
/// `openssl-sys` needs them), or why restage cannot name them.
pub fn openssl_runtime(ctx: &Context, image: &ImageFacts) -> Result<Vec<String>, String> {
    let dev = match image.package_manager {
        PackageManager::Apt => "libssl-dev",
        PackageManager::Apk => "openssl-dev",
    };
    match package(ctx, image, image.package_manager, dev) {
        PackageClass::RuntimeLibraries(libs) => Ok(libs),
        PackageClass::NoRuntimeName(why) => Err(format!("the binary links OpenSSL, and {why}")),
        _ => Err(format!(
            "the binary links OpenSSL, and restage knows no runtime library for `{dev}`"
        )),
    }
}

/// The command that drops dev dependencies for a package manager on the build image's language
/// version (`npm prune --production` up to Node 14, `npm prune --omit=dev` after).
pub fn prune_command(ctx: &Context, image: &ImageFacts, manager: &str) -> Option<String> {
    ctx.knowledge
        .prune_command(manager, image.version.as_deref())
}

/// True when a script command starts a development server.
/// The list is the knowledge's `dev_servers` of every ecosystem.
pub fn is_dev_server(ctx: &Context, command: &str) -> bool {
    let words: Vec<&str> = command
        .split_whitespace()
        .filter(|w| !crate::shell::is_assignment(w))
        .collect();
    let servers = ctx
        .knowledge
        .ecosystems()
        .flat_map(|e| e.dev_servers.iter());
    servers.into_iter().any(|d| {
        let d: Vec<&str> = d.iter().map(String::as_str).collect();
        words.len() >= d.len()
            && words[..d.len()] == d[..]
            && (d.len() > 1
                || words
                    .get(1)
                    .is_none_or(|w| w.starts_with('-') || !matches!(*w, "build" | "preview")))
    })
}

/// package.json was found and read.
pub fn package_json_read(ctx: &Context) -> bool {
    ctx.build.package_json.is_some()
}

/// Why the script `name` of package.json cannot be read: package.json is missing or left out
/// of the build context, has no such script, or could not be read.
pub fn missing_script(ctx: &Context, name: &str) -> String {
    use crate::context::Unsent;
    if package_json_read(ctx) {
        return format!("package.json has no `{name}` script");
    }
    match ctx.build.unsent("package.json") {
        Some(why @ (Unsent::Missing | Unsent::Excluded)) => format!(
            "{}, so restage cannot read its `{name}` script",
            why.describe("package.json")
        ),
        Some(Unsent::IgnoreUnreadable) => format!(
            "the .dockerignore could not be read, so restage cannot tell whether package.json is sent, nor read its `{name}` script"
        ),
        None => {
            format!("package.json could not be read, so restage cannot read its `{name}` script")
        }
    }
}

/// Whether package.json lists devDependencies (`None`: package.json unknown).
pub fn has_dev_dependencies(ctx: &Context) -> Option<bool> {
    ctx.build
        .package_json
        .as_ref()
        .map(|p| !p.dev_dependencies.is_empty())
}

/// `name` is a devDependency (and not also a dependency).
pub fn is_dev_dependency(ctx: &Context, name: &str) -> bool {
    ctx.build.package_json.as_ref().is_some_and(|p| {
        p.dev_dependencies.iter().any(|d| d == name) && !p.dependencies.iter().any(|d| d == name)
    })
}

/// Whether package.json lists `name` among its (production) dependencies.
pub fn is_dependency(ctx: &Context, name: &str) -> bool {
    ctx.build
        .package_json
        .as_ref()
        .is_some_and(|p| p.dependencies.iter().any(|d| d == name))
}

/// A package.json script.
pub fn script(ctx: &Context, name: &str) -> Option<String> {
    ctx.build
        .package_json
        .as_ref()?
        .script(name)
        .map(str::to_string)
}

/// The yarn major version package.json pins with `packageManager`, if any.
pub fn yarn_major(ctx: &Context) -> Option<u32> {
    let pm = ctx.build.package_json.as_ref()?.package_manager.as_ref()?;
    if pm.name != "yarn" {
        return None;
    }
    pm.version.as_deref()?.split('.').next()?.parse().ok()
}

/// Whether the .NET project uses the Web SDK (`None`: unknown).
pub fn dotnet_web(ctx: &Context) -> Option<bool> {
    ctx.build.csproj.as_ref().map(|c| c.is_web_sdk())
}

/// The Rust package links OpenSSL (`openssl-sys` in Cargo.lock): the runtime needs libssl.
pub fn links_openssl(ctx: &Context) -> bool {
    ctx.build
        .cargo_lock_packages
        .as_ref()
        .is_some_and(|p| p.contains("openssl-sys"))
}
