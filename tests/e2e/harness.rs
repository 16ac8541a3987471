//! One real-engine case from start to end: copy the fixture twice, let restage rewrite one copy,
//! build both with BuildKit, run both, compare what they answer and what their image config
//! says, check the `[expect]` targets, then touch a source file and rebuild both to see whether
//! the dependency install step is reused. Every problem is collected into the case's row; nothing
//! stops at the first failure unless the next step cannot run without the previous one.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::compare;
use crate::docker::{self, ContainerGuard, Engine, Exec, ImageGuard};
use crate::http;
use crate::report::{self, Row};
use crate::spec::{COMPARED_CONFIG, CheckKind, Spec, TRANSFORM_IDS};

/// Serialises the cases: the builds share two cores, and timings are only comparable one at a time.
pub static GATE: Mutex<()> = Mutex::new(());

pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join("e2e")
}

/// The hand-written rewrite of a case used by `RESTAGE_E2E_REFERENCE=1`.
pub fn reference_dockerfile(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/e2e/reference")
        .join(format!("{case}.Dockerfile"))
}

pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("target"),
    }
}

/// Writes to the real stderr, past libtest's output capture, so progress and SKIPPED lines show.
pub fn loud(msg: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{msg}");
}

pub fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}

/// The cases selected by `RESTAGE_E2E_CASES` (comma-separated), or all of them.
pub fn selected(all: &[&str]) -> Vec<String> {
    match std::env::var("RESTAGE_E2E_CASES") {
        Ok(list) if !list.trim().is_empty() => {
            let wanted: BTreeSet<&str> = list.split(',').map(str::trim).collect();
            all.iter()
                .filter(|c| wanted.contains(*c))
                .map(|c| c.to_string())
                .collect()
        }
        _ => all.iter().map(|c| c.to_string()).collect(),
    }
}

pub fn engine() -> &'static Result<Engine, String> {
    static ENGINE: OnceLock<Result<Engine, String>> = OnceLock::new();
    ENGINE.get_or_init(|| {
        if std::env::var("RESTAGE_E2E").is_ok_and(|v| v == "0") {
            return Err("RESTAGE_E2E=0".to_string());
        }
        Engine::discover()
    })
}

/// A failure is a broken invariant (hard) or a missed `[expect]` target, which
/// `RESTAGE_E2E_EXPECT=warn` reports without failing the test.
#[derive(Clone, Debug)]
pub struct Failure {
    pub target: bool,
    pub msg: String,
}

/// The `#[test]` body of one case.
pub fn run_case_test(case: &str, all: &[&str]) {
    let selection = selected(all);
    if !selection.iter().any(|c| c == case) {
        loud(&format!(
            "[e2e] {case}: not selected by RESTAGE_E2E_CASES, not run"
        ));
        return;
    }
    let engine = match engine() {
        Ok(engine) => engine,
        Err(why) => {
            loud(&format!(
                "SKIPPED: no Docker engine ({why}); e2e case {case} was NOT run and proves nothing"
            ));
            report::record_skip(case, why, &selection);
            if env_flag("RESTAGE_E2E_REQUIRE") {
                panic!("RESTAGE_E2E_REQUIRE=1 but there is no Docker engine: {why}");
            }
            return;
        }
    };
    let row = {
        let _gate = GATE.lock().unwrap_or_else(|e| e.into_inner());
        loud(&format!("[e2e] {case}: start"));
        let start = Instant::now();
        let mut row = run_case(engine, case);
        row.total_secs = Some(start.elapsed().as_secs_f64());
        loud(&format!(
            "[e2e] {case}: {} in {:.0} s",
            row.result(),
            start.elapsed().as_secs_f64()
        ));
        report::record(engine, row.clone(), &selection);
        row
    };
    let warn = std::env::var("RESTAGE_E2E_EXPECT").is_ok_and(|v| v == "warn");
    let list = failing_lines(&row.failures, warn);
    if !list.is_empty() {
        panic!(
            "e2e case {case}: {} failure(s):\n{}",
            list.len(),
            list.join("\n")
        );
    }
}

struct Variant {
    name: &'static str,
    dir: PathBuf,
    tag: String,
    built: bool,
    config: Value,
}

fn run_case(engine: &Engine, case: &str) -> Row {
    let fixture = fixtures_dir().join(case);
    run_case_in(engine, case, &fixture, Spec::load(&fixture))
}

