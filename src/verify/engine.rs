//! Talking to a container engine through its CLI: discovery with a real BuildKit build as the
//! probe, bounded-time commands, builds with their plain progress log, image inspection, and
//! guards that remove containers and images even on a panic or Ctrl-C.
//!
//! Docker: `$RESTAGE_DOCKER` (default `docker`), honouring `DOCKER_HOST` and the current buildx
//! builder: `docker buildx build --load` when the buildx plugin answers, else `docker build` with
//! `DOCKER_BUILDKIT=1` (the builder built into the daemon). Podman: `$RESTAGE_PODMAN` (default
//! `podman`), `podman build`.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The output of a command that ran to completion or was killed at its deadline.
pub struct Exec {
    /// `None` when the deadline passed and the command was killed.
    pub status: Option<ExitStatus>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Exec {
    pub fn success(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }

    pub fn code(&self) -> Option<i32> {
        self.status.and_then(|s| s.code())
    }

    /// A one-line description of how it ended plus the tail of its output, for failure messages.
    pub fn describe(&self) -> String {
        let how = match self.status {
            None => format!("timed out after {:.0} s", self.elapsed.as_secs_f64()),
            Some(s) => format!("exited with {s}"),
        };
        format!(
            "{how}; stdout: {}; stderr: {}",
            tail(&self.stdout, 12),
            tail(&self.stderr, 12)
        )
    }
}

/// The last `lines` lines of `text`, on one line each separated by ` | `.
pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = all.len().saturating_sub(lines);
    let joined = all[start..].join(" | ");
    if joined.is_empty() {
        "(empty)".to_string()
    } else {
        joined
    }
}

/// The line of a failed command's output that says why: the first line mentioning an error, else
/// the last non-empty line.
pub fn reason_line(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines
        .iter()
        .find(|l| l.to_ascii_lowercase().contains("error"))
        .or(lines.last())
        .map_or_else(|| "(no output)".to_string(), |l| l.to_string())
}

/// Runs `cmd` with stdout and stderr captured in temporary files (no pipe can fill up), killing it
/// when `timeout` passes.
pub fn exec(mut cmd: Command, timeout: Duration) -> std::io::Result<Exec> {
    if INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst) && !CLEANING.with(|c| c.get()) {
        // Ctrl-C: start nothing new; the cleanup thread removes what exists and exits.
        loop {
            std::thread::sleep(Duration::from_secs(60));
        }
    }
    let mut out = tempfile::tempfile()?;
    let mut err = tempfile::tempfile()?;
    cmd.stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(err.try_clone()?);
    let start = Instant::now();
    let mut child = cmd.spawn()?;
    let pid = child.id();
    if let Ok(mut c) = CHILDREN.lock() {
        c.push(pid);
    }
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if start.elapsed() >= timeout {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    if let Ok(mut c) = CHILDREN.lock() {
        c.retain(|p| *p != pid);
    }
    if INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst) && !CLEANING.with(|c| c.get()) {
        loop {
            std::thread::sleep(Duration::from_secs(60));
        }
    }
    let elapsed = start.elapsed();
    Ok(Exec {
        status,
        stdout: read_all(&mut out)?,
        stderr: read_all(&mut err)?,
        elapsed,
    })
}

fn read_all(file: &mut File) -> std::io::Result<String> {
    let mut bytes = Vec::new();
    file.seek(SeekFrom::Start(0))?;
    file.read_to_end(&mut bytes)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Which engine CLI to drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineKind {
    Docker,
    Podman,
}

/// How images are built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builder {
    /// `docker buildx build --load`: the current buildx builder (local or remote).
    Buildx,
    /// `DOCKER_BUILDKIT=1 docker build`: the BuildKit built into the daemon.
    Daemon,
    /// `podman build`.
    Podman,
}

/// Why verification cannot run, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unavailable {
    pub reason: String,
    pub fix: String,
}

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}; {}", self.reason, self.fix)
    }
}

/// An engine that answered and built a tiny image.
#[derive(Clone, Debug)]
pub struct Engine {
    pub kind: EngineKind,
    pub bin: String,
    pub server_version: String,
    pub builder: Builder,
}

