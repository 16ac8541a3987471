//! Python: packages installed with pip go into a virtualenv at /opt/venv, created in the build
//! stage before the first pip install and put first on PATH in both stages; the runtime stage
//! receives the virtualenv and the application directory. A start command that names the system
//! interpreter by path would bypass the virtualenv, so it is refused.
//!
//! poetry, pipenv and `uv pip` install into the same /opt/venv: `VIRTUAL_ENV` is set with PATH,
//! so each of them takes it as the active environment (poetry whatever `virtualenvs.create`
//! says, pipenv with or without `--system`; uv's `--system`, which would skip a virtualenv, is
//! dropped). A pip install of the managers themselves before that stays in the build stage. An
//! environment in the project (`uv sync`, `POETRY_VIRTUALENVS_IN_PROJECT`,
//! `PIPENV_VENV_IN_PROJECT`) is the `.venv` of the application directory and travels with it.
//! The managers are build tools: a start command that runs one is refused.

use super::super::super::analysis;
use super::super::super::effects;
use super::super::{Analysis, Start, refuse};
use super::{Carry, Input, Recipe, Verdict};
use crate::edit::Edit;
use crate::knowledge::CommandKind;
use crate::syntax::{Document, Kind, Stage};

pub(super) struct Python;

/// The virtualenv restage creates and carries.
const VENV: &str = "/opt/venv";

/// Package managers with an environment of their own, as start-command programs.
const MANAGERS: &[&str] = &["poetry", "pipenv", "uv", "uvx"];

/// Packages a pip install may name and still only install a manager (a build tool).
const MANAGER_PACKAGES: &[&str] = &[
    "poetry",
    "poetry-core",
    "poetry-plugin-export",
    "poetry-plugin-bundle",
    "pipenv",
    "uv",
];

impl Recipe for Python {
    fn runs_at_start(
        &self,
        ctx: &super::super::super::Context,
        words: &[String],
    ) -> Option<Result<(), String>> {
        let program = words.first()?;
        let base = crate::shell::base_name(program);
        if base == "python" || base == "python3" || base.starts_with("python3.") {
            return Some(if program.contains('/') && !program.starts_with(VENV) {
                Err(format!(
                    "`{program}`, the system interpreter by path, which bypasses the virtualenv that carries the packages"
                ))
            } else {
                Ok(())
            });
        }
        if matches!(base, "pip" | "pip3") {
            return Some(Err(format!(
                "`{}`: an install at start needs what the build image had (compilers, headers)",
                words.join(" ")
            )));
        }
        // A console script of a package the requirements install (`gunicorn`, `celery`): in
        // the virtualenv the runtime stage receives.
        let name = crate::knowledge::normalise_package("pip", base);
        ctx.build.dependencies.has("pip", &name).then_some(Ok(()))
    }

    fn carry(&self, input: &Input, a: &mut Analysis) -> Result<Carry, Verdict> {
        let Input {
            doc, start, anchor, ..
        } = *input;
        let nl = doc.style().nl();
        let run_kw = doc.style().keyword(Kind::Run);
        let env_kw = doc.style().keyword(Kind::Env);
        let mut carry = Carry::default();
        if let Some(w) = start.program_word()
            && w.starts_with("/usr/local/bin/python")
        {
            return Err(refuse(
                anchor,
                "the start command names the system interpreter by path, which would bypass the virtualenv that carries the packages",
            ));
        }
        if let Some(m) = manager_in_start(start) {
            return Err(refuse(
                anchor,
                format!(
                    "the start command runs `{m}`, a build tool the runtime stage does not carry; start the app from its virtualenv instead (for example `python -m app`)"
                ),
            ));
        }
        let envs = installs(input, a).map_err(|why| refuse(anchor, why))?;
        if envs.uv_project && input.ctx.build.exists(".python-version") {
            a.unsafe_reasons.push(
                "uv takes the Python that .python-version names, and downloads it outside the application directory when the image's Python does not match".into(),
            );
        }
        let activate = envs.venv_managers.first().cloned();
        if let Some(m) = &activate
            && start.words.iter().any(|w| w.contains(".venv/"))
        {
            return Err(refuse(
                anchor,
                format!(
                    "the start command runs from a `.venv` directory, but {m} installs into the active virtualenv restage creates"
                ),
            ));
        }
        if let Some(ix) = envs.venv_at {
            let at = analysis::extent_with_comments(doc, ix).start;
            let path = if activate.is_some() {
                format!("VIRTUAL_ENV={VENV} PATH=\"{VENV}/bin:$PATH\"")
            } else {
                format!("PATH=\"{VENV}/bin:$PATH\"")
            };
            carry.inserts.push(Edit::insert(
                at,
                format!("{run_kw} python3 -m venv {VENV}{nl}{env_kw} {path}{nl}"),
            ));
            carry.runtime_env.push(format!("{env_kw} {path}{nl}"));
            carry.copies.push(VENV.to_string());
        }
        carry.inserts.extend(envs.edits);
        carry.packages =
            super::python_native::runtime_libraries(input, a, &|w| installs_only_managers(w))
                .map_err(|why| refuse(anchor, why))?;
        carry
            .copies
            .extend(input.app_paths.clone().map_err(|why| refuse(anchor, why))?);
        Ok(carry)
    }
}

