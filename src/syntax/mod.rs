//! The lossless model of a Dockerfile. A [`Document`] is the original text plus byte ranges: every
//! byte belongs to exactly one [`Item`] (an instruction's extent, or the trivia between extents),
//! so joining the items gives back the file byte for byte. Transforms read the model and emit
//! edits against the text; nothing is ever re-printed from a tree.
//!
//! This module is the only user of the `parse-dockerfile` crate (see `lower.rs`).

mod lower;

use std::fmt;
use std::ops::Range;

pub use lower::parse;

/// The document of `text`, which is `old`'s text with each of `changes` made (a range of
/// `old`'s text and the length of the text that replaced it; in order of their start, an
/// insertion before a replacement at the same offset, not overlapping): exactly what [`parse`]
/// gives, the same document or the same error. The instructions outside the changes are taken
/// from `old` (their spans moved) and only those around each change are parsed again, unless
/// the file's head, a here-document or anything else the shortcut cannot be sure of is
/// involved: then the whole text is parsed. Debug builds (and any build with
/// `RESTAGE_CHECK_REPARSE` set) parse the whole text too and panic when the two differ.
pub(crate) fn reparse(
    old: Document,
    changes: &[(Span, usize)],
    text: String,
) -> Result<Document, SyntaxError> {
    let whole = checking_reparse().then(|| parse(&text));
    let result = match lower::reparse_region(old, changes, text) {
        Ok(result) => result,
        Err(text) => lower::parse_owned(text),
    };
    if let Some(whole) = whole {
        let same = match (&whole, &result) {
            (Ok(a), Ok(b)) => a.same_model(b),
            (Err(a), Err(b)) => a == b,
            _ => false,
        };
        assert!(
            same,
            "a re-parse differs from the whole parse: {result:?} against {whole:?}"
        );
        if let (Ok(whole), Ok(doc)) = (&whole, &result) {
            check_kept_memos(whole, doc);
        }
    }
    result
}

/// Panics unless every memo `doc` holds (those a re-parse kept) is what `whole`, the same
/// document parsed whole, answers afresh.
fn check_kept_memos(whole: &Document, doc: &Document) {
    use crate::transforms::analysis;
    for (i, ins) in whole.instructions.iter().enumerate() {
        let stage = whole
            .stages
            .iter()
            .find(|s| s.instructions.start < i && i <= s.instructions.end);
        if let Some(kept) = doc.commands[i].get() {
            let fresh = analysis::commands(whole, ins);
            assert_eq!(kept.as_deref(), fresh.as_deref(), "kept commands of {i}");
        }
        if let Some(kept) = doc.declarations[i].get() {
            assert_eq!(
                kept.as_slice(),
                &*analysis::declared(whole, ins),
                "kept declarations of {i}"
            );
        }
        if let Some(kept) = doc.workdirs[i].get() {
            let stage = stage.expect("a kept working directory is in a stage");
            assert_eq!(
                kept,
                &analysis::workdir_resolution(whole, stage, i),
                "kept working directory at {i}"
            );
        }
        if let Some(kept) = doc.destinations[i].get() {
            let stage = stage.expect("a kept destination is in a stage");
            assert_eq!(
                kept,
                &analysis::destination_resolution(whole, stage, i),
                "kept destination of {i}"
            );
        }
    }
}

/// Whether [`reparse`] checks itself against a whole parse.
fn checking_reparse() -> bool {
    static CHECK: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    cfg!(debug_assertions)
        || *CHECK.get_or_init(|| std::env::var_os("RESTAGE_CHECK_REPARSE").is_some())
}

/// Byte range into [`Document::text`].
pub type Span = Range<usize>;

