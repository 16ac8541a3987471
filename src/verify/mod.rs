//! `restage verify`: build the original and the rewritten Dockerfile from the same context with a
//! real engine, run both, and compare what they answer, their image configuration, their size,
//! the uid they run as and, on request, whether the dependency install is reused from the build
//! cache after a source-only edit. User files are never touched: the rewritten Dockerfile is
//! written to a temporary directory and built with `-f`, and the rebuild edits a copy of the
//! context. The real-engine test tier drives the same [`verify`] function.

pub mod compare;
pub mod engine;
pub(crate) mod http;
pub(crate) mod render;
pub(crate) mod request;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;

use engine::{ContainerGuard, Engine, ImageGuard};
pub use request::command;

/// How the containers are asked whether they work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeKind {
    /// Run detached with `port` published on 127.0.0.1, then `GET path`.
    Http { port: u16, path: String },
    /// Run with these arguments (empty: the image's own command), `--network none`; the answer is
    /// its stdout, and it must exit 0.
    Run { args: Vec<String> },
    /// Start detached (`--network none`) and check that it is still up after `up_secs`, or that
    /// it exited 0 (a one-shot program).
    Start,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub kind: ProbeKind,
    /// A substring both answers must contain.
    pub expect: Option<String>,
    /// The HTTP status both must answer with (default: only "the same").
    pub status: Option<u16>,
    /// `NAME=value` entries passed to both containers with `-e`.
    pub env: Vec<String>,
    /// How long to wait for an answer (http, run).
    pub timeout: Duration,
    /// How long a server must stay up without a probe.
    pub up_secs: u64,
}

impl Probe {
    pub fn describe(&self) -> String {
        let base = match &self.kind {
            ProbeKind::Http { port, path } => format!("GET :{port}{path}"),
            ProbeKind::Run { args } if args.is_empty() => "run (its command)".to_string(),
            ProbeKind::Run { args } => format!("run {}", args.join(" ")),
            ProbeKind::Start => format!("starts, up {} s", self.up_secs),
        };
        match &self.expect {
            Some(e) => format!("{base}, expect {e:?}"),
            None => base,
        }
    }
}

/// How the dependency-install step is recognised in the rebuild's log.
pub enum InstallStep {
    /// A RUN step whose text contains this.
    Containing(String),
    /// A RUN step with a command the knowledge files call a dependency install.
    Known(Box<crate::knowledge::Knowledge>),
}

impl InstallStep {
    pub fn matches(&self, step: &str) -> bool {
        match self {
            InstallStep::Containing(s) => step.contains(s.as_str()),
            InstallStep::Known(k) => {
                let text = step.strip_prefix("RUN ").unwrap_or(step);
                let Some(commands) = crate::shell::split(text, 0, '\\') else {
                    return false;
                };
                commands.iter().any(|c| {
                    let words: Vec<&str> = c.words.iter().map(String::as_str).collect();
                    k.classify_command(&words)
                        .is_some_and(|m| m.kind == crate::knowledge::CommandKind::DependencyInstall)
                })
            }
        }
    }
}

/// The source-only edit and rebuild.
pub struct Rebuild {
    /// The file to edit, relative to the context.
    pub edit: PathBuf,
    pub install: InstallStep,
}

/// One verification: what to build, how to probe, what may differ.
pub struct Request {
    /// A short name for the containers and images (the Dockerfile's or the case's).
    pub label: String,
    pub context: PathBuf,
    /// The original Dockerfile (never modified).
    pub dockerfile: PathBuf,
    pub original_text: String,
    pub rewritten_text: String,
    pub probe: Probe,
    pub rebuild: Option<Rebuild>,
    /// Build without the cache, so that the two build times compare.
    pub no_cache: bool,
    pub build_timeout: Duration,
    /// `--memory` for every container.
    pub memory: String,
    /// Config fields (of [`compare::COMPARED_CONFIG`], `Env`, `Labels`) not to compare.
    pub may_differ: Vec<String>,
    /// Where to keep build logs and answers (none: not kept).
    pub log_dir: Option<PathBuf>,
    pub keep_images: bool,
}

