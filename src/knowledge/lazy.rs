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

use std::sync::OnceLock;

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};
use regex::Regex;

/// A regex compiled at load (`eager`) or on first use.
pub(crate) struct LazyRegex {
    pattern: String,
    /// The names of its capture groups, in order, when it was compiled at load.
    names: Option<Vec<String>>,
    compiled: OnceLock<Option<Regex>>,
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
        })
    }

    /// The compiled regex; `None` only if compiling failed (see the module documentation).
    pub(crate) fn get(&self) -> Option<&Regex> {
        self.compiled
            .get_or_init(|| Regex::new(&self.pattern).ok())
            .as_ref()
    }

    /// The names of the capture groups, in the order they open, when compiled at load (so
    /// checks that use them run exactly when the regex was checked).
    pub(crate) fn capture_names(&self) -> Option<&[String]> {
        self.names.as_deref()
    }

    /// Whether the regex matches somewhere in `text` (never, if it failed to compile).
    pub(crate) fn is_match(&self, text: &str) -> bool {
        self.get().is_some_and(|r| r.is_match(text))
    }
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
}

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
        })
    }

    fn get(&self) -> &GlobSet {
        self.set.get_or_init(|| {
            build(&self.patterns, self.literal_separator).unwrap_or_else(|_| GlobSet::empty())
        })
    }

    /// The indices of the globs that match `path`, in ascending order.
    pub(crate) fn matches(&self, path: &str) -> Vec<usize> {
        self.get().matches(path)
    }

    /// Whether any glob matches `path`.
    pub(crate) fn is_match(&self, path: &str) -> bool {
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
        self.compiled.get().is_some()
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
