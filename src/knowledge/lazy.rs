//! Regexes and glob sets compiled on first use. A run on one Dockerfile asks about one or two
//! images and a few commands, so compiling (or even parsing) every tag rule, command pattern and
//! glob set of the knowledge files up front was most of a single-file run.
//!
//! Which entries wait is the knowledge's choice, by where they come from (`eager`):
//! - entries from a user's `[knowledge]` overrides are compiled when they are loaded, so every
//!   error their text can cause is reported there, with its `file:line:col`, as `Regex::new`
//!   and globset word it;
//! - entries of the built-in files are compiled on first use and not checked at load. The test
//!   suite loads the built-in files with every entry eager (the same checks and errors, naming
//!   `transforms/<file>.toml:line:col`) and compiles every matcher, so an error in them fails
//!   `cargo test`. Should a deferred compile fail all the same, the matcher matches nothing,
//!   which every caller reads as "not known".
//!
//! Two shortcuts keep the common answers from compiling anything large:
//! - a deferred regex asked about ASCII text is compiled by `regex-lite` (the same syntax and
//!   matching, but `\d`, `\s`, `\w`, `\b` and case folding cover only ASCII, which is all
//!   ASCII text can hold, so the answer is the same), several times cheaper to compile than
//!   `regex`'s Unicode form; other text, or a pattern `regex-lite` does not take (`\p{..}`,
//!   class set operations), uses `regex`;
//! - a glob set answers a name that no pattern can match by its literal start and end (the
//!   text before its first `*`, `?`, `[`, `]`, `{`, `}` or `\`, and after its last: `*.db`
//!   matches only names that end in `.db`) by comparing the literal patterns, without being
//!   built (a glob with none of those characters matches exactly its own text; so should the
//!   set fail to build, such a name still matches its literal patterns).

use std::sync::OnceLock;

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};
use regex::Regex;

/// A regex compiled at load (`eager`) or on first use.
pub(crate) struct LazyRegex {
    pattern: String,
    /// The names of its capture groups, in order, when it was compiled at load.
    names: Option<Vec<String>>,
    compiled: OnceLock<Option<Regex>>,
    /// The pattern compiled by `regex-lite` (ASCII classes and case folding), for ASCII text
    /// (`None`: it does not compile that way). Boxed: the knowledge holds hundreds of these,
    /// moved as they are built, and most are never asked.
    ascii: OnceLock<Option<Box<regex_lite::Regex>>>,
}

impl LazyRegex {
    /// With `eager`, compiles `pattern` now (the error is `Regex::new`'s, as text); otherwise
    /// on first use.
    pub(crate) fn new(pattern: String, eager: bool) -> Result<LazyRegex, String> {
        let compiled = OnceLock::new();
        let mut names = None;
        if eager {
            let re = Regex::new(&pattern).map_err(|e| e.to_string())?;
            names = Some(re.capture_names().flatten().map(str::to_string).collect());
            let _ = compiled.set(Some(re));
        }
        Ok(LazyRegex {
            pattern,
            names,
            compiled,
            ascii: OnceLock::new(),
        })
    }

    /// The compiled regex; `None` only if compiling failed (see the module documentation).
    fn get(&self) -> Option<&Regex> {
        self.compiled
            .get_or_init(|| Regex::new(&self.pattern).ok())
            .as_ref()
    }

