//! The transform registry, in pipeline order. A transform is a pure function from a
//! [`Document`] and its [`Context`] to proposed [`Change`]s: no IO, no clock, no order that
//! depends on a hash map. Each one is documented in `transforms/<id>.md`, embedded here.

pub(crate) mod analysis;
mod copy_order;
pub(crate) mod effects;
mod exec_form;
pub(crate) mod facts;
mod multi_stage;
mod non_root_user;
pub(crate) mod start;

use crate::config::{Settings, UserStyle};
use crate::context::BuildContext;
use crate::edit::{Applicability, Change};
use crate::knowledge::Knowledge;
use crate::syntax::Document;

/// What a transform may consult besides the Dockerfile itself; all of it is read before the
/// pipeline runs.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    pub knowledge: &'a Knowledge,
    pub options: TransformOptions,
    pub build: &'a BuildContext,
}

/// The settings transforms read; the rest of [`Settings`] (selection, unsafe fixes, context,
/// knowledge overrides) is applied around them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TransformOptions {
    /// How non-root-user writes the final `USER`.
    pub user_style: UserStyle,
}

impl TransformOptions {
    pub fn of(settings: &Settings) -> TransformOptions {
        TransformOptions {
            user_style: settings.user_style,
        }
    }
}

/// What a transform decided about one place of a file.
#[derive(Debug)]
pub(crate) enum Verdict {
    /// Nothing to change and nothing worth saying.
    Nothing,
    /// Worth telling the user, but restage cannot do it safely: a suggestion with no edit.
    Suggestion {
        anchor: usize,
        title: String,
        reason: String,
    },
    /// A change to apply (safe or unsafe).
    Change(Box<Change>),
}

impl Verdict {
    /// A suggestion about the instruction at byte `anchor`.
    pub(crate) fn suggestion(
        anchor: usize,
        title: impl Into<String>,
        reason: impl Into<String>,
    ) -> Verdict {
        Verdict::Suggestion {
            anchor,
            title: title.into(),
            reason: reason.into(),
        }
    }

    /// The change list of transform `id` for this verdict (none, one suggestion, one change).
    pub(crate) fn into_changes(self, id: &'static str) -> Vec<Change> {
        match self {
            Verdict::Nothing => Vec::new(),
            Verdict::Suggestion {
                anchor,
                title,
                reason,
            } => vec![Change::new(
                id,
                Applicability::DisplayOnly,
                anchor,
                title,
                reason,
            )],
            Verdict::Change(change) => vec![*change],
        }
    }
}

/// A change's applicability from the guesses it relies on: `Safe` without any; otherwise
/// `Unsafe`, and `reason` ends with ". Unsafe because <the guesses, joined by `; `>".
pub(crate) fn unsafe_because(reason: &mut String, guesses: &[String]) -> Applicability {
    if guesses.is_empty() {
        return Applicability::Safe;
    }
    reason.push_str(". Unsafe because ");
    reason.push_str(&guesses.join("; "));
    Applicability::Unsafe
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
    /// It changes only the final stage: a suppression of it above the `FROM` of a stage that
    /// multi-stage splits moves to the runtime stage, the new final stage.
    pub final_stage_only: bool,
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
        final_stage_only: false,
    },
    Transform {
        id: "multi-stage",
        summary: "Split a single-stage SDK-image Dockerfile into a build stage and a slim runtime stage",
        confidence: "safe when the knowledge files and build context prove what the app needs; unsafe or a suggestion otherwise",
        doc: include_str!("../../transforms/multi-stage.md"),
        run: multi_stage::run,
        final_stage_only: false,
    },
    Transform {
        id: "exec-form",
        summary: "Write the final stage's shell-form CMD/ENTRYPOINT in exec form, so signals reach the app",
        confidence: "safe: only plain words, never an ENTRYPOINT next to a CMD",
        doc: include_str!("../../transforms/exec-form.md"),
        run: exec_form::run,
        final_stage_only: true,
    },
    Transform {
        id: "non-root-user",
        summary: "Make the final stage run as an unprivileged user, the way its base-image family expects",
        confidence: "safe when the knowledge files name the user or how to create it and the build context tells what the app writes; unsafe for explicit USER root, an unreadable context or what restage cannot resolve; a suggestion for unknown images and apps under /root",
        doc: include_str!("../../transforms/non-root-user.md"),
        run: non_root_user::run,
        final_stage_only: true,
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
