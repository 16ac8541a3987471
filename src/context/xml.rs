//! Read-only access to `pom.xml` and MSBuild project files over `roxmltree`: local names
//! (namespace prefixes dropped), attributes, and direct text (character references, the
//! predefined entities and entities the document's DTD declares resolved; an undeclared entity
//! makes the file invalid, as it is for Maven and MSBuild).

use std::fmt;

use crate::syntax::line_char_col;

/// A parsed document; [`root`] gives its root element.
pub(crate) type Document<'input> = roxmltree::Document<'input>;

/// Why a file is not XML restage can read, with the 1-based position roxmltree reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for XmlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid XML at line {} column {}: {}",
            self.line, self.column, self.message
        )
    }
}

/// Parses a whole document (a DTD is allowed; entity expansion is bounded by roxmltree).
pub(crate) fn parse(text: &str) -> Result<Document<'_>, XmlError> {
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..roxmltree::ParsingOptions::default()
    };
    roxmltree::Document::parse_with_options(text, options).map_err(|e| {
        let pos = e.pos();
        let full = e.to_string();
        let message = full
            .strip_suffix(&format!(" at {pos}"))
            .unwrap_or(&full)
            .to_owned();
        let (line, column) = match e {
            // No position of its own: the end of the file.
            roxmltree::Error::UnclosedRootNode => line_char_col(text, text.len()),
            _ => (pos.row as usize, pos.col as usize),
        };
        XmlError {
            line,
            column,
            message,
        }
    })
}

/// The root element of a parsed document.
pub(crate) fn root<'a, 'input>(doc: &'a Document<'input>) -> Element<'a, 'input> {
    Element(doc.root_element())
}

/// One element of a parsed document.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Element<'a, 'input>(roxmltree::Node<'a, 'input>);

impl<'a, 'input> Element<'a, 'input> {
    /// Local name (namespace prefix dropped).
    pub(crate) fn name(&self) -> &'a str {
        self.0.tag_name().name()
    }

    /// The child elements, in document order.
    pub(crate) fn children(&self) -> impl Iterator<Item = Element<'a, 'input>> + use<'a, 'input> {
        self.0.children().filter(|n| n.is_element()).map(Element)
    }

    /// The first child element named `name`.
    pub(crate) fn child(&self, name: &str) -> Option<Element<'a, 'input>> {
        self.children().find(|c| c.name() == name)
    }

    /// The value of attribute `name` (case-insensitive, as MSBuild treats them).
    pub(crate) fn attr(&self, name: &str) -> Option<&'a str> {
        self.0
            .attributes()
            .find(|a| a.name().eq_ignore_ascii_case(name))
            .map(|a| a.value())
    }

    /// The element's direct text (its text and CDATA children, concatenated), trimmed.
    pub(crate) fn text(&self) -> String {
        let mut out = String::new();
        for t in self.0.children().filter(|n| n.is_text()) {
            out.push_str(t.text().unwrap_or(""));
        }
        out.trim().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_names_text_and_attributes() {
        let doc = parse(
            "<?xml version=\"1.0\"?>\n<!-- c -->\n<p:project xmlns:p=\"urn:x\" a=\"1 &amp; 2\">\n  <name>a &lt; b &#65;<!-- x --> c</name>\n  <empty/>\n  <c><![CDATA[x<y]]></c>\n</p:project>\n",
        )
        .expect("valid");
        let root = root(&doc);
        assert_eq!(root.name(), "project");
        assert_eq!(root.attr("A"), Some("1 & 2"));
        assert_eq!(
            root.child("name").map(|e| e.text()).as_deref(),
            Some("a < b A c")
        );
        assert_eq!(root.child("empty").map(|e| e.text()).as_deref(), Some(""));
        assert_eq!(root.child("c").map(|e| e.text()).as_deref(), Some("x<y"));
        assert_eq!(
            root.children().map(|e| e.name()).collect::<Vec<_>>(),
            ["name", "empty", "c"]
        );
    }

    #[test]
    fn entities_declared_in_the_dtd_are_resolved_others_are_errors() {
        let doc = parse("<!DOCTYPE p [<!ENTITY v \"1.0\">]>\n<p><version>&v;</version></p>")
            .expect("valid");
        assert_eq!(
            root(&doc).child("version").map(|e| e.text()).as_deref(),
            Some("1.0")
        );
        let err = parse("<p>\n  <u>&custom;</u>\n</p>").expect_err("undeclared entity");
        assert_eq!((err.line, err.column), (2, 6), "{err}");
        assert!(
            err.to_string()
                .starts_with("invalid XML at line 2 column 6: unknown entity reference 'custom'"),
            "{err}"
        );
    }

    #[test]
    fn errors_name_a_position() {
        let err = parse("<project>\n  <a>\n</project>\n").expect_err("mismatch");
        assert!(
            err.to_string().starts_with("invalid XML at line 3 column"),
            "{err}"
        );
        let err = parse("<project>\n  <a>x</a>\n").expect_err("unclosed");
        assert_eq!(
            err.to_string(),
            "invalid XML at line 3 column 1: the root node was opened but never closed"
        );
        assert!(parse("").is_err());
        assert!(parse("<a/><b/>").is_err());
        // Deep nesting neither overflows the stack nor is refused.
        let deep = format!("{}{}", "<a>".repeat(100_000), "</a>".repeat(100_000));
        let doc = parse(&deep).expect("deep but valid");
        assert_eq!(root(&doc).name(), "a");
    }
}