/// One image's results.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Side {
    pub built: bool,
    pub build_secs: Option<f64>,
    /// Bytes.
    pub size: Option<u64>,
    pub uid: Option<u32>,
    /// What the probe got (HTTP status and body, stdout, or "up"/"exited 0").
    pub answer: Option<String>,
    /// Why the build, the probe or the uid failed.
    pub error: Option<String>,
    pub rebuild_secs: Option<f64>,
    /// After the source edit: (install steps, how many reused from the cache); in JSON
    /// `{"steps": N, "cached": K}`.
    #[serde(serialize_with = "serialize_cache")]
    pub install_cached: Option<(usize, usize)>,
    #[serde(skip)]
    pub config: Value,
}

fn serialize_cache<S: serde::Serializer>(
    value: &Option<(usize, usize)>,
    s: S,
) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Cache {
        steps: usize,
        cached: usize,
    }
    value
        .map(|(steps, cached)| Cache { steps, cached })
        .serialize(s)
}

/// The outcome of a verification.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub dockerfile: String,
    pub context: String,
    pub probe: String,
    pub original: Side,
    pub rewritten: Side,
    /// The config fields compared and found equal (empty when the comparison did not run).
    pub config_same: bool,
    /// The file edited for the rebuild.
    pub rebuild_edit: Option<String>,
    /// What differs: each makes the verification fail.
    pub differences: Vec<String>,
    /// Why verification could not run (the original does not build or does not answer).
    pub cannot: Option<String>,
    pub engine: String,
}

/// Exit codes of `restage verify`.
pub const EXIT_SAME: i32 = 0;
pub const EXIT_DIFFERENT: i32 = 1;
pub const EXIT_CANNOT: i32 = 2;

impl Report {
    pub fn exit_code(&self) -> i32 {
        if self.cannot.is_some() {
            EXIT_CANNOT
        } else if self.differences.is_empty() {
            EXIT_SAME
        } else {
            EXIT_DIFFERENT
        }
    }

    /// Size change of the rewrite in percent (negative: smaller).
    pub fn size_change_pct(&self) -> Option<f64> {
        match (self.original.size, self.rewritten.size) {
            (Some(a), Some(b)) if a > 0 => {
                Some(((b as f64 - a as f64) / a as f64 * 100.0).round() + 0.0)
            }
            _ => None,
        }
    }
}

