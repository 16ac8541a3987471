//! Edits against a Dockerfile's text, the changes transforms propose, and how sure they are.
//! `apply` is the only place text is rewritten; it rejects overlapping edits instead of guessing
//! an order.

use std::fmt;
use std::ops::Range;

/// Replace `range` of the text with `text`. An empty range inserts; an empty text deletes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub range: Range<usize>,
    pub text: String,
}

impl Edit {
    pub fn replace(range: Range<usize>, text: impl Into<String>) -> Edit {
        Edit {
            range,
            text: text.into(),
        }
    }

    pub fn insert(at: usize, text: impl Into<String>) -> Edit {
        Edit {
            range: at..at,
            text: text.into(),
        }
    }

    pub fn delete(range: Range<usize>) -> Edit {
        Edit {
            range,
            text: String::new(),
        }
    }
}

/// How far a change can be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Applicability {
    /// Every fact it relies on came from the knowledge files or the build context: applied.
    Safe,
    /// Relies on a guess: applied only with `--unsafe-fixes`.
    Unsafe,
    /// A suggestion with no edit restage can stand behind: reported, never applied.
    DisplayOnly,
}

impl fmt::Display for Applicability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Applicability::Safe => "safe",
            Applicability::Unsafe => "unsafe",
            Applicability::DisplayOnly => "suggestion",
        })
    }
}

/// One change a transform proposes: a title, the reason, and the edits that make it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The transform id (`copy-order`, ...).
    pub transform: &'static str,
    /// What the change does, in a few words.
    pub title: String,
    /// Why, in a sentence the user can check.
    pub reason: String,
    pub applicability: Applicability,
    /// Byte offset the change is about (for line numbers and suppression comments): the start of
    /// the instruction it concerns.
    pub anchor: usize,
    pub edits: Vec<Edit>,
}

impl Change {
    pub fn new(
        transform: &'static str,
        applicability: Applicability,
        anchor: usize,
        title: impl Into<String>,
        reason: impl Into<String>,
    ) -> Change {
        Change {
            transform,
            title: title.into(),
            reason: reason.into(),
            applicability,
            anchor,
            edits: Vec::new(),
        }
    }

    pub fn with_edits(mut self, edits: Vec<Edit>) -> Change {
        self.edits = edits;
        self
    }
}

/// Two edits touch the same bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overlap {
    pub first: Range<usize>,
    pub second: Range<usize>,
}

impl fmt::Display for Overlap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "overlapping edits at bytes {:?} and {:?}",
            self.first, self.second
        )
    }
}

impl std::error::Error for Overlap {}

/// True when `a` and `b` cannot both be applied: they share a byte, or an insertion falls strictly
/// inside a replaced range. Insertions at the same offset, or at either end of a replaced range,
/// are fine: they apply in the order given.
pub fn overlaps(a: &Range<usize>, b: &Range<usize>) -> bool {
    let shared = a.start.max(b.start) < a.end.min(b.end);
    let inside = |ins: &Range<usize>, r: &Range<usize>| {
        ins.is_empty() && r.start < ins.start && ins.start < r.end
    };
    shared || inside(a, b) || inside(b, a)
}

/// Applies edits to `text`. Edits may come in any order; insertions at the same offset keep their
/// given order, and an insertion at the start of a replaced range goes before the replacement.
pub fn apply(text: &str, edits: &[Edit]) -> Result<String, Overlap> {
    let mut order: Vec<usize> = (0..edits.len()).collect();
    // Stable: by start, insertions before replacements at the same start, then given order.
    order.sort_by_key(|&i| (edits[i].range.start, !edits[i].range.is_empty()));
    for w in order.windows(2) {
        let (a, b) = (&edits[w[0]].range, &edits[w[1]].range);
        if overlaps(a, b) {
            return Err(Overlap {
                first: a.clone(),
                second: b.clone(),
            });
        }
    }
    let mut out =
        String::with_capacity(text.len() + edits.iter().map(|e| e.text.len()).sum::<usize>());
    let mut pos = 0;
    for &i in &order {
        let e = &edits[i];
        assert!(
            e.range.end <= text.len() && e.range.start <= e.range.end,
            "edit range {:?} outside a text of {} bytes",
            e.range,
            text.len()
        );
        out.push_str(&text[pos..e.range.start]);
        out.push_str(&e.text);
        pos = e.range.end;
    }
    out.push_str(&text[pos..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applies_in_any_order() {
        let edits = vec![Edit::replace(6..11, "there"), Edit::insert(0, ">> ")];
        assert_eq!(apply("hello world", &edits).unwrap(), ">> hello there");
    }

    #[test]
    fn insertions_at_one_offset_keep_their_order() {
        let edits = vec![
            Edit::insert(5, "A"),
            Edit::insert(5, "B"),
            Edit::delete(5..6),
        ];
        assert_eq!(apply("hello world", &edits).unwrap(), "helloABworld");
    }

    #[test]
    fn rejects_shared_bytes_and_inner_insertions() {
        let shared = vec![Edit::replace(0..5, "x"), Edit::replace(4..6, "y")];
        assert!(apply("hello world", &shared).is_err());
        let inner = vec![Edit::replace(0..5, "x"), Edit::insert(2, "y")];
        assert!(apply("hello world", &inner).is_err());
        let adjacent = vec![Edit::replace(0..5, "x"), Edit::replace(5..6, "_")];
        assert_eq!(apply("hello world", &adjacent).unwrap(), "x_world");
    }

    #[test]
    fn insertion_at_end_of_replacement_goes_after_it() {
        let edits = vec![Edit::insert(5, "!"), Edit::replace(0..5, "bye")];
        assert_eq!(apply("hello world", &edits).unwrap(), "bye! world");
    }
}
