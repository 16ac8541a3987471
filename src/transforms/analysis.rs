//! Facts about a stage that several transforms need: the working directory at each instruction,
//! copies of the build context, the simple commands of a `RUN`, variable references, and the
//! text (with its leading comments) of an instruction that moves.

use crate::shell::{self, SimpleCommand};
use crate::syntax::{Document, Form, Instruction, Kind, Span, Stage};

/// The working directory in force at some instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Workdir {
    /// No WORKDIR yet in this stage: whatever the base image sets.
    Inherited,
    /// An absolute path, resolved from the stage's WORKDIR instructions.
    Known(String),
    /// A WORKDIR uses a variable restage does not resolve.
    Unknown,
}

impl Workdir {
    pub fn known(&self) -> Option<&str> {
        match self {
            Workdir::Known(p) => Some(p),
            _ => None,
        }
    }
}

/// A working directory or path together with the ARGs whose defaults it relies on: a
/// `--build-arg` can change those, so a transform that writes the resolved path down marks its
/// change unsafe with [`Resolution::arg_reason`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution<T> {
    pub value: T,
    /// Names of the ARGs whose default values the resolution used (empty: only literals and
    /// ENV values).
    pub arg_defaults: Vec<String>,
}

impl<T> Resolution<T> {
    /// Why the resolution is a guess, when it relied on ARG defaults.
    pub fn arg_reason(&self) -> Option<String> {
        if self.arg_defaults.is_empty() {
            return None;
        }
        let names: Vec<String> = self.arg_defaults.iter().map(|n| format!("`{n}`")).collect();
        Some(format!(
            "the path comes from the default of ARG {}, which `--build-arg` can change",
            names.join(", ")
        ))
    }
}

/// The working directory in force at instruction `index` (the effect of the stage's WORKDIRs
/// before it). `index` may be the stage's end, for the directory the container starts in.
/// Quotes are removed and `$VAR` / `${VAR}` expanded from literal ENVs of the stage; a WORKDIR
/// that needs an ARG default is `Unknown` here (see [`workdir_resolution`]).
pub fn workdir_at(doc: &Document, stage: &Stage, index: usize) -> Workdir {
    let r = workdir_resolution(doc, stage, index);
    if r.arg_defaults.is_empty() {
        r.value
    } else {
        Workdir::Unknown
    }
}

/// [`workdir_at`], also resolving variables from ARG defaults (by Docker's scoping: an ARG of
/// the stage, with its own default or that of the global ARG it re-declares), and saying so.
pub fn workdir_resolution(doc: &Document, stage: &Stage, index: usize) -> Resolution<Workdir> {
    let mut wd = Workdir::Inherited;
    let mut arg_defaults = Vec::new();
    for &ix in doc.indices_of(Kind::Workdir, stage.instructions.start..index) {
        let ins = &doc.instructions()[ix];
        let Some(word) = ins.words.first() else {
            continue;
        };
        let mut used = Vec::new();
        let Some(path) = expand_word(doc, stage, ix, word.value.trim(), &mut used) else {
            wd = Workdir::Unknown;
            continue;
        };
        if path.starts_with('/') {
            arg_defaults.clear();
        }
        for n in used {
            if !arg_defaults.contains(&n) {
                arg_defaults.push(n);
            }
        }
        wd = if path.starts_with('/') {
            Workdir::Known(normalize(&path))
        } else if path.is_empty() {
            Workdir::Unknown
        } else {
            match &wd {
                Workdir::Known(base) => Workdir::Known(join(base, &path)),
                // Relative to an unknown or inherited directory.
                _ => Workdir::Unknown,
            }
        };
    }
    if wd.known().is_none() {
        arg_defaults.clear();
    }
    Resolution {
        value: wd,
        arg_defaults,
    }
}