    /// The form that answers for `text`: the Unicode one unless `text` is ASCII and the
    /// Unicode one was not compiled (yet), then the ASCII one if it compiles.
    fn matcher(&self, text: &str) -> Option<Matcher<'_>> {
        if text.is_ascii() && self.compiled.get().is_none() {
            let ascii = self
                .ascii
                .get_or_init(|| regex_lite::Regex::new(&self.pattern).ok().map(Box::new));
            if let Some(re) = ascii {
                return Some(Matcher::Ascii(re));
            }
        }
        self.get().map(Matcher::Unicode)
    }

    /// The groups of the first match in `text`, after the whole match: each one's name (if it
    /// has one) and what it matched (`None`: it took no part); `Ok(None)` when there is no
    /// match, `Err` when the regex does not compile.
    pub(crate) fn captures<'r, 't>(&'r self, text: &'t str) -> Result<Option<Groups<'r, 't>>, ()> {
        Ok(match self.matcher(text).ok_or(())? {
            Matcher::Unicode(re) => re.captures(text).map(|caps| {
                re.capture_names()
                    .zip(caps.iter())
                    .skip(1)
                    .map(|(n, m)| (n, m.map(|m| m.as_str())))
                    .collect()
            }),
            Matcher::Ascii(re) => re.captures(text).map(|caps| {
                re.capture_names()
                    .zip(caps.iter())
                    .skip(1)
                    .map(|(n, m)| (n, m.map(|m| m.as_str())))
                    .collect()
            }),
        })
    }

    /// The names of the capture groups, in the order they open, when compiled at load (so
    /// checks that use them run exactly when the regex was checked).
    pub(crate) fn capture_names(&self) -> Option<&[String]> {
        self.names.as_deref()
    }

    /// Whether the regex matches somewhere in `text` (never, if it failed to compile).
    pub(crate) fn is_match(&self, text: &str) -> bool {
        match self.matcher(text) {
            Some(Matcher::Unicode(re)) => re.is_match(text),
            Some(Matcher::Ascii(re)) => re.is_match(text),
            None => false,
        }
    }
}

/// The groups of a match: each one's name, if any, and the text it matched, if any.
pub(crate) type Groups<'r, 't> = Vec<(Option<&'r str>, Option<&'t str>)>;

