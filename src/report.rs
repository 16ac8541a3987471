//! What the user sees: unified diffs (`a/` and `b/` headers relative to the current directory,
//! accepted by `git apply` and `patch -p1`) and the run's counts. The emitters in `output`
//! render them.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use similar::TextDiff;

use crate::edit::Applicability;
use crate::run::{ChangeReport, FileReport, Status};

/// ANSI colours, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Colors(pub bool);

/// The path as shown in diffs and messages: relative to `cwd` when it is below it, with `/`.
pub fn display_path(path: &Path, cwd: &Path) -> String {
    if let Some(plain) = plain_shown(path, cwd).and_then(|b| std::str::from_utf8(b).ok()) {
        return plain.to_string();
    }
    shown(path, cwd)
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
        .replace("//", "/")
}

/// [`display_path`] as raw bytes (a file name need not be UTF-8), for diff headers.
fn display_path_bytes(path: &Path, cwd: &Path) -> Vec<u8> {
    if let Some(plain) = plain_shown(path, cwd) {
        return plain.to_vec();
    }
    let mut out: Vec<u8> = Vec::new();
    for (i, c) in shown(path, cwd).components().enumerate() {
        let part = os_bytes(c.as_os_str());
        if i > 0 && !out.ends_with(b"/") {
            out.push(b'/');
        }
        out.extend_from_slice(&part);
    }
    out
}

#[cfg(unix)]
fn os_bytes(s: &std::ffi::OsStr) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    s.as_bytes().to_vec()
}

#[cfg(not(unix))]
fn os_bytes(s: &std::ffi::OsStr) -> Vec<u8> {
    s.to_string_lossy().into_owned().into_bytes()
}

/// [`shown`] without building paths, for the usual case: `path` has no `.` or `..` component
/// (but leading `./`), no repeated or trailing slash, and neither has `cwd`, which is absolute.
/// Such a path is already normal, so `shown` is the part after `cwd/`, else the path itself.
/// `None` when either is not that plain: the caller takes the general way.
#[cfg(unix)]
fn plain_shown<'a>(path: &'a Path, cwd: &Path) -> Option<&'a [u8]> {
    use std::os::unix::ffi::OsStrExt;
    let cwd = cwd.as_os_str().as_bytes();
    if !(cwd == b"/" || (cwd.starts_with(b"/") && plain(cwd))) {
        return None;
    }
    let mut p = path.as_os_str().as_bytes();
    if !p.starts_with(b"/") {
        while let Some(rest) = p.strip_prefix(b"./") {
            p = rest;
        }
        // Relative: below `cwd` by construction.
        return (!p.starts_with(b"/") && plain(p)).then_some(p);
    }
    if !plain(p) {
        return None;
    }
    let below = if cwd == b"/" {
        Some(&p[1..])
    } else {
        p.strip_prefix(cwd).and_then(|r| r.strip_prefix(b"/"))
    };
    Some(below.filter(|r| !r.is_empty()).unwrap_or(p))
}

/// A path of names only: not empty, no trailing `/`, no empty segment but a leading one (an
/// absolute path), no `.` or `..`.
fn plain(p: &[u8]) -> bool {
    let first = memchr::memchr(b'/', p).map_or(p, |end| &p[..end]);
    !p.is_empty()
        && !p.ends_with(b"/")
        && !matches!(first, b"." | b"..")
        && crate::context::segments_after_slashes_are_names(p)
}

#[cfg(not(unix))]
fn plain_shown<'a>(_path: &'a Path, _cwd: &Path) -> Option<&'a [u8]> {
    None
}

/// The path relative to `cwd` when below it, else as given; normalized.
fn shown(path: &Path, cwd: &Path) -> PathBuf {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        cwd.join(path)
    };
    let normal = normalize(&absolute);
    match normal.strip_prefix(normalize(cwd)) {
        Ok(rel) if !rel.as_os_str().is_empty() => rel.to_path_buf(),
        _ => normalize(path),
    }
}

