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
    let order = application_order(edits);
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

/// The order `apply` applies edits in: by start, insertions before replacements at the same
/// start, then the given order.
fn application_order(edits: &[Edit]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..edits.len()).collect();
    order.sort_by_key(|&i| (edits[i].range.start, !edits[i].range.is_empty()));
    order
}

/// A piece of the current text: bytes kept from the original, or text restage wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    /// This range of the original text, unchanged.
    Kept(Range<usize>),
    Written(String),
    /// Whole lines restage wrote that equal the original's from `from`, lines one edit took
    /// out and another of the same transform wrote elsewhere (an instruction moved to another
    /// place or stage). Written text for the edits; for messages, the lines as read.
    Moved(Box<Moved>),
}

/// Lines restage moved: their text, and the original offset it was read at.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Moved {
    text: String,
    from: usize,
}

impl Piece {
    fn len(&self) -> usize {
        match self {
            Piece::Kept(r) => r.len(),
            Piece::Written(s) => s.len(),
            Piece::Moved(m) => m.text.len(),
        }
    }
}

/// Where an offset of the current text came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The byte at this original offset, unchanged.
    Kept(usize),
    /// Text restage wrote in place of the original range starting here.
    Written(usize),
    /// A line restage moved (see [`Piece::Moved`]): the byte it was read at, and, as for written
    /// text, the start of the original range it was written in place of.
    Moved { read: usize, at: usize },
}

/// Every edit applied so far, composed: the current text as pieces of the original and text
/// restage wrote. Maps an offset of the current text back to the original, and gives the edits
/// against the original that produce the current text, each with the owners (the changes) whose
/// edits made it.
#[derive(Debug, Clone)]
pub struct Composed {
    pieces: Vec<Piece>,
    /// Current-text offset where each piece starts.
    starts: Vec<usize>,
    original_len: usize,
    /// The range of the original each owned edit touched when it was recorded (text restage
    /// wrote maps to the original range it replaced), and its owner.
    footprints: Vec<(Range<usize>, usize)>,
}

impl Composed {
    /// No edit yet: the current text is the original.
    pub fn new(original_len: usize) -> Composed {
        let pieces = if original_len == 0 {
            Vec::new()
        } else {
            vec![Piece::Kept(0..original_len)]
        };
        let mut c = Composed {
            pieces,
            starts: Vec::new(),
            original_len,
            footprints: Vec::new(),
        };
        c.index();
        c
    }

    fn index(&mut self) {
        self.starts.clear();
        let mut at = 0;
        for p in &self.pieces {
            self.starts.push(at);
            at += p.len();
        }
    }

