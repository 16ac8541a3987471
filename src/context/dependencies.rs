//! The dependency names the root manifests declare, per kind (`npm`, `pip`, `gem`, `composer`,
//! `go`, `cargo`), normalised the way each registry compares names. `non-root-user` asks which
//! frameworks the app uses (Rails, Laravel, an SQLite driver) to give the user the paths they
//! write. A manifest that is present but cannot be read is recorded in
//! [`Dependencies::unknown`], never half-read.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use crate::knowledge::normalise_package;

/// Longest chain of `-r` includes followed in requirements files.
const MAX_INCLUDE_DEPTH: usize = 8;

/// What the manifests at the context root depend on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Dependencies {
    /// Kind -> normalised names, for every kind with at least one readable manifest.
    pub names: BTreeMap<String, BTreeSet<String>>,
    /// Manifests present whose dependencies restage could not read, with why
    /// (`composer.json: invalid JSON ...`, `setup.py: restage does not read it`).
    pub unknown: Vec<String>,
    /// For each Python manifest or lockfile at the root (`requirements*.txt` with its `-r` /
    /// `-c` includes, `pyproject.toml`, `Pipfile`, `poetry.lock`, `Pipfile.lock`, `uv.lock`):
    /// the normalised names of the packages installing it brings in, as far as the file says,
    /// or why restage cannot tell. A `pyproject.toml` counts its optional dependencies and
    /// groups too; one whose `[project]` dependencies are dynamic, or that has neither
    /// `[project]` nor `[tool.poetry]` (setup.py declares them), is unknown.
    pub python: BTreeMap<String, Result<BTreeSet<String>, String>>,
    /// Whether the Gemfile at the root puts gems in the development or test group (`group
    /// :development, :test do`, `gem "x", group: :test`); `None` when there is no readable Gemfile.
    pub gemfile_dev_groups: Option<bool>,
}

impl Dependencies {
    /// Whether a manifest of `kind` names `name` (already normalised).
    pub fn has(&self, kind: &str, name: &str) -> bool {
        self.names.get(kind).is_some_and(|s| s.contains(name))
    }

    fn add(&mut self, kind: &str, name: &str) {
        let name = normalise_package(kind, name);
        if !name.is_empty() {
            self.names.entry(kind.to_owned()).or_default().insert(name);
        }
    }

    fn seen(&mut self, kind: &str) {
        self.names.entry(kind.to_owned()).or_default();
    }
}

