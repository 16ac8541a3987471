//! From the command line (and the `[verify]` table of restage.toml) to a [`Request`]: which
//! Dockerfile, its build context, the rewrite (computed in-process with the fix command's flags,
//! or `--against FILE`), the probe and the rebuild; then the run and its printed result.
//!
//! ```toml
//! [verify]
//! http = "3000/health"        # or run = "--version"; expect = "ok"; env = ["PORT=3000"]
//! timeout = 60                # seconds to wait for an answer
//! rebuild = "src/server.ts"   # edit this file and check the install step is reused
//! install-step = "npm ci"     # how to recognise that step (default: known install commands)
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::engine::{self, Engine, EngineKind};
use super::{InstallStep, Probe, ProbeKind, Rebuild, Report, Request, render};
use crate::cli::{EngineChoice, FixArgs, VerifyArgs, VerifyFormat};
use crate::context::ContextReader;
use crate::fsio::read_text;
use crate::run::{KnowledgeCache, check_ids, fix_defaults, resolver};
use crate::transforms;

/// The `[verify]` table of restage.toml.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct VerifyTable {
    pub http: Option<String>,
    pub run: Option<String>,
    pub expect: Option<String>,
    #[serde(default)]
    pub env: Vec<String>,
    pub timeout: Option<u64>,
    pub rebuild: Option<String>,
    pub install_step: Option<String>,
}

#[derive(Deserialize)]
struct ConfigWithVerify {
    verify: Option<VerifyTable>,
}

/// `restage verify`: the exit code (0 same, 1 different, 2 cannot verify).
pub fn command(args: &VerifyArgs) -> i32 {
    engine::install_interrupt_cleanup();
    let prepared = match prepare(args) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("restage: cannot verify: {e}");
            return super::EXIT_CANNOT;
        }
    };
    let kind = match args.engine {
        EngineChoice::Docker => EngineKind::Docker,
        EngineChoice::Podman => EngineKind::Podman,
    };
    let engine = match Engine::discover(kind) {
        Ok(e) => e,
        Err(why) => {
            eprintln!("restage: cannot verify: {why}");
            return super::EXIT_CANNOT;
        }
    };
    if prepared.request.original_text == prepared.request.rewritten_text {
        eprintln!(
            "restage: {}: the rewrite changes nothing; verifying that it builds the same",
            prepared.display
        );
    }
    let mut report: Report = super::verify(&engine, &prepared.request);
    report.dockerfile = prepared.display.clone();
    report.context = prepared.context_display.clone();
    let text = match args.output_format {
        VerifyFormat::Table => render::table(&report),
        VerifyFormat::Json => render::json(&report),
        VerifyFormat::Markdown => render::markdown(&report),
    };
    print!("{text}");
    if let Some(why) = &report.cannot {
        eprintln!("restage: cannot verify: {why}");
    }
    report.exit_code()
}

/// A request ready to run, with the names to show.
pub struct Prepared {
    pub request: Request,
    pub display: String,
    pub context_display: String,
}

