//! Single files under the 1 MiB limit whose shape once made restage superlinear:
//! `cargo bench --bench single_file`.
//!
//! Each shape is generated into a temporary directory and the real binary is timed end to end
//! (`restage --check -q <dir>`), 1 warm-up + 3 runs; the median wall time, the median CPU time
//! and the largest peak RSS (from `wait4`, so that one child's) are printed as a Markdown table.
//! Nothing is asserted about time: the numbers are for reading (benches/README.md keeps them).
//!
//! Shapes: 16,000 suppression comments each above a RUN; 30,000 in one block above the CMD;
//! 30,000 heredoc RUNs; 40,000 RUNs, in a
//! plain stage and in a stage the transforms analyse (`FROM node:20`, `COPY . .`, a `CMD`); a
//! 900 KB `.dockerignore` next to a 3-line Dockerfile. Each is also run at a quarter of its size,
//! so a reader sees how time grows (linear: about 4x between the two rows).
//!
//! Run without `--bench` (as `cargo test --benches` does) it only checks that restage accepts each
//! shape at a small size. `--bin PATH` times another restage binary (to compare two builds);
//! `--only TEXT` runs just the shapes whose name contains TEXT.

#[path = "common/wait.rs"]
mod wait;

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

type Res<T> = Result<T, String>;

const RUNS: usize = 3;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let bin = args
        .iter()
        .position(|a| a == "--bin")
        .and_then(|i| args.get(i + 1))
        .map_or_else(
            || PathBuf::from(env!("CARGO_BIN_EXE_restage")),
            PathBuf::from,
        );
    // `--only TEXT`: just the shapes whose name contains TEXT.
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_default();
    let result = if args.iter().any(|a| a == "--bench") {
        bench(&bin, &only)
    } else {
        smoke(&bin)
    };
    if let Err(e) = result {
        eprintln!("single_file bench: FAILED: {e}");
        std::process::exit(1);
    }
}

