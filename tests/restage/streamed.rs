//! The output is written file by file as the run goes, in path order: whatever the number of
//! threads, each stream holds exactly what the whole run would print, and in a log that
//! takes both streams each file's diff comes before its notes.

use std::path::Path;
use std::process::Command;

use super::common::{restage_in, write_file as write};

/// Seven folders in path order: changed files (`a`, `b`, `e`, `f`, `g`, with `e` changed by
/// two transforms) around an unchanged one (`c`) and an invalid one (`d`).
fn tree() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tempdir");
    let t = tmp.path();
    for dir in ["a", "b", "f"] {
        write(
            t,
            &format!("{dir}/Dockerfile"),
            "FROM node:20-slim\nUSER node\nCMD node server.js\n",
        );
    }
    write(
        t,
        "c/Dockerfile",
        "FROM node:20-slim\nUSER node\nCMD [\"node\", \"s.js\"]\n",
    );
    write(t, "d/Dockerfile", "FROM alpine:3\nFRM x\n");
    write(
        t,
        "e/Dockerfile",
        "FROM alpine:3\nRUN <<EOF\necho hi\nEOF\nCMD run\n",
    );
    write(
        t,
        "g/Dockerfile",
        "FROM node:20-slim\nUSER node\nCMD node s.js\nCMD node t.js\n",
    );
    tmp
}

fn whole((code, stdout, stderr): (i32, String, String)) -> String {
    format!("exit: {code}\n--- stdout\n{stdout}--- stderr\n{stderr}")
}

#[test]
fn an_error_in_the_middle_one_thread_or_two() {
    let tmp = tree();
    let one = whole(restage_in(tmp.path(), &["--check", "-j1", "."]));
    let two = whole(restage_in(tmp.path(), &["--check", "-j2", "."]));
    assert_eq!(one, two);
    insta::assert_snapshot!("error_in_the_middle_text", one);
    let json = whole(restage_in(
        tmp.path(),
        &["--check", "-j2", "--output-format", "json", "."],
    ));
    insta::assert_snapshot!("error_in_the_middle_json", json);
}

/// stdout and stderr both into one file, as `restage . >log 2>&1` does.
fn one_log(dir: &Path, args: &[&str]) -> (Option<i32>, String) {
    let log = tempfile::NamedTempFile::new().expect("a log file");
    // One open file (one offset) for both, as a shell's `2>&1`.
    let file = log.reopen().expect("reopen");
    let out = Command::new(env!("CARGO_BIN_EXE_restage"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdout(file.try_clone().expect("dup"))
        .stderr(file)
        .status()
        .expect("the restage binary runs");
    let text = std::fs::read_to_string(log.path()).expect("the log");
    (out.code(), text)
}

#[test]
fn in_one_log_each_file_s_diff_comes_before_its_notes() {
    let tmp = tree();
    let (code, log) = one_log(tmp.path(), &["--check", "-j2", "."]);
    insta::assert_snapshot!("one_log", format!("exit: {code:?}\n{log}"));
}

#[test]
fn a_closed_pipe_still_writes_every_file() {
    let tmp = tree();
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` is a valid array of two descriptors for pipe(2) to fill.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: the read end is ours and used nowhere else.
    unsafe { libc::close(fds[0]) };
    // SAFETY: the write end is an open descriptor owned by nothing else.
    let writer = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(fds[1]) };
    let out = Command::new(env!("CARGO_BIN_EXE_restage"))
        .args(["--write", "--show-fixes", "-j2", "."])
        .current_dir(tmp.path())
        .stdout(writer)
        .output()
        .expect("runs");
    // Nothing goes to stdout with --write: the notes on stderr are all there.
    insta::assert_snapshot!(
        "closed_pipe_write",
        format!(
            "exit: {:?}\n--- stderr\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        )
    );
    // Every file that changes was written, the invalid one is untouched.
    let (code, stdout, _) = restage_in(tmp.path(), &["--check", "-q", "."]);
    assert_eq!((code, stdout.as_str()), (2, ""));
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("d/Dockerfile")).expect("read"),
        "FROM alpine:3\nFRM x\n"
    );
}
