//! What "the same behaviour" means when the original and the rewritten image are compared.
//!
//! - `Cmd` and `Entrypoint` must be equal after normalising a shell-form command that the exec-form
//!   rewrite may have turned into JSON: `["/bin/sh", "-c", "npm start"]` equals `["npm", "start"]`
//!   when the string holds plain words only (quotes allowed; no expansions, operators, globs or
//!   leading assignments). `WorkingDir`, `ExposedPorts` and `Volumes` must be equal.
//! - `Env`: every entry the original Dockerfile itself set (its image's Env minus the Env of the
//!   base image of its final stage) must be in the rewritten image with the same value. Variables
//!   that come from the base image (PATH, NODE_VERSION, JAVA_HOME, ...) may change with the base.
//! - `Labels`: like `Env`, every label the original Dockerfile set must be kept with its value.
//! - `StopSignal` and `Healthcheck` must be equal.
//! - `User` is not compared: the rewrite is expected to change it.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

/// `Cmd`/`Entrypoint` as a list of words, with a shell-form string turned into words when that
/// cannot change its meaning.
pub fn normalized_command(value: &Value) -> Option<Vec<String>> {
    let words: Vec<String> = value
        .as_array()?
        .iter()
        .map(|v| v.as_str().unwrap_or_default().to_string())
        .collect();
    if words.len() == 3
        && words[0] == "/bin/sh"
        && words[1] == "-c"
        && let Some(mut split) = shell_words(&words[2])
    {
        if split.first().is_some_and(|w| w == "exec") {
            split.remove(0);
        }
        if !split.is_empty() {
            return Some(split);
        }
    }
    Some(words)
}

/// Splits a shell command into words when it uses no shell feature beyond quoting; `None` when
/// running it without a shell could behave differently.
pub fn shell_words(s: &str) -> Option<Vec<String>> {
    const META: &str = "$`;&|<>()*?[]{}!\n\r";
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        ch => cur.push(ch),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        '$' | '`' => return None,
                        '\\' => match chars.next()? {
                            ch @ ('$' | '`' | '"' | '\\') => cur.push(ch),
                            '\n' => return None,
                            ch => {
                                cur.push('\\');
                                cur.push(ch);
                            }
                        },
                        ch => cur.push(ch),
                    }
                }
            }
            '\\' => {
                let ch = chars.next()?;
                if ch == '\n' {
                    return None;
                }
                cur.push(ch);
                in_word = true;
            }
            '#' | '~' if !in_word => return None,
            ch if META.contains(ch) => return None,
            ch => {
                cur.push(ch);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    if words.first().is_some_and(|w| w.contains('=')) {
        return None;
    }
    Some(words)
}

/// The Env entries (`KEY=value`) of `image_env` that are not inherited from `base_env`.
pub fn own_env(image_env: &Value, base_env: &Value) -> BTreeSet<String> {
    let base = env_set(base_env);
    env_set(image_env).difference(&base).cloned().collect()
}

