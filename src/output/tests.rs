use super::*;
use crate::edit::Applicability;

fn change(line: usize, end_line: usize, end_column: usize) -> ChangeReport {
    ChangeReport {
        id: "exec-form",
        title: "t".into(),
        reason: "r".into(),
        applicability: Applicability::Safe,
        applied: true,
        line,
        column: 1,
        end_line,
        end_column,
        fix: Vec::new(),
    }
}

#[test]
fn github_escapes_messages_and_properties() {
    assert_eq!(github::data("50%\r\na:b,c"), "50%25%0D%0Aa:b,c");
    assert_eq!(github::property("50%\na:b,c"), "50%25%0Aa%3Ab%2Cc");
}

#[test]
fn last_line_of_a_span_ending_at_a_line_start() {
    assert_eq!(last_line(&change(3, 4, 1)), 3);
    assert_eq!(last_line(&change(3, 5, 1)), 4);
    assert_eq!(last_line(&change(3, 3, 9)), 3);
    assert_eq!(last_line(&change(3, 0, 0)), 3);
}

#[test]
fn fingerprints_follow_the_instruction_not_its_line() {
    let a = "FROM x\nCMD  node   s.js\n";
    let b = "FROM x\n# moved\nCMD node s.js\n";
    let fa = fingerprint("Dockerfile", &change(2, 3, 1), Some(a), 0);
    let fb = fingerprint("Dockerfile", &change(3, 4, 1), Some(b), 0);
    assert_eq!(fa, fb);
    assert_eq!(fa.len(), 32);
    assert_ne!(
        fa,
        fingerprint("other/Dockerfile", &change(2, 3, 1), Some(a), 0)
    );
    assert_ne!(fa, fingerprint("Dockerfile", &change(2, 3, 1), Some(a), 1));
    // Pinned: a fingerprint must not change between releases.
    assert_eq!(
        fingerprint("Dockerfile", &change(1, 2, 1), Some("FROM   x\n"), 0),
        "fcfdf27156e740bba128916baf51cd68"
    );
}

#[test]
fn identical_instructions_get_distinct_fingerprints() {
    let text = "FROM a\nCMD x\nFROM b\nCMD x\n";
    let r = FileReport {
        display: "Dockerfile".into(),
        status: crate::run::Status::Changed,
        changes: vec![change(2, 3, 1), change(4, 5, 1)],
        warnings: Vec::new(),
        diff: String::new(),
        texts: Some((text.into(), text.into())),
        edits: Vec::new(),
        error_in_preamble: false,
    };
    let f = fingerprints(&r);
    assert_ne!(f[0], f[1]);
}

#[test]
fn sarif_replacements_are_whole_original_lines() {
    use crate::edit::Edit;
    let json = |original: &str, edits: &[Edit]| {
        serde_json::to_string(&sarif::replacements_for_test(original, edits)).unwrap()
    };
    // An edit inside a line replaces the line; lines inserted before a line stay an insertion.
    assert_eq!(
        json(
            "FROM a\nCMD b\n",
            &[
                Edit::insert(7, "USER u\n"),
                Edit::replace(11..12, "[\"b\"]")
            ]
        ),
        r#"[{"deletedRegion":{"endColumn":1,"endLine":2,"startColumn":1,"startLine":2},"insertedContent":{"text":"USER u\n"}},{"deletedRegion":{"endColumn":1,"endLine":3,"startColumn":1,"startLine":2},"insertedContent":{"text":"CMD [\"b\"]\n"}}]"#
    );
    // No final newline: the region ends at the end of the last line.
    assert_eq!(
        json("FROM a\nCMD b", &[Edit::replace(11..12, "[\"b\"]")]),
        r#"[{"deletedRegion":{"endColumn":6,"endLine":2,"startColumn":1,"startLine":2},"insertedContent":{"text":"CMD [\"b\"]"}}]"#
    );
    // Two edits in one line are one replacement; a BOM is no part of line 1.
    assert_eq!(
        json(
            "\u{feff}FROM a AS b\n",
            &[Edit::replace(8..9, "c"), Edit::replace(13..14, "d")]
        ),
        r#"[{"deletedRegion":{"endColumn":1,"endLine":2,"startColumn":1,"startLine":1},"insertedContent":{"text":"FROM c AS d\n"}}]"#
    );
    // An insertion in a line, or of text that does not end a line, replaces the line.
    assert_eq!(
        json("FROM a\n", &[Edit::insert(6, " AS b")]),
        r#"[{"deletedRegion":{"endColumn":1,"endLine":2,"startColumn":1,"startLine":1},"insertedContent":{"text":"FROM a AS b\n"}}]"#
    );
}

#[test]
fn progress_only_on_a_terminal_outside_ci_for_text() {
    use crate::cli::OutputFormat;
    assert!(Progress::wanted(true, false, false, OutputFormat::Text));
    assert!(!Progress::wanted(false, false, false, OutputFormat::Text));
    assert!(!Progress::wanted(true, true, false, OutputFormat::Text));
    assert!(!Progress::wanted(true, false, true, OutputFormat::Text));
    assert!(!Progress::wanted(true, false, false, OutputFormat::Json));
    assert!(!Progress::new(3, false).is_enabled());
}