/// The value of variable `name` at instruction `index` of `stage`, by Docker's rules: the last
/// ENV of the stage before it that sets the name (ENV wins over ARG), else the last ARG of the
/// stage that declares it, with its default or the default of the global ARG (before the first
/// FROM) of that name. `None` when nothing in the file gives it a value (the base image's ENV,
/// an ARG without a default) or the value uses shell syntax restage does not read.
pub fn variable_at(
    doc: &Document,
    stage: &Stage,
    index: usize,
    name: &str,
) -> Option<Resolution<String>> {
    let instructions = doc.instructions();
    let body = stage.instructions.start + 1..index.min(stage.instructions.end);
    for ix in body.clone().rev() {
        let ins = &instructions[ix];
        if ins.kind != Kind::Env {
            continue;
        }
        if let Some((_, v)) = env_pairs(ins).into_iter().rev().find(|(n, _)| n == name) {
            if !v.contains('$') {
                return Some(Resolution {
                    value: v,
                    arg_defaults: Vec::new(),
                });
            }
            // A single-quoted value is literal; restage reads only the plain case.
            if ins.words.first().is_some_and(|w| w.value.contains('\'')) {
                return None;
            }
            let mut arg_defaults = Vec::new();
            let value = expand_in_stage(doc, stage, ix, &v, &mut arg_defaults)?;
            return Some(Resolution {
                value,
                arg_defaults,
            });
        }
    }
    for ix in body.rev() {
        let ins = &instructions[ix];
        if ins.kind != Kind::Arg {
            continue;
        }
        if let Some((_, v)) = arg_decls(ins).into_iter().rev().find(|(n, _)| n == name) {
            let v = v.or_else(|| {
                instructions
                    .iter()
                    .filter(|g| g.stage.is_none() && g.kind == Kind::Arg)
                    .flat_map(arg_decls)
                    .rfind(|(n, _)| n == name)
                    .and_then(|(_, v)| v)
            })?;
            let mut arg_defaults = vec![name.to_string()];
            // A default may use the ARGs and ENVs above it (`ARG DIR=/var/www/${PROJECT}`).
            let value = if v.contains('$') {
                expand_in_stage(doc, stage, ix, &v, &mut arg_defaults)?
            } else {
                v
            };
            return Some(Resolution {
                value,
                arg_defaults,
            });
        }
    }
    None
}

/// `text` with its variables expanded by [`variable_at`] at `index`; records the ARGs used.
fn expand_in_stage(
    doc: &Document,
    stage: &Stage,
    index: usize,
    text: &str,
    arg_defaults: &mut Vec<String>,
) -> Option<String> {
    let used = std::cell::RefCell::new(Vec::new());
    let lookup = |name: &str| {
        let r = variable_at(doc, stage, index, name)?;
        used.borrow_mut().extend(r.arg_defaults);
        Some(r.value)
    };
    let out = expand_vars(text, &lookup)?;
    for n in used.into_inner() {
        if !arg_defaults.contains(&n) {
            arg_defaults.push(n);
        }
    }
    Some(out)
}

/// A word of an instruction that takes a path (WORKDIR, a COPY/ADD destination) as BuildKit
/// reads it: quotes removed (`"/app"`, `'/srv/app'`), escapes resolved, and variables outside
/// single quotes expanded at `index`. `None` for what restage does not read (an unknown
/// variable, an unterminated quote, unquoted blanks).
fn expand_word(
    doc: &Document,
    stage: &Stage,
    index: usize,
    word: &str,
    arg_defaults: &mut Vec<String>,
) -> Option<String> {
    if !word.contains(['$', '"', '\'', '\\']) {
        return Some(word.to_string());
    }
    let escape = doc.escape();
    let mut out = String::new();
    let mut chars = word.char_indices().peekable();
    let mut quote: Option<char> = None;
    while let Some((i, c)) = chars.next() {
        match (quote, c) {
            (Some('\''), '\'') | (Some('"'), '"') => quote = None,
            (Some('\''), c) => out.push(c),
            (None, '\'' | '"') => quote = Some(c),
            (_, '$') => {
                let len = variable_len(&word[i..])?;
                let token = &word[i..i + len];
                out.push_str(&expand_in_stage(doc, stage, index, token, arg_defaults)?);
                while chars.peek().is_some_and(|(j, _)| *j < i + len) {
                    chars.next();
                }
            }
            (q, c) if c == escape => {
                let (_, next) = chars.next()?;
                if q == Some('"') && !matches!(next, '"' | '$') && next != escape {
                    out.push(c);
                }
                out.push(next);
            }
            (None, c) if c.is_whitespace() => return None,
            (_, c) => out.push(c),
        }
    }
    quote.is_none().then_some(out)
}

/// The length of the variable reference at the start of `text` (`$NAME` or `${...}`).
fn variable_len(text: &str) -> Option<usize> {
    let rest = text.strip_prefix('$')?;
    if rest.starts_with('{') {
        return rest.find('}').map(|p| p + 2);
    }
    let n = rest
        .bytes()
        .take_while(|b| *b == b'_' || b.is_ascii_alphanumeric())
        .count();
    (n > 0).then_some(n + 1)
}

