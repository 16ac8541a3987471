//! File handling through the real binary: what is read (kernel files, symlinks, one file reached
//! twice, excludes, templates, config discovery), what `--write` guarantees, and diffs that
//! `git apply` accepts. Each case pins the whole stdout, stderr and exit code.

use std::path::Path;
use std::process::Command;

use crate::common::{restage_in as restage, write_file as write};

/// A Dockerfile exec-form rewrites, and its diff.
const SHELL_CMD: &str = "FROM node:20-slim\nCMD node server.js\n";

fn exec_diff(path: &str) -> String {
    format!(
        "--- a/{path}\n+++ b/{path}\n@@ -1,2 +1,2 @@\n FROM node:20-slim\n-CMD node server.js\n+CMD [\"node\", \"server.js\"]\n"
    )
}

#[cfg(target_os = "linux")]
#[test]
fn kernel_files_are_refused_not_read() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let t = tmp.path();
    std::os::unix::fs::symlink("/proc/self/status", t.join("Dockerfile")).expect("symlink");
    let got = restage(t, &["--no-config", "Dockerfile"]);
    assert_eq!(
        got,
        (
            2,
            String::new(),
            "Dockerfile: error: on a kernel file system (procfs), not read\n\
             restage: 1 file: 0 would change, 0 unchanged, 1 error\n"
                .to_owned()
        )
    );
}

/// `root/outside/Dockerfile`, and `root/repo/` holding `svc/Dockerfile`, a symlink
/// `svc/api.Dockerfile` to the outside file and a symlink `Dockerfile` to `svc/Dockerfile`.
fn tree_with_symlinks() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tempdir");
    let t = tmp.path();
    write(t, "outside/Dockerfile", SHELL_CMD);
    write(t, "repo/svc/Dockerfile", SHELL_CMD);
    std::os::unix::fs::symlink(
        "../../outside/Dockerfile",
        t.join("repo/svc/api.Dockerfile"),
    )
    .expect("symlink");
    std::os::unix::fs::symlink("svc/Dockerfile", t.join("repo/Dockerfile")).expect("symlink");
    tmp
}

const ARGS: [&str; 3] = ["--no-config", "--select", "exec-form"];

fn with<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut all = ARGS.to_vec();
    all.extend_from_slice(args);
    all
}

fn note(path: &str) -> String {
    format!("{path}:2:1: exec-form: Write CMD in exec form\n")
}

#[test]
fn walked_symlinks_are_not_followed_and_write_stays_in_the_tree() {
    let tmp = tree_with_symlinks();
    let repo = tmp.path().join("repo");
    assert_eq!(
        restage(&repo, &with(&[])),
        (
            0,
            exec_diff("svc/Dockerfile"),
            note("svc/Dockerfile") + "restage: 1 file: 1 would change, 0 unchanged\n"
        )
    );
    assert_eq!(
        restage(&repo, &with(&["--write"])),
        (
            0,
            String::new(),
            note("svc/Dockerfile") + "restage: 1 file: 1 rewritten, 0 unchanged\n"
        )
    );
    let outside = std::fs::read_to_string(tmp.path().join("outside/Dockerfile")).expect("read");
    assert_eq!(outside, SHELL_CMD, "the file outside the tree is untouched");
    assert_ne!(
        std::fs::read_to_string(repo.join("svc/Dockerfile")).expect("read"),
        SHELL_CMD
    );
}

#[test]
fn follow_walks_symlinks_and_each_file_is_processed_once() {
    let tmp = tree_with_symlinks();
    let repo = tmp.path().join("repo");
    // `Dockerfile` and `svc/Dockerfile` are one file: the first in sorted order is kept.
    assert_eq!(
        restage(&repo, &with(&["--follow"])),
        (
            0,
            exec_diff("Dockerfile") + &exec_diff("svc/api.Dockerfile"),
            note("Dockerfile")
                + &note("svc/api.Dockerfile")
                + "restage: 2 files: 2 would change, 0 unchanged\n"
        )
    );
}