/// Runs one case whose build context is `fixture` (copied, never changed) with `spec`. The real
/// projects use this with contexts prepared outside the repository.
pub fn run_case_in(engine: &Engine, case: &str, fixture: &Path, spec: Result<Spec, String>) -> Row {
    let mut row = Row::new(case);
    let spec = match spec {
        Ok(spec) => spec,
        Err(e) => {
            row.fail(false, e);
            return row;
        }
    };
    let logs = docker::case_log_dir(&target_dir(), case);
    let tmp = match tempfile::Builder::new().prefix("restage-e2e-").tempdir() {
        Ok(t) => t,
        Err(e) => {
            row.fail(false, format!("temp dir: {e}"));
            return row;
        }
    };
    let mut variants = [
        Variant {
            name: "orig",
            dir: tmp.path().join("orig"),
            tag: String::new(),
            built: false,
            config: Value::Null,
        },
        Variant {
            name: "rewritten",
            dir: tmp.path().join("rewritten"),
            tag: String::new(),
            built: false,
            config: Value::Null,
        },
    ];
    for v in &mut variants {
        v.tag = format!("restage-e2e/{case}:{}", v.name);
        if let Err(e) = copy_dir(fixture, &v.dir) {
            row.fail(false, format!("copying the fixture: {e}"));
            return row;
        }
    }

    // 1. restage: which transforms fire, the diff, --write, and the fixed point.
    let new_df = variants[1].dir.join(&spec.dockerfile);
    if env_flag("RESTAGE_E2E_REFERENCE") {
        // Self-test of the harness and of the targets: a hand-written rewrite instead of restage's.
        let reference = reference_dockerfile(case);
        if let Err(e) = std::fs::copy(&reference, &new_df) {
            row.fail(false, format!("{}: {e}", reference.display()));
        }
        row.reference = true;
    } else {
        rewrite(&spec, &new_df, &logs, &mut row);
    }
    let orig_text =
        std::fs::read_to_string(variants[0].dir.join(&spec.dockerfile)).unwrap_or_default();
    let new_text = std::fs::read_to_string(&new_df).unwrap_or_default();
    row.changed = Some(orig_text != new_text);
    let _ = std::fs::write(logs.join("rewritten.Dockerfile"), &new_text);

    // 2. Build both, from scratch unless RESTAGE_E2E_CACHE=1, so the times are comparable.
    let no_cache = !env_flag("RESTAGE_E2E_CACHE");
    let timeout = Duration::from_secs(
        std::env::var("RESTAGE_E2E_BUILD_TIMEOUT")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(900),
    );
    let mut images = ImageGuard {
        engine,
        tags: Vec::new(),
    };
    for (i, v) in variants.iter_mut().enumerate() {
        images.tags.push(v.tag.clone());
        let build = engine.build(
            &v.dir,
            &v.tag,
            no_cache,
            &logs.join(format!("build-{}.log", v.name)),
            timeout,
        );
        row.build_secs[i] = Some(build.secs);
        loud(&format!(
            "[e2e] {case}: built {} in {:.1} s{}",
            v.name,
            build.secs,
            if build.ok { "" } else { " (FAILED)" }
        ));
        match build.failure {
            None => v.built = true,
            Some(why) => row.fail(false, format!("{} image did not build: {why}", v.name)),
        }
    }
    if !variants[0].built {
        return row;
    }
    let mut sizes = [None, None];
    for (i, v) in variants.iter_mut().enumerate().filter(|(_, v)| v.built) {
        match engine.inspect(&v.tag) {
            Ok(info) => {
                sizes[i] = info.get("Size").and_then(Value::as_u64);
                v.config = info.get("Config").cloned().unwrap_or(Value::Null);
            }
            Err(e) => row.fail(false, e),
        }
    }
    row.size_mb = sizes.map(|s| s.map(|b| b as f64 / 1e6));

    // 3. Run both and compare their answers.
    let mut answers: [Option<String>; 2] = [None, None];
    for (i, v) in variants.iter().enumerate().filter(|(_, v)| v.built) {
        match run_check(engine, &spec, case, v) {
            Ok(answer) => {
                let _ = std::fs::write(logs.join(format!("answer-{}.txt", v.name)), &answer);
                if !answer.contains(&spec.check.expect) {
                    row.fail(
                        false,
                        format!(
                            "{} answered without {:?}: {}",
                            v.name,
                            spec.check.expect,
                            clip(&answer)
                        ),
                    );
                }
                answers[i] = Some(answer);
            }
            Err(e) => row.fail(false, format!("{} did not answer: {e}", v.name)),
        }
    }
    row.run = match (&answers[0], &answers[1]) {
        (Some(a), Some(b)) if a == b => "same".to_string(),
        (Some(a), Some(b)) => {
            row.fail(
                false,
                format!(
                    "the answers differ: original {} / rewritten {}",
                    clip(a),
                    clip(b)
                ),
            );
            "DIFFERENT".to_string()
        }
        (Some(_), None) => "rewritten FAILED".to_string(),
        (None, Some(_)) => "original FAILED".to_string(),
        (None, None) => "both FAILED".to_string(),
    };

    // 4. Same visible configuration; uid; size.
    if variants[1].built {
        compare_config(
            engine,
            &spec,
            &orig_text,
            &variants[0].config,
            &variants[1].config,
            &mut row,
        );
    }
    for (i, v) in variants.iter().enumerate().filter(|(_, v)| v.built) {
        match uid_of(engine, v, case) {
            Ok(uid) => row.uid[i] = Some(uid),
            Err(e) => row.fail(false, format!("uid of the {} image: {e}", v.name)),
        }
    }
    if spec.expect.non_root && variants[1].built {
        let user = variants[1]
            .config
            .get("User")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if compare::user_is_root(user) {
            row.fail(
                true,
                format!("expected a non-root final stage, Config.User is {user:?}"),
            );
        }
        if row.uid[1] == Some(0) {
            row.fail(
                true,
                "expected a non-root final stage, the rewritten image runs as uid 0".into(),
            );
        }
    }
    if spec.expect.smaller
        && let (Some(a), Some(b)) = (sizes[0], sizes[1])
        && b >= a
    {
        row.fail(
            true,
            format!("expected a smaller image: original {a} B, rewritten {b} B"),
        );
    }

    // 5. Touch a source file, rebuild both with the cache, and look for the install step.
    if std::env::var("RESTAGE_E2E_REBUILD").is_ok_and(|v| v == "0") {
        // Skipped on purpose (slow compiles): nothing about cache reuse is claimed.
        row.cache = ["not run".to_string(), "not run".to_string()];
        drop(images);
        return row;
    }
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let mut reuse = [None, None];
    for (i, v) in variants.iter().enumerate().filter(|(_, v)| v.built) {
        // A different line per variant and per run, so neither build can reuse the other's layers.
        if let Err(e) = append_edit(
            &v.dir.join(&spec.expect.edit),
            &format!("restage-e2e edit {} {stamp}", v.name),
        ) {
            row.fail(false, format!("editing {}: {e}", spec.expect.edit));
            continue;
        }
        let tag = format!("{}-edit", v.tag);
        images.tags.push(tag.clone());
        let build = engine.build(
            &v.dir,
            &tag,
            false,
            &logs.join(format!("rebuild-{}.log", v.name)),
            timeout,
        );
        row.rebuild_secs[i] = Some(build.secs);
        if let Some(why) = build.failure {
            row.fail(
                false,
                format!("{} image did not rebuild after the edit: {why}", v.name),
            );
            continue;
        }
        if let Some(step) = &spec.expect.cache_step {
            let (matching, cached) = build.steps.cached_matching(step);
            row.cache[i] = if matching == 0 {
                "no such step".to_string()
            } else if cached > 0 {
                format!("yes {cached}/{matching}")
            } else {
                format!("no 0/{matching}")
            };
            reuse[i] = Some(cached > 0);
        }
    }
    if spec.expect.cache_reuse && variants[1].built && reuse[1] != Some(true) {
        row.fail(
            true,
            format!(
                "expected the rewritten build to reuse the {:?} step after editing {}; it did not ({})",
                spec.expect.cache_step.as_deref().unwrap_or_default(),
                spec.expect.edit,
                row.cache[1]
            ),
        );
    }
    drop(images);
    row
}