/// One compiled form of a [`LazyRegex`].
enum Matcher<'r> {
    Unicode(&'r Regex),
    Ascii(&'r regex_lite::Regex),
}

/// With `eager`, checks that `pattern` compiles (the error is `Regex::new`'s, as text).
pub(crate) fn check_regex(pattern: &str, eager: bool) -> Result<(), String> {
    if eager {
        Regex::new(pattern).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Parses one glob the way the knowledge files' globs are read: `literal_separator` keeps `*`
/// from matching `/` (paths and image repositories); program names do not need it.
pub(crate) fn glob(pattern: &str, literal_separator: bool) -> Result<Glob, globset::Error> {
    GlobBuilder::new(pattern)
        .literal_separator(literal_separator)
        .build()
}

/// A glob set parsed and built at load (`eager`) or on first use.
#[derive(Debug, Clone)]
pub(crate) struct LazyGlobSet {
    patterns: Vec<String>,
    literal_separator: bool,
    set: OnceLock<GlobSet>,
    /// Every pattern that is not a literal name, with where its literal start ends and its
    /// literal end starts; found on first use (loading pays nothing for it).
    ends: OnceLock<Vec<(usize, usize, usize)>>,
}

/// The characters that make a glob more than a literal name.
const GLOB_SPECIAL: &[char] = &['*', '?', '[', ']', '{', '}', '\\'];

impl LazyGlobSet {
    /// The set of `patterns`, read with [`glob`]; with `eager`, built now, and the first error
    /// is returned (callers check each pattern first, to name its line).
    pub(crate) fn new(
        patterns: Vec<String>,
        literal_separator: bool,
        eager: bool,
    ) -> Result<LazyGlobSet, globset::Error> {
        let set = OnceLock::new();
        if eager {
            let _ = set.set(build(&patterns, literal_separator)?);
        }
        Ok(LazyGlobSet {
            patterns,
            literal_separator,
            set,
            ends: OnceLock::new(),
        })
    }

    /// Whether only the literal patterns can match `path` (see the module documentation), when
    /// the set is not built yet.
    fn literal_only(&self, path: &str) -> bool {
        if self.set.get().is_some() {
            return false;
        }
        let ends = self.ends.get_or_init(|| {
            (self.patterns.iter().enumerate())
                .filter_map(|(i, p)| {
                    let first = p.find(GLOB_SPECIAL)?;
                    let last = p.rfind(GLOB_SPECIAL)?;
                    // `**/` also matches no directory at all (`**/a` matches `a`), so the `/`
                    // next to a `*` is left out.
                    let mut start = first;
                    if p[first..].starts_with('*') && p[..first].ends_with('/') {
                        start -= 1;
                    }
                    let mut end = last + 1;
                    if p[..end].ends_with('*') && p[end..].starts_with('/') {
                        end += 1;
                    }
                    Some((i, start, end))
                })
                .collect()
        });
        !ends.iter().any(|&(i, start, end)| {
            let p = &self.patterns[i];
            path.starts_with(&p[..start]) && path.ends_with(&p[end..])
        })
    }

    fn get(&self) -> &GlobSet {
        self.set.get_or_init(|| {
            build(&self.patterns, self.literal_separator).unwrap_or_else(|_| GlobSet::empty())
        })
    }

    /// The indices of the globs that match `path`, in ascending order.
    pub(crate) fn matches(&self, path: &str) -> Vec<usize> {
        if self.literal_only(path) {
            return (self.patterns.iter().enumerate())
                .filter(|(_, p)| *p == path)
                .map(|(i, _)| i)
                .collect();
        }
        self.get().matches(path)
    }

    /// Whether any glob matches `path`.
    pub(crate) fn is_match(&self, path: &str) -> bool {
        if self.literal_only(path) {
            return self.patterns.iter().any(|p| p == path);
        }
        self.get().is_match(path)
    }
}

fn build(patterns: &[String], literal_separator: bool) -> Result<GlobSet, globset::Error> {
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        b.add(glob(p, literal_separator)?);
    }
    b.build()
}

/// A matcher that may not be compiled yet (for tests: what was compiled, and compiling it all).
#[cfg(test)]
pub(crate) trait Deferred {
    fn is_compiled(&self) -> bool;
    /// Compiles it now; the error compiling it gives.
    fn force(&self) -> Result<(), String>;
}

#[cfg(test)]
impl Deferred for LazyRegex {
    fn is_compiled(&self) -> bool {
        self.compiled.get().is_some() || self.ascii.get().is_some()
    }

    fn force(&self) -> Result<(), String> {
        Regex::new(&self.pattern)
            .map_err(|e| format!("`{}`: {e}", self.pattern))
            .map(|_| {
                self.get();
            })
    }
}

#[cfg(test)]
impl Deferred for LazyGlobSet {
    fn is_compiled(&self) -> bool {
        self.set.get().is_some()
    }

    fn force(&self) -> Result<(), String> {
        build(&self.patterns, self.literal_separator)
            .map_err(|e| format!("{:?}: {e}", self.patterns))?;
        self.get();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_eager_regex_gives_the_errors_compiling_it_gives() {
        // Over the compiled-size limit: valid syntax, only compiling finds it.
        for bad in ["(unclosed", "(?-u:\\w){1000000}"] {
            let want = Regex::new(bad).expect_err(bad).to_string();
            assert_eq!(check_regex(bad, true), Err(want.clone()), "{bad}");
            assert_eq!(
                LazyRegex::new(bad.to_string(), true).err(),
                Some(want),
                "{bad}"
            );
            assert_eq!(check_regex(bad, false), Ok(()), "{bad}");
            let lazy = LazyRegex::new(bad.to_string(), false).expect("not checked");
            assert!(
                !lazy.is_match("x"),
                "a regex that cannot compile matches nothing"
            );
            assert!(lazy.is_compiled(), "and is not compiled again");
        }
    }

    #[test]
    fn a_lazy_regex_compiles_on_first_use_and_knows_its_groups() {
        let pattern = "^(?P<version>\\d+)(?:-(?P<suite>[a-z]+))?$";
        let re = LazyRegex::new(pattern.into(), false).expect("valid");
        assert_eq!(re.capture_names(), None);
        assert!(!re.is_compiled());
        assert!(re.is_match("20-bookworm"));
        assert!(re.is_compiled());
        let eager = LazyRegex::new(pattern.into(), true).expect("valid");
        assert!(eager.is_compiled());
        assert_eq!(
            eager.capture_names(),
            Some(&["version".to_string(), "suite".to_string()][..])
        );
    }

    #[test]
    fn a_lazy_regex_answers_as_the_unicode_regex_does() {
        let patterns = [
            "^(?P<version>\\d+(?:\\.\\d+){0,2})(?:-(?P<suite>[a-z]+))?$",
            "^(?i:lts)-(?P<name>\\w+)$",
            "\\bslim\\b",
            "^(?P<any>.)(?P<rest>.*)$",
            "^\\p{Greek}+$",
            "^[a-z&&[^x]]+$",
        ];
        let texts = [
            "20",
            "20.1.2-bookworm",
            "20-",
            "LTS-iron",
            "lts-ir\u{212a}on",
            "\u{663}\u{664}",
            "x-slim",
            "slimmer",
            "αβ",
            "abc",
            "axc",
            "",
            "\u{212a}",
        ];
        for p in patterns {
            let unicode = Regex::new(p).expect("valid");
            for t in texts {
                let want = unicode.captures(t).map(|c| {
                    (unicode.capture_names().zip(c.iter()).skip(1))
                        .map(|(n, m)| (n, m.map(|m| m.as_str())))
                        .collect::<Vec<_>>()
                });
                // A fresh regex per text: the first text decides which form is compiled.
                let lazy = LazyRegex::new(p.to_string(), false).expect("not checked");
                assert_eq!(lazy.captures(t), Ok(want.clone()), "{p} {t:?}");
                assert_eq!(lazy.is_match(t), unicode.is_match(t), "{p} {t:?}");
                let eager = LazyRegex::new(p.to_string(), true).expect("valid");
                assert_eq!(eager.captures(t), Ok(want), "{p} {t:?}");
            }
        }
        let bad = LazyRegex::new("(unclosed".into(), false).expect("not checked");
        assert_eq!(bad.captures("x"), Err(()));
    }

    #[test]
    fn a_glob_set_that_is_not_built_answers_as_the_built_one() {
        let patterns = [
            "node",
            "*.db",
            "**/packages.lock.json",
            "gcr.io/distroless/*",
            "build:*",
            "a/**",
            "a/**/b",
            "{x,y}z",
            "[ab]c",
            "p\\*q",
            "python3.*",
            "python2*",
            "?",
            "",
        ];
        let names = [
            "node",
            "nodes",
            "app.db",
            "db",
            "packages.lock.json",
            "src/packages.lock.json",
            "gcr.io/distroless/base",
            "gcr.io/distroless/",
            "gcr.io/distroless/a/b",
            "build:",
            "build:css",
            "a",
            "a/x",
            "a/b",
            "a/x/b",
            "xz",
            "z",
            "ac",
            "c",
            "p*q",
            "pxq",
            "python3",
            "python3.12",
            "python2",
            "python",
            "x",
            "",
            "/",
        ];
        for sep in [true, false] {
            let globs: Vec<String> = patterns.iter().map(|p| p.to_string()).collect();
            let built = LazyGlobSet::new(globs.clone(), sep, true).expect("valid");
            for n in names {
                // A fresh set per name: the first question decides whether it is built.
                let lazy = LazyGlobSet::new(globs.clone(), sep, false).expect("valid");
                assert_eq!(lazy.matches(n), built.matches(n), "{n:?} {sep}");
                let lazy = LazyGlobSet::new(globs.clone(), sep, false).expect("valid");
                assert_eq!(lazy.is_match(n), built.is_match(n), "{n:?} {sep}");
                for (i, p) in patterns.iter().enumerate() {
                    let one = LazyGlobSet::new(vec![p.to_string()], sep, false).expect("valid");
                    let want = built.matches(n).contains(&i);
                    assert_eq!(one.is_match(n), want, "{p:?} {n:?} {sep}");
                }
            }
        }
    }

    #[test]
    fn a_lazy_glob_set_is_built_on_first_use() {
        let globs = ["node", "*/node", "library/py*"].map(String::from).to_vec();
        let set = LazyGlobSet::new(globs, true, false).expect("set");
        assert!(!set.is_compiled());
        assert_eq!(set.matches("corp/node"), [1]);
        assert_eq!(set.matches("library/python"), [2]);
        assert!(!set.is_match("python"));
        assert!(!set.is_match("a/b/node"), "`*` does not match `/`");
        assert!(set.is_compiled());
        let bad = vec!["a[".to_string()];
        assert!(LazyGlobSet::new(bad.clone(), true, true).is_err());
        let lazy = LazyGlobSet::new(bad, true, false).expect("not checked");
        assert!(
            !lazy.is_match("a["),
            "a set that cannot be built matches nothing"
        );
    }
}
