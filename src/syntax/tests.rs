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

/// `text` with `range` replaced by `with`, re-parsed from the document of `text` and parsed
/// whole: both must give the same document or the same error. Returns whether the re-parse
/// kept instructions of the old document (rather than parsing the whole text).
fn reparse_matches(text: &str, range: Span, with: &str) -> bool {
    let old = parse(text).unwrap();
    let mut new_text = text.to_string();
    new_text.replace_range(range.clone(), with);
    let whole = parse(&new_text);
    let changes = [(range.clone(), with.len())];
    let partial = lower::reparse_region(old.clone(), &changes, new_text.clone());
    let kept = partial.is_ok();
    let result = partial.unwrap_or_else(|t| parse(&t));
    match (&whole, &result) {
        (Ok(a), Ok(b)) => assert!(
            a.same_model(b),
            "{text:?} with {range:?} -> {with:?}:\n{b:#?}\nagainst\n{a:#?}"
        ),
        (Err(a), Err(b)) => assert_eq!(a, b, "{text:?} with {range:?} -> {with:?}"),
        _ => panic!("{text:?} with {range:?} -> {with:?}: {result:?} against {whole:?}"),
    }
    // The pipeline's entry point agrees (it checks itself in debug builds).
    let via = reparse(old, &changes, new_text);
    assert_eq!(via.is_ok(), whole.is_ok());
    kept
}

#[test]
fn a_reparse_keeps_the_instructions_an_edit_did_not_touch() {
    let text = "FROM node:20\nWORKDIR /app\nCOPY . .\nRUN npm ci \\\n    && npm run build\n# start\nCMD [\"node\", \"index.js\"]\n";
    let cmd = text.find("# start").unwrap();
    // non-root-user's edit: lines inserted before the last instructions.
    assert!(reparse_matches(
        text,
        cmd..cmd,
        "RUN chown -R node /app\nUSER node\n"
    ));
    // A replaced argument in the middle, a deleted instruction, an inserted comment.
    let copy = text.find("COPY").unwrap();
    assert!(reparse_matches(text, copy + 5..copy + 6, "./src"));
    assert!(reparse_matches(text, copy..copy + 9, ""));
    assert!(reparse_matches(text, copy..copy, "# copied\n"));
    // A new stage in the middle.
    assert!(reparse_matches(text, copy..copy, "FROM node:20 AS run\n"));
}

#[test]
fn a_reparse_refuses_what_a_whole_parse_refuses() {
    let text = "FROM a AS build\nRUN make\nFROM b\nCOPY --from=build /x /x\nCMD x\n";
    let copy = text.find("COPY").unwrap();
    // A second stage named `build`, an unknown keyword, an instruction before the first FROM.
    reparse_matches(text, copy..copy, "FROM c AS build\n");
    reparse_matches(text, copy..copy, "BOGUS x\n");
    let text = "ARG a\nARG b\nFROM x\nRUN y\n";
    let from = text.find("FROM").unwrap();
    reparse_matches(text, from..from, "RUN z\n");
    reparse_matches(text, from..from + 7, "");
}

#[test]
fn a_reparse_sees_continuations_across_the_edited_region() {
    let text = "FROM a\nRUN one\nRUN two\n\n# c\nRUN three\nCMD x\n";
    let two = text.find("RUN two").unwrap();
    // The edited instruction now continues onto the next ones (blank and comment lines
    // included): the region cannot end where it did.
    for with in [
        "RUN two \\",
        "RUN two \\ ",
        "RUN two \\\r",
        "RUN [\"two\", \\",
    ] {
        reparse_matches(text, two..two + 7, with);
    }
    // A continuation just before the edit, and an edit that ends one.
    let text = "FROM a\nRUN one \\\n    one-more\nRUN two \\\n  # c\n  more\nCMD x\n";
    let two = text.find("RUN two").unwrap();
    let more = text.find("  more").unwrap();
    reparse_matches(text, two..two, "USER x\n");
    reparse_matches(text, more..more + 7, "");
    reparse_matches(text, two + 7..two + 9, "\n");
}

