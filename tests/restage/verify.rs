//! `restage verify` before it needs an engine: what it refuses, with exit 2 and one line, without
//! building anything (the engine tier, `tests/e2e/verify_cli.rs`, covers the builds).

use std::path::Path;
use std::process::Command;

/// Runs `restage ARGS` in `dir` with an engine that cannot answer, so nothing is ever built:
/// (exit code, stdout, stderr).
fn restage(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_restage"))
        .args(args)
        .current_dir(dir)
        .env("DOCKER_HOST", "unix:///nonexistent/restage-verify.sock")
        .env("RESTAGE_DOCKER", "/nonexistent/docker")
        .output()
        .expect("the restage binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn app() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("Dockerfile"),
        "FROM node:20\nWORKDIR /app\nCOPY . .\nRUN npm ci\nCMD [\"node\", \"server.js\"]\n",
    )
    .expect("write");
    std::fs::write(dir.path().join("server.js"), "console.log('hi')\n").expect("write");
    dir
}

fn cannot(msg: &str) -> (i32, String, String) {
    (2, String::new(), format!("restage: cannot verify: {msg}\n"))
}

#[test]
fn no_engine_is_one_line_and_exit_2() {
    let dir = app();
    assert_eq!(
        restage(dir.path(), &["verify"]),
        cannot(
            "no container engine answers (could not run /nonexistent/docker: No such file or directory (os error 2)); \
             start Docker or point DOCKER_HOST at a running engine (or use --engine podman)"
        )
    );
}

#[test]
fn bad_http_probe() {
    let dir = app();
    assert_eq!(
        restage(dir.path(), &["verify", "--http", "web/health"]),
        cannot("--http \"web/health\": expected PORT[/PATH], such as 3000/health")
    );
}

#[test]
fn directory_without_a_dockerfile() {
    let dir = app();
    std::fs::create_dir(dir.path().join("empty")).expect("mkdir");
    assert_eq!(
        restage(dir.path(), &["verify", "empty"]),
        cannot("empty: no Dockerfile in this directory (name the file)")
    );
}

#[test]
fn unknown_transform_id() {
    let dir = app();
    assert_eq!(
        restage(dir.path(), &["verify", "--select", "mutli-stage"]),
        cannot("unknown transform id `mutli-stage` (see `restage list`)")
    );
}

#[test]
fn rebuild_file_must_be_in_the_context() {
    let dir = app();
    assert_eq!(
        restage(dir.path(), &["verify", "--rebuild=src/missing.js"]),
        cannot(&format!(
            "--rebuild: src/missing.js is not a file in the build context {}",
            std::fs::canonicalize(dir.path())
                .expect("canonical")
                .display()
        ))
    );
}

#[test]
fn verify_table_is_strict() {
    let dir = app();
    std::fs::write(
        dir.path().join("restage.toml"),
        "[verify]\nhttp = \"3000/health\"\nexpect = \"ok\"\nprobe = \"x\"\n",
    )
    .expect("write");
    let config = std::fs::canonicalize(dir.path().join("restage.toml")).expect("canonical");
    assert_eq!(
        restage(dir.path(), &["verify"]),
        cannot(&format!(
            "{}:4:1: unknown field `probe`, expected one of `http`, `run`, `expect`, `env`, \
             `timeout`, `rebuild`, `install-step`",
            config.display()
        ))
    );
}
