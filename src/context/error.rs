//! Why a manifest of the build context cannot be read: the parsers' one error type. The text
//! of each is what the notes print after the file's name.

use std::fmt;

use super::xml::XmlError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestError {
    /// Not JSON (serde_json's message, which ends with the line and column).
    Json(String),
    /// Not TOML; the 1-based line and column when the parser gives a place.
    Toml {
        position: Option<(usize, usize)>,
        message: String,
    },
    /// Not XML.
    Xml(XmlError),
    /// A line the format does not allow (1-based).
    Line { line: usize, message: String },
    /// Well-formed, but not what the manifest should hold (a field of the wrong type, another
    /// root element, a missing directive).
    Invalid(String),
}

impl ManifestError {
    /// A TOML parser's error, placed in `text`.
    pub(crate) fn toml(text: &str, error: &toml::de::Error) -> ManifestError {
        ManifestError::Toml {
            position: error
                .span()
                .map(|span| crate::syntax::line_char_col(text, span.start)),
            message: error.message().trim_end().to_owned(),
        }
    }

    /// `message` on the 1-based `line`.
    pub(crate) fn line(line: usize, message: impl Into<String>) -> ManifestError {
        ManifestError::Line {
            line,
            message: message.into(),
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> ManifestError {
        ManifestError::Invalid(message.into())
    }
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ManifestError::Json(message) => write!(f, "invalid JSON: {message}"),
            ManifestError::Toml {
                position: Some((line, col)),
                message,
            } => write!(
                f,
                "TOML parse error at line {line}, column {col}: {message}"
            ),
            ManifestError::Toml {
                position: None,
                message,
            } => write!(f, "TOML parse error: {message}"),
            ManifestError::Xml(e) => e.fmt(f),
            ManifestError::Line { line, message } => write!(f, "line {line}: {message}"),
            ManifestError::Invalid(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for ManifestError {}

impl From<XmlError> for ManifestError {
    fn from(e: XmlError) -> ManifestError {
        ManifestError::Xml(e)
    }
}