    /// Length of the current text.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.starts
            .last()
            .map_or(0, |s| s + self.pieces[self.pieces.len() - 1].len())
    }

    /// True when the current text is empty.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Records `edits` against `current` (the current text; edits already checked by [`apply`])
    /// as applied. The part of a replacement equal to the text it replaces (a common prefix or
    /// suffix) counts as kept, so text a transform rewrote unchanged keeps its position.
    /// `owners` is empty, or names the owner of each edit (see [`Composed::owned_edits`]).
    pub fn apply(&mut self, current: &str, edits: &[Edit], owners: &[usize]) {
        // Edits that touch (a deletion and the insertion at its end) become one replacement
        // first, so that text moved within them is seen as unchanged.
        // Their texts are borrowed, unless two are joined. Joined edits are in order and do not
        // touch (`end < next start`), so trimmed they stay in order. Each keeps the range of
        // `order` that holds its edits.
        let order = application_order(edits);
        let mut joined: Vec<(Range<usize>, std::borrow::Cow<'_, str>, Range<usize>)> =
            Vec::with_capacity(edits.len());
        for (k, &i) in order.iter().enumerate() {
            let e = &edits[i];
            match joined.last_mut() {
                Some((range, text, members)) if range.end == e.range.start => {
                    range.end = e.range.end;
                    text.to_mut().push_str(&e.text);
                    members.end = k + 1;
                }
                _ => joined.push((
                    e.range.clone(),
                    std::borrow::Cow::Borrowed(&e.text),
                    k..k + 1,
                )),
            }
        }
        let trimmed: Vec<(Range<usize>, &str)> = joined
            .iter()
            .map(|(range, text, _)| trim_unchanged(current, range, text))
            .collect();
        if owners.len() == edits.len() && !owners.is_empty() {
            // Where each edit lands in the original, read before the pieces change.
            for ((range, text), (_, _, members)) in trimmed.iter().zip(&joined) {
                if range.is_empty() && text.is_empty() {
                    continue;
                }
                let start = self.map_start(range.start);
                let end = self.map_end(range.end).max(start);
                for &i in &order[members.clone()] {
                    self.footprints.push((start..end, owners[i]));
                }
            }
        }
        // Whole lines the edits take out, where they were read: a line one of them writes
        // elsewhere is a line moved (see [`Piece::Moved`]).
        let mut taken = self.taken_lines(current, &trimmed);
        let mut rest = std::mem::take(&mut self.pieces).into_iter();
        let mut front: Option<Piece> = None;
        let mut out: Vec<Piece> = Vec::new();
        let mut pos = 0;
        // Moves `n` bytes from the front of the current pieces to `out` (or drops them).
        let mut take = |n: usize, keep: bool, out: &mut Vec<Piece>| {
            let mut n = n;
            while n > 0 {
                let Some(p) = front.take().or_else(|| rest.next()) else {
                    return;
                };
                let len = p.len();
                let (head, tail) = if n >= len {
                    (p, None)
                } else {
                    match p {
                        Piece::Kept(r) => (
                            Piece::Kept(r.start..r.start + n),
                            Some(Piece::Kept(r.start + n..r.end)),
                        ),
                        Piece::Written(mut s) => {
                            let tail = s.split_off(n);
                            (Piece::Written(s), Some(Piece::Written(tail)))
                        }
                        Piece::Moved(mut m) => {
                            let tail = Moved {
                                text: m.text.split_off(n),
                                from: m.from + n,
                            };
                            (Piece::Moved(m), Some(Piece::Moved(Box::new(tail))))
                        }
                    }
                };
                n -= head.len();
                if keep {
                    push(out, head);
                }
                front = tail;
            }
        };
        for (range, text) in trimmed {
            take(range.start - pos, true, &mut out);
            // Whole lines the replacement writes back unchanged, with text before or after
            // them (a runtime stage inserted above moved lines, a line ending added after the
            // last one), stay where they were read.
            let old = &current[range.clone()];
            let moved = (old.contains('\n') && text.len() > old.len())
                .then(|| memchr::memmem::find(text.as_bytes(), old.as_bytes()))
                .flatten();
            match moved {
                Some(at) => {
                    push_written(&mut out, &text[..at]);
                    take(old.len(), true, &mut out);
                    push_written(&mut out, &text[at + old.len()..]);
                }
                None => {
                    take(range.len(), false, &mut out);
                    push_written_moving(&mut out, current, &range, text, &mut taken);
                }
            }
            pos = range.end;
        }
        take(usize::MAX, true, &mut out);
        self.pieces = out;
        self.index();
    }

    /// Where the byte at `offset` of the current text came from (the end of the text maps to
    /// the end of the original). Written text maps to the start of the original range it
    /// replaced.
    pub fn origin(&self, offset: usize) -> Origin {
        let i = self.starts.partition_point(|&s| s <= offset);
        match i.checked_sub(1).map(|i| (i, &self.pieces[i])) {
            Some((i, Piece::Kept(r))) if offset - self.starts[i] < r.len() => {
                Origin::Kept(r.start + offset - self.starts[i])
            }
            Some((i, Piece::Written(s))) if offset - self.starts[i] < s.len() => {
                Origin::Written(self.kept_end_before(i))
            }
            Some((i, Piece::Moved(m))) if offset - self.starts[i] < m.text.len() => Origin::Moved {
                read: m.from + offset - self.starts[i],
                at: self.kept_end_before(i),
            },
            _ => Origin::Kept(self.original_len),
        }
    }

    /// The original offset of a start position in the current text.
    pub fn map_start(&self, offset: usize) -> usize {
        match self.origin(offset) {
            Origin::Kept(o) | Origin::Written(o) | Origin::Moved { at: o, .. } => o,
        }
    }

    /// The original offset of an end position (exclusive) in the current text: just past the
    /// original byte before it, or the end of the original range that written text replaced.
    pub fn map_end(&self, offset: usize) -> usize {
        if offset == 0 {
            return 0;
        }
        let i = self.starts.partition_point(|&s| s < offset) - 1;
        match &self.pieces[i] {
            Piece::Kept(r) => (r.start + (offset - self.starts[i])).min(r.end),
            Piece::Written(_) | Piece::Moved(_) => self.kept_start_after(i),
        }
    }

    /// The whole lines of `current` the `trimmed` edits take out, with the original offsets
    /// they were read at (kept or moved text, contiguous): those of them the same edits write
    /// elsewhere are moved (see [`Piece::Moved`]).
    fn taken_lines<'a>(
        &self,
        current: &'a str,
        trimmed: &[(Range<usize>, &str)],
    ) -> Vec<(&'a str, usize)> {
        let mut taken = Vec::new();
        for (range, _) in trimmed {
            if range.is_empty() {
                continue;
            }
            let (before, after) = (
                starts_line(current, range.start),
                ends_line(current, range.end),
            );
            for (at, line) in whole_lines(current, range.clone(), before, after) {
                let last = at + line.len() - 1;
                if let (Some(from), Some(to)) = (self.read_at(at), self.read_at(last))
                    && to == from + line.len() - 1
                {
                    taken.push((line, from));
                }
            }
        }
        taken
    }

    /// The original offset the byte at `offset` of the current text was read at: kept text,
    /// and lines restage moved (see [`Piece::Moved`]); `None` for text restage wrote.
    pub fn read_at(&self, offset: usize) -> Option<usize> {
        let i = self
            .starts
            .partition_point(|&s| s <= offset)
            .checked_sub(1)?;
        let within = offset - self.starts[i];
        match &self.pieces[i] {
            Piece::Kept(r) if within < r.len() => Some(r.start + within),
            Piece::Moved(m) if within < m.text.len() => Some(m.from + within),
            _ => None,
        }
    }

    fn kept_end_before(&self, i: usize) -> usize {
        self.pieces[..i]
            .iter()
            .rev()
            .find_map(|p| match p {
                Piece::Kept(r) => Some(r.end),
                Piece::Written(_) | Piece::Moved(_) => None,
            })
            .unwrap_or(0)
    }

    fn kept_start_after(&self, i: usize) -> usize {
        self.pieces[i + 1..]
            .iter()
            .find_map(|p| match p {
                Piece::Kept(r) => Some(r.start),
                Piece::Written(_) | Piece::Moved(_) => None,
            })
            .unwrap_or(self.original_len)
    }

    /// The edits against the original that give the current text: sorted, non-overlapping,
    /// each a maximal run of changed text.
    pub fn edits(&self) -> Vec<Edit> {
        let mut out = Vec::new();
        let mut original_pos = 0;
        let mut written = String::new();
        for p in &self.pieces {
            match p {
                Piece::Written(s) => written.push_str(s),
                Piece::Moved(m) => written.push_str(&m.text),
                Piece::Kept(r) => {
                    if r.start > original_pos || !written.is_empty() {
                        out.push(Edit::replace(
                            original_pos..r.start,
                            std::mem::take(&mut written),
                        ));
                    }
                    original_pos = r.end;
                }
            }
        }
        if self.original_len > original_pos || !written.is_empty() {
            out.push(Edit::replace(original_pos..self.original_len, written));
        }
        out
    }

    /// [`Composed::edits`], each with the owners whose edits touched its range of the original
    /// (sorted, once each): an owner whose edit another one later rewrote is named with it.
    /// Two edits of the result are always apart (kept text lies between them), so an owned
    /// edit touches the one it made, and any it meets at an end only when that one ends or
    /// starts exactly there.
    pub fn owned_edits(&self) -> Vec<(Edit, Vec<usize>)> {
        self.edits()
            .into_iter()
            .map(|e| {
                let mut owners: Vec<usize> = self
                    .footprints
                    .iter()
                    .filter(|(f, _)| f.start <= e.range.end && e.range.start <= f.end)
                    .map(|&(_, owner)| owner)
                    .collect();
                owners.sort_unstable();
                owners.dedup();
                (e, owners)
            })
            .collect()
    }
}