/// The classification of a command that installs Python packages: the dependencies of
/// manifests, the project itself, or packages it names.
pub(super) fn install_command(
    ctx: &crate::transforms::Context,
    words: &[&str],
) -> Option<std::sync::Arc<crate::knowledge::CommandMatch>> {
    let m = ctx.knowledge.classify_command(words)?;
    matches!(
        m.kind,
        CommandKind::DependencyInstall | CommandKind::InstallsProject | CommandKind::AddsPackages
    )
    .then_some(m)
}

/// True for a command the managers run only to prepare the build (configuration, lock files,
/// exports): it leaves nothing the runtime needs.
pub(super) fn manager_setup(words: &[String]) -> bool {
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    let sub = w.iter().skip(1).find(|a| !a.starts_with('-')).copied();
    match w.first().map(|p| crate::shell::base_name(p)) {
        Some("poetry") => {
            w.len() == 2 && matches!(w[1], "--version" | "-V")
                || matches!(sub, Some("config" | "lock" | "check" | "export"))
        }
        Some("pipenv") => {
            w.len() == 2 && w[1] == "--version"
                || matches!(sub, Some("lock" | "requirements" | "verify"))
        }
        Some("uv") => {
            w.len() == 2 && matches!(w[1], "--version" | "-V" | "version")
                || matches!(sub, Some("lock" | "export"))
        }
        _ => false,
    }
}

/// The manager a start command runs (`poetry run ...`, `sh -c "uv run ..."`), if any.
fn manager_in_start(start: &Start) -> Option<&'static str> {
    start.words.iter().find_map(|w| {
        w.split_whitespace().find_map(|t| {
            let base = crate::shell::base_name(t);
            MANAGERS.iter().copied().find(|m| *m == base)
        })
    })
}

/// Where the stage's Python installs go, as far as restage changes it.
#[derive(Default)]
struct Envs {
    /// The RUN before which /opt/venv is created (the first that installs into it).
    venv_at: Option<usize>,
    /// Managers that install into the active virtualenv (`VIRTUAL_ENV` is set for them).
    venv_managers: Vec<String>,
    /// Edits to the install commands (uv's `--system` dropped).
    edits: Vec<Edit>,
    /// `uv sync` installs into the project's `.venv`.
    uv_project: bool,
}

