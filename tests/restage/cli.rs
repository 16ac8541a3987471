//! The real binary on copied fixture trees: modes, exit codes, determinism, bad inputs. Each
//! case pins the whole stdout, stderr and exit code of its runs in one insta snapshot (temporary
//! paths shown as `[TMP]`), so a changed message or position shows in review.

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

/// One run as a block of the snapshot: the command line, exit code, stdout and stderr, with
/// the temporary directory as `[TMP]` and escape bytes as `<ESC>`.
fn block(dir: &Path, args: &[&str], out: &Output) -> String {
    let norm = |bytes: &[u8]| {
        let text = String::from_utf8_lossy(bytes)
            .replace(dir.to_str().expect("a UTF-8 temp path"), "[TMP]")
            .replace('\x1b', "<ESC>");
        if text.is_empty() || text.ends_with('\n') {
            text
        } else {
            format!("{text}\n[no final newline]\n")
        }
    };
    format!(
        "$ restage {}\nexit: {}\n--- stdout\n{}--- stderr\n{}",
        args.join(" "),
        out.status
            .code()
            .map_or("killed".to_string(), |c| c.to_string()),
        norm(&out.stdout),
        norm(&out.stderr)
    )
}

/// Runs restage and returns the output and its snapshot block.
fn run(dir: &Path, args: &[&str]) -> (Output, String) {
    let out = restage(dir, args);
    let b = block(dir, args, &out);
    (out, b)
}

/// The blocks of several runs in `dir`, one after the other.
fn runs(dir: &Path, cases: &[&[&str]]) -> String {
    cases
        .iter()
        .map(|args| run(dir, args).1)
        .collect::<Vec<_>>()
        .join("\n")
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

/// The diff of every discovered file, sorted by path; noise (node_modules, hidden and ignored
/// directories, Dockerfile.md/.bak) skipped; nothing written.
#[test]
fn default_prints_the_diff_and_exits_0() {
    let tmp = tree();
    insta::assert_snapshot!(run(tmp.path(), &[]).1);
    let api = std::fs::read_to_string(tmp.path().join("services/api.Dockerfile")).unwrap();
    assert_eq!(api, "FROM node:20-slim\nCMD node server.js\n");
}

#[test]
fn check_exits_1_when_a_change_is_due_and_0_after_write() {
    let tmp = tree();
    insta::assert_snapshot!(runs(
        tmp.path(),
        &[&["--check"], &["--write"], &["--check"]]
    ));
}

#[test]
fn write_keeps_crlf_bom_and_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tree();
    let crlf = tmp.path().join("services/crlf/Dockerfile");
    std::fs::set_permissions(&crlf, std::fs::Permissions::from_mode(0o640)).unwrap();
    let before = std::fs::read(&crlf).unwrap();
    let (_, b) = run(
        tmp.path(),
        &[
            "--write",
            "--select",
            "exec-form",
            "services/crlf",
            "services/bom",
        ],
    );
    insta::assert_snapshot!(b);
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
    let bom = std::fs::read_to_string(tmp.path().join("services/bom/Dockerfile")).unwrap();
    let bom_before =
        std::fs::read_to_string(root().join("fixtures/syntax/bom/Dockerfile")).unwrap();
    assert!(bom_before.starts_with('\u{feff}'));
    assert_eq!(
        bom,
        bom_before.replace("CMD python app.py\n", "CMD [\"python\", \"app.py\"]\n")
    );
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
    let all = all.join(",");
    insta::assert_snapshot!(runs(
        tmp.path(),
        &[
            &["--check", "--ignore", &all],
            &["--check", "-q", "--select", "exec-form"],
            &["--select", "no-such-transform"],
            &["--no-such-flag"],
        ]
    ));
}

#[test]
fn color_always_never_and_no_color() {
    let tmp = tree();
    let args = ["--color", "always", "services/api.Dockerfile"];
    insta::assert_snapshot!(runs(
        tmp.path(),
        &[&args, &["--color", "never", "services/api.Dockerfile"]]
    ));
    let no_color = Command::new(env!("CARGO_BIN_EXE_restage"))
        .arg("services/api.Dockerfile")
        .current_dir(tmp.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let plain = restage(tmp.path(), &["--color", "never", "services/api.Dockerfile"]);
    assert_eq!(no_color.stdout, plain.stdout);
    assert_eq!(no_color.stderr, plain.stderr);
}

#[test]
fn quiet_prints_only_the_diff() {
    let tmp = tree();
    insta::assert_snapshot!(run(tmp.path(), &["-q"]).1);
}

#[test]
fn list_and_explain() {
    let tmp = tempfile::tempdir().unwrap();
    insta::assert_snapshot!(runs(tmp.path(), &[&["list"], &["explain", "nope"]]));
    let explain = restage(tmp.path(), &["explain", "exec-form"]);
    assert_eq!(explain.status.code(), Some(0));
    assert!(explain.stderr.is_empty());
    assert_eq!(
        stdout(&explain),
        std::fs::read_to_string(root().join("transforms/exec-form.md")).unwrap()
    );
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

    // Symlinks met in a walk are not followed: these are named.
    let (_, b) = run(
        t,
        &[
            "--write",
            ".",
            "does-not-exist/Dockerfile",
            "dangling.Dockerfile",
            "loop-a.Dockerfile",
            "loop-b.Dockerfile",
        ],
    );
    insta::assert_snapshot!(b);
    // Both good files were rewritten despite the bad ones around them.
    for good_file in ["a-good/Dockerfile", "z-good/Dockerfile"] {
        let text = std::fs::read_to_string(t.join(good_file)).unwrap();
        assert_eq!(
            text, "FROM node:20-slim\nUSER 1000:1000\nCMD [\"node\", \"server.js\"]\n",
            "{good_file}"
        );
    }
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
        insta::assert_snapshot!("unreadable_file_fifo", run(tmp.path(), &[]).1);
        return;
    }
    insta::assert_snapshot!("unreadable_file_permission", run(tmp.path(), &[]).1);
}

