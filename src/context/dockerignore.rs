//! `.dockerignore` with Docker's own semantics (moby/patternmatcher as used by BuildKit):
//! comment lines start with `#`, patterns are trimmed and cleaned like Go's `filepath.Clean`, a
//! leading `/` is dropped, `!` re-includes, `*` and `?` never cross `/`, `**` crosses any number
//! of directories, a pattern that matches a parent directory matches everything below it, and
//! the last matching pattern wins.

use super::ManifestError;
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
    /// Any other pattern, as the pieces of the regular expression patternmatcher builds; matched
    /// without compiling one (a compiled regex per line cost hundreds of MB on a 900 KB file).
    Glob(Vec<Token>),
}

/// One piece of a pattern, anchored at both ends of the path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// These characters.
    Literal(String),
    /// `?`: one character other than `/`.
    One,
    /// `*`: any run of characters other than `/`.
    Star,
    /// `**` at the end: anything.
    Rest,
    /// `**/` (or `**` before more pattern): nothing, or anything ending in `/`.
    Dirs,
    /// `[...]`: one character in (or, negated, not in) the ranges; unlike `?`, may be `/`.
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
    /// A `^` in the pattern: the regex anchor, true only at the start of the path.
    Start,
}

impl DockerIgnore {
    /// [`DockerIgnore::parse`], reusing the result for a text already parsed in this process
    /// (compiling the patterns is the costly part of reading a build context).
    pub fn parse_shared(text: &str) -> Result<DockerIgnore, ManifestError> {
        use std::collections::HashMap;
        use std::sync::{Mutex, OnceLock};
        /// The texts kept add up to at most this many bytes, so memory stays bounded
        /// whatever a monorepo's `.dockerignore` files hold.
        const CACHE_BYTES: usize = 8 << 20;
        type Cache = (HashMap<String, Result<DockerIgnore, ManifestError>>, usize);
        static CACHE: OnceLock<Mutex<Cache>> = OnceLock::new();
        let cache = CACHE.get_or_init(Default::default);
        if let Some(hit) = crate::sync::lock(cache).0.get(text) {
            return hit.clone();
        }
        let parsed = DockerIgnore::parse(text);
        if text.len() <= CACHE_BYTES {
            let mut guard = crate::sync::lock(cache);
            let (map, bytes) = &mut *guard;
            if *bytes + text.len() > CACHE_BYTES {
                map.clear();
                *bytes = 0;
            }
            if map.insert(text.to_string(), parsed.clone()).is_none() {
                *bytes += text.len();
            }
        }
        parsed
    }

    /// Parses the text of a `.dockerignore`. Fails the way `docker build` does: on a lone `!`
    /// or a pattern that is not a valid glob (e.g. an unclosed `[`), naming the line.
    pub fn parse(text: &str) -> Result<DockerIgnore, ManifestError> {
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
                return Err(ManifestError::line(
                    index + 1,
                    "illegal exclusion pattern \"!\"",
                ));
            }
            let mut cleaned = go_clean(rest);
            if cleaned.len() > 1 && cleaned.starts_with('/') {
                cleaned.remove(0);
            }
            let kind = compile(&cleaned).map_err(|e| {
                ManifestError::line(index + 1, format!("bad pattern `{rest}`: {e}"))
            })?;
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
            MatchKind::Glob(tokens) => glob_match(tokens, path),
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
        Glob,
    }
    let mut tokens: Vec<Token> = Vec::new();
    let literal = |tokens: &mut Vec<Token>, ch: char| match tokens.last_mut() {
        Some(Token::Literal(s)) => s.push(ch),
        _ => tokens.push(Token::Literal(ch.to_string())),
    };
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
                        tokens.push(Token::Rest);
                        kind = Kind::Glob;
                    }
                } else {
                    tokens.push(Token::Dirs);
                    kind = Kind::Glob;
                }
                if step == 0 {
                    kind = Kind::Suffix;
                }
            }
            '*' => {
                tokens.push(Token::Star);
                kind = Kind::Glob;
            }
            '?' => {
                tokens.push(Token::One);
                kind = Kind::Glob;
            }
            '\\' => match chars.get(pos) {
                Some(&next) => {
                    pos += 1;
                    literal(&mut tokens, next);
                    kind = Kind::Glob;
                }
                // filepath.Match rejects a trailing backslash, so docker build does too.
                None => return Err("trailing backslash".to_owned()),
            },
            '[' => {
                let (token, next) = class(&chars, pos)?;
                tokens.push(token);
                pos = next;
                kind = Kind::Glob;
            }
            ']' => {
                literal(&mut tokens, ']');
                kind = Kind::Glob;
            }
            '^' => tokens.push(Token::Start),
            _ => literal(&mut tokens, ch),
        }
        step += 1;
    }
    Ok(match kind {
        Kind::Exact => MatchKind::Exact,
        Kind::Prefix => MatchKind::Prefix(pattern[..pattern.len() - 2].to_owned()),
        Kind::Suffix => MatchKind::Suffix(pattern[2..].to_owned()),
        Kind::Glob => MatchKind::Glob(tokens),
    })
}

