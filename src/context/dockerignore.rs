//! `.dockerignore` with Docker's own semantics (moby/patternmatcher as used by BuildKit):
//! comment lines start with `#`, patterns are trimmed and cleaned like Go's `filepath.Clean`, a
//! leading `/` is dropped, `!` re-includes, `*` and `?` never cross `/`, `**` crosses any number
//! of directories, a pattern that matches a parent directory matches everything below it, and
//! the last matching pattern wins.

use regex::Regex;
use serde::{Serialize, Serializer};

/// The parsed rules of one `.dockerignore` file (serialized as its cleaned patterns).
#[derive(Debug, Clone, Default)]
pub struct DockerIgnore {
    /// Shared: the same `.dockerignore` text recurs across a monorepo's services, and a parsed
    /// copy is reused (see [`DockerIgnore::parse_shared`]).
    patterns: std::sync::Arc<Vec<Pattern>>,
}

impl Serialize for DockerIgnore {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.patterns())
    }
}

#[derive(Debug, Clone)]
struct Pattern {
    /// The cleaned pattern, without its `!`.
    text: String,
    exclusion: bool,
    kind: MatchKind,
}

#[derive(Debug, Clone)]
enum MatchKind {
    Exact,
    /// The pattern ends in `**` and has no other wildcard.
    Prefix(String),
    /// The pattern starts with `**` and has no other wildcard.
    Suffix(String),
    Regex(Regex),
}

impl DockerIgnore {
    /// [`DockerIgnore::parse`], reusing the result for a text already parsed in this process
    /// (compiling the patterns is the costly part of reading a build context).
    pub fn parse_shared(text: &str) -> Result<DockerIgnore, String> {
        use std::collections::HashMap;
        use std::sync::{Mutex, OnceLock};
        static CACHE: OnceLock<Mutex<HashMap<String, Result<DockerIgnore, String>>>> =
            OnceLock::new();
        let cache = CACHE.get_or_init(Default::default);
        if let Some(hit) = crate::sync::lock(cache).get(text) {
            return hit.clone();
        }
        let parsed = DockerIgnore::parse(text);
        let mut map = crate::sync::lock(cache);
        if map.len() >= 4096 {
            map.clear();
        }
        map.insert(text.to_string(), parsed.clone());
        parsed
    }

    /// Parses the text of a `.dockerignore`. Fails the way `docker build` does: on a lone `!`
    /// or a pattern that is not a valid glob (e.g. an unclosed `[`), naming the line.
    pub fn parse(text: &str) -> Result<DockerIgnore, String> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut patterns = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            if raw.starts_with('#') {
                continue;
            }
            let line = raw.trim();
            if line.is_empty() {
                continue;
            }
            let (exclusion, rest) = match line.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, line),
            };
            if rest.is_empty() {
                return Err(format!(
                    "line {}: illegal exclusion pattern \"!\"",
                    index + 1
                ));
            }
            let mut cleaned = go_clean(rest);
            if cleaned.len() > 1 && cleaned.starts_with('/') {
                cleaned.remove(0);
            }
            let kind = compile(&cleaned)
                .map_err(|e| format!("line {}: bad pattern `{rest}`: {e}", index + 1))?;
            patterns.push(Pattern {
                text: cleaned,
                exclusion,
                kind,
            });
        }
        Ok(DockerIgnore {
            patterns: std::sync::Arc::new(patterns),
        })
    }

    /// Whether `rel_path` (relative to the context root, `/`-separated) is left out of the
    /// build context. The context root itself is never ignored.
    pub fn is_ignored(&self, rel_path: &str) -> bool {
        let path = go_clean(rel_path.trim_start_matches('/'));
        if path == "." || path.is_empty() {
            return false;
        }
        let parents: Vec<&str> = match path.rfind('/') {
            Some(i) => path[..i].split('/').collect(),
            None => Vec::new(),
        };
        let mut matched = false;
        for pattern in self.patterns.iter() {
            // An exception can only change an excluded path, an exclusion an included one.
            if pattern.exclusion != matched {
                continue;
            }
            let mut hit = pattern.matches(&path);
            if !hit {
                for depth in 1..=parents.len() {
                    if pattern.matches(&parents[..depth].join("/")) {
                        hit = true;
                        break;
                    }
                }
            }
            if hit {
                matched = !pattern.exclusion;
            }
        }
        matched
    }

    /// The patterns as cleaned, `!` kept, in file order.
    pub fn patterns(&self) -> Vec<String> {
        self.patterns
            .iter()
            .map(|p| {
                if p.exclusion {
                    format!("!{}", p.text)
                } else {
                    p.text.clone()
                }
            })
            .collect()
    }
}