/// Reads the dependencies of the root manifests present in `files`; `read` returns a file's
/// text by context-relative path.
pub(crate) fn read(
    files: &BTreeMap<String, super::EntryKind>,
    package_json: Option<&super::PackageJson>,
    read: &dyn Fn(&str) -> Result<String, String>,
) -> Dependencies {
    let mut deps = Dependencies::default();
    let present = |n: &str| files.get(n).is_some_and(|k| *k != super::EntryKind::Dir);

    if present("package.json") {
        match package_json {
            Some(p) => {
                deps.seen("npm");
                for n in p.dependencies.iter().chain(&p.dev_dependencies) {
                    deps.add("npm", n);
                }
            }
            None => deps
                .unknown
                .push("package.json: restage could not read it".to_owned()),
        }
    }

    // Python.
    let mut python_read = false;
    let requirement_files: Vec<&String> = files
        .iter()
        .filter(|(n, k)| super::is_requirements_name(n) && **k != super::EntryKind::Dir)
        .map(|(n, _)| n)
        .collect();
    for name in requirement_files {
        match requirements(name, read) {
            Ok(names) => {
                python_read = true;
                deps.seen("pip");
                for n in &names {
                    deps.add("pip", n);
                }
                deps.python
                    .insert(name.clone(), Ok(normalised("pip", &names)));
            }
            Err(e) => {
                deps.python.insert(name.clone(), Err(e.clone()));
                deps.unknown.push(e);
            }
        }
    }
    for (name, parse) in [
        (
            "pyproject.toml",
            pyproject as fn(&str) -> Result<Vec<String>, String>,
        ),
        ("Pipfile", pipfile),
    ] {
        if !present(name) {
            continue;
        }
        let text = read(name);
        match text.as_deref().map_err(Clone::clone).and_then(parse) {
            Ok(names) => {
                python_read = true;
                deps.seen("pip");
                for n in &names {
                    deps.add("pip", n);
                }
                let installs = if name == "pyproject.toml" {
                    text.as_deref()
                        .map_err(Clone::clone)
                        .and_then(pyproject_installs)
                        .map(|()| normalised("pip", &names))
                } else {
                    Ok(normalised("pip", &names))
                };
                deps.python.insert(
                    name.to_owned(),
                    installs.map_err(|e| format!("{name}: {e}")),
                );
            }
            Err(e) => {
                deps.python
                    .insert(name.to_owned(), Err(format!("{name}: {e}")));
                deps.unknown.push(format!("{name}: {e}"));
            }
        }
    }
    for (name, parse) in [
        (
            "poetry.lock",
            toml_packages as fn(&str) -> Result<Vec<String>, String>,
        ),
        ("uv.lock", toml_packages),
        ("Pipfile.lock", pipfile_lock),
    ] {
        if present(name) {
            let names = read(name).and_then(|t| parse(&t));
            deps.python.insert(
                name.to_owned(),
                names
                    .map(|n| normalised("pip", &n))
                    .map_err(|e| format!("{name}: {e}")),
            );
        }
    }
    if !python_read {
        for name in ["setup.py", "setup.cfg"] {
            if present(name) {
                deps.unknown.push(format!(
                    "{name}: restage does not read the dependencies it declares"
                ));
            }
        }
    }

    // Ruby: the Gemfile, and the lockfile's resolved gems when present.
    for name in ["Gemfile", "Gemfile.lock"] {
        if !present(name) {
            continue;
        }
        match read(name) {
            Ok(text) => {
                deps.seen("gem");
                let gems = if name == "Gemfile" {
                    deps.gemfile_dev_groups = Some(gemfile_dev_groups(&text));
                    gemfile(&text)
                } else {
                    gemfile_lock(&text)
                };
                for n in gems {
                    deps.add("gem", &n);
                }
            }
            Err(e) => deps.unknown.push(format!("{name}: {e}")),
        }
    }

    if present("composer.json") {
        match read("composer.json").and_then(|t| composer_json(&t)) {
            Ok(names) => {
                deps.seen("composer");
                for n in names {
                    deps.add("composer", &n);
                }
            }
            Err(e) => deps.unknown.push(format!("composer.json: {e}")),
        }
    }

    if present("go.mod") {
        match read("go.mod") {
            Ok(text) => {
                deps.seen("go");
                for n in go_requires(&text) {
                    deps.add("go", &n);
                }
            }
            Err(e) => deps.unknown.push(format!("go.mod: {e}")),
        }
    }

    // Rust: the lockfile lists every crate, direct or not; else the manifest's own tables.
    let cargo = if present("Cargo.lock") {
        Some((
            "Cargo.lock",
            cargo_lock as fn(&str) -> Result<Vec<String>, String>,
        ))
    } else if present("Cargo.toml") {
        Some((
            "Cargo.toml",
            cargo_toml as fn(&str) -> Result<Vec<String>, String>,
        ))
    } else {
        None
    };
    if let Some((name, parse)) = cargo {
        match read(name).and_then(|t| parse(&t)) {
            Ok(names) => {
                deps.seen("cargo");
                for n in names {
                    deps.add("cargo", &n);
                }
            }
            Err(e) => deps.unknown.push(format!("{name}: {e}")),
        }
    }
    deps
}

fn normalised(kind: &str, names: &[String]) -> BTreeSet<String> {
    names
        .iter()
        .map(|n| normalise_package(kind, n))
        .filter(|n| !n.is_empty())
        .collect()
}

