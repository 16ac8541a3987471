//! `pom.xml`: artifactId, version (or the parent's), packaging (default `jar`), `build/finalName`
//! (default `${artifactId}-${version}`), modules, the build plugins and the dependencies the
//! packaged app needs at run time. Only `${project.artifactId}` and `${project.version}` are
//! resolved; any other `${...}` leaves that value unknown.

use super::ManifestError;
use serde::Serialize;

use super::xml::{self, Element};

/// What `pom.xml` says. `None` = unknown (absent with no default, or an unresolved property).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Pom {
    pub artifact_id: Option<String>,
    pub version: Option<String>,
    pub packaging: Option<String>,
    pub final_name: Option<String>,
    /// `<modules>` of a multi-module build, as written.
    pub modules: Vec<String>,
    /// The artifactIds of `<build><plugins>` (not `pluginManagement`), as written.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub plugins: Vec<String>,
    /// The artifactIds of `<dependencies>` the app needs at run time (scope `compile`,
    /// `runtime` or unset; not `test`, `provided`, `system` or `import`), as written.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub runtime_dependencies: Vec<String>,
}

impl Pom {
    /// Parses `pom.xml`; errors read `invalid XML at line L column C: ...`.
    pub fn parse(text: &str) -> Result<Pom, ManifestError> {
        let doc = xml::parse(text)?;
        let root = xml::root(&doc);
        if root.name() != "project" {
            return Err(ManifestError::Invalid(format!(
                "root element is <{}>, not <project>",
                root.name()
            )));
        }
        let text_of = |el: Option<Element>| el.map(|e| e.text());
        let artifact_raw = text_of(root.child("artifactId"));
        let version_raw = text_of(root.child("version"))
            .or_else(|| text_of(root.child("parent").and_then(|p| p.child("version"))));
        let artifact_id = artifact_raw.filter(|a| !a.is_empty() && !a.contains("${"));
        let version = version_raw.and_then(|v| resolve(&v, artifact_id.as_deref(), None));
        let packaging = match root.child("packaging") {
            None => Some("jar".to_owned()),
            Some(el) => resolve(&el.text(), artifact_id.as_deref(), version.as_deref()),
        };
        let final_name = match root.child("build").and_then(|b| b.child("finalName")) {
            Some(el) => resolve(&el.text(), artifact_id.as_deref(), version.as_deref()),
            None => match (&artifact_id, &version) {
                (Some(a), Some(v)) => Some(format!("{a}-{v}")),
                _ => None,
            },
        };
        let modules = root
            .child("modules")
            .map(|m| {
                m.children()
                    .filter(|c| c.name() == "module")
                    .map(|c| c.text())
                    .collect()
            })
            .unwrap_or_default();
        let plugins = root
            .child("build")
            .and_then(|b| b.child("plugins"))
            .map(|p| {
                p.children()
                    .filter(|c| c.name() == "plugin")
                    .filter_map(|c| c.child("artifactId").map(|a| a.text()))
                    .collect()
            })
            .unwrap_or_default();
        let runtime_dependencies = root
            .child("dependencies")
            .map(|d| {
                d.children()
                    .filter(|c| c.name() == "dependency")
                    .filter(|c| {
                        c.child("scope")
                            .is_none_or(|s| matches!(s.text().trim(), "" | "compile" | "runtime"))
                    })
                    .filter_map(|c| c.child("artifactId").map(|a| a.text()))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Pom {
            artifact_id,
            version,
            packaging,
            final_name,
            modules,
            plugins,
            runtime_dependencies,
        })
    }
}

/// Substitutes `${project.artifactId}` / `${project.version}`; `None` if anything else (or an
/// unknown one of those) remains, or the result is empty.
fn resolve(value: &str, artifact_id: Option<&str>, version: Option<&str>) -> Option<String> {
    let mut out = value.to_owned();
    for (key, known) in [
        ("${project.artifactId}", artifact_id),
        ("${project.version}", version),
    ] {
        if out.contains(key) {
            out = out.replace(key, known?);
        }
    }
    (!out.contains("${") && !out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_coordinates_and_final_name() {
        let pom = Pom::parse(
            "<project xmlns=\"http://maven.apache.org/POM/4.0.0\">\n<modelVersion>4.0.0</modelVersion>\n<groupId>com.acme</groupId>\n<artifactId>shop</artifactId>\n<version>1.4.0</version>\n<packaging>war</packaging>\n<dependencies><dependency><artifactId>x</artifactId><version>9</version></dependency></dependencies>\n<build><finalName>${project.artifactId}-app</finalName></build>\n</project>\n",
        )
        .expect("valid");
        assert_eq!(pom.artifact_id.as_deref(), Some("shop"));
        assert_eq!(pom.version.as_deref(), Some("1.4.0"));
        assert_eq!(pom.packaging.as_deref(), Some("war"));
        assert_eq!(pom.final_name.as_deref(), Some("shop-app"));
        assert_eq!(pom.runtime_dependencies, vec!["x".to_owned()]);
        assert!(pom.plugins.is_empty());
    }

    #[test]
    fn plugins_and_runtime_dependencies() {
        let pom = Pom::parse(
            "<project><artifactId>a</artifactId><version>1</version><dependencies><dependency><artifactId>web</artifactId></dependency><dependency><artifactId>junit</artifactId><scope>test</scope></dependency><dependency><artifactId>servlet</artifactId><scope>provided</scope></dependency><dependency><artifactId>driver</artifactId><scope>runtime</scope></dependency></dependencies><build><pluginManagement><plugins><plugin><artifactId>managed</artifactId></plugin></plugins></pluginManagement><plugins><plugin><groupId>org.springframework.boot</groupId><artifactId>spring-boot-maven-plugin</artifactId></plugin></plugins></build></project>",
        )
        .expect("valid");
        assert_eq!(
            pom.runtime_dependencies,
            vec!["web".to_owned(), "driver".to_owned()]
        );
        assert_eq!(pom.plugins, vec!["spring-boot-maven-plugin".to_owned()]);
    }

    #[test]
    fn defaults_and_parent_version() {
        let pom = Pom::parse(
            "<project><parent><artifactId>p</artifactId><version>2.0</version></parent><artifactId>svc</artifactId><modules><module>core</module><module>web</module></modules></project>",
        )
        .expect("valid");
        assert_eq!(pom.version.as_deref(), Some("2.0"));
        assert_eq!(pom.packaging.as_deref(), Some("jar"));
        assert_eq!(pom.final_name.as_deref(), Some("svc-2.0"));
        assert_eq!(pom.modules, vec!["core".to_owned(), "web".to_owned()]);
    }

    #[test]
    fn other_properties_stay_unknown() {
        let pom = Pom::parse(
            "<project><artifactId>svc</artifactId><version>${revision}</version><build><finalName>${project.artifactId}-${project.version}</finalName></build></project>",
        )
        .expect("valid");
        assert_eq!(pom.version, None);
        assert_eq!(pom.final_name, None);
        let pom = Pom::parse(
            "<project><artifactId>svc</artifactId><version>1</version><build><finalName>${app.name}</finalName></build></project>",
        )
        .expect("valid");
        assert_eq!(pom.final_name, None);
        assert_eq!(pom.artifact_id.as_deref(), Some("svc"));
    }

    #[test]
    fn malformed_pom() {
        let err =
            Pom::parse("<project>\n<artifactId>a</artifactId>\n<version>1</versio>\n</project>")
                .expect_err("mismatched tag")
                .to_string();
        assert!(err.starts_with("invalid XML at line 3"), "{err}");
        assert_eq!(
            Pom::parse("<settings/>").map_err(|e| e.to_string()),
            Err("root element is <settings>, not <project>".to_owned())
        );
    }
}