/// One generated input: a directory with a Dockerfile (and maybe a .dockerignore).
struct Shape {
    name: &'static str,
    generate: fn(usize) -> Vec<(&'static str, String)>,
    /// The count the issue measured.
    full: usize,
}

const SHAPES: &[Shape] = &[
    Shape {
        name: "suppression comments",
        generate: suppressions,
        full: 16_000,
    },
    Shape {
        name: "suppression comments in one block",
        generate: suppression_block,
        full: 30_000,
    },
    Shape {
        name: "heredoc RUNs",
        generate: heredoc_runs,
        full: 30_000,
    },
    Shape {
        name: "RUNs",
        generate: runs,
        full: 40_000,
    },
    Shape {
        name: "RUNs after COPY . . in a node:20 stage",
        generate: app_runs,
        full: 40_000,
    },
    Shape {
        name: ".dockerignore lines",
        generate: dockerignore,
        full: 60_000,
    },
];

fn suppressions(n: usize) -> Vec<(&'static str, String)> {
    let mut s = String::from("FROM node:20-slim\n");
    for i in 0..n {
        writeln!(s, "# restage: ignore=exec-form\nRUN echo {i}").unwrap();
    }
    s.push_str("CMD node server.js\n");
    vec![("Dockerfile", s)]
}

/// One comment block above the CMD: each line's scope once re-read the rest of the block.
fn suppression_block(n: usize) -> Vec<(&'static str, String)> {
    let mut s = String::from("FROM node:20-slim\n");
    for _ in 0..n {
        s.push_str("# restage: ignore=exec-form\n");
    }
    s.push_str("CMD node server.js\n");
    vec![("Dockerfile", s)]
}

fn heredoc_runs(n: usize) -> Vec<(&'static str, String)> {
    let mut s = String::from("FROM debian:12\n");
    for i in 0..n {
        writeln!(s, "RUN <<EOF\necho {i}\nEOF").unwrap();
    }
    vec![("Dockerfile", s)]
}

fn runs(n: usize) -> Vec<(&'static str, String)> {
    let mut s = String::from("FROM debian:12\n");
    for i in 0..n {
        writeln!(s, "RUN echo {i}").unwrap();
    }
    vec![("Dockerfile", s)]
}

/// The same RUNs in a stage the transforms analyse (an app on a Node SDK image).
fn app_runs(n: usize) -> Vec<(&'static str, String)> {
    let mut s = String::from("FROM node:20\nWORKDIR /app\nCOPY . .\n");
    for i in 0..n {
        writeln!(s, "RUN echo {i}").unwrap();
    }
    s.push_str("CMD node server.js\n");
    vec![("Dockerfile", s)]
}

/// About 15 bytes a line: 60,000 lines is 900 KB.
fn dockerignore(n: usize) -> Vec<(&'static str, String)> {
    let mut ignore = String::new();
    for i in 0..n {
        writeln!(ignore, "build/out{i:06}").unwrap();
    }
    let dockerfile = "FROM node:20-slim\nCOPY . .\nCMD node server.js\n".to_string();
    vec![("Dockerfile", dockerfile), (".dockerignore", ignore)]
}

fn write_shape(dir: &Path, files: &[(&str, String)]) -> Res<u64> {
    fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut bytes = 0;
    for (name, text) in files {
        let p = dir.join(name);
        fs::write(&p, text).map_err(|e| format!("{}: {e}", p.display()))?;
        bytes += text.len() as u64;
    }
    Ok(bytes)
}

fn smoke(bin: &Path) -> Res<()> {
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    for (k, shape) in SHAPES.iter().enumerate() {
        let dir = tmp.path().join(k.to_string());
        write_shape(&dir, &(shape.generate)(200))?;
        let run = run_once(bin, &dir)?;
        if run.code > 1 {
            return Err(format!(
                "{}: restage exited {} on the generated file",
                shape.name, run.code
            ));
        }
    }
    println!("single_file bench: smoke run ok ({} shapes)", SHAPES.len());
    Ok(())
}

fn bench(bin: &Path, only: &str) -> Res<()> {
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut table = String::from(
        "| shape | count | bytes | median wall | median CPU | peak RSS |\n|---|---:|---:|---:|---:|---:|\n",
    );
    for (k, shape) in SHAPES.iter().enumerate() {
        if !shape.name.contains(only) {
            continue;
        }
        for count in [shape.full / 4, shape.full] {
            let dir = tmp.path().join(format!("{k}-{count}"));
            let bytes = write_shape(&dir, &(shape.generate)(count))?;
            let mut walls = Vec::new();
            let mut cpus = Vec::new();
            let mut rss = 0;
            run_once(bin, &dir)?; // warm-up
            for _ in 0..RUNS {
                let r = run_once(bin, &dir)?;
                if r.code > 1 {
                    return Err(format!("{}: restage exited {}", shape.name, r.code));
                }
                walls.push(r.wall);
                cpus.push(r.cpu);
                rss = rss.max(r.max_rss);
            }
            let row = format!(
                "| {} | {count} | {bytes} | {:.3} s | {:.3} s | {:.1} MB |\n",
                shape.name,
                median(&mut walls).as_secs_f64(),
                median(&mut cpus).as_secs_f64(),
                rss as f64 / 1e6
            );
            eprint!("{row}");
            table.push_str(&row);
        }
    }
    let load = fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("{table}\nbinary: {}\nload average: {load}", bin.display());
    Ok(())
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// One finished run of restage.
struct Run {
    wall: Duration,
    code: i32,
    max_rss: u64,
    cpu: Duration,
}

/// Runs `restage --check -q DIR` once and waits for that child with `wait4` (its own rusage).
fn run_once(bin: &Path, dir: &Path) -> Res<Run> {
    let start = Instant::now();
    let child = Command::new(bin)
        .args(["--check", "-q", "."])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("starting {}: {e}", bin.display()))?;
    let (status, usage) =
        wait::wait4(&child).map_err(|err| format!("waiting for restage: {err}"))?;
    let wall = start.elapsed();
    drop(child);
    if libc::WIFSIGNALED(status) {
        return Err(format!(
            "restage was killed by signal {}",
            libc::WTERMSIG(status)
        ));
    }
    let rss_unit: u64 = if cfg!(target_os = "macos") { 1 } else { 1024 };
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    Ok(Run {
        wall,
        code: libc::WEXITSTATUS(status),
        max_rss: usage.ru_maxrss as u64 * rss_unit,
        cpu: time(usage.ru_utime) + time(usage.ru_stime),
    })
}
