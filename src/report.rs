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
    fn plain(p: &[u8]) -> bool {
        !p.is_empty()
            && !p.ends_with(b"/")
            && p.split(|&b| b == b'/')
                .enumerate()
                .all(|(i, part)| !matches!(part, b"." | b"..") && (i == 0 || !part.is_empty()))
    }
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
fn render_diff(name: &[u8], old: &str, new: &str) -> String {
    use std::fmt::Write as _;
    if old == new {
        return String::new();
    }
    let old_lines = lines_inclusive(old);
    let new_lines = lines_inclusive(new);
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

/// `text.split_inclusive('\n')`, collected: each line with its `\n`, the last without one when
/// the text does not end with it. Line ends are found with `memchr` (a diff is rendered for
/// every changed file).
fn lines_inclusive(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', text.as_bytes()) {
        out.push(&text[start..=end]);
        start = end + 1;
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// `start,len` with 1-based start, as unified diffs write it (`start-1,0` for an empty range).
fn hunk_range(range: &std::ops::Range<usize>) -> String {
    let len = range.end - range.start;
    match len {
        0 => format!("{},0", range.start),
        1 => format!("{}", range.start + 1),
        _ => format!("{},{len}", range.start + 1),
    }
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
    /// The counts of a run.
    pub fn of(reports: &[FileReport]) -> Summary {
        let mut s = Summary {
            files: reports.len(),
            ..Summary::default()
        };
        for r in reports {
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
        s
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
        // Both kinds of change not applied read as suggestions here.
        let pending = self.unsafe_pending + self.suggestions;
        if pending > 0 {
            parts.push(plural(pending, "suggestion", "suggestions"));
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
