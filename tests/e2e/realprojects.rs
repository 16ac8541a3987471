//! The real-project tier: public projects written by other people, pinned by repository and
//! commit in `fixtures/realprojects/projects.toml`. Their code never enters this repository:
//! `scripts/realprojects.sh` re-creates each build context from a fetched snapshot into a
//! machine-local folder, and this module runs every prepared context through the same harness as
//! the fixture cases (`harness::run_case_in`). A project whose context is not on the machine is
//! SKIPPED with the reason and never counted as passed.
//!
//! Knobs: unset, `RESTAGE_REALPROJECTS` runs the sample (`sample = true` in the list);
//! `RESTAGE_REALPROJECTS=1` runs every project, `RESTAGE_REALPROJECTS=a,b` some of them, `0` none; `RESTAGE_REALPROJECTS_DIR` (default
//! `/var/tmp/restage-realprojects`) is where the contexts are; `RESTAGE_E2E_REQUIRE=1` fails on a
//! missing engine, `RESTAGE_REALPROJECTS_REQUIRE=1` on a missing context. The other `RESTAGE_E2E_*` knobs apply as for the fixture cases.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::harness::{self, GATE, env_flag, loud};
use crate::report;
use crate::spec::{Check, Expect, Spec};
use restage::verify::engine::Engine;

pub const REPORT: &str = "realprojects-report.md";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectList {
    /// Stand-in tag -> tag the projects name (`"node:20" = ["node:12", "node:15"]`): applied with
    /// `docker tag` for the run when the engine has no such image, removed afterwards.
    #[serde(default)]
    pub aliases: BTreeMap<String, Vec<String>>,
    /// Tag -> Dockerfile text: images no registry here serves (`ghcr.io/astral-sh/uv:latest`),
    /// built for the run with an empty context when the engine has no such tag, removed
    /// afterwards.
    #[serde(default)]
    pub images: BTreeMap<String, String>,
    pub project: Vec<Project>,
}

/// `[project.environment]`: an environment difference for one project's run only. Each tag of
/// `tags` is rebuilt as `FROM <tag>` plus `ENV` of `env` and tagged over the original while the
/// project runs (original and rewrite alike); the tag goes back to its previous image afterwards.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    pub tags: Vec<String>,
    pub env: Vec<String>,
    /// Why, in one line (the report and the log print it).
    pub reason: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Project {
    /// Lowercase letters, digits and `-`: the context folder, the image tags and the report row.
    pub name: String,
    /// `owner/name` on GitHub.
    pub repo: String,
    /// The pinned commit (40 hex digits).
    pub commit: String,
    /// The Dockerfile's directory in the repository (the build context); `.` for the root.
    pub dir: String,
    pub description: String,
    #[serde(default = "default_dockerfile")]
    pub dockerfile: String,
    /// Why the project is here, what the check relies on, what is known about it.
    #[serde(default)]
    pub notes: String,
    pub check: Check,
    pub expect: Expect,
    /// Part of the sample that runs when `RESTAGE_REALPROJECTS` is unset (as in CI).
    #[serde(default)]
    pub sample: bool,
    #[serde(default)]
    pub environment: Option<Environment>,
}

fn default_dockerfile() -> String {
    "Dockerfile".to_string()
}

impl Project {
    pub fn spec(&self) -> Spec {
        Spec {
            description: self.description.clone(),
            dockerfile: self.dockerfile.clone(),
            check: self.check.clone(),
            expect: self.expect.clone(),
        }
    }