impl Engine {
    /// Finds the engine, then proves it builds with a tiny real build (`FROM scratch` and a
    /// label): `docker info` answering is not enough when the client has no working builder.
    pub fn discover(kind: EngineKind) -> Result<Engine, Unavailable> {
        let engine = Engine::connect(kind)?;
        engine.probe_build()?;
        Ok(engine)
    }

    /// Asks the engine for its version and picks the builder, without building anything.
    pub fn connect(kind: EngineKind) -> Result<Engine, Unavailable> {
        let (var, default) = match kind {
            EngineKind::Docker => ("RESTAGE_DOCKER", "docker"),
            EngineKind::Podman => ("RESTAGE_PODMAN", "podman"),
        };
        let bin = std::env::var(var)
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| default.to_string());
        let mut engine = Engine {
            kind,
            bin,
            server_version: String::new(),
            builder: match kind {
                EngineKind::Docker => Builder::Daemon,
                EngineKind::Podman => Builder::Podman,
            },
        };
        let ask: &[&str] = match kind {
            EngineKind::Docker => &["version", "--format", "{{.Server.Version}}"],
            EngineKind::Podman => &["info", "--format", "{{.Version.Version}}"],
        };
        let x = engine.run(ask, Duration::from_secs(30));
        if !x.success() || x.stdout.trim().is_empty() {
            let why = if x.status.is_none() && x.stderr.starts_with("could not run") {
                x.stderr.trim().to_string()
            } else if x.status.is_none() {
                format!("`{} {}` timed out", engine.bin, ask[0])
            } else {
                format!("`{} {}`: {}", engine.bin, ask[0], reason_line(&x.stderr))
            };
            let fix = match kind {
                EngineKind::Docker => {
                    "start Docker or point DOCKER_HOST at a running engine (or use --engine podman)"
                }
                EngineKind::Podman => "install podman (or use --engine docker)",
            };
            return Err(Unavailable {
                reason: format!("no container engine answers ({why})"),
                fix: fix.to_string(),
            });
        }
        engine.server_version = x.stdout.trim().to_string();
        if kind == EngineKind::Docker
            && engine
                .run(&["buildx", "version"], Duration::from_secs(30))
                .success()
        {
            engine.builder = Builder::Buildx;
        }
        Ok(engine)
    }

    fn probe_build(&self) -> Result<(), Unavailable> {
        let dir = tempfile::Builder::new()
            .prefix("restage-verify-probe-")
            .tempdir()
            .map_err(|e| Unavailable {
                reason: format!("cannot create a temporary directory: {e}"),
                fix: "free space in the temporary directory or set TMPDIR".into(),
            })?;
        let df = dir.path().join("Dockerfile");
        std::fs::write(&df, "FROM scratch\nLABEL restage.verify.probe=\"1\"\n").map_err(|e| {
            Unavailable {
                reason: format!("cannot write {}: {e}", df.display()),
                fix: "free space in the temporary directory or set TMPDIR".into(),
            }
        })?;
        let tag = format!("{}:probe", unique_name("restage-verify-probe"));
        let images = ImageGuard::new(self, vec![tag.clone()], false);
        let build = self.build(dir.path(), &df, &tag, false, None, Duration::from_secs(120));
        drop(images);
        if build.ok {
            return Ok(());
        }
        let fix = match self.builder {
            Builder::Podman => "check that `podman build` works for this user".to_string(),
            _ => format!(
                "install the Docker buildx plugin (package docker-buildx-plugin or docker-buildx) or \
                 point RESTAGE_DOCKER at a docker CLI whose BuildKit builds (`DOCKER_BUILDKIT=1 {} build` must work)",
                self.bin
            ),
        };
        Err(Unavailable {
            reason: format!(
                "{} cannot build with BuildKit ({})",
                self.bin,
                build.failure_line.unwrap_or_default()
            ),
            fix,
        })
    }

    pub fn cmd(&self) -> Command {
        let mut cmd = Command::new(&self.bin);
        if self.kind == EngineKind::Docker {
            cmd.env("DOCKER_BUILDKIT", "1");
        }
        cmd
    }

    /// Runs `ENGINE ARGS` with a deadline; a failure to spawn is reported like a failed command.
    pub fn run(&self, args: &[&str], timeout: Duration) -> Exec {
        let mut cmd = self.cmd();
        cmd.args(args);
        exec(cmd, timeout).unwrap_or_else(|e| Exec {
            status: None,
            stdout: String::new(),
            stderr: format!("could not run {}: {e}", self.bin),
            elapsed: Duration::ZERO,
        })
    }

    /// Builds `dockerfile` with `context` as `tag`, with plain progress; the whole log goes to
    /// `log` when given.
    pub fn build(
        &self,
        context: &Path,
        dockerfile: &Path,
        tag: &str,
        no_cache: bool,
        log: Option<&Path>,
        timeout: Duration,
    ) -> Build {
        let mut args: Vec<String> = match self.builder {
            Builder::Buildx => vec!["buildx".into(), "build".into(), "--load".into()],
            Builder::Daemon => vec!["build".into()],
            Builder::Podman => vec!["build".into(), "--layers".into()],
        };
        if self.builder != Builder::Podman {
            args.push("--progress=plain".into());
        }
        if no_cache {
            args.push("--no-cache".into());
        }
        args.extend([
            "-f".into(),
            dockerfile.to_string_lossy().into_owned(),
            "-t".into(),
            tag.into(),
            context.to_string_lossy().into_owned(),
        ]);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let x = self.run(&refs, timeout);
        let text = format!(
            "$ {} {}\n{}{}",
            self.bin,
            args.join(" "),
            x.stdout,
            x.stderr
        );
        if let Some(log) = log {
            let _ = std::fs::write(log, &text);
        }
        let failure_line = if x.success() {
            None
        } else if x.status.is_none() {
            Some(format!("timed out after {:.0} s", x.elapsed.as_secs_f64()))
        } else {
            Some(reason_line(&x.stderr))
        };
        Build {
            ok: x.success(),
            secs: x.elapsed.as_secs_f64(),
            steps: Progress::parse(&text),
            failure_line,
        }
    }

    /// `image inspect IMAGE` as JSON (the first and only element).
    pub fn inspect(&self, image: &str) -> Result<Value, String> {
        let x = self.run(&["image", "inspect", image], Duration::from_secs(60));
        if !x.success() {
            return Err(format!("image inspect {image}: {}", reason_line(&x.stderr)));
        }
        let v: Value = serde_json::from_str(&x.stdout)
            .map_err(|e| format!("image inspect {image}: bad JSON: {e}"))?;
        v.get(0)
            .cloned()
            .ok_or_else(|| format!("image inspect {image}: empty answer"))
    }
}

