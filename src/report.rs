//! What the user sees: unified diffs (`a/` and `b/` headers relative to the current directory,
//! accepted by `git apply` and `patch -p1`), per-file notes, and the closing summary.

use std::path::{Component, Path, PathBuf};

use similar::TextDiff;

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

/// Counts for the closing line.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub files: usize,
    pub changed: usize,
    pub unchanged: usize,
    pub skipped: usize,
    pub errors: usize,
    pub suggestions: usize,
}

impl Summary {
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
