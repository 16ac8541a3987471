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
    // Every file an include_str! pulls in, from the non-test sources and the test ones.
    let mut embedded = Vec::new();
    let mut stack = vec![root.join("src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("list src") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
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
        }
    }
    assert!(embedded.len() >= 8, "{embedded:?}");
    for rel in &embedded {
        assert!(shipped(rel), "{rel} is embedded but not in package.include");
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