/// Reads every Python install of the stage: pip (the virtualenv), the managers (the virtualenv,
/// or the project's `.venv` in the application directory) and pip installs of the managers
/// themselves (left in the build stage). `Err` is a refusal's reason.
fn installs(input: &Input, a: &Analysis) -> Result<Envs, String> {
    let Input {
        doc, stage, ctx, ..
    } = *input;
    let mut envs = Envs::default();
    let mut in_project: Vec<String> = Vec::new();
    // The first RUN that pip-installs only a manager, and whether a manager runs as
    // `python -m <manager>` (then it must be importable from the virtualenv's Python).
    let mut manager_pip: Option<usize> = None;
    let mut launched = false;
    for (ix, f) in &a.runs {
        let ins = &doc.instructions()[*ix];
        let Some(commands) = analysis::run_commands(doc, ins) else {
            // Shell syntax restage does not read (the change is unsafe already): a manager
            // install named in its text still goes to the virtualenv.
            let text = doc.slice(&ins.extent);
            if text.contains("uv pip") && text.contains("--system") {
                return Err(
                    "a RUN restage cannot read runs `uv pip` with --system, which restage cannot drop there".into(),
                );
            }
            if text.contains("uv sync") {
                return Err(
                    "a RUN restage cannot read runs `uv sync`, so restage cannot tell where its .venv is".into(),
                );
            }
            let managers = ["poetry", "pipenv", "uv"].into_iter().filter(|m| {
                ["install", "sync"].iter().any(|sub| {
                    text.contains(&format!("{m} {sub}")) || text.contains(&format!("{m} pip {sub}"))
                })
            });
            for m in managers {
                envs.venv_at.get_or_insert(*ix);
                if !envs.venv_managers.iter().any(|v| v == m) {
                    envs.venv_managers.push(m.to_string());
                }
            }
            if f.pip {
                envs.venv_at.get_or_insert(*ix);
            }
            continue;
        };
        let mut moved = false;
        for cmd in &commands {
            let words: Vec<&str> = cmd.words.iter().map(String::as_str).collect();
            let pw = cmd.program_words();
            if pw.first().is_some_and(|p| p == "cd") {
                moved = true;
                continue;
            }
            if matches!(pw.first().map(String::as_str), Some("uv"))
                && pw.get(1).is_some_and(|s| s == "venv")
            {
                return Err("the Dockerfile makes a virtualenv of its own with `uv venv`".into());
            }
            let Some(m) = install_command(ctx, &words) else {
                continue;
            };
            let manager = m.manager.clone().unwrap_or_default();
            let assigned = |name: &str| {
                m.env_value(name)
                    .map(str::to_string)
                    .or_else(|| env_value_before(doc, stage, *ix, name))
            };
            launched |= manager != "pip"
                && pw.first().map(|p| crate::shell::base_name(p)) != Some(m.program.as_str());
            let project_env = match manager.as_str() {
                "pip" => {
                    if installs_only_managers(pw) {
                        manager_pip.get_or_insert(*ix);
                    } else {
                        envs.venv_at.get_or_insert(*ix);
                    }
                    continue;
                }
                "poetry" => {
                    truthy(assigned("POETRY_VIRTUALENVS_IN_PROJECT").as_deref())
                        || poetry_config_in_project(doc, stage, *ix)
                }
                "pipenv" => truthy(assigned("PIPENV_VENV_IN_PROJECT").as_deref()),
                "uv" => {
                    // The subcommand after the program (`python -m uv pip install` too).
                    let sub = pw
                        .iter()
                        .skip_while(|w| {
                            Some(crate::shell::base_name(w)) != Some(m.program.as_str())
                        })
                        .skip(1)
                        .find(|w| !w.starts_with('-'));
                    if sub.is_some_and(|s| s == "pip") {
                        if truthy(assigned("UV_SYSTEM_PYTHON").as_deref()) {
                            return Err("UV_SYSTEM_PYTHON makes uv install into the system Python, which the runtime stage does not carry".into());
                        }
                        if let Some(flag) = pw.iter().find(|w| {
                            [
                                "--python",
                                "-p",
                                "--prefix",
                                "--target",
                                "--break-system-packages",
                            ]
                            .iter()
                            .any(|f| *w == f || w.starts_with(&format!("{f}=")))
                        }) {
                            return Err(format!(
                                "`uv pip` with {flag} installs outside a virtualenv restage can carry"
                            ));
                        }
                        if let Some(r) = word_range(doc, &cmd.span, "--system") {
                            envs.edits.push(Edit::delete(r));
                        }
                        false
                    } else {
                        if assigned("UV_PROJECT_ENVIRONMENT").is_some() {
                            return Err("UV_PROJECT_ENVIRONMENT moves uv's project environment to a path restage does not follow".into());
                        }
                        if pw.iter().any(|w| {
                            ["--project", "--directory", "--active"]
                                .iter()
                                .any(|f| w == f || w.starts_with(&format!("{f}=")))
                        }) {
                            return Err("`uv sync` with --project, --directory or --active installs into an environment restage does not follow".into());
                        }
                        true
                    }
                }
                _ => continue,
            };
            if project_env {
                // The project's .venv: inside the application directory, or refused.
                let dir = effects::workdir(doc, stage, *ix, input.inherited);
                // `poetry -C dir` / `--directory` / `--project`: the project is elsewhere.
                let redirected = pw.iter().any(|w| {
                    ["-C", "--directory", "-P", "--project"]
                        .iter()
                        .any(|f| w == f || w.starts_with(&format!("{f}=")))
                });
                let inside = !moved
                    && !redirected
                    && a.workdir != "/"
                    && dir.is_some_and(|d| analysis::is_within(&d, &a.workdir));
                if !inside {
                    return Err(format!(
                        "{manager} installs into the project's .venv outside the application directory, where restage cannot carry it"
                    ));
                }
                envs.uv_project |= manager == "uv";
                if !in_project.contains(&manager) {
                    in_project.push(manager);
                }
            } else {
                envs.venv_at.get_or_insert(*ix);
                // A manager with an environment of its own is pointed at /opt/venv.
                if ctx.knowledge.has_own_environment(&manager)
                    && !envs.venv_managers.contains(&manager)
                {
                    envs.venv_managers.push(manager);
                }
            }
        }
    }
    if launched && let Some(tool) = manager_pip {
        // `python -m poetry` runs the virtualenv's Python: the manager goes into it too.
        envs.venv_at = Some(envs.venv_at.map_or(tool, |v| v.min(tool)));
    }
    if let (Some(v), Some(p)) = (envs.venv_managers.first(), in_project.first()) {
        return Err(format!(
            "{v} installs into a virtualenv and {p} into the project's .venv; restage carries one environment"
        ));
    }
    Ok(envs)
}