/// Joins `path` to the absolute directory `base` (an absolute `path` wins) and normalises.
pub fn join(base: &str, path: &str) -> String {
    if path.starts_with('/') {
        normalize(path)
    } else {
        normalize(&format!("{base}/{path}"))
    }
}

/// Folds `.`, `..` and repeated slashes of an absolute path; keeps no trailing slash (but `/`).
pub fn normalize(path: &str) -> String {
    // Most paths are already normal: `/app`, `/usr/src/app`.
    let already = path.starts_with('/')
        && (path.len() == 1 || !path.ends_with('/'))
        && !path.contains("//")
        && path.split('/').all(|p| p != "." && p != "..");
    if already {
        return path.to_string();
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

/// True when `path` is `dir` or inside it (both absolute and normalised).
pub fn is_within(path: &str, dir: &str) -> bool {
    dir == "/" || path == dir || path.starts_with(&format!("{dir}/"))
}

/// COPY or ADD from the build context (no `--from`).
pub fn copies_from_context(ins: &Instruction) -> bool {
    matches!(ins.kind, Kind::Copy | Kind::Add) && ins.flag("from").is_none()
}

/// The sources of a COPY/ADD (every word but the last).
pub fn sources(ins: &Instruction) -> &[crate::syntax::Word] {
    match ins.words.split_last() {
        Some((_, srcs)) => srcs,
        None => &[],
    }
}

/// The destination word of a COPY/ADD.
pub fn destination(ins: &Instruction) -> Option<&crate::syntax::Word> {
    if matches!(ins.kind, Kind::Copy | Kind::Add) {
        ins.words.last()
    } else {
        None
    }
}

/// A COPY/ADD of the whole build context: a source `.` or `./` (no `--from`).
pub fn is_broad_copy(ins: &Instruction) -> bool {
    copies_from_context(ins)
        && ins.heredocs.is_empty()
        && sources(ins)
            .iter()
            .any(|s| matches!(s.value.as_str(), "." | "./"))
}

/// The absolute destination of a COPY/ADD at `index`, when the working directory is known (or
/// the destination is absolute): quotes removed and variables expanded from literal ENVs, like
/// [`workdir_at`]; `None` when it needs an ARG default (see [`destination_resolution`]).
pub fn resolved_destination(doc: &Document, stage: &Stage, index: usize) -> Option<String> {
    let r = destination_resolution(doc, stage, index)?;
    r.arg_defaults.is_empty().then_some(r.value)
}

/// [`resolved_destination`], also resolving variables from ARG defaults, and saying so.
pub fn destination_resolution(
    doc: &Document,
    stage: &Stage,
    index: usize,
) -> Option<Resolution<String>> {
    let ins = &doc.instructions()[index];
    let mut arg_defaults = Vec::new();
    let dest = expand_word(
        doc,
        stage,
        index,
        &destination(ins)?.value,
        &mut arg_defaults,
    )?;
    if dest.is_empty() {
        return None;
    }
    let value = if dest.starts_with('/') {
        normalize(&dest)
    } else {
        let wd = workdir_resolution(doc, stage, index);
        for n in wd.arg_defaults {
            if !arg_defaults.contains(&n) {
                arg_defaults.push(n);
            }
        }
        join(wd.value.known()?, &dest)
    };
    Some(Resolution {
        value,
        arg_defaults,
    })
}

/// The simple commands of a RUN, or `None` when restage cannot read it: a here-document, or
/// shell syntax the reader does not model. Exec form is one command.
pub fn run_commands(doc: &Document, ins: &Instruction) -> Option<Vec<SimpleCommand>> {
    if ins.kind != Kind::Run || !ins.heredocs.is_empty() {
        return None;
    }
    match &ins.form {
        Form::Shell { span } => shell::split(doc.slice(span), span.start, doc.escape()),
        Form::Exec { span, words } => Some(vec![SimpleCommand {
            span: span.clone(),
            words: words.iter().map(|w| w.value.clone()).collect(),
            separator: shell::Separator::Start,
            expands: false,
        }]),
        Form::None => None,
    }
}

/// Names of the variables `text` references as `$NAME` or `${NAME...}`.
pub fn variable_refs(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'$' {
            let braced = bytes.get(i + 1) == Some(&b'{');
            let start = if braced { i + 2 } else { i + 1 };
            let mut end = start;
            while end < bytes.len() && (bytes[end] == b'_' || bytes[end].is_ascii_alphanumeric()) {
                end += 1;
            }
            if end > start {
                let name = text[start..end].to_string();
                if !out.contains(&name) {
                    out.push(name);
                }
            }
            i = end.max(i + 1);
        } else {
            i += 1;
        }
    }
    out
}

/// The names an ARG instruction declares (`ARG A=1 B` declares A and B).
pub fn arg_names(ins: &Instruction) -> Vec<String> {
    ins.words
        .first()
        .map(|w| {
            w.value
                .split_whitespace()
                .map(|decl| decl.split('=').next().unwrap_or(decl).to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// The names an ENV instruction sets (`ENV A=1 B=2` sets A and B; legacy `ENV A 1` sets A).
pub fn env_names(ins: &Instruction) -> Vec<String> {
    let Some(word) = ins.words.first() else {
        return Vec::new();
    };
    let text = word.value.trim();
    let first = text.split_whitespace().next().unwrap_or("");
    if !first.contains('=') {
        return vec![first.to_string()];
    }
    // `NAME=` at the start or after whitespace; a quoted value may hide one, which only adds a
    // name (the callers use the result to refuse).
    let bytes = text.as_bytes();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let at_start = i == 0 || bytes[i - 1].is_ascii_whitespace();
        if at_start && (bytes[i] == b'_' || bytes[i].is_ascii_alphabetic()) {
            let mut end = i;
            while end < bytes.len() && (bytes[end] == b'_' || bytes[end].is_ascii_alphanumeric()) {
                end += 1;
            }
            if bytes.get(end) == Some(&b'=') {
                let name = text[i..end].to_string();
                if !out.contains(&name) {
                    out.push(name);
                }
            }
            i = end.max(i + 1);
        } else {
            i += 1;
        }
    }
    out
}

/// The variable names an ENV or ARG instruction defines; empty for other instructions.
pub fn defined_names(ins: &Instruction) -> Vec<String> {
    match ins.kind {
        Kind::Env => env_names(ins),
        Kind::Arg => arg_names(ins),
        _ => Vec::new(),
    }
}

/// The `NAME=value` pairs an ENV instruction sets, quotes removed (`ENV A=1 B="x y"`); the
/// legacy form `ENV NAME value words` sets one name to the rest of the line.
pub fn env_pairs(ins: &Instruction) -> Vec<(String, String)> {
    let Some(text) = ins.words.first().map(|w| w.value.trim()) else {
        return Vec::new();
    };
    let first = text.split_whitespace().next().unwrap_or("");
    if !first.contains('=') {
        let value = text[first.len()..].trim();
        return vec![(first.to_string(), unquote(value))];
    }
    split_quoted(text)
        .into_iter()
        .filter_map(|t| {
            t.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect()
}

/// The names an ARG instruction declares with their defaults (`ARG A=1 B` -> A: 1, B: none).
pub fn arg_decls(ins: &Instruction) -> Vec<(String, Option<String>)> {
    let Some(text) = ins.words.first().map(|w| w.value.trim()) else {
        return Vec::new();
    };
    split_quoted(text)
        .into_iter()
        .map(|t| match t.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (t, None),
        })
        .collect()
}

/// Splits on blanks outside quotes and removes the quotes (`a="x y" b` -> `a=x y`, `b`).
fn split_quoted(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut in_token = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('"'), '\\') => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                in_token = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_token {
                    out.push(std::mem::take(&mut cur));
                    in_token = false;
                }
            }
            (None, c) => {
                cur.push(c);
                in_token = true;
            }
        }
    }
    if in_token {
        out.push(cur);
    }
    out
}

fn unquote(value: &str) -> String {
    split_quoted(value).join(" ")
}

/// `text` with its `$NAME`, `${NAME}`, `${NAME:-word}` and `${NAME-word}` references replaced
/// by `lookup`'s values; `None` when a variable has no known value or the syntax is other.
pub fn expand_vars(text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        let name_len = |s: &str| {
            s.bytes()
                .take_while(|b| *b == b'_' || b.is_ascii_alphanumeric())
                .count()
        };
        if let Some(inner) = after.strip_prefix('{') {
            let close = inner.find('}')?;
            let body = &inner[..close];
            let n = name_len(body);
            let (name, op) = body.split_at(n);
            if name.is_empty() {
                return None;
            }
            let value = match op {
                "" => lookup(name)?,
                _ if op.starts_with(":-") || op.starts_with('-') => {
                    let default = op.trim_start_matches(':')[1..].to_string();
                    match lookup(name) {
                        Some(v) if !(v.is_empty() && op.starts_with(':')) => v,
                        _ => default,
                    }
                }
                _ => return None,
            };
            out.push_str(&value);
            rest = &inner[close + 1..];
        } else {
            let n = name_len(after);
            if n == 0 {
                return None;
            }
            out.push_str(&lookup(&after[..n])?);
            rest = &after[n..];
        }
    }
    out.push_str(rest);
    Some(out)
}