/// The edit of `range` by `new` without the bytes at its start and end that equal the text
/// they replace (at char boundaries). Trimming the start first or the end first can differ
/// (`EXPOSE` after an inserted `ENV` shares an `E` at the start): the smaller edit wins, then
/// the one that starts a line.
fn trim_unchanged<'a>(
    current: &str,
    range: &Range<usize>,
    new: &'a str,
) -> (Range<usize>, &'a str) {
    let old = &current[range.clone()];
    let (p1, s1) = {
        let p = common_prefix(old, new);
        (p, common_suffix(&old[p..], &new[p..]))
    };
    let (p2, s2) = {
        let s = common_suffix(old, new);
        (
            common_prefix(&old[..old.len() - s], &new[..new.len() - s]),
            s,
        )
    };
    // On a tie, the edit that starts a line (what a reader expects of an inserted line).
    let line_start = |p: usize| starts_line(current, range.start + p);
    let second = p2 + s2 > p1 + s1 || (p2 + s2 == p1 + s1 && line_start(p2) && !line_start(p1));
    let (prefix, suffix) = if second { (p2, s2) } else { (p1, s1) };
    (
        range.start + prefix..range.end - suffix,
        &new[prefix..new.len() - suffix],
    )
}

/// Length of the common prefix of `a` and `b`, at a char boundary.
fn common_prefix(a: &str, b: &str) -> usize {
    let mut n = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
    while !a.is_char_boundary(n) || !b.is_char_boundary(n) {
        n -= 1;
    }
    n
}