    fn check_fields(&self) -> Result<(), String> {
        let name_ok = !self.name.is_empty()
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !name_ok {
            return Err(format!("{:?}: name must be [a-z0-9-]+", self.name));
        }
        if self.repo.split('/').count() != 2 {
            return Err(format!(
                "{}: repo {:?} is not owner/name",
                self.name, self.repo
            ));
        }
        if self.commit.len() != 40 || !self.commit.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(format!("{}: commit must be 40 hex digits", self.name));
        }
        if self.dir.starts_with('/') || self.dir.split('/').any(|p| p == "..") {
            return Err(format!(
                "{}: dir must be relative to the repository",
                self.name
            ));
        }
        if let Some(env) = &self.environment {
            let bad = env.env.iter().find(|kv| {
                let (k, _) = kv.split_once('=').unwrap_or(("", ""));
                k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            });
            if env.tags.is_empty() || env.env.is_empty() || env.reason.is_empty() {
                return Err(format!(
                    "{}: environment needs tags, env and reason",
                    self.name
                ));
            }
            if let Some(kv) = bad {
                return Err(format!(
                    "{}: environment env {kv:?} is not NAME=value",
                    self.name
                ));
            }
        }
        Ok(())
    }
}

pub fn list_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/realprojects/projects.toml")
}

/// Parses and checks the list (names unique, fields well-formed); the contexts are not needed.
pub fn load() -> Result<ProjectList, String> {
    let path = list_path();
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let list: ProjectList =
        toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut names = BTreeSet::new();
    for p in &list.project {
        p.check_fields()?;
        if !names.insert(p.name.as_str()) {
            return Err(format!("{}: listed twice", p.name));
        }
    }
    Ok(list)
}

pub fn contexts_dir() -> PathBuf {
    std::env::var_os("RESTAGE_REALPROJECTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/tmp/restage-realprojects"))
}

/// The projects `RESTAGE_REALPROJECTS` selects: unset, the sample (`sample = true`); `1`/`all`,
/// every one; a comma list, those; `0`, none.
fn selection(list: &ProjectList) -> Option<Vec<String>> {
    let Ok(value) = std::env::var("RESTAGE_REALPROJECTS") else {
        let sample: Vec<String> = list
            .project
            .iter()
            .filter(|p| p.sample)
            .map(|p| p.name.clone())
            .collect();
        loud(&format!(
            "[realprojects] the sample: {} of {} projects (RESTAGE_REALPROJECTS=1 runs all)",
            sample.len(),
            list.project.len()
        ));
        return Some(sample);
    };
    let value = value.trim();
    if value.is_empty() || value == "0" {
        return None;
    }
    let all = value == "1" || value.eq_ignore_ascii_case("all");
    let wanted: BTreeSet<&str> = value.split(',').map(str::trim).collect();
    Some(
        list.project
            .iter()
            .filter(|p| all || wanted.contains(p.name.as_str()))
            .map(|p| p.name.clone())
            .collect(),
    )
}

/// Alias tags created for this run, removed on drop (only those this run created).
struct Aliases<'a> {
    engine: &'a Engine,
    created: Vec<String>,
}

impl Aliases<'_> {
    fn apply<'a>(engine: &'a Engine, aliases: &BTreeMap<String, Vec<String>>) -> Aliases<'a> {
        let mut made = Aliases {
            engine,
            created: Vec::new(),
        };
        for (standin, names) in aliases {
            for name in names {
                if engine.inspect(name).is_ok() {
                    continue;
                }
                let x = engine.run(&["tag", standin, name], Duration::from_secs(60));
                if x.success() {
                    loud(&format!("[realprojects] alias {name} -> {standin}"));
                    made.created.push(name.clone());
                } else {
                    loud(&format!(
                        "[realprojects] could not tag {standin} as {name}: {}",
                        x.describe()
                    ));
                }
            }
        }
        made
    }
}

impl Drop for Aliases<'_> {
    fn drop(&mut self) {
        for name in &self.created {
            let _ = self
                .engine
                .run(&["rmi", "--no-prune", name], Duration::from_secs(60));
        }
    }
}

/// Images of `[images]` built for this run, removed on drop (only those this run built).
struct Images<'a> {
    engine: &'a Engine,
    built: Vec<String>,
}

impl Images<'_> {
    fn apply<'a>(engine: &'a Engine, images: &BTreeMap<String, String>) -> Images<'a> {
        let mut made = Images {
            engine,
            built: Vec::new(),
        };
        for (tag, dockerfile) in images {
            if engine.inspect(tag).is_ok() {
                continue;
            }
            match build_from_text(engine, tag, dockerfile) {
                Ok(()) => {
                    loud(&format!("[realprojects] image {tag} built for the run"));
                    made.built.push(tag.clone());
                }
                Err(e) => loud(&format!("[realprojects] could not build {tag}: {e}")),
            }
        }
        made
    }
}

