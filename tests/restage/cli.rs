//! The real binary on copied fixture trees: modes, exit codes, determinism, bad inputs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::root;

fn restage(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_restage"))
        .args(args)
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .output()
        .expect("the restage binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A small monorepo: the syntax fixtures and exec-form fixtures copied under `services/`, plus
/// files discovery must skip.
fn tree() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    copy_dir(&root().join("fixtures/exec-form"), &t.join("services/exec"));
    copy_dir(
        &root().join("fixtures/syntax/crlf"),
        &t.join("services/crlf"),
    );
    copy_dir(&root().join("fixtures/syntax/bom"), &t.join("services/bom"));
    let shell_cmd = "FROM node:20-slim\nCMD node server.js\n";
    for skipped in [
        "node_modules/pkg/Dockerfile",
        ".hidden/Dockerfile",
        "generated/Dockerfile",
        "docs/Dockerfile.md",
        "docs/Dockerfile.bak",
    ] {
        let p = t.join(skipped);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, shell_cmd).unwrap();
    }
    std::fs::write(t.join(".gitignore"), "generated/\n").unwrap();
    std::fs::write(t.join("services/api.Dockerfile"), shell_cmd).unwrap();
    std::fs::write(t.join("services/Dockerfile.prod"), shell_cmd).unwrap();
    std::fs::write(
        t.join("services/Containerfile"),
        "FROM node:20-slim\nCMD [\"node\"]\n",
    )
    .unwrap();
    tmp
}