#[test]
fn a_folder_symlink_loop_met_with_follow_is_an_error_for_its_path() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let t = tmp.path();
    write(t, "svc/Dockerfile", SHELL_CMD);
    std::os::unix::fs::symlink(".", t.join("svc/me")).expect("symlink");
    std::os::unix::fs::symlink("..", t.join("svc/up")).expect("symlink");
    let loop_error =
        |p: &str| format!("{p}: error: symlink loop: it leads back to a folder it is in\n");
    assert_eq!(
        restage(t, &with(&["--follow"])),
        (
            2,
            exec_diff("svc/Dockerfile"),
            note("svc/Dockerfile")
                + &loop_error("svc/me")
                + &loop_error("svc/up")
                + "restage: 3 files: 1 would change, 0 unchanged, 2 errors\n"
        )
    );
    // Not followed, the links are passed over.
    assert_eq!(restage(t, &with(&[])).0, 0);
}

#[test]
fn problems_found_by_the_walk_are_in_path_order_with_the_files() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let t = tmp.path();
    write(t, "Z.Dockerfile", SHELL_CMD);
    write(t, "a.Dockerfile", SHELL_CMD);
    write(t, "c/Dockerfile", SHELL_CMD);
    std::fs::create_dir(t.join("Dockerfile")).expect("mkdir");
    let (code, out, err) = restage(t, &with(&[]));
    assert_eq!(code, 2);
    assert_eq!(
        out,
        exec_diff("Z.Dockerfile") + &exec_diff("a.Dockerfile") + &exec_diff("c/Dockerfile")
    );
    assert_eq!(
        err,
        "Dockerfile: error: is a directory, not a Dockerfile\n".to_string()
            + &note("Z.Dockerfile")
            + &note("a.Dockerfile")
            + &note("c/Dockerfile")
            + "restage: 4 files: 3 would change, 0 unchanged, 1 error\n"
    );
}

#[test]
fn one_file_named_twice_and_walked_is_processed_once() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let t = tmp.path();
    write(t, "Dockerfile", SHELL_CMD);
    std::fs::hard_link(t.join("Dockerfile"), t.join("hard.Dockerfile")).expect("hard link");
    let expected = (
        0,
        exec_diff("Dockerfile"),
        note("Dockerfile") + "restage: 1 file: 1 would change, 0 unchanged\n",
    );
    assert_eq!(
        restage(t, &with(&["Dockerfile", "./Dockerfile", "."])),
        expected
    );
    // A path named on the command line is followed, and is still the same file.
    std::os::unix::fs::symlink("Dockerfile", t.join("link")).expect("symlink");
    assert_eq!(restage(t, &with(&["Dockerfile", "link"])), expected);
}

#[test]
fn templates_are_not_discovered_but_named_ones_are_processed() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let t = tmp.path();
    write(t, "Dockerfile", SHELL_CMD);
    for template in [
        "Dockerfile.j2",
        "Dockerfile.jinja",
        "Dockerfile.tmpl",
        "Dockerfile.template",
        "Dockerfile.in",
        "Dockerfile.erb",
        "Dockerfile.tpl",
    ] {
        write(t, template, "FROM {{ base }}\nCMD {{ cmd }}\n");
    }
    write(t, "web/Dockerfile.prod.j2", "FROM {% if x %}a{% endif %}\n");
    assert_eq!(
        restage(t, &with(&[])),
        (
            0,
            exec_diff("Dockerfile"),
            note("Dockerfile") + "restage: 1 file: 1 would change, 0 unchanged\n"
        )
    );
    write(t, "Dockerfile.in", SHELL_CMD);
    assert_eq!(
        restage(t, &with(&["Dockerfile.in"])),
        (
            0,
            exec_diff("Dockerfile.in"),
            note("Dockerfile.in") + "restage: 1 file: 1 would change, 0 unchanged\n"
        )
    );
}

