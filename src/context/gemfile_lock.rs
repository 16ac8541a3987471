//! Gemfile.lock: the gems the bundle resolves (every `specs:` entry of every source, direct and
//! transitive) and the platforms it was resolved for. multi-stage asks which gems have native
//! code that needs system libraries at run time, whether a JavaScript runtime is needed when the
//! app loads, and whether Bundler's deployment (frozen) mode can install the lockfile on Linux.

use std::collections::BTreeSet;

use serde::Serialize;

use super::error::ManifestError;

/// What a Gemfile.lock resolves.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GemfileLock {
    /// Gem names (lower case), from the `specs:` sections.
    pub gems: BTreeSet<String>,
    /// The `PLATFORMS` section (`ruby`, `x86_64-linux`, `arm64-darwin-23`, ...).
    pub platforms: Vec<String>,
    /// The `DEPENDENCIES` section: the gems the Gemfile declared when the lockfile was written
    /// (lower case, `!` and version requirements removed).
    pub dependencies: BTreeSet<String>,
}

impl GemfileLock {
    pub(crate) fn parse(text: &str) -> Result<GemfileLock, ManifestError> {
        let mut lock = GemfileLock::default();
        let mut section = "";
        let mut in_specs = false;
        let mut saw_section = false;
        for (n, line) in text.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            if line.is_empty() {
                continue;
            }
            if !line.starts_with(' ') {
                if line.starts_with("<<<<<<<") || line.starts_with(">>>>>>>") {
                    return Err(ManifestError::line(n + 1, "an unresolved merge conflict"));
                }
                section = line.trim();
                saw_section = true;
                in_specs = false;
                continue;
            }
            match section {
                "GEM" | "GIT" | "PATH" | "PLUGIN SOURCE" => {
                    if line.trim_end() == "  specs:" {
                        in_specs = true;
                    } else if in_specs
                        && let Some(rest) = line.strip_prefix("    ")
                        && !rest.starts_with(' ')
                    {
                        let name = rest.split([' ', '(']).next().unwrap_or("");
                        if !name.is_empty() {
                            lock.gems.insert(name.to_ascii_lowercase());
                        }
                    }
                }
                "DEPENDENCIES" => {
                    let name = line.trim().split([' ', '(', '!']).next().unwrap_or("");
                    if !name.is_empty() {
                        lock.dependencies.insert(name.to_ascii_lowercase());
                    }
                }
                "PLATFORMS" => {
                    let p = line.trim();
                    if !p.is_empty() {
                        lock.platforms.push(p.to_owned());
                    }
                }
                _ => {}
            }
        }
        if !saw_section {
            return Err(ManifestError::Invalid(
                "no GEM, PLATFORMS or DEPENDENCIES section".into(),
            ));
        }
        Ok(lock)
    }

    /// Whether every gem in `declared` (the Gemfile's, when it was read) is one the lockfile
    /// records, so a frozen install does not stop on a Gemfile changed since the lock.
    pub fn records(&self, declared: &BTreeSet<String>) -> bool {
        declared
            .iter()
            .all(|g| self.dependencies.contains(g) || self.gems.contains(g))
    }

    /// Whether Bundler can install the lockfile as it is on Linux (deployment mode never adds
    /// a platform): it lists `ruby` or a Linux platform.
    pub fn installs_on_linux(&self) -> bool {
        self.platforms
            .iter()
            .any(|p| p == "ruby" || p.contains("-linux"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gems_and_platforms() {
        let text = "GIT\n  remote: https://example.invalid/x.git\n  revision: abc\n  specs:\n    mygem (0.1)\n      rack\n\nGEM\n  remote: https://rubygems.org/\n  specs:\n    pg (1.5.4)\n    Nokogiri (1.16.0-x86_64-linux)\n      racc (~> 1.4)\n    racc (1.7.3)\n\nPLATFORMS\n  arm64-darwin-23\n  x86_64-linux\n\nDEPENDENCIES\n  pg\n\nBUNDLED WITH\n   2.5.3\n";
        let lock = GemfileLock::parse(text).expect("parses");
        assert_eq!(
            lock.gems.iter().map(String::as_str).collect::<Vec<_>>(),
            ["mygem", "nokogiri", "pg", "racc"]
        );
        assert_eq!(lock.platforms, ["arm64-darwin-23", "x86_64-linux"]);
        assert!(lock.installs_on_linux());
        assert_eq!(lock.dependencies.iter().collect::<Vec<_>>(), ["pg"]);
    }

    #[test]
    fn darwin_only_lockfile_does_not_install_frozen_on_linux() {
        let lock =
            GemfileLock::parse("GEM\n  specs:\n    rack (3.0.0)\n\nPLATFORMS\n  arm64-darwin-23\n")
                .expect("parses");
        assert!(!lock.installs_on_linux());
    }

    #[test]
    fn conflict_and_garbage_are_errors() {
        assert!(GemfileLock::parse("<<<<<<< HEAD\nGEM\n").is_err());
        assert!(GemfileLock::parse("  just indented\n").is_err());
    }
}
