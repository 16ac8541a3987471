//! Shared helpers: fixture paths, running the pipeline on a fixture, dumping a document.

use std::path::{Path, PathBuf};

use restage::config::Settings;
use restage::context::BuildContext;
use restage::knowledge::Knowledge;
use restage::pipeline::{self, Options, Outcome, PipelineError};
use restage::transforms::{self, Context, Transform};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `fixtures/<group>/*/` directories that hold a Dockerfile, sorted.
pub fn cases(group: &str) -> Vec<PathBuf> {
    let dir = root().join("fixtures").join(group);
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.join("Dockerfile").is_file())
        .collect();
    out.sort();
    out
}

pub fn name(dir: &Path) -> String {
    dir.file_name()
        .expect("a case dir")
        .to_string_lossy()
        .into_owned()
}

/// Options a fixture may set in `case.toml`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CaseOptions {
    #[serde(default)]
    pub unsafe_fixes: bool,
    /// Transforms to run (default: the fixture group's id).
    pub select: Option<Vec<String>>,
}

pub fn case_options(dir: &Path) -> CaseOptions {
    match std::fs::read_to_string(dir.join("case.toml")) {
        Ok(s) => toml::from_str(&s).unwrap_or_else(|e| panic!("{}: {e}", dir.display())),
        Err(_) => CaseOptions::default(),
    }
}

pub fn selected(ids: &[String]) -> Vec<&'static Transform> {
    ids.iter()
        .map(|id| transforms::find(id).unwrap_or_else(|| panic!("unknown transform {id}")))
        .collect()
}

/// Runs the pipeline over `text` as if it were `dockerfile` (for its build context).
pub fn run_pipeline(
    dockerfile: &Path,
    text: &str,
    ids: &[String],
    unsafe_fixes: bool,
) -> Result<Outcome, PipelineError> {
    let knowledge = Knowledge::builtin().expect("built-in knowledge loads");
    let settings = settings(unsafe_fixes);
    let build = BuildContext::read(dockerfile, None);
    let ctx = Context {
        knowledge: &knowledge,
        options: restage::transforms::TransformOptions::of(&settings),
        build: &build,
    };
    pipeline::run(
        text,
        &ctx,
        &selected(ids),
        Options {
            unsafe_fixes,
            attribute: true,
        },
    )
}

/// Default settings, with or without unsafe fixes.
pub fn settings(unsafe_fixes: bool) -> Settings {
    Settings {
        unsafe_fixes,
        ..Settings::default()
    }
}

/// Every file named `Dockerfile` under fixtures/, sorted.
pub fn all_dockerfiles() -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![root().join("fixtures")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n == "Dockerfile") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

/// The outcome's composed edits are sorted, apart from each other, and against the original:
/// every byte outside them is the original's, in order, and applying them gives the output.
pub fn check_edits(label: &str, o: &Outcome) {
    for w in o.edits.windows(2) {
        assert!(
            w[0].range.end < w[1].range.start,
            "{label}: composed edits not sorted and apart: {:?} then {:?}",
            w[0].range,
            w[1].range
        );
    }
    // Walk the gaps between edits: the same bytes in the original and in the output.
    let (mut orig_pos, mut out_pos) = (0, 0);
    for e in &o.edits {
        assert!(
            e.range.end <= o.original.len(),
            "{label}: edit past the end"
        );
        let gap = e.range.start - orig_pos;
        assert_eq!(
            o.original.as_bytes()[orig_pos..e.range.start],
            o.text.as_bytes()[out_pos..out_pos + gap],
            "{label}: bytes outside the edits differ (original offset {orig_pos})"
        );
        assert_eq!(
            &o.text[out_pos + gap..out_pos + gap + e.text.len()],
            e.text,
            "{label}: an edit's text is not in the output where it belongs"
        );
        out_pos += gap + e.text.len();
        orig_pos = e.range.end;
    }
    assert_eq!(
        o.original.as_bytes()[orig_pos..],
        o.text.as_bytes()[out_pos..],
        "{label}: bytes after the last edit differ"
    );
    assert_eq!(
        o.edits.is_empty(),
        o.text == o.original,
        "{label}: edits without a change, or a change without edits"
    );
    // Every edit has an applied change that made it (or had a part in it), and every applied
    // change names the edits of its work.
    for j in 0..o.edits.len() {
        assert!(
            o.applied.iter().any(|n| n.edits.contains(&j)),
            "{label}: edit {j} ({:?}) belongs to no applied change",
            o.edits[j]
        );
    }
    for n in &o.applied {
        assert!(
            !n.edits.is_empty() && n.edits.iter().all(|&j| j < o.edits.len()),
            "{label}: the applied {} names edits {:?} of {}",
            n.transform,
            n.edits,
            o.edits.len()
        );
    }
}

/// Exit code, stdout and stderr of the real binary run as `restage ARGS` in `dir` (no colours).
pub fn restage_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_restage"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("the restage binary runs");
    (
        out.status.code().expect("exited, not killed"),
        String::from_utf8(out.stdout).expect("UTF-8 stdout"),
        String::from_utf8(out.stderr).expect("UTF-8 stderr"),
    )
}

/// Writes `text` to `root/rel`, making the folders it needs.
pub fn write_file(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().expect("a parent")).expect("mkdir");
    std::fs::write(p, text).expect("write");
}