/// Builds, runs and compares both images. Never panics on engine failures: every problem is a
/// difference or the reason verification could not run.
pub fn verify(engine: &Engine, req: &Request) -> Report {
    let mut report = Report {
        dockerfile: req.dockerfile.display().to_string(),
        context: req.context.display().to_string(),
        probe: req.probe.describe(),
        engine: format!(
            "{} {} ({:?})",
            engine.bin, engine.server_version, engine.builder
        ),
        ..Report::default()
    };
    if let Some(dir) = &req.log_dir {
        let _ = std::fs::create_dir_all(dir);
    }
    let log = |name: &str| req.log_dir.as_ref().map(|d| d.join(name));
    let tmp = match tempfile::Builder::new().prefix("restage-verify-").tempdir() {
        Ok(t) => t,
        Err(e) => {
            report.cannot = Some(format!("cannot create a temporary directory: {e}"));
            return report;
        }
    };

    // The context builds come from: the user's, or a copy when the rebuild will edit it.
    let (context, orig_df) = if req.rebuild.is_some() {
        let copy = tmp.path().join("context");
        if let Err(e) = copy_dir(&req.context, &copy) {
            report.cannot = Some(format!(
                "cannot copy the build context {}: {e}",
                req.context.display()
            ));
            return report;
        }
        let df = match req.dockerfile.strip_prefix(&req.context) {
            Ok(rel) => copy.join(rel),
            Err(_) => req.dockerfile.clone(),
        };
        (copy, df)
    } else {
        (req.context.clone(), req.dockerfile.clone())
    };
    let new_df = match write_rewritten(tmp.path(), &orig_df, &req.rewritten_text) {
        Ok(p) => p,
        Err(e) => {
            report.cannot = Some(format!("cannot write the rewritten Dockerfile: {e}"));
            return report;
        }
    };
    if let Some(dir) = &req.log_dir {
        let _ = std::fs::write(dir.join("rewritten.Dockerfile"), &req.rewritten_text);
    }

    // 1. Build both.
    let base = engine::unique_name(&format!("restage-verify-{}", req.label));
    let tags = [format!("{base}:original"), format!("{base}:rewritten")];
    let mut images = ImageGuard::new(engine, tags.to_vec(), req.keep_images);
    let dfs = [&orig_df, &new_df];
    let names = ["original", "rewritten"];
    let mut sides = [Side::default(), Side::default()];
    for i in 0..2 {
        let build = engine.build(
            &context,
            dfs[i],
            &tags[i],
            req.no_cache,
            log(&format!("build-{}.log", names[i])).as_deref(),
            req.build_timeout,
        );
        sides[i].build_secs = Some(build.secs);
        sides[i].built = build.ok;
        if !build.ok {
            sides[i].error = Some(format!(
                "does not build: {}",
                build.failure_line.unwrap_or_default()
            ));
        }
    }
    let built = [sides[0].built, sides[1].built];
    if !sides[0].built {
        report.cannot = Some(format!(
            "the original Dockerfile {}",
            sides[0].error.clone().unwrap_or_default()
        ));
        [report.original, report.rewritten] = sides;
        return report;
    }
    if !sides[1].built {
        report.differences.push(format!(
            "the rewritten Dockerfile {}",
            sides[1].error.clone().unwrap_or_default()
        ));
    }
    for i in [0, 1].into_iter().filter(|&i| built[i]) {
        match engine.inspect(&tags[i]) {
            Ok(info) => {
                sides[i].size = info.get("Size").and_then(Value::as_u64);
                sides[i].config = info.get("Config").cloned().unwrap_or(Value::Null);
            }
            Err(e) => sides[i].error = Some(e),
        }
    }

    // 2. Configuration.
    if sides[1].built {
        let base_config = compare::final_base_image(&req.original_text)
            .and_then(|b| engine.inspect(&b).ok())
            .and_then(|info| info.get("Config").cloned())
            .unwrap_or(Value::Null);
        let diffs = compare::config_differences(
            &sides[0].config,
            &sides[1].config,
            &base_config,
            &req.may_differ,
        );
        report.config_same = diffs.is_empty();
        report.differences.extend(diffs);
    }

    // 3. Probe both.
    for i in [0, 1].into_iter().filter(|&i| built[i]) {
        match probe(engine, req, &tags[i], names[i]) {
            Ok(answer) => {
                if let Some(path) = log(&format!("answer-{}.txt", names[i])) {
                    let _ = std::fs::write(path, &answer);
                }
                sides[i].answer = Some(answer);
            }
            Err(e) => sides[i].error = Some(e),
        }
    }
    match (&sides[0].answer, &sides[1].answer) {
        (None, _) => {
            report.cannot = Some(format!(
                "the original image fails the probe ({}): {}",
                req.probe.describe(),
                sides[0].error.clone().unwrap_or_default()
            ));
        }
        (Some(_), None) if sides[1].built => report.differences.push(format!(
            "the rewritten image fails the probe ({}): {}",
            req.probe.describe(),
            sides[1].error.clone().unwrap_or_default()
        )),
        (Some(a), Some(b)) if a != b => report.differences.push(format!(
            "the answers differ: original {} / rewritten {}",
            clip(a),
            clip(b)
        )),
        _ => {}
    }
    if report.cannot.is_none()
        && let Some(expect) = &req.probe.expect
    {
        for i in 0..2 {
            if let Some(answer) = &sides[i].answer
                && !answer.contains(expect.as_str())
            {
                let msg = format!(
                    "the {} image answered without {expect:?}: {}",
                    names[i],
                    clip(answer)
                );
                if i == 0 {
                    report.cannot = Some(msg);
                } else {
                    report.differences.push(msg);
                }
            }
        }
    }
    if report.cannot.is_some() {
        [report.original, report.rewritten] = sides;
        return report;
    }

    // 4. The uid each runs as.
    for i in [0, 1].into_iter().filter(|&i| built[i]) {
        match uid_of(engine, &tags[i], &sides[i].config, &req.memory) {
            Ok(uid) => sides[i].uid = Some(uid),
            Err(e) => sides[i].error = Some(format!("uid: {e}")),
        }
    }
    if let (Some(a), Some(0)) = (sides[0].uid, sides[1].uid)
        && a != 0
    {
        report.differences.push(format!(
            "the rewritten image runs as root; the original ran as uid {a}"
        ));
    }

    // 5. A source-only edit, then both rebuilt with the cache.
    if let Some(rebuild) = &req.rebuild {
        report.rebuild_edit = Some(rebuild.edit.display().to_string());
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        for i in [0, 1].into_iter().filter(|&i| built[i]) {
            // A different line per image and per run, so neither build reuses the other's layers.
            if let Err(e) = append_edit(
                &context.join(&rebuild.edit),
                &format!("restage verify edit {} {stamp}", names[i]),
            ) {
                report.cannot = Some(format!("cannot edit {}: {e}", rebuild.edit.display()));
                break;
            }
            let tag = format!("{base}:{}-edit", names[i]);
            images.push(tag.clone());
            let build = engine.build(
                &context,
                dfs[i],
                &tag,
                false,
                log(&format!("rebuild-{}.log", names[i])).as_deref(),
                req.build_timeout,
            );
            sides[i].rebuild_secs = Some(build.secs);
            if !build.ok {
                let msg = format!(
                    "the {} Dockerfile does not rebuild after editing {}: {}",
                    names[i],
                    rebuild.edit.display(),
                    build.failure_line.unwrap_or_default()
                );
                if i == 0 {
                    report.cannot = Some(msg);
                    break;
                }
                report.differences.push(msg);
                continue;
            }
            sides[i].install_cached =
                Some(build.steps.cached_where(|s| rebuild.install.matches(s)));
        }
        if let (Some((_, a)), Some((_, 0))) = (sides[0].install_cached, sides[1].install_cached)
            && a > 0
        {
            report.differences.push(format!(
                "the dependency install is no longer reused from the cache after editing {}",
                rebuild.edit.display()
            ));
        }
    }
    drop(images);
    [report.original, report.rewritten] = sides;
    report
}

