//! One real-engine case from start to end: copy the fixture twice, let restage rewrite one copy,
//! build both with BuildKit, run both, compare what they answer and what their image config
//! says, check the `[expect]` targets, then touch a source file and rebuild both to see whether
//! the dependency install step is reused. Every problem is collected into the case's row; nothing
//! stops at the first failure unless the next step cannot run without the previous one.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use restage::verify::compare::user_is_root;
use restage::verify::engine::{self, Engine, EngineKind, Exec};
use restage::verify::{self, InstallStep, Probe, ProbeKind, Rebuild, Report, Request};

use crate::report::{self, Row};
use crate::spec::{CheckKind, Spec, TRANSFORM_IDS};

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
        Engine::discover(EngineKind::Docker).map_err(|e| e.to_string())
    })
}

/// A failure is a broken invariant (hard) or a missed `[expect]` target, which
/// `RESTAGE_E2E_EXPECT=warn` reports without failing the test.
#[derive(Clone, Debug)]
pub struct Failure {
    pub target: bool,
    pub msg: String,
}

/// The body of one case's trial.
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

fn run_case(engine: &Engine, case: &str) -> Row {
    let fixture = fixtures_dir().join(case);
    run_case_in(engine, case, &fixture, Spec::load(&fixture))
}

/// The probe `restage verify` runs for a spec's `[check]`.
pub fn probe_of(spec: &Spec) -> Probe {
    let kind = match spec.check.kind {
        CheckKind::Http => ProbeKind::Http {
            port: spec.check.port.expect("validated: http has a port"),
            path: spec.check.path.clone().expect("validated: http has a path"),
        },
        CheckKind::Command => ProbeKind::Run {
            args: spec.check.args.clone(),
        },
    };
    Probe {
        status: match kind {
            ProbeKind::Http { .. } => Some(spec.check.status.unwrap_or(200)),
            _ => None,
        },
        kind,
        expect: Some(spec.check.expect.clone()),
        env: spec.check.env.clone(),
        timeout: spec.check_timeout(),
        up_secs: 5,
    }
}

/// Runs one case whose build context is `fixture` (never changed) with `spec`: restage rewrites a
/// copy (which transforms fire, the diff, `--write`, the fixed point), then `restage verify`'s
/// library builds, runs and compares the original and the rewrite, and the spec's targets are
/// checked on its report. The real projects use this with contexts prepared outside the
/// repository.
pub fn run_case_in(engine: &Engine, case: &str, fixture: &Path, spec: Result<Spec, String>) -> Row {
    let mut row = Row::new(case);
    let spec = match spec {
        Ok(spec) => spec,
        Err(e) => {
            row.fail(false, e);
            return row;
        }
    };
    let logs = case_log_dir(&target_dir(), case);
    let tmp = match tempfile::Builder::new().prefix("restage-e2e-").tempdir() {
        Ok(t) => t,
        Err(e) => {
            row.fail(false, format!("temp dir: {e}"));
            return row;
        }
    };
    let copy = tmp.path().join("rewritten");
    if let Err(e) = verify::copy_dir(fixture, &copy) {
        row.fail(false, format!("copying the fixture: {e}"));
        return row;
    }

    // 1. restage: which transforms fire, the diff, --write, and the fixed point.
    let new_df = copy.join(&spec.dockerfile);
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
    let orig_text = std::fs::read_to_string(fixture.join(&spec.dockerfile)).unwrap_or_default();
    let new_text = std::fs::read_to_string(&new_df).unwrap_or_default();
    row.changed = Some(orig_text != new_text);

    // 2. restage verify, with the spec's probe and rebuild (unless RESTAGE_E2E_REBUILD=0), from
    // scratch unless RESTAGE_E2E_CACHE=1, so the build times compare.
    let rebuild = if std::env::var("RESTAGE_E2E_REBUILD").is_ok_and(|v| v == "0") {
        None
    } else {
        Some(Rebuild {
            edit: PathBuf::from(&spec.expect.edit),
            install: match &spec.expect.cache_step {
                Some(step) => InstallStep::Containing(step.clone()),
                None => InstallStep::Known(Box::new(
                    restage::knowledge::Knowledge::builtin().expect("built-in knowledge loads"),
                )),
            },
        })
    };
    let request = Request {
        label: case.to_string(),
        context: fixture.to_path_buf(),
        dockerfile: fixture.join(&spec.dockerfile),
        original_text: orig_text,
        rewritten_text: new_text,
        probe: probe_of(&spec),
        rebuild,
        no_cache: !env_flag("RESTAGE_E2E_CACHE"),
        build_timeout: Duration::from_secs(
            std::env::var("RESTAGE_E2E_BUILD_TIMEOUT")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(900),
        ),
        memory: "4g".to_string(),
        may_differ: spec.expect.config_may_differ.clone(),
        log_dir: Some(logs.clone()),
        keep_images: env_flag("RESTAGE_E2E_KEEP_IMAGES"),
    };
    let report = verify::verify(engine, &request);
    fill_row(&mut row, &spec, &report);
    row
}