/// An instruction's extent together with the comment lines directly above it: what moves when
/// the instruction moves.
pub fn extent_with_comments(doc: &Document, index: usize) -> Span {
    let comments = doc.leading_comments(index);
    let extent = &doc.instructions()[index].extent;
    comments.start.min(extent.start)..extent.end
}

/// `text` ending with the document's line ending.
pub fn with_newline(doc: &Document, text: &str) -> String {
    if text.ends_with('\n') {
        text.to_string()
    } else {
        format!("{text}{}", doc.style().nl())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::parse;

    #[test]
    fn workdir_resolution_of_literals() {
        let doc = parse("FROM a\nWORKDIR /app\nWORKDIR src/../lib\nRUN x\nWORKDIR $HOME\nRUN y\n")
            .unwrap();
        let st = &doc.stages()[0];
        assert_eq!(workdir_at(&doc, st, 1), Workdir::Inherited);
        assert_eq!(workdir_at(&doc, st, 3), Workdir::Known("/app/lib".into()));
        assert_eq!(workdir_at(&doc, st, 6), Workdir::Unknown);
        let rel = parse("FROM a\nWORKDIR app\nRUN x\n").unwrap();
        assert_eq!(workdir_at(&rel, &rel.stages()[0], 2), Workdir::Unknown);
    }

    #[test]
    fn quoted_workdirs_and_destinations() {
        let doc = parse(
            "FROM a\nWORKDIR \"/app\"\nCOPY . \"./src\"\nWORKDIR '/srv/app'\nCOPY x 'y/'\nWORKDIR \"/a\nRUN x\n",
        )
        .unwrap();
        let st = &doc.stages()[0];
        assert_eq!(workdir_at(&doc, st, 2), Workdir::Known("/app".into()));
        assert_eq!(
            resolved_destination(&doc, st, 2).as_deref(),
            Some("/app/src")
        );
        assert_eq!(workdir_at(&doc, st, 4), Workdir::Known("/srv/app".into()));
        assert_eq!(
            resolved_destination(&doc, st, 4).as_deref(),
            Some("/srv/app/y")
        );
        // An unterminated quote is not guessed at.
        assert_eq!(workdir_at(&doc, st, 6), Workdir::Unknown);
    }

    #[test]
    fn workdir_from_env_and_arg() {
        let doc = parse(concat!(
            "ARG BASE=/opt\n",
            "FROM a\n",
            "ENV APP_HOME=/home/app LEGACY=x\n",
            "WORKDIR $APP_HOME\n",
            "COPY . $APP_HOME\n",
            "WORKDIR ${APP_HOME}/src\n",
            "ENV NESTED=\"${APP_HOME}/lib\"\n",
            "WORKDIR $NESTED\n",
            "ARG DIR=/srv\n",
            "WORKDIR $DIR\n",
            "ARG BASE\n",
            "COPY . ${BASE}/x/\n",
            "ENV DIR=/env-wins\n",
            "WORKDIR $DIR\n",
            "ARG NODEF\n",
            "WORKDIR $NODEF\n",
            "WORKDIR $HOME\n",
            "WORKDIR '$APP_HOME'\n",
        ))
        .unwrap();
        let st = &doc.stages()[0];
        let at = |i: usize| workdir_resolution(&doc, st, i);
        assert_eq!(at(4).value, Workdir::Known("/home/app".into()));
        assert!(at(4).arg_defaults.is_empty());
        assert_eq!(
            resolved_destination(&doc, st, 4).as_deref(),
            Some("/home/app")
        );
        assert_eq!(
            workdir_at(&doc, st, 6),
            Workdir::Known("/home/app/src".into())
        );
        assert_eq!(
            workdir_at(&doc, st, 8),
            Workdir::Known("/home/app/lib".into())
        );
        // From an ARG default: resolved, but said so, and `workdir_at` does not guess.
        assert_eq!(at(10).value, Workdir::Known("/srv".into()));
        assert_eq!(at(10).arg_defaults, ["DIR"]);
        assert!(at(10).arg_reason().unwrap().contains("`DIR`"));
        assert_eq!(workdir_at(&doc, st, 10), Workdir::Unknown);
        // A global ARG re-declared in the stage brings its default.
        let dest = destination_resolution(&doc, st, 11).unwrap();
        assert_eq!(dest.value, "/opt/x");
        assert_eq!(dest.arg_defaults, ["BASE"]);
        assert_eq!(resolved_destination(&doc, st, 11), None);
        // ENV wins over ARG.
        assert_eq!(at(14).value, Workdir::Known("/env-wins".into()));
        assert!(at(14).arg_defaults.is_empty());
        // An ARG default that uses an ARG above it.
        let chained =
            parse("FROM a\nARG P=shop\nARG DIR=/var/www/${P}\nWORKDIR $DIR\nRUN y\n").unwrap();
        let r = workdir_resolution(&chained, &chained.stages()[0], 4);
        assert_eq!(r.value, Workdir::Known("/var/www/shop".into()));
        assert_eq!(r.arg_defaults, ["DIR", "P"]);
        // No value in the file: unknown. Single quotes keep `$` literal.
        assert_eq!(at(16).value, Workdir::Unknown);
        assert_eq!(at(17).value, Workdir::Unknown);
        let quoted = parse("FROM a\nENV X=/x\nWORKDIR /r\nWORKDIR '$X'\nRUN y\n").unwrap();
        assert_eq!(
            workdir_at(&quoted, &quoted.stages()[0], 4),
            Workdir::Known("/r/$X".into())
        );
    }

    #[test]
    fn global_arg_is_not_visible_without_redeclaring() {
        let doc = parse("ARG DIR=/x\nFROM a\nWORKDIR $DIR\nRUN y\n").unwrap();
        assert_eq!(
            workdir_resolution(&doc, &doc.stages()[0], 3).value,
            Workdir::Unknown
        );
    }

    #[test]
    fn copies_and_destinations() {
        let doc = parse("FROM a\nWORKDIR /srv\nCOPY --chown=1:1 ./ ./app/\nCOPY --from=b . /x\n")
            .unwrap();
        let st = &doc.stages()[0];
        assert!(is_broad_copy(&doc.instructions()[2]));
        assert!(!is_broad_copy(&doc.instructions()[3]));
        assert_eq!(
            resolved_destination(&doc, st, 2).as_deref(),
            Some("/srv/app")
        );
    }

    #[test]
    fn env_arg_and_expansion() {
        let doc = parse("FROM a\nENV A=1 B=\"x y\" C='z'\nENV LEGACY some words\nARG V=\"20\" W\n")
            .unwrap();
        let ins = doc.instructions();
        assert_eq!(
            env_pairs(&ins[1]),
            [
                ("A".into(), "1".into()),
                ("B".into(), "x y".into()),
                ("C".into(), "z".into())
            ]
        );
        assert_eq!(env_pairs(&ins[2]), [("LEGACY".into(), "some words".into())]);
        assert_eq!(
            arg_decls(&ins[3]),
            [("V".into(), Some("20".into())), ("W".into(), None)]
        );
        let lookup = |n: &str| (n == "V").then(|| "20".to_string());
        assert_eq!(
            expand_vars("node:${V}-slim", &lookup).as_deref(),
            Some("node:20-slim")
        );
        assert_eq!(expand_vars("$V/x", &lookup).as_deref(), Some("20/x"));
        assert_eq!(expand_vars("${W:-3000}", &lookup).as_deref(), Some("3000"));
        assert_eq!(expand_vars("$W", &lookup), None);
        assert_eq!(expand_vars("${V/a/b}", &lookup), None);
        assert_eq!(expand_vars("plain", &lookup).as_deref(), Some("plain"));
    }

    #[test]
    fn variables_and_args() {
        assert_eq!(variable_refs("A=$B ${C:-x} $$ $1x"), ["B", "C", "1x"]);
        let doc =
            parse("FROM a\nARG X=1 Y\nENV A=1 B=\"x C=2\" D=$A\nENV LEGACY some value\n").unwrap();
        assert_eq!(arg_names(&doc.instructions()[1]), ["X", "Y"]);
        // `C=` inside a quoted value counts too: callers use the names to refuse.
        assert_eq!(env_names(&doc.instructions()[2]), ["A", "B", "C", "D"]);
        assert_eq!(defined_names(&doc.instructions()[3]), ["LEGACY"]);
        assert!(is_within("/app/dist", "/app") && !is_within("/application", "/app"));
        assert_eq!(normalize("/a/./b//c/.."), "/a/b");
    }
}