#[test]
fn markdown_cells_and_code_survive_pipes_newlines_and_backticks() {
    assert_eq!(markdown::cell("a|b\nc\\"), "a\\|b c\\\\");
    // In a code span a backslash is literal: left as it is; a pipe is still escaped.
    assert_eq!(
        markdown::cell("`node a\\b.js | tee` runs \\ here"),
        "`node a\\b.js \\| tee` runs \\\\ here"
    );
    // Spans of two backticks, a longer run inside one, one never closed, and non-ASCII text.
    assert_eq!(
        markdown::cell("``a`\\b`` é\\ ```x\\"),
        "``a`\\b`` é\\\\ ```x\\\\"
    );
    assert_eq!(markdown::code("svc/Dockerfile"), "`svc/Dockerfile`");
    assert_eq!(markdown::code("a`b"), "``a`b``");
    assert_eq!(markdown::code("`x"), "`` `x ``");
    assert_eq!(markdown::code("a|b\\c"), "`a\\|b\\c`");
}

/// A run's files of every kind: changed (applied, unsafe and a suggestion), unchanged with a
/// warning, skipped, failed.
fn run_of_every_kind() -> Vec<FileReport> {
    use crate::run::{Problem, Status};
    let report = FileReport::new;
    let mut changed = report("a/Dockerfile", Status::Changed);
    changed.changes = vec![change(2, 3, 1), {
        let mut c = change(3, 3, 9);
        c.applied = false;
        c.applicability = Applicability::Unsafe;
        c
    }];
    changed.diff =
        "--- a/Dockerfile\n+++ b/Dockerfile\n@@ -1,2 +1,2 @@\n FROM a\n-CMD b\n+CMD [\"b\"]\n"
            .into();
    changed.texts = Some(("FROM a\nCMD b\n".into(), "FROM a\nCMD [\"b\"]\n".into()));
    let mut warned = report("b/Dockerfile", Status::Unchanged);
    warned.warnings = vec![Problem {
        message: "w \"quoted\"\nnext".into(),
        line: 1,
        column: 1,
    }];
    let mut suggested = report("c/Dockerfile", Status::Unchanged);
    suggested.changes = vec![{
        let mut c = change(1, 2, 1);
        c.applied = false;
        c.applicability = Applicability::DisplayOnly;
        c
    }];
    suggested.texts = Some(("FROM c\n".into(), "FROM c\n".into()));
    let skipped = report(
        "d/Dockerfile",
        Status::Skipped(Problem {
            message: "heredoc".into(),
            line: 2,
            column: 5,
        }),
    );
    let failed = report(
        "e/Dockerfile",
        Status::Failed(Problem::file("not UTF-8".into())),
    );
    vec![changed, warned, suggested, skipped, failed]
}

fn settings() -> Settings {
    Settings {
        write: false,
        quiet: false,
        colors: Colors(false),
        statistics: false,
        show_fixes: false,
        preamble: Vec::new(),
        config_errors: Vec::new(),
    }
}

#[test]
fn streamed_documents_are_the_documents_built_whole() {
    use crate::cli::OutputFormat;
    let all = run_of_every_kind();
    // Every prefix of the run: none, one file, and more (with and without a failed file).
    for n in 0..=all.len() {
        let reports = &all[..n];
        for (format, whole) in [
            (OutputFormat::Json, json::whole_document(reports)),
            (OutputFormat::Sarif, sarif::whole_document(reports)),
            (OutputFormat::Gitlab, gitlab::whole_document(reports)),
        ] {
            let (rendered, summary) = render(format, reports, &settings());
            assert_eq!(rendered.stdout, whole, "{format:?} of {n} files");
            assert_eq!(rendered.stderr, "", "{format:?} of {n} files");
            assert_eq!(summary, crate::report::Summary::of(reports));
        }
    }
}

#[test]
fn summaries_merged_are_the_summary_of_the_files_together() {
    use crate::report::Summary;
    let all = run_of_every_kind();
    for split in 0..=all.len() {
        let (a, b) = all.split_at(split);
        let mut merged = Summary::of(a);
        merged.merge(&Summary::of(b));
        assert_eq!(merged, Summary::of(&all), "split at {split}");
    }
    // Each file's counts on their own, as the workers make them.
    let mut merged = Summary::default();
    for r in &all {
        let mut one = Summary::default();
        one.add(r);
        merged.merge(&one);
    }
    assert_eq!(merged, Summary::of(&all));
    assert!(
        merged
            .by_transform
            .values()
            .any(|c| c.applied > 0 && c.unsafe_pending > 0)
    );
}

#[test]
fn markdown_fence_is_longer_than_backticks_across_two_files_diffs() {
    use crate::cli::OutputFormat;
    let mut reports = run_of_every_kind();
    reports.truncate(2);
    reports[0].diff = "+a``".into();
    reports[1].diff = "``b".into();
    let (rendered, _) = render(OutputFormat::Markdown, &reports, &settings());
    let diff = rendered
        .stdout
        .split("<details>")
        .nth(1)
        .unwrap_or_default();
    assert_eq!(
        diff,
        "<summary>Diff</summary>\n\n`````diff\n+a````b\n`````\n\n</details>\n"
    );
}

#[test]
fn a_path_with_a_line_break_stays_on_its_note_line() {
    assert_eq!(text::one_line("svc/Dockerfile"), "svc/Dockerfile");
    assert_eq!(
        text::one_line("a\nb,c:d%/Dockerfile"),
        "\"a\\nb,c:d%/Dockerfile\""
    );
    assert_eq!(text::one_line("t\tab\r/é"), "\"t\\tab\\r/é\"");
    let mut r = FileReport::new("x\ny/Dockerfile", crate::run::Status::Unchanged);
    r.changes = vec![change(2, 3, 1)];
    let notes = text::notes(&r);
    assert_eq!(notes, ["\"x\\ny/Dockerfile\":2:1: exec-form: t"]);
}