pub fn env_set(env: &Value) -> BTreeSet<String> {
    env.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The labels of `image` (a `Config.Labels` object) that are not inherited from `base`.
pub fn own_labels(image: &Value, base: &Value) -> BTreeMap<String, String> {
    let map = |v: &Value| -> BTreeMap<String, String> {
        v.as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let base = map(base);
    map(image)
        .into_iter()
        .filter(|(k, v)| base.get(k) != Some(v))
        .collect()
}

/// Fields of `docker image inspect .Config` compared as they are (after command normalisation).
pub const COMPARED_CONFIG: &[&str] = &[
    "Cmd",
    "Entrypoint",
    "WorkingDir",
    "ExposedPorts",
    "Volumes",
    "StopSignal",
    "Healthcheck",
];

/// Every way the rewritten image's configuration differs from the original's, one sentence each.
/// `base` is the `Config` of the original's final base image (`Null` when unknown), so that only
/// what the Dockerfile itself set is required of `Env` and `Labels`; `may_differ` lists fields of
/// [`COMPARED_CONFIG`] (or `Env`, `Labels`) not to compare.
pub fn config_differences(
    orig: &Value,
    new: &Value,
    base: &Value,
    may_differ: &[String],
) -> Vec<String> {
    let null = Value::Null;
    let skip = |f: &str| may_differ.iter().any(|m| m == f);
    let mut out = Vec::new();
    for field in COMPARED_CONFIG {
        if skip(field) {
            continue;
        }
        let (a, b) = (
            orig.get(*field).unwrap_or(&null),
            new.get(*field).unwrap_or(&null),
        );
        let same = match *field {
            "Cmd" | "Entrypoint" => normalized_command(a) == normalized_command(b),
            // An empty value and an absent one mean the same.
            _ => is_empty(a) && is_empty(b) || a == b,
        };
        if !same {
            out.push(format!("{field} changed: original {a}, rewritten {b}"));
        }
    }
    if !skip("Env") {
        let own = own_env(
            orig.get("Env").unwrap_or(&null),
            base.get("Env").unwrap_or(&null),
        );
        let kept = env_set(new.get("Env").unwrap_or(&null));
        let lost: Vec<&String> = own.difference(&kept).collect();
        if !lost.is_empty() {
            out.push(format!(
                "Env: the rewritten image lost or changed ENV the Dockerfile sets: {lost:?}"
            ));
        }
    }
    if !skip("Labels") {
        let own = own_labels(
            orig.get("Labels").unwrap_or(&null),
            base.get("Labels").unwrap_or(&null),
        );
        let kept = own_labels(new.get("Labels").unwrap_or(&null), &null);
        let lost: Vec<String> = own
            .iter()
            .filter(|(k, v)| kept.get(*k) != Some(*v))
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        if !lost.is_empty() {
            out.push(format!(
                "Labels: the rewritten image lost or changed LABELs the Dockerfile sets: {lost:?}"
            ));
        }
    }
    out
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// The base image of the final stage of a Dockerfile, following `FROM <earlier stage>`; `None` for
/// `scratch` or when it cannot be told without evaluating ARGs.
pub fn final_base_image(dockerfile: &str) -> Option<String> {
    let mut stages: Vec<(String, Option<String>)> = Vec::new();
    for line in dockerfile.lines() {
        let mut words = line.split_whitespace();
        if !words.next().is_some_and(|w| w.eq_ignore_ascii_case("FROM")) {
            continue;
        }
        let rest: Vec<&str> = words.filter(|w| !w.starts_with("--")).collect();
        let image = rest.first()?.to_string();
        let alias = match rest.as_slice() {
            [_, kw, name, ..] if kw.eq_ignore_ascii_case("AS") => Some(name.to_lowercase()),
            _ => None,
        };
        stages.push((image, alias));
    }
    let mut image = stages.last()?.0.clone();
    for _ in 0..stages.len() {
        match stages
            .iter()
            .find(|(_, a)| a.as_deref() == Some(&image.to_lowercase()))
        {
            Some((parent, _)) => image = parent.clone(),
            None => break,
        }
    }
    if image.contains('$') || image == "scratch" {
        None
    } else {
        Some(image)
    }
}

/// Whether a `Config.User` value names root (empty means root).
pub fn user_is_root(user: &str) -> bool {
    let name = user.split(':').next().unwrap_or_default();
    name.is_empty() || name == "root" || name == "0"
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn words(v: &[&str]) -> Option<Vec<String>> {
        Some(v.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn shell_form_normalises_only_when_safe() {
        assert_eq!(
            normalized_command(&json!(["/bin/sh", "-c", "npm start"])),
            words(&["npm", "start"])
        );
        assert_eq!(
            normalized_command(&json!(["/bin/sh", "-c", "checksum \"hello restage\""])),
            words(&["checksum", "hello restage"])
        );
        assert_eq!(
            normalized_command(&json!(["/bin/sh", "-c", "exec node a.js"])),
            words(&["node", "a.js"])
        );
        assert_eq!(
            normalized_command(&json!(["/bin/sh", "-c", "node $APP"])),
            words(&["/bin/sh", "-c", "node $APP"])
        );
        assert_eq!(shell_words("a && b"), None);
        assert_eq!(shell_words("FOO=1 node"), None);
        assert_eq!(
            shell_words("waitress-serve --port=8080 x:app"),
            words(&["waitress-serve", "--port=8080", "x:app"])
        );
        assert_eq!(normalized_command(&Value::Null), None);
    }

    #[test]
    fn own_env_drops_inherited_entries() {
        let image = json!(["PATH=/usr/bin", "NODE_VERSION=20", "PORT=3000"]);
        let base = json!(["PATH=/usr/bin", "NODE_VERSION=20"]);
        assert_eq!(
            own_env(&image, &base),
            BTreeSet::from(["PORT=3000".to_string()])
        );
    }

    #[test]
    fn final_base_follows_stage_aliases() {
        assert_eq!(
            final_base_image("FROM node:20\nRUN x\n").as_deref(),
            Some("node:20")
        );
        let multi =
            "FROM node:20 AS build\nFROM --platform=linux/amd64 node:20-slim AS run\nFROM run\n";
        assert_eq!(final_base_image(multi).as_deref(), Some("node:20-slim"));
        assert_eq!(
            final_base_image("FROM golang:1.22 AS b\nFROM scratch\n"),
            None
        );
    }

    #[test]
    fn config_differences_name_the_field() {
        let orig = json!({"Cmd": ["/bin/sh", "-c", "node server.js"], "WorkingDir": "/app",
            "Env": ["PATH=/usr/bin", "PORT=3000"], "Labels": {"team": "web", "base": "x"}});
        let same = json!({"Cmd": ["node", "server.js"], "WorkingDir": "/app",
            "Env": ["PATH=/bin", "PORT=3000"], "Labels": {"team": "web"}, "Volumes": {}});
        let base = json!({"Env": ["PATH=/usr/bin"], "Labels": {"base": "x"}});
        assert_eq!(
            config_differences(&orig, &same, &base, &[]),
            Vec::<String>::new()
        );
        let changed = json!({"Cmd": ["node", "index.js"], "WorkingDir": "/app",
            "Env": ["PORT=8080"], "Labels": {}});
        assert_eq!(
            config_differences(&orig, &changed, &base, &[]),
            vec![
                r#"Cmd changed: original ["/bin/sh","-c","node server.js"], rewritten ["node","index.js"]"#.to_string(),
                r#"Env: the rewritten image lost or changed ENV the Dockerfile sets: ["PORT=3000"]"#.to_string(),
                r#"Labels: the rewritten image lost or changed LABELs the Dockerfile sets: ["team=web"]"#.to_string(),
            ]
        );
        assert_eq!(
            config_differences(
                &orig,
                &changed,
                &base,
                &["Cmd".into(), "Env".into(), "Labels".into()]
            ),
            Vec::<String>::new()
        );
    }

    #[test]
    fn root_users() {
        assert!(user_is_root(""));
        assert!(user_is_root("0:0"));
        assert!(user_is_root("root"));
        assert!(!user_is_root("node"));
        assert!(!user_is_root("65532:65532"));
    }
}