/// Length of the common suffix of `a` and `b`, at a char boundary.
fn common_suffix(a: &str, b: &str) -> usize {
    let mut n = a
        .bytes()
        .rev()
        .zip(b.bytes().rev())
        .take_while(|(x, y)| x == y)
        .count();
    while !a.is_char_boundary(a.len() - n) || !b.is_char_boundary(b.len() - n) {
        n -= 1;
    }
    n
}

/// Appends text restage wrote (nothing when empty), merged with written text before it.
fn push_written(out: &mut Vec<Piece>, text: &str) {
    match out.last_mut() {
        Some(Piece::Written(last)) => last.push_str(text),
        _ if text.is_empty() => {}
        _ => out.push(Piece::Written(text.to_string())),
    }
}

/// Appends a piece, merging it with the last one when they join.
fn push(out: &mut Vec<Piece>, p: Piece) {
    if p.len() == 0 {
        return;
    }
    match (out.last_mut(), p) {
        (Some(Piece::Kept(a)), Piece::Kept(b)) if a.end == b.start => a.end = b.end,
        (Some(Piece::Written(a)), Piece::Written(b)) => a.push_str(&b),
        (Some(Piece::Moved(a)), Piece::Moved(b)) if a.from + a.text.len() == b.from => {
            a.text.push_str(&b.text);
        }
        (_, p) => out.push(p),
    }
}

/// The lines in `range` of `text`, each whole and without its terminator: from a line start to
/// a `\n`. `before`: a line starts at `range.start`; `after`: a `\n` follows `range.end` (the
/// text around the range may be another's: the text a replacement goes into). Lines of nothing
/// but blanks are left out: they name no place.
fn whole_lines(
    text: &str,
    range: Range<usize>,
    before: bool,
    after: bool,
) -> impl Iterator<Item = (usize, &str)> {
    let bytes = text.as_bytes();
    let end = range.end;
    let mut at = if before {
        range.start
    } else {
        memchr::memchr(b'\n', &bytes[range.start..end]).map_or(end, |p| range.start + p + 1)
    };
    std::iter::from_fn(move || {
        while at < end {
            let stop = match memchr::memchr(b'\n', &bytes[at..end]) {
                Some(p) => at + p,
                None if after => end,
                None => return None,
            };
            let line = (at, &text[at..stop]);
            at = stop + 1;
            if !line.1.trim().is_empty() {
                return Some(line);
            }
        }
        None
    })
}

/// Whether a line starts at `at` of `text`.
fn starts_line(text: &str, at: usize) -> bool {
    at == 0 || text.as_bytes()[at - 1] == b'\n'
}

/// Whether a line ends at `at` of `text`: a `\n` follows, or the text ends there (a last line
/// without a line ending is a whole line too).
fn ends_line(text: &str, at: usize) -> bool {
    text.as_bytes().get(at).is_none_or(|&b| b == b'\n')
}

