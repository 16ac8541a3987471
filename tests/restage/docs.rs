//! Each transform's doc: its Example becomes its Use instead, and Use instead is a fixed point.

use restage::transforms;

use crate::common::run_pipeline;

/// The first ```dockerfile block after a `## <heading>` line.
fn block(doc: &str, heading: &str) -> Option<String> {
    let start = doc.find(&format!("## {heading}\n"))?;
    let rest = &doc[start..];
    let open = rest.find("```dockerfile\n")? + "```dockerfile\n".len();
    let close = rest[open..].find("```")?;
    Some(rest[open..open + close].to_string())
}

#[test]
fn every_doc_has_the_sections() {
    for t in transforms::registry() {
        for section in [
            "What it does",
            "Why",
            "Example",
            "Use instead",
            "Confidence",
        ] {
            assert!(
                t.doc.contains(&format!("## {section}\n")),
                "{}: no `## {section}`",
                t.id
            );
        }
    }
}

#[test]
fn example_becomes_use_instead_which_is_a_fixed_point() {
    for t in transforms::registry() {
        let example =
            block(t.doc, "Example").unwrap_or_else(|| panic!("{}: no Example block", t.id));
        let expected =
            block(t.doc, "Use instead").unwrap_or_else(|| panic!("{}: no Use instead block", t.id));
        // Examples that need a build context name a fixture directory in an HTML comment.
        let context = t
            .doc
            .lines()
            .find_map(|l| {
                l.strip_prefix("<!-- context: ")
                    .and_then(|r| r.strip_suffix(" -->"))
            })
            .map(|rel| crate::common::root().join(rel).join("Dockerfile"))
            .unwrap_or_else(|| crate::common::root().join("Dockerfile"));
        let ids = vec![t.id.to_string()];
        let out = run_pipeline(&context, &example, &ids, false).unwrap();
        assert_eq!(
            out.text, expected,
            "{}: Example does not become Use instead",
            t.id
        );
        let again = run_pipeline(&context, &expected, &ids, false).unwrap();
        assert_eq!(
            again.text, expected,
            "{}: Use instead is not a fixed point",
            t.id
        );
    }
}
