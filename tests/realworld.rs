//! The real-world scan tier. `../shared/realworld/` (beside the repository) holds thousands of
//! Dockerfiles written by other people and `scan.sh`, which copies each into a folder of its own and
//! runs restage `--check`, `--write` and `--check` again over them, then asks BuildKit's own parser
//! (PyPI `dockerfile`) about every rewrite. This tier runs that scan with the binary under test,
//! once with the default flags and once with `--unsafe-fixes` (which rewrites hundreds more files),
//! and fails when restage:
//! - panics, crashes or reports an internal error;
//! - still changes a file after `--write` (not idempotent);
//! - writes a file BuildKit's parser rejects although it accepted the original;
//! - reports an error on a file that is a valid Dockerfile (see `GENUINE_INVALID`);
//! - produces a known breaker (`scripts/breakers.py`: shapes that broke real builds).
//!
//! Knobs:
//! - `RESTAGE_REALWORLD=0`: skip on purpose (a loud SKIPPED line, nothing proven).
//! - `RESTAGE_REALWORLD_REQUIRE=1`: fail instead of skipping when the folder is missing (`.ci/run`
//!   sets it when `../shared/realworld` exists).
//! - `RESTAGE_REALWORLD_DIR`: another folder laid out the same way (`scan.sh` + `dockerfiles/`),
//!   e.g. a trimmed copy.
//! - `RESTAGE_REALWORLD_TIMEOUT` (seconds per scan, default 1200).
//! - `ORACLE_VENV`: where scan.sh keeps BuildKit's parser (default `/tmp/oracle-venv`).
//!
//! It uses the debug binary `cargo test` builds: restage itself takes seconds of a scan; copying
//! the files and running the parser take the rest, so a release build would not make it faster.
//! Results: printed (visible with `--nocapture`, and on failure), and written to
//! `target/realworld-report.txt`. On failure the work folders are kept and their paths printed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Error messages that are genuine "this is not a valid Dockerfile" verdicts which BuildKit also
/// gives, in its instruction parser (run by `docker build`), not in the line parser the PyPI
/// package exposes. An error restage reports on a file BuildKit's line parser accepts must start
/// with one of these (after `invalid Dockerfile: `); any other message fails the tier.
const GENUINE_INVALID: &[&str] = &[
    // `FROM image something` where the third word is not AS.
    "expected AS",
    // `COPY src` with no destination.
    "COPY instruction requires at least two arguments",
    // A line that starts with a word that is no instruction (a continuation lost, `...`).
    "unknown instruction",
    // Trailing words after a complete `FROM image AS name`.
    "expected newline or eof",
    // `FROM` alone.
    "FROM instruction requires at least one argument",
];

/// Writes to the real stderr, past libtest's output capture, so progress and SKIPPED lines show.
fn loud(msg: &str) {
    let _ = writeln!(std::io::stderr(), "{msg}");
}

fn env_is(name: &str, value: &str) -> bool {
    std::env::var(name)
        .is_ok_and(|v| v == value || (value == "1" && v.eq_ignore_ascii_case("true")))
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn realworld_dir() -> PathBuf {
    match std::env::var_os("RESTAGE_REALWORLD_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => repo_root().join("../shared/realworld"),
    }
}

fn oracle_venv() -> PathBuf {
    match std::env::var_os("ORACLE_VENV") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => PathBuf::from("/tmp/oracle-venv"),
    }
}

fn timeout() -> Duration {
    let secs = std::env::var("RESTAGE_REALWORLD_TIMEOUT")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(1200);
    Duration::from_secs(secs)
}

/// Output of a finished command (stdout and stderr together) and how it ended.
struct Ran {
    code: Option<i32>,
    output: String,
    elapsed: Duration,
}

