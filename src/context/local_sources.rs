//! Local sources a root manifest pulls in besides itself: path dependencies (`file:` specs in
//! package.json, `path = ...` in pyproject.toml and Pipfile, Composer `path` repositories,
//! Gemfile `path:` and `gemspec`), workspace members, and included Gradle builds. A transform
//! that installs dependencies from the manifests alone (before `COPY . .`) must refuse when a
//! manifest names any: they would be missing. Read conservatively: anything that may be a local
//! path counts.

use std::sync::LazyLock;

use regex::Regex;

/// The manifests this module reads, at the context root.
pub const MANIFESTS: [&str; 7] = [
    "package.json",
    "pyproject.toml",
    "Pipfile",
    "composer.json",
    "Gemfile",
    "settings.gradle",
    "settings.gradle.kts",
];

/// The local sources manifest `name` (one of [`MANIFESTS`]) names, as short descriptions
/// (`shared@file:../shared`, `workspaces`); an error when the text cannot be read as that
/// manifest.
pub(crate) fn read(name: &str, text: &str) -> Result<Vec<String>, String> {
    match name {
        "package.json" => package_json(text),
        "pyproject.toml" => pyproject(text),
        "Pipfile" => pipfile(text),
        "composer.json" => composer_json(text),
        "Gemfile" => Ok(gemfile(text)),
        "settings.gradle" | "settings.gradle.kts" => Ok(gradle_settings(text)),
        _ => Err(format!("{name}: not a manifest restage reads")),
    }
}

/// A dependency spec that npm, yarn or pnpm resolve from the file system.
fn is_local_node_spec(spec: &str) -> bool {
    [
        "file:",
        "link:",
        "portal:",
        "workspace:",
        "./",
        "../",
        "/",
        "~/",
    ]
    .iter()
    .any(|p| spec.starts_with(p))
        || spec == "."
        || spec == ".."
}

fn package_json(text: &str) -> Result<Vec<String>, String> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
    let object = value.as_object().ok_or("not a JSON object")?;
    let mut out = Vec::new();
    for table in [
        "dependencies",
        "devDependencies",
        "optionalDependencies",
        "peerDependencies",
    ] {
        let Some(deps) = object.get(table).and_then(|d| d.as_object()) else {
            continue;
        };
        for (name, spec) in deps {
            if let Some(spec) = spec.as_str()
                && is_local_node_spec(spec.trim())
            {
                out.push(format!("{name}@{}", spec.trim()));
            }
        }
    }
    let workspaces = match object.get("workspaces") {
        Some(serde_json::Value::Array(list)) => !list.is_empty(),
        Some(serde_json::Value::Object(o)) => o
            .get("packages")
            .and_then(|p| p.as_array())
            .is_some_and(|p| !p.is_empty()),
        _ => false,
    };
    if workspaces {
        out.push("workspaces".to_owned());
    }
    Ok(out)
}

/// Entries of a TOML table of dependencies that are tables with one of `keys`.
fn toml_path_deps(table: Option<&toml::Value>, keys: &[&str], out: &mut Vec<String>) {
    let Some(table) = table.and_then(toml::Value::as_table) else {
        return;
    };
    for (name, spec) in table {
        let specs: Vec<&toml::Value> = match spec {
            toml::Value::Array(list) => list.iter().collect(),
            other => vec![other],
        };
        for spec in specs {
            if let Some(t) = spec.as_table()
                && let Some(key) = keys.iter().find(|k| t.contains_key(**k))
            {
                let value = t.get(*key).map(|v| match v {
                    toml::Value::String(s) => s.clone(),
                    other => other.to_string(),
                });
                out.push(format!("{name} ({key} = {})", value.unwrap_or_default()));
            }
        }
    }
}

fn pyproject(text: &str) -> Result<Vec<String>, String> {
    let value: toml::Value = toml::from_str(text).map_err(|e| e.message().to_owned())?;
    let mut out = Vec::new();
    let get = |path: &[&str]| -> Option<&toml::Value> {
        path.iter().try_fold(&value, |v, key| v.get(*key))
    };
    toml_path_deps(
        get(&["tool", "poetry", "dependencies"]),
        &["path"],
        &mut out,
    );
    toml_path_deps(
        get(&["tool", "poetry", "dev-dependencies"]),
        &["path"],
        &mut out,
    );
    if let Some(groups) = get(&["tool", "poetry", "group"]).and_then(toml::Value::as_table) {
        for group in groups.values() {
            toml_path_deps(group.get("dependencies"), &["path"], &mut out);
        }
    }
    toml_path_deps(
        get(&["tool", "uv", "sources"]),
        &["path", "workspace"],
        &mut out,
    );
    if get(&["tool", "uv", "workspace"]).is_some() {
        out.push("[tool.uv.workspace]".to_owned());
    }
    // PEP 508 direct references to files: `name @ file:///...`.
    for list in [get(&["project", "dependencies"])]
        .into_iter()
        .chain(
            get(&["project", "optional-dependencies"])
                .and_then(toml::Value::as_table)
                .into_iter()
                .flat_map(|t| t.values().map(Some)),
        )
        .chain(
            get(&["dependency-groups"])
                .and_then(toml::Value::as_table)
                .into_iter()
                .flat_map(|t| t.values().map(Some)),
        )
        .flatten()
    {
        for dep in list.as_array().into_iter().flatten() {
            if let Some(s) = dep.as_str()
                && s.contains("file:")
            {
                out.push(s.to_owned());
            }
        }
    }
    Ok(out)
}

