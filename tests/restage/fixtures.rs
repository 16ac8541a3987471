//! Every transform fixture `fixtures/<id>/<case>/`: a snapshot of the change list and diff, and
//! the invariants — lossless outside edits, output re-parses, a second run changes nothing, no
//! overlapping edits within a change.

use std::fmt::Write;

use restage::edit;
use restage::pipeline::PipelineError;
use restage::report;
use restage::syntax;
use restage::transforms;

use crate::common::{case_options, cases, check_edits, name, root, run_pipeline};

/// Groups under fixtures/ that are not transform fixtures.
const NOT_TRANSFORMS: &[&str] = &[
    "syntax",
    "e2e",
    "realprojects",
    "context",
    "cli",
    "examples",
];

#[test]
fn every_fixture_group_is_a_transform() {
    for entry in std::fs::read_dir(root().join("fixtures")).unwrap() {
        let group = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            NOT_TRANSFORMS.contains(&group.as_str()) || transforms::find(&group).is_some(),
            "fixtures/{group} names no transform"
        );
    }
}

#[test]
fn transform_fixtures() {
    // Every case runs, each with its own snapshot; the failures are listed together at the end.
    let mut total = 0;
    let mut failed = Vec::new();
    for t in transforms::registry() {
        let group = root().join("fixtures").join(t.id);
        if !group.is_dir() {
            continue;
        }
        for dir in cases(t.id) {
            total += 1;
            if std::panic::catch_unwind(|| check_case(t.id, &dir)).is_err() {
                failed.push(format!("{}/{}", t.id, name(&dir)));
            }
        }
    }
    assert!(total > 0, "no transform fixtures found");
    assert!(failed.is_empty(), "failing fixtures: {failed:?}");
}

fn check_case(id: &str, dir: &std::path::Path) {
    let file = dir.join("Dockerfile");
    let text = std::fs::read_to_string(&file).unwrap();
    let opts = case_options(dir);
    let ids = opts.select.clone().unwrap_or_else(|| vec![id.to_string()]);
    let label = format!("{id}/{}", name(dir));

    // No overlapping edits within a change the transforms propose on the input.
    let doc = syntax::parse(&text).unwrap_or_else(|e| panic!("{label}: {e}"));
    let outcome = run_pipeline(&file, &text, &ids, opts.unsafe_fixes);
    let mut snap = String::new();
    match &outcome {
        Err(e) => writeln!(snap, "refused: {e}").unwrap(),
        Ok(o) => {
            for (label, notes) in [("applied", &o.applied), ("not applied", &o.suggestions)] {
                for n in notes {
                    writeln!(
                        snap,
                        "{label} {}:{}-{}:{} {} ({}): {}\n    why: {}",
                        n.line,
                        n.column,
                        n.end_line,
                        n.end_column,
                        n.transform,
                        n.applicability,
                        n.title,
                        n.reason
                    )
                    .unwrap();
                }
            }
            for w in &o.warnings {
                writeln!(
                    snap,
                    "warning {}:{}-{}:{}: {}",
                    w.line, w.column, w.end_line, w.end_column, w.message
                )
                .unwrap();
            }
            if o.applied.is_empty() && o.suggestions.is_empty() {
                writeln!(snap, "no change").unwrap();
            }
            snap.push_str(&report::unified_diff("Dockerfile", &o.original, &o.text));

            // Lossless outside the edits: every byte outside the composed edits is the
            // original's, and applying them to the original gives the output.
            check_edits(&label, o);
            // Output re-parses.
            let out_doc = syntax::parse(&o.text)
                .unwrap_or_else(|e| panic!("{label}: output does not parse: {e}"));
            let joined: String = out_doc
                .items()
                .iter()
                .map(|i| out_doc.slice(&i.range))
                .collect();
            assert_eq!(joined, o.text, "{label}: output round trip");
            // Idempotent: a second run changes nothing.
            let again = run_pipeline(&file, &o.text, &ids, opts.unsafe_fixes)
                .unwrap_or_else(|e| panic!("{label}: second run failed: {e}"));
            assert_eq!(again.text, o.text, "{label}: second run changed the output");
            assert!(
                again.applied.is_empty(),
                "{label}: second run applied changes"
            );
        }
    }
    for t in crate::common::selected(&ids) {
        let knowledge = restage::knowledge::Knowledge::builtin().unwrap();
        let settings = crate::common::settings(true);
        let build = restage::context::BuildContext::read(&file, None);
        let ctx = transforms::Context {
            knowledge: &knowledge,
            options: restage::transforms::TransformOptions::of(&settings),
            build: &build,
        };
        for change in (t.run)(&doc, &ctx) {
            edit::apply(doc.text(), &change.edits)
                .unwrap_or_else(|e| panic!("{label}: {} proposes overlapping edits: {e}", t.id));
        }
    }
    insta::assert_snapshot!(format!("{id}-{}", name(dir)), snap);
}