/// Appends `text`, the replacement of `range` of `current`, as [`push_written`] does, except
/// that each whole line of it equal to a line in `taken` (lines the same edits take out, with
/// where they were read; each used once, the first first) is a moved piece.
fn push_written_moving(
    out: &mut Vec<Piece>,
    current: &str,
    range: &Range<usize>,
    text: &str,
    taken: &mut Vec<(&str, usize)>,
) {
    if taken.is_empty() {
        push_written(out, text);
        return;
    }
    let mut written = 0;
    let (before, after) = (
        starts_line(current, range.start),
        ends_line(current, range.end),
    );
    for (at, line) in whole_lines(text, 0..text.len(), before, after) {
        let Some(k) = taken.iter().position(|(l, _)| *l == line) else {
            continue;
        };
        let (_, from) = taken.remove(k);
        push_written(out, &text[written..at]);
        push(
            out,
            Piece::Moved(Box::new(Moved {
                text: line.to_string(),
                from,
            })),
        );
        written = at + line.len();
    }
    push_written(out, &text[written..]);
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
    fn composed_edits_rebuild_the_text_and_map_back() {
        let original = "FROM a\nRUN x\nCMD y\n";
        let mut composed = Composed::new(original.len());
        let first = vec![Edit::insert(7, "COPY a b\n"), Edit::replace(11..12, "zz")];
        let one = apply(original, &first).unwrap();
        composed.apply(original, &first, &[]);
        assert_eq!(one, "FROM a\nCOPY a b\nRUN zz\nCMD y\n");
        // Edits of the second pass touch text of the first and the original.
        let second = vec![Edit::replace(9..22, "Q"), Edit::insert(28, "!")];
        let two = apply(&one, &second).unwrap();
        composed.apply(&one, &second, &[]);
        assert_eq!(two, "FROM a\nCOQ\nCMD y!\n");
        let edits = composed.edits();
        assert_eq!(
            edits,
            vec![Edit::replace(7..12, "COQ"), Edit::insert(18, "!")]
        );
        assert_eq!(apply(original, &edits).unwrap(), two);
        // Kept bytes map to themselves, written ones to the start of what they replaced.
        assert_eq!(composed.origin(0), Origin::Kept(0));
        assert_eq!(composed.origin(8), Origin::Written(7));
        assert_eq!(composed.origin(10), Origin::Kept(12));
        assert_eq!(composed.origin(11), Origin::Kept(13));
        assert_eq!(composed.origin(16), Origin::Written(18));
        assert_eq!(composed.origin(17), Origin::Kept(18));
        assert_eq!(composed.origin(two.len()), Origin::Kept(original.len()));
        assert_eq!(composed.map_end(10), 12);
        assert_eq!(composed.map_end(11), 13);
        assert_eq!(composed.map_end(17), 18);
        assert_eq!(composed.len(), two.len());
    }

    #[test]
    fn rewritten_but_equal_text_stays_kept() {
        let original = "FROM a\nEXPOSE 1\nCMD é\n";
        let mut composed = Composed::new(original.len());
        // Rewrites everything after FROM, adding one line: only that line is new.
        let edits = vec![Edit::replace(7..23, "ENV X=1\nEXPOSE 1\nCMD é\n")];
        composed.apply(original, &edits, &[]);
        assert_eq!(composed.edits(), vec![Edit::insert(7, "ENV X=1\n")]);
        assert_eq!(composed.origin(17), Origin::Kept(9));
        // Lines a replacement writes back whole, with text around them, keep their place: a
        // stage inserted above the last two lines and a line ending added after them.
        let moved = "FROM a\nEXPOSE 1\nCMD x";
        let mut c = Composed::new(moved.len());
        c.apply(
            moved,
            &[Edit::replace(7..21, "FROM b\nEXPOSE 1\nCMD x\n")],
            &[0],
        );
        assert_eq!(
            c.edits(),
            vec![Edit::insert(7, "FROM b\n"), Edit::insert(21, "\n")]
        );
        assert_eq!(c.origin(23), Origin::Kept(16));
        assert_eq!(c.origin(7), Origin::Written(7));
        // Both edits are the one change's.
        let owned = c.owned_edits();
        assert!(owned.iter().all(|(_, owners)| owners == &[0]), "{owned:?}");
        // Within a line, a replacement is not searched for the text it replaces.
        let mut c = Composed::new(9);
        c.apply("CMD a b c", &[Edit::replace(4..9, "x a b c")], &[]);
        assert_eq!(c.edits(), vec![Edit::insert(4, "x ")]);
        // A shared prefix that ends inside a character backs off to its start.
        let mut c = Composed::new(3);
        c.apply("aé", &[Edit::replace(0..3, "aè")], &[]);
        assert_eq!(c.edits(), vec![Edit::replace(1..3, "è")]);
        // A deletion and an insertion at its end that writes the same text back: nothing moved.
        let mut c = Composed::new(original.len());
        c.apply(
            original,
            &[Edit::insert(23, "EXPOSE 1\nCMD é\n"), Edit::delete(7..23)],
            &[],
        );
        assert_eq!(c.edits(), vec![]);
    }

    #[test]
    fn lines_one_edit_takes_out_and_another_writes_back_are_read_where_they_were() {
        let original = "FROM a\nEXPOSE 1\nRUN b\nCMD c\n";
        let mut c = Composed::new(original.len());
        // One transform moves `RUN b` above the EXPOSE and writes a new stage before the CMD.
        let edits = vec![
            Edit::insert(7, "RUN b\n\n"),
            Edit::delete(16..22),
            Edit::insert(22, "FROM d\nEXPOSE 1\n"),
        ];
        let text = apply(original, &edits).unwrap();
        assert_eq!(text, "FROM a\nRUN b\n\nEXPOSE 1\nFROM d\nEXPOSE 1\nCMD c\n");
        c.apply(original, &edits, &[0, 0, 0]);
        // The edits and their footprints are those of written text.
        let rebuilt = apply(original, &c.edits()).unwrap();
        assert_eq!(rebuilt, text);
        assert_eq!(c.origin(7), Origin::Moved { read: 16, at: 7 });
        assert_eq!(c.map_start(7), 7, "written in place of the original at 7");
        // The moved line is read at its place in the original; the blank line after it and
        // the new stage are not; the EXPOSE the new stage copies (not taken out) is written.
        assert_eq!(c.read_at(7), Some(16));
        assert_eq!(c.read_at(11), Some(20));
        assert_eq!(c.read_at(12), None);
        assert_eq!(c.read_at(13), None);
        assert_eq!(c.read_at(23), None);
        assert_eq!(c.read_at(30), None);
        assert_eq!(c.read_at(14), Some(7), "the EXPOSE kept");
        // A later edit in the moved line: its text, split, is still read where it was.
        let mut later = c.clone();
        later.apply(&text, &[Edit::replace(11..12, "x")], &[]);
        assert_eq!(later.read_at(7), Some(16));
        assert_eq!(later.read_at(11), None);
        // A blank line or a line taken out without being written back is not a move.
        let mut c = Composed::new(original.len());
        c.apply(
            original,
            &[Edit::delete(16..22), Edit::insert(7, "\n")],
            &[],
        );
        assert_eq!(c.read_at(7), None);
    }

    #[test]
    fn a_last_line_without_a_line_ending_is_moved_like_any_other() {
        // The CMD ends the file without a `\n`; the edits take it out and write it back, with
        // a line ending, after a new stage.
        let original = "FROM a\nRUN b\nCMD c";
        let edits = vec![Edit::replace(13..18, "FROM d\nCMD c\n")];
        let text = apply(original, &edits).unwrap();
        assert_eq!(text, "FROM a\nRUN b\nFROM d\nCMD c\n");
        let mut c = Composed::new(original.len());
        c.apply(original, &edits, &[0]);
        assert_eq!(apply(original, &c.edits()).unwrap(), text);
        assert_eq!(c.read_at(20), Some(13), "the CMD is read where it was");
        assert_eq!(c.read_at(24), Some(17));
        assert_eq!(
            c.read_at(25),
            None,
            "the line ending restage adds is written"
        );
        assert_eq!(c.read_at(13), None, "the new stage is written");
        // Taken out at the end of one edit's range and written back by another.
        let edits = vec![Edit::delete(13..18), Edit::insert(7, "CMD c\n")];
        let mut c = Composed::new(original.len());
        c.apply(original, &edits, &[0, 0]);
        assert_eq!(
            apply(original, &c.edits()).unwrap(),
            "FROM a\nCMD c\nRUN b\n"
        );
        assert_eq!(c.read_at(7), Some(13));
    }

    #[test]
    fn insertion_at_end_of_replacement_goes_after_it() {
        let edits = vec![Edit::insert(5, "!"), Edit::replace(0..5, "bye")];
        assert_eq!(apply("hello world", &edits).unwrap(), "bye! world");
    }
}