#[test]
fn a_reparse_parses_the_whole_text_when_it_cannot_be_sure() {
    // Text written at the head of the file (a comment there may be a parser directive), an
    // edit of the head, a here-document in the region, a BOM.
    let text = "FROM a\nRUN b\nCMD c\n";
    assert!(!reparse_matches(text, 0..0, "# escape=`\n"));
    assert!(!reparse_matches(text, 0..0, "\n"));
    assert!(!reparse_matches("# c\nFROM a\nRUN b\n", 2..3, "escape=`"));
    assert!(!reparse_matches(text, 7..7, "RUN <<EOF\nx\nEOF\n"));
    let text = "\u{feff}FROM a\nRUN b\nCMD c\n";
    let cmd = text.find("CMD").unwrap();
    assert!(!reparse_matches(text, cmd..cmd, "USER u\n"));
    // `ENTRYPOINT []`, which the parser only takes masked.
    let text = "FROM a\nRUN b\nCMD c\n";
    assert!(!reparse_matches(text, 13..13, "ENTRYPOINT []\n"));
}

/// `text` with each of `edits` (sorted, not overlapping) made, re-parsed from the document of
/// `text` and parsed whole: both must give the same document or the same error. Returns
/// whether the re-parse kept instructions of the old document.
fn reparse_all_match(text: &str, edits: &[(Span, &str)]) -> bool {
    let old = parse(text).unwrap();
    let mut new_text = text.to_string();
    for (range, with) in edits.iter().rev() {
        new_text.replace_range(range.clone(), with);
    }
    let changes: Vec<(Span, usize)> = edits.iter().map(|(r, w)| (r.clone(), w.len())).collect();
    let whole = parse(&new_text);
    let partial = lower::reparse_region(old.clone(), &changes, new_text.clone());
    let kept = partial.is_ok();
    let result = partial.unwrap_or_else(|t| parse(&t));
    match (&whole, &result) {
        (Ok(a), Ok(b)) => assert!(a.same_model(b), "{text:?} with {edits:?}"),
        (Err(a), Err(b)) => assert_eq!(a, b, "{text:?} with {edits:?}"),
        _ => panic!("{text:?} with {edits:?}: {result:?} against {whole:?}"),
    }
    kept
}

#[test]
fn a_reparse_parses_the_first_instruction_and_each_region_on_its_own() {
    let text = "# syntax=docker/dockerfile:1\nFROM node:20\nWORKDIR /app\nCOPY . .\nRUN npm ci\nCMD [\"node\", \"index.js\"]\n";
    let from = text.find("FROM").unwrap();
    let image_end = text.find(":20").unwrap() + 3;
    // The first instruction rewritten, a stage named, a new first instruction.
    assert!(reparse_matches(text, from..image_end, "FROM node:22"));
    assert!(reparse_matches(text, image_end..image_end, " AS build"));
    assert!(reparse_matches(text, from..from, "ARG V=20\n"));
    assert!(reparse_matches(text, from..from, "FROM alpine AS tools\n"));
    // multi-stage's edits: the first stage named, a runtime stage appended; the instructions
    // between are kept.
    let end = text.len();
    assert!(reparse_all_match(
        text,
        &[
            (image_end..image_end, " AS build"),
            (
                end..end,
                "\nFROM node:20-slim\nCOPY --from=build /app /app\nCMD [\"x\"]\n"
            ),
        ]
    ));
    // A region whose edit makes a whole parse fail, another that needs the whole parse.
    let copy = text.find("COPY").unwrap();
    assert!(!reparse_all_match(
        text,
        &[(image_end..image_end, " AS b"), (end..end, "FROM x AS B\n")]
    ));
    assert!(!reparse_all_match(
        text,
        &[(from..from, "RUN x\n"), (copy..copy, "RUN y\n")]
    ));
    assert!(!reparse_all_match(
        text,
        &[
            (image_end..image_end, " AS b"),
            (copy..copy, "RUN <<EOF\nx\nEOF\n")
        ]
    ));
}