/// A name in a `---`/`+++` header as git writes it: as is when plain, else in double quotes
/// with C escapes (`\t`, `\n`, `\"`, `\\`, octal for other control bytes and for every byte
/// over 0x7f), which `git apply` and GNU `patch` read back.
pub fn quote_header_name(name: &[u8]) -> String {
    let plain = name
        .iter()
        .all(|&b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\');
    if plain {
        return String::from_utf8_lossy(name).into_owned();
    }
    let mut out = String::from("\"");
    for &b in name {
        match b {
            0x07 => out.push_str("\\a"),
            0x08 => out.push_str("\\b"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            0x0b => out.push_str("\\v"),
            0x0c => out.push_str("\\f"),
            b'\r' => out.push_str("\\r"),
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\{b:03o}")),
        }
    }
    out.push('"');
    out
}

/// Removes `.` components and folds `..` where possible, without touching the filesystem.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// A unified diff of one file, or an empty string when nothing changed.
pub fn unified_diff(display: &str, old: &str, new: &str) -> String {
    render_diff(display.as_bytes(), old, new)
}

/// [`unified_diff`] for the file at `path`, its name taken byte for byte (relative to `cwd`).
pub fn unified_diff_path(path: &Path, cwd: &Path, old: &str, new: &str) -> String {
    render_diff(&display_path_bytes(path, cwd), old, new)
}

/// Lines are split at `\n` only, as `git apply` and `patch` read them: a bare `\r` stays
/// inside its line (a diff library splitting at it would emit lines the tools reject). A last
/// line without `\n` is followed by `\ No newline at end of file`.
///
/// The lines the two texts share at their start and end are found on the bytes. When what is
/// left between them is lines only added, only removed, or one line replaced by one, and no
/// line of it equals the line next to it (so nothing can slide), the diff library would give
/// that one hunk: it is written directly. Otherwise the library diffs the lines.
fn render_diff(name: &[u8], old: &str, new: &str) -> String {
    if old == new {
        return String::new();
    }
    let mut out = String::new();
    if !render_simple(name, old, new, &mut out) {
        render_general(name, old, new, &mut out);
    }
    out
}

/// Lines of context around a change.
const CONTEXT: usize = 3;

/// Writes `--- a/NAME` and `+++ b/NAME`, the name quoted as [`quote_header_name`] does (looked
/// at once for both).
fn push_headers(out: &mut String, name: &[u8]) {
    let plain = name
        .iter()
        .all(|&b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\');
    let plain = plain.then(|| std::str::from_utf8(name).ok()).flatten();
    for (mark, prefix) in [("--- ", "a/"), ("+++ ", "b/")] {
        out.push_str(mark);
        match plain {
            Some(name) => {
                out.push_str(prefix);
                out.push_str(name);
            }
            None => out.push_str(&quote_header_name(&[prefix.as_bytes(), name].concat())),
        }
        out.push('\n');
    }
}

/// `@@ -OLD +NEW @@` for lines `old_start..old_start+old_len` and the same of the new text.
fn push_hunk_header(
    out: &mut String,
    old_start: usize,
    old_len: usize,
    new_start: usize,
    new_len: usize,
) {
    out.push_str("@@ -");
    push_hunk_range(out, old_start, old_len);
    out.push_str(" +");
    push_hunk_range(out, new_start, new_len);
    out.push_str(" @@\n");
}

/// `start,len` with 1-based start, as unified diffs write it (`start-1,0` for an empty range).
fn push_hunk_range(out: &mut String, start: usize, len: usize) {
    let mut buf = itoa::Buffer::new();
    match len {
        0 => {
            out.push_str(buf.format(start));
            out.push_str(",0");
        }
        1 => out.push_str(buf.format(start + 1)),
        _ => {
            out.push_str(buf.format(start + 1));
            out.push(',');
            out.push_str(buf.format(len));
        }
    }
}

/// One line of a hunk: its sign, the line, and the marker when it has no `\n`.
fn push_line(out: &mut String, sign: char, line: &str) {
    out.push(sign);
    out.push_str(line);
    if !line.ends_with('\n') {
        out.push_str("\n\\ No newline at end of file\n");
    }
}

/// Every line of `text` with its sign.
fn push_lines(out: &mut String, sign: char, text: &str) {
    for line in Lines(text) {
        push_line(out, sign, line);
    }
}

/// The lines of a text, each with its `\n` (the last may have none).
struct Lines<'a>(&'a str);

impl<'a> Iterator for Lines<'a> {
    type Item = &'a str;
    fn next(&mut self) -> Option<&'a str> {
        if self.0.is_empty() {
            return None;
        }
        let end = memchr::memchr(b'\n', self.0.as_bytes()).map_or(self.0.len(), |p| p + 1);
        let (line, rest) = self.0.split_at(end);
        self.0 = rest;
        Some(line)
    }
}

/// The number of lines of `text` (a last line without `\n` counts).
fn line_count(text: &str) -> usize {
    let bytes = text.as_bytes();
    memchr::memchr_iter(b'\n', bytes).count()
        + usize::from(!bytes.is_empty() && !text.ends_with('\n'))
}

/// The offset where the up to `n` lines of `text` that end at `end` (a line start) begin, and
/// how many there are.
fn lines_before(text: &str, end: usize, n: usize) -> (usize, usize) {
    let bytes = text.as_bytes();
    let mut start = end;
    let mut count = 0;
    while count < n && start > 0 {
        start = memchr::memrchr(b'\n', &bytes[..start - 1]).map_or(0, |p| p + 1);
        count += 1;
    }
    (start, count)
}

/// The offset where the up to `n` lines of `text` from `start` (a line start) end, and how
/// many there are.
fn lines_after(text: &str, start: usize, n: usize) -> (usize, usize) {
    let bytes = text.as_bytes();
    let mut end = start;
    let mut count = 0;
    while count < n && end < bytes.len() {
        end = memchr::memchr(b'\n', &bytes[end..]).map_or(bytes.len(), |p| end + p + 1);
        count += 1;
    }
    (end, count)
}

/// The first line of `text` from `start` (empty at the end).
fn first_line(text: &str, start: usize) -> &str {
    lines_after(text, start, 1)
        .0
        .checked_sub(start)
        .map_or("", |len| &text[start..start + len])
}

/// The last line of `text` before `end` (a line start; empty at the start).
fn last_line(text: &str, end: usize) -> &str {
    &text[lines_before(text, end, 1).0..end]
}

/// Compared a block at a time (the shared part of two versions of a file is most of it).
const BLOCK: usize = 16;

/// The length of the longest common prefix of `a` and `b`.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let blocks = a
        .chunks_exact(BLOCK)
        .zip(b.chunks_exact(BLOCK))
        .take_while(|(x, y)| x == y)
        .count();
    let at = blocks * BLOCK;
    at + a[at..]
        .iter()
        .zip(&b[at..])
        .take_while(|(x, y)| x == y)
        .count()
}

