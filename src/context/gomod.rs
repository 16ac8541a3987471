//! `go.mod`: module path (whose last non-major-version element is `go build`'s default output
//! name), `go` version, whether there are `require`s, and local `replace` targets.

use super::ManifestError;
use serde::Serialize;

/// What `go.mod` says.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GoMod {
    pub module: String,
    pub go_version: Option<String>,
    pub toolchain: Option<String>,
    /// At least one `require` (so `go mod download` has something to fetch).
    pub has_requires: bool,
    /// Targets of `replace ... => ./local/path` (they must be in the image before
    /// `go mod download`).
    pub local_replaces: Vec<String>,
    /// A `vendor/` directory sits next to `go.mod` (set when read from disk).
    pub vendor: bool,
}

const DIRECTIVES: [&str; 10] = [
    "module",
    "go",
    "toolchain",
    "godebug",
    "require",
    "exclude",
    "replace",
    "retract",
    "tool",
    "ignore",
];

impl GoMod {
    /// Parses `go.mod`; errors name the line, e.g. `line 4: unknown directive "requires"`.
    pub fn parse(text: &str) -> Result<GoMod, ManifestError> {
        let mut module = None;
        let mut out = GoMod::default();
        let mut block: Option<(String, usize)> = None;
        for (index, line) in text.lines().enumerate() {
            let lineno = index + 1;
            let tokens = tokenize(line).map_err(|e| ManifestError::line(lineno, e))?;
            if tokens.is_empty() {
                continue;
            }
            if let Some((verb, _)) = &block {
                if tokens == [")"] {
                    block = None;
                    continue;
                }
                let verb = verb.clone();
                apply(&verb, &tokens, &mut module, &mut out)
                    .map_err(|e| ManifestError::line(lineno, e))?;
                continue;
            }
            let verb = tokens[0].as_str();
            if !DIRECTIVES.contains(&verb) {
                return Err(ManifestError::line(
                    lineno,
                    format!("unknown directive \"{verb}\""),
                ));
            }
            if tokens[1..] == ["("] {
                block = Some((verb.to_owned(), lineno));
                continue;
            }
            apply(verb, &tokens[1..], &mut module, &mut out)
                .map_err(|e| ManifestError::line(lineno, e))?;
        }
        if let Some((verb, lineno)) = block {
            return Err(ManifestError::line(
                lineno,
                format!("`{verb} (` is never closed"),
            ));
        }
        out.module = module.ok_or_else(|| ManifestError::invalid("no module directive"))?;
        Ok(out)
    }

    /// The name `go build` gives the binary of the module's root package: the last element of
    /// the module path, skipping a major-version suffix (`example.com/tool/v2` -> `tool`).
    pub fn binary_name(&self) -> &str {
        let mut elements = self.module.rsplit('/');
        let last = elements.next().unwrap_or(&self.module);
        if is_version_element(last)
            && let Some(previous) = elements.next()
        {
            return previous;
        }
        last
    }
}

fn apply(
    verb: &str,
    args: &[String],
    module: &mut Option<String>,
    out: &mut GoMod,
) -> Result<(), String> {
    match verb {
        "module" => {
            let [path] = args else {
                return Err("usage: module module/path".to_owned());
            };
            if module.is_some() {
                return Err("repeated module directive".to_owned());
            }
            *module = Some(path.clone());
        }
        "go" => out.go_version = args.first().cloned(),
        "toolchain" => out.toolchain = args.first().cloned(),
        "require" => out.has_requires = true,
        "replace" => {
            let arrow = args
                .iter()
                .position(|a| a == "=>")
                .ok_or_else(|| "replace without =>".to_owned())?;
            if let Some(target) = args.get(arrow + 1)
                && (target.starts_with("./")
                    || target.starts_with("../")
                    || target.starts_with('/'))
            {
                out.local_replaces.push(target.clone());
            }
        }
        _ => {}
    }
    Ok(())
}