/// Writes the rewritten Dockerfile into `dir` under the original's file name, with the original's
/// per-Dockerfile ignore file (`NAME.dockerignore`) next to it under the matching name.
fn write_rewritten(dir: &Path, original: &Path, text: &str) -> std::io::Result<PathBuf> {
    let name = original
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "Dockerfile".into());
    let sub = dir.join("rewritten");
    std::fs::create_dir_all(&sub)?;
    let path = sub.join(&name);
    std::fs::write(&path, text)?;
    let mut ignore_name = name.clone();
    ignore_name.push(".dockerignore");
    let ignore = original.with_file_name(&ignore_name);
    if ignore.is_file() {
        std::fs::copy(&ignore, sub.join(&ignore_name))?;
    }
    Ok(path)
}

fn run_args<'a>(req: &'a Request, name: &'a str) -> Vec<&'a str> {
    let mut args = vec![
        "--name",
        name,
        "--memory",
        req.memory.as_str(),
        "--pids-limit",
        "1024",
    ];
    for e in &req.probe.env {
        args.extend(["-e", e.as_str()]);
    }
    args
}

/// Runs the probe against one image and returns its answer.
fn probe(engine: &Engine, req: &Request, tag: &str, side: &str) -> Result<String, String> {
    let name = engine::unique_name(&format!("restage-verify-{}-{side}", req.label));
    let guard = ContainerGuard::new(engine, name.clone());
    let deadline = req.probe.timeout;
    match &req.probe.kind {
        ProbeKind::Run { args: extra } => {
            let mut args = vec!["run", "--network", "none"];
            args.extend(run_args(req, &name));
            args.push(tag);
            args.extend(extra.iter().map(String::as_str));
            let x = engine.run(&args, deadline);
            if !x.success() {
                return Err(x.describe());
            }
            drop(guard);
            Ok(x.stdout)
        }
        ProbeKind::Start => {
            let mut args = vec!["run", "-d", "--network", "none"];
            args.extend(run_args(req, &name));
            args.push(tag);
            let x = engine.run(&args, Duration::from_secs(60));
            if !x.success() {
                return Err(format!("run: {}", engine::reason_line(&x.stderr)));
            }
            std::thread::sleep(Duration::from_secs(req.probe.up_secs));
            let state = engine.run(
                &[
                    "inspect",
                    "-f",
                    "{{.State.Running}} {{.State.ExitCode}}",
                    &name,
                ],
                Duration::from_secs(30),
            );
            match state
                .stdout
                .split_whitespace()
                .collect::<Vec<_>>()
                .as_slice()
            {
                ["true", _] => Ok("up".to_string()),
                ["false", "0"] => Ok("exited 0".to_string()),
                ["false", code] => {
                    let logs = engine.run(&["logs", &name], Duration::from_secs(30));
                    Err(format!(
                        "exited with {code} within {} s; logs: {}",
                        req.probe.up_secs,
                        engine::tail(&(logs.stdout + &logs.stderr), 10)
                    ))
                }
                _ => Err(format!("inspect: {}", state.describe())),
            }
        }
        ProbeKind::Http { port, path } => {
            let publish = format!("127.0.0.1::{port}");
            let mut args = vec!["run", "-d", "-p", &publish];
            args.extend(run_args(req, &name));
            args.push(tag);
            let x = engine.run(&args, Duration::from_secs(60));
            if !x.success() {
                return Err(format!("run: {}", engine::reason_line(&x.stderr)));
            }
            let x = engine.run(
                &["port", &name, &format!("{port}/tcp")],
                Duration::from_secs(30),
            );
            let Some(addr) = x
                .stdout
                .lines()
                .find_map(|l| l.trim().parse::<SocketAddr>().ok())
            else {
                return Err(match exited(engine, &name) {
                    Some(why) => why,
                    None => format!("port: {}", engine::reason_line(&x.stderr)),
                });
            };
            let start = Instant::now();
            let mut last = String::from("no attempt");
            while start.elapsed() < deadline {
                let state = engine.run(
                    &["inspect", "-f", "{{.State.Running}}", &name],
                    Duration::from_secs(30),
                );
                if state.stdout.trim() == "false"
                    && let Some(why) = exited(engine, &name)
                {
                    return Err(why);
                }
                match http::get(addr, path, Duration::from_secs(5)) {
                    Ok(answer) => {
                        if let Some(want) = req.probe.status
                            && answer.status != want
                        {
                            return Err(format!(
                                "HTTP {} (expected {want}): {}",
                                answer.status,
                                clip(&answer.body)
                            ));
                        }
                        return Ok(format!("HTTP {}\n{}", answer.status, answer.body));
                    }
                    Err(e) => last = e,
                }
                std::thread::sleep(Duration::from_millis(300));
            }
            let logs = engine.run(&["logs", &name], Duration::from_secs(30));
            Err(format!(
                "no answer on {addr}{path} within {} s (last error: {last}); logs: {}",
                deadline.as_secs(),
                engine::tail(&(logs.stdout + &logs.stderr), 15)
            ))
        }
    }
}