fn restage(args: &[&str]) -> Exec {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_restage"));
    cmd.args(args);
    docker::exec(cmd, Duration::from_secs(120)).unwrap_or_else(|e| Exec {
        status: None,
        stdout: String::new(),
        stderr: format!("could not run restage: {e}"),
        elapsed: Duration::ZERO,
    })
}

/// Runs restage on the rewritten copy: the per-transform `--check --select`, the diff, `--write`,
/// then `--check` again (a rewritten file must be a fixed point).
fn rewrite(spec: &Spec, dockerfile: &Path, logs: &Path, row: &mut Row) {
    let path = dockerfile.to_string_lossy().into_owned();
    let unsafe_flag: &[&str] = if spec.expect.unsafe_fixes {
        &["--unsafe-fixes"]
    } else {
        &[]
    };
    let mut fired = BTreeSet::new();
    for id in TRANSFORM_IDS {
        let mut args = vec!["--check", "--select", id];
        args.extend_from_slice(unsafe_flag);
        args.push(&path);
        let x = restage(&args);
        match x.code() {
            Some(0) => {}
            Some(1) => {
                fired.insert(id.to_string());
            }
            _ => row.fail(
                false,
                format!("restage {}: {}", args.join(" "), x.describe()),
            ),
        }
    }
    row.fired = Some(fired.iter().cloned().collect());
    let expected = spec.expected_changes();
    if fired != expected {
        row.fail(
            true,
            format!("transforms that fired {fired:?}, expected {expected:?}"),
        );
    }

    let mut args: Vec<&str> = unsafe_flag.to_vec();
    args.push(&path);
    let diff = restage(&args);
    let _ = std::fs::write(logs.join("restage.diff"), &diff.stdout);

    let mut args = vec!["--write"];
    args.extend_from_slice(unsafe_flag);
    args.push(&path);
    let x = restage(&args);
    if !x.success() {
        row.fail(
            false,
            format!("restage {}: {}", args.join(" "), x.describe()),
        );
    }

    let mut args = vec!["--check"];
    args.extend_from_slice(unsafe_flag);
    args.push(&path);
    let x = restage(&args);
    if x.code() != Some(0) {
        row.fail(
            false,
            format!(
                "the rewritten file is not a fixed point: restage {}: {}",
                args.join(" "),
                x.describe()
            ),
        );
    }
}

