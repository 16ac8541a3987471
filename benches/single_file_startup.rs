//! The single-file benchmark: `cargo bench --bench single_file_startup`.
//!
//! What an editor or a pre-commit hook pays: the release binary on one small Dockerfile with its
//! build context (`restage --check -q Dockerfile` in a small Node project), run many times (200 by
//! default, `-- --runs N` to change it) after a few warm-up runs. Prints the p10, median and p90
//! wall time (p10: the runs that found a CPU free), the median CPU time and the largest peak RSS (from `wait4`, so each child's own), next to
//! the cost of starting a process at all (`true`) and, when `hadolint` is on PATH, hadolint on the
//! same file. Then what an editor pays per keystroke once the server runs: `restage lsp` gets the
//! same file opened and then changed as many times, and each change is timed from sending
//! `didChange` to receiving its diagnostics (and the server's peak RSS at the end). Run without
//! `--bench` (as `cargo test --benches` does) it runs restage once and checks its output, and
//! drives the server through a few changes, without timing.

#[path = "common/wait.rs"]
mod wait;

use std::io::{BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_restage");
const DEFAULT_RUNS: usize = 200;
const WARM_UP: usize = 5;

const DOCKERFILE: &str =
    "FROM node:20-slim\nWORKDIR /app\nCOPY . .\nRUN npm ci\nCMD node server.js\n";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let result = if args.iter().any(|a| a == "--bench") {
        let runs = args
            .iter()
            .position(|a| a == "--runs")
            .and_then(|i| args.get(i + 1))
            .and_then(|n| n.parse().ok())
            .unwrap_or(DEFAULT_RUNS);
        bench(runs)
    } else {
        smoke()
    };
    if let Err(e) = result {
        eprintln!("single-file bench: FAILED: {e}");
        std::process::exit(1);
    }
}

type Res<T> = Result<T, String>;

/// A small Node project: the Dockerfile and the build-context files restage reads.
fn project() -> Res<tempfile::TempDir> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let files = [
        ("Dockerfile", DOCKERFILE),
        (
            "package.json",
            "{\n  \"name\": \"api\",\n  \"version\": \"1.0.0\",\n  \"main\": \"server.js\",\n  \"dependencies\": {\"express\": \"4.19.2\"}\n}\n",
        ),
        (
            "package-lock.json",
            "{\n  \"name\": \"api\",\n  \"version\": \"1.0.0\",\n  \"lockfileVersion\": 3,\n  \"requires\": true,\n  \"packages\": {}\n}\n",
        ),
        ("server.js", "require('express')().listen(3000);\n"),
        (".dockerignore", "node_modules\n.git\n"),
    ];
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).map_err(|e| format!("{name}: {e}"))?;
    }
    Ok(dir)
}

/// One finished child.
struct Run {
    wall: Duration,
    code: i32,
    cpu: Duration,
    /// Peak resident set, in bytes.
    max_rss: u64,
}

/// Runs `program args` in `cwd` once and waits for it with `wait4` (its own rusage).
fn run_once(program: &Path, args: &[&str], cwd: &Path) -> Res<Run> {
    let start = Instant::now();
    let child = Command::new(program)
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("starting {}: {e}", program.display()))?;
    let (status, usage) =
        wait::wait4(&child).map_err(|err| format!("waiting for {}: {err}", program.display()))?;
    let wall = start.elapsed();
    drop(child);
    if libc::WIFSIGNALED(status) {
        return Err(format!(
            "{} was killed by signal {}",
            program.display(),
            libc::WTERMSIG(status)
        ));
    }
    // ru_maxrss is in KiB on Linux, in bytes on macOS.
    let rss_unit: u64 = if cfg!(target_os = "macos") { 1 } else { 1024 };
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    Ok(Run {
        wall,
        code: libc::WEXITSTATUS(status),
        cpu: time(usage.ru_utime) + time(usage.ru_stime),
        max_rss: usage.ru_maxrss as u64 * rss_unit,
    })
}

/// The figures of many runs.
struct Timing {
    p10: Duration,
    median: Duration,
    p90: Duration,
    cpu_median: Duration,
    max_rss: u64,
}

fn timed(program: &Path, args: &[&str], cwd: &Path, runs: usize, allowed: &[i32]) -> Res<Timing> {
    for _ in 0..WARM_UP {
        run_once(program, args, cwd)?;
    }
    let mut walls = Vec::with_capacity(runs);
    let mut cpus = Vec::with_capacity(runs);
    let mut max_rss = 0;
    for _ in 0..runs {
        let r = run_once(program, args, cwd)?;
        if !allowed.contains(&r.code) {
            return Err(format!(
                "{} {} exited {}",
                program.display(),
                args.join(" "),
                r.code
            ));
        }
        walls.push(r.wall);
        cpus.push(r.cpu);
        max_rss = max_rss.max(r.max_rss);
    }
    walls.sort();
    cpus.sort();
    Ok(Timing {
        p10: percentile(&walls, 10),
        median: percentile(&walls, 50),
        p90: percentile(&walls, 90),
        cpu_median: percentile(&cpus, 50),
        max_rss,
    })
}

/// The `pct`th percentile of sorted values (nearest rank).
fn percentile(sorted: &[Duration], pct: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (pct * sorted.len()).div_ceil(100).max(1);
    sorted[rank - 1]
}

/// `name` on PATH.
fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn row(label: &str, t: &Timing) -> String {
    format!(
        "| {label} | {} | {} | {} | {} | {} |\n",
        ms(t.p10),
        ms(t.median),
        ms(t.p90),
        ms(t.cpu_median),
        mib(t.max_rss)
    )
}