/// `Ok` when `pyproject.toml` declares what installing the project brings in: a `[project]`
/// table whose dependencies are not dynamic, or Poetry's tables.
fn pyproject_installs(text: &str) -> Result<(), String> {
    let t = toml_table(text)?;
    match t.get("project") {
        Some(project) => {
            let dynamic = project
                .get("dynamic")
                .and_then(toml::Value::as_array)
                .is_some_and(|a| {
                    a.iter().any(|v| {
                        matches!(v.as_str(), Some("dependencies" | "optional-dependencies"))
                    })
                });
            if dynamic {
                return Err("its dependencies are dynamic (the build backend computes them)".into());
            }
            Ok(())
        }
        None if t.get("tool").and_then(|t| t.get("poetry")).is_some() => Ok(()),
        None => Err(
            "it has no [project] table, so the build backend (setup.py, setup.cfg) declares the dependencies"
                .into(),
        ),
    }
}

/// The `name` of every `[[package]]` of a TOML lockfile (poetry.lock, uv.lock).
fn toml_packages(text: &str) -> Result<Vec<String>, String> {
    let t = toml_table(text)?;
    // A project without dependencies has no `[[package]]`.
    let packages = match t.get("package") {
        None => return Ok(Vec::new()),
        Some(p) => p
            .as_array()
            .ok_or("its `package` is not an array of tables")?,
    };
    Ok(packages
        .iter()
        .filter_map(|p| p.get("name").and_then(toml::Value::as_str))
        .map(str::to_owned)
        .collect())
}

/// The packages of Pipfile.lock's `default` and `develop` sections.
fn pipfile_lock(text: &str) -> Result<Vec<String>, String> {
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
    let mut out = Vec::new();
    for section in ["default", "develop"] {
        if let Some(o) = v.get(section).and_then(serde_json::Value::as_object) {
            out.extend(o.keys().cloned());
        }
    }
    Ok(out)
}

/// The project name at the start of a PEP 508 requirement (`Flask[async]>=3 ; python_version`).
fn pep508_name(spec: &str) -> Option<String> {
    static NAME: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)").expect("valid regex"));
    NAME.captures(spec).map(|c| c[1].to_owned())
}

/// The normalised project names the requirements file `rel` (anywhere in the context, read
/// through `read`) installs with the files it includes.
pub(super) fn requirements_names(
    rel: &str,
    read: &dyn Fn(&str) -> Result<String, String>,
) -> Result<BTreeSet<String>, String> {
    requirements(rel, read).map(|names| normalised("pip", &names))
}

/// Names in a requirements file and the files it includes with `-r` / `-c`.
fn requirements(
    rel: &str,
    read: &dyn Fn(&str) -> Result<String, String>,
) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut stack = vec![(rel.to_owned(), 0usize)];
    let mut seen = vec![rel.to_owned()];
    while let Some((file, depth)) = stack.pop() {
        let text = read(&file).map_err(|e| format!("{file}: {e}"))?;
        let dir = file.rsplit_once('/').map_or("", |(d, _)| d);
        for line in text.replace("\\\n", " ").lines() {
            let line = line.split(" #").next().unwrap_or("").trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(rest) = ["-r", "--requirement", "-c", "--constraint"]
                .iter()
                .find_map(|o| line.strip_prefix(o))
            {
                let target = rest.trim_start_matches('=').trim();
                if target.contains("://") || target.is_empty() {
                    continue;
                }
                let joined = if dir.is_empty() {
                    target.to_owned()
                } else {
                    format!("{dir}/{target}")
                };
                let Some(target) = super::normalize_rel(&joined) else {
                    return Err(format!("{file}: `{line}` names a file outside the context"));
                };
                if depth + 1 > MAX_INCLUDE_DEPTH {
                    return Err(format!("{file}: includes nest too deep"));
                }
                if !seen.contains(&target) {
                    seen.push(target.clone());
                    stack.push((target, depth + 1));
                }
                continue;
            }
            if line.starts_with('-') {
                continue;
            }
            // `name @ url` and plain specs; a bare path or URL names no project.
            if line.contains("://") && !line.contains(" @ ") {
                continue;
            }
            if let Some(name) = pep508_name(line)
                && !line.starts_with('.')
                && !line.starts_with('/')
            {
                out.push(name);
            }
        }
    }
    Ok(out)
}