impl Pattern {
    fn matches(&self, path: &str) -> bool {
        match &self.kind {
            MatchKind::Exact => path == self.text,
            MatchKind::Prefix(prefix) => path.starts_with(prefix.as_str()),
            MatchKind::Suffix(suffix) => {
                path.ends_with(suffix.as_str())
                    || suffix.strip_prefix('/').is_some_and(|rest| path == rest)
            }
            MatchKind::Regex(re) => re.is_match(path),
        }
    }
}

/// Translates a cleaned pattern the way patternmatcher's `compile` does, including its fast
/// paths (exact, `prefix**`, `**suffix`), which differ slightly from the regular expression.
fn compile(pattern: &str) -> Result<MatchKind, String> {
    #[derive(PartialEq)]
    enum Kind {
        Exact,
        Prefix,
        Suffix,
        Regex,
    }
    let mut re = String::from("^");
    let mut kind = Kind::Exact;
    let chars: Vec<char> = pattern.chars().collect();
    let mut pos = 0;
    let mut step = 0;
    while pos < chars.len() {
        let ch = chars[pos];
        pos += 1;
        match ch {
            '*' if chars.get(pos) == Some(&'*') => {
                pos += 1;
                if chars.get(pos) == Some(&'/') {
                    pos += 1;
                }
                if pos == chars.len() {
                    if kind == Kind::Exact {
                        kind = Kind::Prefix;
                    } else {
                        re.push_str(".*");
                        kind = Kind::Regex;
                    }
                } else {
                    re.push_str("(.*/)?");
                    kind = Kind::Regex;
                }
                if step == 0 {
                    kind = Kind::Suffix;
                }
            }
            '*' => {
                re.push_str("[^/]*");
                kind = Kind::Regex;
            }
            '?' => {
                re.push_str("[^/]");
                kind = Kind::Regex;
            }
            '.' | '+' | '(' | ')' | '|' | '{' | '}' | '$' => {
                re.push('\\');
                re.push(ch);
            }
            '\\' => match chars.get(pos) {
                Some(&next) => {
                    pos += 1;
                    re.push('\\');
                    re.push(next);
                    kind = Kind::Regex;
                }
                // filepath.Match rejects a trailing backslash, so docker build does too.
                None => return Err("trailing backslash".to_owned()),
            },
            '[' | ']' => {
                re.push(ch);
                kind = Kind::Regex;
            }
            _ => re.push(ch),
        }
        step += 1;
    }
    Ok(match kind {
        Kind::Exact => MatchKind::Exact,
        Kind::Prefix => MatchKind::Prefix(pattern[..pattern.len() - 2].to_owned()),
        Kind::Suffix => MatchKind::Suffix(pattern[2..].to_owned()),
        Kind::Regex => {
            re.push('$');
            MatchKind::Regex(Regex::new(&re).map_err(|e| {
                e.to_string()
                    .lines()
                    .last()
                    .unwrap_or("invalid pattern")
                    .to_owned()
            })?)
        }
    })
}

