//! What a Node build reads besides `package.json`: the root `tsconfig*.json` files (with the
//! `extends` chain followed inside the context), the text of root build-tool config files
//! (`next.config.js`, `vite.config.ts`, `nest-cli.json`), and, for each root directory, the file
//! extensions under it. `multi-stage` uses them to name a build's output directory and to tell
//! a directory of sources (left behind) from one of data files (carried).
//!
//! Read only when the context root holds a `package.json`. Every read is bounded: each file at
//! most [`super::fsread::MAX_FILE_BYTES`], at most [`MAX_CONFIGS`] config files, and at most
//! [`MAX_WALKED`] entries walked under the root directories; what falls outside a bound is
//! unknown, never guessed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Serialize;

use super::fsread::{normalize_rel, read_capped};
use super::{EntryKind, ManifestError};

/// The most root config files read.
pub const MAX_CONFIGS: usize = 32;
/// The most entries walked under the root directories, all together.
pub const MAX_WALKED: usize = 20_000;
/// The longest `extends` chain followed.
const MAX_EXTENDS: usize = 8;

/// A fact of a tsconfig after its `extends` chain: set, not set anywhere, or unknown (an
/// `extends` restage cannot follow, such as a package in `node_modules`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Setting<T> {
    Set(T),
    Unset,
    Unknown,
}

impl<T> Setting<T> {
    pub fn known(&self) -> Option<Option<&T>> {
        match self {
            Setting::Set(v) => Some(Some(v)),
            Setting::Unset => Some(None),
            Setting::Unknown => None,
        }
    }
}

/// What one tsconfig says after its `extends` chain. Paths are relative to the context root,
/// normalized (`./src` is `src`, the root itself is the empty string).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TsConfig {
    pub out_dir: Setting<String>,
    pub root_dir: Setting<String>,
    /// `include` patterns.
    pub include: Setting<Vec<String>>,
    /// `files`.
    pub files: Setting<Vec<String>>,
    /// `noEmit: true` somewhere in the chain (then: no output).
    pub no_emit: Setting<bool>,
}

/// The Node build facts of a context root.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NodeBuild {
    /// Each root `tsconfig*.json`, by name: its facts, or why they are unknown.
    pub tsconfigs: BTreeMap<String, Result<TsConfig, String>>,
    /// Root build-tool config files (`*.config.{js,cjs,mjs,ts,mts,cts}`, `nest-cli.json`), by
    /// name: the text, or `None` when it could not be read.
    pub configs: BTreeMap<String, Option<String>>,
    /// For each root directory (not `node_modules`, not `.git`): the extensions (lower case,
    /// without the dot; `""` for none) of the files under it, or `None` when unknown (a symlink,
    /// an unreadable directory, or the walk bound reached).
    pub dir_extensions: BTreeMap<String, Option<BTreeSet<String>>>,
}

impl NodeBuild {
    /// Reads the facts under `dir`, whose root entries are `listing`.
    pub(super) fn read(dir: &Path, listing: &BTreeMap<String, EntryKind>) -> NodeBuild {
        let mut out = NodeBuild::default();
        for (name, kind) in listing {
            if *kind != EntryKind::File {
                continue;
            }
            if name.starts_with("tsconfig") && name.ends_with(".json") {
                out.tsconfigs.insert(name.clone(), read_tsconfig(dir, name));
            } else if is_config_name(name) && out.configs.len() < MAX_CONFIGS {
                out.configs
                    .insert(name.clone(), read_capped(&dir.join(name)).ok());
            }
        }
        let mut budget = MAX_WALKED;
        for (name, kind) in listing {
            if *kind != EntryKind::Dir || name == "node_modules" || name == ".git" {
                continue;
            }
            let mut exts = BTreeSet::new();
            let known = walk(&dir.join(name), &mut exts, &mut budget, 0);
            out.dir_extensions
                .insert(name.clone(), known.then_some(exts));
        }
        out
    }
}

fn is_config_name(name: &str) -> bool {
    name == "nest-cli.json"
        || name.split_once(".config.").is_some_and(|(_, ext)| {
            matches!(ext, "js" | "cjs" | "mjs" | "ts" | "mts" | "cts" | "json")
        })
}