fn bench(runs: usize) -> Res<()> {
    let dir = project()?;
    let cwd = dir.path();
    let bin = Path::new(BIN);
    let args = ["--check", "-q", "Dockerfile"];
    // --check exits 1: the file would change.
    let restage = timed(bin, &args, cwd, runs, &[1])?;
    let floor = match on_path("true") {
        Some(t) => Some(timed(&t, &[], cwd, runs, &[0])?),
        None => None,
    };
    let hadolint = match on_path("hadolint") {
        // hadolint exits 1 when it finds something.
        Some(h) => Some(timed(&h, &["Dockerfile"], cwd, runs, &[0, 1])?),
        None => None,
    };
    let version = Command::new(BIN)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".to_string());
    let mut out = format!(
        "{version}, release build, {cpus} CPUs, load average {load}; {runs} runs after {WARM_UP} warm-up runs\n\n\
         | command | p10 wall | median wall | p90 wall | median CPU | peak RSS |\n|---|---|---|---|---|---|\n"
    );
    out.push_str(&row("`restage --check -q Dockerfile`", &restage));
    match &hadolint {
        Some(t) => out.push_str(&row("`hadolint Dockerfile`", t)),
        None => out.push_str("| `hadolint Dockerfile` | not installed | | | | |\n"),
    }
    if let Some(t) = &floor {
        out.push_str(&row("`true` (starting a process)", t));
    }
    let (lsp, lsp_rss) = lsp_round_trips(cwd, runs)?;
    out.push_str(&format!(
        "| `restage lsp`: `didChange` to its diagnostics | {} | {} | {} | | {} |\n",
        ms(percentile(&lsp, 10)),
        ms(percentile(&lsp, 50)),
        ms(percentile(&lsp, 90)),
        mib(lsp_rss)
    ));
    println!("{out}");
    Ok(())
}

/// `restage lsp` in `cwd`: the Dockerfile opened, then changed `runs` times (after the warm-up);
/// the sorted round trips from `didChange` to its `publishDiagnostics`, and the server's peak RSS.
fn lsp_round_trips(cwd: &Path, runs: usize) -> Res<(Vec<Duration>, u64)> {
    use lsp_server::{Message, Notification, Request, RequestId};
    use serde_json::json;
    let mut child = Command::new(BIN)
        .arg("lsp")
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("starting restage lsp: {e}"))?;
    let mut stdin = child.stdin.take().ok_or("no stdin")?;
    let mut stdout = BufReader::new(child.stdout.take().ok_or("no stdout")?);
    let mut send = move |m: Message| -> Res<()> {
        m.write(&mut stdin).map_err(|e| e.to_string())?;
        stdin.flush().map_err(|e| e.to_string())
    };
    let mut receive = || -> Res<Message> {
        Message::read(&mut stdout)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| "restage lsp closed its output".to_string())
    };
    let notify = |method: &str, params: serde_json::Value| {
        Message::Notification(Notification::new(method.to_string(), params))
    };
    send(Message::Request(Request::new(
        RequestId::from(1),
        "initialize".to_string(),
        json!({"capabilities": {}}),
    )))?;
    receive()?;
    send(notify("initialized", json!({})))?;
    let uri = format!("file://{}/Dockerfile", cwd.display());
    send(notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "dockerfile", "version": 0, "text": DOCKERFILE}}),
    ))?;
    receive()?;
    let mut times = Vec::with_capacity(runs);
    for version in 1..=(WARM_UP + runs) {
        // An edit as a keystroke makes it: a comment growing at the end.
        let text = format!("{DOCKERFILE}# {}\n", "x".repeat(version % 7));
        let start = Instant::now();
        send(notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": text}]}),
        ))?;
        match receive()? {
            Message::Notification(n) if n.method == "textDocument/publishDiagnostics" => {}
            other => return Err(format!("expected diagnostics, got {other:?}")),
        }
        if version > WARM_UP {
            times.push(start.elapsed());
        }
    }
    send(Message::Request(Request::new(
        RequestId::from(2),
        "shutdown".to_string(),
        json!(null),
    )))?;
    receive()?;
    send(notify("exit", json!(null)))?;
    drop(send); // closes stdin
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our child, not yet waited for; the pointers are to live locals.
    if unsafe { libc::wait4(pid, &mut status, 0, &mut usage) } != pid {
        return Err(format!(
            "waiting for restage lsp: {}",
            std::io::Error::last_os_error()
        ));
    }
    drop(child);
    let rss_unit: u64 = if cfg!(target_os = "macos") { 1 } else { 1024 };
    times.sort();
    Ok((times, usage.ru_maxrss as u64 * rss_unit))
}

/// Without `--bench`: one run, its exit code and its output checked.
fn smoke() -> Res<()> {
    let dir = project()?;
    let out = Command::new(BIN)
        .args(["--check", "Dockerfile"])
        .current_dir(dir.path())
        .output()
        .map_err(|e| e.to_string())?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let expected = "restage: 1 file: 1 would change, 0 unchanged";
    if out.status.code() != Some(1) || !stderr.contains(expected) {
        return Err(format!(
            "expected exit 1 and `{expected}`, got {:?}: {stderr}",
            out.status.code()
        ));
    }
    lsp_round_trips(dir.path(), 3)?;
    println!(
        "single-file bench (smoke): restage checked the project and restage lsp answered; run with `cargo bench --bench single_file_startup` to time it"
    );
    Ok(())
}