/// The result of one build.
pub struct Build {
    pub ok: bool,
    pub secs: f64,
    pub steps: Progress,
    /// The one line of the output that says why it failed.
    pub failure_line: Option<String>,
}

/// The RUN steps of a build log and which of them were reused from the cache.
///
/// BuildKit prints `#7 [build 4/6] RUN npm ci` when a step starts and `#7 CACHED` when it is
/// reused; podman prints `STEP 4/6: RUN npm ci` and then `--> Using cache <id>`.
#[derive(Default, Debug)]
pub struct Progress {
    /// (vertex or step number, the step text) for every `RUN` step.
    pub runs: Vec<(u32, String)>,
    pub cached: BTreeSet<u32>,
}

impl Progress {
    pub fn parse(log: &str) -> Progress {
        let mut p = Progress::default();
        let mut podman_step: Option<u32> = None;
        for (i, line) in log.lines().enumerate() {
            if let Some(rest) = line.strip_prefix("STEP ")
                && let Some((_, text)) = rest.split_once(": ")
            {
                let num = 100_000 + i as u32;
                podman_step = Some(num);
                if text.starts_with("RUN ") {
                    p.runs.push((num, text.trim().to_string()));
                }
                continue;
            }
            if line.starts_with("--> Using cache") {
                if let Some(n) = podman_step {
                    p.cached.insert(n);
                }
                continue;
            }
            let Some(rest) = line.strip_prefix('#') else {
                continue;
            };
            let Some((num, rest)) = rest.split_once(' ') else {
                continue;
            };
            let Ok(num) = num.parse::<u32>() else {
                continue;
            };
            let rest = rest.trim();
            if rest == "CACHED" {
                p.cached.insert(num);
            } else if let Some(step) = rest.strip_prefix('[').and_then(|r| r.split_once("] ")) {
                let text = step.1.trim();
                if text.starts_with("RUN ") && !p.runs.iter().any(|(n, _)| *n == num) {
                    p.runs.push((num, text.to_string()));
                }
            }
        }
        p
    }