/// A parsed Dockerfile: the text and the ranges that index it.
#[derive(Debug, Clone)]
pub struct Document {
    pub(crate) text: String,
    pub(crate) items: Vec<Item>,
    pub(crate) instructions: Vec<Instruction>,
    pub(crate) stages: Vec<Stage>,
    pub(crate) style: Style,
    pub(crate) escape: char,
    /// The line index of `text`, built on first use: the pipeline reports positions in the
    /// file as read, so the documents it makes from edits (which carry `origin`) rarely need one.
    pub(crate) lines: std::cell::OnceCell<LineIndex>,
    /// The indices of the instructions, by [`Kind`] (its discriminant) then in order: those of
    /// kind `k` are `by_kind[kind_starts[k]..kind_starts[k + 1]]`.
    pub(crate) by_kind: Vec<usize>,
    pub(crate) kind_starts: [usize; lower::KINDS + 1],
    /// For a document the pipeline made by applying edits: the file as read (its line index)
    /// and the edits that lead from it to this text, so positions in messages are the file's.
    pub(crate) origin: Option<Origin>,
    /// The simple commands of each instruction, read on first use (see
    /// `transforms::analysis::commands`): several transforms ask about the same RUN.
    pub(crate) commands: Vec<CommandsMemo>,
    /// The words of each ENTRYPOINT and CMD, read on first use (see `transforms::start`): the
    /// arguments Docker passes and those split into shell words. multi-stage and non-root-user
    /// read the start command of a stage several times.
    pub(crate) start_words: Vec<StartWordsMemo>,
    /// The working directory at each instruction (and at the end of the last), read on first
    /// use (see `transforms::analysis::workdir_resolution`): every COPY destination of every
    /// transform is resolved against it.
    pub(crate) workdirs: Vec<WorkdirMemo>,
    /// The destination of each COPY and ADD resolved against the working directory, read on
    /// first use (see `transforms::analysis::destination_resolution`): copy-order, multi-stage
    /// and non-root-user each resolve the same destinations.
    pub(crate) destinations: Vec<DestinationMemo>,
    /// The names each ENV and ARG declares, read on first use (see
    /// `transforms::analysis::declared`): variables are looked up by scanning the ENVs and ARGs
    /// before an instruction, for every instruction that names one.
    pub(crate) declarations: Vec<DeclarationsMemo>,
}

/// The memo of one RUN's simple commands.
pub(crate) type CommandsMemo = std::cell::OnceCell<Option<Vec<crate::shell::SimpleCommand>>>;

/// The memo of one ENV or ARG instruction's declarations.
pub(crate) type DeclarationsMemo =
    std::cell::OnceCell<Vec<crate::transforms::analysis::Declaration>>;

/// The memo of the working directory in force at one instruction of its own stage.
pub(crate) type WorkdirMemo = std::cell::OnceCell<
    crate::transforms::analysis::Resolution<crate::transforms::analysis::Workdir>,
>;

/// The memo of the resolved destination of one instruction of its own stage.
pub(crate) type DestinationMemo =
    std::cell::OnceCell<Option<crate::transforms::analysis::Resolution<String>>>;

/// The memo of one instruction's start words: (arguments, words).
pub(crate) type StartWordsMemo = std::cell::OnceCell<(Vec<String>, Vec<String>)>;

/// Where a rewritten document's text came from.
#[derive(Debug, Clone)]
pub(crate) struct Origin {
    pub(crate) lines: std::sync::Arc<LineIndex>,
    pub(crate) composed: std::sync::Arc<crate::edit::Composed>,
}

/// One piece of the file: an instruction's extent or the trivia around it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub range: Span,
    pub kind: ItemKind,
}

/// What an [`Item`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    /// Comments, blank lines, parser directives, a BOM.
    Trivia,
    /// The instruction with this index in [`Document::instructions`].
    Instruction(usize),
}

/// The instruction keywords of the Dockerfile language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Add,
    Arg,
    Cmd,
    Copy,
    Entrypoint,
    Env,
    Expose,
    From,
    Healthcheck,
    Label,
    Maintainer,
    Onbuild,
    Run,
    Shell,
    Stopsignal,
    User,
    Volume,
    Workdir,
}

impl Kind {
    /// The keyword in upper case, as the Dockerfile reference spells it.
    pub fn keyword(self) -> &'static str {
        match self {
            Kind::Add => "ADD",
            Kind::Arg => "ARG",
            Kind::Cmd => "CMD",
            Kind::Copy => "COPY",
            Kind::Entrypoint => "ENTRYPOINT",
            Kind::Env => "ENV",
            Kind::Expose => "EXPOSE",
            Kind::From => "FROM",
            Kind::Healthcheck => "HEALTHCHECK",
            Kind::Label => "LABEL",
            Kind::Maintainer => "MAINTAINER",
            Kind::Onbuild => "ONBUILD",
            Kind::Run => "RUN",
            Kind::Shell => "SHELL",
            Kind::Stopsignal => "STOPSIGNAL",
            Kind::User => "USER",
            Kind::Volume => "VOLUME",
            Kind::Workdir => "WORKDIR",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.keyword())
    }
}