/// Files the line-edit re-parse tests edit: continuations, a comment between instructions,
/// CRLF, parser directives, a missing final newline, a backtick escape and a here-document.
const LINE_EDIT_TEXTS: [&str; 4] = [
    "FROM a AS b\nARG X=1\nRUN one \\\n  two\n\n# c\nCOPY --chown=u [\"x\", \\\n  \"/y\"]\nUSER u\nCMD [\"c\"]\n",
    "ARG V\r\nFROM a:$V\r\nENV A=1 \\\r\n  B=2\r\nWORKDIR /w\r\nRUN x\r\nENTRYPOINT []\r\n",
    "# syntax=docker/dockerfile:1\nFROM a\nONBUILD RUN x\nHEALTHCHECK CMD curl x\nEXPOSE 1 2\nVOLUME [\"/v\"]\nCMD c",
    "# escape=`\nFROM a\nRUN a `\n  b \\\nRUN c\nCOPY <<EOF /x\nbody `\nEOF\nCMD d\n",
];

/// The offset of each line of `text`.
fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect()
}

/// Every pair of line edits in a few files (both inserted, or both replacing) against a whole
/// parse.
#[test]
fn a_reparse_of_two_line_edits_matches_a_whole_parse() {
    let texts = LINE_EDIT_TEXTS;
    let lines = [
        "",
        "RUN z\n",
        "# note\n",
        "RUN z \\\n",
        "FROM q AS b\n",
        "CMD [\"a\",\n",
    ];
    let mut kept = 0;
    for text in texts {
        let starts = line_starts(text);
        let line = |k: usize| starts[k]..starts.get(k + 1).copied().unwrap_or(text.len());
        for a in 0..starts.len() {
            for b in a + 1..starts.len() {
                for x in lines {
                    for y in lines {
                        let (la, lb) = (line(a), line(b));
                        kept += reparse_all_match(
                            text,
                            &[(la.start..la.start, x), (lb.start..lb.start, y)],
                        ) as usize;
                        kept += reparse_all_match(text, &[(la, x), (lb, y)]) as usize;
                    }
                }
            }
        }
    }
    assert!(kept > 1000, "{kept}");
}

#[test]
fn a_reparse_keeps_here_documents_and_the_escape_character_outside_the_region() {
    let text = "FROM a\nRUN <<EOF\nx \\\nEOF\nRUN b\nCMD c\n";
    let cmd = text.find("CMD").unwrap();
    assert!(reparse_matches(text, cmd..cmd, "USER u\n"));
    let text = "# escape=`\nFROM a\nRUN b `\n  c\nCMD c\n";
    let cmd = text.find("CMD").unwrap();
    assert!(reparse_matches(text, cmd..cmd, "USER u\n"));
    // The region's instruction continues with the file's escape character, not `\`.
    assert!(reparse_matches(text, cmd..cmd, "RUN d \\\n"));
    reparse_matches(text, cmd..cmd, "RUN d `\n");
}

/// Every way of inserting, replacing or deleting a line in a few files against a whole parse.
#[test]
fn a_reparse_of_any_line_edit_matches_a_whole_parse() {
    let texts = LINE_EDIT_TEXTS;
    let lines = [
        "",
        "RUN z\n",
        "# note\n",
        "\n",
        "RUN z \\\n",
        "FROM q AS b\n",
        "FROM q AS r\n",
        "CMD [\"a\",\n",
        "  continued\n",
        "ENTRYPOINT []\n",
        "USER\n",
        "RUN z `\n",
        "RUN <<EOF\n",
        "EOF\n",
    ];
    let mut kept = 0;
    for text in texts {
        let starts = line_starts(text);
        for (k, &start) in starts.iter().enumerate() {
            let next = starts.get(k + 1).copied().unwrap_or(text.len());
            for with in lines {
                // Insert before the line, replace it.
                kept += reparse_matches(text, start..start, with) as usize;
                kept += reparse_matches(text, start..next, with) as usize;
            }
        }
    }
    // Most edits keep instructions (not all: the first line, results that do not parse).
    assert!(kept > 100, "{kept}");
}