    /// For the RUN steps `is_step` accepts: (how many, how many of them were cached).
    pub fn cached_where(&self, is_step: impl Fn(&str) -> bool) -> (usize, usize) {
        let matching: Vec<u32> = self
            .runs
            .iter()
            .filter(|(_, t)| is_step(t))
            .map(|(n, _)| *n)
            .collect();
        let cached = matching.iter().filter(|n| self.cached.contains(n)).count();
        (matching.len(), cached)
    }

    /// For the RUN steps containing `needle`: (how many, how many of them were cached).
    #[cfg(test)]
    pub fn cached_matching(&self, needle: &str) -> (usize, usize) {
        self.cached_where(|t| t.contains(needle))
    }
}

/// Set on Ctrl-C: from then on only the cleanup (the thread with `CLEANING`) starts commands.
static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

thread_local! {
    static CLEANING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The engine commands running now (their pids), stopped first on Ctrl-C so that no build tags
/// an image after the cleanup.
static CHILDREN: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// What a Ctrl-C must remove: (engine binary, engine kind, `container`/`image`, name).
type Live = (String, EngineKind, &'static str, String);
static LIVE: Mutex<Vec<Live>> = Mutex::new(Vec::new());

fn register(engine: &Engine, what: &'static str, name: &str) {
    if let Ok(mut live) = LIVE.lock() {
        live.push((engine.bin.clone(), engine.kind, what, name.to_string()));
    }
}

fn unregister(what: &'static str, name: &str) {
    if let Ok(mut live) = LIVE.lock() {
        live.retain(|(_, _, w, n)| !(*w == what && n == name));
    }
}

/// Removes every container and image still registered (the Ctrl-C path).
pub fn remove_all_live() {
    let live: Vec<Live> = match LIVE.lock() {
        Ok(mut l) => std::mem::take(&mut *l),
        Err(_) => return,
    };
    // Containers first: an image in use by a container cannot be removed.
    for pass in ["container", "image"] {
        for (bin, kind, what, name) in live.iter().filter(|l| l.2 == pass) {
            let engine = Engine {
                kind: *kind,
                bin: bin.clone(),
                server_version: String::new(),
                builder: Builder::Daemon,
            };
            let args: &[&str] = if *what == "container" {
                &["rm", "-f", name]
            } else {
                &["image", "rm", "-f", name]
            };
            let _ = engine.run(args, Duration::from_secs(60));
        }
    }
}

/// On Ctrl-C (or SIGTERM): remove what this run created, then exit with 130.
pub fn install_interrupt_cleanup() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| crate::signals::on_interrupt(interrupt_cleanup));
}

fn interrupt_cleanup(_signal: i32) -> i32 {
    INTERRUPTED.store(true, std::sync::atomic::Ordering::SeqCst);
    CLEANING.with(|c| c.set(true));
    eprintln!("restage: interrupted; removing the containers and images of this run");
    let running: Vec<u32> = CHILDREN.lock().map(|c| c.clone()).unwrap_or_default();
    for pid in &running {
        // Our own child, by pid: a client that goes away cancels its build.
        let _ = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    if !running.is_empty() {
        std::thread::sleep(Duration::from_secs(1));
    }
    let live: Vec<Live> = LIVE.lock().map(|l| l.clone()).unwrap_or_default();
    remove_all_live();
    // A build the daemon finished after its client left may tag its image late.
    std::thread::sleep(Duration::from_secs(2));
    if let Ok(mut l) = LIVE.lock() {
        *l = live;
    }
    remove_all_live();
    130
}

/// Removes a container (`rm -f`) when dropped, also while unwinding from a panic.
pub struct ContainerGuard<'a> {
    pub engine: &'a Engine,
    pub name: String,
}