#[test]
fn exclude_extend_exclude_and_the_command_line() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let t = tmp.path();
    for rel in [
        "a/Dockerfile",
        "legacy/Dockerfile",
        "svc/legacy/Dockerfile",
        "svc/gen/api.Dockerfile",
        "node_modules/x/Dockerfile",
    ] {
        write(t, rel, SHELL_CMD);
    }
    let args = ["--select", "exec-form"];
    // The files processed, after checking the whole output is theirs.
    let run = |paths: &[&str], extra: &[&str]| {
        let mut all = args.to_vec();
        all.extend_from_slice(extra);
        all.extend_from_slice(paths);
        let (code, out, err) = restage(t, &all);
        let files: Vec<String> = out
            .lines()
            .filter_map(|l| l.strip_prefix("+++ b/"))
            .map(str::to_owned)
            .collect();
        let n = files.len();
        let plural = if n == 1 { "file" } else { "files" };
        let expected = (
            0,
            files.iter().map(|f| exec_diff(f)).collect::<String>(),
            files.iter().map(|f| note(f)).collect::<String>()
                + &format!("restage: {n} {plural}: {n} would change, 0 unchanged\n"),
        );
        assert_eq!((code, out, err), expected);
        files
    };
    // Without a config file, node_modules is left out.
    assert_eq!(
        run(&[], &[]),
        [
            "a/Dockerfile",
            "legacy/Dockerfile",
            "svc/gen/api.Dockerfile",
            "svc/legacy/Dockerfile"
        ]
    );
    // `extend-exclude` adds to that default, gitignore-style, relative to the config file.
    write(
        t,
        "restage.toml",
        "extend-exclude = [\"legacy/\", \"/svc/gen\"]\n",
    );
    assert_eq!(run(&[], &[]), ["a/Dockerfile"]);
    // `exclude` replaces the default: node_modules is walked again.
    write(t, "restage.toml", "exclude = [\"legacy\"]\n");
    assert_eq!(
        run(&[], &[]),
        [
            "a/Dockerfile",
            "node_modules/x/Dockerfile",
            "svc/gen/api.Dockerfile"
        ]
    );
    // `--exclude` adds, relative to the current directory; a named file is still processed.
    assert_eq!(
        run(
            &[".", "svc/gen/api.Dockerfile"],
            &["--exclude", "svc", "--exclude", "node_modules"]
        ),
        ["a/Dockerfile", "svc/gen/api.Dockerfile"]
    );
}