/// Splits a line into tokens: whitespace-separated, `//` starts a comment, `"..."` and
/// `` `...` `` are single tokens (quotes removed).
fn tokenize(line: &str) -> Result<Vec<String>, String> {
    let mut tokens = Vec::new();
    let mut rest = line;
    loop {
        rest = rest.trim_start();
        if rest.is_empty() || rest.starts_with("//") {
            break;
        }
        let first = rest.chars().next().expect("rest is not empty");
        if first == '"' || first == '`' {
            let mut token = String::new();
            let mut chars = rest[1..].char_indices();
            let end = loop {
                match chars.next() {
                    None => return Err("unterminated quoted string".to_owned()),
                    Some((_, '\\')) if first == '"' => match chars.next() {
                        Some((_, escaped)) => token.push(escaped),
                        None => return Err("unterminated quoted string".to_owned()),
                    },
                    Some((i, c)) if c == first => break 1 + i + c.len_utf8(),
                    Some((_, c)) => token.push(c),
                }
            };
            tokens.push(token);
            rest = &rest[end..];
        } else if first == '(' || first == ')' {
            tokens.push(first.to_string());
            rest = &rest[1..];
        } else {
            let end = rest
                .char_indices()
                .find(|&(i, c)| {
                    c.is_whitespace()
                        || matches!(c, '(' | ')' | '"' | '`')
                        || rest[i..].starts_with("//")
                })
                .map_or(rest.len(), |(i, _)| i);
            tokens.push(rest[..end].to_owned());
            rest = &rest[end..];
        }
    }
    Ok(tokens)
}

/// `v2`, `v3`, ... `v10` (not `v0`, `v1`, `v01`), as cmd/go's `isVersionElement`.
fn is_version_element(s: &str) -> bool {
    let bytes = s.as_bytes();
    if bytes.len() < 2
        || bytes[0] != b'v'
        || bytes[1] == b'0'
        || (bytes[1] == b'1' && bytes.len() == 2)
    {
        return false;
    }
    bytes[1..].iter().all(u8::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_module_version_requires_and_replaces() {
        let m = GoMod::parse(
            "// header comment\nmodule github.com/acme/api // trailing\n\ngo 1.22.1\ntoolchain go1.22.3\n\nrequire (\n\tgithub.com/x/y v1.2.3\n\tgithub.com/z/w v0.1.0 // indirect\n)\n\nreplace github.com/x/y => ../y\nreplace github.com/z/w v0.1.0 => github.com/fork/w v0.1.1\n",
        )
        .expect("valid");
        assert_eq!(m.module, "github.com/acme/api");
        assert_eq!(m.go_version.as_deref(), Some("1.22.1"));
        assert_eq!(m.toolchain.as_deref(), Some("go1.22.3"));
        assert!(m.has_requires);
        assert_eq!(m.local_replaces, vec!["../y".to_owned()]);
        assert_eq!(m.binary_name(), "api");
    }

    #[test]
    fn quoted_module_and_no_requires() {
        let m = GoMod::parse("module \"example.com/hello\"\ngo 1.21\n").expect("valid");
        assert_eq!(m.module, "example.com/hello");
        assert!(!m.has_requires);
        assert_eq!(m.binary_name(), "hello");
    }

    #[test]
    fn binary_name_skips_major_version_suffix() {
        let name = |module: &str| {
            GoMod {
                module: module.to_owned(),
                ..GoMod::default()
            }
            .binary_name()
            .to_owned()
        };
        assert_eq!(name("example.com/tool/v2"), "tool");
        assert_eq!(name("example.com/tool/v10"), "tool");
        assert_eq!(name("example.com/tool/v1"), "v1");
        assert_eq!(name("example.com/tool/v0"), "v0");
        assert_eq!(name("v2"), "v2");
        assert_eq!(name("app"), "app");
    }

    #[test]
    fn malformed_files_are_errors() {
        assert_eq!(
            GoMod::parse("go 1.22\n").map_err(|e| e.to_string()),
            Err("no module directive".to_owned())
        );
        assert_eq!(
            GoMod::parse("module a\nrequires x v1\n").map_err(|e| e.to_string()),
            Err("line 2: unknown directive \"requires\"".to_owned())
        );
        assert_eq!(
            GoMod::parse("module a\nrequire (\n x v1\n").map_err(|e| e.to_string()),
            Err("line 2: `require (` is never closed".to_owned())
        );
        assert!(GoMod::parse("module \"a\n").is_err());
        assert!(GoMod::parse("module a\nmodule b\n").is_err());
    }
}