#[test]
fn explicit_file_is_processed_whatever_its_name() {
    let tmp = tempfile::tempdir().unwrap();
    let p: PathBuf = tmp.path().join("build.txt");
    std::fs::write(&p, "FROM x\nCMD y\n").unwrap();
    insta::assert_snapshot!(run(tmp.path(), &["--check", "build.txt"]).1);
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

    // select = ["multi-stage"] in the file: exec-form does not run; without the file the image
    // is unknown and nothing changes.
    let mut blocks = runs(t, &[&[], &["--no-config", "--select", "multi-stage"]]);
    std::fs::write(
        t.join("restage.toml"),
        "select = [\"multi-stage\"]\nunsafe_fixes = true\n",
    )
    .unwrap();
    blocks.push('\n');
    blocks.push_str(&run(t, &[]).1);
    insta::assert_snapshot!(blocks);
}

#[test]
fn restage_files_lists_contexts_and_ecosystems() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    std::fs::create_dir_all(t.join("api")).unwrap();
    std::fs::write(t.join("api/Dockerfile"), "FROM golang:1.22\n").unwrap();
    std::fs::write(t.join("api/go.mod"), "module example.com/api\n\ngo 1.22\n").unwrap();
    insta::assert_snapshot!(run(t, &["files"]).1);
}

#[test]
fn knowledge_prints_the_merged_knowledge() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let builtin = restage(t, &["knowledge"]);
    assert_eq!(builtin.status.code(), Some(0));
    assert!(builtin.stderr.is_empty());
    let builtin = stdout(&builtin);
    assert!(builtin.contains("[[family]]"), "{builtin}");
    std::fs::write(
        t.join("restage.toml"),
        "[knowledge.new_user]\nname = \"svc\"\nuid = 20000\ngid = 20000\n",
    )
    .unwrap();
    let merged = stdout(&restage(t, &["knowledge"]));
    // Exactly the overridden lines differ.
    let changed: Vec<String> = similar::TextDiff::from_lines(&builtin, &merged)
        .iter_all_changes()
        .filter(|c| c.tag() != similar::ChangeTag::Equal)
        .map(|c| format!("{}{}", c.tag(), c.value()))
        .collect();
    insta::assert_snapshot!(changed.concat());
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
    // What BuildKit rejects stays an error.
    insta::assert_snapshot!(runs(
        t,
        &[
            &["--select", "exec-form", "--write", "reset", "bare"],
            &["broken-from"],
        ]
    ));
    assert_eq!(
        std::fs::read_to_string(t.join("reset/Dockerfile")).unwrap(),
        reset.replace("cmd node server.js", "cmd [\"node\", \"server.js\"]")
    );
}

/// A misspelt keyword after a valid here-document is an invalid file (exit 2 under --check),
/// not a skipped limitation; a here-document form the parser lacks is skipped at its RUN.
#[test]
fn heredoc_then_invalid_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    std::fs::write(
        t.join("invalid.Dockerfile"),
        "FROM debian:12\nRUN <<EOF\napt-get update\nEOF\nFRM scratch\n",
    )
    .unwrap();
    std::fs::write(
        t.join("two.Dockerfile"),
        "FROM debian:12\nRUN <<A <<B\necho a\nA\necho b\nB\nCMD [\"true\"]\n",
    )
    .unwrap();
    insta::assert_snapshot!(runs(
        t,
        &[
            &["--check", "invalid.Dockerfile"],
            &["--check", "two.Dockerfile"]
        ]
    ));
}

/// Notes and warnings at positions of the file as read, with several transforms moving lines:
/// the suppression that held exec-form back is not the one reported unused.
#[test]
fn positions_are_the_original_files() {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(
        &root().join("fixtures/exec-form/suppression-kept-when-lines-move"),
        tmp.path(),
    );
    copy_dir(
        &root().join("fixtures/copy-order/with-multi-stage-node"),
        &tmp.path().join("web"),
    );
    insta::assert_snapshot!(runs(
        tmp.path(),
        &[
            &["--check", "--select", "copy-order,exec-form", "Dockerfile"],
            &[
                "--check",
                "--select",
                "copy-order,multi-stage,exec-form",
                "web"
            ],
        ]
    ));
}