#[test]
fn a_broken_config_is_reported_once() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let t = tmp.path();
    for rel in ["a/Dockerfile", "b/Dockerfile", "c/Dockerfile"] {
        write(t, rel, SHELL_CMD);
    }
    write(t, "restage.toml", "extend-exclude = [\"ok\", \"a/{b\"]\n");
    assert_eq!(
        restage(t, &[]),
        (
            2,
            String::new(),
            "restage.toml:1:25: error: invalid glob `a/{b`: unclosed alternate group; \
             missing '}' (maybe escape '{' with '[{]'?)\n\
             restage: 3 files: 0 would change, 0 unchanged, 3 errors\n"
                .to_owned()
        )
    );
    assert_eq!(
        restage(t, &["files"]),
        (
            2,
            String::new(),
            "restage.toml:1:25: error: invalid glob `a/{b`: unclosed alternate group; \
             missing '}' (maybe escape '{' with '[{]'?)\n"
                .to_owned()
        )
    );
    // The machine formats report it once too, at the configuration file; every Dockerfile
    // under it still counts as an error.
    let (code, out, err) = restage(t, &["--output-format", "github"]);
    assert_eq!((code, err.as_str()), (2, ""));
    assert_eq!(
        out,
        "::error file=restage.toml,line=1,col=25,title=restage error::configuration: invalid glob \
         `a/{b`: unclosed alternate group; missing '}' (maybe escape '{' with '[{]'?)\n"
    );
    let (code, out, _) = restage(t, &["--output-format", "gitlab"]);
    let issues: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(code, 2);
    assert_eq!(issues.as_array().map(Vec::len), Some(1), "{issues}");
    assert_eq!(issues[0]["location"]["path"], "restage.toml");
    let (_, out, _) = restage(t, &["--output-format", "sarif"]);
    let sarif: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let notes = &sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"];
    assert_eq!(notes.as_array().map(Vec::len), Some(1), "{notes}");
    let uri = &notes[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"];
    assert_eq!(uri, "restage.toml");
    let (_, out, _) = restage(t, &["--output-format", "markdown"]);
    assert_eq!(out.matches("invalid glob").count(), 1, "{out}");
    assert!(
        out.contains("3 files: 0 would change, 0 unchanged, 3 errors"),
        "{out}"
    );
    // JSON lists files: each has its status.
    let (_, out, _) = restage(t, &["--output-format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(doc["summary"]["errors"], 3);
    // A config only some files use: the others are processed.
    write(t, "restage.toml", "");
    write(t, "b/restage.toml", "select = [\"exec-form\"\n");
    let (code, out, err) = restage(t, &["--select", "exec-form"]);
    assert_eq!(
        (code, out, err),
        (
            2,
            exec_diff("a/Dockerfile") + &exec_diff("c/Dockerfile"),
            "b/restage.toml:1:22: error: unclosed array, expected `]`\n".to_owned()
                + &note("a/Dockerfile")
                + &note("c/Dockerfile")
                + "restage: 3 files: 2 would change, 0 unchanged, 1 error\n"
        )
    );
}

/// Each file of one run gets the settings of its own folder's configuration, with one and two
/// threads: a folder that selects exec-form, one that ignores it, and folders under the root's
/// configuration before, between and after them.
#[test]
fn each_file_of_a_run_gets_its_own_folders_settings() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let t = tmp.path();
    write(t, "restage.toml", "");
    for dir in ["a", "b", "c", "d", "e"] {
        write(
            t,
            &format!("{dir}/Dockerfile"),
            "FROM node:20-slim\nWORKDIR /app\nCOPY . .\nCMD node server.js\n",
        );
        write(t, &format!("{dir}/package.json"), "{\"name\": \"a\"}\n");
    }
    write(t, "b/restage.toml", "select = [\"exec-form\"]\n");
    write(t, "d/restage.toml", "ignore = [\"exec-form\"]\n");
    let exec = "+CMD [\"node\", \"server.js\"]\n";
    let user = "+USER 1000:1000\n";
    for jobs in ["-j1", "-j2"] {
        let (code, out, err) = restage(t, &["--check", jobs, "."]);
        assert_eq!(code, 1, "{err}");
        let diffs: Vec<&str> = out.split("--- a/").filter(|d| !d.is_empty()).collect();
        let seen: Vec<(&str, bool, bool)> = diffs
            .iter()
            .map(|d| (&d[..1], d.contains(exec), d.contains(user)))
            .collect();
        assert_eq!(
            seen,
            [
                ("a", true, true),
                ("b", true, false),
                ("c", true, true),
                ("d", false, true),
                ("e", true, true),
            ],
            "{jobs}: {out}"
        );
    }
}

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn write_keeps_read_only_files_read_only_and_refuses_hard_linked_files() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().expect("tempdir");
    let t = tmp.path();
    write(t, "ro/Dockerfile", SHELL_CMD);
    std::fs::set_permissions(
        t.join("ro/Dockerfile"),
        std::fs::Permissions::from_mode(0o444),
    )
    .expect("chmod");
    write(t, "linked/Dockerfile", SHELL_CMD);
    std::fs::hard_link(t.join("linked/Dockerfile"), t.join("linked-copy")).expect("link");
    assert_eq!(
        restage(t, &with(&["--write"])),
        (
            2,
            String::new(),
            "linked/Dockerfile: error: could not write: file has 2 hard links, left as it is \
             (a rewrite would split them)\n\
             ro/Dockerfile:2:1: exec-form: Write CMD in exec form\n\
             restage: 2 files: 1 rewritten, 0 unchanged, 1 error\n"
                .to_owned()
        )
    );
    // Tests run as root, who may replace a 0444 file: it is rewritten and stays 0444.
    assert_ne!(
        std::fs::read_to_string(t.join("ro/Dockerfile")).expect("read"),
        SHELL_CMD
    );
    assert_eq!(
        std::fs::metadata(t.join("ro/Dockerfile"))
            .expect("stat")
            .permissions()
            .mode()
            & 0o7777,
        0o444
    );
    for rel in ["linked/Dockerfile", "linked-copy"] {
        assert_eq!(
            std::fs::read_to_string(t.join(rel)).expect("read"),
            SHELL_CMD,
            "{rel}"
        );
    }
    assert_eq!(names(&t.join("ro")), ["Dockerfile"]);
    assert_eq!(names(&t.join("linked")), ["Dockerfile"]);
}

