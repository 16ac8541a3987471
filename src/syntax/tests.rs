//! Unit tests of the lowering: spans, extents and the parser gaps DESIGN.md lists.

use super::*;

fn kinds(doc: &Document) -> Vec<Kind> {
    doc.instructions().iter().map(|i| i.kind).collect()
}

#[test]
fn bom_offsets_are_fixed() {
    let text = "\u{feff}FROM alpine AS base\nRUN echo hi\n";
    let doc = parse(text).unwrap();
    assert_eq!(doc.slice(&doc.instructions()[0].keyword), "FROM");
    assert_eq!(doc.stages()[0].image.value, "alpine");
    assert_eq!(doc.slice(&doc.stages()[0].image.span), "alpine");
    assert_eq!(
        doc.slice(&doc.stages()[0].alias.as_ref().unwrap().span),
        "base"
    );
    assert_eq!(
        doc.items()[0],
        Item {
            range: 0..3,
            kind: ItemKind::Trivia
        }
    );
}

#[test]
fn extents_cover_json_closing_lines_and_heredoc_terminators() {
    let text =
        "FROM a\nCOPY [\"x\", \\\n  \"/y\"]\n# trailing comment\n\nRUN <<EOF\necho hi\nEOF\n";
    let doc = parse(text).unwrap();
    let copy = &doc.instructions()[1];
    assert_eq!(doc.slice(&copy.extent), "COPY [\"x\", \\\n  \"/y\"]\n");
    let run = &doc.instructions()[2];
    assert_eq!(doc.slice(&run.extent), "RUN <<EOF\necho hi\nEOF\n");
    assert_eq!(run.heredocs.len(), 1);
}

#[test]
fn trailing_escaped_backslash_is_a_limitation_not_a_guess() {
    let err = parse("FROM a\nENV C foo\\\\\nRUN true\n").unwrap_err();
    assert_eq!(err.kind, SyntaxErrorKind::Unsupported);
    assert_eq!((err.line, err.column), (2, 10));
    // A single trailing backslash is an ordinary continuation.
    let doc = parse("FROM a\nENV C foo\\\n  bar\nRUN true\n").unwrap();
    assert_eq!(kinds(&doc), [Kind::From, Kind::Env, Kind::Run]);
}

#[test]
fn invalid_and_unsupported_are_told_apart() {
    let invalid = parse("FROM a\nFRM b\n").unwrap_err();
    assert_eq!(invalid.kind, SyntaxErrorKind::Invalid);
    assert_eq!(invalid.line, 2);
    let empty = parse("\n# only a comment\n").unwrap_err();
    assert_eq!(empty.kind, SyntaxErrorKind::Invalid);
}

#[test]
fn args_start_after_flags_and_end_before_terminator() {
    let doc = parse("FROM a\r\nCOPY --from=b --chown=1:1 x /y\r\n").unwrap();
    let copy = &doc.instructions()[1];
    assert_eq!(doc.slice(&copy.args), "x /y");
    assert_eq!(
        copy.flag("from").unwrap().value.as_ref().unwrap().value,
        "b"
    );
    assert_eq!(doc.style().line_ending, LineEnding::CrLf);
}

#[test]
fn leading_comments_stop_at_blank_lines_and_directives() {
    let doc =
        parse("# syntax=docker/dockerfile:1\n# about a\nFROM a\n\n# about run\n# more\nRUN x\n")
            .unwrap();
    assert_eq!(doc.slice(&doc.leading_comments(0)), "# about a\n");
    assert_eq!(doc.slice(&doc.leading_comments(1)), "# about run\n# more\n");
}

#[test]
fn empty_entrypoint_is_an_empty_exec_form() {
    for text in [
        "FROM a\nENTRYPOINT []\nCMD [\"node\", \"app.js\"]\n",
        "FROM a\r\n# reset the entrypoint\r\nentrypoint [ ]\r\ncmd [\"node\"]\r\n",
        "FROM a\nENTRYPOINT \\\n  []\nCMD x\n",
        "\u{feff}FROM a\nENTRYPOINT []",
    ] {
        let doc = parse(text).unwrap();
        assert_eq!(doc.text(), text);
        let ep = doc
            .instructions()
            .iter()
            .find(|i| i.kind == Kind::Entrypoint)
            .unwrap();
        assert!(ep.is_empty_exec(), "{text:?}");
        assert!(doc.slice(&ep.keyword).eq_ignore_ascii_case("ENTRYPOINT"));
        assert!(doc.slice(&ep.extent).contains(']'));
        let joined: String = doc.items().iter().map(|i| doc.slice(&i.range)).collect();
        assert_eq!(joined, text);
    }
    let doc =
        parse("FROM a\nENTRYPOINT []\nCMD []\nENTRYPOINT [ ]\nONBUILD ENTRYPOINT []\n").unwrap();
    assert_eq!(
        kinds(&doc),
        [
            Kind::From,
            Kind::Entrypoint,
            Kind::Cmd,
            Kind::Entrypoint,
            Kind::Onbuild
        ]
    );
    assert_eq!(doc.instructions()[4].onbuild, Some(Kind::Entrypoint));
    assert!(doc.instructions()[2].is_empty_exec());
    // A non-empty ENTRYPOINT is unaffected.
    let doc = parse("FROM a\nENTRYPOINT [\"x\"]\n").unwrap();
    assert!(!doc.instructions()[1].is_empty_exec());
}