/// When the container is no longer running: "the container exited with N; logs: ...".
fn exited(engine: &Engine, name: &str) -> Option<String> {
    let state = engine.run(
        &[
            "inspect",
            "-f",
            "{{.State.Running}} {{.State.ExitCode}}",
            name,
        ],
        Duration::from_secs(30),
    );
    let words: Vec<&str> = state.stdout.split_whitespace().collect();
    if words.first() != Some(&"false") {
        return None;
    }
    let logs = engine.run(&["logs", name], Duration::from_secs(30));
    Some(format!(
        "the container exited with {}; logs: {}",
        words.get(1).unwrap_or(&"?"),
        engine::tail(&(logs.stdout + &logs.stderr), 15)
    ))
}

/// The uid the image runs as: `id -u` inside it, or, for images without `id` (distroless), its
/// `Config.User` looked up in its /etc/passwd.
fn uid_of(engine: &Engine, tag: &str, config: &Value, memory: &str) -> Result<u32, String> {
    let x = engine.run(
        &[
            "run",
            "--rm",
            "--network",
            "none",
            "--memory",
            memory,
            "--entrypoint",
            "id",
            tag,
            "-u",
        ],
        Duration::from_secs(60),
    );
    if x.success()
        && let Ok(uid) = x.stdout.trim().parse()
    {
        return Ok(uid);
    }
    let user = config
        .get("User")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let name = user.split(':').next().unwrap_or_default();
    if name.is_empty() {
        return Ok(0);
    }
    if let Ok(uid) = name.parse() {
        return Ok(uid);
    }
    let container = engine::unique_name("restage-verify-passwd");
    let _guard = ContainerGuard::new(engine, container.clone());
    let x = engine.run(
        &[
            "create",
            "--name",
            &container,
            tag,
            "/restage-verify-never-run",
        ],
        Duration::from_secs(60),
    );
    if !x.success() {
        return Err(format!("create: {}", engine::reason_line(&x.stderr)));
    }
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let dest = tmp.path().join("passwd");
    let x = engine.run(
        &[
            "cp",
            &format!("{container}:/etc/passwd"),
            &dest.to_string_lossy(),
        ],
        Duration::from_secs(60),
    );
    if !x.success() {
        return Err(format!(
            "`id` failed and /etc/passwd could not be read: {}",
            engine::reason_line(&x.stderr)
        ));
    }
    let passwd = std::fs::read_to_string(&dest).map_err(|e| e.to_string())?;
    passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.first() == Some(&name))
        .and_then(|f| f.get(2)?.parse().ok())
        .ok_or_else(|| format!("user {name:?} is not in the image's /etc/passwd"))
}

