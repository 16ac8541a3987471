//! .NET: the runtime stage receives the directory `dotnet publish` wrote, the one holding what
//! the start command runs (`dotnet <dir>/App.dll`, or `dotnet App.dll` from a WORKDIR inside
//! it, or the app host `./App`): the `-o` directory, or without `-o`
//! `bin/<configuration>/<tfm>/[<rid>/]publish` of the project, with the target framework read
//! from the context's project file (refused when restage cannot read it). When the app starts
//! from another directory, which ASP.NET Core takes as its content root, the data files the
//! context copies there (appsettings*.json, wwwroot, ...) come too. When the start command runs
//! nothing restage saw published, the runtime stage receives the whole application directory
//! and the change says why. Whether the project uses the web SDK chooses the ASP.NET or the
//! plain runtime image. An app without a WORKDIR of its own is refused.

use super::super::super::Context;
use super::super::super::analysis;
use super::super::super::facts;
use super::super::Analysis;
use super::artifact::{self, Command, Why, flag_value};
use super::{Carry, Input, Recipe, Verdict};

pub(super) struct Dotnet;

impl Recipe for Dotnet {
    fn carry(&self, input: &Input, a: &mut Analysis) -> Result<Carry, Verdict> {
        let artifacts = artifacts(input, a);
        artifact::carry(input, a, artifacts)
    }

    fn web(&self, ctx: &Context) -> Option<bool> {
        facts::dotnet_web(ctx)
    }
}

/// Files in the build context that can move a project's output directory.
const OUTPUT_SETTINGS: &[&str] = &["Directory.Build.props", "Directory.Build.targets"];

/// Properties that move a project's output directory.
const OUTPUT_PROPERTIES: &[&str] = &[
    "PublishDir",
    "OutputPath",
    "BaseOutputPath",
    "OutDir",
    "ArtifactsPath",
    "UseArtifactsOutput",
];

fn artifacts(input: &Input, a: &Analysis) -> Result<Vec<String>, Why> {
    let Input {
        doc,
        stage,
        ctx,
        inherited,
        ..
    } = *input;
    let publishes: Vec<Result<String, String>> = artifact::commands(input, a)
        .iter()
        .filter(|c| c.program() == "dotnet" && c.words.get(1).is_some_and(|w| w == "publish"))
        .map(|c| publish_dir(ctx, c))
        .collect();
    let workdir = a.workdir.as_str();
    let launch = artifact::launch(input, ctx)
        .ok_or_else(|| Why::Whole("the start command runs no program".to_string()))?;
    let program = launch.words[0].as_str();
    let runs = if program == "dotnet" || program.ends_with("/dotnet") {
        match launch.words.get(1) {
            Some(dll) if dll.ends_with(".dll") && !dll.contains(['$', '`']) => {
                analysis::join(workdir, dll)
            }
            _ => {
                return Err(Why::Whole(
                    "the start command's `dotnet` runs no .dll restage can name".to_string(),
                ));
            }
        }
    } else if program.contains('/') && !program.contains(['$', '`']) {
        analysis::join(workdir, program)
    } else {
        return Err(Why::Whole(format!(
            "the start command runs `{program}`, not an app restage saw published"
        )));
    };
    let dir = match publishes
        .iter()
        .flatten()
        .find(|d| analysis::is_within(&runs, d))
    {
        Some(d) => d.clone(),
        None => {
            if let Some(Err(why)) = publishes.iter().find(|p| p.is_err()) {
                return Err(Why::Refuse(why.clone()));
            }
            return Err(Why::Whole(format!(
                "the start command runs {runs}, which no `dotnet publish` restage read writes"
            )));
        }
    };
    let mut out = vec![dir.clone()];
    if !analysis::is_within(workdir, &dir) {
        // The app starts elsewhere: that directory is its content root.
        let data = super::native::data_paths(doc, stage, ctx, workdir, dotnet_source, inherited)
            .map_err(Why::Whole)?;
        out.extend(artifact::data_entries(data, workdir)?);
    }
    Ok(out)
}

