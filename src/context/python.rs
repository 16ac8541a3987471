//! Python: `pyproject.toml` (build backend, project name and scripts, Poetry and uv sections)
//! and `requirements*.txt` (whether `pip install -r` needs more than the file itself).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ManifestError;
use super::fsread::normalize_rel;

/// What `pyproject.toml` says.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PyProject {
    /// `[build-system].build-backend`, e.g. `hatchling.build`.
    pub build_backend: Option<String>,
    /// `[project].name`.
    pub name: Option<String>,
    /// `[project.scripts]`: console script name -> `module:function`.
    pub scripts: BTreeMap<String, String>,
    /// `[tool.poetry]` exists.
    pub poetry: bool,
    /// `[tool.poetry.scripts]`: name -> `module:function` (table forms give their
    /// `callable`/`reference`).
    pub poetry_scripts: BTreeMap<String, String>,
    /// `[tool.uv]` exists.
    pub uv: bool,
}

#[derive(Deserialize)]
struct RawPyProject {
    #[serde(rename = "build-system")]
    build_system: Option<RawBuildSystem>,
    project: Option<RawProject>,
    tool: Option<RawTool>,
}

#[derive(Deserialize)]
struct RawBuildSystem {
    #[serde(rename = "build-backend")]
    build_backend: Option<String>,
}

#[derive(Deserialize)]
struct RawProject {
    name: Option<String>,
    #[serde(default)]
    scripts: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct RawTool {
    poetry: Option<toml::Table>,
    uv: Option<toml::Value>,
}

impl PyProject {
    /// Parses `pyproject.toml`; errors are one line with the position.
    pub fn parse(text: &str) -> Result<PyProject, ManifestError> {
        let raw: RawPyProject = toml::from_str(text).map_err(|e| ManifestError::toml(text, &e))?;
        let (name, scripts) = raw.project.map(|p| (p.name, p.scripts)).unwrap_or_default();
        let (poetry, uv) = raw
            .tool
            .map(|t| (t.poetry, t.uv.is_some()))
            .unwrap_or_default();
        let mut poetry_scripts = BTreeMap::new();
        if let Some(table) = poetry.as_ref().and_then(|p| p.get("scripts")) {
            let table = table
                .as_table()
                .ok_or_else(|| ManifestError::invalid("`[tool.poetry.scripts]` is not a table"))?;
            for (script, value) in table {
                let target = match value {
                    toml::Value::String(s) => Some(s.as_str()),
                    toml::Value::Table(t) => t
                        .get("callable")
                        .or_else(|| t.get("reference"))
                        .and_then(toml::Value::as_str),
                    _ => None,
                };
                let target = target.ok_or_else(|| {
                    ManifestError::Invalid(format!(
                        "`[tool.poetry.scripts]` entry `{script}` has no target"
                    ))
                })?;
                poetry_scripts.insert(script.clone(), target.to_owned());
            }
        }
        Ok(PyProject {
            build_backend: raw.build_system.and_then(|b| b.build_backend),
            name,
            scripts,
            poetry: poetry.is_some(),
            poetry_scripts,
            uv,
        })
    }
}

/// One `requirements*.txt` at the context root.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RequirementsFile {
    /// The file name, e.g. `requirements-dev.txt`.
    pub name: String,
    /// What it needs besides itself; `None` when it (or a file it includes) could not be read.
    pub refs: Option<RequirementRefs>,
}

/// What `pip install -r <file>` reads besides the file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RequirementRefs {
    /// Files pulled in with `-r` / `-c` (transitively), as context-relative paths, in order.
    pub includes: Vec<String>,
    /// Lines that point at local sources: `-e ...` (any editable), `.`, `./pkg`, `file:` URLs,
    /// local wheels/archives, local `--find-links` directories, paths outside the context,
    /// and anything with `${VARIABLES}` (cannot be resolved).
    pub local: Vec<String>,
}

impl RequirementsFile {
    /// Whether installing needs sources beyond the requirement files; `None` when unknown.
    /// A transform must only move `pip install -r` before `COPY . .` on `Some(false)`.
    pub fn needs_sources(&self) -> Option<bool> {
        self.refs.as_ref().map(|r| !r.local.is_empty())
    }
}

/// Longest include chain followed.
const MAX_INCLUDE_DEPTH: usize = 8;