/// Appends a comment line in the file's own comment syntax.
pub fn append_edit(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default();
    let line = match ext {
        "rs" | "go" | "ts" | "tsx" | "js" | "jsx" | "mjs" | "cjs" | "java" | "c" | "h" | "cc"
        | "cpp" | "kt" | "scala" | "cs" | "swift" | "php" => format!("\n// {text}\n"),
        "html" | "xml" | "vue" | "svelte" => format!("\n<!-- {text} -->\n"),
        "css" => format!("\n/* {text} */\n"),
        "json" => {
            return Err(std::io::Error::other(
                "a JSON file cannot take a comment; name a source file with --rebuild=FILE",
            ));
        }
        _ => format!("\n# {text}\n"),
    };
    let mut file = std::fs::OpenOptions::new().append(true).open(path)?;
    file.write_all(line.as_bytes())
}

/// Copies a directory tree; symlinks are kept as links, as BuildKit sends them.
pub fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let dest = to.join(entry.file_name());
        let kind = entry.file_type()?;
        if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(entry.path())?, &dest)?;
        } else if kind.is_dir() {
            copy_dir(&entry.path(), &dest)?;
        } else {
            std::fs::copy(entry.path(), dest)?;
        }
    }
    Ok(())
}

/// One line of at most 300 characters.
pub fn clip(s: &str) -> String {
    let one_line = s.trim().replace('\n', " ");
    if one_line.chars().count() > 300 {
        format!("{}...", one_line.chars().take(300).collect::<String>())
    } else {
        one_line
    }
}
