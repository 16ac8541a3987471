//! `package.json`: the facts a Node transform needs (scripts in file order, `main`, workspaces,
//! `packageManager`, install hooks, dependency names). A field of the wrong type makes the whole
//! file unknown rather than half-read.

use super::ManifestError;
use std::collections::BTreeSet;
use std::fmt;

use serde::de::{IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

/// What `package.json` says.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PackageJson {
    pub name: Option<String>,
    pub main: Option<String>,
    /// The paths `bin` names (a string, or an object of command names to paths).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub bin: Vec<String>,
    /// `scripts`, in file order (a repeated key keeps its first position and last value, as
    /// `JSON.parse` does).
    #[serde(serialize_with = "ordered_map")]
    pub scripts: Vec<(String, String)>,
    /// `workspaces` (array form or `{ "packages": [...] }`); `None` when absent.
    pub workspaces: Option<Vec<String>>,
    pub package_manager: Option<PackageManager>,
    pub dependencies: BTreeSet<String>,
    pub dev_dependencies: BTreeSet<String>,
}

/// `packageManager`, e.g. `pnpm@9.1.0+sha512.abc` -> name `pnpm`, version `9.1.0`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackageManager {
    pub raw: String,
    pub name: String,
    pub version: Option<String>,
}

impl PackageJson {
    /// Parses the text of a `package.json`; the error reads like
    /// `invalid JSON: expected `,` or `}` at line 3 column 5`.
    pub fn parse(text: &str) -> Result<PackageJson, ManifestError> {
        let raw: Raw = serde_json::from_str(text).map_err(|e| {
            if e.is_syntax() || e.is_eof() {
                ManifestError::Json(e.to_string())
            } else {
                ManifestError::Invalid(e.to_string())
            }
        })?;
        // serde would also accept a JSON array for the struct: npm would not.
        if !text.trim_start().starts_with('{') {
            return Err(ManifestError::invalid("not a JSON object"));
        }
        let workspaces = match raw.workspaces {
            None | Some(serde_json::Value::Null) => None,
            Some(value) => Some(workspace_globs(&value).ok_or_else(|| {
                ManifestError::invalid(
                    "`workspaces` is neither a list of strings nor { \"packages\": [...] }",
                )
            })?),
        };
        Ok(PackageJson {
            name: raw.name,
            main: raw.main,
            bin: match raw.bin {
                None | Some(serde_json::Value::Null) => Vec::new(),
                Some(serde_json::Value::String(s)) => vec![s],
                Some(serde_json::Value::Object(map)) => map
                    .into_iter()
                    .map(|(_, v)| v.as_str().map(str::to_owned))
                    .collect::<Option<Vec<String>>>()
                    .ok_or_else(|| {
                        ManifestError::invalid("`bin` holds a value that is not a path")
                    })?,
                Some(_) => {
                    return Err(ManifestError::invalid(
                        "`bin` is neither a path nor an object",
                    ));
                }
            },
            scripts: raw.scripts.map(|s| s.0).unwrap_or_default(),
            workspaces,
            package_manager: raw.package_manager.map(|raw| PackageManager::parse(&raw)),
            dependencies: raw.dependencies.map(names).unwrap_or_default(),
            dev_dependencies: raw.dev_dependencies.map(names).unwrap_or_default(),
        })
    }

    /// The command of script `name`.
    pub fn script(&self, name: &str) -> Option<&str> {
        self.scripts
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, command)| command.as_str())
    }
}

impl PackageManager {
    fn parse(raw: &str) -> PackageManager {
        let (name, version) = match raw.rsplit_once('@') {
            // `@scope/pm@1.0` keeps its scope; a lone leading `@` is part of the name.
            Some((name, version)) if !name.is_empty() => {
                let version = version.split('+').next().unwrap_or(version);
                (
                    name.to_owned(),
                    Some(version.to_owned()).filter(|v| !v.is_empty()),
                )
            }
            _ => (raw.to_owned(), None),
        };
        PackageManager {
            raw: raw.to_owned(),
            name,
            version,
        }
    }
}

fn ordered_map<S: serde::Serializer>(
    pairs: &[(String, String)],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_map(pairs.iter().map(|(k, v)| (k, v)))
}

#[derive(Deserialize)]
struct Raw {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    main: Option<String>,
    #[serde(default)]
    bin: Option<serde_json::Value>,
    #[serde(default)]
    scripts: Option<OrderedScripts>,
    #[serde(default)]
    workspaces: Option<serde_json::Value>,
    #[serde(default, rename = "packageManager")]
    package_manager: Option<String>,
    #[serde(default)]
    dependencies: Option<DepMap>,
    #[serde(default, rename = "devDependencies")]
    dev_dependencies: Option<DepMap>,
}

