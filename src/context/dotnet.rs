//! The single `*.csproj` at the context root: `AssemblyName` (default: the file stem),
//! `TargetFramework`, and the SDK (`Microsoft.NET.Sdk.Web` or not). `Directory.Build.props`
//! (evaluated before the project) and `Directory.Build.targets` (after it) at the context root
//! are taken into account. A property set under a `Condition`, or to a value containing `$(`,
//! is unknown: MSBuild evaluation is not reproduced.

use super::ManifestError;
use serde::Serialize;

use super::xml::{self, Element};

/// What the project file says.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CsProj {
    /// The project file's name, e.g. `Api.csproj`.
    pub file: String,
    /// The output assembly name (`<AssemblyName>.dll`); `None` when unknown.
    pub assembly_name: Option<String>,
    /// `TargetFramework` (e.g. `net8.0`); `None` when unset, multi-targeted or unknown.
    pub target_framework: Option<String>,
    /// The project SDK(s), e.g. `Microsoft.NET.Sdk.Web`.
    pub sdk: Option<String>,
}

impl CsProj {
    /// Whether the project uses the ASP.NET Core SDK.
    pub fn is_web_sdk(&self) -> bool {
        self.sdk.as_deref().is_some_and(|sdk| {
            sdk.split(';').any(|s| {
                s.trim()
                    .split('/')
                    .next()
                    .is_some_and(|name| name.eq_ignore_ascii_case("Microsoft.NET.Sdk.Web"))
            })
        })
    }
}

/// A property's value after evaluating one file: unset, a literal, or unknown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Prop {
    Unset,
    Value(String),
    Unknown,
}

impl Prop {
    /// `later` applied on top of `self` (MSBuild: the last assignment wins).
    fn then(self, later: Prop) -> Prop {
        match later {
            Prop::Unset => self,
            other => other,
        }
    }
}

/// `AssemblyName` and `TargetFramework` as set by one MSBuild file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Props {
    pub assembly_name: Prop,
    pub target_framework: Prop,
}

impl Props {
    pub(crate) const UNKNOWN: Props = Props {
        assembly_name: Prop::Unknown,
        target_framework: Prop::Unknown,
    };

    fn then(self, later: Props) -> Props {
        Props {
            assembly_name: self.assembly_name.then(later.assembly_name),
            target_framework: self.target_framework.then(later.target_framework),
        }
    }
}

/// Reads the two properties from an MSBuild file (`Directory.Build.props` / `.targets`).
pub(crate) fn parse_props(text: &str) -> Result<Props, ManifestError> {
    let doc = xml::parse(text)?;
    Ok(props_of(project_root(&doc)?))
}

/// The root `<Project>` of an MSBuild file.
fn project_root<'a, 'i>(doc: &'a xml::Document<'i>) -> Result<Element<'a, 'i>, ManifestError> {
    let root = xml::root(doc);
    if !root.name().eq_ignore_ascii_case("Project") {
        return Err(ManifestError::Invalid(format!(
            "root element is <{}>, not <Project>",
            root.name()
        )));
    }
    Ok(root)
}

fn props_of(root: Element) -> Props {
    let mut assembly_name = Prop::Unset;
    let mut target_framework = Prop::Unset;
    for group in root
        .children()
        .filter(|c| c.name().eq_ignore_ascii_case("PropertyGroup"))
    {
        let group_conditional = group.attr("Condition").is_some();
        for property in group.children() {
            let slot = if property.name().eq_ignore_ascii_case("AssemblyName") {
                &mut assembly_name
            } else if property.name().eq_ignore_ascii_case("TargetFramework") {
                &mut target_framework
            } else {
                continue;
            };
            let value = property.text();
            *slot = if group_conditional || property.attr("Condition").is_some() {
                Prop::Unknown
            } else if !value.contains("$(") && !value.is_empty() {
                Prop::Value(value)
            } else {
                Prop::Unknown
            };
        }
    }
    Props {
        assembly_name,
        target_framework,
    }
}