fn toml_table(text: &str) -> Result<toml::Table, String> {
    toml::from_str(text).map_err(|e| e.message().trim().to_owned())
}

fn keys(value: Option<&toml::Value>) -> Vec<String> {
    value
        .and_then(toml::Value::as_table)
        .map(|t| t.keys().cloned().collect())
        .unwrap_or_default()
}

fn specs(value: Option<&toml::Value>) -> Vec<String> {
    value
        .and_then(toml::Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(toml::Value::as_str)
                .filter_map(pep508_name)
                .collect()
        })
        .unwrap_or_default()
}

/// `[project].dependencies` and optional dependencies, PEP 735 groups, and Poetry's tables.
fn pyproject(text: &str) -> Result<Vec<String>, String> {
    let t = toml_table(text)?;
    let mut out = Vec::new();
    if let Some(project) = t.get("project") {
        out.extend(specs(project.get("dependencies")));
        if let Some(opt) = project
            .get("optional-dependencies")
            .and_then(toml::Value::as_table)
        {
            for v in opt.values() {
                out.extend(specs(Some(v)));
            }
        }
    }
    if let Some(groups) = t.get("dependency-groups").and_then(toml::Value::as_table) {
        for v in groups.values() {
            out.extend(specs(Some(v)));
        }
    }
    if let Some(poetry) = t.get("tool").and_then(|t| t.get("poetry")) {
        out.extend(keys(poetry.get("dependencies")));
        out.extend(keys(poetry.get("dev-dependencies")));
        if let Some(groups) = poetry.get("group").and_then(toml::Value::as_table) {
            for g in groups.values() {
                out.extend(keys(g.get("dependencies")));
            }
        }
    }
    out.retain(|n| n != "python");
    Ok(out)
}

fn pipfile(text: &str) -> Result<Vec<String>, String> {
    let t = toml_table(text)?;
    let mut out = keys(t.get("packages"));
    out.extend(keys(t.get("dev-packages")));
    Ok(out)
}

/// `gem "name"` lines of a Gemfile.
fn gemfile(text: &str) -> Vec<String> {
    static GEM: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r#"^\s*gem[\s(]+["']([^"']+)["']"#).expect("valid regex"));
    text.lines()
        .filter_map(|l| GEM.captures(l).map(|c| c[1].to_owned()))
        .collect()
}

/// Whether a Gemfile names the development or test group: a `group` block or a `group:`/
/// `groups:` option (`:group =>` too) that lists it.
fn gemfile_dev_groups(text: &str) -> bool {
    static GROUP: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"(?:^\s*group\b|\bgroups?:|:groups?\s*=>).*[:"'](?:development|test)\b"#)
            .expect("valid regex")
    });
    text.lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .any(|l| GROUP.is_match(l))
}

