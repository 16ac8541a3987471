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
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        cwd.join(path)
    };
    let normal = normalize(&absolute);
    let shown = match normal.strip_prefix(normalize(cwd)) {
        Ok(rel) if !rel.as_os_str().is_empty() => rel.to_path_buf(),
        _ => normalize(path),
    };
    shown
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
        .replace("//", "/")
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
    if old == new {
        return String::new();
    }
    let diff = TextDiff::from_lines(old, new);
    diff.unified_diff()
        .context_radius(3)
        .header(&format!("a/{display}"), &format!("b/{display}"))
        .to_string()
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
    fn diff_headers_and_no_newline_marker() {
        let d = unified_diff("x/Dockerfile", "FROM a\nCMD b", "FROM a\nCMD [\"b\"]");
        assert!(
            d.starts_with("--- a/x/Dockerfile\n+++ b/x/Dockerfile\n@@ -1,2 +1,2 @@\n"),
            "{d}"
        );
        assert!(d.contains("\\ No newline at end of file"), "{d}");
        assert_eq!(unified_diff("x", "same", "same"), "");
    }
}