/// Runs the spec's check against one image and returns its answer.
fn run_check(engine: &Engine, spec: &Spec, case: &str, v: &Variant) -> Result<String, String> {
    let name = docker::unique_name(&format!("restage-e2e-{case}-{}", v.name));
    let guard = ContainerGuard {
        engine,
        name: name.clone(),
    };
    let deadline = spec.check_timeout();
    match spec.check.kind {
        CheckKind::Command => {
            let mut args = vec!["run", "--rm", "--network", "none", "--name", &name];
            for e in &spec.check.env {
                args.extend(["-e", e.as_str()]);
            }
            args.push(&v.tag);
            args.extend(spec.check.args.iter().map(String::as_str));
            let x = engine.run(&args, deadline);
            if !x.success() {
                return Err(x.describe());
            }
            Ok(x.stdout)
        }
        CheckKind::Http => {
            let port = spec.check.port.expect("validated: http has a port");
            let path = spec
                .check
                .path
                .as_deref()
                .expect("validated: http has a path");
            let publish = format!("127.0.0.1::{port}");
            let mut args = vec!["run", "-d", "--name", &name, "-p", &publish];
            for e in &spec.check.env {
                args.extend(["-e", e.as_str()]);
            }
            args.push(&v.tag);
            let x = engine.run(&args, Duration::from_secs(60));
            if !x.success() {
                return Err(format!("docker run: {}", x.describe()));
            }
            let x = engine.run(
                &["port", &name, &format!("{port}/tcp")],
                Duration::from_secs(30),
            );
            let addr: SocketAddr = x
                .stdout
                .lines()
                .find_map(|l| l.trim().parse().ok())
                .ok_or_else(|| format!("docker port: {}", x.describe()))?;
            let start = Instant::now();
            let mut last = String::from("no attempt");
            while start.elapsed() < deadline {
                let state = engine.run(
                    &["inspect", "-f", "{{.State.Running}}", &name],
                    Duration::from_secs(30),
                );
                if state.stdout.trim() == "false" {
                    let logs = engine.run(&["logs", &name], Duration::from_secs(30));
                    return Err(format!(
                        "the container exited; logs: {}",
                        docker::tail(&(logs.stdout + &logs.stderr), 15)
                    ));
                }
                match http::get(addr, path, Duration::from_secs(5)) {
                    Ok(answer) => {
                        let want = spec.check.status.unwrap_or(200);
                        if answer.status != want {
                            return Err(format!(
                                "HTTP {} (expected {want}): {}",
                                answer.status,
                                clip(&answer.body)
                            ));
                        }
                        drop(guard);
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
                docker::tail(&(logs.stdout + &logs.stderr), 15)
            ))
        }
    }
}

fn compare_config(
    engine: &Engine,
    spec: &Spec,
    orig_text: &str,
    orig: &Value,
    new: &Value,
    row: &mut Row,
) {
    for field in COMPARED_CONFIG {
        if spec.expect.config_may_differ.iter().any(|f| f == field) {
            continue;
        }
        let (a, b) = (
            orig.get(*field).unwrap_or(&Value::Null),
            new.get(*field).unwrap_or(&Value::Null),
        );
        let same = match *field {
            "Cmd" | "Entrypoint" => {
                compare::normalized_command(a) == compare::normalized_command(b)
            }
            _ => a == b,
        };
        if !same {
            row.fail(
                false,
                format!("Config.{field} changed: original {a}, rewritten {b}"),
            );
        }
    }
    let base_env = match compare::final_base_image(orig_text) {
        Some(base) => engine
            .inspect(&base)
            .map(|info| info.pointer("/Config/Env").cloned().unwrap_or(Value::Null))
            .unwrap_or(Value::Null),
        None => Value::Null,
    };
    let own = compare::own_env(orig.get("Env").unwrap_or(&Value::Null), &base_env);
    let kept = compare::env_set(new.get("Env").unwrap_or(&Value::Null));
    let lost: Vec<&String> = own.difference(&kept).collect();
    if !lost.is_empty() {
        row.fail(
            false,
            format!("the rewritten image lost or changed ENV the Dockerfile sets: {lost:?}"),
        );
    }
}

/// The uid the image runs as: `id -u` inside it, or, for images without `id` (distroless), its
/// `Config.User` looked up in its /etc/passwd.
fn uid_of(engine: &Engine, v: &Variant, case: &str) -> Result<u32, String> {
    let x = engine.run(
        &[
            "run",
            "--rm",
            "--network",
            "none",
            "--entrypoint",
            "id",
            &v.tag,
            "-u",
        ],
        Duration::from_secs(60),
    );
    if x.success()
        && let Ok(uid) = x.stdout.trim().parse()
    {
        return Ok(uid);
    }
    let user = v
        .config
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
    let container = docker::unique_name(&format!("restage-e2e-{case}-passwd"));
    let _guard = ContainerGuard {
        engine,
        name: container.clone(),
    };
    let x = engine.run(
        &[
            "create",
            "--name",
            &container,
            &v.tag,
            "/restage-e2e-never-run",
        ],
        Duration::from_secs(60),
    );
    if !x.success() {
        return Err(format!("docker create: {}", x.describe()));
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
            x.describe()
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
fn append_edit(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default();
    let line = match ext {
        "rs" | "go" | "ts" | "js" | "mjs" | "cjs" | "java" | "c" | "h" | "kt" | "scala" => {
            format!("// {text}\n")
        }
        "html" | "xml" => format!("<!-- {text} -->\n"),
        _ => format!("# {text}\n"),
    };
    let mut file = std::fs::OpenOptions::new().append(true).open(path)?;
    file.write_all(line.as_bytes())
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let dest = to.join(entry.file_name());
        let kind = entry.file_type()?;
        if kind.is_symlink() {
            // Kept as a link, as BuildKit sends it.
            std::os::unix::fs::symlink(std::fs::read_link(entry.path())?, &dest)?;
        } else if kind.is_dir() {
            copy_dir(&entry.path(), &dest)?;
        } else {
            std::fs::copy(entry.path(), dest)?;
        }
    }
    Ok(())
}

fn clip(s: &str) -> String {
    let one_line = s.replace('\n', " ");
    if one_line.chars().count() > 300 {
        format!("{}...", one_line.chars().take(300).collect::<String>())
    } else {
        one_line
    }
}

/// The failures that fail a case, one line each: every invariant, and the targets unless
/// `warn` (`RESTAGE_E2E_EXPECT=warn`) only reports them.
pub fn failing_lines(failures: &[Failure], warn: bool) -> Vec<String> {
    failures
        .iter()
        .filter(|f| !f.target || !warn)
        .map(|f| {
            format!(
                "  - [{}] {}",
                if f.target { "target" } else { "invariant" },
                f.msg
            )
        })
        .collect()
}