/// A character class starting after its `[` at `pos`, in the regular-expression syntax the
/// pattern is handed to: `^` negates, `a-z` ranges, `\x` escapes, `[:name:]` ASCII classes, a
/// `]` first is literal. Returns the token and the position after the closing `]`.
fn class(chars: &[char], mut pos: usize) -> Result<(Token, usize), String> {
    let unclosed = || "unclosed character class".to_owned();
    let mut negated = false;
    if chars.get(pos) == Some(&'^') {
        negated = true;
        pos += 1;
    }
    let mut ranges: Vec<(char, char)> = Vec::new();
    let mut first = true;
    loop {
        let ch = *chars.get(pos).ok_or_else(unclosed)?;
        pos += 1;
        let low = match ch {
            ']' if !first => break,
            '[' if chars.get(pos) == Some(&':') => {
                let rest: String = chars[pos + 1..].iter().collect();
                let end = rest.find(":]").ok_or_else(unclosed)?;
                let name = &rest[..end];
                ranges
                    .extend(ascii_class(name).ok_or_else(|| format!("unknown class [:{name}:]"))?);
                pos += 1 + name.chars().count() + 2;
                first = false;
                continue;
            }
            '[' => return Err("nested character classes are not supported".to_owned()),
            '\\' => {
                let next = *chars.get(pos).ok_or_else(unclosed)?;
                pos += 1;
                next
            }
            other => other,
        };
        first = false;
        let high = if chars.get(pos) == Some(&'-') && chars.get(pos + 1).is_some_and(|c| *c != ']')
        {
            let mut high = chars[pos + 1];
            pos += 2;
            if high == '\\' {
                high = *chars.get(pos).ok_or_else(unclosed)?;
                pos += 1;
            }
            if high < low {
                return Err(format!("invalid range {low}-{high}"));
            }
            high
        } else {
            low
        };
        ranges.push((low, high));
    }
    Ok((Token::Class { negated, ranges }, pos))
}

fn ascii_class(name: &str) -> Option<Vec<(char, char)>> {
    Some(match name {
        "alnum" => vec![('0', '9'), ('A', 'Z'), ('a', 'z')],
        "alpha" => vec![('A', 'Z'), ('a', 'z')],
        "digit" => vec![('0', '9')],
        "lower" => vec![('a', 'z')],
        "upper" => vec![('A', 'Z')],
        "space" => vec![(' ', ' '), ('\t', '\r')],
        "xdigit" => vec![('0', '9'), ('A', 'F'), ('a', 'f')],
        "punct" => vec![('!', '/'), (':', '@'), ('[', '`'), ('{', '~')],
        "word" => vec![('0', '9'), ('A', 'Z'), ('_', '_'), ('a', 'z')],
        _ => return None,
    })
}