/// A piece of an instruction's text and its unescaped value (for analysis only: edits use spans).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub span: Span,
    pub value: String,
}

/// An option flag such as `--from=build` or `--link`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    /// The whole flag, `--name=value`.
    pub span: Span,
    pub name: String,
    pub value: Option<Word>,
}

/// How a command-taking instruction (RUN, CMD, ENTRYPOINT, HEALTHCHECK CMD) is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Form {
    /// Not a command-taking instruction, or `HEALTHCHECK NONE`.
    None,
    /// JSON array; `span` covers `[ ... ]`, `words` the elements.
    Exec { span: Span, words: Vec<Word> },
    /// Shell form; `span` covers the command text (heredoc bodies excluded).
    Shell { span: Span },
}

/// One instruction of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    pub kind: Kind,
    /// Whole lines: from the start of the keyword's line to just after the line terminator of the
    /// instruction's last line (or the end of the file).
    pub extent: Span,
    pub keyword: Span,
    pub flags: Vec<Flag>,
    /// The arguments after keyword and flags, up to the end of the last content line (no
    /// terminator). Empty for an instruction with none.
    pub args: Span,
    /// Argument words the parser separates: COPY/ADD sources then destination, EXPOSE ports,
    /// VOLUME paths, SHELL words, FROM image (then alias), USER/WORKDIR/STOPSIGNAL/ARG/ENV/LABEL
    /// argument text as one word, exec-form elements.
    pub words: Vec<Word>,
    /// RUN, CMD, ENTRYPOINT and HEALTHCHECK CMD: how the command is written.
    pub form: Form,
    /// Here-document bodies (RUN, COPY, ADD), each from its first body line to its terminator.
    pub heredocs: Vec<Span>,
    /// Index of the stage the instruction belongs to; `None` for an ARG before the first FROM.
    pub stage: Option<usize>,
    /// For ONBUILD: the kind of the wrapped instruction.
    pub onbuild: Option<Kind>,
}

impl Instruction {
    /// The flag with this name (without the leading `--`), if present.
    pub fn flag(&self, name: &str) -> Option<&Flag> {
        self.flags.iter().find(|f| f.name == name)
    }

    /// True for a shell-form command.
    pub fn is_shell_form(&self) -> bool {
        matches!(self.form, Form::Shell { .. })
    }

    /// True for `ENTRYPOINT []` / `CMD []`: an exec form with no words, which resets the
    /// entrypoint or the command instead of naming one.
    pub fn is_empty_exec(&self) -> bool {
        matches!(&self.form, Form::Exec { words, .. } if words.is_empty())
    }
}

/// A build stage: `FROM` and the instructions up to the next `FROM`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    pub index: usize,
    /// Index of the FROM instruction in [`Document::instructions`].
    pub from: usize,
    /// Indices of the stage's instructions, FROM included.
    pub instructions: Range<usize>,
    /// The image reference as written (may contain `$VAR`).
    pub image: Word,
    /// `AS name`, if any.
    pub alias: Option<Word>,
}

/// Line ending used by the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineEnding {
    Lf,
    CrLf,
}

impl LineEnding {
    pub fn as_str(self) -> &'static str {
        match self {
            LineEnding::Lf => "\n",
            LineEnding::CrLf => "\r\n",
        }
    }
}

/// How the file is written, so that inserted text matches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Style {
    pub line_ending: LineEnding,
    /// Most keywords are lower case.
    pub lowercase_keywords: bool,
    /// Indentation used on continuation lines (default four spaces).
    pub continuation_indent: String,
    /// The file ends with a line terminator.
    pub final_newline: bool,
}

impl Style {
    /// A keyword spelled the way the file spells them.
    pub fn keyword(&self, kind: Kind) -> String {
        if self.lowercase_keywords {
            kind.keyword().to_ascii_lowercase()
        } else {
            kind.keyword().to_string()
        }
    }

    /// The file's line ending.
    pub fn nl(&self) -> &'static str {
        self.line_ending.as_str()
    }
}