/// Analyses requirement file `rel` (context-relative); `read` returns a file's text by
/// context-relative path, `exists` stats one.
pub(crate) fn analyse_requirements(
    rel: &str,
    read: &dyn Fn(&str) -> Result<String, String>,
    exists: &dyn Fn(&str) -> bool,
) -> Result<RequirementRefs, String> {
    let mut refs = RequirementRefs::default();
    let mut stack = vec![(rel.to_owned(), 0usize)];
    let mut seen = vec![rel.to_owned()];
    while let Some((file, depth)) = stack.pop() {
        let text = read(&file).map_err(|e| format!("{file}: {e}"))?;
        let dir = file.rsplit_once('/').map_or("", |(d, _)| d);
        for line in logical_lines(&text) {
            let line = strip_comment(&line);
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            if line.contains("${") {
                refs.local.push(line.to_owned());
                continue;
            }
            let (option, value) = split_option(line);
            match option {
                Some("-r" | "--requirement" | "-c" | "--constraint") => {
                    let Some(value) = value else {
                        return Err(format!("{file}: `{line}` names no file"));
                    };
                    if is_url(value) {
                        continue;
                    }
                    let joined = if dir.is_empty() {
                        value.to_owned()
                    } else {
                        format!("{dir}/{value}")
                    };
                    let Some(target) = normalize_rel(&joined) else {
                        refs.local.push(line.to_owned());
                        continue;
                    };
                    if seen.contains(&target) {
                        continue;
                    }
                    if depth + 1 > MAX_INCLUDE_DEPTH {
                        return Err(format!(
                            "{file}: includes nest deeper than {MAX_INCLUDE_DEPTH}"
                        ));
                    }
                    seen.push(target.clone());
                    refs.includes.push(target.clone());
                    stack.push((target, depth + 1));
                }
                Some("-e" | "--editable") => refs.local.push(line.to_owned()),
                Some("-f" | "--find-links") => {
                    if value.is_some_and(|v| !is_url(v) || v.starts_with("file:")) {
                        refs.local.push(line.to_owned());
                    }
                }
                Some(_) => {}
                None => {
                    if is_local_requirement(line, exists) {
                        refs.local.push(line.to_owned());
                    }
                }
            }
        }
    }
    Ok(refs)
}

/// Joins `\`-continued lines, as pip does.
fn logical_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        match line.strip_suffix('\\') {
            Some(head) => current.push_str(head),
            None => {
                current.push_str(line);
                out.push(std::mem::take(&mut current));
            }
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// pip's comment rule: `#` at the start or after whitespace.
fn strip_comment(line: &str) -> String {
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'#' && (i == 0 || bytes[i - 1].is_ascii_whitespace()) {
            return line[..i].to_owned();
        }
    }
    line.to_owned()
}

/// `("-r", Some("x.txt"))` for `-r x.txt`, `-rx.txt`, `--requirement=x.txt`; `(None, _)` for a
/// requirement line.
fn split_option(line: &str) -> (Option<&str>, Option<&str>) {
    if !line.starts_with('-') {
        return (None, None);
    }
    if let Some(long) = line.strip_prefix("--") {
        let end = long
            .find(|c: char| c == '=' || c.is_whitespace())
            .unwrap_or(long.len());
        let option = &line[..end + 2];
        let value = long[end..].trim_start_matches(['=', ' ', '\t']).trim();
        return (Some(option), (!value.is_empty()).then_some(value));
    }
    let option = line.get(..2).unwrap_or(line);
    let value = line.get(2..).unwrap_or("").trim();
    (Some(option), (!value.is_empty()).then_some(value))
}

fn is_url(value: &str) -> bool {
    value.contains("://")
}