#[test]
fn write_keeps_setuid_setgid_and_sticky_bits() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().expect("tempdir");
    let t = tmp.path();
    write(t, "Dockerfile", SHELL_CMD);
    std::fs::set_permissions(
        t.join("Dockerfile"),
        std::fs::Permissions::from_mode(0o6754),
    )
    .expect("chmod");
    assert_eq!(
        restage(t, &with(&["--write"])),
        (
            0,
            String::new(),
            note("Dockerfile") + "restage: 1 file: 1 rewritten, 0 unchanged\n"
        )
    );
    let meta = std::fs::metadata(t.join("Dockerfile")).expect("stat");
    assert_eq!(meta.permissions().mode() & 0o7777, 0o6754);
    assert_eq!(
        std::fs::read_to_string(t.join("Dockerfile")).expect("read"),
        "FROM node:20-slim\nCMD [\"node\", \"server.js\"]\n"
    );
}

/// `--write` stopped by `signal` while its temporary file exists: the exit code, and the
/// directory afterwards.
fn interrupted_write(signal: i32) -> (Option<i32>, Vec<String>, String) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let t = tmp.path();
    write(t, "app/Dockerfile", SHELL_CMD);
    let marker = t.join("writing");
    let mut child = Command::new(env!("CARGO_BIN_EXE_restage"))
        .args(with(&["--write", "app"]))
        .current_dir(t)
        .env("RESTAGE_TEST_HOLD_WRITE", &marker)
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let mut waited = 0;
    while !marker.exists() {
        assert!(waited < 3000, "the write never started");
        std::thread::sleep(std::time::Duration::from_millis(10));
        waited += 1;
    }
    let pid = i32::try_from(child.id()).expect("a pid");
    // SAFETY: sends a signal to the child this test started.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
    let status = child.wait().expect("wait");
    (
        status.code(),
        names(&t.join("app")),
        std::fs::read_to_string(t.join("app/Dockerfile")).expect("read"),
    )
}

#[test]
fn interrupted_write_removes_its_temporary_files() {
    let left = (vec!["Dockerfile".to_owned()], SHELL_CMD.to_owned());
    let (code, names, text) = interrupted_write(libc::SIGTERM);
    assert_eq!((code, (names, text)), (Some(143), left.clone()));
    let (code, names, text) = interrupted_write(libc::SIGINT);
    assert_eq!((code, (names, text)), (Some(130), left));
}