/// Why a text could not become a [`Document`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub kind: SyntaxErrorKind,
    pub message: String,
    /// 1-based; 0 when the error concerns the whole file.
    pub line: usize,
    /// 1-based; 0 when the error concerns the whole file.
    pub column: usize,
}

/// Whether the file is broken or restage cannot handle it yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyntaxErrorKind {
    /// Not a valid Dockerfile: BuildKit would reject it too.
    Invalid,
    /// Valid syntax that restage does not handle yet; the file is skipped, not judged.
    Unsupported,
    /// The parser returned something this version of restage cannot model (a variant of a
    /// newer parser): an error, since restage cannot vouch for the file either way.
    Unrecognized,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}: ", self.line, self.column)?;
        }
        match self.kind {
            SyntaxErrorKind::Invalid => write!(f, "invalid Dockerfile: {}", self.message),
            SyntaxErrorKind::Unrecognized => {
                write!(f, "internal error (please report it): {}", self.message)
            }
            SyntaxErrorKind::Unsupported => {
                write!(
                    f,
                    "unsupported syntax (a restage limitation): {}",
                    self.message
                )
            }
        }
    }
}

impl std::error::Error for SyntaxError {}

impl SyntaxError {
    /// The message with its kind, without the location.
    pub fn message_with_kind(&self) -> String {
        match self.kind {
            SyntaxErrorKind::Invalid => format!("invalid Dockerfile: {}", self.message),
            SyntaxErrorKind::Unrecognized => {
                format!("internal error (please report it): {}", self.message)
            }
            SyntaxErrorKind::Unsupported => {
                format!(
                    "unsupported syntax (a restage limitation): {}",
                    self.message
                )
            }
        }
    }
}

impl Document {
    /// True when `other` models the same text the same way (the memos and the origin aside,
    /// which are filled on use and set by the pipeline).
    pub(crate) fn same_model(&self, other: &Document) -> bool {
        self.text == other.text
            && self.items == other.items
            && self.instructions == other.instructions
            && self.stages == other.stages
            && self.style == other.style
            && self.escape == other.escape
            && self.by_kind == other.by_kind
            && self.kind_starts == other.kind_starts
            && self.commands.len() == other.commands.len()
            && self.start_words.len() == other.start_words.len()
            && self.workdirs.len() == other.workdirs.len()
            && self.destinations.len() == other.destinations.len()
            && self.declarations.len() == other.declarations.len()
    }

    /// The memo of `ins`'s simple commands, when `ins` is one of this document's instructions
    /// (not a copy).
    pub(crate) fn commands_memo(
        &self,
        ins: &Instruction,
    ) -> Option<&std::cell::OnceCell<Option<Vec<crate::shell::SimpleCommand>>>> {
        let ix = self
            .instructions
            .binary_search_by_key(&ins.extent.start, |i| i.extent.start)
            .ok()?;
        std::ptr::eq(&self.instructions[ix], ins).then(|| &self.commands[ix])
    }

    /// The memo of the start words of instruction `index` (see [`Document::start_words`]).
    pub(crate) fn start_words_memo(&self, index: usize) -> Option<&StartWordsMemo> {
        self.start_words.get(index)
    }

    /// The memo of the working directory at instruction `index` (see [`Document::workdirs`]).
    pub(crate) fn workdir_memo(&self, index: usize) -> Option<&WorkdirMemo> {
        self.workdirs.get(index)
    }

    /// The memo of the destination of instruction `index` (see [`Document::destinations`]).
    pub(crate) fn destination_memo(&self, index: usize) -> Option<&DestinationMemo> {
        self.destinations.get(index)
    }

    /// The memo of the declarations of `ins`, when `ins` is one of this document's instructions
    /// (not a copy).
    pub(crate) fn declarations_memo(&self, ins: &Instruction) -> Option<&DeclarationsMemo> {
        let ix = self
            .instructions
            .binary_search_by_key(&ins.extent.start, |i| i.extent.start)
            .ok()?;
        std::ptr::eq(&self.instructions[ix], ins).then(|| &self.declarations[ix])
    }

    /// The line index of [`Document::text`].
    pub(crate) fn line_index(&self) -> &LineIndex {
        self.lines.get_or_init(|| LineIndex::new(&self.text))
    }

