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
