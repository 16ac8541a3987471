//! The recipes of `multi-stage`: one per ecosystem, each answering what the skeleton cannot know
//! on its own. From the analysis of the single stage a recipe says which paths the runtime stage
//! receives (the application directory, a virtualenv, a built binary), which edits go into the
//! build stage (dropping dev dependencies, creating a virtualenv), which ENV lines the runtime
//! stage needs, what the runtime image must offer (a static binary, OS packages), and when it
//! refuses. Adding an ecosystem means one recipe here plus its knowledge data.

mod artifact;
mod dotnet;
mod jvm;
mod native;
mod node;
mod node_build;
mod python;
mod python_native;
mod ruby;

use super::super::Context;
use super::super::facts::ImageFacts;
use super::{Analysis, RunFacts, Start, Verdict};
use crate::edit::Edit;
use crate::syntax::{Document, Stage};

/// What the recipe knows about the stage when it decides what the runtime receives.
pub(super) struct Input<'a> {
    pub doc: &'a Document,
    pub stage: &'a Stage,
    pub ctx: &'a Context<'a>,
    pub image: &'a ImageFacts,
    /// Where a refusal points (the FROM).
    pub anchor: usize,
    pub start: &'a Start,
    /// The application's paths: its directory, or at `/` what the context copies put there.
    pub app_paths: &'a Result<Vec<String>, String>,
    /// The working directory the SDK image sets.
    pub inherited: &'a str,
}

/// What the runtime stage receives, as a recipe decides it.
#[derive(Default)]
pub(super) struct Carry {
    /// Paths copied from the build stage, at the same absolute paths.
    pub copies: Vec<String>,
    /// Edits to the build stage.
    pub inserts: Vec<Edit>,
    /// ENV lines of the runtime stage, each with its newline.
    pub runtime_env: Vec<String>,
    /// The carried binary is statically linked (the runtime image needs no C library).
    pub static_link: bool,
    /// Carried paths that land elsewhere in the runtime stage: (from, to).
    pub bare_destinations: Vec<(String, String)>,
    /// Why the runtime stage carries more than it might, when that is worth saying: appended
    /// to the change's reason.
    pub note: Option<String>,
    /// The build stage drops dev dependencies the runtime stage would otherwise receive.
    pub drops_dev: bool,
    /// Why the dev dependencies stay, when the recipe could leave them out but does not (said
    /// when a runtime stage on the same image would leave nothing else behind).
    pub kept_dev: Option<String>,
    /// OS packages (runtime names) the runtime stage installs for what the build stage built
    /// against the SDK image's own libraries (Python's native packages).
    pub packages: Vec<String>,
}

/// One ecosystem's answers to the skeleton.
pub(super) trait Recipe {
    /// The working directory the ecosystem's SDK images set.
    fn inherited_workdir(&self) -> &'static str {
        "/"
    }

    /// Paths the build adds to `/` when the app has no directory of its own (`out` holds the
    /// context copies); `Err` when the build writes output there that restage cannot name.
    fn root_paths(
        &self,
        _runs: &[(usize, RunFacts)],
        _out: &mut Vec<String>,
    ) -> Result<(), String> {
        Ok(())
    }

    /// What the runtime stage receives, with the build stage's edits; `a` takes unsafe reasons.
    fn carry(&self, input: &Input, a: &mut Analysis) -> Result<Carry, Verdict>;

    /// OS packages the runtime needs whatever the build installed (none unless the recipe knows).
    fn runtime_packages(&self, _ctx: &Context, _image: &ImageFacts) -> Result<Vec<String>, String> {
        Ok(Vec::new())
    }

    /// Whether a command the knowledge files do not classify is one of the ecosystem's tools
    /// writing only into paths the runtime stage receives (`bundle config`, `bundle update`).
    fn writes_only_carried(&self, _words: &[String]) -> bool {
        false
    }

    /// Whether an OS package the build installed stays in the build stage although it is not
    /// build-only by itself (Ruby's front-end tooling: nodejs, yarn).
    fn build_only_package(&self, _ctx: &Context, _start: &Start, _name: &str) -> bool {
        false
    }

    /// Whether a command of the start script (`words`: the program and its arguments) runs
    /// something the runtime stage has: the ecosystem's runtime (`node`, `python`, `java`) or
    /// what the app installed for run time. `None` when the recipe does not know the program.
    fn runs_at_start(&self, _ctx: &Context, _words: &[String]) -> Option<Result<(), String>> {
        None
    }

    /// Whether the recipe may leave the dev dependencies of `manager`'s install out of the
    /// build stage by itself (Bundler's groups), besides a prune command the knowledge names.
    fn may_drop_dev(&self, _manager: &str) -> bool {
        false
    }

    /// Whether the app is a web app, when the runtime image depends on it.
    fn web(&self, _ctx: &Context) -> Option<bool> {
        None
    }
}

/// The recipe for the knowledge files' ecosystem `id`, or `None` when multi-stage has none (an
/// SDK image of such an ecosystem is left alone). Which images are SDKs, of which ecosystem, and
/// what their runtime receives (`carry`, `artifacts`) is knowledge; a recipe is the code that
/// turns it into a build and a runtime stage.
pub(super) fn for_ecosystem(id: &str) -> Option<&'static dyn Recipe> {
    Some(match id {
        "node" => &node::Node,
        "python" => &python::Python,
        "go" => &native::GO,
        "rust" => &native::RUST,
        "java" => &jvm::Java,
        "dotnet" => &dotnet::Dotnet,
        "ruby" => &ruby::Ruby,
        _ => return None,
    })
}

/// A command that only prepares the build (a package manager's configuration, lock or export):
/// known, and nothing of it reaches the runtime stage.
/// The Debian runtime libraries the ecosystem's native packages (`[ecosystem.native_packages]`:
/// dependency -> the apt packages its native code builds against) need on `image`, for the
/// dependencies `installed` says the app has. `what` names a dependency in a refusal ("the
/// npm package").
pub(super) fn native_libraries(
    ctx: &Context,
    image: &ImageFacts,
    native_packages: &std::collections::BTreeMap<String, Vec<String>>,
    installed: impl Fn(&str) -> bool,
    what: &str,
) -> Result<Vec<String>, String> {
    use super::super::facts::{self, PackageClass, PackageManager};
    let mut out = Vec::new();
    for (dependency, os_packages) in native_packages {
        if !installed(dependency) {
            continue;
        }
        for name in os_packages {
            match facts::package(ctx, image, PackageManager::Apt, name) {
                PackageClass::RuntimeLibraries(libs) => out.extend(libs),
                PackageClass::Runtime | PackageClass::Unknown => out.push(name.clone()),
                PackageClass::BuildOnly => {}
                PackageClass::NoRuntimeName(why) => {
                    return Err(format!("{what} `{dependency}` links a library, and {why}"));
                }
            }
        }
    }
    Ok(out)
}

pub(super) fn build_setup(words: &[String]) -> bool {
    python::manager_setup(words)
}

/// The application directory, whole: the recipe of ecosystems whose build output stays in it.
fn workdir_only(a: &Analysis, anchor: usize) -> Result<Carry, Verdict> {
    if a.workdir == "/" {
        return Err(super::refuse(anchor, super::NO_WORKDIR));
    }
    Ok(Carry {
        copies: vec![a.workdir.clone()],
        ..Carry::default()
    })
}