/// The length of the longest common suffix of `a` and `b`.
fn common_suffix(a: &[u8], b: &[u8]) -> usize {
    let blocks = a
        .rchunks_exact(BLOCK)
        .zip(b.rchunks_exact(BLOCK))
        .take_while(|(x, y)| x == y)
        .count();
    let at = blocks * BLOCK;
    at + a[..a.len() - at]
        .iter()
        .rev()
        .zip(b[..b.len() - at].iter().rev())
        .take_while(|(x, y)| x == y)
        .count()
}

/// The diff of two different texts when it is one hunk the library would write the same way
/// (see [`render_diff`]); false, writing nothing, when it is not that simple.
fn render_simple(name: &[u8], old: &str, new: &str, out: &mut String) -> bool {
    let (ob, nb) = (old.as_bytes(), new.as_bytes());
    // The common lines at the start end after the last `\n` the texts share from their start.
    let same = common_prefix(ob, nb);
    let prefix = memchr::memrchr(b'\n', &ob[..same]).map_or(0, |p| p + 1);
    // The common lines at the end, not overlapping those: the first offset in the shared tail
    // that starts a line in both texts.
    let tail = common_suffix(&ob[prefix..], &nb[prefix..]);
    let shift = nb.len().wrapping_sub(ob.len());
    let starts_line = |text: &[u8], at: usize| at == 0 || text[at - 1] == b'\n';
    let mut old_end = ob.len() - tail;
    loop {
        if old_end == ob.len()
            || (starts_line(ob, old_end) && starts_line(nb, old_end.wrapping_add(shift)))
        {
            break;
        }
        old_end = memchr::memchr(b'\n', &ob[old_end..]).map_or(ob.len(), |p| old_end + p + 1);
    }
    let new_end = old_end.wrapping_add(shift);
    let (removed, added) = (&old[prefix..old_end], &new[prefix..new_end]);
    let (removed_n, added_n) = (line_count(removed), line_count(added));
    // Lines next to the change that one of its edge lines equals would let it slide.
    let (before, after) = (last_line(old, prefix), first_line(old, old_end));
    let slides = |text: &str| {
        !text.is_empty() && (before == last_line(text, text.len()) || after == first_line(text, 0))
    };
    let simple = match (removed_n, added_n) {
        (0, _) => !slides(added),
        (_, 0) => !slides(removed),
        (1, 1) => !slides(removed) && !slides(added),
        _ => false,
    };
    if !simple {
        return false;
    }
    let (context_start, context_before) = lines_before(old, prefix, CONTEXT);
    let (context_end, context_after) = lines_after(old, old_end, CONTEXT);
    let first = line_count(&old[..context_start]);
    out.reserve(
        2 * name.len() + 40 + (context_end - context_start) + added.len() + 2 * CONTEXT + 4,
    );
    push_headers(out, name);
    let context = context_before + context_after;
    push_hunk_header(out, first, context + removed_n, first, context + added_n);
    push_lines(out, ' ', &old[context_start..prefix]);
    push_lines(out, '-', removed);
    push_lines(out, '+', added);
    push_lines(out, ' ', &old[old_end..context_end]);
    true
}

