//! `restage -`: a Dockerfile on stdin behaves as the file `--stdin-filename` names, and a
//! mistyped subcommand is not silently read as a path.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::common::root;

fn restage(dir: &Path, args: &[&str], input: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_restage"))
        .args(args)
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the restage binary runs");
    if let Some(bytes) = input {
        let mut stdin = child.stdin.take().expect("piped stdin");
        stdin.write_all(bytes).expect("writing stdin");
    }
    child.wait_with_output().expect("restage finishes")
}

/// Exit code, stdout and stderr, for whole comparisons.
fn all(o: &Output) -> (i32, String, String) {
    (
        o.status.code().expect("an exit code"),
        String::from_utf8(o.stdout.clone()).expect("UTF-8 stdout"),
        String::from_utf8(o.stderr.clone()).expect("UTF-8 stderr"),
    )
}

/// `services/api/`: a Go fixture (a go.mod is the build context the multi-stage rewrite
/// needs) and a `restage.toml` above it that also turns off non-root-user.
fn tree() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("temp dir");
    let api = tmp.path().join("services/api");
    std::fs::create_dir_all(&api).expect("mkdir");
    for name in ["Dockerfile", "go.mod"] {
        std::fs::copy(
            root().join("fixtures/multi-stage/go-static").join(name),
            api.join(name),
        )
        .expect("copy fixture");
    }
    std::fs::write(
        tmp.path().join("services/restage.toml"),
        "ignore = [\"non-root-user\"]\n",
    )
    .expect("write config");
    tmp
}

const NAME: &str = "services/api/Dockerfile";

#[test]
fn stdin_output_equals_file_output_in_every_mode() {
    let tmp = tree();
    let t = tmp.path();
    let text = std::fs::read(t.join(NAME)).expect("fixture");
    for mode in [&[][..], &["--check"][..], &["--unsafe-fixes"][..]] {
        let file_args: Vec<&str> = mode.iter().copied().chain([NAME]).collect();
        let stdin_args: Vec<&str> = mode
            .iter()
            .copied()
            .chain(["-", "--stdin-filename", NAME])
            .collect();
        let file = all(&restage(t, &file_args, None));
        let stdin = all(&restage(t, &stdin_args, Some(&text)));
        assert_eq!(stdin, file, "mode {mode:?}");
        assert_eq!(file.0, if mode == ["--check"] { 1 } else { 0 });
        assert!(
            file.1.starts_with(&format!("--- a/{NAME}\n+++ b/{NAME}\n")),
            "{}",
            file.1
        );
        // restage.toml above the name applies: non-root-user did not run.
        assert!(!file.2.contains("non-root-user"), "{}", file.2);
    }
}

#[test]
fn the_name_need_not_exist_its_directory_gives_config_and_context() {
    let tmp = tree();
    let t = tmp.path();
    let text = std::fs::read(t.join(NAME)).expect("fixture");
    let on_disk = all(&restage(t, &["-", "--stdin-filename", NAME], Some(&text)));
    std::fs::remove_file(t.join(NAME)).expect("remove");
    let absent = all(&restage(t, &["-", "--stdin-filename", NAME], Some(&text)));
    assert_eq!(absent, on_disk);
    // Another directory: no go.mod, no restage.toml, so a different result.
    let elsewhere = all(&restage(
        t,
        &["-", "--stdin-filename", "Dockerfile"],
        Some(&text),
    ));
    assert_ne!(elsewhere, on_disk);
    assert!(elsewhere.2.contains("Dockerfile:"), "{}", elsewhere.2);
}

#[test]
fn write_prints_the_rewritten_file_and_touches_nothing() {
    let tmp = tree();
    let t = tmp.path();
    let text = std::fs::read(t.join(NAME)).expect("fixture");
    let (code, out, err) = all(&restage(
        t,
        &["-q", "--write", "-", "--stdin-filename", NAME],
        Some(&text),
    ));
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(std::fs::read(t.join(NAME)).expect("still there"), text);
    // The same text `--write` puts in the file.
    let written = all(&restage(t, &["-q", "--write", NAME], None));
    assert_eq!(written, (0, String::new(), String::new()));
    let rewritten = std::fs::read_to_string(t.join(NAME)).expect("rewritten");
    assert_ne!(rewritten.as_bytes(), text.as_slice());
    assert_eq!(out, rewritten);
    // Already rewritten: the input comes back unchanged.
    let again = all(&restage(
        t,
        &["-q", "--write", "-", "--stdin-filename", NAME],
        Some(rewritten.as_bytes()),
    ));
    assert_eq!(again, (0, rewritten.clone(), String::new()));
    // A report format the current directory's restage.toml sets for CI is no format for the
    // formatter mode: it still prints the file.
    std::fs::write(t.join("restage.toml"), "output-format = \"github\"\n").expect("write");
    let configured = all(&restage(
        t,
        &["-q", "--write", "-", "--stdin-filename", NAME],
        Some(&text),
    ));
    assert_eq!(configured, (0, rewritten.clone(), String::new()));
    // One named on the command line is refused.
    let named = all(&restage(
        t,
        &[
            "--write",
            "--output-format",
            "json",
            "-",
            "--stdin-filename",
            NAME,
        ],
        Some(&text),
    ));
    assert_eq!(named.0, 2, "{named:?}");
}