type DepMap = std::collections::BTreeMap<String, IgnoredAny>;

fn names(map: DepMap) -> BTreeSet<String> {
    map.into_keys().collect()
}

fn workspace_globs(value: &serde_json::Value) -> Option<Vec<String>> {
    let list = match value {
        serde_json::Value::Array(_) => value,
        serde_json::Value::Object(map) => match map.get("packages") {
            None => return Some(Vec::new()),
            Some(list) => list,
        },
        _ => return None,
    };
    list.as_array()?
        .iter()
        .map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// `scripts` as an ordered list (serde_json's map would sort it).
struct OrderedScripts(Vec<(String, String)>);

impl<'de> Deserialize<'de> for OrderedScripts {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OrderedScripts;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of script names to commands")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out: Vec<(String, String)> = Vec::new();
                while let Some((key, value)) = map.next_entry::<String, String>()? {
                    match out.iter_mut().find(|(k, _)| *k == key) {
                        Some(slot) => slot.1 = value,
                        None => out.push((key, value)),
                    }
                }
                Ok(OrderedScripts(out))
            }
        }
        deserializer.deserialize_map(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_facts_in_order() {
        let pkg = PackageJson::parse(
            r#"{
              "name": "web", "main": "dist/server.js",
              "scripts": {"start": "node dist/server.js", "build": "tsc", "postinstall": "patch-package", "build": "tsc -p ."},
              "workspaces": ["packages/*"],
              "packageManager": "pnpm@9.1.0+sha512.deadbeef",
              "dependencies": {"express": "^4"},
              "devDependencies": {"typescript": "^5", "@types/node": "^20"}
            }"#,
        )
        .expect("valid");
        assert_eq!(pkg.name.as_deref(), Some("web"));
        assert_eq!(pkg.main.as_deref(), Some("dist/server.js"));
        let names: Vec<&str> = pkg.scripts.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["start", "build", "postinstall"]);
        assert_eq!(pkg.script("build"), Some("tsc -p ."));
        assert_eq!(pkg.workspaces, Some(vec!["packages/*".to_owned()]));
        let pm = pkg.package_manager.as_ref().expect("pm");
        assert_eq!(
            (pm.name.as_str(), pm.version.as_deref()),
            ("pnpm", Some("9.1.0"))
        );
        assert!(pkg.dev_dependencies.contains("typescript"));
        assert!(pkg.dependencies.contains("express"));
        assert!(!pkg.dependencies.contains("react"));
    }

    #[test]
    fn workspaces_object_form_and_absent_fields() {
        let pkg = PackageJson::parse(r#"{"workspaces": {"packages": ["a", "b"], "nohoist": []}}"#)
            .expect("valid");
        assert_eq!(pkg.workspaces, Some(vec!["a".to_owned(), "b".to_owned()]));
        let empty = PackageJson::parse("{}").expect("valid");
        assert_eq!(empty, PackageJson::default());
    }

    #[test]
    fn errors_name_the_position() {
        let err = PackageJson::parse("{\n  \"name\": \"x\",\n    \"main\" \"y\"\n}")
            .expect_err("bad")
            .to_string();
        assert_eq!(err, "invalid JSON: expected `:` at line 3 column 12");
        let err = PackageJson::parse("{\"scripts\": []}")
            .expect_err("bad type")
            .to_string();
        assert!(err.contains("line 1 column"), "{err}");
        let err = PackageJson::parse("{\"scripts\": {\"a\": 1}}")
            .expect_err("bad type")
            .to_string();
        assert!(err.starts_with("invalid type: integer `1`"), "{err}");
        let err = PackageJson::parse("{\"workspaces\": 3}")
            .expect_err("bad workspaces")
            .to_string();
        assert!(err.contains("workspaces"), "{err}");
        assert!(PackageJson::parse("[]").is_err());
        // Deep nesting: skipped in unknown fields, refused in the ones we read; never a crash.
        let nest = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(PackageJson::parse(&format!("{{\"x\": {}}}", nest(100_000))).is_ok());
        let err = PackageJson::parse(&format!("{{\"workspaces\": {}}}", nest(100_000)))
            .expect_err("too deep")
            .to_string();
        assert!(err.contains("recursion limit exceeded"), "{err}");
    }

    #[test]
    fn package_manager_forms() {
        let pm = PackageManager::parse("yarn@4.1.1");
        assert_eq!(
            (pm.name.as_str(), pm.version.as_deref()),
            ("yarn", Some("4.1.1"))
        );
        let pm = PackageManager::parse("npm");
        assert_eq!((pm.name.as_str(), pm.version), ("npm", None));
    }
}