impl Drop for Images<'_> {
    fn drop(&mut self) {
        for tag in &self.built {
            let _ = self.engine.run(&["rmi", tag], Duration::from_secs(60));
        }
    }
}

/// Builds `dockerfile` (text) with an empty context as `tag`.
fn build_from_text(engine: &Engine, tag: &str, dockerfile: &str) -> Result<(), String> {
    let tmp = tempfile::Builder::new()
        .prefix("restage-realprojects-image-")
        .tempdir()
        .map_err(|e| format!("temp dir: {e}"))?;
    let file = tmp.path().join("Dockerfile");
    std::fs::write(&file, dockerfile).map_err(|e| format!("{}: {e}", file.display()))?;
    let build = engine.build(
        tmp.path(),
        &file,
        tag,
        false,
        None,
        Duration::from_secs(600),
    );
    if build.ok {
        Ok(())
    } else {
        Err(build.failure_line.unwrap_or_default())
    }
}

/// A project's `[project.environment]`, applied for its run: each tag points at an image with the
/// extra `ENV` lines; on drop each tag points at its previous image again and the extra images
/// are removed.
struct Overlay<'a> {
    engine: &'a Engine,
    /// (tag, previous image ID, overlay image ID)
    applied: Vec<(String, String, String)>,
}

impl Overlay<'_> {
    fn apply<'a>(engine: &'a Engine, env: &Environment) -> Result<Overlay<'a>, String> {
        let mut made = Overlay {
            engine,
            applied: Vec::new(),
        };
        let lines: Vec<String> = env
            .env
            .iter()
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                format!("ENV {k}={v:?}")
            })
            .collect();
        for tag in &env.tags {
            let previous = image_id(engine, tag)?;
            let text = format!("FROM {tag}\n{}\n", lines.join("\n"));
            build_from_text(engine, tag, &text)?;
            let overlay = image_id(engine, tag)?;
            loud(&format!(
                "[realprojects] environment: {tag} gets {} for this project ({})",
                env.env.join(" "),
                env.reason
            ));
            made.applied.push((tag.clone(), previous, overlay));
        }
        Ok(made)
    }
}

impl Drop for Overlay<'_> {
    fn drop(&mut self) {
        for (tag, previous, overlay) in self.applied.iter().rev() {
            let _ = self
                .engine
                .run(&["tag", previous, tag], Duration::from_secs(60));
            let _ = self.engine.run(&["rmi", overlay], Duration::from_secs(60));
        }
    }
}

fn image_id(engine: &Engine, tag: &str) -> Result<String, String> {
    engine
        .inspect(tag)?
        .get("Id")
        .and_then(|v| v.as_str())
        .map(str::to_string)
        .ok_or_else(|| format!("image inspect {tag}: no Id"))
}

/// Why a prepared context cannot be used, or `None` when it can.
fn missing_context(dir: &Path, project: &Project) -> Option<String> {
    if !dir.is_dir() {
        return Some(format!(
            "context {} is not on this machine (prepare it with scripts/realprojects.sh)",
            dir.display()
        ));
    }
    let stamp = dir.with_extension("stamp");
    let stamp = std::fs::read_to_string(stamp).unwrap_or_default();
    let want = [
        format!("commit = {}", project.commit),
        format!("dir = {}", project.dir),
    ];
    if !want.iter().all(|line| stamp.lines().any(|l| l == line)) {
        return Some(format!(
            "context {} was not prepared from {}@{} (run scripts/realprojects.sh again)",
            dir.display(),
            project.repo,
            project.commit
        ));
    }
    None
}