/// Style is kept: for every transform fixture, the CRLF and BOM variants of the input come out as
/// the CRLF and BOM variants of the LF output (inserted text uses the file's line ending, and the
/// BOM never shifts an edit).
#[test]
fn crlf_and_bom_variants_rewrite_the_same_way() {
    let mut checked = 0;
    for t in transforms::registry() {
        if !root().join("fixtures").join(t.id).is_dir() {
            continue;
        }
        for dir in cases(t.id) {
            let file = dir.join("Dockerfile");
            let text = std::fs::read_to_string(&file).unwrap();
            if text.contains('\r') || text.starts_with('\u{feff}') {
                continue;
            }
            let opts = case_options(&dir);
            let ids = opts
                .select
                .clone()
                .unwrap_or_else(|| vec![t.id.to_string()]);
            let lf = run_pipeline(&file, &text, &ids, opts.unsafe_fixes)
                .unwrap_or_else(|e| panic!("{}: refused: {e}", dir.display()));
            let crlf_in = text.replace('\n', "\r\n");
            let crlf = run_pipeline(&file, &crlf_in, &ids, opts.unsafe_fixes)
                .unwrap_or_else(|e| panic!("{}: CRLF variant refused: {e}", dir.display()));
            assert_eq!(
                crlf.text,
                lf.text.replace('\n', "\r\n"),
                "{}: CRLF",
                dir.display()
            );
            let bom_in = format!("\u{feff}{text}");
            let bom = run_pipeline(&file, &bom_in, &ids, opts.unsafe_fixes)
                .unwrap_or_else(|e| panic!("{}: BOM variant refused: {e}", dir.display()));
            assert_eq!(
                bom.text,
                format!("\u{feff}{}", lf.text),
                "{}: BOM",
                dir.display()
            );
            checked += 1;
        }
    }
    assert!(checked > 20, "only {checked} fixtures checked");
}

/// Every Dockerfile under fixtures/, through every transform together (with and without unsafe
/// fixes, and as CRLF and BOM variants): the pipeline converges, the output re-parses and keeps
/// every byte outside its edits, and a second run applies nothing. Only the syntax fixtures
/// pinned below are rejected, with the error their own snapshot shows. This is where transforms
/// meet each other.
#[test]
fn all_transforms_together_converge_on_every_fixture() {
    let ids: Vec<String> = transforms::registry()
        .iter()
        .map(|t| t.id.to_string())
        .collect();
    let files = crate::common::all_dockerfiles();
    assert!(files.len() > 50, "found {} Dockerfiles", files.len());
    let fixtures = root().join("fixtures");
    let mut rejected = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let rel = file
            .parent()
            .unwrap()
            .strip_prefix(&fixtures)
            .unwrap()
            .display()
            .to_string();
        for unsafe_fixes in [false, true] {
            let lf = match run_pipeline(&file, &text, &ids, unsafe_fixes) {
                Err(PipelineError::Syntax(e)) => {
                    if !unsafe_fixes {
                        rejected.push(format!("{rel}: {e}"));
                    }
                    continue;
                }
                Err(e) => panic!("{rel}: {e}"),
                Ok(o) => o,
            };
            check_converged(
                &format!("{rel} (unsafe fixes: {unsafe_fixes})"),
                &file,
                &lf,
                &ids,
                unsafe_fixes,
            );
            if text.contains('\r') || text.starts_with('\u{feff}') {
                continue;
            }
            let crlf = run_pipeline(&file, &text.replace('\n', "\r\n"), &ids, unsafe_fixes)
                .unwrap_or_else(|e| panic!("{rel}: CRLF variant: {e}"));
            assert_eq!(
                crlf.text,
                lf.text.replace('\n', "\r\n"),
                "{rel}: CRLF variant"
            );
            check_converged(&format!("{rel} (CRLF)"), &file, &crlf, &ids, unsafe_fixes);
            let bom = run_pipeline(&file, &format!("\u{feff}{text}"), &ids, unsafe_fixes)
                .unwrap_or_else(|e| panic!("{rel}: BOM variant: {e}"));
            assert_eq!(
                bom.text,
                format!("\u{feff}{}", lf.text),
                "{rel}: BOM variant"
            );
            check_converged(&format!("{rel} (BOM)"), &file, &bom, &ids, unsafe_fixes);
        }
    }
    insta::assert_snapshot!("all-transforms-rejected", rejected.join("\n"));
}

fn check_converged(
    label: &str,
    file: &std::path::Path,
    o: &restage::pipeline::Outcome,
    ids: &[String],
    unsafe_fixes: bool,
) {
    syntax::parse(&o.text).unwrap_or_else(|e| panic!("{label}: output does not parse: {e}"));
    check_edits(label, o);
    let again = run_pipeline(file, &o.text, ids, unsafe_fixes)
        .unwrap_or_else(|e| panic!("{label}: second run: {e}"));
    assert_eq!(again.text, o.text, "{label}: not a fixed point");
    assert!(
        again.applied.is_empty() && again.edits.is_empty(),
        "{label}: second run applied {:?}",
        again.applied
    );
}