impl CsProj {
    /// Parses the project file `file` (its name), with the properties that
    /// `Directory.Build.props` (`before`) and `Directory.Build.targets` (`after`) set.
    pub(crate) fn parse(
        file: &str,
        text: &str,
        before: Option<Props>,
        after: Option<Props>,
    ) -> Result<CsProj, ManifestError> {
        let doc = xml::parse(text)?;
        let root = project_root(&doc)?;
        let mut sdks: Vec<String> = root.attr("Sdk").map(str::to_owned).into_iter().collect();
        sdks.extend(
            root.children()
                .filter(|c| c.name().eq_ignore_ascii_case("Sdk"))
                .filter_map(|c| c.attr("Name").map(str::to_owned)),
        );
        let unset = Props {
            assembly_name: Prop::Unset,
            target_framework: Prop::Unset,
        };
        let props = before
            .unwrap_or(unset.clone())
            .then(props_of(root))
            .then(after.unwrap_or(unset));
        let stem = file.strip_suffix(".csproj").unwrap_or(file);
        Ok(CsProj {
            file: file.to_owned(),
            assembly_name: match props.assembly_name {
                Prop::Unset => Some(stem.to_owned()),
                Prop::Value(v) => Some(v),
                Prop::Unknown => None,
            },
            target_framework: match props.target_framework {
                Prop::Value(v) => Some(v),
                Prop::Unset | Prop::Unknown => None,
            },
            sdk: (!sdks.is_empty()).then(|| sdks.join(";")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_project_with_explicit_assembly_name() {
        let p = CsProj::parse(
            "Api.csproj",
            "<Project Sdk=\"Microsoft.NET.Sdk.Web\">\n  <PropertyGroup>\n    <TargetFramework>net8.0</TargetFramework>\n    <AssemblyName>Acme.Api</AssemblyName>\n  </PropertyGroup>\n</Project>\n",
            None,
            None,
        )
        .expect("valid");
        assert_eq!(p.assembly_name.as_deref(), Some("Acme.Api"));
        assert_eq!(p.target_framework.as_deref(), Some("net8.0"));
        assert!(p.is_web_sdk());
    }

    #[test]
    fn defaults_to_file_stem_and_console_sdk() {
        let p = CsProj::parse(
            "Worker.csproj",
            "<Project Sdk=\"Microsoft.NET.Sdk\"><PropertyGroup><TargetFrameworks>net8.0;net9.0</TargetFrameworks></PropertyGroup></Project>",
            None,
            None,
        )
        .expect("valid");
        assert_eq!(p.assembly_name.as_deref(), Some("Worker"));
        assert_eq!(p.target_framework, None);
        assert!(!p.is_web_sdk());
    }

    #[test]
    fn conditions_and_properties_make_values_unknown() {
        let p = CsProj::parse(
            "A.csproj",
            "<Project Sdk=\"Microsoft.NET.Sdk.Web/8.0.0\"><PropertyGroup Condition=\"'$(X)'=='1'\"><AssemblyName>B</AssemblyName></PropertyGroup><PropertyGroup><TargetFramework>$(Tfm)</TargetFramework></PropertyGroup></Project>",
            None,
            None,
        )
        .expect("valid");
        assert_eq!(p.assembly_name, None);
        assert_eq!(p.target_framework, None);
        assert!(p.is_web_sdk());
    }

    #[test]
    fn directory_build_files_are_layered() {
        let props = parse_props(
            "<Project><PropertyGroup><TargetFramework>net8.0</TargetFramework><AssemblyName>FromProps</AssemblyName></PropertyGroup></Project>",
        )
        .expect("valid");
        let csproj = "<Project><Sdk Name=\"Microsoft.NET.Sdk.Web\" /><PropertyGroup><AssemblyName>Own</AssemblyName></PropertyGroup></Project>";
        let p = CsProj::parse("A.csproj", csproj, Some(props.clone()), None).expect("valid");
        assert_eq!(p.assembly_name.as_deref(), Some("Own"));
        assert_eq!(p.target_framework.as_deref(), Some("net8.0"));
        assert!(p.is_web_sdk());
        let targets = parse_props(
            "<Project><PropertyGroup><AssemblyName>Late</AssemblyName></PropertyGroup></Project>",
        )
        .expect("valid");
        let p = CsProj::parse("A.csproj", csproj, Some(props), Some(targets)).expect("valid");
        assert_eq!(p.assembly_name.as_deref(), Some("Late"));
        let p = CsProj::parse(
            "A.csproj",
            csproj,
            Some(Props::UNKNOWN),
            Some(Props::UNKNOWN),
        )
        .expect("valid");
        assert_eq!(p.assembly_name, None);
    }

    #[test]
    fn malformed_project() {
        assert!(
            CsProj::parse("A.csproj", "<Project><PropertyGroup></Project>", None, None).is_err()
        );
        assert!(CsProj::parse("A.csproj", "<Foo/>", None, None).is_err());
    }
}