/// The directory a `dotnet publish` writes, or why restage cannot name it.
fn publish_dir(ctx: &Context, cmd: &Command) -> Result<String, String> {
    let (mut output, mut configuration, mut framework, mut runtime) = (None, None, None, None);
    let mut project = None;
    let mut i = 2;
    while i < cmd.words.len() {
        let w = cmd.words[i].as_str();
        if let Some(v) = flag_value(&cmd.words, &mut i, &["-o", "--output"]) {
            output = Some(v);
        } else if let Some(v) = flag_value(&cmd.words, &mut i, &["-c", "--configuration"]) {
            configuration = Some(v);
        } else if let Some(v) = flag_value(&cmd.words, &mut i, &["-f", "--framework"]) {
            framework = Some(v);
        } else if let Some(v) = flag_value(&cmd.words, &mut i, &["-r", "--runtime"]) {
            runtime = Some(v);
        } else if let Some(v) = flag_value(&cmd.words, &mut i, &["-p", "--property", "/p"]) {
            if OUTPUT_PROPERTIES.iter().any(|p| v.contains(p)) {
                return Err(format!(
                    "`dotnet publish` sets `{v}`, which moves the publish directory"
                ));
            }
        } else if matches!(w, "-a" | "--arch" | "--os") && output.is_none() {
            // Resolved below when -o is absent.
            runtime = Some(String::new());
            i += 1;
        } else if matches!(
            w,
            "-s" | "--source"
                | "-v"
                | "--verbosity"
                | "--version-suffix"
                | "--packages"
                | "--configfile"
        ) {
            i += 1;
        } else if matches!(w, "--self-contained" | "--sc")
            && cmd
                .words
                .get(i + 1)
                .is_some_and(|v| v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false"))
        {
            // An optional value.
            i += 1;
        } else if !w.starts_with('-') && project.is_none() {
            project = Some(w.to_string());
        }
        i += 1;
    }
    if let Some(o) = output {
        return cmd.resolve(&o);
    }
    let missing = |why: String| {
        Err(format!(
            "`dotnet publish` without -o writes to bin/<configuration>/<tfm>/publish, and {why}; add `-o DIR` and start the app from it"
        ))
    };
    if runtime.as_deref() == Some("") {
        return missing("--arch/--os choose a runtime identifier restage does not derive".into());
    }
    if let Some(f) = OUTPUT_SETTINGS.iter().find(|f| ctx.build.exists(f)) {
        return missing(format!("{f} may move it"));
    }
    let Some(csproj) = &ctx.build.csproj else {
        return missing("the build context has no single project file at its root".into());
    };
    let project_dir = match project.as_deref() {
        None => ".".to_string(),
        Some(p) if p == csproj.file || p == format!("./{}", csproj.file) => ".".to_string(),
        Some(p) if p == "." || p == "./" => ".".to_string(),
        Some(p) => {
            return missing(format!(
                "it publishes `{p}`, not the project file {} at the context root",
                csproj.file
            ));
        }
    };
    let Some(tfm) = framework.or_else(|| csproj.target_framework.clone()) else {
        return missing(format!(
            "{} sets no single TargetFramework restage can read",
            csproj.file
        ));
    };
    // Since .NET 8, publish builds the Release configuration by default.
    let configuration = configuration.unwrap_or_else(|| {
        if net_major(&tfm).is_some_and(|m| m >= 8) {
            "Release".to_string()
        } else {
            "Debug".to_string()
        }
    });
    let mut rel = format!("{project_dir}/bin/{configuration}/{tfm}");
    if let Some(rid) = runtime {
        rel.push_str(&format!("/{rid}"));
    }
    rel.push_str("/publish");
    cmd.resolve(&rel)
}

/// The major version of a `netX.Y` target framework (`None` for netcoreapp, netstandard, ...).
fn net_major(tfm: &str) -> Option<u32> {
    let v = tfm.strip_prefix("net")?;
    let major = v.split(['.', '-']).next()?;
    if major.len() > 2 {
        // net472 and friends: .NET Framework.
        return None;
    }
    major.parse().ok()
}

/// .NET sources, project files, source trees and build output.
fn dotnet_source(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [
        ".cs", ".fs", ".vb", ".csproj", ".fsproj", ".vbproj", ".sln", ".slnx", ".props", ".targets",
    ]
    .iter()
    .any(|ext| lower.ends_with(ext))
        || matches!(
            lower.as_str(),
            "bin"
                | "obj"
                | "src"
                | "test"
                | "tests"
                | "global.json"
                | "nuget.config"
                | "properties"
                | "packages.lock.json"
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_framework_versions() {
        assert_eq!(net_major("net8.0"), Some(8));
        assert_eq!(net_major("net10.0"), Some(10));
        assert_eq!(net_major("net6.0-windows"), Some(6));
        assert_eq!(net_major("netcoreapp3.1"), None);
        assert_eq!(net_major("net472"), None);
    }

    #[test]
    fn sources_are_not_data() {
        for s in [
            "Api.csproj",
            "Program.cs",
            "obj",
            "bin",
            "App.sln",
            "Properties",
        ] {
            assert!(dotnet_source(s), "{s}");
        }
        for d in ["appsettings.json", "wwwroot", "data"] {
            assert!(!dotnet_source(d), "{d}");
        }
    }
}