    /// The whole text, BOM included.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The text of a span.
    pub fn slice(&self, span: &Span) -> &str {
        &self.text[span.clone()]
    }

    /// The items tiling the file, in order.
    pub fn items(&self) -> &[Item] {
        &self.items
    }

    /// Every instruction, in file order (ARGs before the first FROM included).
    pub fn instructions(&self) -> &[Instruction] {
        &self.instructions
    }

    /// The build stages, in file order.
    pub fn stages(&self) -> &[Stage] {
        &self.stages
    }

    /// The last stage (the image `docker build` produces without `--target`).
    pub fn final_stage(&self) -> &Stage {
        self.stages
            .last()
            .expect("a document has at least one stage")
    }

    /// The instructions of a stage, FROM included.
    pub fn stage_instructions(&self, stage: &Stage) -> &[Instruction] {
        &self.instructions[stage.instructions.clone()]
    }

    /// The stage with this alias (case-insensitive, like BuildKit).
    pub fn stage_named(&self, name: &str) -> Option<&Stage> {
        self.stages.iter().find(|s| {
            s.alias
                .as_ref()
                .is_some_and(|a| a.value.eq_ignore_ascii_case(name))
        })
    }

    /// How the file is written.
    pub fn style(&self) -> &Style {
        &self.style
    }

    /// The escape character (`\` unless a `# escape=` directive says otherwise).
    pub fn escape(&self) -> char {
        self.escape
    }

    /// Whether the byte at `offset` is in text restage wrote (a document the pipeline rewrote),
    /// not in the file as read (lines restage moved count as read); and whether that text was
    /// written at the end of the file.
    pub fn written_at(&self, offset: usize) -> Option<bool> {
        let o = self.origin.as_ref()?;
        match o.composed.origin(offset) {
            crate::edit::Origin::Written(at) => Some(at >= o.lines.len()),
            crate::edit::Origin::Kept(_) | crate::edit::Origin::Moved { .. } => None,
        }
    }

    /// 1-based line and column of a byte offset, in the file as read: for a document the
    /// pipeline rewrote, an offset in lines restage moved is where they were read, and one in
    /// text restage wrote is where that text was written.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        match &self.origin {
            Some(o) => o.lines.line_col(match o.composed.origin(offset) {
                crate::edit::Origin::Kept(at)
                | crate::edit::Origin::Written(at)
                | crate::edit::Origin::Moved { read: at, .. } => at,
            }),
            None => self.line_index().line_col(offset),
        }
    }

    /// Indices of the instructions of `kind` within `range` of [`Document::instructions`], in
    /// order: a look-up, not a scan, so per-instruction questions stay linear overall.
    pub fn indices_of(&self, kind: Kind, range: Range<usize>) -> &[usize] {
        let k = kind as usize;
        let list = &self.by_kind[self.kind_starts[k]..self.kind_starts[k + 1]];
        let start = list.partition_point(|&i| i < range.start);
        let end = list.partition_point(|&i| i < range.end);
        &list[start..end.max(start)]
    }

    /// The instruction whose extent holds `offset`, if any.
    pub fn instruction_at(&self, offset: usize) -> Option<&Instruction> {
        let i = self
            .instructions
            .partition_point(|ins| ins.extent.start <= offset);
        let ins = self.instructions.get(i.checked_sub(1)?)?;
        (offset < ins.extent.end).then_some(ins)
    }

    /// The comment lines directly above an instruction (no blank line between), as one span of
    /// whole lines; empty when there are none.
    pub fn leading_comments(&self, index: usize) -> Span {
        let start = self.instructions[index].extent.start;
        let mut begin = start;
        let bytes = self.text.as_bytes();
        while begin > 0 {
            let prev_end = begin; // the previous line ends just before `begin`
            let prev_start = bytes[..prev_end - 1]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |p| p + 1);
            let line = self.text[prev_start..prev_end].trim();
            let line = line.trim_start_matches('\u{feff}');
            if line.starts_with('#') && !self.is_directive_line(prev_start) {
                begin = prev_start;
            } else {
                break;
            }
        }
        begin..start
    }

    fn is_directive_line(&self, line_start: usize) -> bool {
        line_start < self.directives_end()
    }

    /// End of the parser-directive block at the top of the file (0 when there is none).
    pub fn directives_end(&self) -> usize {
        let mut offset = 0;
        let text = &self.text;
        let mut first = true;
        for line in text.split_inclusive('\n') {
            let mut body = line.trim_end_matches(['\n', '\r']);
            if first {
                body = body.trim_start_matches('\u{feff}');
                first = false;
            }
            let t = body.trim_start();
            let Some(rest) = t.strip_prefix('#') else {
                break;
            };
            let rest = rest.trim_start();
            let key: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphabetic())
                .collect::<String>()
                .to_ascii_lowercase();
            let after = rest[key.len()..].trim_start();
            if matches!(key.as_str(), "syntax" | "escape" | "check") && after.starts_with('=') {
                offset += line.len();
            } else {
                break;
            }
        }
        offset
    }
}

