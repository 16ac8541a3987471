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
    // Within the document's own stage (after its FROM, up to its end) an index names one stage,
    // so the answer is kept per index: every COPY destination of every transform asks.
    let own = own_stage(doc, stage, index);
    match doc.workdir_memo(index) {
        Some(memo) if own => memo
            .get_or_init(|| resolve_workdir(doc, stage, index, None))
            .clone(),
        _ => resolve_workdir(doc, stage, index, None),
    }
}

/// Whether `stage` is one of `doc`'s own stages (not a copy) and `index` is after its FROM, up
/// to its end: then `index` names that stage, and answers about it can be kept per index.
fn own_stage(doc: &Document, stage: &Stage, index: usize) -> bool {
    doc.stages()
        .get(stage.index)
        .is_some_and(|s| std::ptr::eq(s, stage))
        && stage.instructions.start < index
        && index <= stage.instructions.end
}

/// [`workdir_resolution`] for a stage whose base image's working directory is `inherited`
/// (`/` for an image that sets none): a relative WORKDIR before any absolute one is joined to
/// it, as BuildKit does, instead of being unknown.
pub fn workdir_resolution_under(
    doc: &Document,
    stage: &Stage,
    index: usize,
    inherited: Option<&str>,
) -> Resolution<Workdir> {
    // The two differ only where a relative WORKDIR comes while the directory is still the
    // image's: without `inherited` it is unknown from there until an absolute one, with it
    // known. So an answer without `inherited` (kept per index) that is not unknown is the same
    // answer, value and ARG defaults alike.
    let plain = workdir_resolution(doc, stage, index);
    match inherited {
        Some(_) if matches!(plain.value, Workdir::Unknown) => {
            resolve_workdir(doc, stage, index, inherited)
        }
        _ => plain,
    }
}