/// The diff of two different texts through the diff library, line by line.
fn render_general(name: &[u8], old: &str, new: &str, out: &mut String) {
    let old_lines = lines_inclusive(old);
    let new_lines = lines_inclusive(new);
    let diff = TextDiff::configure().diff_slices(&old_lines, &new_lines);
    out.reserve(2 * name.len() + 40 + old.len() / 2 + new.len());
    push_headers(out, name);
    for group in similar::group_diff_ops(diff.ops().to_vec(), CONTEXT) {
        let (Some(first), Some(last)) = (group.first(), group.last()) else {
            continue;
        };
        let old_start = first.old_range().start;
        let new_start = first.new_range().start;
        push_hunk_header(
            out,
            old_start,
            last.old_range().end - old_start,
            new_start,
            last.new_range().end - new_start,
        );
        for op in &group {
            let (tag, old_range, new_range) = op.as_tag_tuple();
            match tag {
                similar::DiffTag::Equal => {
                    old_lines[old_range]
                        .iter()
                        .for_each(|l| push_line(out, ' ', l));
                }
                similar::DiffTag::Delete => {
                    old_lines[old_range]
                        .iter()
                        .for_each(|l| push_line(out, '-', l));
                }
                similar::DiffTag::Insert => {
                    new_lines[new_range]
                        .iter()
                        .for_each(|l| push_line(out, '+', l));
                }
                similar::DiffTag::Replace => {
                    old_lines[old_range]
                        .iter()
                        .for_each(|l| push_line(out, '-', l));
                    new_lines[new_range]
                        .iter()
                        .for_each(|l| push_line(out, '+', l));
                }
            }
        }
    }
}

/// `text.split_inclusive('\n')`, collected: each line with its `\n`, the last without one when
/// the text does not end with it.
fn lines_inclusive(text: &str) -> Vec<&str> {
    let mut out = Vec::with_capacity(line_count(text));
    out.extend(Lines(text));
    out
}

