//! Gradle: which build/settings files and wrapper exist, and `rootProject.name` when the
//! settings file sets it to a plain string literal exactly once. (Gradle's fallback, the
//! directory's name, is not used: inside an image that is the WORKDIR's name, not the host's.)

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

/// The Gradle files at the context root.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Gradle {
    /// `build.gradle` or `build.gradle.kts` (both listed if both exist).
    pub build_files: Vec<String>,
    /// `settings.gradle` or `settings.gradle.kts` (both listed if both exist).
    pub settings_files: Vec<String>,
    /// `gradlew` exists.
    pub wrapper: bool,
    /// `rootProject.name`, if literally set; `None` when not set or not a literal.
    pub root_project_name: Option<String>,
}

static LITERAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^\s*rootProject\.name\s*=\s*(?:"([^"$\\]*)"|'([^'$\\]*)')\s*;?\s*(?://.*)?$"#)
        .expect("valid regex")
});

/// `rootProject.name` from a settings script: `Some` only if exactly one non-comment line
/// mentions `rootProject.name` (or `rootProject.setName`) and it assigns a plain literal.
pub(crate) fn root_project_name(settings: &str) -> Option<String> {
    let mentions: Vec<&str> = settings
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .filter(|line| line.contains("rootProject.name") || line.contains("rootProject.setName"))
        .collect();
    let [line] = mentions.as_slice() else {
        return None;
    };
    let caps = LITERAL.captures(line)?;
    let name = caps.get(1).or_else(|| caps.get(2))?.as_str();
    (!name.is_empty()).then(|| name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_names_only() {
        assert_eq!(
            root_project_name("rootProject.name = 'shop'\ninclude('app')\n"),
            Some("shop".to_owned())
        );
        assert_eq!(
            root_project_name(
                "// rootProject.name = \"old\"\nrootProject.name = \"shop\" // now\n"
            ),
            Some("shop".to_owned())
        );
        assert_eq!(
            root_project_name("rootProject.name = \"${prefix}-shop\"\n"),
            None
        );
        assert_eq!(
            root_project_name("rootProject.name = computeName()\n"),
            None
        );
        assert_eq!(
            root_project_name("rootProject.name = 'a'\nrootProject.name = 'b'\n"),
            None
        );
        assert_eq!(root_project_name("include 'app'\n"), None);
    }
}