fn resolve_workdir(
    doc: &Document,
    stage: &Stage,
    index: usize,
    inherited: Option<&str>,
) -> Resolution<Workdir> {
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
        // `WORKDIR .` (or `./`) stays where it is, whatever that is.
        if path.split('/').all(|seg| seg == "." || seg.is_empty())
            && !path.starts_with('/')
            && !path.is_empty()
        {
            continue;
        }
        wd = if path.starts_with('/') {
            Workdir::Known(normalize(&path))
        } else if path.is_empty() {
            Workdir::Unknown
        } else {
            match (&wd, inherited) {
                (Workdir::Known(base), _) => Workdir::Known(join(base, &path)),
                (Workdir::Inherited, Some(base)) => Workdir::Known(join(base, &path)),
                // Relative to an unknown directory, or to the image's when it is not known.
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

/// The image reference a FROM writes as `written`, with the defaults of global ARGs (before the
/// first FROM) substituted: the reference and whether a variable was expanded, or `None` when a
/// variable has no default restage can read.
pub fn expand_image(doc: &Document, written: &str) -> Option<(String, bool)> {
    if !written.contains('$') {
        return Some((written.to_string(), false));
    }
    let lookup = |name: &str| global_arg(doc, name).and_then(|d| d.value);
    expand_vars(written, &lookup)
        .filter(|r| !r.is_empty())
        .map(|r| (r, true))
}

/// The stage at the root of the chain stage `stage` is built FROM through the file's own
/// stages: the one whose FROM names an image outside the file (`stage` itself when it does).
/// `None` for a chain that does not lead back to an earlier stage each step.
pub fn root_stage(doc: &Document, stage: usize) -> Option<usize> {
    let mut current = stage;
    let mut seen = 0;
    while let Some(parent) = doc.stage_named(&doc.stages()[current].image.value) {
        if parent.index >= current || seen > doc.stages().len() {
            return None;
        }
        current = parent.index;
        seen += 1;
    }
    Some(current)
}

/// The value of variable `name` at instruction `index` of `stage`, by Docker's rules: the last
/// ENV of the stage before it that sets the name (ENV wins over ARG), else the last ARG of the
/// stage that declares it, with its default or the default of the global ARG (before the first
/// FROM) of that name, else the ENV the base image sets when the knowledge files know it
/// (`GOPATH` of the golang images). `None` when nothing gives it a value (an ARG without a
/// default, an image ENV restage does not know) or the value uses shell syntax restage does not
/// read.
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
        if let Some(d) = declared_value(doc, ins, name) {
            let v = d.value.unwrap_or_default();
            if !v.contains('$') {
                return Some(Resolution {
                    value: v,
                    arg_defaults: Vec::new(),
                });
            }
            // A `$` that is single-quoted or escaped is literal; restage reads only the plain case.
            if d.literal_dollar {
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
        if let Some(d) = declared_value(doc, ins, name) {
            let (v, literal_dollar) = match d.value {
                Some(v) => (v, d.literal_dollar),
                None => {
                    let g = global_arg(doc, name)?;
                    (g.value?, g.literal_dollar)
                }
            };
            if literal_dollar && v.contains('$') {
                return None;
            }
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
    image_env(doc, stage, name).map(|value| Resolution {
        value,
        arg_defaults: Vec::new(),
    })
}

/// The ENV `name` the stage's base image sets, from the knowledge files; `None` for a stage
/// built on another stage, an image reference with a variable, or an unknown image or name.
fn image_env(doc: &Document, stage: &Stage, name: &str) -> Option<String> {
    let image = stage.image.value.as_str();
    if image.contains('$') {
        return None;
    }
    // `FROM build` names an earlier stage, not an image.
    let earlier_stage = doc.stages()[..stage.index].iter().any(|s| {
        s.alias
            .as_ref()
            .is_some_and(|a| a.value.eq_ignore_ascii_case(image))
    });
    if earlier_stage {
        return None;
    }
    let r = crate::knowledge::ImageRef::parse(image)?;
    crate::knowledge::Knowledge::builtin_image_env(&r, name)
}

/// The last declaration of `name` by a global ARG (before the first FROM).
pub fn global_arg(doc: &Document, name: &str) -> Option<Declaration> {
    doc.instructions()
        .iter()
        .filter(|g| g.stage.is_none() && g.kind == Kind::Arg)
        .rev()
        .find_map(|g| declared(doc, g).iter().rfind(|d| d.name == name).cloned())
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
        return normalize(path);
    }
    if !is_normal(base) {
        return normalize(&format!("{base}/{path}"));
    }
    // `base` is already normal: fold `path`'s segments onto it, as `normalize` would (a `..`
    // drops the last segment, none left: stays at `/`), without building the joined text.
    let mut out = String::with_capacity(base.len() + path.len() + 1);
    if base != "/" {
        out.push_str(base);
    }
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if let Some(i) = out.rfind('/') {
                    out.truncate(i);
                }
            }
            p => {
                out.push('/');
                out.push_str(p);
            }
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

/// Folds `.`, `..` and repeated slashes of an absolute path; keeps no trailing slash (but `/`).
pub fn normalize(path: &str) -> String {
    // Most paths are already normal: `/app`, `/usr/src/app`.
    if is_normal(path) {
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
    let mut out = String::with_capacity(path.len() + 1);
    for p in parts {
        out.push('/');
        out.push_str(p);
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

/// True for `/` and for an absolute path whose every segment after the leading `/` is neither
/// empty (`//`, a trailing `/`) nor `.` nor `..` (the build context's own check): callers ask
/// about every COPY destination and WORKDIR of a file, in every transform.
fn is_normal(path: &str) -> bool {
    crate::context::is_lexically_normal(path.as_bytes())
}

/// True when `path` is `dir` or inside it (both absolute and normalised).
pub fn is_within(path: &str, dir: &str) -> bool {
    // Without allocating: callers compare every pair of a context's root entries.
    dir == "/"
        || path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
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
    with_destination(doc, stage, index, |r| {
        let r = r?;
        r.arg_defaults.is_empty().then(|| r.value.clone())
    })
}

/// [`resolved_destination`], also resolving variables from ARG defaults, and saying so.
pub fn destination_resolution(
    doc: &Document,
    stage: &Stage,
    index: usize,
) -> Option<Resolution<String>> {
    with_destination(doc, stage, index, |r| r.cloned())
}

/// Reads the destination resolution of instruction `index`: from the document's memo when
/// `stage` is its own (each COPY's destination is asked for by several transforms), else
/// resolved for this call.
fn with_destination<T>(
    doc: &Document,
    stage: &Stage,
    index: usize,
    read: impl FnOnce(Option<&Resolution<String>>) -> T,
) -> T {
    match doc.destination_memo(index) {
        Some(memo) if own_stage(doc, stage, index) => read(
            memo.get_or_init(|| resolve_destination(doc, stage, index))
                .as_ref(),
        ),
        _ => read(resolve_destination(doc, stage, index).as_ref()),
    }
}

fn resolve_destination(doc: &Document, stage: &Stage, index: usize) -> Option<Resolution<String>> {
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
    commands(doc, ins).map(std::borrow::Cow::into_owned)
}

/// [`run_commands`] without the copy: each RUN of a document is split once, however many
/// transforms ask.
pub fn commands<'a>(
    doc: &'a Document,
    ins: &Instruction,
) -> Option<std::borrow::Cow<'a, [SimpleCommand]>> {
    match doc.commands_memo(ins) {
        Some(memo) => memo
            .get_or_init(|| split_run(doc, ins))
            .as_deref()
            .map(std::borrow::Cow::Borrowed),
        None => split_run(doc, ins).map(std::borrow::Cow::Owned),
    }
}

fn split_run(doc: &Document, ins: &Instruction) -> Option<Vec<SimpleCommand>> {
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

/// One name an ENV or ARG instruction defines, with its value as BuildKit reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declaration {
    pub name: String,
    /// Quotes removed and escapes resolved, variables kept verbatim (`$A`, `${A:-x}`); `None`
    /// for an ARG without a default.
    pub value: Option<String>,
    /// The value holds a `$` that is not an expansion (single-quoted or escaped): restage does
    /// not expand it and does not read it as a variable either.
    pub literal_dollar: bool,
}

/// The names an ENV or ARG instruction defines, with their values, read the way BuildKit reads
/// them: the arguments (line continuations already joined) split into words on blanks outside
/// quotes and escapes; each word is `NAME=value` (ENV) or `NAME[=value]` (ARG). The legacy
/// `ENV NAME value words` sets one name to the rest of the line, blanks included. Values have
/// their quotes removed and escapes (the file's escape character) resolved. Empty for other
/// instructions.
pub fn declarations(doc: &Document, ins: &Instruction) -> Vec<Declaration> {
    declared(doc, ins).into_owned()
}

/// [`declarations`], borrowed from the document's memo when `ins` is one of its instructions:
/// read once per document however many lookups scan the instruction.
pub fn declared<'a>(doc: &'a Document, ins: &Instruction) -> std::borrow::Cow<'a, [Declaration]> {
    if !matches!(ins.kind, Kind::Env | Kind::Arg) {
        return std::borrow::Cow::Borrowed(&[]);
    }
    match doc.declarations_memo(ins) {
        Some(memo) => std::borrow::Cow::Borrowed(memo.get_or_init(|| read_declarations(doc, ins))),
        None => std::borrow::Cow::Owned(read_declarations(doc, ins)),
    }
}

fn read_declarations(doc: &Document, ins: &Instruction) -> Vec<Declaration> {
    if !matches!(ins.kind, Kind::Env | Kind::Arg) {
        return Vec::new();
    }
    let Some(text) = ins.words.first().map(|w| w.value.trim()) else {
        return Vec::new();
    };
    let escape = doc.escape();
    let words = raw_words(text, escape);
    let Some(first) = words.first() else {
        return Vec::new();
    };
    if ins.kind == Kind::Env && !first.1.contains('=') {
        let rest = text[first.0.end..].trim_start();
        let (value, literal_dollar) = unquote_value(rest, escape);
        return vec![Declaration {
            name: first.1.to_string(),
            value: Some(value),
            literal_dollar,
        }];
    }
    words
        .into_iter()
        .filter_map(|(_, word)| match word.split_once('=') {
            Some((name, raw)) => {
                let (value, literal_dollar) = unquote_value(raw, escape);
                Some(Declaration {
                    name: name.to_string(),
                    value: Some(value),
                    literal_dollar,
                })
            }
            // BuildKit rejects an ENV word without `=`; an ARG declares the name.
            None if ins.kind == Kind::Arg => Some(Declaration {
                name: word.to_string(),
                value: None,
                literal_dollar: false,
            }),
            None => None,
        })
        .collect()
}

/// The variable names an ENV or ARG instruction defines; empty for other instructions.
pub fn defined_names(doc: &Document, ins: &Instruction) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for d in declared(doc, ins).iter() {
        if !out.contains(&d.name) {
            out.push(d.name.clone());
        }
    }
    out
}

/// The value the last declaration of `name` in `ins` gives, when it gives one.
fn declared_value(doc: &Document, ins: &Instruction, name: &str) -> Option<Declaration> {
    declared(doc, ins).iter().rfind(|d| d.name == name).cloned()
}

/// Splits on blanks outside quotes and escapes, keeping each word's raw text and its place.
fn raw_words(text: &str, escape: char) -> Vec<(std::ops::Range<usize>, &str)> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    let mut quote: Option<char> = None;
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match (quote, c) {
            (Some('\''), '\'') => quote = None,
            (Some('\''), _) => {}
            (_, c) if c == escape => {
                start.get_or_insert(i);
                chars.next();
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, c) if c.is_whitespace() => {
                if let Some(s) = start.take() {
                    out.push((s..i, &text[s..i]));
                }
            }
            (None, c) => {
                if c == '"' || c == '\'' {
                    quote = Some(c);
                }
                start.get_or_insert(i);
            }
        }
    }
    if let Some(s) = start {
        out.push((s..text.len(), &text[s..]));
    }
    out
}

