//! The transform registry, in pipeline order. A transform is a pure function from a
//! [`Document`] and its [`Context`] to proposed [`Change`]s: no IO, no clock, no order that
//! depends on a hash map. Each one is documented in `transforms/<id>.md`, embedded here.

pub mod analysis;
mod copy_order;
pub mod effects;
mod exec_form;
pub mod facts;
mod multi_stage;
mod non_root_user;
pub(crate) mod start;

use crate::config::Settings;
use crate::context::BuildContext;
use crate::edit::Change;
use crate::knowledge::Knowledge;
use crate::syntax::Document;

/// What a transform may consult besides the Dockerfile itself; all of it is read before the
/// pipeline runs.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    pub knowledge: &'a Knowledge,
    pub settings: &'a Settings,
    pub build: &'a BuildContext,
}

/// One rewrite restage knows how to make.
pub struct Transform {
    /// Kebab-case, stable once released.
    pub id: &'static str,
    /// One line for `restage list`.
    pub summary: &'static str,
    /// How sure its changes are, for `restage list`.
    pub confidence: &'static str,
    /// The Markdown doc (`transforms/<id>.md`).
    pub doc: &'static str,
    pub run: fn(&Document, &Context) -> Vec<Change>,
}

impl std::fmt::Debug for Transform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transform").field("id", &self.id).finish()
    }
}

static REGISTRY: &[Transform] = &[
    Transform {
        id: "copy-order",
        summary: "Copy the dependency manifests and install before `COPY . .`, so a source edit no longer re-installs everything",
        confidence: "safe when the knowledge files and build context list every file the install reads; a suggestion otherwise (the Cargo stub-source trick is unsafe)",
        doc: include_str!("../../transforms/copy-order.md"),
        run: copy_order::run,
    },
    Transform {
        id: "multi-stage",
        summary: "Split a single-stage SDK-image Dockerfile into a build stage and a slim runtime stage",
        confidence: "safe when the knowledge files and build context prove what the app needs; unsafe or a suggestion otherwise",
        doc: include_str!("../../transforms/multi-stage.md"),
        run: multi_stage::run,
    },
    Transform {
        id: "exec-form",
        summary: "Write the final stage's shell-form CMD/ENTRYPOINT in exec form, so signals reach the app",
        confidence: "safe: only plain words, never an ENTRYPOINT next to a CMD",
        doc: include_str!("../../transforms/exec-form.md"),
        run: exec_form::run,
    },
    Transform {
        id: "non-root-user",
        summary: "Make the final stage run as an unprivileged user, the way its base-image family expects",
        confidence: "safe when the knowledge files name the user or how to create it and the build context tells what the app writes; unsafe for explicit USER root, an unreadable context or what restage cannot resolve; a suggestion for unknown images and apps under /root",
        doc: include_str!("../../transforms/non-root-user.md"),
        run: non_root_user::run,
    },
];

/// Every transform, in the order the pipeline runs them.
pub fn registry() -> &'static [Transform] {
    REGISTRY
}

/// The transform with this id.
pub fn find(id: &str) -> Option<&'static Transform> {
    REGISTRY.iter().find(|t| t.id == id)
}