/// Colours a unified diff line by line.
pub fn colorize(diff: &str, colors: Colors) -> String {
    if !colors.0 {
        return diff.to_string();
    }
    let mut out = String::with_capacity(diff.len() + diff.len() / 4);
    for line in diff.split_inclusive('\n') {
        let (body, nl) = match line.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (line, ""),
        };
        let code = if body.starts_with("+++") || body.starts_with("---") {
            "1"
        } else if body.starts_with('+') {
            "32"
        } else if body.starts_with('-') {
            "31"
        } else if body.starts_with("@@") {
            "36"
        } else {
            ""
        };
        if code.is_empty() {
            out.push_str(line);
        } else {
            out.push_str(&format!("\x1b[{code}m{body}\x1b[0m{nl}"));
        }
    }
    out
}

/// Counts for the closing line, the gates and the machine formats.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub files: usize,
    pub changed: usize,
    pub unchanged: usize,
    pub skipped: usize,
    pub errors: usize,
    /// Changes in the rewritten text (written with `--write`).
    pub applied: usize,
    /// Unsafe fixes not applied (no `--unsafe-fixes`).
    pub unsafe_pending: usize,
    /// Suggestions: changes restage reports and never applies.
    pub suggestions: usize,
    /// The same three counts per transform id, in id order.
    pub by_transform: BTreeMap<&'static str, Counts>,
}

/// Changes of one transform.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub applied: usize,
    #[serde(rename = "unsafe")]
    pub unsafe_pending: usize,
    pub suggestions: usize,
}

impl Counts {
    pub fn total(&self) -> usize {
        self.applied + self.unsafe_pending + self.suggestions
    }
}

/// What became of one change, for counting and labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    Applied,
    UnsafePending,
    Suggestion,
}

impl Fate {
    pub fn of(c: &ChangeReport) -> Fate {
        match (c.applied, c.applicability) {
            (true, _) => Fate::Applied,
            (false, Applicability::Unsafe) => Fate::UnsafePending,
            (false, _) => Fate::Suggestion,
        }
    }
}

impl Summary {
    /// The counts of a run, counted at once (the streamed output counts file by file with
    /// [`Summary::add`]; tests compare the two).
    #[cfg(test)]
    pub fn of(reports: &[FileReport]) -> Summary {
        let mut s = Summary::default();
        for r in reports {
            s.add(r);
        }
        s
    }

    /// Counts one more file: what the end of the output needs of it, so the file itself can
    /// be dropped once written.
    pub fn add(&mut self, r: &FileReport) {
        let s = self;
        s.files += 1;
        match &r.status {
            Status::Unchanged => s.unchanged += 1,
            Status::Changed => s.changed += 1,
            Status::Skipped(_) => s.skipped += 1,
            Status::Failed(_) => s.errors += 1,
        }
        for c in &r.changes {
            let counts = s.by_transform.entry(c.id).or_default();
            match Fate::of(c) {
                Fate::Applied => {
                    s.applied += 1;
                    counts.applied += 1;
                }
                Fate::UnsafePending => {
                    s.unsafe_pending += 1;
                    counts.unsafe_pending += 1;
                }
                Fate::Suggestion => {
                    s.suggestions += 1;
                    counts.suggestions += 1;
                }
            }
        }
    }

    /// Adds the counts of `other` (those of other files).
    pub fn merge(&mut self, other: &Summary) {
        self.files += other.files;
        self.changed += other.changed;
        self.unchanged += other.unchanged;
        self.skipped += other.skipped;
        self.errors += other.errors;
        self.applied += other.applied;
        self.unsafe_pending += other.unsafe_pending;
        self.suggestions += other.suggestions;
        for (id, c) in &other.by_transform {
            let counts = self.by_transform.entry(id).or_default();
            counts.applied += c.applied;
            counts.unsafe_pending += c.unsafe_pending;
            counts.suggestions += c.suggestions;
        }
    }