#[test]
fn default_prints_the_diff_and_exits_0() {
    let tmp = tree();
    let out = restage(tmp.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let diff = stdout(&out);
    assert!(
        diff.contains("--- a/services/api.Dockerfile\n+++ b/services/api.Dockerfile\n"),
        "{diff}"
    );
    assert!(diff.contains("+CMD [\"node\", \"server.js\"]"), "{diff}");
    for skipped in [
        "node_modules",
        ".hidden",
        "generated/",
        "Dockerfile.md",
        "Dockerfile.bak",
    ] {
        assert!(!diff.contains(skipped), "{skipped} was processed:\n{diff}");
    }
    // Sorted by path.
    let headers: Vec<&str> = diff.lines().filter(|l| l.starts_with("--- a/")).collect();
    let mut sorted = headers.clone();
    sorted.sort();
    assert_eq!(headers, sorted);
    assert!(stderr(&out).contains("would change"), "{}", stderr(&out));
    // Nothing was written.
    let api = std::fs::read_to_string(tmp.path().join("services/api.Dockerfile")).unwrap();
    assert!(api.contains("CMD node server.js"));
}

#[test]
fn check_exits_1_when_a_change_is_due_and_0_after_write() {
    let tmp = tree();
    let check = restage(tmp.path(), &["--check"]);
    assert_eq!(check.status.code(), Some(1), "{}", stderr(&check));
    let diff_before = stdout(&check);

    let write = restage(tmp.path(), &["--write"]);
    assert_eq!(write.status.code(), Some(0), "{}", stderr(&write));
    assert!(stdout(&write).is_empty(), "--write prints no diff");
    assert!(stderr(&write).contains("rewritten"), "{}", stderr(&write));

    let again = restage(tmp.path(), &["--check"]);
    assert_eq!(
        again.status.code(),
        Some(0),
        "{}{}",
        stdout(&again),
        stderr(&again)
    );
    assert!(stdout(&again).is_empty());
    assert!(!diff_before.is_empty());
}

#[test]
fn write_keeps_crlf_bom_and_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tree();
    let crlf = tmp.path().join("services/crlf/Dockerfile");
    std::fs::set_permissions(&crlf, std::fs::Permissions::from_mode(0o640)).unwrap();
    let before = std::fs::read(&crlf).unwrap();
    let out = restage(
        tmp.path(),
        &[
            "--write",
            "--select",
            "exec-form",
            "services/crlf",
            "services/bom",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let after = std::fs::read(&crlf).unwrap();
    assert_ne!(
        before, after,
        "the CRLF fixture has a shell-form CMD to convert"
    );
    assert_eq!(
        String::from_utf8(after).unwrap(),
        String::from_utf8(before).unwrap().replace(
            "CMD node server.js\r\n",
            "CMD [\"node\", \"server.js\"]\r\n"
        )
    );
    let mode = std::fs::metadata(&crlf).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
    let bom = std::fs::read(tmp.path().join("services/bom/Dockerfile")).unwrap();
    assert!(bom.starts_with(b"\xef\xbb\xbfFROM python:3.12 AS base\n"));
    assert!(bom.ends_with(b"CMD [\"python\", \"app.py\"]\n"));
    // No temporary files are left behind.
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path().join("services/crlf"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with(".restage-")
        })
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn diff_applies_with_git_apply_and_equals_write() {
    let tmp = tree();
    let diff = stdout(&restage(tmp.path(), &[]));
    let applied = tempfile::tempdir().unwrap();
    copy_dir(tmp.path(), applied.path());
    let patch = applied.path().join("restage.patch");
    std::fs::write(&patch, &diff).unwrap();
    let git = Command::new("git")
        .args(["apply", "--unsafe-paths", "-p1", patch.to_str().unwrap()])
        .current_dir(applied.path())
        .output()
        .expect("git runs");
    assert!(
        git.status.success(),
        "git apply: {}",
        String::from_utf8_lossy(&git.stderr)
    );
    std::fs::remove_file(&patch).unwrap();
    assert_eq!(restage(tmp.path(), &["--write"]).status.code(), Some(0));
    for f in [
        "services/api.Dockerfile",
        "services/crlf/Dockerfile",
        "services/bom/Dockerfile",
    ] {
        assert_eq!(
            std::fs::read(tmp.path().join(f)).unwrap(),
            std::fs::read(applied.path().join(f)).unwrap(),
            "{f}: the diff and --write disagree"
        );
    }
}

#[test]
fn output_is_identical_with_one_thread_and_many() {
    let tmp = tree();
    let one = restage(tmp.path(), &["-j1"]);
    let many = restage(tmp.path(), &["-j8"]);
    let default = restage(tmp.path(), &[]);
    assert_eq!(one.stdout, many.stdout);
    assert_eq!(one.stdout, default.stdout);
    assert_eq!(one.stderr, many.stderr);
    assert!(!one.stdout.is_empty());
}

#[test]
fn select_ignore_and_unknown_ids() {
    let tmp = tree();
    let all: Vec<&str> = restage::transforms::registry()
        .iter()
        .map(|t| t.id)
        .collect();
    let ignored = restage(tmp.path(), &["--check", "--ignore", &all.join(",")]);
    assert_eq!(ignored.status.code(), Some(0), "{}", stderr(&ignored));
    let selected = restage(tmp.path(), &["--check", "--select", "exec-form"]);
    assert_eq!(selected.status.code(), Some(1));
    let unknown = restage(tmp.path(), &["--select", "no-such-transform"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(stderr(&unknown).contains("unknown transform id `no-such-transform`"));
    let bad_flag = restage(tmp.path(), &["--no-such-flag"]);
    assert_eq!(bad_flag.status.code(), Some(2));
}

#[test]
fn color_always_never_and_no_color() {
    let tmp = tree();
    let always = stdout(&restage(tmp.path(), &["--color", "always"]));
    assert!(always.contains("\x1b[32m+CMD"), "{always}");
    let never = stdout(&restage(tmp.path(), &["--color", "never"]));
    assert!(!never.contains('\x1b'));
    let no_color = Command::new(env!("CARGO_BIN_EXE_restage"))
        .current_dir(tmp.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(!String::from_utf8(no_color.stdout).unwrap().contains('\x1b'));
}

#[test]
fn quiet_prints_only_the_diff() {
    let tmp = tree();
    let out = restage(tmp.path(), &["-q"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    assert!(!stdout(&out).is_empty());
}

#[test]
fn list_and_explain() {
    let tmp = tempfile::tempdir().unwrap();
    let list = stdout(&restage(tmp.path(), &["list"]));
    for t in restage::transforms::registry() {
        assert!(list.contains(t.id) && list.contains(t.summary), "{list}");
    }
    let explain = restage(tmp.path(), &["explain", "exec-form"]);
    assert_eq!(explain.status.code(), Some(0));
    assert!(stdout(&explain).starts_with("# exec-form\n"));
    let unknown = restage(tmp.path(), &["explain", "nope"]);
    assert_eq!(unknown.status.code(), Some(2));
}

/// Each bad input gives one line naming the path, the other files are still processed, the exit
/// code is 2, and nothing is written.
#[test]
fn bad_inputs_are_one_line_each_and_do_not_stop_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let good = "FROM node:20-slim\nCMD node server.js\n";
    let mk = |rel: &str, bytes: &[u8]| {
        let p = t.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    };
    mk("a-good/Dockerfile", good.as_bytes());
    mk("binary/Dockerfile", b"FROM x\n\x00\x01\x02CMD y\n");
    mk("latin1/Dockerfile", b"FROM x\nLABEL author=\"Jos\xe9\"\n");
    mk("empty/Dockerfile", b"");
    mk("invalid/Dockerfile", b"FROM x\nNOTANINSTRUCTION y\n");
    mk("z-good/Dockerfile", good.as_bytes());
    let huge = std::fs::File::create(t.join("huge.Dockerfile")).unwrap();
    huge.set_len(100 * 1024 * 1024).unwrap();
    std::os::unix::fs::symlink(t.join("missing-target"), t.join("dangling.Dockerfile")).unwrap();
    std::os::unix::fs::symlink(t.join("loop-b.Dockerfile"), t.join("loop-a.Dockerfile")).unwrap();
    std::os::unix::fs::symlink(t.join("loop-a.Dockerfile"), t.join("loop-b.Dockerfile")).unwrap();
    std::fs::create_dir_all(t.join("dir/Dockerfile")).unwrap();

    let out = restage(t, &["--write", ".", "does-not-exist/Dockerfile"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let expect = [
        ("binary/Dockerfile: error: binary file", 1),
        ("latin1/Dockerfile: error: invalid UTF-8 at line 2", 1),
        ("empty/Dockerfile: error: empty file", 1),
        (
            "invalid/Dockerfile:2:1: error: invalid Dockerfile: unknown instruction",
            1,
        ),
        (
            "huge.Dockerfile: error: file of 104857600 bytes is over the 1 MiB limit",
            1,
        ),
        ("dangling.Dockerfile: error: no such file or directory", 1),
        (
            "loop-a.Dockerfile: error: too many levels of symbolic links",
            1,
        ),
        (
            "loop-b.Dockerfile: error: too many levels of symbolic links",
            1,
        ),
        ("dir/Dockerfile: error: is a directory, not a Dockerfile", 1),
        (
            "does-not-exist/Dockerfile: error: no such file or directory",
            1,
        ),
    ];
    for (line, count) in expect {
        assert_eq!(err.matches(line).count(), count, "`{line}` in:\n{err}");
    }
    // Both good files were rewritten despite the bad ones around them.
    for good_file in ["a-good/Dockerfile", "z-good/Dockerfile"] {
        let text = std::fs::read_to_string(t.join(good_file)).unwrap();
        assert!(
            text.contains("CMD [\"node\", \"server.js\"]"),
            "{good_file}: {text}"
        );
    }
    assert!(err.contains("10 errors"), "{err}");
    // The bad files are untouched.
    assert_eq!(
        std::fs::read(t.join("latin1/Dockerfile")).unwrap(),
        b"FROM x\nLABEL author=\"Jos\xe9\"\n"
    );
}

#[test]
fn unreadable_file_is_reported() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("Dockerfile");
    std::fs::write(&p, "FROM x\nCMD y\n").unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read(&p).is_ok() {
        // Running as root: permissions do not stop reads. Use a path whose read fails for
        // everyone instead: a directory entry that is a FIFO is refused before reading.
        std::fs::remove_file(&p).unwrap();
        let status = Command::new("mkfifo")
            .arg(&p)
            .status()
            .expect("mkfifo runs");
        assert!(status.success());
        let out = restage(tmp.path(), &[]);
        assert_eq!(out.status.code(), Some(2));
        assert!(
            stderr(&out).contains("Dockerfile: error: not a regular file"),
            "{}",
            stderr(&out)
        );
        return;
    }
    let out = restage(tmp.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("Dockerfile: error: permission denied"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn explicit_file_is_processed_whatever_its_name() {
    let tmp = tempfile::tempdir().unwrap();
    let p: PathBuf = tmp.path().join("build.txt");
    std::fs::write(&p, "FROM x\nCMD y\n").unwrap();
    let out = restage(tmp.path(), &["--check", "build.txt"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stdout(&out).contains("+++ b/build.txt"));
}

/// A corp registry mapping in restage.toml takes effect for the Dockerfiles under it; `--no-config`
/// turns it off; an unknown key is an error naming file, line and column.
#[test]
fn config_knowledge_override_takes_effect() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    std::fs::write(
        t.join("restage.toml"),
        "select = [\"multi-stage\"]\n\n[knowledge]\n[[knowledge.mapping]]\nfrom = \"registry.corp/node:*\"\nto = \"registry.corp/node:*-slim\"\nfamily = \"node\"\n",
    )
    .unwrap();
    let svc = t.join("services/web");
    std::fs::create_dir_all(&svc).unwrap();
    std::fs::write(
        svc.join("Dockerfile"),
        "FROM registry.corp/node:20\nWORKDIR /app\nCOPY . .\nRUN npm ci --omit=dev\nCMD node server.js\n",
    )
    .unwrap();
    std::fs::write(
        svc.join("package.json"),
        "{\"name\":\"web\",\"version\":\"1.0.0\"}\n",
    )
    .unwrap();
    std::fs::write(svc.join("package-lock.json"), "{\"lockfileVersion\":3}\n").unwrap();

    let out = restage(t, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let diff = stdout(&out);
    assert!(
        diff.contains("+FROM registry.corp/node:20-slim\n"),
        "{diff}"
    );
    // select = ["multi-stage"] in the file: exec-form did not run.
    assert!(
        diff.contains("CMD node server.js\n") && !diff.contains("CMD [\""),
        "{diff}"
    );

    let off = restage(t, &["--no-config", "--select", "multi-stage"]);
    assert!(
        stdout(&off).is_empty(),
        "without the mapping the image is unknown:\n{}",
        stdout(&off)
    );

    std::fs::write(
        t.join("restage.toml"),
        "select = [\"multi-stage\"]\nunsafe_fixes = true\n",
    )
    .unwrap();
    let bad = restage(t, &[]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("services/web/Dockerfile: error: configuration:")
            && stderr(&bad).contains("restage.toml:2:1"),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn restage_files_lists_contexts_and_ecosystems() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    std::fs::create_dir_all(t.join("api")).unwrap();
    std::fs::write(t.join("api/Dockerfile"), "FROM golang:1.22\n").unwrap();
    std::fs::write(t.join("api/go.mod"), "module example.com/api\n\ngo 1.22\n").unwrap();
    let out = restage(t, &["files"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "api/Dockerfile\tcontext: api (Dockerfile's directory)\tecosystems: go (go.mod)\n"
    );
}

#[test]
fn knowledge_prints_the_merged_knowledge() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let builtin = stdout(&restage(t, &["knowledge"]));
    assert!(builtin.contains("[[family]]"), "{builtin}");
    std::fs::write(
        t.join("restage.toml"),
        "[knowledge.new_user]\nname = \"svc\"\nuid = 20000\ngid = 20000\n",
    )
    .unwrap();
    let merged = stdout(&restage(t, &["knowledge"]));
    assert!(merged.contains("name = \"svc\""), "{merged}");
    assert!(!builtin.contains("name = \"svc\""));
}

#[test]
fn reset_entrypoint_is_valid_and_bare_entrypoint_is_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let mk = |rel: &str, text: &str| {
        let p = t.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    let reset =
        "from node:20-slim\r\n# start node directly\r\nentrypoint [ ]\r\ncmd node server.js\r\n";
    mk("reset/Dockerfile", reset);
    mk(
        "bare/Dockerfile",
        "FROM alpine:3.20\nENTRYPOINT\nCMD [\"true\"]\n",
    );
    mk("broken-from/Dockerfile", "FROM\nRUN true\n");
    let out = restage(t, &["--select", "exec-form", "--write", "reset", "bare"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("bare/Dockerfile:2:1: skipped: unsupported syntax (a restage limitation)"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(t.join("reset/Dockerfile")).unwrap(),
        reset.replace("cmd node server.js", "cmd [\"node\", \"server.js\"]")
    );
    // What BuildKit rejects stays an error.
    let out = restage(t, &["broken-from"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}