fn pipfile(text: &str) -> Result<Vec<String>, String> {
    let value: toml::Value = toml::from_str(text).map_err(|e| e.message().to_owned())?;
    let mut out = Vec::new();
    let Some(tables) = value.as_table() else {
        return Ok(out);
    };
    for (name, table) in tables {
        if matches!(name.as_str(), "source" | "requires" | "scripts" | "pipenv") {
            continue;
        }
        let mut found = Vec::new();
        toml_path_deps(Some(table), &["path", "file"], &mut found);
        // `file = "https://..."` is a download, not a local path.
        out.extend(found.into_iter().filter(|f| !f.contains("= http")));
    }
    Ok(out)
}

fn composer_json(text: &str) -> Result<Vec<String>, String> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
    let repos: Vec<&serde_json::Value> = match value.get("repositories") {
        Some(serde_json::Value::Array(list)) => list.iter().collect(),
        Some(serde_json::Value::Object(map)) => map.values().collect(),
        _ => Vec::new(),
    };
    Ok(repos
        .into_iter()
        .filter(|r| r.get("type").and_then(|t| t.as_str()) == Some("path"))
        .map(|r| {
            let url = r.get("url").and_then(|u| u.as_str()).unwrap_or("?");
            format!("path repository {url}")
        })
        .collect())
}

static GEMFILE_LOCAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(^\s*(gemspec|eval_gemfile|path)\b)|(\bpath\s*(:|=>))|(:path\s*=>)")
        .expect("valid regex")
});

/// Gemfile is Ruby: any line that calls `gemspec`, `eval_gemfile` or `path`, or passes a
/// `path:` option, counts.
fn gemfile(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| GEMFILE_LOCAL.is_match(l))
        .map(str::to_owned)
        .collect()
}

static GRADLE_INCLUDE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\binclude(Build|Flat)?\b").expect("valid regex"));

/// Lines of a Gradle settings script that include other projects or builds.
fn gradle_settings(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split("//").next().unwrap_or("").trim())
        .filter(|l| GRADLE_INCLUDE.is_match(l))
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_json_local_specs_and_workspaces() {
        let found = read(
            "package.json",
            r#"{"dependencies": {"a": "^1", "b": "file:../b", "c": "link:./c"},
                "devDependencies": {"d": "workspace:*", "e": "github:x/e"},
                "workspaces": {"packages": ["packages/*"]}}"#,
        )
        .unwrap();
        assert_eq!(
            found,
            ["b@file:../b", "c@link:./c", "d@workspace:*", "workspaces"]
        );
        assert_eq!(
            read("package.json", r#"{"workspaces": []}"#).unwrap(),
            Vec::<String>::new()
        );
        assert!(read("package.json", "[1]").is_err());
    }

    #[test]
    fn pyproject_path_dependencies() {
        let found = read(
            "pyproject.toml",
            "[tool.poetry.dependencies]\npython = \"^3.12\"\nlib = { path = \"libs/lib\", develop = true }\n\
             [tool.poetry.group.dev.dependencies]\nt = { path = \"t\" }\n\
             [tool.uv.sources]\nu = { workspace = true }\n\
             [project]\ndependencies = [\"x @ file:///src/x\", \"flask\"]\n",
        )
        .unwrap();
        assert_eq!(
            found,
            [
                "lib (path = libs/lib)",
                "t (path = t)",
                "u (workspace = true)",
                "x @ file:///src/x"
            ]
        );
        let plain = read(
            "pyproject.toml",
            "[tool.poetry.dependencies]\nflask = \"^3\"\n",
        )
        .unwrap();
        assert!(plain.is_empty());
    }

    #[test]
    fn pipfile_composer_gemfile_gradle() {
        assert_eq!(
            read(
                "Pipfile",
                "[packages]\nflask = \"*\"\napp = {path = \".\", editable = true}\nw = {file = \"https://x/w.whl\"}\n"
            )
            .unwrap(),
            ["app (path = .)"]
        );
        assert_eq!(
            read(
                "composer.json",
                r#"{"repositories": [{"type": "path", "url": "packages/*"}, {"type": "vcs", "url": "x"}]}"#
            )
            .unwrap(),
            ["path repository packages/*"]
        );
        assert_eq!(
            read(
                "Gemfile",
                "source 'https://rubygems.org'\ngem 'rails'\ngem 'mine', path: 'vendor/mine'\n# gemspec\ngemspec\n"
            )
            .unwrap(),
            ["gem 'mine', path: 'vendor/mine'", "gemspec"]
        );
        assert_eq!(
            read(
                "settings.gradle.kts",
                "rootProject.name = \"shop\"\n// include(\"old\")\ninclude(\"app\", \"lib\")\n"
            )
            .unwrap(),
            ["include(\"app\", \"lib\")"]
        );
    }
}