impl<'a> ContainerGuard<'a> {
    pub fn new(engine: &'a Engine, name: String) -> ContainerGuard<'a> {
        register(engine, "container", &name);
        ContainerGuard { engine, name }
    }
}

impl Drop for ContainerGuard<'_> {
    fn drop(&mut self) {
        let _ = self
            .engine
            .run(&["rm", "-f", &self.name], Duration::from_secs(60));
        unregister("container", &self.name);
    }
}

/// Removes the images tagged through it when dropped (the build cache is kept), unless `keep`.
pub struct ImageGuard<'a> {
    engine: &'a Engine,
    tags: Vec<String>,
    keep: bool,
}

impl<'a> ImageGuard<'a> {
    pub fn new(engine: &'a Engine, tags: Vec<String>, keep: bool) -> ImageGuard<'a> {
        for t in &tags {
            register(engine, "image", t);
        }
        ImageGuard { engine, tags, keep }
    }

    pub fn push(&mut self, tag: String) {
        register(self.engine, "image", &tag);
        self.tags.push(tag);
    }
}

impl Drop for ImageGuard<'_> {
    fn drop(&mut self) {
        if !self.keep && !self.tags.is_empty() {
            let mut args = vec!["image", "rm", "-f"];
            args.extend(self.tags.iter().map(String::as_str));
            let _ = self.engine.run(&args, Duration::from_secs(120));
        }
        for t in &self.tags {
            unregister("image", t);
        }
    }
}

/// A name unique to this process and call: `PREFIX-PID-N`, lower case, with characters an image
/// or container name cannot hold replaced by `-`.
pub fn unique_name(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let clean: String = prefix
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!(
        "{clean}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_finds_cached_run_steps() {
        let log = "#5 [build 1/5] FROM docker.io/library/node:20\n\
                   #7 [build 3/5] RUN npm ci\n#7 CACHED\n\
                   #8 [build 4/5] RUN npm run build\n#8 0.512 > tsc\n#8 DONE 3.1s\n\
                   #9 [stage-1 2/3] RUN npm ci --omit=dev\n#9 1.0 added 60 packages\n";
        let p = Progress::parse(log);
        assert_eq!(p.runs.len(), 3);
        assert_eq!(p.cached_matching("npm ci"), (2, 1));
        assert_eq!(p.cached_matching("npm run build"), (1, 0));
        assert_eq!(p.cached_matching("pip install"), (0, 0));
    }

    #[test]
    fn progress_reads_podman_logs() {
        let log = "STEP 1/4: FROM node:20\nSTEP 2/4: COPY package.json .\n--> Using cache 1a\n\
                   STEP 3/4: RUN npm ci\n--> Using cache 2b\nSTEP 4/4: RUN npm run build\n--> 3c\n";
        let p = Progress::parse(log);
        assert_eq!(p.cached_matching("npm ci"), (1, 1));
        assert_eq!(p.cached_matching("npm run"), (1, 0));
    }

    #[test]
    fn tail_keeps_last_lines() {
        assert_eq!(tail("a\nb\n\nc\n", 2), "b | c");
        assert_eq!(tail("", 2), "(empty)");
    }

    #[test]
    fn reason_line_prefers_the_error() {
        assert_eq!(
            reason_line(
                "#1 building\nERROR: BuildKit is enabled but the buildx component is missing or broken.\n       Install it\n"
            ),
            "ERROR: BuildKit is enabled but the buildx component is missing or broken."
        );
        assert_eq!(reason_line("a\nb\n"), "b");
        assert_eq!(reason_line(""), "(no output)");
    }

    #[test]
    fn unique_names_are_valid_and_distinct() {
        let a = unique_name("restage-verify/My App");
        let b = unique_name("restage-verify/My App");
        assert!(a.starts_with("restage-verify-my-app-"));
        assert_ne!(a, b);
    }
}