/// Records the extensions of the files under `dir`; false when something is unknown.
fn walk(dir: &Path, exts: &mut BTreeSet<String>, budget: &mut usize, depth: usize) -> bool {
    if depth > 32 {
        return false;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    for entry in entries {
        let Ok(entry) = entry else { return false };
        if *budget == 0 {
            return false;
        }
        *budget -= 1;
        let Ok(kind) = entry.file_type() else {
            return false;
        };
        if kind.is_dir() {
            if !walk(&entry.path(), exts, budget, depth + 1) {
                return false;
            }
        } else if kind.is_file() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let ext = match name.rsplit_once('.') {
                Some((stem, ext)) if !stem.is_empty() => ext.to_ascii_lowercase(),
                _ => String::new(),
            };
            exts.insert(ext);
        } else {
            // A symlink or a special file: where it leads is not known.
            return false;
        }
    }
    true
}

/// One config file of the chain, as written.
#[derive(Default)]
struct Raw {
    /// The file's directory, relative to the context root.
    dir: String,
    extends: Vec<String>,
    out_dir: Option<String>,
    root_dir: Option<String>,
    include: Option<Vec<String>>,
    files: Option<Vec<String>>,
    no_emit: Option<bool>,
}

/// The value of the nearest file of `chain` that sets it; unknown when a base could not be read.
fn nearest<T>(chain: &[Raw], unknown_base: bool, get: &dyn Fn(&Raw) -> Option<T>) -> Setting<T> {
    match chain.iter().find_map(get) {
        Some(v) => Setting::Set(v),
        None if unknown_base => Setting::Unknown,
        None => Setting::Unset,
    }
}

fn read_tsconfig(dir: &Path, name: &str) -> Result<TsConfig, String> {
    let mut chain: Vec<Raw> = Vec::new();
    let mut unknown_base = false;
    let mut queue = vec![name.to_string()];
    while let Some(rel) = queue.pop() {
        if chain.len() >= MAX_EXTENDS {
            return Err(format!("{name}: `extends` is nested too deeply"));
        }
        let text = read_capped(&dir.join(&rel)).map_err(|e| format!("{rel}: {}", e.describe()))?;
        let raw = parse_raw(&rel, &text).map_err(|e| format!("{rel}: {e}"))?;
        // Bases apply in order and later ones win: the last one (and its own bases) is read
        // next, so `chain` lists the files nearest definition first.
        for base in &raw.extends {
            match resolve_extends(&raw.dir, base) {
                Some(p) => queue.push(p),
                None => unknown_base = true,
            }
        }
        chain.push(raw);
    }
    // `chain[0]` is the file itself; the nearest definition wins.
    let pick = |get: &dyn Fn(&Raw) -> Option<String>| nearest(&chain, unknown_base, get);
    let pick_list = |get: &dyn Fn(&Raw) -> Option<Vec<String>>| nearest(&chain, unknown_base, get);
    let no_emit = nearest(&chain, unknown_base, &|r: &Raw| r.no_emit);
    Ok(TsConfig {
        out_dir: pick(&|r| r.out_dir.as_ref().and_then(|p| join(&r.dir, p))),
        root_dir: pick(&|r| r.root_dir.as_ref().and_then(|p| join(&r.dir, p))),
        include: pick_list(&|r| {
            r.include
                .as_ref()
                .map(|l| l.iter().filter_map(|p| join(&r.dir, p)).collect())
        }),
        files: pick_list(&|r| {
            r.files
                .as_ref()
                .map(|l| l.iter().filter_map(|p| join(&r.dir, p)).collect())
        }),
        no_emit,
    })
}

/// A relative `extends` inside the context, as a path from the root; `None` for a package.
fn resolve_extends(dir: &str, base: &str) -> Option<String> {
    if !(base.starts_with("./") || base.starts_with("../")) {
        return None;
    }
    let mut p = join(dir, base)?;
    if !p.ends_with(".json") {
        p.push_str(".json");
    }
    Some(p)
}