/// A requirement line that pip would read from the local file system.
fn is_local_requirement(line: &str, exists: &dyn Fn(&str) -> bool) -> bool {
    let spec = line
        .split(|c: char| c.is_whitespace() || c == ';')
        .next()
        .unwrap_or(line);
    if line.contains("file:")
        || spec.starts_with('.')
        || spec.starts_with('/')
        || spec.starts_with('~')
    {
        return true;
    }
    if is_url(spec) || spec.contains('@') {
        return false;
    }
    let archive = [".whl", ".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar"]
        .iter()
        .any(|ext| spec.ends_with(ext));
    (spec.contains('/') || archive) && normalize_rel(spec).is_none_or(|p| exists(&p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pyproject_facts() {
        let p = PyProject::parse(
            "[build-system]\nrequires = [\"hatchling\"]\nbuild-backend = \"hatchling.build\"\n[project]\nname = \"svc\"\n[project.scripts]\nsvc = \"svc.cli:main\"\n[tool.uv]\ndev-dependencies = []\n",
        )
        .expect("valid");
        assert_eq!(p.build_backend.as_deref(), Some("hatchling.build"));
        assert_eq!(p.name.as_deref(), Some("svc"));
        assert_eq!(
            p.scripts.get("svc").map(String::as_str),
            Some("svc.cli:main")
        );
        assert!(p.uv && !p.poetry);
    }

    #[test]
    fn poetry_scripts_forms() {
        let p = PyProject::parse(
            "[tool.poetry]\nname = \"x\"\n[tool.poetry.scripts]\na = \"x.a:main\"\nb = { callable = \"x.b:main\" }\nc = { reference = \"x.c:main\", type = \"console\" }\n",
        )
        .expect("valid");
        assert!(p.poetry);
        let targets: Vec<&str> = p.poetry_scripts.values().map(String::as_str).collect();
        assert_eq!(targets, ["x.a:main", "x.b:main", "x.c:main"]);
        assert!(PyProject::parse("[tool.poetry.scripts]\na = 3\n").is_err());
        let err = PyProject::parse("[project\nname = 1")
            .expect_err("bad")
            .to_string();
        assert!(err.starts_with("TOML parse error at line 1"), "{err}");
    }

    fn analyse(files: &[(&str, &str)], rel: &str) -> Result<RequirementRefs, String> {
        let read = |p: &str| {
            files
                .iter()
                .find(|(n, _)| *n == p)
                .map(|(_, t)| (*t).to_owned())
                .ok_or_else(|| "missing".to_owned())
        };
        let exists =
            |p: &str| files.iter().any(|(n, _)| *n == p) || p == "wheels/x-1.0-py3-none-any.whl";
        analyse_requirements(rel, &read, &exists)
    }

    #[test]
    fn plain_requirements_need_nothing_else() {
        let refs = analyse(
            &[("requirements.txt", "# pinned\nflask==3.0 ; python_version >= '3.8'  # web\nrequests[socks]>=2 \\\n  --hash=sha256:abc\n--index-url https://pypi.org/simple\npkg @ https://example.com/pkg.whl\n")],
            "requirements.txt",
        )
        .expect("readable");
        assert_eq!(refs, RequirementRefs::default());
    }

    #[test]
    fn local_references_are_found() {
        let refs = analyse(
            &[(
                "requirements.txt",
                "-e .\n./libs/common\nfile:///tmp/x.whl\nwheels/x-1.0-py3-none-any.whl\n--find-links ./wheels\nname @ file:///src\n-e git+https://github.com/a/b#egg=b\n",
            )],
            "requirements.txt",
        )
        .expect("readable");
        assert_eq!(refs.local.len(), 7, "{refs:?}");
        let rf = RequirementsFile {
            name: "requirements.txt".to_owned(),
            refs: Some(refs),
        };
        assert_eq!(rf.needs_sources(), Some(true));
    }

    #[test]
    fn includes_are_followed_transitively() {
        let refs = analyse(
            &[
                (
                    "requirements-dev.txt",
                    "-r requirements.txt\n--constraint=constraints/c.txt\npytest\n",
                ),
                ("requirements.txt", "flask\n-rbase.txt\n"),
                ("base.txt", "-r requirements.txt\nclick\n"),
                ("constraints/c.txt", "-e ./vendored\n"),
            ],
            "requirements-dev.txt",
        )
        .expect("readable");
        assert_eq!(
            refs.includes,
            ["requirements.txt", "constraints/c.txt", "base.txt"]
        );
        assert_eq!(refs.local, ["-e ./vendored"]);
    }

    #[test]
    fn missing_include_is_unknown() {
        let err = analyse(
            &[("requirements.txt", "-r other.txt\n")],
            "requirements.txt",
        )
        .expect_err("missing include")
        .to_string();
        assert_eq!(err, "other.txt: missing");
        let err = analyse(&[("requirements.txt", "-r\n")], "requirements.txt")
            .expect_err("no file")
            .to_string();
        assert!(err.contains("names no file"), "{err}");
    }

    #[test]
    fn includes_outside_the_context_and_variables_are_local() {
        let refs = analyse(
            &[("requirements.txt", "-r ../shared.txt\n${PKG}\n")],
            "requirements.txt",
        )
        .expect("readable");
        assert_eq!(refs.local, ["-r ../shared.txt", "${PKG}"]);
    }
}