/// Runs `program args` in `dir` with `stdin`; its exit code and stderr.
fn tool(dir: &Path, program: &str, args: &[&str], stdin: &[u8]) -> (i32, String) {
    use std::io::Write as _;
    let mut child = Command::new(program)
        .args(args)
        .current_dir(dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{program} runs: {e}"));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin)
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn diffs_of_bare_cr_and_strange_names_apply_with_git_and_patch() {
    use std::os::unix::ffi::OsStrExt;
    let tmp = tempfile::tempdir().expect("tempdir");
    let t = tmp.path();
    write(
        t,
        "Dockerfile",
        "FROM node:20-slim\nLABEL a=\"x\ry\"\nCMD node server.js\n",
    );
    write(
        t,
        "we\"ird/a\tb\nc.Dockerfile",
        "FROM node:20-slim\nCMD node server.js",
    );
    let latin1 = std::ffi::OsStr::from_bytes(b"caf\xe9 x.Dockerfile");
    std::fs::write(t.join(latin1), SHELL_CMD).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_restage"))
        .args(with(&[]))
        .current_dir(t)
        .output()
        .expect("runs");
    let patch = out.stdout;
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(patch.clone()).expect("the diff is ASCII"),
        "--- a/Dockerfile\n+++ b/Dockerfile\n@@ -1,3 +1,3 @@\n FROM node:20-slim\n \
         LABEL a=\"x\ry\"\n-CMD node server.js\n+CMD [\"node\", \"server.js\"]\n\
         --- \"a/caf\\351 x.Dockerfile\"\n+++ \"b/caf\\351 x.Dockerfile\"\n@@ -1,2 +1,2 @@\n \
         FROM node:20-slim\n-CMD node server.js\n+CMD [\"node\", \"server.js\"]\n\
         --- \"a/we\\\"ird/a\\tb\\nc.Dockerfile\"\n+++ \"b/we\\\"ird/a\\tb\\nc.Dockerfile\"\n\
         @@ -1,2 +1,2 @@\n FROM node:20-slim\n-CMD node server.js\n\\ No newline at end of file\n\
         +CMD [\"node\", \"server.js\"]\n\\ No newline at end of file\n"
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "Dockerfile:3:1: exec-form: Write CMD in exec form\n".to_owned()
            + &note("caf\u{fffd} x.Dockerfile")
            // A path with a line break is quoted, so its note stays one line.
            + &note("\"we\\\"ird/a\\tb\\nc.Dockerfile\"")
            + "restage: 3 files: 3 would change, 0 unchanged\n"
    );
    assert_eq!(
        tool(t, "git", &["init", "-q", "."], b""),
        (0, String::new())
    );
    assert_eq!(
        tool(t, "git", &["apply", "--check", "-"], &patch),
        (0, String::new())
    );
    assert_eq!(
        tool(t, "patch", &["-p1", "--dry-run", "--silent"], &patch),
        (0, String::new())
    );
    assert_eq!(tool(t, "git", &["apply", "-"], &patch), (0, String::new()));
    assert_eq!(
        std::fs::read_to_string(t.join("Dockerfile")).expect("read"),
        "FROM node:20-slim\nLABEL a=\"x\ry\"\nCMD [\"node\", \"server.js\"]\n"
    );
    assert_eq!(
        std::fs::read_to_string(t.join(latin1)).expect("read"),
        "FROM node:20-slim\nCMD [\"node\", \"server.js\"]\n"
    );
    assert_eq!(
        std::fs::read_to_string(t.join("we\"ird/a\tb\nc.Dockerfile")).expect("read"),
        "FROM node:20-slim\nCMD [\"node\", \"server.js\"]"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn context_and_config_files_on_procfs_never_block() {
    // /proc/kmsg blocks a reader forever; it is refused before any read.
    let target = if Path::new("/proc/kmsg").exists() {
        "/proc/kmsg"
    } else {
        "/proc/self/status"
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let t = tmp.path();
    write(
        t,
        "Dockerfile",
        "FROM node:20-slim\nWORKDIR /app\nCOPY . .\nRUN npm ci\nCMD node server.js\n",
    );
    for name in ["package.json", ".dockerignore", "restage.toml"] {
        std::os::unix::fs::symlink(target, t.join(name)).expect("symlink");
    }
    assert_eq!(
        restage(t, &["--select", "copy-order"]),
        (
            2,
            String::new(),
            "restage.toml: error: cannot read: on a kernel file system (procfs), not read\n\
             restage: 1 file: 0 would change, 0 unchanged, 1 error\n"
                .to_owned()
        )
    );
    assert_eq!(
        restage(t, &["--select", "copy-order", "--no-config"]),
        (
            0,
            String::new(),
            "Dockerfile:4:1: copy-order (suggestion): Install dependencies before copying the \
             sources: `npm ci` runs after `COPY . .`, so every source change re-runs it; restage \
             leaves it because package.json could not be read\n\
             restage: 1 file: 0 would change, 1 unchanged, 1 suggestion\n"
                .to_owned()
        )
    );
}