/// `path` relative to `dir` (both relative to the root), normalized; `None` when it leaves the
/// context or is absolute.
fn join(dir: &str, path: &str) -> Option<String> {
    if path.starts_with('/') {
        return None;
    }
    let joined = if dir.is_empty() {
        path.to_string()
    } else {
        format!("{dir}/{path}")
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in joined.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

fn parse_raw(rel: &str, text: &str) -> Result<Raw, ManifestError> {
    let value: serde_json::Value =
        serde_json::from_str(&strip_jsonc(text)).map_err(|e| ManifestError::Json(e.to_string()))?;
    let obj = value
        .as_object()
        .ok_or_else(|| ManifestError::invalid("not a JSON object"))?;
    let dir = normalize_rel(rel)
        .and_then(|r| r.rsplit_once('/').map(|(d, _)| d.to_string()))
        .unwrap_or_default();
    let string = |v: &serde_json::Value, key: &str| -> Result<Option<String>, ManifestError> {
        match v.get(key) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(ManifestError::invalid(format!("`{key}` is not a string"))),
        }
    };
    let list = |key: &str| -> Result<Option<Vec<String>>, ManifestError> {
        match obj.get(key) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::Array(items)) => items
                .iter()
                .map(|i| i.as_str().map(str::to_string))
                .collect::<Option<Vec<String>>>()
                .map(Some)
                .ok_or_else(|| ManifestError::invalid(format!("`{key}` is not a list of strings"))),
            Some(_) => Err(ManifestError::invalid(format!("`{key}` is not a list"))),
        }
    };
    let extends = match obj.get("extends") {
        None | Some(serde_json::Value::Null) => Vec::new(),
        Some(serde_json::Value::String(s)) => vec![s.clone()],
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .map(|i| i.as_str().map(str::to_string))
            .collect::<Option<Vec<String>>>()
            .ok_or_else(|| ManifestError::invalid("`extends` is not a list of strings"))?,
        Some(_) => return Err(ManifestError::invalid("`extends` is not a string")),
    };
    let (out_dir, root_dir, no_emit) = match obj.get("compilerOptions") {
        None | Some(serde_json::Value::Null) => (None, None, None),
        Some(opts @ serde_json::Value::Object(_)) => (
            string(opts, "outDir")?,
            string(opts, "rootDir")?,
            match opts.get("noEmit") {
                None | Some(serde_json::Value::Null) => None,
                Some(serde_json::Value::Bool(b)) => Some(*b),
                Some(_) => return Err(ManifestError::invalid("`noEmit` is not a boolean")),
            },
        ),
        Some(_) => return Err(ManifestError::invalid("`compilerOptions` is not an object")),
    };
    Ok(Raw {
        dir,
        extends,
        out_dir,
        root_dir,
        include: list("include")?,
        files: list("files")?,
        no_emit,
    })
}