/// Go's `filepath.Clean` on a `/`-separated path.
fn go_clean(path: &str) -> String {
    if path.is_empty() {
        return ".".to_owned();
    }
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|last| *last != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_owned(),
        (false, false) => joined,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ignored(rules: &str, path: &str) -> bool {
        DockerIgnore::parse(rules)
            .expect("valid rules")
            .is_ignored(path)
    }

    #[test]
    fn go_clean_matches_go() {
        assert_eq!(go_clean("a//b/./c/"), "a/b/c");
        assert_eq!(go_clean("/../a"), "/a");
        assert_eq!(go_clean("../a"), "../a");
        assert_eq!(go_clean("a/.."), ".");
        assert_eq!(go_clean("./"), ".");
    }

    #[test]
    fn plain_names_match_only_at_the_root_and_cover_their_contents() {
        assert!(ignored("node_modules", "node_modules"));
        assert!(ignored("node_modules", "node_modules/x/y.js"));
        assert!(!ignored("node_modules", "app/node_modules"));
        assert!(ignored("/dist/", "dist/a.js"));
        assert!(ignored("./dist", "dist"));
    }

    #[test]
    fn single_star_stays_in_one_directory() {
        assert!(ignored("*.md", "README.md"));
        assert!(!ignored("*.md", "docs/a.md"));
        assert!(ignored("*/*.md", "docs/a.md"));
        assert!(ignored("?.txt", "a.txt"));
        assert!(!ignored("?.txt", "ab.txt"));
    }

    #[test]
    fn double_star_crosses_directories() {
        assert!(ignored("**/*.md", "README.md"));
        assert!(ignored("**/*.md", "a/b/c.md"));
        assert!(ignored("**/node_modules", "a/node_modules/x"));
        assert!(ignored("docs/**", "docs/a/b"));
        assert!(ignored("**", "anything/at/all"));
        assert!(ignored("a/**/b", "a/b"));
        assert!(ignored("a/**/b", "a/x/y/b"));
        assert!(!ignored("a/**/b", "a/xb"));
    }

    #[test]
    fn exceptions_and_last_match_wins() {
        let rules = "*\n!package.json\n!src\nsrc/secret\n";
        assert!(ignored(rules, "Dockerfile"));
        assert!(!ignored(rules, "package.json"));
        assert!(!ignored(rules, "src/main.js"));
        assert!(ignored(rules, "src/secret/key"));
        // An exception inside an excluded directory re-includes the file.
        let rules = "node_modules\n!node_modules/keep.js\n";
        assert!(!ignored(rules, "node_modules/keep.js"));
        assert!(ignored(rules, "node_modules/other.js"));
        // A later exclusion beats an earlier exception.
        assert!(ignored("!a.txt\na.txt", "a.txt"));
        assert!(!ignored("a.txt\n!a.txt", "a.txt"));
    }

    #[test]
    fn comments_blank_lines_and_escapes() {
        let rules = "# comment\n\n   \n  build  \n \\#hash\n";
        assert!(ignored(rules, "build"));
        assert!(ignored(rules, "#hash"));
        assert!(!ignored(rules, "# comment"));
        assert!(ignored("a.b", "a.b"));
        assert!(!ignored("a.b", "axb"));
        assert!(ignored("[ab].txt", "b.txt"));
        assert!(!ignored("[ab].txt", "c.txt"));
    }

    #[test]
    fn root_is_never_ignored() {
        assert!(!ignored("*", "."));
        assert!(!ignored("*", ""));
    }

    #[test]
    fn bad_patterns_are_errors() {
        assert!(DockerIgnore::parse("ok\n!\n").is_err());
        let err = DockerIgnore::parse("ok\n[abc\n").expect_err("unclosed class");
        assert!(err.starts_with("line 2:"), "{err}");
        assert!(DockerIgnore::parse("abc\\").is_err());
    }

    #[test]
    fn patterns_are_reported_cleaned() {
        let rules = DockerIgnore::parse("/a/./b/\n! c\n").expect("valid");
        assert_eq!(rules.patterns(), vec!["a/b".to_owned(), "!c".to_owned()]);
    }
}