/// The `real_projects` trial: every selected project, one at a time.
pub fn run_all() {
    let list = match load() {
        Ok(list) => list,
        Err(e) => panic!("invalid project list: {e}"),
    };
    let Some(selected) = selection(&list) else {
        loud("[realprojects] skipped on purpose: RESTAGE_REALPROJECTS=0");
        return;
    };
    assert!(
        !selected.is_empty(),
        "RESTAGE_REALPROJECTS names no project of {}",
        list_path().display()
    );
    let require = env_flag("RESTAGE_E2E_REQUIRE");
    let engine = match harness::engine() {
        Ok(engine) => engine,
        Err(why) => {
            let line = format!("SKIPPED: no Docker engine ({why})");
            for name in &selected {
                loud(&format!(
                    "{line}; real project {name} was NOT run and proves nothing"
                ));
                report::record_skip_in(REPORT, name, why, &line, &selected);
            }
            assert!(
                !require,
                "RESTAGE_E2E_REQUIRE=1 but there is no Docker engine: {why}"
            );
            return;
        }
    };
    let _gate = GATE.lock().unwrap_or_else(|e| e.into_inner());
    let images = Images::apply(engine, &list.images);
    let aliases = Aliases::apply(engine, &list.aliases);
    let root = contexts_dir();
    let start = Instant::now();
    let (mut passed, mut failed, mut skipped) = (Vec::new(), Vec::new(), Vec::new());
    let warn = std::env::var("RESTAGE_E2E_EXPECT").is_ok_and(|v| v == "warn");
    for project in list.project.iter().filter(|p| selected.contains(&p.name)) {
        let dir = root.join(&project.name);
        if let Some(why) = missing_context(&dir, project) {
            loud(&format!(
                "SKIPPED: {why}; real project {} was NOT run and proves nothing",
                project.name
            ));
            let line = format!(
                "Docker engine {} via `{}`",
                engine.server_version, engine.bin
            );
            report::record_skip_in(REPORT, &project.name, &why, &line, &selected);
            skipped.push(project.name.clone());
            continue;
        }
        loud(&format!(
            "[realprojects] {}: start ({}@{}:{}){}",
            project.name,
            project.repo,
            project.commit.get(..12).unwrap_or_default(),
            project.dir,
            if project.notes.is_empty() {
                String::new()
            } else {
                format!("; notes: {}", project.notes)
            }
        ));
        let t = Instant::now();
        let spec = project.spec().validated(&dir);
        let overlay = match &project.environment {
            Some(env) => Overlay::apply(engine, env).map(Some),
            None => Ok(None),
        };
        let mut row = match overlay {
            Ok(_overlay) => harness::run_case_in(engine, &project.name, &dir, spec),
            Err(e) => {
                let mut row = report::Row::new(&project.name);
                row.fail(false, format!("environment: {e}"));
                row
            }
        };
        row.total_secs = Some(t.elapsed().as_secs_f64());
        loud(&format!(
            "[realprojects] {}: {} in {:.0} s",
            project.name,
            row.result(),
            t.elapsed().as_secs_f64()
        ));
        let failing = harness::failing_lines(&row.failures, warn);
        report::record_in(REPORT, engine, row, &selected);
        if failing.is_empty() {
            passed.push(project.name.clone());
        } else {
            failed.push(format!("{}:\n{}", project.name, failing.join("\n")));
        }
    }
    drop(aliases);
    drop(images);
    loud(&format!(
        "[realprojects] {} passed, {} failed, {} SKIPPED (not passed) in {:.0} s",
        passed.len(),
        failed.len(),
        skipped.len(),
        start.elapsed().as_secs_f64()
    ));
    assert!(
        failed.is_empty(),
        "real projects failing:\n{}",
        failed.join("\n")
    );
    // The contexts come from fetched snapshots that a fresh machine does not have, so a missing
    // context fails only when asked for (RESTAGE_REALPROJECTS_REQUIRE=1); the engine's absence is
    // RESTAGE_E2E_REQUIRE's business above.
    assert!(
        !env_flag("RESTAGE_REALPROJECTS_REQUIRE") || skipped.is_empty(),
        "RESTAGE_REALPROJECTS_REQUIRE=1 but these contexts are missing: {skipped:?}"
    );
}
