//! Packaging: shell completions and the man page, generated from the command line.

use std::path::Path;
use std::process::{Command, Output};

fn restage(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_restage"))
        .args(args)
        .output()
        .expect("the restage binary runs")
}

const SUBCOMMANDS: [&str; 6] = [
    "list",
    "explain",
    "knowledge",
    "files",
    "completions",
    "man",
];

#[test]
fn completions_for_every_shell_name_the_subcommands() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let o = restage(&["completions", shell]);
        assert_eq!(o.status.code(), Some(0), "{shell}");
        assert!(o.stderr.is_empty(), "{shell}");
        let script = String::from_utf8(o.stdout).expect("UTF-8");
        assert!(script.len() > 500, "{shell}: {script}");
        for sub in SUBCOMMANDS {
            assert!(script.contains(sub), "{shell} completion lacks `{sub}`");
        }
        // fish spells long options `-l check`: look for the bare names.
        for flag in ["check", "write", "stdin-filename"] {
            assert!(script.contains(flag), "{shell} completion lacks `{flag}`");
        }
    }
    let bad = restage(&["completions", "tcsh"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn bash_accepts_the_bash_completion() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("restage.bash");
    std::fs::write(&file, restage(&["completions", "bash"]).stdout).expect("write");
    let Ok(o) = Command::new("bash").arg("-n").arg(&file).output() else {
        eprintln!("SKIPPED: bash -n (no bash on this machine)");
        return;
    };
    assert!(
        o.status.success(),
        "bash -n: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn man_page_is_roff_that_man_renders() {
    let o = restage(&["man"]);
    assert_eq!(o.status.code(), Some(0));
    let page = String::from_utf8(o.stdout).expect("UTF-8");
    assert!(
        page.starts_with(".ie \\n(.g .ds Aq \\(aq") || page.starts_with(".TH"),
        "{page}"
    );
    assert!(page.contains(".TH restage 1"), "{page}");
    for sub in SUBCOMMANDS {
        assert!(page.contains(sub), "man page lacks `{sub}`");
    }
    // Rendered by groff when present: no warnings, and the name section survives.
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("restage.1");
    std::fs::write(&file, &page).expect("write");
    render(&file);
    // Each page the main one refers to (`restage-verify(1)`) exists: printed alone, with its
    // options, and written with the others by `--dir`.
    let verify = restage(&["man", "verify"]);
    assert_eq!(verify.status.code(), Some(0));
    let verify = String::from_utf8(verify.stdout).expect("UTF-8");
    assert!(verify.contains(".TH restage-verify 1"), "{verify}");
    assert!(verify.contains("\\fB\\-\\-engine\\fR"), "{verify}");
    let pages = dir.path().join("man1");
    let o = restage(&["man", "--dir", pages.to_str().expect("UTF-8 path")]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    for sub in SUBCOMMANDS {
        assert!(
            page.contains(&format!("restage\\-{sub}(1)")),
            "man page lacks `{sub}(1)`"
        );
        let file = pages.join(format!("restage-{sub}.1"));
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{file:?}: {e}"));
        assert!(text.contains(&format!(".TH restage-{sub} 1")), "{text}");
        render(&file);
    }
    assert_eq!(
        std::fs::read_to_string(pages.join("restage.1")).expect("restage.1"),
        page
    );
    assert_eq!(restage(&["man", "nope"]).status.code(), Some(2));
}

fn render(file: &Path) {
    let Ok(o) = Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-z"])
        .arg(file)
        .output()
    else {
        eprintln!("SKIPPED: rendering the man page (no groff on this machine)");
        return;
    };
    assert!(o.status.success());
    assert_eq!(String::from_utf8_lossy(&o.stderr), "", "groff warnings");
}

/// Cargo metadata crates.io and `cargo binstall` need, and an `include` list that ships
/// everything the sources embed (and no tests or fixtures).
#[test]
fn cargo_metadata_is_complete_and_the_package_builds_from_what_it_ships() {
    let root = crate::common::root();
    let manifest: toml::Table = std::fs::read_to_string(root.join("Cargo.toml"))
        .expect("Cargo.toml")
        .parse()
        .expect("valid TOML");
    let package = manifest["package"].as_table().expect("[package]");
    for key in [
        "description",
        "repository",
        "license",
        "readme",
        "keywords",
        "categories",
        "rust-version",
        "include",
    ] {
        assert!(package.contains_key(key), "Cargo.toml lacks package.{key}");
    }
    assert_eq!(package["license"].as_str(), Some("MIT OR Apache-2.0"));
    for file in ["LICENSE-MIT", "LICENSE-APACHE", "README.md"] {
        assert!(root.join(file).is_file(), "{file} is missing");
    }
    let include: Vec<globset::GlobMatcher> = package["include"]
        .as_array()
        .expect("include is a list")
        .iter()
        .map(|v| {
            let pattern = v.as_str().expect("a string").trim_start_matches('/');
            globset::GlobBuilder::new(pattern)
                .literal_separator(true)
                .build()
                .expect("a glob")
                .compile_matcher()
        })
        .collect();
    let shipped = |rel: &str| include.iter().any(|g| g.is_match(rel));
    // Every file an include_str! pulls in, from the non-test sources and the test ones; and
    // what the unit tests in the sources read: their snapshots, and the fixture folders they
    // join to the manifest directory.
    let mut embedded = Vec::new();
    let mut read_by_unit_tests = Vec::new();
    let mut fixture_dirs = Vec::new();
    for path in files_under(&root.join("src")) {
        if path.extension().is_some_and(|e| e == "snap") {
            read_by_unit_tests.push(path);
            continue;
        }
        let dir = path.parent().expect("a folder");
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        for part in text.split("include_str!(\"").skip(1) {
            let rel = part.split('"').next().expect("a path");
            let target = dir.join(rel);
            let target = target.canonicalize().expect("the embedded file exists");
            let rel = target
                .strip_prefix(root.canonicalize().expect("root"))
                .expect("inside the repository");
            embedded.push(rel.to_string_lossy().replace('\\', "/"));
        }
        for part in text.split(".join(\"fixtures/").skip(1) {
            let rel = part.split('"').next().expect("a path");
            fixture_dirs.push(root.join("fixtures").join(rel));
        }
    }
    assert!(embedded.len() >= 8, "{embedded:?}");
    for rel in &embedded {
        assert!(shipped(rel), "{rel} is embedded but not in package.include");
    }
    assert!(!fixture_dirs.is_empty());
    for dir in &fixture_dirs {
        read_by_unit_tests.extend(files_under(dir));
    }
    assert!(read_by_unit_tests.len() > 10, "{read_by_unit_tests:?}");
    for path in &read_by_unit_tests {
        let rel = path.strip_prefix(&root).expect("inside the repository");
        let rel = rel.to_string_lossy().replace('\\', "/");
        assert!(
            shipped(&rel),
            "{rel} is read by a unit test but not in package.include"
        );
    }
    for rel in [
        "src/main.rs",
        "src/context/mod.rs",
        "LICENSE-MIT",
        "Cargo.lock",
    ] {
        assert!(shipped(rel), "{rel} is not shipped");
    }
    for rel in [
        "fixtures/e2e/node-ts-npm/Dockerfile",
        "tests/e2e.rs",
        "benches/monorepo.rs",
    ] {
        assert!(!shipped(rel), "{rel} would be shipped");
    }
}

/// Every file below `dir`.
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("list a folder") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files
}

/// A temporary directory whose PATH entry holds `restage`: the binary under test.
fn path_with_restage() -> (tempfile::TempDir, String) {
    let bin = tempfile::tempdir().expect("temp dir");
    let target = bin.path().join("restage");
    #[cfg(unix)]
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_restage"), &target).expect("symlink");
    #[cfg(not(unix))]
    std::fs::copy(env!("CARGO_BIN_EXE_restage"), &target).expect("copy");
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    (bin, path)
}

/// Names a repository may hold: Dockerfiles, and look-alikes discovery leaves out (docs,
/// backups, templates, also after another extension or in upper case).
const HOOK_NAMES: &[&str] = &[
    "api/Dockerfile",
    "ok.Dockerfile",
    "Dockerfile.prod",
    "deploy/dockerfile",
    "deploy/dockerfile.dev",
    "Containerfile",
    "x/web.containerfile",
    "x/web.Containerfile",
    "Dockerfile.md",
    "Dockerfile.MD",
    "deploy/Dockerfile.prod.j2",
    "deploy/Dockerfile.J2",
    "deploy/Dockerfile.tpl",
    "deploy/Dockerfile.dev.in",
    "deploy/Dockerfile.mustache",
    "Dockerfile.prod~",
    "Dockerfile.bak",
    "MyDockerfile",
    "legacy/Dockerfile",
    "README.md",
    "docker-compose.yml",
];

/// A fixture repository with every name of [`HOOK_NAMES`]: `api/Dockerfile` has a change due,
/// the other Dockerfiles are fine, and `restage.toml` excludes `legacy/`.
fn repo() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("temp dir");
    let t = tmp.path();
    for name in HOOK_NAMES {
        let text = match *name {
            "api/Dockerfile" => "FROM node:22-slim\nCMD node server.js\n",
            n if n.ends_with(".md") || n.ends_with(".yml") => "# notes\n",
            _ => "FROM alpine:3.20\nUSER 10001:10001\nCMD [\"true\"]\n",
        };
        crate::common::write_file(t, name, text);
    }
    crate::common::write_file(t, "restage.toml", "extend-exclude = [\"legacy/\"]\n");
    tmp
}

/// The paths `restage files ARGS` lists, in `dir`.
fn listed(dir: &Path, args: &[&str]) -> Vec<String> {
    let o = Command::new(env!("CARGO_BIN_EXE_restage"))
        .arg("files")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("restage runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| l.split('\t').next().unwrap_or(l).to_string())
        .collect()
}

#[test]
fn pre_commit_hooks_name_commands_that_work() {
    let root = crate::common::root();
    let text = std::fs::read_to_string(root.join(".pre-commit-hooks.yaml")).expect("hooks file");
    let hooks: Vec<serde_yaml_ng::Mapping> = serde_yaml_ng::from_str(&text).expect("valid YAML");
    let ids: Vec<&str> = hooks
        .iter()
        .map(|h| h["id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, ["restage-check", "restage-fix"]);
    let (_bin, path) = path_with_restage();
    for hook in &hooks {
        let id = hook["id"].as_str().expect("id");
        for key in ["name", "entry", "language", "files"] {
            assert!(hook.contains_key(key), "{id} lacks `{key}`");
        }
        assert_eq!(hook["language"].as_str(), Some("rust"), "{id}");
        // pre-commit matches with Python's re.search; these patterns mean the same to `regex`.
        let files = regex::Regex::new(hook["files"].as_str().expect("files")).expect("regex");
        let exclude = hook
            .get("exclude")
            .map(|e| regex::Regex::new(e.as_str().expect("exclude")).expect("regex"));
        let picked =
            |p: &str| files.is_match(p) && !exclude.as_ref().is_some_and(|e| e.is_match(p));
        let tmp = repo();
        let staged: Vec<&str> = HOOK_NAMES.iter().copied().filter(|p| picked(p)).collect();
        let entry: Vec<&str> = hook["entry"]
            .as_str()
            .expect("entry")
            .split_whitespace()
            .collect();
        // What the hook's restage takes of the staged files is what discovery picks.
        let flags: Vec<&str> = entry[1..]
            .iter()
            .copied()
            .filter(|f| *f == "--force-exclude")
            .chain(staged.iter().copied())
            .collect();
        let mut discovered = listed(tmp.path(), &["."]);
        let mut taken = listed(tmp.path(), &flags);
        discovered.sort();
        taken.sort();
        assert_eq!(taken, discovered, "{id}: staged {staged:?}");
        assert!(discovered.contains(&"api/Dockerfile".to_string()));
        assert!(
            !discovered
                .iter()
                .any(|p| p.contains(".j2") || p.starts_with("legacy"))
        );
        // The entry, as pre-commit runs it: the words, then the staged files it picked.
        let o = Command::new(entry[0])
            .args(&entry[1..])
            .args(&staged)
            .current_dir(tmp.path())
            .env("PATH", &path)
            .output()
            .expect("the hook runs");
        let stdout = String::from_utf8_lossy(&o.stdout);
        match id {
            // A change is due: exit 1, the diff (of that file only) on stdout.
            "restage-check" => {
                assert_eq!(
                    o.status.code(),
                    Some(1),
                    "{id}: {}",
                    String::from_utf8_lossy(&o.stderr)
                );
                assert!(stdout.starts_with("--- a/api/Dockerfile\n"), "{stdout}");
                assert_eq!(stdout.matches("--- a/").count(), 1, "{stdout}");
            }
            // Rewritten in place: exit 0 (pre-commit fails the commit on the modified file),
            // a second check passes, and no template was touched.
            _ => {
                assert_eq!(
                    o.status.code(),
                    Some(0),
                    "{id}: {}",
                    String::from_utf8_lossy(&o.stderr)
                );
                assert_eq!(stdout, "");
                let again = Command::new(env!("CARGO_BIN_EXE_restage"))
                    .arg("--check")
                    .args(&discovered)
                    .current_dir(tmp.path())
                    .output()
                    .expect("restage runs");
                assert_eq!(again.status.code(), Some(0));
                let fresh = repo();
                for name in HOOK_NAMES.iter().filter(|n| **n != "api/Dockerfile") {
                    let read = |d: &Path| std::fs::read(d.join(name)).expect("read");
                    assert_eq!(read(tmp.path()), read(fresh.path()), "{id} rewrote {name}");
                }
            }
        }
    }
}

#[test]
fn github_action_installs_and_runs_restage() {
    let root = crate::common::root();
    let text = std::fs::read_to_string(root.join("action.yml")).expect("action.yml");
    let action: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).expect("valid YAML");
    for key in ["name", "description", "inputs", "outputs", "runs"] {
        assert!(action.get(key).is_some(), "action.yml lacks `{key}`");
    }
    for input in ["paths", "args", "format", "sarif-file", "upload-sarif"] {
        assert!(
            action["inputs"][input]["description"].is_string(),
            "input `{input}` needs a description"
        );
    }
    assert_eq!(action["runs"]["using"].as_str(), Some("composite"));
    let steps = action["runs"]["steps"].as_sequence().expect("steps");
    let step = |name: &str| {
        steps
            .iter()
            .find(|s| s["name"].as_str() == Some(name))
            .unwrap_or_else(|| panic!("no step `{name}`"))
    };
    let install = step("Install restage")["run"].as_str().expect("run");
    // Built in the action's folder, so the checked-out repository's toolchain file does not
    // pick the toolchain.
    assert!(
        install.starts_with("cd \"$GITHUB_ACTION_PATH\" && cargo install --locked --path . "),
        "{install}"
    );
    let upload = step("Upload SARIF");
    assert!(
        upload["uses"]
            .as_str()
            .is_some_and(|u| u.starts_with("github/codeql-action/upload-sarif@")),
        "{upload:?}"
    );
    assert_eq!(
        upload["with"]["sarif_file"].as_str(),
        Some("${{ inputs.sarif-file }}")
    );
    assert!(
        upload["if"]
            .as_str()
            .is_some_and(|c| c.contains("steps.run.outcome == 'success'")),
        "no upload without a SARIF file: {upload:?}"
    );
    let run_step = step("Run restage");
    let run = run_step["run"].as_str().expect("run");
    assert_eq!(run, "bash \"$GITHUB_ACTION_PATH/scripts/action-run.sh\"");

    // The run step, exactly, with the inputs as the action passes them.
    let (_bin, path) = path_with_restage();
    let help = Command::new(env!("CARGO_BIN_EXE_restage"))
        .arg("--help")
        .output()
        .expect("restage --help");
    let formats = String::from_utf8_lossy(&help.stdout).contains("--output-format");
    for format in ["github", "sarif", "text"] {
        let tmp = repo();
        let out = tmp.path().join("github-output");
        let o = Command::new("bash")
            .arg("-c")
            .arg(run)
            .current_dir(tmp.path())
            .env("PATH", &path)
            .env("GITHUB_ACTION_PATH", &root)
            .env("GITHUB_OUTPUT", &out)
            // A YAML block scalar gives one path per line: every one is checked (the one with
            // a change due is last).
            .env("RESTAGE_PATHS", "ok.Dockerfile\n  api\n")
            .env("RESTAGE_ARGS", "--color never")
            .env("RESTAGE_FORMAT", format)
            // In a folder that does not exist yet.
            .env("RESTAGE_SARIF", "reports/restage.sarif")
            .output()
            .expect("bash runs");
        let recorded = std::fs::read_to_string(&out).unwrap_or_default();
        if format == "text" {
            assert_eq!(o.status.code(), Some(2), "an unknown format is refused");
            assert_eq!(recorded, "");
            continue;
        }
        assert_eq!(o.status.code(), Some(0), "the step itself succeeds: {o:?}");
        if !formats {
            eprintln!(
                "SKIPPED: the action's {format} output (this build has no --output-format); \
                 the step ran and recorded {recorded:?}"
            );
            assert_eq!(recorded, "exit-code=2\n");
            continue;
        }
        assert_eq!(recorded, "exit-code=1\n", "{format}: a change is due");
        let stdout = String::from_utf8_lossy(&o.stdout);
        if format == "github" {
            assert!(
                stdout.contains("::warning file=api/Dockerfile,"),
                "{stdout}"
            );
        } else {
            let sarif: serde_json::Value = serde_json::from_slice(
                &std::fs::read(tmp.path().join("reports/restage.sarif")).expect("SARIF written"),
            )
            .expect("SARIF is JSON");
            assert_eq!(sarif["version"].as_str(), Some("2.1.0"));
            assert!(sarif.to_string().contains("api/Dockerfile"), "{sarif}");
        }
    }
}

/// The action's `paths` and `args`: a path with spaces, on a line of its own or quoted, and
/// quoted arguments reach restage as one word each; an unmatched quote is an error.
#[test]
fn github_action_reads_paths_with_spaces_and_quoted_arguments() {
    let root = crate::common::root();
    let (_bin, path) = path_with_restage();
    let tmp = repo();
    crate::common::write_file(
        tmp.path(),
        "my app/Dockerfile",
        "FROM node:22-slim\nCMD node server.js\n",
    );
    let run = |paths: &str, args: &str| {
        let out = tmp.path().join("github-output");
        let _ = std::fs::remove_file(&out);
        let o = Command::new("bash")
            .arg(root.join("scripts/action-run.sh"))
            .current_dir(tmp.path())
            .env("PATH", &path)
            .env("GITHUB_OUTPUT", &out)
            .env("RESTAGE_PATHS", paths)
            .env("RESTAGE_ARGS", args)
            .env("RESTAGE_FORMAT", "github")
            .output()
            .expect("bash runs");
        let recorded = std::fs::read_to_string(&out).unwrap_or_default();
        (
            o.status.code(),
            recorded,
            String::from_utf8_lossy(&o.stdout).into_owned(),
        )
    };
    for paths in [
        "my app/Dockerfile\n  ok.Dockerfile\n",
        "\"my app\" ok.Dockerfile",
        "'my app'",
    ] {
        let (code, recorded, stdout) = run(paths, "--select 'exec-form' --color \"never\"");
        assert_eq!(
            (code, recorded.as_str()),
            (Some(0), "exit-code=1\n"),
            "{paths:?}: {stdout}"
        );
        assert!(
            stdout.contains("::warning file=my app/Dockerfile,"),
            "{paths:?}: {stdout}"
        );
        assert!(stdout.contains("restage exec-form"), "{paths:?}: {stdout}");
        assert!(
            !stdout.contains("non-root-user"),
            "{paths:?}: --select applied: {stdout}"
        );
    }
    // Unquoted on one line, the space separates two paths, neither of which exists.
    let (_, recorded, stdout) = run("my app", "");
    assert_eq!(recorded, "exit-code=2\n", "{stdout}");
    let (code, recorded, _) = run(".", "--select \"exec-form");
    assert_eq!(
        (code, recorded.as_str()),
        (Some(2), ""),
        "an unmatched quote"
    );
}

/// restage's own Dockerfile is one restage leaves alone: multi-stage, non-root, exec form.
#[test]
fn own_dockerfile_passes_restage_check() {
    let root = crate::common::root();
    let o = Command::new(env!("CARGO_BIN_EXE_restage"))
        .args(["--check", "--color", "never", "Dockerfile"])
        .current_dir(&root)
        .output()
        .expect("restage runs");
    assert_eq!(
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned()
        ),
        (
            Some(0),
            String::new(),
            "restage: 1 file: 0 would change, 1 unchanged\n".to_string()
        )
    );
    let text = std::fs::read_to_string(root.join("Dockerfile")).expect("Dockerfile");
    assert_eq!(
        text.matches("\nFROM ").count() + usize::from(text.starts_with("FROM ")),
        2
    );
    assert!(
        !text.contains("# syntax="),
        "no syntax directive: no registry"
    );
}