/// 1-based line and column (in bytes) of `offset` in `text`. For one lookup; many lookups in one
/// text go through a [`LineIndex`]. A BOM is no part of line 1: its columns count from after it,
/// as an editor shows them.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text.as_bytes()[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(bom_len(text).min(offset), |p| p + 1);
    (line, offset - start + 1)
}

/// The length of the BOM `text` starts with (0 without one).
fn bom_len(text: &str) -> usize {
    if text.starts_with('\u{feff}') { 3 } else { 0 }
}

/// 1-based line and column in characters (not bytes) of `offset` in `text`, moved back to a
/// character boundary: how restage places a problem in a manifest or config file, as TOML, JSON
/// and XML tools count.
pub fn line_char_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let (line, byte_col) = line_col(text, offset);
    let line_start = offset + 1 - byte_col;
    (line, text[line_start..offset].chars().count() + 1)
}

/// Where each line of a text starts: 1-based line and column (in bytes) of any offset in
/// O(log lines), so positions cost the same at the end of a large file as at its start.
#[derive(Debug, Clone, Default)]
pub struct LineIndex {
    /// Offset of the first byte of each line; the first is after the BOM, if any (0 without).
    starts: Vec<usize>,
    len: usize,
    /// The length of the text's last line terminator (`\n`: 1, `\r\n`: 2), 0 without one.
    last_terminator: usize,
}

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        // Eight bytes at a time: a Dockerfile's lines are short, and a search call per line
        // costs more than the bytes between them. Room for a line every 16 bytes, so the list
        // seldom grows.
        const NEWLINES: u64 = u64::from_ne_bytes([0x01; 8]) * 0x0a;
        const LOW: u64 = u64::from_ne_bytes([0x7f; 8]);
        let bytes = text.as_bytes();
        let mut starts = Vec::with_capacity(bytes.len() / 16 + 2);
        starts.push(bom_len(text));
        let mut chunks = bytes.chunks_exact(8);
        let mut base = 0;
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            // The high bit of each byte that is `\n`, exactly (no carry crosses a byte).
            let x = u64::from_le_bytes(word) ^ NEWLINES;
            let mut found = !(((x & LOW) + LOW) | x | LOW);
            while found != 0 {
                starts.push(base + (found.trailing_zeros() / 8) as usize + 1);
                found &= found - 1;
            }
            base += 8;
        }
        for (i, &b) in chunks.remainder().iter().enumerate() {
            if b == b'\n' {
                starts.push(base + i + 1);
            }
        }
        let last_terminator = if text.ends_with("\r\n") {
            2
        } else {
            usize::from(text.ends_with('\n'))
        };
        LineIndex {
            starts,
            len: text.len(),
            last_terminator,
        }
    }

    /// Length of the text, in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True for an empty text.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// 1-based line and column (in bytes) of `offset` (clamped to the text).
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.len);
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        (line, offset.saturating_sub(self.starts[line - 1]) + 1)
    }

    /// [`LineIndex::line_col`] for a message, which names a line the file has: the end of a
    /// text whose last line ends with a terminator is the end of that line (just before its
    /// terminator), not the start of a line after it.
    pub fn line_col_in_file(&self, offset: usize) -> (usize, usize) {
        let (line, column) = self.line_col(offset);
        if offset >= self.len && self.last_terminator > 0 && line > 1 {
            let start = self.starts[line - 2];
            return (line - 1, self.len - self.last_terminator - start + 1);
        }
        (line, column)
    }
}

#[cfg(test)]
mod tests;
