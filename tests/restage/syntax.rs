//! The lossless model over `fixtures/syntax/*`: round trip, and a snapshot of the items and
//! instructions (or of the error, for files restage rejects).

use std::fmt::Write;

use restage::syntax::{self, Document, Form, ItemKind};

use crate::common::{cases, name};

fn dump(doc: &Document) -> String {
    let mut out = String::new();
    let s = doc.style();
    writeln!(
        out,
        "style: {:?}, lowercase={}, indent={:?}, final_newline={}, escape={:?}",
        s.line_ending,
        s.lowercase_keywords,
        s.continuation_indent,
        s.final_newline,
        doc.escape()
    )
    .unwrap();
    for item in doc.items() {
        match item.kind {
            ItemKind::Trivia => {
                writeln!(out, "trivia {:?} {:?}", item.range, doc.slice(&item.range)).unwrap()
            }
            ItemKind::Instruction(i) => {
                let ins = &doc.instructions()[i];
                write!(
                    out,
                    "{} {:?} stage={:?} keyword={:?}",
                    ins.kind,
                    ins.extent,
                    ins.stage,
                    doc.slice(&ins.keyword)
                )
                .unwrap();
                for f in &ins.flags {
                    write!(
                        out,
                        " flag[{}={:?}]",
                        f.name,
                        f.value.as_ref().map(|v| &v.value)
                    )
                    .unwrap();
                }
                if !ins.words.is_empty() {
                    let words: Vec<&str> = ins.words.iter().map(|w| w.value.as_str()).collect();
                    write!(out, " words={words:?}").unwrap();
                }
                match &ins.form {
                    Form::None => {}
                    Form::Exec { words, .. } => {
                        let w: Vec<&str> = words.iter().map(|w| w.value.as_str()).collect();
                        write!(out, " exec={w:?}").unwrap()
                    }
                    Form::Shell { span } => write!(out, " shell={:?}", doc.slice(span)).unwrap(),
                }
                if !ins.heredocs.is_empty() {
                    write!(out, " heredocs={}", ins.heredocs.len()).unwrap();
                }
                if let Some(k) = ins.onbuild {
                    write!(out, " onbuild={k}").unwrap();
                }
                writeln!(out, "\n    args={:?}", doc.slice(&ins.args)).unwrap();
            }
        }
    }
    for st in doc.stages() {
        writeln!(
            out,
            "stage {} image={:?} alias={:?} instructions={:?}",
            st.index,
            st.image.value,
            st.alias.as_ref().map(|a| &a.value),
            st.instructions
        )
        .unwrap();
    }
    out
}

#[test]
fn syntax_fixtures_round_trip_and_match_snapshots() {
    let dirs = cases("syntax");
    assert!(
        dirs.len() >= 15,
        "expected the syntax fixtures, found {}",
        dirs.len()
    );
    for dir in dirs {
        let text = std::fs::read_to_string(dir.join("Dockerfile")).unwrap();
        let snapshot = match syntax::parse(&text) {
            Ok(doc) => {
                // Lossless: the items tile the file and join back to the same bytes.
                let joined: String = doc.items().iter().map(|i| doc.slice(&i.range)).collect();
                assert_eq!(joined, text, "{}: round trip", dir.display());
                let mut pos = 0;
                for item in doc.items() {
                    assert_eq!(
                        item.range.start,
                        pos,
                        "{}: items tile the file",
                        dir.display()
                    );
                    pos = item.range.end;
                }
                assert_eq!(pos, text.len());
                dump(&doc)
            }
            Err(e) => format!("error: {e}\nkind: {:?}\n", e.kind),
        };
        insta::assert_snapshot!(format!("syntax-{}", name(&dir)), snapshot);
    }
}
