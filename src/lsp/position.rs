//! Positions between restage and LSP: restage counts 1-based lines and 1-based byte columns; LSP
//! counts 0-based lines and 0-based UTF-16 code units. Edits for a client are computed from a
//! line diff of the buffer and the rewritten text.

use lsp_types::{Position, Range, TextEdit};
use similar::{DiffTag, TextDiff};

/// The line starts of a text, for conversions both ways.
pub struct LineIndex<'a> {
    text: &'a str,
    /// Byte offset of each line's first byte (lines end at `\n`).
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub fn new(text: &'a str) -> LineIndex<'a> {
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|&(_, b)| b == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex { text, starts }
    }

    /// The byte offset of a restage position (1-based line, 1-based byte column), clamped to
    /// the text and moved back to a character boundary.
    pub fn offset_of(&self, line: usize, column: usize) -> usize {
        let Some(&start) = self.starts.get(line.saturating_sub(1)) else {
            return self.text.len();
        };
        let end = self.line_end(line.saturating_sub(1));
        let mut at = (start + column.saturating_sub(1)).min(end);
        while !self.text.is_char_boundary(at) {
            at -= 1;
        }
        at
    }

    /// The LSP position of a byte offset (clamped to the text).
    pub fn position(&self, offset: usize) -> Position {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|&s| s <= offset) - 1;
        let character = self.text[self.starts[line]..offset]
            .chars()
            .map(char::len_utf16)
            .sum::<usize>();
        Position::new(to_u32(line), to_u32(character))
    }

    /// The LSP position of a restage position.
    pub fn position_of(&self, line: usize, column: usize) -> Position {
        self.position(self.offset_of(line, column))
    }

    /// The byte offset of an LSP position (clamped to its line and to the text).
    pub fn offset(&self, position: Position) -> usize {
        let line = position.line as usize;
        let Some(&start) = self.starts.get(line) else {
            return self.text.len();
        };
        let end = self.line_end(line);
        let mut units = 0usize;
        for (i, c) in self.text[start..end].char_indices() {
            if units >= position.character as usize {
                return start + i;
            }
            units += c.len_utf16();
        }
        end
    }

    /// The end of line `index` (0-based), before its `\n`.
    fn line_end(&self, index: usize) -> usize {
        self.starts
            .get(index + 1)
            .map_or(self.text.len(), |next| next - 1)
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The edits that turn `old` into `new`: one per run of changed lines, against `old`, in order
/// and not overlapping (as LSP requires of the edits of one document).
pub fn text_edits(old: &str, new: &str) -> Vec<TextEdit> {
    let diff = TextDiff::from_lines(old, new);
    let old_starts = prefix_sums(diff.iter_old_slices().map(str::len));
    let new_starts = prefix_sums(diff.iter_new_slices().map(str::len));
    let index = LineIndex::new(old);
    let mut edits = Vec::new();
    let mut pending: Option<(std::ops::Range<usize>, std::ops::Range<usize>)> = None;
    let mut flush = |pending: &mut Option<(std::ops::Range<usize>, std::ops::Range<usize>)>| {
        if let Some((o, n)) = pending.take() {
            edits.push(TextEdit {
                range: Range::new(
                    index.position(old_starts[o.start]),
                    index.position(old_starts[o.end]),
                ),
                new_text: new[new_starts[n.start]..new_starts[n.end]].to_string(),
            });
        }
    };
    for op in diff.ops() {
        let (tag, o, n) = op.as_tag_tuple();
        if tag == DiffTag::Equal {
            flush(&mut pending);
            continue;
        }
        pending = Some(match pending.take() {
            Some((po, pn)) => (po.start..o.end, pn.start..n.end),
            None => (o, n),
        });
    }
    flush(&mut pending);
    edits
}

/// `[0, a, a+b, ...]`: the byte offset of each line and of the end.
fn prefix_sums(lens: impl Iterator<Item = usize>) -> Vec<usize> {
    let mut out = vec![0];
    let mut sum = 0;
    for len in lens {
        sum += len;
        out.push(sum);
    }
    out
}

/// `edits` (as [`text_edits`] makes them: sorted, not overlapping) applied to `text`.
pub fn apply_edits(text: &str, edits: &[TextEdit]) -> String {
    let index = LineIndex::new(text);
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for e in edits {
        let start = index.offset(e.range.start).max(at);
        let end = index.offset(e.range.end).max(start);
        out.push_str(&text[at..start]);
        out.push_str(&e.new_text);
        at = end;
    }
    out.push_str(&text[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_columns_become_utf16_units() {
        // "é" is 2 bytes and 1 UTF-16 unit; "😀" is 4 bytes and 2 units.
        let text = "FROM a\nLABEL x=\"é😀\" y=1\n";
        let index = LineIndex::new(text);
        // `y` is at byte column 18 and UTF-16 column 14 (0-based).
        let col = "LABEL x=\"é😀\" ".len() + 1;
        assert_eq!(index.position_of(2, col), Position::new(1, 14));
        assert_eq!(
            index.offset(Position::new(1, 14)),
            text.find("y=1").unwrap()
        );
        // The start of the line after the last one is the end of the text.
        assert_eq!(index.position_of(3, 1), Position::new(2, 0));
        // Past the end of a line: its end. Past the last line: the end of the text.
        assert_eq!(index.position_of(1, 99), Position::new(0, 6));
        assert_eq!(index.position_of(9, 1), Position::new(2, 0));
        // Inside a character: its start.
        assert_eq!(
            index.position(text.find('é').unwrap() + 1),
            Position::new(1, 9)
        );
    }

    #[test]
    fn edits_cover_changed_lines_and_apply_back() {
        let cases = [
            ("FROM a\nCMD x\n", "FROM a\nCMD [\"x\"]\n"),
            ("FROM a\nCMD x", "FROM a\nCMD [\"x\"]\nUSER 1\n"),
            (
                "FROM a\r\nRUN b\r\nCMD x\r\n",
                "FROM a\r\nCOPY . .\r\nRUN b\r\nCMD [\"x\"]\r\n",
            ),
            ("", "FROM a\n"),
            ("FROM a\n", "FROM a\n"),
        ];
        for (old, new) in cases {
            let edits = text_edits(old, new);
            assert_eq!(
                apply_edits(old, &edits),
                new,
                "{old:?} -> {new:?}: {edits:?}"
            );
        }
        assert_eq!(
            text_edits("FROM a\nCMD x\n", "FROM a\nCMD [\"x\"]\n"),
            vec![TextEdit {
                range: Range::new(Position::new(1, 0), Position::new(2, 0)),
                new_text: "CMD [\"x\"]\n".to_string(),
            }]
        );
    }
}
