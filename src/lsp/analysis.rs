//! One buffer through restage as the command line would run it on that file: its restage.toml,
//! its build context read from disk, the pipeline. Diagnostics for the pending changes, and the
//! text `--write` would write (for code actions).

use std::path::Path;

use lsp_types::{Diagnostic, DiagnosticSeverity, NumberOrString, Position, Range};
use serde::{Deserialize, Serialize};

use crate::config::{CliOptions, ConfigChoice, ConfigResolver, Settings};
use crate::context::BuildContext;
use crate::edit::Applicability;
use crate::knowledge::Knowledge;
use crate::pipeline::{Note, Outcome, PipelineError};
use crate::syntax::SyntaxErrorKind;
use crate::transforms::{self, Transform};

use super::position::LineIndex;

/// What a diagnostic carries for code actions (`Diagnostic::data`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeData {
    /// The transform id.
    pub id: String,
    /// `safe`, `unsafe` or `suggestion`.
    pub applicability: String,
    pub title: String,
}

/// The severity of a pending change: what `restage --write` applies is a warning, what needs
/// `--unsafe-fixes` information, a suggestion a hint.
pub fn severity(applicability: Applicability) -> DiagnosticSeverity {
    match applicability {
        Applicability::Safe => DiagnosticSeverity::WARNING,
        Applicability::Unsafe => DiagnosticSeverity::INFORMATION,
        Applicability::DisplayOnly => DiagnosticSeverity::HINT,
    }
}

/// Which transforms a fix runs.
#[derive(Debug, Clone, Copy)]
pub enum Which<'a> {
    /// Those the settings enable, as `restage --write`.
    Settings,
    /// Only this one (`--select ID`), with `--unsafe-fixes` when `unsafe_fixes`.
    One { id: &'a str, unsafe_fixes: bool },
}

/// What the file's settings, knowledge and build context are, or why they cannot be had.
struct Prepared {
    settings: std::sync::Arc<Settings>,
    knowledge: Knowledge,
    build: BuildContext,
}

/// A problem of the whole file: its configuration.
struct FileProblem(String);

fn prepare(path: &Path, config: &ConfigChoice) -> Result<Prepared, FileProblem> {
    // A fresh resolver each time: an edited restage.toml takes effect on the next analysis.
    let resolver = ConfigResolver::new(CliOptions {
        config: config.clone(),
        ..CliOptions::default()
    })
    .map_err(|e| FileProblem(e.located(&e.path.display().to_string())))?;
    let settings = resolver
        .settings_for(path)
        .map_err(|e| FileProblem(e.located(&e.path.display().to_string())))?;
    let known: Vec<&str> = transforms::registry().iter().map(|t| t.id).collect();
    let unknown = settings.unknown_ids(&known);
    if !unknown.is_empty() {
        return Err(FileProblem(format!(
            "configuration: {}",
            crate::config::join_unknown_ids(&unknown)
        )));
    }
    // A fresh cache too: the built-in knowledge is loaded once per process, the overrides of
    // the restage.toml are read as they are now.
    let knowledge = crate::run::KnowledgeCache::new()
        .map_err(|e| FileProblem(format!("{e:#}")))?
        .for_settings(&settings)
        .map_err(|e| FileProblem(format!("configuration: {e}")))?;
    let build = BuildContext::read(path, settings.context.as_deref());
    Ok(Prepared {
        settings,
        knowledge,
        build,
    })
}

fn run(
    path: &Path,
    text: &str,
    config: &ConfigChoice,
    which: Which,
) -> Result<Outcome, Vec<Diagnostic>> {
    let p = prepare(path, config).map_err(|FileProblem(m)| vec![file_error(m)])?;
    let (selected, unsafe_fixes): (Vec<&'static Transform>, bool) = match which {
        Which::Settings => (
            transforms::registry()
                .iter()
                .filter(|t| p.settings.is_enabled(t.id))
                .collect(),
            p.settings.unsafe_fixes,
        ),
        Which::One { id, unsafe_fixes } => (
            transforms::find(id).into_iter().collect(),
            unsafe_fixes || p.settings.unsafe_fixes,
        ),
    };
    crate::run::run_selected(
        text,
        &p.settings,
        &p.knowledge,
        &p.build,
        &selected,
        crate::pipeline::Options {
            unsafe_fixes,
            attribute: false,
        },
    )
    .map_err(|e| {
        let index = LineIndex::new(text);
        vec![match e {
            PipelineError::Syntax(s) => {
                let at = index.position_of(s.line, s.column);
                let mut d = error(
                    Range::new(at, Position::new(at.line + 1, 0)),
                    s.message_with_kind(),
                );
                // Valid syntax restage does not handle yet: the file is left as it is.
                if s.kind == SyntaxErrorKind::Unsupported {
                    d.severity = Some(DiagnosticSeverity::INFORMATION);
                }
                d
            }
            other => file_error(other.to_string()),
        }]
    })
}

/// The diagnostics of a buffer: one per pending change, warnings, or the file's error.
pub fn diagnostics(path: &Path, text: &str, config: &ConfigChoice) -> Vec<Diagnostic> {
    let outcome = match run(path, text, config, Which::Settings) {
        Ok(o) => o,
        Err(diagnostics) => return diagnostics,
    };
    let index = LineIndex::new(text);
    let mut out: Vec<Diagnostic> = outcome
        .applied
        .iter()
        .chain(&outcome.suggestions)
        .map(|n| change_diagnostic(&index, n))
        .collect();
    out.extend(outcome.warnings.iter().map(|w| {
        let at = index.position_of(w.line, w.column);
        Diagnostic {
            range: Range::new(at, Position::new(at.line + 1, 0)),
            severity: Some(DiagnosticSeverity::WARNING),
            source: Some("restage".to_string()),
            message: w.message.clone(),
            ..Diagnostic::default()
        }
    }));
    out
}

fn change_diagnostic(index: &LineIndex, n: &Note) -> Diagnostic {
    let data = ChangeData {
        id: n.transform.to_string(),
        applicability: n.applicability.to_string(),
        title: n.title.clone(),
    };
    Diagnostic {
        range: Range::new(
            index.position_of(n.line, n.column),
            index.position_of(n.end_line, n.end_column),
        ),
        severity: Some(severity(n.applicability)),
        code: Some(NumberOrString::String(n.transform.to_string())),
        source: Some("restage".to_string()),
        message: format!("{} ({}): {}", n.title, n.applicability, n.reason),
        data: serde_json::to_value(data).ok(),
        ..Diagnostic::default()
    }
}

/// The text restage writes for this buffer, or `None` when it would write nothing (no change,
/// or the file cannot be fixed).
pub fn fixed_text(path: &Path, text: &str, config: &ConfigChoice, which: Which) -> Option<String> {
    let outcome = run(path, text, config, which).ok()?;
    outcome.changed().then_some(outcome.text)
}

/// Whether the file's settings turn `--unsafe-fixes` on.
pub fn unsafe_fixes_on(path: &Path, config: &ConfigChoice) -> bool {
    prepare(path, config).is_ok_and(|p| p.settings.unsafe_fixes)
}

fn file_error(message: String) -> Diagnostic {
    error(
        Range::new(Position::new(0, 0), Position::new(0, 0)),
        message,
    )
}

fn error(range: Range, message: String) -> Diagnostic {
    Diagnostic {
        range,
        severity: Some(DiagnosticSeverity::ERROR),
        source: Some("restage".to_string()),
        message,
        ..Diagnostic::default()
    }
}
