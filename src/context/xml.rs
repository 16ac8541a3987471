//! A small, read-only element tree over quick-xml, enough for `pom.xml` and MSBuild project
//! files: local names, attributes, and text (with character references and the five predefined
//! entities resolved; any other entity makes that element's text unknown).

use quick_xml::XmlVersion;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

use super::fsread::line_col;

/// One element.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Element {
    /// Local name (namespace prefix dropped).
    pub name: String,
    /// `(local name, value)` in document order.
    pub attrs: Vec<(String, String)>,
    /// Direct text content, concatenated; `None` if it used an entity we cannot resolve.
    pub text: Option<String>,
    pub children: Vec<Element>,
}

impl Element {
    /// The first child named `name`.
    pub(crate) fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The value of attribute `name` (case-insensitive, as MSBuild treats them).
    pub(crate) fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Trimmed text; `None` when unknown.
    pub(crate) fn trimmed_text(&self) -> Option<&str> {
        self.text.as_deref().map(str::trim)
    }
}

/// Deepest element nesting accepted (real project files nest a handful of levels; the limit
/// keeps the tree, and dropping it, off deep recursion).
const MAX_DEPTH: usize = 256;

/// Parses a whole document into its root element; errors read
/// `invalid XML at line L column C: message`.
pub(crate) fn parse(text: &str) -> Result<Element, String> {
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let error = |reader: &Reader<&[u8]>, message: String| {
        let offset = usize::try_from(reader.error_position()).unwrap_or(0);
        let (line, col) = line_col(text, offset);
        format!("invalid XML at line {line} column {col}: {message}")
    };
    let at_buffer = |reader: &Reader<&[u8]>, message: String| {
        let offset = usize::try_from(reader.buffer_position()).unwrap_or(0);
        let (line, col) = line_col(text, offset);
        format!("invalid XML at line {line} column {col}: {message}")
    };
    loop {
        let event = reader
            .read_event()
            .map_err(|e| error(&reader, e.to_string()))?;
        match event {
            Event::Start(start) => {
                let element = element_of(&start).map_err(|e| at_buffer(&reader, e))?;
                if root.is_some() && stack.is_empty() {
                    return Err(at_buffer(&reader, "more than one root element".to_owned()));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(at_buffer(
                        &reader,
                        format!("elements nest deeper than {MAX_DEPTH}"),
                    ));
                }
                stack.push(element);
            }
            Event::Empty(start) => {
                let element = element_of(&start).map_err(|e| at_buffer(&reader, e))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(element),
                    None if root.is_none() => root = Some(element),
                    None => {
                        return Err(at_buffer(&reader, "more than one root element".to_owned()));
                    }
                }
            }
            Event::End(_) => {
                let element = stack.pop().ok_or_else(|| {
                    at_buffer(&reader, "closing tag without an opening tag".to_owned())
                })?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(element),
                    None => root = Some(element),
                }
            }
            Event::Text(t) => push_text(&mut stack, Some(&t.xml_content(XmlVersion::Implicit1_0))),
            Event::CData(c) => {
                let content = c.into_inner();
                push_text(&mut stack, Some(&content));
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => Some(c.to_string()),
                    Ok(None) => {
                        let name = r.xml_content(XmlVersion::Implicit1_0);
                        resolve_predefined_entity(&name).map(str::to_owned)
                    }
                    Err(e) => return Err(at_buffer(&reader, e.to_string())),
                };
                push_text(&mut stack, resolved.as_deref());
            }
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    if let Some(open) = stack.last() {
        let (line, col) = line_col(text, text.len());
        return Err(format!(
            "invalid XML at line {line} column {col}: unexpected end of file, <{}> is not closed",
            open.name
        ));
    }
    root.ok_or_else(|| "invalid XML: no root element".to_owned())
}

fn push_text(stack: &mut [Element], text: Option<&str>) {
    let Some(element) = stack.last_mut() else {
        return;
    };
    match (element.text.as_mut(), text) {
        (Some(existing), Some(more)) => existing.push_str(more),
        // An unresolvable entity makes the text unknown, and unknown stays unknown.
        _ => element.text = None,
    }
}

fn element_of(start: &BytesStart<'_>) -> Result<Element, String> {
    let name = start.local_name().into_inner().to_owned();
    let mut attrs = Vec::new();
    for attr in start.attributes() {
        let attr = attr.map_err(|e| e.to_string())?;
        let value = attr
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|e| e.to_string())?;
        attrs.push((
            attr.key.local_name().into_inner().to_owned(),
            value.into_owned(),
        ));
    }
    Ok(Element {
        name,
        attrs,
        text: Some(String::new()),
        children: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_a_tree_with_text_and_attributes() {
        let root = parse(
            "<?xml version=\"1.0\"?>\n<!-- c -->\n<p:project xmlns:p=\"urn:x\" a=\"1 &amp; 2\">\n  <name>a &lt; b &#65;</name>\n  <empty/>\n  <c><![CDATA[x<y]]></c>\n  <u>&custom;</u>\n</p:project>\n",
        )
        .expect("valid");
        assert_eq!(root.name, "project");
        assert_eq!(root.attr("A"), Some("1 & 2"));
        assert_eq!(
            root.child("name").and_then(Element::trimmed_text),
            Some("a < b A")
        );
        assert_eq!(
            root.child("empty").and_then(Element::trimmed_text),
            Some("")
        );
        assert_eq!(root.child("c").and_then(Element::trimmed_text), Some("x<y"));
        assert_eq!(root.child("u").and_then(Element::trimmed_text), None);
    }

    #[test]
    fn errors_name_a_position() {
        let err = parse("<project>\n  <a>\n</project>\n").expect_err("mismatch");
        assert!(err.starts_with("invalid XML at line 3 column"), "{err}");
        let err = parse("<project>\n  <a>x</a>\n").expect_err("unclosed");
        assert!(err.contains("<project> is not closed"), "{err}");
        assert!(parse("").is_err());
        assert!(parse("<a/><b/>").is_err());
        let deep = format!("{}{}", "<a>".repeat(100_000), "</a>".repeat(100_000));
        let err = parse(&deep).expect_err("too deep");
        assert!(err.contains("nest deeper than 256"), "{err}");
    }
}