/// A value as BuildKit's word lexer reads it: single quotes literal, double quotes removed
/// (an escape inside them only escapes `"`, `$` and itself), an escape outside quotes taken
/// literally; variables kept verbatim. Also says whether a `$` in it is literal.
fn unquote_value(raw: &str, escape: char) -> (String, bool) {
    // Most values have no quote and no escape: they are their own text.
    if !raw.contains(['"', '\'', escape]) {
        return (raw.to_string(), false);
    }
    // Every character pushed is one of `raw`'s.
    let mut out = String::with_capacity(raw.len());
    let mut literal_dollar = false;
    let mut quote: Option<char> = None;
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some('\''), '\'') => quote = None,
            (Some('\''), c) => {
                literal_dollar |= c == '$';
                out.push(c);
            }
            (Some('"'), '"') => quote = None,
            (None, '"' | '\'') => quote = Some(c),
            (q, c) if c == escape => {
                let Some(next) = chars.next() else {
                    out.push(c);
                    break;
                };
                if q == Some('"') && !matches!(next, '"' | '$') && next != escape {
                    out.push(c);
                }
                literal_dollar |= next == '$';
                out.push(next);
            }
            (_, c) => out.push(c),
        }
    }
    (out, literal_dollar)
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

/// The 1-based line instruction `index` starts on (its keyword), in the file as read.
pub fn line_of(doc: &Document, index: usize) -> usize {
    doc.line_col(doc.instructions()[index].extent.start).0
}