#[test]
fn bare_entrypoint_is_a_limitation_and_broken_from_stays_invalid() {
    let err = parse("FROM a\nENTRYPOINT\nCMD x\n").unwrap_err();
    assert_eq!(err.kind, SyntaxErrorKind::Unsupported);
    assert_eq!(err.line, 2);
    // BuildKit rejects these too.
    for text in [
        "FROM\n",
        "FROM a b c d\n",
        "FROM a\nCOPY x\n",
        "FROM a\nRUN x\n    && y\n",
    ] {
        let err = parse(text).unwrap_err();
        assert_eq!(err.kind, SyntaxErrorKind::Invalid, "{text:?}");
    }
}

#[test]
fn an_error_after_a_heredoc_is_the_files() {
    let err = parse("FROM a\nRUN <<EOF\necho hi\nEOF\nFRM x\n").unwrap_err();
    assert_eq!(
        (err.kind, err.line, err.column),
        (SyntaxErrorKind::Invalid, 5, 1),
        "{err}"
    );
    // Even right after the terminator, or with a CRLF file and a BOM.
    let err = parse("\u{feff}FROM a\r\nRUN <<-EOF\r\n\techo hi\r\n\tEOF\r\nFRM x\r\n").unwrap_err();
    assert_eq!(
        (err.kind, err.line, err.column),
        (SyntaxErrorKind::Invalid, 5, 1),
        "{err}"
    );
}

#[test]
fn heredoc_forms_the_parser_lacks_are_a_limitation_where_they_are() {
    // Two heredocs in one RUN: valid for BuildKit.
    let err = parse("FROM a\nRUN <<A <<B\none\nA\ntwo\nB\nRUN true\n").unwrap_err();
    assert_eq!(err.kind, SyntaxErrorKind::Unsupported, "{err}");
    assert_eq!((err.line, err.column), (2, 1), "{err}");
    // A heredoc after a program name.
    let err = parse("FROM a\nRUN python3 <<EOF\nprint(1)\nEOF\n").unwrap_err();
    assert_eq!(err.kind, SyntaxErrorKind::Unsupported, "{err}");
}

#[test]
fn heredoc_markers_and_escape_directive() {
    assert_eq!(
        lower::heredoc_markers("RUN <<-\"EOT\" cat <<'X' 1<<2"),
        vec![("EOT".to_string(), true), ("X".to_string(), false)]
    );
    let text = "FROM a\nRUN <<EOF\nx\nEOF\nRUN y\n";
    assert_eq!(lower::opens_heredoc(text, 3), Some(2));
    assert_eq!(lower::opens_heredoc(text, 4), Some(2));
    assert_eq!(lower::opens_heredoc(text, 5), None);
    let continued = "# escape=`\nFROM a\nRUN x `\n  <<EOF\nb\nEOF\nRUN y\n";
    assert_eq!(lower::opens_heredoc(continued, 5), Some(3));
    assert_eq!(lower::opens_heredoc(continued, 7), None);
}

#[test]
fn line_index_agrees_with_counting_from_the_start() {
    for text in ["", "a", "FROM a\r\nRUN b\n\n# c\nCMD é\n", "\n\n", "x\ny"] {
        let index = LineIndex::new(text);
        for offset in 0..=text.len() + 2 {
            assert_eq!(
                index.line_col(offset),
                line_col(text, offset),
                "{text:?} at {offset}"
            );
        }
    }
}

#[test]
fn instruction_at_finds_the_extent_holding_an_offset() {
    let doc = parse("# c\nFROM a\n\nRUN b\n").unwrap();
    assert_eq!(doc.instruction_at(0).map(|i| i.kind), None);
    assert_eq!(doc.instruction_at(4).map(|i| i.kind), Some(Kind::From));
    assert_eq!(doc.instruction_at(10).map(|i| i.kind), Some(Kind::From));
    assert_eq!(doc.instruction_at(11).map(|i| i.kind), None);
    assert_eq!(doc.instruction_at(12).map(|i| i.kind), Some(Kind::Run));
    assert_eq!(doc.instruction_at(18).map(|i| i.kind), None);
}

#[test]
fn line_char_col_counts_characters() {
    let text = "ab\ncdé\nf";
    assert_eq!(line_char_col(text, 0), (1, 1));
    assert_eq!(line_char_col(text, 3), (2, 1));
    // Inside `é`: its first byte.
    assert_eq!(line_char_col(text, 6), (2, 3));
    assert_eq!(line_char_col(text, 7), (2, 4));
    assert_eq!(line_char_col(text, 8), (3, 1));
    assert_eq!(line_char_col(text, 100), (3, 2));
}

#[test]
fn an_unrecognized_parser_result_is_an_error_not_a_skip() {
    let e = SyntaxError {
        kind: SyntaxErrorKind::Unrecognized,
        message: "the parser returned an instruction that restage does not know".into(),
        line: 0,
        column: 0,
    };
    assert_ne!(e.kind, SyntaxErrorKind::Unsupported);
    assert_eq!(
        e.message_with_kind(),
        "internal error (please report it): the parser returned an instruction that restage does not know"
    );
}
