//! `restage verify` through the real binary: it passes on a fixture case, exits 1 naming the
//! difference for broken rewrites given with `--against`, and exits 2 with one line when no
//! engine answers. Build times, sizes and log timestamps vary between runs, so the output is
//! normalised (`N.N s`, `N.N MB`, `N%`, `TIME`) before the exact comparison.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn broken(name: &str) -> PathBuf {
    root().join("tests/e2e/broken").join(name)
}

/// Runs `restage ARGS` from the repository root: (exit code, normalised stdout, normalised stderr).
fn restage(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_restage"))
        .args(args)
        .envs(env.iter().copied())
        .current_dir(root())
        .output()
        .expect("restage runs");
    (
        out.status.code().unwrap_or(-1),
        normalise(&String::from_utf8_lossy(&out.stdout)),
        normalise(&String::from_utf8_lossy(&out.stderr)),
    )
}

fn normalise(text: &str) -> String {
    let rules: &[(&str, &str)] = &[
        (r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d", "TIME"),
        (r"\d+\.\d s\)", "N.N s)"),
        (r"\d+\.\d MB", "N.N MB"),
        (r"[-+]\d+%", "N%"),
        (r"-\d+-\d+\b", "-PID-N"),
        // Column widths follow the numbers.
        (r" {2,}", "  "),
    ];
    let mut text = text.to_string();
    for (re, to) in rules {
        text = regex::Regex::new(re)
            .expect("valid regex")
            .replace_all(&text, *to)
            .into_owned();
    }
    text
}

const HTTP: &[&str] = &[
    "--http",
    "8080/health",
    "--expect",
    "\"region\":\"north-sea\"",
];

pub fn passes_on_a_fixture_case() {
    let mut args = vec![
        "verify",
        "fixtures/e2e/go-data-workdir",
        "--rebuild=main.go",
    ];
    args.extend_from_slice(HTTP);
    let got = restage(&args, &[]);
    let want = "\
restage verify: fixtures/e2e/go-data-workdir/Dockerfile (context: fixtures/e2e/go-data-workdir)
  original  rewritten
build  ok (N.N s)  ok (N.N s)
size  N.N MB  N.N MB (N%)
runs as uid  0  65532
probe: GET :8080/health, expect \"\\\"region\\\":\\\"north-sea\\\"\"  HTTP 200  same
image config  same
install cached after editing main.go  no install step  no install step
result: same behaviour
";
    assert_eq!(got, (0, want.to_string(), String::new()));
}

pub fn against_a_missing_file_exits_1() {
    let against = broken("go-data-workdir.missing-file.Dockerfile");
    let mut args = vec![
        "verify",
        "fixtures/e2e/go-data-workdir",
        "--against",
        against.to_str().expect("UTF-8 path"),
        "--output-format",
        "markdown",
    ];
    args.extend_from_slice(HTTP);
    let got = restage(&args, &[]);
    let want = "\
\u{274c} **restage verify**: the rewrite behaves differently: image \u{2212}99% (949 MB \u{2192} 12 MB), runs as 65532

`fixtures/e2e/go-data-workdir/Dockerfile` (context `fixtures/e2e/go-data-workdir`)

| | original | rewritten |
|---|---|---|
| build | ok (N.N s) | ok (N.N s) |
| size | N.N MB | N.N MB |
| runs as uid | 0 | 65532 |
| probe | HTTP 200 | FAILED |

Probe: GET :8080/health, expect \"\\\"region\\\":\\\"north-sea\\\"\".

Differences:

- the rewritten image fails the probe (GET :8080/health, expect \"\\\"region\\\":\\\"north-sea\\\"\"): the container exited with 1; logs: TIME reading greetings: open ./var/greetings.json: no such file or directory
";
    assert_eq!(got, (1, want.to_string(), String::new()));
}

pub fn against_a_changed_cmd_exits_1() {
    let against = broken("go-data-workdir.changed-cmd.Dockerfile");
    let mut args = vec![
        "verify",
        "fixtures/e2e/go-data-workdir",
        "--against",
        against.to_str().expect("UTF-8 path"),
        "--output-format",
        "json",
    ];
    args.extend_from_slice(HTTP);
    let (code, stdout, stderr) = restage(&args, &[]);
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("JSON on stdout");
    assert_eq!(
        (code, stderr.as_str(), &v["verdict"], &v["differences"]),
        (
            1,
            "",
            &serde_json::json!("different"),
            &serde_json::json!([
                "Cmd changed: original [\"./greeter\"], rewritten [\"/srv/greeter/greeter\"]"
            ])
        )
    );
}

/// Needs no engine: it proves the missing one is reported.
pub fn no_engine_exits_2_with_one_line() {
    let got = restage(
        &["verify", "fixtures/e2e/go-data-workdir"],
        &[
            ("DOCKER_HOST", "unix:///nonexistent/restage-verify.sock"),
            ("RESTAGE_DOCKER", "/usr/bin/docker"),
        ],
    );
    let docker_present = Path::new("/usr/bin/docker").exists();
    let why = if docker_present {
        "`/usr/bin/docker version`: Cannot connect to the Docker daemon at unix:///nonexistent/restage-verify.sock. Is the docker daemon running?"
    } else {
        "could not run /usr/bin/docker: No such file or directory (os error 2)"
    };
    assert_eq!(
        got,
        (
            2,
            String::new(),
            format!(
                "restage: cannot verify: no container engine answers ({why}); start Docker or point DOCKER_HOST at a running engine (or use --engine podman)\n"
            )
        )
    );
}

/// The cases that need a working engine.
pub const ENGINE_TESTS: &[(&str, fn())] = &[
    ("passes_on_a_fixture_case", passes_on_a_fixture_case),
    (
        "against_a_missing_file_exits_1",
        against_a_missing_file_exits_1,
    ),
    (
        "against_a_changed_cmd_exits_1",
        against_a_changed_cmd_exits_1,
    ),
];