#[test]
fn force_exclude_leaves_a_name_discovery_would_leave_out() {
    let tmp = tree();
    let t = tmp.path();
    let text = std::fs::read(t.join(NAME)).expect("fixture");
    let as_template = |mode: &str| {
        all(&restage(
            t,
            &[
                mode,
                "-q",
                "--force-exclude",
                "-",
                "--stdin-filename",
                "services/api/Dockerfile.j2",
            ],
            Some(&text),
        ))
    };
    // A template's name: the formatter mode gives the input back, the check passes.
    let utf8 = String::from_utf8(text.clone()).expect("UTF-8");
    assert_eq!(as_template("--write"), (0, utf8, String::new()));
    assert_eq!(as_template("--check"), (0, String::new(), String::new()));
    // Without the flag, or under a Dockerfile's name, it is processed.
    let named = all(&restage(
        t,
        &[
            "--check",
            "-q",
            "-",
            "--stdin-filename",
            "services/api/Dockerfile.j2",
        ],
        Some(&text),
    ));
    assert_eq!(named.0, 1, "{named:?}");
    let dockerfile = all(&restage(
        t,
        &[
            "--check",
            "-q",
            "--force-exclude",
            "-",
            "--stdin-filename",
            NAME,
        ],
        Some(&text),
    ));
    assert_eq!(dockerfile.0, 1, "{dockerfile:?}");
}

#[test]
fn stdin_errors_and_misuse() {
    let tmp = tree();
    let t = tmp.path();
    let bad = all(&restage(
        t,
        &["--write", "-", "--stdin-filename", NAME],
        Some(b"FROM a\0"),
    ));
    assert_eq!(
        bad,
        (
            2,
            String::new(),
            format!(
                "{NAME}: error: stdin: binary input (NUL byte at offset 6)\nrestage: 1 file: 0 rewritten, 0 unchanged, 1 error\n"
            )
        )
    );
    let mixed = all(&restage(t, &["-", "services"], Some(b"FROM a\n")));
    assert_eq!(
        mixed,
        (
            2,
            String::new(),
            "restage: error: `-` (stdin) cannot be combined with other paths\n".into()
        )
    );
    let no_dash = all(&restage(t, &["--stdin-filename", NAME], None));
    assert_eq!(
        no_dash,
        (
            2,
            String::new(),
            "restage: error: --stdin-filename applies only when the path is `-` (stdin)\n".into()
        )
    );
}

#[test]
fn mistyped_subcommands_are_named_paths_that_exist_are_paths() {
    let tmp = tree();
    let t = tmp.path();
    for (typed, meant) in [
        ("lst", "list"),
        ("explian", "explain"),
        ("fiels", "files"),
        ("completion", "completions"),
    ] {
        let o = all(&restage(t, &[typed, "x"], None));
        assert_eq!(
            o,
            (
                2,
                String::new(),
                format!(
                    "restage: error: unknown command or path `{typed}`; did you mean `{meant}`?\n"
                )
            ),
            "{typed}"
        );
    }
    // A command's own name after an option: read as a path, and named as a command.
    for args in [&["--check", "list"][..], &["-q", "explain", "exec-form"]] {
        let o = all(&restage(t, args, None));
        let name = args[1];
        assert_eq!(
            o,
            (
                2,
                String::new(),
                format!(
                    "restage: error: `{name}` is a command, but an option comes before it: a command comes first, its options after it (`restage {name} ...`)\n"
                )
            ),
            "{args:?}"
        );
    }
    // Not close to any subcommand: an ordinary missing path.
    let missing = all(&restage(t, &["nothing-here"], None));
    assert_eq!(
        missing,
        (
            2,
            String::new(),
            "nothing-here: error: no such file or directory\nrestage: 1 file: 0 would change, 0 unchanged, 1 error\n".into()
        )
    );
    // A file that exists under a near-subcommand name is processed as a path.
    std::fs::write(t.join("lst"), "FROM alpine:3.20\nUSER 10001:10001\n").expect("write");
    let path = all(&restage(t, &["lst"], None));
    assert_eq!(
        path,
        (
            0,
            String::new(),
            "restage: 1 file: 0 would change, 1 unchanged\n".into()
        )
    );
}