/// How a message names the line of instruction `index` (see [`Place`]).
pub fn place_of(doc: &Document, index: usize) -> Place {
    place_at(doc, doc.instructions()[index].extent.start)
}

/// [`place_of`] the instruction that starts at `start`.
pub fn place_at(doc: &Document, start: usize) -> Place {
    let (line, column) = doc.line_col(start);
    let written = match doc.written_at(start) {
        None => Written::No,
        Some(true) => Written::AtEnd,
        Some(false) if column == 1 => Written::Above,
        Some(false) => Written::Within,
    };
    Place { line, written }
}

/// Where an instruction is, for a message: its line in the file as read, or, for one restage
/// wrote (another transform's work, met by a later one), where restage writes it. Shown as a
/// noun phrase (`line 9`, `the line restage adds above line 9`), so "the COPY at {place}" and
/// "({place})" read right either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    line: usize,
    written: Written,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Written {
    No,
    Above,
    AtEnd,
    Within,
}

impl Place {
    /// Appends the place to `s`, without the formatting machinery (several transforms name
    /// lines in texts built for every file).
    pub fn push_to(self, s: &mut String) {
        let mut line = itoa::Buffer::new();
        let line = line.format(self.line);
        match self.written {
            Written::No => {
                s.push_str("line ");
                s.push_str(line);
            }
            Written::Above => {
                s.push_str("the line restage adds above line ");
                s.push_str(line);
            }
            Written::AtEnd => s.push_str("the line restage adds at the end of the file"),
            Written::Within => {
                s.push_str("line ");
                s.push_str(line);
                s.push_str(", which restage rewrites");
            }
        }
    }
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut s = String::with_capacity(48);
        self.push_to(&mut s);
        f.write_str(&s)
    }
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

    /// The memo answers what resolving answers, for every stage and index (asked twice, and
    /// for a copy of a stage, which is not memoized).
    #[test]
    fn memoized_workdirs_are_the_resolved_ones() {
        let doc = parse(concat!(
            "ARG BASE=/opt\n",
            "FROM a AS one\n",
            "WORKDIR /app\n",
            "COPY . .\n",
            "WORKDIR src\n",
            "FROM b\n",
            "ARG BASE\n",
            "WORKDIR $BASE/x\n",
            "COPY a b/\n",
            "WORKDIR /w\n",
        ))
        .unwrap();
        let n = doc.instructions().len();
        for stage in doc.stages() {
            let copy = stage.clone();
            for index in 0..=n {
                let want = resolve_workdir(&doc, stage, index, None);
                assert_eq!(workdir_resolution(&doc, stage, index), want, "{index}");
                assert_eq!(workdir_resolution(&doc, stage, index), want, "{index}");
                assert_eq!(workdir_resolution(&doc, &copy, index), want, "{index}");
            }
        }
    }

    /// Under the image's directory, the answer (taken from the memo when that one is not
    /// unknown) is what resolving under it answers, at every index of every stage: relative
    /// WORKDIRs before and after absolute ones, ARG defaults, an unresolvable variable, `..`.
    #[test]
    fn workdirs_under_the_images_own_are_the_resolved_ones() {
        let doc = parse(concat!(
            "ARG BASE=/opt\n",
            "FROM a AS one\n",
            "WORKDIR rel\n",
            "WORKDIR more\n",
            "WORKDIR /abs\n",
            "WORKDIR sub\n",
            "FROM b\n",
            "ARG BASE\n",
            "WORKDIR $BASE/x\n",
            "WORKDIR y\n",
            "FROM c\n",
            "WORKDIR $NOPE\n",
            "WORKDIR z\n",
            "WORKDIR /w/../v\n",
            "FROM d\n",
            "COPY . .\n",
        ))
        .unwrap();
        let n = doc.instructions().len();
        let mut differ = 0;
        for stage in doc.stages() {
            for index in 0..=n {
                for base in ["/", "/go"] {
                    let want = resolve_workdir(&doc, stage, index, Some(base));
                    differ += usize::from(want != resolve_workdir(&doc, stage, index, None));
                    let got = workdir_resolution_under(&doc, stage, index, Some(base));
                    assert_eq!(got, want, "{index} under {base}");
                }
            }
        }
        // The image's directory changes some answers: both paths are taken.
        assert!(differ > 0);
    }

    /// The destination memo answers what resolving answers, for every stage and index (asked
    /// twice, and for a copy of a stage, which is not memoized).
    #[test]
    fn memoized_destinations_are_the_resolved_ones() {
        let doc = parse(concat!(
            "ARG BASE=/opt\n",
            "FROM a AS one\n",
            "WORKDIR /app\n",
            "COPY . .\n",
            "COPY x /abs/./y/\n",
            "WORKDIR src\n",
            "ADD z sub/\n",
            "FROM b\n",
            "ARG BASE\n",
            "COPY a $BASE/b/\n",
            "WORKDIR $BASE/x\n",
            "COPY a b/\n",
            "COPY --from=one /app .\n",
        ))
        .unwrap();
        let n = doc.instructions().len();
        let mut resolved = 0;
        for stage in doc.stages() {
            let copy = stage.clone();
            for index in 0..n {
                let want = resolve_destination(&doc, stage, index);
                let plain = want
                    .as_ref()
                    .filter(|r| r.arg_defaults.is_empty())
                    .map(|r| r.value.clone());
                resolved += usize::from(want.is_some());
                for s in [stage, stage, &copy] {
                    assert_eq!(destination_resolution(&doc, s, index), want, "{index}");
                    assert_eq!(resolved_destination(&doc, s, index), plain, "{index}");
                }
            }
        }
        assert_eq!(resolved, 7);
        let d = &doc;
        let own: Vec<_> = d
            .stages()
            .iter()
            .flat_map(|s| {
                (s.from + 1..s.instructions.end).map(move |i| (i, resolved_destination(d, s, i)))
            })
            .collect();
        let some = |p: &str| Some(p.to_string());
        assert_eq!(
            own,
            [
                (2, None),
                (3, some("/app")),
                (4, some("/abs/y")),
                (5, None),
                (6, some("/app/src/sub")),
                (8, None),
                // From the default of `ARG BASE`: only `destination_resolution` answers.
                (9, None),
                (10, None),
                (11, None),
                (12, None),
            ]
        );
        let guess = destination_resolution(&doc, &doc.stages()[1], 9).expect("from the default");
        assert_eq!(
            (guess.value.as_str(), guess.arg_defaults),
            ("/opt/b", vec!["BASE".to_string()])
        );
    }

    #[test]
    fn join_folds_like_normalizing_the_joined_text() {
        let bases = [
            "/",
            "/app",
            "/usr/src/app",
            "/a/b/",
            "/a/./b",
            "/a/../b",
            "//x",
        ];
        let paths = [
            ".",
            "./",
            "src",
            "src/",
            "./src/../lib",
            "..",
            "../..",
            "../../..",
            "a//b",
            "a/./b/..",
            "",
            "...",
            "..a/b",
            "x/../../y",
        ];
        for base in bases {
            for path in paths {
                assert_eq!(
                    join(base, path),
                    normalize(&format!("{base}/{path}")),
                    "join({base:?}, {path:?})"
                );
            }
        }
        assert_eq!(join("/app", "."), "/app");
        assert_eq!(join("/app", "../.."), "/");
        assert_eq!(join("/usr/src/app", "./dist/"), "/usr/src/app/dist");
    }

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
    fn relative_workdir_under_the_images_own() {
        let doc =
            parse("FROM python:3.12\nWORKDIR srv/app\nWORKDIR ../web\nCOPY . static/\n").unwrap();
        let st = &doc.stages()[0];
        // Without the image's directory, a relative WORKDIR is not known.
        assert_eq!(workdir_at(&doc, st, 3), Workdir::Unknown);
        let under = |i: usize, base: &str| workdir_resolution_under(&doc, st, i, Some(base)).value;
        assert_eq!(under(2, "/"), Workdir::Known("/srv/app".into()));
        assert_eq!(under(3, "/"), Workdir::Known("/srv/web".into()));
        assert_eq!(under(3, "/go"), Workdir::Known("/go/srv/web".into()));
    }

    #[test]
    fn workdir_from_the_base_images_env() {
        // golang images set GOPATH=/go (images.toml); the file's own ENV or ARG wins.
        let doc = parse(concat!(
            "FROM golang:1.22 AS golang\n",
            "WORKDIR $GOPATH/src/example.com/app\n",
            "COPY . ${GOPATH}/src/example.com/tool/\n",
            "ENV GOPATH=/work\n",
            "WORKDIR $GOPATH/src\n",
            "FROM golang\n",
            "WORKDIR $GOPATH/src\n",
            "FROM golang:1.22\n",
            "ARG GOPATH\n",
            "WORKDIR $GOPATH/src\n",
            "FROM python:3.12\n",
            "WORKDIR $GOPATH/src\n",
        ))
        .unwrap();
        let stages = doc.stages();
        let st = &stages[0];
        let r = workdir_resolution(&doc, st, 2);
        assert_eq!(r.value, Workdir::Known("/go/src/example.com/app".into()));
        assert!(
            r.arg_defaults.is_empty(),
            "an image ENV is no build argument"
        );
        assert_eq!(
            resolved_destination(&doc, st, 2).as_deref(),
            Some("/go/src/example.com/tool")
        );
        assert_eq!(workdir_at(&doc, st, 5), Workdir::Known("/work/src".into()));
        // `FROM golang` names the stage above, not the image.
        assert_eq!(workdir_at(&doc, &stages[1], 7), Workdir::Unknown);
        // An ARG without a default: a build argument restage cannot read.
        assert_eq!(workdir_at(&doc, &stages[2], 11), Workdir::Unknown);
        // An image whose ENV the knowledge files do not name.
        assert_eq!(workdir_at(&doc, &stages[3], 12), Workdir::Unknown);
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

    /// The declarations of the single instruction after `FROM a` in `text`.
    fn decls(text: &str) -> Vec<(String, Option<String>)> {
        let doc = parse(&format!("FROM a\n{text}\n")).unwrap();
        declarations(&doc, &doc.instructions()[1])
            .into_iter()
            .map(|d| (d.name, d.value))
            .collect()
    }

    fn pairs(list: &[(&str, Option<&str>)]) -> Vec<(String, Option<String>)> {
        list.iter()
            .map(|(n, v)| (n.to_string(), v.map(str::to_string)))
            .collect()
    }

    #[test]
    fn env_name_value_pairs() {
        assert_eq!(
            decls("ENV A=1 B=\"x y\" C='z'"),
            pairs(&[("A", Some("1")), ("B", Some("x y")), ("C", Some("z"))])
        );
        // A quoted value may hold `NAME=`: it is part of the value.
        assert_eq!(
            decls("ENV A=1 B=\"x C=2\" D=$A"),
            pairs(&[("A", Some("1")), ("B", Some("x C=2")), ("D", Some("$A"))])
        );
        // The same name twice: both, in order (the last wins for the reader).
        assert_eq!(
            decls("ENV A=1 A=2"),
            pairs(&[("A", Some("1")), ("A", Some("2"))])
        );
        assert_eq!(decls("ENV EMPTY="), pairs(&[("EMPTY", Some(""))]));
    }

    #[test]
    fn legacy_env_sets_one_name_to_the_rest() {
        assert_eq!(
            decls("ENV LEGACY some  words"),
            pairs(&[("LEGACY", Some("some  words"))])
        );
        assert_eq!(
            decls("ENV MSG \"hello world\" x=1"),
            pairs(&[("MSG", Some("hello world x=1"))])
        );
    }

    #[test]
    fn quoted_arg_defaults() {
        // Not a second name `y"`.
        assert_eq!(decls("ARG A=\"x y\""), pairs(&[("A", Some("x y"))]));
        assert_eq!(
            decls("ARG V=\"20\" W B='a b c'"),
            pairs(&[("V", Some("20")), ("W", None), ("B", Some("a b c"))])
        );
        // A name inside a quoted default is not declared.
        assert_eq!(
            decls("ARG LIST=\"a PORT b\""),
            pairs(&[("LIST", Some("a PORT b"))])
        );
    }

    #[test]
    fn escapes_in_values() {
        // An escaped blank joins the word; an escaped quote is a quote.
        assert_eq!(
            decls("ENV A=x\\ y B=\\\"q"),
            pairs(&[("A", Some("x y")), ("B", Some("\"q"))])
        );
        // Inside double quotes only `"`, `$` and the escape are escaped.
        assert_eq!(
            decls("ENV P=\"C:\\dir \\\"x\\\"\""),
            pairs(&[("P", Some("C:\\dir \"x\""))])
        );
        // Under `# escape=`, the backtick escapes and a backslash is literal.
        let doc = parse("# escape=`\nFROM a\nENV W=C:\\app` x V=`\"\n").unwrap();
        let d: Vec<_> = declarations(&doc, &doc.instructions()[1])
            .into_iter()
            .map(|d| (d.name, d.value))
            .collect();
        assert_eq!(d, pairs(&[("W", Some("C:\\app x")), ("V", Some("\""))]));
    }

    #[test]
    fn literal_dollars_are_marked() {
        let doc = parse("FROM a\nENV A='$X' B=\\$Y C=\"$Z\" D=$W\n").unwrap();
        let lit: Vec<_> = declarations(&doc, &doc.instructions()[1])
            .into_iter()
            .map(|d| (d.name, d.literal_dollar))
            .collect();
        assert_eq!(
            lit,
            [
                ("A".to_string(), true),
                ("B".to_string(), true),
                ("C".to_string(), false),
                ("D".to_string(), false)
            ]
        );
    }

    #[test]
    fn line_continuations_join_the_declarations() {
        assert_eq!(
            decls("ENV A=1 \\\n    B=\"two words\" \\\n    C=3"),
            pairs(&[("A", Some("1")), ("B", Some("two words")), ("C", Some("3"))])
        );
        assert_eq!(
            decls("ARG X=1 \\\n  Y"),
            pairs(&[("X", Some("1")), ("Y", None)])
        );
    }

    #[test]
    fn variable_expansion() {
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
            parse("FROM a\nARG X=1 Y\nENV A=1 B=\"x C=2\" D=$A\nENV LEGACY some value\nRUN x\n")
                .unwrap();
        let ins = doc.instructions();
        assert_eq!(defined_names(&doc, &ins[1]), ["X", "Y"]);
        assert_eq!(defined_names(&doc, &ins[2]), ["A", "B", "D"]);
        assert_eq!(defined_names(&doc, &ins[3]), ["LEGACY"]);
        assert!(defined_names(&doc, &ins[4]).is_empty());
        let st = &doc.stages()[0];
        assert_eq!(variable_at(&doc, st, 4, "B").unwrap().value, "x C=2");
        // BuildKit expands an ENV's values with the variables set before that ENV.
        assert_eq!(variable_at(&doc, st, 4, "D"), None);
        assert_eq!(
            variable_at(&doc, st, 4, "LEGACY").unwrap().value,
            "some value"
        );
        assert_eq!(variable_at(&doc, st, 4, "C"), None);
        let quoted = parse("FROM a\nARG A=\"x y\"\nENV L='$A'\nRUN x\n").unwrap();
        let st = &quoted.stages()[0];
        let a = variable_at(&quoted, st, 3, "A").unwrap();
        assert_eq!(
            (a.value.as_str(), a.arg_defaults.as_slice()),
            ("x y", &["A".to_string()][..])
        );
        // A single-quoted `$` is not read as a variable.
        assert_eq!(variable_at(&quoted, st, 3, "L"), None);
        assert!(is_within("/app/dist", "/app") && !is_within("/application", "/app"));
        assert_eq!(normalize("/a/./b//c/.."), "/a/b");
    }

    #[test]
    fn commands_are_split_once_per_document() {
        let doc = parse("FROM a\nRUN a && b $X\nRUN [\"c\", \"d\"]\nCMD e\n").unwrap();
        for ins in doc.instructions() {
            let first = commands(&doc, ins);
            assert!(matches!(first, None | Some(std::borrow::Cow::Borrowed(_))));
            // The memo answers again with the same commands; a copy of the instruction (not
            // the document's) is split on the spot, to the same result.
            assert_eq!(commands(&doc, ins), first);
            let copy = ins.clone();
            let fresh = commands(&doc, &copy);
            assert!(matches!(fresh, None | Some(std::borrow::Cow::Owned(_))));
            assert_eq!(fresh, first);
            assert_eq!(run_commands(&doc, ins), first.map(|c| c.into_owned()));
        }
        let words: Vec<Vec<String>> = doc
            .instructions()
            .iter()
            .filter_map(|ins| commands(&doc, ins))
            .flat_map(|c| c.iter().map(|c| c.words.clone()).collect::<Vec<_>>())
            .collect();
        assert_eq!(words, [vec!["a"], vec!["b", "$X"], vec!["c", "d"]]);
    }

    #[test]
    fn is_normal_agrees_with_the_definition() {
        let definition = |path: &str| {
            path.starts_with('/')
                && (path.len() == 1 || !path.ends_with('/'))
                && !path.contains("//")
                && path.split('/').all(|p| p != "." && p != "..")
        };
        let cases = [
            "",
            "/",
            "//",
            "/app",
            "/app/",
            "app",
            "/usr/src/app",
            "/a//b",
            "/.",
            "/..",
            "/a/.",
            "/a/../b",
            "/a/.b",
            "/a/..b",
            "/.a",
            "./a",
            "/a/b/",
            "/a/b/.",
            "/é/x",
        ];
        for path in cases {
            assert_eq!(is_normal(path), definition(path), "{path:?}");
        }
    }
}