fn prepare(args: &VerifyArgs) -> Result<Prepared, String> {
    let dockerfile = if args.path.is_dir() {
        let df = args.path.join("Dockerfile");
        if !df.is_file() {
            return Err(format!(
                "{}: no Dockerfile in this directory (name the file)",
                args.path.display()
            ));
        }
        df
    } else {
        args.path.clone()
    };
    let display = dockerfile.display().to_string();
    let original_text = read_text(&dockerfile).map_err(|e| format!("{display}: {e}"))?;
    let fix_args = FixArgs {
        paths: vec![dockerfile.clone()],
        pipeline: args.pipeline.clone(),
        quiet: true,
        config: args.config.clone(),
        ..fix_defaults()
    };
    check_ids(&fix_args.pipeline).map_err(|e| format!("{e:#}"))?;
    let resolver = resolver(&fix_args).map_err(|e| format!("{e:#}"))?;
    let settings = resolver
        .settings_for(&dockerfile)
        .map_err(|e| format!("configuration: {e}"))?;
    let knowledge_cache = KnowledgeCache::new().map_err(|e| format!("{e:#}"))?;
    let knowledge = knowledge_cache
        .for_settings(&settings)
        .map_err(|e| format!("configuration: {e}"))?;
    let build = ContextReader::new().read(&dockerfile, settings.context.as_deref());
    let table = match resolver
        .config_file_for(&dockerfile)
        .map_err(|e| format!("configuration: {e}"))?
    {
        Some(path) => read_table(&path)?,
        None => VerifyTable::default(),
    };

    let rewritten_text = match &args.against {
        Some(file) => read_text(file).map_err(|e| format!("{}: {e}", file.display()))?,
        None => {
            let known: Vec<&str> = transforms::registry().iter().map(|t| t.id).collect();
            let unknown = settings.unknown_ids(&known);
            if !unknown.is_empty() {
                return Err(format!(
                    "configuration: {}",
                    crate::config::join_unknown_ids(&unknown)
                ));
            }
            crate::run::run_settings(&original_text, &settings, &knowledge, &build, false)
                .map_err(|e| format!("{display}: {e}"))?
                .text
        }
    };

    let probe = probe_from(args, &table)?;
    let rebuild = match args.rebuild.clone().or(table.rebuild.clone()) {
        None => None,
        Some(file) => {
            let edit = if file.is_empty() {
                pick_source_file(&build.dir).ok_or_else(|| {
                    format!(
                        "--rebuild: no source file found in {} to edit; name one with --rebuild=FILE",
                        build.dir.display()
                    )
                })?
            } else {
                PathBuf::from(file)
            };
            if !build.dir.join(&edit).is_file() {
                return Err(format!(
                    "--rebuild: {} is not a file in the build context {}",
                    edit.display(),
                    build.dir.display()
                ));
            }
            let install = match args.install_step.clone().or(table.install_step.clone()) {
                Some(s) => InstallStep::Containing(s),
                None => InstallStep::Known(Box::new(knowledge.clone())),
            };
            Some(Rebuild { edit, install })
        }
    };
    let cwd = std::env::current_dir().unwrap_or_default();
    let context_display = crate::report::display_path(&build.dir, &cwd);
    let label = dockerfile
        .parent()
        .and_then(|p| std::fs::canonicalize(p).ok())
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "app".to_string());
    Ok(Prepared {
        request: Request {
            label,
            context: build.dir.clone(),
            dockerfile: absolute(&dockerfile),
            original_text,
            rewritten_text,
            probe,
            rebuild,
            no_cache: args.no_cache,
            build_timeout: Duration::from_secs(args.build_timeout),
            memory: args.memory.clone(),
            may_differ: Vec::new(),
            log_dir: None,
            keep_images: false,
        },
        display,
        context_display: if context_display.is_empty() {
            ".".to_string()
        } else {
            context_display
        },
    })
}

fn absolute(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

fn read_table(path: &Path) -> Result<VerifyTable, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    match toml::from_str::<ConfigWithVerify>(&text) {
        Ok(raw) => Ok(raw.verify.unwrap_or_default()),
        Err(e) => {
            let (line, col) = match e.span() {
                Some(span) => crate::syntax::line_col(&text, span.start),
                None => (0, 0),
            };
            Err(format!(
                "{}:{line}:{col}: {}",
                path.display(),
                e.message().trim()
            ))
        }
    }
}

/// The probe from the flags, else the `[verify]` table, else "starts and stays up".
pub fn probe_from(args: &VerifyArgs, table: &VerifyTable) -> Result<Probe, String> {
    let flags_given = args.http.is_some() || args.run.is_some();
    let (http, run) = if flags_given {
        (args.http.clone(), args.run.clone())
    } else {
        (table.http.clone(), table.run.clone())
    };
    let expect = args.expect.clone().or(table.expect.clone());
    let kind = match (http, run) {
        (Some(_), Some(_)) => return Err("[verify]: give `http` or `run`, not both".into()),
        (Some(spec), None) => parse_http(&spec)?,
        (None, Some(words)) => ProbeKind::Run {
            args: crate::verify::compare::shell_words(&words).ok_or_else(|| {
                format!("--run {words:?}: only plain words and quotes are supported")
            })?,
        },
        (None, None) if expect.is_some() => ProbeKind::Run { args: Vec::new() },
        (None, None) => ProbeKind::Start,
    };
    let mut env = table.env.clone();
    env.extend(args.env.iter().cloned());
    if let Some(bad) = env.iter().find(|e| !e.contains('=')) {
        return Err(format!("environment entry {bad:?} is not NAME=VALUE"));
    }
    Ok(Probe {
        kind,
        expect,
        status: None,
        env,
        timeout: Duration::from_secs(args.timeout.or(table.timeout).unwrap_or(60)),
        up_secs: 5,
    })
}

/// `PORT[/PATH]`.
pub fn parse_http(spec: &str) -> Result<ProbeKind, String> {
    let (port, path) = match spec.find('/') {
        Some(i) => (&spec[..i], spec[i..].to_string()),
        None => (spec, "/".to_string()),
    };
    let port: u16 = port
        .parse()
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| format!("--http {spec:?}: expected PORT[/PATH], such as 3000/health"))?;
    Ok(ProbeKind::Http { port, path })
}