#[test]
fn a_reparse_keeps_the_answers_about_the_instructions_before_the_region() {
    use crate::transforms::analysis;
    let text = "FROM a\nENV A=1\nWORKDIR /w\nRUN make && make install\nCOPY x y\nCMD c\n";
    let old = parse(text).unwrap();
    let stage = &old.stages()[0];
    for (i, ins) in old.instructions().iter().enumerate() {
        analysis::declared(&old, ins);
        analysis::commands(&old, ins);
        analysis::workdir_resolution(&old, stage, i);
        analysis::destination_resolution(&old, stage, i);
    }
    let cmd = text.find("CMD").unwrap();
    let mut new_text = text.to_string();
    new_text.insert_str(cmd, "USER u\n");
    // Debug builds check each kept answer against one asked afresh of a whole parse.
    let doc = reparse(old, &[(cmd..cmd, 7)], new_text).unwrap();
    fn filled<T>(memos: &[std::cell::OnceCell<T>]) -> Vec<bool> {
        memos.iter().map(|m| m.get().is_some()).collect()
    }
    // The instructions before the region keep their answers (an ENV's declarations, each
    // instruction's commands, none but a RUN's; the working directory and destination at each
    // after the FROM); the region (the USER and the CMD) starts afresh.
    assert_eq!(
        filled(&doc.declarations),
        [false, true, false, false, false, false, false]
    );
    assert_eq!(
        filled(&doc.commands),
        [true, true, true, true, true, false, false]
    );
    assert_eq!(
        filled(&doc.destinations),
        [false, true, true, true, true, false, false]
    );
    assert_eq!(
        filled(&doc.workdirs),
        [false, true, true, true, true, false, false, false]
    );
}

#[test]
#[should_panic(expected = "kept declarations of 1")]
fn a_kept_answer_that_differs_from_a_fresh_one_is_caught() {
    let text = "FROM a\nENV A=1\nCMD c\n";
    let whole = parse(text).unwrap();
    let doc = parse(text).unwrap();
    let _ = doc.declarations[1].set(Vec::new());
    check_kept_memos(&whole, &doc);
}

#[test]
fn the_line_index_finds_every_line_start() {
    // Line breaks at every offset of an 8-byte word and across words, next to bytes that
    // differ from `\n` in one bit (`\x0b`, `\x0e`, `\x8a`) and to multi-byte characters.
    let pieces = [
        "\n", "a", "\x0b", "\x0e", "\u{8a}", "é", "\r\n", "\u{a0a}", "\t",
    ];
    let mut seed = 7u64;
    for len in 0..200 {
        let mut text = String::new();
        for _ in 0..len {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            text.push_str(pieces[(seed >> 33) as usize % pieces.len()]);
        }
        let index = LineIndex::new(&text);
        let expected: Vec<usize> = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        assert_eq!(index.starts, expected, "{text:?}");
        for offset in 0..=text.len() + 1 {
            assert_eq!(
                index.line_col(offset),
                line_col(&text, offset),
                "{text:?} {offset}"
            );
        }
    }
}

/// A BOM is no part of line 1: its columns count from after it, with or without an index.
#[test]
fn columns_of_line_one_start_after_a_bom() {
    let text = "\u{feff}FROM a\nCMD b\n";
    let index = LineIndex::new(text);
    for (offset, want) in [
        (0, (1, 1)),
        (3, (1, 1)),
        (8, (1, 6)),
        (10, (2, 1)),
        (14, (2, 5)),
    ] {
        assert_eq!(line_col(text, offset), want, "offset {offset}");
        assert_eq!(index.line_col(offset), want, "offset {offset}, indexed");
    }
    assert_eq!(line_col("FROM a\n", 5), (1, 6));
    assert_eq!(LineIndex::new("FROM a\n").line_col(5), (1, 6));
}

/// A message names lines the file has: its end, after a last line terminator, is the end of
/// that line (LF or CRLF); elsewhere the position is the plain one.
#[test]
fn the_end_of_a_file_is_its_last_line_for_a_message() {
    for (text, want) in [
        ("FROM a\nCMD b\n", (2, 6)),
        ("FROM a\r\nCMD b\r\n", (2, 6)),
        ("FROM a\nCMD b", (2, 6)),
        ("FROM a\n\n", (2, 1)),
        ("\u{feff}FROM a\n", (1, 7)),
        ("", (1, 1)),
        ("\n", (1, 1)),
    ] {
        let index = LineIndex::new(text);
        assert_eq!(index.line_col_in_file(text.len()), want, "{text:?}");
        assert_eq!(
            index.line_col_in_file(text.len() + 5),
            want,
            "{text:?}, clamped"
        );
    }
    let index = LineIndex::new("FROM a\nCMD b\n");
    for offset in 0..13 {
        assert_eq!(index.line_col_in_file(offset), index.line_col(offset));
    }
}