/// The gems a Gemfile.lock resolves: `    name (version)` lines under `specs:`.
fn gemfile_lock(text: &str) -> Vec<String> {
    static SPEC: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^    ([A-Za-z0-9][A-Za-z0-9._-]*) \(").expect("valid regex"));
    text.lines()
        .filter_map(|l| SPEC.captures(l).map(|c| c[1].to_owned()))
        .collect()
}

fn composer_json(text: &str) -> Result<Vec<String>, String> {
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
    let o = v.as_object().ok_or("not a JSON object")?;
    let mut out = Vec::new();
    for table in ["require", "require-dev"] {
        if let Some(t) = o.get(table).and_then(|t| t.as_object()) {
            out.extend(t.keys().cloned());
        }
    }
    Ok(out)
}

/// The module paths of `require` directives (single-line and block form).
fn go_requires(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_block = false;
    for line in text.lines() {
        let line = line.split("//").next().unwrap_or("").trim();
        if in_block {
            if line == ")" {
                in_block = false;
            } else if let Some(path) = line.split_whitespace().next() {
                out.push(path.trim_matches('"').to_owned());
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix("require") {
            let rest = rest.trim();
            if rest == "(" {
                in_block = true;
            } else if let Some(path) = rest.split_whitespace().next() {
                out.push(path.trim_matches('"').to_owned());
            }
        }
    }
    out
}

fn cargo_lock(text: &str) -> Result<Vec<String>, String> {
    Ok(text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("name = \""))
        .filter_map(|r| r.strip_suffix('"'))
        .map(str::to_owned)
        .collect())
}

fn cargo_toml(text: &str) -> Result<Vec<String>, String> {
    let t = toml_table(text)?;
    let mut out = Vec::new();
    for table in ["dependencies", "dev-dependencies", "build-dependencies"] {
        out.extend(keys(t.get(table)));
    }
    if let Some(ws) = t.get("workspace") {
        out.extend(keys(ws.get("dependencies")));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::EntryKind;

    fn deps(files: &[(&str, &str)]) -> Dependencies {
        let map: BTreeMap<String, EntryKind> = files
            .iter()
            .map(|(n, _)| ((*n).to_owned(), EntryKind::File))
            .collect();
        let read = |rel: &str| {
            files
                .iter()
                .find(|(n, _)| *n == rel)
                .map(|(_, t)| (*t).to_owned())
                .ok_or_else(|| "missing".to_owned())
        };
        read_all(&map, &read)
    }

    fn read_all(
        map: &BTreeMap<String, EntryKind>,
        read: &dyn Fn(&str) -> Result<String, String>,
    ) -> Dependencies {
        super::read(map, None, read)
    }

    #[test]
    fn gemfile_development_and_test_groups() {
        assert!(gemfile_dev_groups(
            "gem 'rails'\ngroup :development, :test do\n  gem 'debug'\nend\n"
        ));
        assert!(gemfile_dev_groups("group(:test) do\nend\n"));
        assert!(gemfile_dev_groups("gem \"rspec\", group: :test\n"));
        assert!(gemfile_dev_groups("gem 'pry', groups: [:development]\n"));
        assert!(gemfile_dev_groups("gem 'pry', :group => 'development'\n"));
        assert!(!gemfile_dev_groups(
            "gem 'rails'\ngroup :production do\n  gem 'pg'\nend\n# group :test\n"
        ));
        assert!(!gemfile_dev_groups("gem 'test-unit'\ngem 'minitest'\n"));
    }

    #[test]
    fn each_manifest_kind_is_read() {
        let d = deps(&[
            (
                "requirements.txt",
                "-r requirements/base.txt\nFlask_SQLAlchemy==3.1 # orm\n--index-url https://x\n./local\n",
            ),
            (
                "requirements/base.txt",
                "Django>=5 ; python_version > '3'\n",
            ),
            (
                "Gemfile",
                "source 'https://rubygems.org'\ngem \"rails\", \"~> 7.1\"\n  gem('pg')\n",
            ),
            (
                "composer.json",
                "{\"require\": {\"php\": \"^8.2\", \"laravel/framework\": \"^11\"}}",
            ),
            (
                "go.mod",
                "module x\n\nrequire github.com/mattn/go-sqlite3 v1.14.0\nrequire (\n\tgolang.org/x/net v0.1.0 // indirect\n)\n",
            ),
            (
                "Cargo.toml",
                "[package]\nname = \"x\"\n[dependencies]\nrusqlite = \"0.31\"\n",
            ),
        ]);
        assert!(d.unknown.is_empty(), "{:?}", d.unknown);
        assert!(d.has("pip", "flask-sqlalchemy") && d.has("pip", "django"));
        assert!(!d.has("pip", "local"));
        assert!(d.has("gem", "rails") && d.has("gem", "pg"));
        assert!(d.has("composer", "laravel/framework"));
        assert!(d.has("go", "github.com/mattn/go-sqlite3") && d.has("go", "golang.org/x/net"));
        assert!(d.has("cargo", "rusqlite"));
    }

    #[test]
    fn python_project_files() {
        let d = deps(&[(
            "pyproject.toml",
            "[project]\nname = \"x\"\ndependencies = [\"aiosqlite>=0.20\"]\n[tool.poetry.dependencies]\npython = \"^3.12\"\nDjango = \"^5\"\n",
        )]);
        assert!(d.has("pip", "aiosqlite") && d.has("pip", "django") && !d.has("pip", "python"));
        let d = deps(&[(
            "Pipfile",
            "[packages]\nflask = \"*\"\n[dev-packages]\npytest = \"*\"\n",
        )]);
        assert!(d.has("pip", "flask") && d.has("pip", "pytest"));
    }

    #[test]
    fn python_installs_per_file() {
        let d = deps(&[
            (
                "requirements.txt",
                "-r requirements-base.txt\nMySQL_python\n",
            ),
            ("requirements-base.txt", "psycopg2==2.9.10\n"),
            (
                "poetry.lock",
                "[[package]]\nname = \"PyCurl\"\nversion = \"7.45.3\"\n[metadata]\nlock-version = \"2.0\"\n",
            ),
            ("uv.lock", "version = 1\n"),
            (
                "Pipfile.lock",
                "{\"default\": {\"python-magic\": {}}, \"develop\": {\"pytest\": {}}}",
            ),
            (
                "pyproject.toml",
                "[project]\nname = \"x\"\ndynamic = [\"dependencies\"]\n",
            ),
        ]);
        let names = |f: &str| {
            d.python[f]
                .clone()
                .map(|s| s.into_iter().collect::<Vec<_>>())
        };
        assert_eq!(
            names("requirements.txt"),
            Ok(vec!["mysql-python".to_owned(), "psycopg2".to_owned()])
        );
        assert_eq!(
            names("requirements-base.txt"),
            Ok(vec!["psycopg2".to_owned()])
        );
        assert_eq!(names("poetry.lock"), Ok(vec!["pycurl".to_owned()]));
        assert_eq!(names("uv.lock"), Ok(vec![]));
        assert_eq!(
            names("Pipfile.lock"),
            Ok(vec!["pytest".to_owned(), "python-magic".to_owned()])
        );
        assert_eq!(
            names("pyproject.toml"),
            Err(
                "pyproject.toml: its dependencies are dynamic (the build backend computes them)"
                    .to_owned()
            )
        );
        let d = deps(&[(
            "pyproject.toml",
            "[build-system]\nrequires = [\"setuptools\"]\n",
        )]);
        assert!(d.python["pyproject.toml"].is_err());
        let d = deps(&[("Pipfile.lock", "{")]);
        assert!(
            d.python["Pipfile.lock"]
                .as_ref()
                .is_err_and(|e| e.starts_with("Pipfile.lock: invalid JSON"))
        );
    }

    #[test]
    fn unreadable_manifests_are_unknown() {
        let d = deps(&[("setup.py", "setup()")]);
        assert_eq!(d.unknown.len(), 1);
        let d = deps(&[("composer.json", "{")]);
        assert!(d.unknown[0].starts_with("composer.json: invalid JSON"));
        let d = deps(&[("requirements.txt", "-r missing.txt\n")]);
        assert_eq!(d.unknown.len(), 1);
        // package.json present but not parsed by the context.
        let d = deps(&[("package.json", "{")]);
        assert_eq!(d.unknown.len(), 1);
        // setup.py next to a readable requirements file: the requirements tell.
        let d = deps(&[("setup.py", "setup()"), ("requirements.txt", "flask\n")]);
        assert!(d.unknown.is_empty());
    }
}