/// JSON with comments and trailing commas (what `tsc` accepts) as plain JSON: comments become
/// spaces and a comma before `}` or `]` is dropped; strings are left alone.
fn strip_jsonc(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'"' {
            let start = i;
            i += 1;
            while i < bytes.len() && bytes[i] != b'"' {
                if bytes[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
            i = (i + 1).min(bytes.len());
            out.extend_from_slice(&bytes[start..i]);
        } else if b == b'/' && bytes.get(i + 1) == Some(&b'/') {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
        } else if b == b'/' && bytes.get(i + 1) == Some(&b'*') {
            i += 2;
            while i < bytes.len() && !(bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/')) {
                if bytes[i] == b'\n' {
                    out.push(b'\n');
                }
                i += 1;
            }
            i = (i + 2).min(bytes.len());
            out.push(b' ');
        } else if b == b',' {
            let mut j = i + 1;
            // Skip white space and comments to see what follows the comma.
            loop {
                while j < bytes.len() && bytes[j].is_ascii_whitespace() {
                    j += 1;
                }
                if bytes.get(j) == Some(&b'/') && bytes.get(j + 1) == Some(&b'/') {
                    while j < bytes.len() && bytes[j] != b'\n' {
                        j += 1;
                    }
                } else if bytes.get(j) == Some(&b'/') && bytes.get(j + 1) == Some(&b'*') {
                    j += 2;
                    while j < bytes.len() && !(bytes[j] == b'*' && bytes.get(j + 1) == Some(&b'/'))
                    {
                        j += 1;
                    }
                    j = (j + 2).min(bytes.len());
                } else {
                    break;
                }
            }
            if !matches!(bytes.get(j), Some(b'}') | Some(b']')) {
                out.push(b',');
            }
            i += 1;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> Raw {
        parse_raw("tsconfig.json", text).expect("valid")
    }

    #[test]
    fn reads_jsonc_with_comments_and_trailing_commas() {
        let r = raw(r#"{
            // the compiler
            "compilerOptions": { "outDir": "./build", /* emitted */ "rootDir": "src", },
            "include": ["src/**/*", "types//x.d.ts",],
        }"#);
        assert_eq!(r.out_dir.as_deref(), Some("./build"));
        assert_eq!(r.root_dir.as_deref(), Some("src"));
        assert_eq!(
            r.include,
            Some(vec!["src/**/*".to_string(), "types//x.d.ts".to_string()])
        );
    }

    #[test]
    fn strings_keep_comment_markers() {
        assert_eq!(
            strip_jsonc(r#"{"a": "x//y", "b": "/*z*/"}"#),
            r#"{"a": "x//y", "b": "/*z*/"}"#
        );
        assert_eq!(strip_jsonc(r#"{"a": "q\"//", }"#), r#"{"a": "q\"//" }"#);
    }

    #[test]
    fn joins_inside_the_context_only() {
        assert_eq!(join("", "./dist"), Some("dist".to_string()));
        assert_eq!(join("config", "../out"), Some("out".to_string()));
        assert_eq!(join("", "../out"), None);
        assert_eq!(join("", "/abs"), None);
        assert_eq!(join("", "."), Some(String::new()));
        assert_eq!(
            resolve_extends("", "./tsconfig.base"),
            Some("tsconfig.base.json".to_string())
        );
        assert_eq!(resolve_extends("", "@tsconfig/node20/tsconfig.json"), None);
    }

    #[test]
    fn follows_extends_in_the_context() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("config")).expect("mkdir");
        std::fs::write(
            dir.path().join("config/base.json"),
            r#"{"compilerOptions": {"outDir": "../build", "rootDir": "../src"}}"#,
        )
        .expect("write");
        std::fs::write(
            dir.path().join("tsconfig.json"),
            r#"{"extends": "./config/base", "include": ["src"]}"#,
        )
        .expect("write");
        std::fs::write(
            dir.path().join("tsconfig.pkg.json"),
            r#"{"extends": "@tsconfig/node20/tsconfig.json", "compilerOptions": {"rootDir": "src"}}"#,
        )
        .expect("write");
        let listing = BTreeMap::from([
            ("tsconfig.json".to_string(), EntryKind::File),
            ("tsconfig.pkg.json".to_string(), EntryKind::File),
            ("config".to_string(), EntryKind::Dir),
        ]);
        let facts = NodeBuild::read(dir.path(), &listing);
        let ts = facts.tsconfigs["tsconfig.json"].as_ref().expect("read");
        assert_eq!(ts.out_dir, Setting::Set("build".to_string()));
        assert_eq!(ts.root_dir, Setting::Set("src".to_string()));
        assert_eq!(ts.include, Setting::Set(vec!["src".to_string()]));
        assert_eq!(ts.files, Setting::Unset);
        let pkg = facts.tsconfigs["tsconfig.pkg.json"].as_ref().expect("read");
        assert_eq!(pkg.out_dir, Setting::Unknown);
        assert_eq!(pkg.root_dir, Setting::Set("src".to_string()));
        let exts = facts.dir_extensions["config"].as_ref().expect("walked");
        assert_eq!(exts.iter().collect::<Vec<_>>(), ["json"]);
    }

    #[test]
    fn a_bad_tsconfig_is_unknown_with_the_reason() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("tsconfig.json"), "{\"compilerOptions\": 3}")
            .expect("write");
        let listing = BTreeMap::from([("tsconfig.json".to_string(), EntryKind::File)]);
        let facts = NodeBuild::read(dir.path(), &listing);
        let err = facts.tsconfigs["tsconfig.json"].as_ref().expect_err("bad");
        assert_eq!(err, "tsconfig.json: `compilerOptions` is not an object");
    }
}