/// A source file of the context to edit for the rebuild: the first, in path order, with a
/// source extension, outside dependency, build and hidden directories and not excluded by the
/// context's `.dockerignore`.
pub fn pick_source_file(context: &Path) -> Option<PathBuf> {
    const EXTS: &[&str] = &[
        "js", "mjs", "cjs", "ts", "tsx", "jsx", "py", "go", "rs", "java", "kt", "rb", "php", "cs",
        "scala", "ex", "c", "cc", "cpp", "html", "css",
    ];
    const SKIP: &[&str] = &[
        "node_modules",
        "target",
        "vendor",
        "dist",
        "build",
        "venv",
        ".venv",
        "__pycache__",
    ];
    let ignored = dockerignore(context);
    let mut found: Vec<PathBuf> = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(context.join(&rel)) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || SKIP.contains(&name.as_str()) {
                continue;
            }
            let path = rel.join(&name);
            if ignored.is_match(&path) {
                continue;
            }
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file()
                && path
                    .extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| EXTS.contains(&e))
            {
                found.push(path);
            }
        }
    }
    found.sort();
    found.into_iter().next()
}

/// The exclusions of the context's `.dockerignore`, roughly (negations are ignored, so a file
/// they bring back is never picked).
fn dockerignore(context: &Path) -> globset::GlobSet {
    let mut set = globset::GlobSetBuilder::new();
    if let Ok(text) = std::fs::read_to_string(context.join(".dockerignore")) {
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
                continue;
            }
            let pat = line.trim_start_matches("./").trim_start_matches('/');
            let pat = pat.trim_end_matches('/');
            for p in [pat.to_string(), format!("{pat}/**")] {
                if let Ok(g) = globset::Glob::new(&p) {
                    set.add(g);
                }
            }
        }
    }
    set.build().unwrap_or_else(|_| globset::GlobSet::empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_specs() {
        assert_eq!(
            parse_http("3000/health?x=1"),
            Ok(ProbeKind::Http {
                port: 3000,
                path: "/health?x=1".into()
            })
        );
        assert_eq!(
            parse_http("8080"),
            Ok(ProbeKind::Http {
                port: 8080,
                path: "/".into()
            })
        );
        assert!(parse_http("web/health").is_err());
        assert!(parse_http("0").is_err());
    }

    #[test]
    fn flags_win_over_the_verify_table() {
        use clap::Parser;
        let table = VerifyTable {
            http: Some("3000/health".into()),
            expect: Some("ok".into()),
            env: vec!["A=1".into()],
            timeout: Some(9),
            ..VerifyTable::default()
        };
        let parse = |args: &[&str]| -> VerifyArgs {
            let mut argv = vec!["restage", "verify"];
            argv.extend_from_slice(args);
            match crate::cli::Cli::parse_from(argv).command {
                Some(crate::cli::Command::Verify(a)) => *a,
                other => panic!("not verify: {other:?}"),
            }
        };
        let from_table = probe_from(&parse(&[]), &table).expect("probe");
        assert_eq!(
            (
                from_table.kind,
                from_table.expect,
                from_table.env,
                from_table.timeout
            ),
            (
                ProbeKind::Http {
                    port: 3000,
                    path: "/health".into()
                },
                Some("ok".into()),
                vec!["A=1".to_string()],
                Duration::from_secs(9)
            )
        );
        let flags =
            probe_from(&parse(&["--run", "--version", "-e", "B=2"]), &table).expect("probe");
        assert_eq!(
            (flags.kind, flags.env),
            (
                ProbeKind::Run {
                    args: vec!["--version".into()]
                },
                vec!["A=1".to_string(), "B=2".to_string()]
            )
        );
        let none = probe_from(&parse(&[]), &VerifyTable::default()).expect("probe");
        assert_eq!(none.kind, ProbeKind::Start);
        assert!(probe_from(&parse(&["-e", "NOVALUE"]), &VerifyTable::default()).is_err());
    }

    #[test]
    fn picks_a_source_file_outside_ignored_paths() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for f in [
            "package.json",
            "a/ignored.js",
            "node_modules/x/index.js",
            "src/server.js",
            "src/z.js",
        ] {
            let p = root.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "x").unwrap();
        }
        std::fs::write(root.join(".dockerignore"), "a\n").unwrap();
        assert_eq!(pick_source_file(root), Some(PathBuf::from("src/server.js")));
    }
}
