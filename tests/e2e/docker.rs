//! Talking to the Docker engine through its CLI: discovery, bounded-time commands, BuildKit builds
//! with their plain progress log, image inspection, and guards that remove containers and images
//! even when a case panics. Every call goes through `$RESTAGE_DOCKER` (default `docker`) with
//! `DOCKER_BUILDKIT=1`.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
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

/// Runs `cmd` with stdout and stderr captured in temporary files (no pipe can fill up), killing it
/// when `timeout` passes.
pub fn exec(mut cmd: Command, timeout: Duration) -> std::io::Result<Exec> {
    let mut out = tempfile::tempfile()?;
    let mut err = tempfile::tempfile()?;
    cmd.stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(err.try_clone()?);
    let start = Instant::now();
    let mut child = cmd.spawn()?;
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

/// A Docker engine that answered `docker info`.
#[derive(Clone, Debug)]
pub struct Engine {
    pub bin: String,
    pub server_version: String,
}

impl Engine {
    /// Asks `$RESTAGE_DOCKER` (default `docker`) for `docker info`; `Err` says why there is no engine.
    pub fn discover() -> Result<Engine, String> {
        let bin = std::env::var("RESTAGE_DOCKER").unwrap_or_else(|_| "docker".to_string());
        let engine = Engine {
            bin,
            server_version: String::new(),
        };
        let mut cmd = engine.cmd();
        cmd.args(["info", "--format", "{{.ServerVersion}}"]);
        match exec(cmd, Duration::from_secs(30)) {
            Err(e) => Err(format!("`{} info` could not start: {e}", engine.bin)),
            Ok(x) if !x.success() || x.stdout.trim().is_empty() => {
                Err(format!("`{} info` failed: {}", engine.bin, x.describe()))
            }
            Ok(x) => Ok(Engine {
                server_version: x.stdout.trim().to_string(),
                ..engine
            }),
        }
    }

    pub fn cmd(&self) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.env("DOCKER_BUILDKIT", "1");
        cmd
    }

    /// Runs `docker ARGS` with a deadline; a failure to spawn is reported like a failed command.
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

    /// `docker build --progress=plain -t TAG DIR`, its whole log written to `log`.
    pub fn build(
        &self,
        dir: &Path,
        tag: &str,
        no_cache: bool,
        log: &Path,
        timeout: Duration,
    ) -> Build {
        let mut args = vec!["build", "--progress=plain", "-t", tag];
        if no_cache {
            args.push("--no-cache");
        }
        let dir_arg = dir.to_string_lossy().into_owned();
        args.push(&dir_arg);
        let x = self.run(&args, timeout);
        let text = format!(
            "$ {} {}\n{}{}",
            self.bin,
            args.join(" "),
            x.stdout,
            x.stderr
        );
        let _ = std::fs::write(log, &text);
        Build {
            ok: x.success(),
            secs: x.elapsed.as_secs_f64(),
            steps: Progress::parse(&text),
            failure: if x.success() {
                None
            } else {
                Some(format!("{} (log: {})", x.describe(), log.display()))
            },
        }
    }

    /// `docker image inspect IMAGE` as JSON (the first and only element).
    pub fn inspect(&self, image: &str) -> Result<Value, String> {
        let x = self.run(&["image", "inspect", image], Duration::from_secs(60));
        if !x.success() {
            return Err(format!("docker image inspect {image}: {}", x.describe()));
        }
        let v: Value = serde_json::from_str(&x.stdout)
            .map_err(|e| format!("docker image inspect {image}: bad JSON: {e}"))?;
        v.get(0)
            .cloned()
            .ok_or_else(|| format!("docker image inspect {image}: empty answer"))
    }
}

/// The result of one `docker build`.
pub struct Build {
    pub ok: bool,
    pub secs: f64,
    pub steps: Progress,
    pub failure: Option<String>,
}

/// The RUN steps of a BuildKit plain-progress log and which of them were CACHED.
///
/// BuildKit prints `#7 [build 4/6] RUN npm ci` when a step starts and `#7 CACHED` when it is
/// reused.
#[derive(Default, Debug)]
pub struct Progress {
    /// (vertex number, the step text after `]`) for every `RUN` step.
    pub runs: Vec<(u32, String)>,
    pub cached: BTreeSet<u32>,
}

impl Progress {
    pub fn parse(log: &str) -> Progress {
        let mut p = Progress::default();
        for line in log.lines() {
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

    /// For the RUN steps containing `needle`: (how many, how many of them were CACHED).
    pub fn cached_matching(&self, needle: &str) -> (usize, usize) {
        let matching: Vec<u32> = self
            .runs
            .iter()
            .filter(|(_, t)| t.contains(needle))
            .map(|(n, _)| *n)
            .collect();
        let cached = matching.iter().filter(|n| self.cached.contains(n)).count();
        (matching.len(), cached)
    }
}

/// Removes a container (`docker rm -f`) when dropped, also while unwinding from a panic.
pub struct ContainerGuard<'a> {
    pub engine: &'a Engine,
    pub name: String,
}

impl Drop for ContainerGuard<'_> {
    fn drop(&mut self) {
        let _ = self
            .engine
            .run(&["rm", "-f", &self.name], Duration::from_secs(60));
    }
}

/// Removes the images tagged through it when dropped (the build cache is kept), unless
/// `RESTAGE_E2E_KEEP_IMAGES=1`.
pub struct ImageGuard<'a> {
    pub engine: &'a Engine,
    pub tags: Vec<String>,
}

impl Drop for ImageGuard<'_> {
    fn drop(&mut self) {
        if std::env::var("RESTAGE_E2E_KEEP_IMAGES").is_ok_and(|v| v == "1") || self.tags.is_empty()
        {
            return;
        }
        let mut args = vec!["image", "rm", "-f"];
        args.extend(self.tags.iter().map(String::as_str));
        let _ = self.engine.run(&args, Duration::from_secs(120));
    }
}

/// A container name unique to this process and call.
pub fn unique_name(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Where a case keeps its logs: `<target>/e2e/<case>/`.
pub fn case_log_dir(target: &Path, case: &str) -> PathBuf {
    let dir = target.join("e2e").join(case);
    let _ = std::fs::create_dir_all(&dir);
    dir
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
    fn tail_keeps_last_lines() {
        assert_eq!(tail("a\nb\n\nc\n", 2), "b | c");
        assert_eq!(tail("", 2), "(empty)");
    }
}