/// Whether `tokens` match the whole of `path`: a simulation over the set of positions reached,
/// linear in tokens times path length, with no backtracking.
fn glob_match(tokens: &[Token], path: &str) -> bool {
    let chars: Vec<char> = path.chars().collect();
    let n = chars.len();
    let mut at = vec![false; n + 1];
    at[0] = true;
    for token in tokens {
        let mut next = vec![false; n + 1];
        match token {
            Token::Literal(lit) => {
                let lit: Vec<char> = lit.chars().collect();
                for i in (0..=n).filter(|&i| at[i]) {
                    if chars[i..].starts_with(&lit) {
                        next[i + lit.len()] = true;
                    }
                }
            }
            Token::One => {
                for i in (0..n).filter(|&i| at[i]) {
                    next[i + 1] = chars[i] != '/';
                }
            }
            Token::Class { negated, ranges } => {
                for i in (0..n).filter(|&i| at[i]) {
                    let c = chars[i];
                    let inside = ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi);
                    next[i + 1] = inside != *negated;
                }
            }
            Token::Star => {
                let mut live = false;
                for i in 0..=n {
                    live = at[i] || (live && chars[i - 1] != '/');
                    next[i] = live;
                }
            }
            Token::Rest => {
                if let Some(first) = at.iter().position(|&b| b) {
                    next[first..].fill(true);
                }
            }
            Token::Dirs => {
                if let Some(first) = at.iter().position(|&b| b) {
                    for i in first..=n {
                        next[i] = at[i] || (i > first && chars[i - 1] == '/');
                    }
                }
            }
            Token::Start => next[0] = at[0],
        }
        at = next;
        if !at.contains(&true) {
            return false;
        }
    }
    at[n]
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
        let err = DockerIgnore::parse("ok\n[abc\n")
            .expect_err("unclosed class")
            .to_string();
        assert!(err.starts_with("line 2:"), "{err}");
        assert!(DockerIgnore::parse("abc\\").is_err());
    }

    #[test]
    fn classes_anchors_and_escapes_follow_the_regex_syntax() {
        assert!(
            ignored("[!a].txt", "!.txt"),
            "`!` is not a negation in a regex class"
        );
        assert!(ignored("[^a].txt", "b.txt"));
        assert!(!ignored("[^a].txt", "a.txt"));
        assert!(ignored("x[^a]y", "x/y"), "a negated class matches `/`");
        assert!(ignored("v[0-9][[:alpha:]]", "v1b"));
        assert!(!ignored("v[0-9][[:alpha:]]", "v12"));
        assert!(ignored("[]]x", "]x"));
        assert!(ignored("a]", "a]"));
        assert!(ignored("a\\*b", "a*b"));
        assert!(!ignored("a\\*b", "axb"));
        assert!(ignored("^a*", "abc"), "a leading `^` is the start anchor");
        assert!(!ignored("a^b*", "a^bc"), "a `^` inside can never match");
        assert!(DockerIgnore::parse("[z-a]").is_err());
        assert!(DockerIgnore::parse("[[:nope:]]").is_err());
    }

    /// The matcher agrees with the regular expression patternmatcher would build from the same
    /// pieces, over every pattern and path of a small corpus.
    #[test]
    fn glob_matching_agrees_with_the_regex() {
        fn to_regex(tokens: &[Token]) -> String {
            let mut re = String::from("(?s)^");
            for t in tokens {
                match t {
                    Token::Literal(l) => re.push_str(&regex::escape(l)),
                    Token::One => re.push_str("[^/]"),
                    Token::Star => re.push_str("[^/]*"),
                    Token::Rest => re.push_str(".*"),
                    Token::Dirs => re.push_str("(.*/)?"),
                    Token::Start => re.push('^'),
                    Token::Class { negated, ranges } => {
                        re.push('[');
                        if *negated {
                            re.push('^');
                        }
                        for (lo, hi) in ranges {
                            re.push_str(&format!(
                                "\\x{{{:x}}}-\\x{{{:x}}}",
                                *lo as u32, *hi as u32
                            ));
                        }
                        re.push(']');
                    }
                }
            }
            re.push('$');
            re
        }
        let patterns = [
            "*.md",
            "a/*/c",
            "a/**/c",
            "**/x/*.js",
            "docs/**/*.txt",
            "?b*",
            "a?c/**",
            "[a-c]*/d",
            "[^a]*",
            "x*y*z",
            "*/",
            "a/**/b/**/c",
            "^a/b",
            "src/*/[[:digit:]]*",
        ];
        let paths = [
            "",
            "a",
            "a.md",
            "b/a.md",
            "a/b/c",
            "a/c",
            "a/x/y/c",
            "x/x/a.js",
            "q/x/a.js",
            "docs/a/b/c.txt",
            "docs/c.txt",
            "abc",
            "bb",
            "abc/d/e",
            "b/d",
            "d",
            "xyz",
            "xay/z",
            "x/y/z",
            "a/b/b/c",
            "src/v/1a",
            "src/v/a1",
            "a/b/x/b/y/c",
        ];
        for pattern in patterns {
            let MatchKind::Glob(tokens) = compile(pattern).expect("compiles") else {
                continue;
            };
            let re = regex::Regex::new(&to_regex(&tokens)).expect("a regex");
            for path in paths {
                assert_eq!(
                    glob_match(&tokens, path),
                    re.is_match(path),
                    "{pattern} on {path:?}"
                );
            }
        }
    }

    #[test]
    fn patterns_are_reported_cleaned() {
        let rules = DockerIgnore::parse("/a/./b/\n! c\n").expect("valid");
        assert_eq!(rules.patterns(), vec!["a/b".to_owned(), "!c".to_owned()]);
    }
}
