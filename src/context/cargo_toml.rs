//! `Cargo.toml` at the context root: the package name, the binaries `cargo build` produces
//! (explicit `[[bin]]` targets plus Cargo's own target discovery of `src/main.rs`,
//! `src/bin/*.rs` and `src/bin/*/main.rs`, honouring `autobins` and the 2015-edition rule), and
//! whether it is a workspace root.

use super::ManifestError;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::fsread::normalize_rel;

/// What `Cargo.toml` says.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CargoManifest {
    /// `[package].name`; `None` for a virtual workspace manifest.
    pub package_name: Option<String>,
    /// The binary targets of the root package, explicit ones first, then discovered ones.
    /// `None` when they cannot be known without guessing (e.g. `edition.workspace = true`
    /// decides whether discovery runs). Empty for a virtual manifest (members are not read).
    pub bins: Option<Vec<String>>,
    /// `[workspace].members` as written (globs kept); `None` when there is no `[workspace]`.
    pub workspace_members: Option<Vec<String>>,
}

impl CargoManifest {
    /// Whether this manifest has a `[workspace]` table.
    pub fn is_workspace_root(&self) -> bool {
        self.workspace_members.is_some()
    }
}

/// The binary sources Cargo would discover next to the manifest.
#[derive(Debug, Clone, Default)]
pub(crate) struct SourceLayout {
    /// `src/main.rs` exists.
    pub main_rs: bool,
    /// `(name, path)` of `src/bin/<name>.rs` and `src/bin/<name>/main.rs`, sorted by name.
    pub bin_dir: Vec<(String, String)>,
}

impl SourceLayout {
    /// Looks at `src/main.rs` and lists `src/bin` under `root` (at most 1000 entries).
    pub(crate) fn scan(root: &Path) -> SourceLayout {
        let main_rs = root.join("src/main.rs").is_file();
        let mut bin_dir = Vec::new();
        if let Ok(entries) = std::fs::read_dir(root.join("src/bin")) {
            for entry in entries.flatten().take(1000) {
                let Ok(name) = entry.file_name().into_string() else {
                    continue;
                };
                let path = entry.path();
                if let Some(stem) = name.strip_suffix(".rs") {
                    if path.is_file() {
                        bin_dir.push((stem.to_owned(), format!("src/bin/{name}")));
                    }
                } else if path.join("main.rs").is_file() {
                    bin_dir.push((name.clone(), format!("src/bin/{name}/main.rs")));
                }
            }
        }
        bin_dir.sort();
        SourceLayout { main_rs, bin_dir }
    }
}

#[derive(Deserialize)]
struct Raw {
    package: Option<RawPackage>,
    bin: Option<Vec<RawBin>>,
    workspace: Option<RawWorkspace>,
}

#[derive(Deserialize)]
struct RawPackage {
    name: Option<String>,
    autobins: Option<bool>,
    edition: Option<toml::Value>,
}

#[derive(Deserialize)]
struct RawBin {
    name: Option<String>,
    path: Option<String>,
}

#[derive(Deserialize)]
struct RawWorkspace {
    #[serde(default)]
    members: Vec<String>,
}

#[derive(PartialEq)]
enum Edition {
    E2015,
    Later,
    Unknown,
}