    /// One line, e.g. `restage: 12 files: 3 would change, 8 unchanged, 1 error`.
    pub fn line(&self, write: bool) -> String {
        let plural =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let mut parts = vec![
            if write {
                format!("{} rewritten", self.changed)
            } else {
                format!("{} would change", self.changed)
            },
            format!("{} unchanged", self.unchanged),
        ];
        if self.skipped > 0 {
            parts.push(format!("{} skipped", self.skipped));
        }
        // The two kinds of change not applied: unsafe fixes (`--unsafe-fixes` applies them) and
        // suggestions (never applied).
        if self.unsafe_pending > 0 {
            parts.push(plural(self.unsafe_pending, "unsafe fix", "unsafe fixes"));
        }
        if self.suggestions > 0 {
            parts.push(plural(self.suggestions, "suggestion", "suggestions"));
        }
        if self.errors > 0 {
            parts.push(plural(self.errors, "error", "errors"));
        }
        format!(
            "restage: {}: {}",
            plural(self.files, "file", "files"),
            parts.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every path of up to eight bytes of `/`, `.` and `a` is plain exactly when splitting it
    /// at `/` says so (the former way).
    #[test]
    fn plain_paths_are_told_as_by_splitting() {
        let reference = |p: &[u8]| {
            !p.is_empty()
                && !p.ends_with(b"/")
                && p.split(|&b| b == b'/')
                    .enumerate()
                    .all(|(i, part)| !matches!(part, b"." | b"..") && (i == 0 || !part.is_empty()))
        };
        let plain_count = crate::context::agrees_on_short_paths(plain, reference);
        assert!(plain_count > 100, "{plain_count}");
    }

    #[test]
    fn display_paths_are_relative_with_slashes() {
        let cwd = Path::new("/repo");
        assert_eq!(
            display_path(Path::new("./svc/Dockerfile"), cwd),
            "svc/Dockerfile"
        );
        assert_eq!(
            display_path(Path::new("/repo/a/../b/Dockerfile"), cwd),
            "b/Dockerfile"
        );
        assert_eq!(display_path(Path::new("Dockerfile"), cwd), "Dockerfile");
    }

    #[test]
    fn lines_split_like_split_inclusive() {
        for text in [
            "",
            "\n",
            "a",
            "a\n",
            "a\nb",
            "a\r\nb\n\n",
            "\n\nx\r",
            "é\nü",
        ] {
            let expected: Vec<&str> = text.split_inclusive('\n').collect();
            assert_eq!(lines_inclusive(text), expected, "{text:?}");
        }
    }

    /// The shortcut for plain paths gives what the general way gives.
    #[test]
    fn plain_paths_show_as_the_general_way_shows_them() {
        let paths = [
            "Dockerfile",
            "./svc/Dockerfile",
            "././svc/Dockerfile",
            ".//svc/Dockerfile",
            "svc//Dockerfile",
            "svc/./Dockerfile",
            "svc/../Dockerfile",
            "../x/Dockerfile",
            "svc/",
            ".",
            "./",
            "/repo",
            "/repo/",
            "/repo/svc/Dockerfile",
            "/repo2/Dockerfile",
            "/repository/Dockerfile",
            "/other/Dockerfile",
            "/",
            "//repo/Dockerfile",
            "/repo/./Dockerfile",
            "/repo/a/../Dockerfile",
            "...",
            "a/.../b",
            "a/..b",
        ];
        for cwd in ["/repo", "/", "/repo/", "/a/../repo", "/r e/p.o"] {
            let cwd = Path::new(cwd);
            for p in paths {
                let path = Path::new(p);
                let general = shown(path, cwd);
                let text = general
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/")
                    .replace("//", "/");
                assert_eq!(display_path(path, cwd), text, "{p:?} in {cwd:?}");
                let mut bytes: Vec<u8> = Vec::new();
                for (i, c) in general.components().enumerate() {
                    if i > 0 && !bytes.ends_with(b"/") {
                        bytes.push(b'/');
                    }
                    bytes.extend_from_slice(&os_bytes(c.as_os_str()));
                }
                assert_eq!(display_path_bytes(path, cwd), bytes, "{p:?} in {cwd:?}");
            }
        }
    }

    /// The diff as written before hunks were written directly: the reference the property
    /// test holds the faster one to.
    fn reference_diff(name: &[u8], old: &str, new: &str) -> String {
        use std::fmt::Write as _;
        fn hunk_range(range: &std::ops::Range<usize>) -> String {
            let len = range.end - range.start;
            match len {
                0 => format!("{},0", range.start),
                1 => format!("{}", range.start + 1),
                _ => format!("{},{len}", range.start + 1),
            }
        }
        if old == new {
            return String::new();
        }
        let old_lines: Vec<&str> = old.split_inclusive('\n').collect();
        let new_lines: Vec<&str> = new.split_inclusive('\n').collect();
        let diff = TextDiff::configure().diff_slices(&old_lines, &new_lines);
        let header = |prefix: &[u8]| quote_header_name(&[prefix, name].concat());
        let mut out = format!("--- {}\n+++ {}\n", header(b"a/"), header(b"b/"));
        for group in diff.grouped_ops(3) {
            let (Some(first), Some(last)) = (group.first(), group.last()) else {
                continue;
            };
            let old_range = first.old_range().start..last.old_range().end;
            let new_range = first.new_range().start..last.new_range().end;
            let _ = writeln!(
                out,
                "@@ -{} +{} @@",
                hunk_range(&old_range),
                hunk_range(&new_range)
            );
            for op in &group {
                for change in diff.iter_changes(op) {
                    let sign = match change.tag() {
                        similar::ChangeTag::Equal => ' ',
                        similar::ChangeTag::Delete => '-',
                        similar::ChangeTag::Insert => '+',
                    };
                    let line: &str = change.value();
                    out.push(sign);
                    out.push_str(line);
                    if !line.ends_with('\n') {
                        out.push_str("\n\\ No newline at end of file\n");
                    }
                }
            }
        }
        out
    }

    /// A small xorshift generator: the same pairs on every run.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    /// A text of lines drawn from a few (so lines repeat), with LF or CRLF ends, bare CRs,
    /// and sometimes no final newline.
    fn random_text(rng: &mut Rng, lines: usize) -> String {
        const WORDS: [&str; 6] = ["FROM a", "RUN b", "", "COPY . .", "CMD c", "#"];
        let mut out = String::new();
        for _ in 0..lines {
            out.push_str(WORDS[rng.below(WORDS.len())]);
            match rng.below(8) {
                0 => out.push_str("\r\n"),
                1 => out.push('\r'),
                _ => out.push('\n'),
            }
        }
        if rng.below(4) == 0 {
            out.pop();
        }
        out
    }

    /// `text` with a few lines replaced, inserted or removed, at random places (often the
    /// start or the end).
    fn random_edit(rng: &mut Rng, text: &str) -> String {
        let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
        for _ in 0..1 + rng.below(3) {
            let at = match rng.below(4) {
                0 => 0,
                1 => lines.len(),
                _ => rng.below(lines.len() + 1),
            };
            let line = random_text(rng, 1);
            match rng.below(3) {
                0 => lines.insert(at, line),
                1 if at < lines.len() => {
                    lines.remove(at);
                }
                _ if at < lines.len() => lines[at] = line,
                _ => lines.push(line),
            }
        }
        lines.concat()
    }

    /// The diff is the one the diff library writes through its own grouping and changes, on
    /// many random pairs of texts (repeated lines, CRLF, bare CR, no final newline, edits at
    /// the start and the end, unrelated texts).
    #[test]
    fn diffs_are_the_libraries_on_random_pairs() {
        let mut rng = Rng(0x5eed_1234_abcd_9876);
        let mut simple = 0;
        for case in 0..40_000 {
            let lines = rng.below(14);
            let old = random_text(&mut rng, lines);
            let new = if case % 10 == 0 {
                let lines = rng.below(14);
                random_text(&mut rng, lines)
            } else {
                random_edit(&mut rng, &old)
            };
            let expected = reference_diff(b"d/Dockerfile", &old, &new);
            assert_eq!(
                render_diff(b"d/Dockerfile", &old, &new),
                expected,
                "{old:?} -> {new:?}"
            );
            if old != new && render_simple(b"d", &old, &new, &mut String::new()) {
                simple += 1;
            }
        }
        // Both ways are exercised.
        assert!(simple > 5_000 && simple < 35_000, "{simple}");
    }

    #[test]
    fn common_prefixes_and_suffixes_are_bytewise() {
        let texts: [&[u8]; 6] = [
            b"",
            b"a",
            b"FROM a\nRUN b\nCOPY . .\nCMD c\n",
            b"FROM a\nRUN b\nCOPY . .\nCMD d\n",
            b"FROM a\nRUN c\nCOPY . .\nCMD c\n",
            b"XFROM a\nRUN b\nCOPY . .\nCMD c\n",
        ];
        for a in texts {
            for b in texts {
                for cut in 0..a.len().min(b.len()) {
                    let (a, b) = (&a[cut..], &b[..b.len() - cut]);
                    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
                    assert_eq!(common_prefix(a, b), prefix);
                    let suffix = a
                        .iter()
                        .rev()
                        .zip(b.iter().rev())
                        .take_while(|(x, y)| x == y)
                        .count();
                    assert_eq!(common_suffix(a, b), suffix);
                }
            }
        }
    }

    #[test]
    fn header_names_written_in_place_are_quote_header_name() {
        for name in [
            &b"x/Dockerfile"[..],
            b"with space",
            b"t\tn",
            b"caf\xc3\xa9",
            b"q\"b\\",
            b"\x01\x7f",
        ] {
            let mut out = String::new();
            push_headers(&mut out, name);
            let expected = format!(
                "--- {}\n+++ {}\n",
                quote_header_name(&[b"a/", name].concat()),
                quote_header_name(&[b"b/", name].concat())
            );
            assert_eq!(out, expected);
        }
    }

    #[test]
    fn diff_headers_and_no_newline_marker() {
        let d = unified_diff("x/Dockerfile", "FROM a\nCMD b", "FROM a\nCMD [\"b\"]");
        assert!(
            d.starts_with("--- a/x/Dockerfile\n+++ b/x/Dockerfile\n@@ -1,2 +1,2 @@\n"),
            "{d}"
        );
        assert!(d.contains("\\ No newline at end of file"), "{d}");
        assert_eq!(unified_diff("x", "same", "same"), "");
    }

    #[test]
    fn header_names_are_quoted_as_git_does() {
        assert_eq!(quote_header_name(b"a/svc/Dockerfile"), "a/svc/Dockerfile");
        assert_eq!(quote_header_name(b"a/with space"), "a/with space");
        assert_eq!(
            quote_header_name(b"a/t\tn\nq\"b\\"),
            "\"a/t\\tn\\nq\\\"b\\\\\""
        );
        assert_eq!(quote_header_name(b"a/caf\xc3\xa9"), "\"a/caf\\303\\251\"");
        assert_eq!(quote_header_name(b"a/\x01\x7f\r"), "\"a/\\001\\177\\r\"");
    }

    #[test]
    fn lines_end_at_lf_only() {
        // A bare CR stays inside its line; the hunk counts lines as git does.
        let d = unified_diff("D", "a\rb\nc\n", "a\rb\nd\n");
        assert_eq!(d, "--- a/D\n+++ b/D\n@@ -1,2 +1,2 @@\n a\rb\n-c\n+d\n");
        let d = unified_diff("D", "x\r", "y\r");
        assert_eq!(
            d,
            "--- a/D\n+++ b/D\n@@ -1 +1 @@\n-x\r\n\\ No newline at end of file\n\
             +y\r\n\\ No newline at end of file\n"
        );
        let d = unified_diff("D", "", "n\n");
        assert_eq!(d, "--- a/D\n+++ b/D\n@@ -0,0 +1 @@\n+n\n");
    }
}