/// The table row and the failures of a case from verify's report and the spec's targets.
pub fn fill_row(row: &mut Row, spec: &Spec, report: &Report) {
    let sides = [&report.original, &report.rewritten];
    for (i, side) in sides.iter().enumerate() {
        row.build_secs[i] = side.build_secs;
        row.size_mb[i] = side.size.map(|b| b as f64 / 1e6);
        row.uid[i] = side.uid;
        row.rebuild_secs[i] = side.rebuild_secs;
        row.cache[i] = match (side.install_cached, &report.rebuild_edit) {
            (_, None) => "not run".to_string(),
            (None, Some(_)) => "-".to_string(),
            (Some((0, _)), _) => "no such step".to_string(),
            (Some((n, k)), _) if k > 0 => format!("yes {k}/{n}"),
            (Some((n, _)), _) => format!("no 0/{n}"),
        };
    }
    row.run = match (&report.original.answer, &report.rewritten.answer) {
        (Some(a), Some(b)) if a == b => "same".to_string(),
        (Some(_), Some(_)) => "DIFFERENT".to_string(),
        (Some(_), None) => "rewritten FAILED".to_string(),
        (None, Some(_)) => "original FAILED".to_string(),
        (None, None) => "both FAILED".to_string(),
    };
    if let Some(why) = &report.cannot {
        row.fail(false, format!("cannot verify: {why}"));
    }
    for d in &report.differences {
        row.fail(false, d.clone());
    }
    let rewritten = &report.rewritten;
    if spec.expect.non_root && rewritten.built {
        let user = rewritten
            .config
            .get("User")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default();
        if user_is_root(user) {
            row.fail(
                true,
                format!("expected a non-root final stage, Config.User is {user:?}"),
            );
        }
        if rewritten.uid == Some(0) {
            row.fail(
                true,
                "expected a non-root final stage, the rewritten image runs as uid 0".into(),
            );
        }
    }
    if spec.expect.smaller
        && let (Some(a), Some(b)) = (report.original.size, rewritten.size)
        && b >= a
    {
        row.fail(
            true,
            format!("expected a smaller image: original {a} B, rewritten {b} B"),
        );
    }
    if spec.expect.cache_reuse
        && rewritten.built
        && report.rebuild_edit.is_some()
        && !matches!(rewritten.install_cached, Some((n, k)) if n > 0 && k > 0)
    {
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
}

/// Where a case keeps its logs: `<target>/e2e/<case>/`.
pub fn case_log_dir(target: &Path, case: &str) -> PathBuf {
    let dir = target.join("e2e").join(case);
    let _ = std::fs::create_dir_all(&dir);
    dir
}

fn restage(args: &[&str]) -> Exec {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_restage"));
    cmd.args(args);
    engine::exec(cmd, Duration::from_secs(120)).unwrap_or_else(|e| Exec {
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