/// Runs `cmd` in a process group of its own with its output in a temporary file, killing the whole
/// group when `limit` passes (a hung restage must fail the tier, not hang CI).
fn run(mut cmd: Command, limit: Duration) -> Ran {
    use std::io::{Read, Seek, SeekFrom};
    use std::os::unix::process::CommandExt;
    let mut file = tempfile::tempfile().expect("a temporary file");
    cmd.stdin(Stdio::null())
        .stdout(file.try_clone().expect("a file handle"))
        .stderr(file.try_clone().expect("a file handle"))
        .process_group(0);
    let start = Instant::now();
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let code = loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            break status.code();
        }
        if start.elapsed() >= limit {
            let pgid = child.id() as i32;
            // SAFETY: kill(2) on the process group this test created; no memory is shared.
            unsafe {
                libc::kill(-pgid, libc::SIGKILL);
            }
            let _ = child.wait();
            panic!(
                "{cmd:?} did not finish within {}s (RESTAGE_REALWORLD_TIMEOUT)",
                limit.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut bytes = Vec::new();
    file.seek(SeekFrom::Start(0)).expect("rewind");
    file.read_to_end(&mut bytes).expect("read output");
    Ran {
        code,
        output: String::from_utf8_lossy(&bytes).into_owned(),
        elapsed: start.elapsed(),
    }
}

/// The number after `prefix` on the line that starts with it.
fn number_after(output: &str, prefix: &str) -> Option<u64> {
    let line = output.lines().find(|l| l.starts_with(prefix))?;
    let rest = line[prefix.len()..].trim_start();
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

/// One scan: its flags, work folder, numbers and the problems found.
struct Scan {
    mode: &'static str,
    work: tempfile::TempDir,
    lines: Vec<String>,
    problems: Vec<String>,
}

/// `(file folder name, message)` of every `: error: ` line restage printed in the scan.
fn error_lines(work: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for name in ["check1.err", "write.err", "check2.err"] {
        let text = std::fs::read_to_string(work.join(name)).unwrap_or_default();
        for line in text.lines() {
            if let Some((path, message)) = line.split_once(": error: ") {
                let folder = path.split('/').next().unwrap_or(path).to_string();
                out.push((folder, message.to_string()));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The folders (of `names`) whose original Dockerfile BuildKit's parser rejects.
fn rejected_by_buildkit(work: &Path, names: &[String]) -> Result<Vec<String>, String> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let script = "import os, sys, dockerfile\n\
                  w = sys.argv[1]\n\
                  for d in sys.argv[2:]:\n\
                  \x20   try: dockerfile.parse_file(os.path.join(w, 'orig', d, 'Dockerfile'))\n\
                  \x20   except Exception: print(d)\n";
    let mut cmd = Command::new(oracle_venv().join("bin/python"));
    cmd.arg("-c").arg(script).arg(work).args(names);
    let ran = run(cmd, Duration::from_secs(300));
    if ran.code != Some(0) {
        return Err(format!(
            "BuildKit's parser (venv {}) failed: {}",
            oracle_venv().display(),
            ran.output
        ));
    }
    Ok(ran.output.lines().map(str::to_string).collect())
}

/// Creates BuildKit's parser venv the way scan.sh does (same package pin, read from scan.sh), so the
/// two scans that run side by side do not both create it at once on a fresh machine. When this
/// fails (no PyPI), the scans report that the parser did not run.
fn prepare_oracle(dir: &Path) {
    let venv = oracle_venv();
    let python = venv.join("bin/python");
    let ready = || {
        Command::new(&python)
            .args(["-c", "import dockerfile"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if ready() {
        return;
    }
    let text = std::fs::read_to_string(dir.join("scan.sh")).unwrap_or_default();
    let Some(pin) = text
        .split_whitespace()
        .find(|w| w.starts_with("dockerfile=="))
    else {
        return;
    };
    loud(&format!(
        "[realworld] installing {pin} (BuildKit's parser) into {}",
        venv.display()
    ));
    let mut cmd = Command::new("python3");
    cmd.args(["-m", "venv"]).arg(&venv);
    let made = run(cmd, Duration::from_secs(300));
    if made.code == Some(0) {
        let mut cmd = Command::new(venv.join("bin/pip"));
        cmd.args(["install", "-q", pin]);
        let installed = run(cmd, Duration::from_secs(600));
        if installed.code != Some(0) {
            loud(&format!(
                "[realworld] pip install {pin} failed: {}",
                installed.output
            ));
        }
    }
}

fn scan(dir: &Path, mode: &'static str, flags: &[&str]) -> Scan {
    let work = tempfile::Builder::new()
        .prefix(&format!("restage-realworld-{mode}-"))
        .tempdir()
        .expect("a temporary work folder");
    let mut cmd = Command::new("bash");
    cmd.arg(dir.join("scan.sh"))
        .arg(env!("CARGO_BIN_EXE_restage"))
        .args(flags)
        .env("SCAN_DIR", work.path())
        .env("ORACLE_VENV", oracle_venv());
    loud(&format!(
        "[realworld] {mode}: scanning into {}",
        work.path().display()
    ));
    let ran = run(cmd, timeout());
    let mut problems = Vec::new();
    let mut lines = vec![format!(
        "== {mode}: restage {} — scan took {:.0}s",
        if flags.is_empty() {
            "with default flags".to_string()
        } else {
            flags.join(" ")
        },
        ran.elapsed.as_secs_f64()
    )];
    let out = &ran.output;
    // The scan's own summary, all of it but the work folder's path.
    lines.extend(
        out.lines()
            .filter(|l| !l.starts_with("work folder:"))
            .map(str::to_string),
    );
    if ran.code != Some(0) {
        problems.push(format!("scan.sh exited with {:?}", ran.code));
    }

    let expected = std::fs::read_dir(dir.join("dockerfiles"))
        .map(|d| d.count() as u64)
        .unwrap_or(0);
    match number_after(out, "files:") {
        Some(n) if n == expected && n > 0 => {}
        n => problems.push(format!(
            "scan.sh scanned {n:?} files, {expected} expected in {}",
            dir.join("dockerfiles").display()
        )),
    }
    // restage exits 0, 1 (--check found changes) or 2 (an error in some file); anything else is a
    // crash (101 = panic, none = a signal such as a stack overflow's abort).
    if let Some(line) = out.lines().find(|l| l.starts_with("files:")) {
        for (step, key) in [("--check", "check "), ("--write", "write ")] {
            let code = line.split(key).nth(1).map(|s| {
                s.chars()
                    .take_while(|c| c.is_ascii_digit())
                    .collect::<String>()
            });
            if !matches!(code.as_deref(), Some("0" | "1" | "2")) {
                problems.push(format!(
                    "restage {step} exited with {} ({line})",
                    code.as_deref().unwrap_or("nothing")
                ));
            }
        }
    }
    let mut count = |prefix: &str, what: &str| match number_after(out, prefix) {
        Some(0) => {}
        Some(n) => problems.push(format!("{what}: {n}")),
        None => problems.push(format!("scan.sh printed no `{prefix}` line")),
    };
    count("panics / internal errors:", "panics / internal errors");
    count(
        "still changing after --write:",
        "files still changing after --write (not idempotent; see check2.diff)",
    );
    match out.lines().find(|l| l.starts_with("BuildKit's parser:")) {
        Some(l) if l.contains(" 0 rewritten files rejected") => {}
        Some(l) => problems.push(format!("rewritten files BuildKit's parser rejects: {l}")),
        None => problems.push(format!(
            "BuildKit's parser did not run (scan.sh creates its venv at {} with pip from PyPI)",
            oracle_venv().display()
        )),
    }

    // Every error must be a file BuildKit rejects too, or a genuine invalid-Dockerfile verdict.
    let errors = error_lines(work.path());
    let mut names: Vec<String> = errors.iter().map(|(f, _)| f.clone()).collect();
    names.dedup();
    match rejected_by_buildkit(work.path(), &names) {
        Err(e) => problems.push(e),
        Ok(rejected) => {
            let (mut on_rejected, mut verdicts, mut false_errors) = (0, 0, 0);
            for (file, message) in &errors {
                let genuine = message
                    .strip_prefix("invalid Dockerfile: ")
                    .is_some_and(|m| GENUINE_INVALID.iter().any(|g| m.starts_with(g)));
                if rejected.contains(file) {
                    on_rejected += 1;
                } else if genuine {
                    verdicts += 1;
                } else {
                    false_errors += 1;
                    problems.push(format!(
                        "error on a file BuildKit's parser accepts, with a message not in \
                         GENUINE_INVALID: {file}: {message}"
                    ));
                }
            }
            lines.push(format!(
                "error lines: {} ({on_rejected} on files BuildKit's parser rejects, {verdicts} \
                 genuine invalid-Dockerfile verdicts, {false_errors} false)",
                errors.len()
            ));
        }
    }

    // The breaker checks themselves: each written case fires or stays quiet as it must.
    let mut cmd = Command::new("python3");
    cmd.arg(repo_root().join("scripts/breakers.py"))
        .arg("--self-test");
    let self_test = run(cmd, Duration::from_secs(60));
    lines.extend(
        self_test
            .output
            .lines()
            .map(|l| format!("breakers.py self-test: {l}")),
    );
    if self_test.code != Some(0) {
        problems.push(format!(
            "scripts/breakers.py --self-test failed ({:?}):\n{}",
            self_test.code,
            self_test.output.trim_end()
        ));
    }

    // Known breakers over the rewrites.
    let mut cmd = Command::new("python3");
    cmd.arg(repo_root().join("scripts/breakers.py"))
        .arg(work.path());
    let breakers = run(cmd, Duration::from_secs(600));
    lines.extend(breakers.output.lines().map(str::to_string));
    match breakers.code {
        Some(0) => {}
        Some(1) => {
            problems.push(format!(
                "scripts/breakers.py found known breakers (python3 scripts/breakers.py {} \
                 --show 1000 lists them all):\n{}",
                work.path().display(),
                breakers.output.trim_end()
            ));
        }
        code => problems.push(format!(
            "scripts/breakers.py failed ({code:?}):\n{}",
            breakers.output
        )),
    }
    Scan {
        mode,
        work,
        lines,
        problems,
    }
}

#[test]
fn realworld_scan() {
    if env_is("RESTAGE_REALWORLD", "0") {
        loud("SKIPPED: RESTAGE_REALWORLD=0; the real-world scan was NOT run and proves nothing");
        return;
    }
    let dir = realworld_dir();
    if !dir.join("scan.sh").is_file() {
        let shown = dir
            .display()
            .to_string()
            .replace(&format!("{}/", repo_root().display()), "");
        loud(&format!(
            "SKIPPED: {shown} not found; the real-world scan was NOT run and proves nothing"
        ));
        if env_is("RESTAGE_REALWORLD_REQUIRE", "1") {
            panic!(
                "RESTAGE_REALWORLD_REQUIRE=1 but {} has no scan.sh",
                dir.display()
            );
        }
        return;
    }
    let start = Instant::now();
    prepare_oracle(&dir);
    // Both scans at once: most of a scan is process start-up (copying) and waiting.
    let scans: Vec<Scan> = std::thread::scope(|s| {
        let default = s.spawn(|| scan(&dir, "default", &[]));
        let unsafe_fixes = s.spawn(|| scan(&dir, "unsafe-fixes", &["--unsafe-fixes"]));
        vec![
            default.join().expect("default scan"),
            unsafe_fixes.join().expect("unsafe-fixes scan"),
        ]
    });

    let mut report = format!(
        "real-world scan of {} ({:.0}s in all)\n",
        dir.display(),
        start.elapsed().as_secs_f64()
    );
    for s in &scans {
        report.push_str(&s.lines.join("\n"));
        report.push('\n');
        if s.problems.is_empty() {
            report.push_str(&format!("{}: PASS\n", s.mode));
        } else {
            report.push_str(&format!(
                "{}: FAIL ({} problem(s); work folder kept: {})\n",
                s.mode,
                s.problems.len(),
                s.work.path().display()
            ));
        }
    }
    println!("{report}");
    let target = repo_root().join("target");
    let _ = std::fs::create_dir_all(&target);
    let _ = std::fs::write(target.join("realworld-report.txt"), &report);

    let mut failures = String::new();
    for s in scans {
        if s.problems.is_empty() {
            continue;
        }
        failures.push_str(&format!(
            "\n--- {} ---\n{}\n",
            s.mode,
            s.problems.join("\n")
        ));
        // Keep the rewrites to read: orig/, out/, check1.err, check2.diff.
        let _ = s.work.keep();
    }
    assert!(
        failures.is_empty(),
        "the real-world scan found problems (report: target/realworld-report.txt):{failures}"
    );
}