impl CargoManifest {
    /// Parses `Cargo.toml`'s text; `layout` is what target discovery would find on disk.
    /// Errors read like `TOML parse error at line 3, column 5: invalid table header`.
    pub(crate) fn parse(text: &str, layout: &SourceLayout) -> Result<CargoManifest, ManifestError> {
        let raw: Raw = toml::from_str(text).map_err(|e| ManifestError::toml(text, &e))?;
        let workspace_members = raw.workspace.map(|w| w.members);
        let Some(package) = raw.package else {
            if raw.bin.is_some() {
                return Err(ManifestError::invalid("`[[bin]]` without `[package]`"));
            }
            return Ok(CargoManifest {
                package_name: None,
                bins: Some(Vec::new()),
                workspace_members,
            });
        };
        let name = package
            .name
            .ok_or_else(|| ManifestError::invalid("`[package]` has no `name`"))?;
        let edition = match &package.edition {
            None => Edition::E2015,
            Some(toml::Value::String(s)) if s == "2015" => Edition::E2015,
            Some(toml::Value::String(_)) => Edition::Later,
            Some(_) => Edition::Unknown,
        };

        let mut inferred: Vec<(String, String)> = Vec::new();
        if layout.main_rs {
            inferred.push((name.clone(), "src/main.rs".to_owned()));
        }
        inferred.extend(layout.bin_dir.iter().cloned());

        let bins = match raw.bin {
            None => match package.autobins {
                Some(false) => Some(Vec::new()),
                _ => Some(inferred.into_iter().map(|(n, _)| n).collect()),
            },
            Some(explicit) => {
                let mut names = Vec::new();
                let mut paths = Vec::new();
                for bin in &explicit {
                    let bin_name = bin
                        .name
                        .clone()
                        .ok_or_else(|| ManifestError::invalid("a `[[bin]]` has no `name`"))?;
                    names.push(bin_name);
                    if let Some(path) = &bin.path {
                        paths.push(normalize_rel(path).unwrap_or_else(|| path.clone()));
                    }
                }
                let remaining: Vec<String> = inferred
                    .into_iter()
                    .filter(|(n, p)| !names.contains(n) && !paths.contains(p))
                    .map(|(n, _)| n)
                    .collect();
                let discover = match (package.autobins, edition) {
                    (Some(flag), _) => Some(flag),
                    (None, Edition::E2015) => Some(false),
                    (None, Edition::Later) => Some(true),
                    (None, Edition::Unknown) => remaining.is_empty().then_some(false),
                };
                discover.map(|discover| {
                    if discover {
                        names.extend(remaining);
                    }
                    names
                })
            }
        };
        Ok(CargoManifest {
            package_name: Some(name),
            bins,
            workspace_members,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(main_rs: bool, bins: &[&str]) -> SourceLayout {
        SourceLayout {
            main_rs,
            bin_dir: bins
                .iter()
                .map(|b| ((*b).to_owned(), format!("src/bin/{b}.rs")))
                .collect(),
        }
    }

    #[test]
    fn default_binary_is_the_package_name() {
        let m = CargoManifest::parse(
            "[package]\nname = \"my-app\"\nedition = \"2021\"\n",
            &layout(true, &["tool"]),
        )
        .expect("valid");
        assert_eq!(m.package_name.as_deref(), Some("my-app"));
        assert_eq!(m.bins, Some(vec!["my-app".to_owned(), "tool".to_owned()]));
        assert!(!m.is_workspace_root());
        let lib = CargoManifest::parse("[package]\nname = \"lib\"\n", &layout(false, &[]))
            .expect("valid");
        assert_eq!(lib.bins, Some(vec![]));
    }

    #[test]
    fn explicit_bins_and_autobins() {
        let text = "[package]\nname = \"app\"\nedition = \"2021\"\n[[bin]]\nname = \"server\"\npath = \"src/main.rs\"\n";
        let m = CargoManifest::parse(text, &layout(true, &["cli"])).expect("valid");
        assert_eq!(m.bins, Some(vec!["server".to_owned(), "cli".to_owned()]));
        let text = "[package]\nname = \"app\"\nedition = \"2021\"\nautobins = false\n[[bin]]\nname = \"server\"\n";
        let m = CargoManifest::parse(text, &layout(true, &["cli"])).expect("valid");
        assert_eq!(m.bins, Some(vec!["server".to_owned()]));
        let text = "[package]\nname = \"app\"\nautobins = false\n";
        let m = CargoManifest::parse(text, &layout(true, &[])).expect("valid");
        assert_eq!(m.bins, Some(vec![]));
    }

    #[test]
    fn edition_2015_with_explicit_bins_discovers_nothing_else() {
        let text = "[package]\nname = \"app\"\n[[bin]]\nname = \"server\"\n";
        let m = CargoManifest::parse(text, &layout(true, &[])).expect("valid");
        assert_eq!(m.bins, Some(vec!["server".to_owned()]));
    }

    #[test]
    fn inherited_edition_makes_mixed_bins_unknown() {
        let text =
            "[package]\nname = \"app\"\nedition.workspace = true\n[[bin]]\nname = \"server\"\n";
        let m = CargoManifest::parse(text, &layout(true, &[])).expect("valid");
        assert_eq!(m.bins, None);
        // Without anything left to discover the answer does not depend on the edition.
        let m = CargoManifest::parse(text, &layout(false, &[])).expect("valid");
        assert_eq!(m.bins, Some(vec!["server".to_owned()]));
    }

    #[test]
    fn workspace_roots() {
        let m = CargoManifest::parse(
            "[workspace]\nmembers = [\"crates/*\"]\nresolver = \"2\"\n",
            &layout(false, &[]),
        )
        .expect("valid");
        assert_eq!(m.package_name, None);
        assert!(m.is_workspace_root());
        assert_eq!(m.workspace_members, Some(vec!["crates/*".to_owned()]));
        assert_eq!(m.bins, Some(vec![]));
    }

    #[test]
    fn errors_are_one_line_with_position() {
        let err = CargoManifest::parse("[package]\nname = \"x\"\n[[bin]\n", &layout(false, &[]))
            .expect_err("bad")
            .to_string();
        assert!(
            err.starts_with("TOML parse error at line 3, column"),
            "{err}"
        );
        assert!(!err.contains('\n'), "{err}");
        let err = CargoManifest::parse("[package]\nversion = \"1\"\n", &layout(false, &[]))
            .expect_err("no name")
            .to_string();
        assert_eq!(err, "`[package]` has no `name`");
        let err = CargoManifest::parse("[package]\nname = 3\n", &layout(false, &[]))
            .expect_err("bad type")
            .to_string();
        assert!(err.contains("line 2, column 8"), "{err}");
    }
}