/// A pip install that names only the package managers (`pip install poetry==1.8.3`).
fn installs_only_managers(words: &[String]) -> bool {
    let Some(at) = words.iter().position(|w| w == "install") else {
        return false;
    };
    let mut names = words[at + 1..]
        .iter()
        .filter(|w| !w.starts_with('-'))
        .peekable();
    names.peek().is_some()
        && names.all(|w| {
            let name = w
                .split(['=', '<', '>', '!', '~', '[', ';', '@', ' '])
                .next()
                .unwrap_or(w)
                .to_ascii_lowercase()
                .replace('_', "-");
            MANAGER_PACKAGES.contains(&name.as_str())
        })
}

fn truthy(value: Option<&str>) -> bool {
    value.is_some_and(|v| {
        let v = v.trim_matches(['"', '\'']).to_ascii_lowercase();
        !matches!(v.as_str(), "" | "0" | "false" | "no" | "off")
    })
}

/// The value the last ENV of the stage before instruction `index` gives `name`.
fn env_value_before(doc: &Document, stage: &Stage, index: usize, name: &str) -> Option<String> {
    doc.indices_of(Kind::Env, stage.instructions.start..index)
        .iter()
        .rev()
        .flat_map(|&ix| {
            analysis::declarations(doc, &doc.instructions()[ix])
                .into_iter()
                .rev()
        })
        .filter(|d| d.name == name)
        .find_map(|d| d.value)
}

/// `poetry config virtualenvs.in-project true` in a RUN up to instruction `index`.
fn poetry_config_in_project(doc: &Document, stage: &Stage, index: usize) -> bool {
    doc.indices_of(Kind::Run, stage.instructions.start..index + 1)
        .iter()
        .filter_map(|&ix| analysis::run_commands(doc, &doc.instructions()[ix]))
        .flatten()
        .any(|cmd| {
            let w = cmd.program_words();
            w.first().is_some_and(|p| p == "poetry")
                && w.get(1).is_some_and(|s| s == "config")
                && w.iter().any(|x| x == "virtualenvs.in-project")
                && w.last().is_some_and(|v| truthy(Some(v)))
        })
}

/// The range of the word `word` in the command at `span`, with the blank before it.
fn word_range(
    doc: &Document,
    span: &std::ops::Range<usize>,
    word: &str,
) -> Option<std::ops::Range<usize>> {
    let text = doc.slice(span);
    let mut from = 0;
    while let Some(p) = text[from..].find(word) {
        let start = from + p;
        let end = start + word.len();
        let before = text[..start].chars().next_back();
        let after = text[end..].chars().next();
        if before.is_some_and(|c| c == ' ' || c == '\t')
            && after.is_none_or(|c| c.is_whitespace() || c == '\\')
        {
            let blank = text[..start].len() - text[..start].trim_end_matches([' ', '\t']).len();
            return Some(span.start + start - blank..span.start + end);
        }
        from = end;
    }
    None
}
