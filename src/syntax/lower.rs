//! Lowering from `parse-dockerfile` to [`Document`]. The parser's spans are not whole extents and
//! are relative to the text after a BOM; this module fixes both, tiles the file into items, and
//! classifies what the parser rejects as invalid or as a restage limitation.

use parse_dockerfile as pd;

use super::{
    Document, Flag, Form, Instruction, Item, ItemKind, Kind, LineEnding, Span, Stage, Style,
    SyntaxError, SyntaxErrorKind, Word,
};

const BOM: &str = "\u{feff}";

/// Parses a Dockerfile into a lossless [`Document`].
pub fn parse(text: &str) -> Result<Document, SyntaxError> {
    parse_owned(text.to_string())
}

/// [`parse`], keeping `text` as the document's.
pub(super) fn parse_owned(text: String) -> Result<Document, SyntaxError> {
    let bom = if text.starts_with(BOM) { BOM.len() } else { 0 };
    let body = &text[bom..];
    if body.trim().is_empty() {
        return Err(SyntaxError {
            kind: SyntaxErrorKind::Invalid,
            message: "empty file: a Dockerfile needs at least one FROM".into(),
            line: 0,
            column: 0,
        });
    }
    match lower_streamed(body, bom) {
        Some(lowered) => fresh(text, lowered, '\\', bom),
        None => parse_whole(text, bom),
    }
}

/// [`parse_owned`] through the parser's whole parse (its list of instructions, its parser
/// directives, its errors) for a text that is not blank.
fn parse_whole(text: String, bom: usize) -> Result<Document, SyntaxError> {
    let body = &text[bom..];
    // `ENTRYPOINT []` (reset the entrypoint) is valid Docker that the parser rejects. Such an
    // instruction is parsed as `CMD       []` (same length, so every span holds) and lowered
    // back to an ENTRYPOINT with an empty exec form.
    let masked: String;
    let mut resets: Vec<usize> = Vec::new();
    let parsed = match pd::parse(body) {
        Ok(parsed) => parsed,
        Err(first) => {
            let (text_masked, offsets) =
                mask_empty_entrypoints(body, first).map_err(|e| classify(&text, bom, &e))?;
            masked = text_masked;
            resets = offsets;
            pd::parse(&masked).map_err(|e| classify(&text, bom, &e))?
        }
    };
    let escape = parsed
        .parser_directives
        .escape
        .as_ref()
        .map_or('\\', |d| d.value.value);

    let mut lowered: Vec<Instruction> = Vec::with_capacity(parsed.instructions.len() + ROOM);
    for ins in &parsed.instructions {
        let mut out = lower_instruction(ins, bom).map_err(|what| {
            // No span to report: the parser's type for it is unknown. Point at the line after
            // the last instruction restage understood.
            let after = lowered.last().map_or(0, |i: &Instruction| i.keyword.end);
            let (line, _) = super::line_col(&text, after);
            SyntaxError {
                kind: SyntaxErrorKind::Unrecognized,
                message: format!(
                    "the parser returned {what} that restage does not know (after line {line}); the file is left alone"
                ),
                line: 0,
                column: 0,
            }
        })?;
        for &offset in &resets {
            let keyword = offset + bom;
            if out.kind == Kind::Cmd && out.keyword.start == keyword {
                out.kind = Kind::Entrypoint;
                out.keyword = keyword..keyword + ENTRYPOINT.len();
                out.args = out.keyword.end..out.keyword.end;
            } else if out.kind == Kind::Onbuild
                && out.onbuild == Some(Kind::Cmd)
                && out.keyword.end <= keyword
                && parsed_extent_contains(&text, out.keyword.end, keyword)
            {
                out.onbuild = Some(Kind::Entrypoint);
            }
        }
        lowered.push(out);
    }
    drop(parsed);
    fresh(text, lowered, escape, bom)
}

/// The document of `text` and its `lowered` instructions, all of them new.
fn fresh(
    text: String,
    lowered: Vec<Instruction>,
    escape: char,
    bom: usize,
) -> Result<Document, SyntaxError> {
    let n = lowered.len();
    let kept = KeptMemos {
        commands: Vec::with_capacity(n + ROOM),
        workdirs: Vec::with_capacity(n + 1 + ROOM),
        destinations: Vec::with_capacity(n + ROOM),
        declarations: Vec::with_capacity(n + ROOM),
    };
    let all = 0..n;
    assemble(text, lowered, escape, bom, std::slice::from_ref(&all), kept)
}

/// The instructions of `body` (the text after a BOM of `bom` bytes) lowered as the parser's
/// iterator gives them, without the parser's own list of them, when that is sure to be what
/// [`parse_owned`]'s whole parse gives: the escape character is `\` (there is no `` ` `` in the
/// text, so no escape directive can name another), the parser reports no error, every
/// instruction is one this lowering knows, and no two stages have one name (which only the
/// whole parse reports). `None` otherwise: the whole parse then decides, error included.
fn lower_streamed(body: &str, bom: usize) -> Option<Vec<Instruction>> {
    if memchr::memchr(b'`', body.as_bytes()).is_some() {
        return None;
    }
    // Every instruction starts a line of its own: the list is allocated once.
    let lines = memchr::memchr_iter(b'\n', body.as_bytes()).count() + 1;
    let mut lowered: Vec<Instruction> = Vec::with_capacity(lines + ROOM);
    let mut stages = 0;
    for parsed in pd::parse_iter(body).ok()? {
        let ins = lower_instruction(&parsed.ok()?, bom).ok()?;
        if ins.kind == Kind::From {
            stages += 1;
        }
        lowered.push(ins);
    }
    if stages > 1 {
        let mut aliases = lowered
            .iter()
            .filter(|i| i.kind == Kind::From)
            .filter_map(|i| i.words.get(1).map(|w| w.value.as_str()));
        while let Some(alias) = aliases.next() {
            if aliases.clone().any(|other| other == alias) {
                return None;
            }
        }
    }
    Some(lowered)
}

/// The document of `text`, whose `lowered` instructions index it: the extents and arguments of
/// the instructions in `fresh` are computed here (the others' are final), then the stages,
/// items, style and memos of all, and the checks every document passes.
fn assemble(
    text: String,
    mut lowered: Vec<Instruction>,
    escape: char,
    bom: usize,
    fresh: &[std::ops::Range<usize>],
    kept: KeptMemos,
) -> Result<Document, SyntaxError> {
    // Extents: from the keyword's line start to the end of the last content line before the
    // next keyword's line. The instruction after a fresh range is not fresh (two ranges are
    // never adjacent): its extent is final.
    for fresh in fresh {
        let mut next_start = match lowered.get(fresh.end) {
            Some(next) if !fresh.is_empty() => next.extent.start,
            _ => text.len(),
        };
        for i in fresh.clone().rev() {
            let start = line_start(&text, lowered[i].keyword.start).max(bom);
            let content_end = last_content_line_end(&text, start, next_start);
            let args_end = trim_line_end(&text, content_end);
            let args_start = skip_blanks(&text, lowered[i].args.start, args_end, escape);
            lowered[i].extent = start..content_end;
            lowered[i].args = args_start..args_end.max(args_start);
            next_start = start;
        }
    }

    // Stages: each FROM opens one that runs to the next FROM.
    let mut stages: Vec<Stage> = Vec::with_capacity(4);
    for i in 0..lowered.len() {
        if lowered[i].kind == Kind::From {
            if let Some(last) = stages.last_mut() {
                last.instructions.end = i;
            }
            let words = &lowered[i].words;
            stages.push(Stage {
                index: stages.len(),
                from: i,
                instructions: i..lowered.len(),
                image: words[0].clone(),
                alias: words.get(1).cloned(),
            });
        }
        lowered[i].stage = stages.last().map(|last| last.index);
    }

    // Items.
    let mut items = Vec::with_capacity(lowered.len() * 2 + 1);
    let mut pos = 0;
    for (i, ins) in lowered.iter().enumerate() {
        if ins.extent.start > pos {
            items.push(Item {
                range: pos..ins.extent.start,
                kind: ItemKind::Trivia,
            });
        }
        items.push(Item {
            range: ins.extent.clone(),
            kind: ItemKind::Instruction(i),
        });
        pos = ins.extent.end;
    }
    if pos < text.len() {
        items.push(Item {
            range: pos..text.len(),
            kind: ItemKind::Trivia,
        });
    }

    let style = detect_style(&text, &lowered);
    let n = lowered.len();
    // The instructions' indices by kind: counted, then placed (one allocation).
    let mut kind_starts = [0usize; KINDS + 1];
    for ins in &lowered {
        kind_starts[ins.kind as usize + 1] += 1;
    }
    for k in 0..KINDS {
        kind_starts[k + 1] += kind_starts[k];
    }
    let mut by_kind = vec![0; n];
    let mut next = kind_starts;
    for (i, ins) in lowered.iter().enumerate() {
        let k = ins.kind as usize;
        by_kind[next[k]] = i;
        next[k] += 1;
    }
    fn memos<T>(mut kept: Vec<std::cell::OnceCell<T>>, len: usize) -> Vec<std::cell::OnceCell<T>> {
        kept.resize_with(len, std::cell::OnceCell::new);
        kept
    }
    let doc = Document {
        text,
        items,
        instructions: lowered,
        stages,
        style,
        escape,
        lines: std::cell::OnceCell::new(),
        by_kind,
        kind_starts,
        origin: None,
        commands: memos(kept.commands, n),
        start_words: memos(Vec::with_capacity(n), n),
        workdirs: memos(kept.workdirs, n + 1),
        destinations: memos(kept.destinations, n),
        declarations: memos(kept.declarations, n),
    };
    check_trailing_escaped_escape(&doc)?;
    check_unclosed_heredoc(&doc, bom)?;
    Ok(doc)
}

/// Room left in a parsed document's instruction list and the memos a re-parse keeps, for the
/// instructions the transforms add (a runtime stage, a `USER`): a re-parse after their edits
/// then fills the lists in place instead of moving them.
const ROOM: usize = 8;

/// The memos a new document starts with (see [`reparse_region`]); the rest are empty.
struct KeptMemos {
    commands: Vec<super::CommandsMemo>,
    workdirs: Vec<super::WorkdirMemo>,
    destinations: Vec<super::DestinationMemo>,
    declarations: Vec<super::DeclarationsMemo>,
}

/// What [`reparse_region`] puts before a region so that it starts a stage (after the escape
/// directive, if any), and after it to prove the region ends where an instruction may start.
const REGION_PREFIX: &str = "FROM a\n";

/// The document of `text`, the text of `old` with each of `changes` (a range of `old`'s text
/// and the length of what replaced it; sorted, not overlapping) made, built from `old`'s
/// instructions outside the changes (their spans moved) and a parse of the instructions around
/// each. `Err` gives `text` back when that cannot be sure to give what a whole parse gives.
pub(super) fn reparse_region(
    old: Document,
    changes: &[(Span, usize)],
    text: String,
) -> Result<Result<Document, SyntaxError>, String> {
    let Some(regions) = regions(&old, changes, &text) else {
        return Err(text);
    };
    let escape = old.escape;
    let first = regions[0].first;
    // The answers kept per instruction that depend only on the instruction and those before it
    // (its RUN commands, ENV and ARG declarations, the working directory and COPY destination
    // at it) hold for the instructions before the first region: their text and index are the
    // same.
    fn keep<T>(mut memos: Vec<T>, first: usize) -> Vec<T> {
        memos.truncate(first);
        memos
    }
    let kept = KeptMemos {
        commands: keep(old.commands, first),
        workdirs: keep(old.workdirs, first),
        destinations: keep(old.destinations, first),
        declarations: keep(old.declarations, first),
    };
    let mut instructions = old.instructions;
    // The instructions kept after each region move by the change in length up to it; then each
    // region's instructions are replaced, the last first (so the indices of those before hold).
    for (k, r) in regions.iter().enumerate() {
        let next = regions.get(k + 1).map_or(instructions.len(), |n| n.first);
        for ins in &mut instructions[r.end..next] {
            move_spans(ins, r.delta_after);
        }
    }
    let mut fresh = Vec::with_capacity(regions.len());
    let mut shift = 0usize;
    for r in &regions {
        let at = r.first.wrapping_add(shift);
        fresh.push(at..at + r.window.len());
        shift = shift
            .wrapping_add(r.window.len())
            .wrapping_sub(r.end - r.first);
    }
    for r in regions.into_iter().rev() {
        instructions.splice(r.first..r.end, r.window);
    }
    Ok(assemble(text, instructions, escape, 0, &fresh, kept))
}

/// One region of a re-parse: `old`'s instructions `first..end` and their replacements, lowered
/// (extents and arguments still to compute), and the change in length of the text up to the
/// end of the region (added modulo the word size).
struct Region {
    first: usize,
    end: usize,
    window: Vec<Instruction>,
    delta_after: usize,
}

/// For [`reparse_region`]: the regions to parse again, in order, when sure. Changes whose
/// regions meet or share an instruction make one region; two regions have at least one kept
/// instruction between them.
fn regions(old: &Document, changes: &[(Span, usize)], text: &str) -> Option<Vec<Region>> {
    // The file's head (a BOM, the parser directives) is never re-parsed.
    if old.text.starts_with(BOM) || changes.is_empty() {
        return None;
    }
    // The regions: from the extent of the instruction a change starts in (or after), to the
    // start of the first instruction that starts after the change.
    let mut spans: Vec<(usize, usize, usize)> = Vec::with_capacity(changes.len());
    let mut changed_end = 0;
    for (range, len) in changes {
        if range.start < changed_end || range.end < range.start {
            return None;
        }
        changed_end = range.end;
        let first = old
            .instructions
            .partition_point(|i| i.extent.start <= range.start)
            .checked_sub(1)?;
        let end = old
            .instructions
            .partition_point(|i| i.extent.start <= range.end);
        let delta = len.wrapping_sub(range.len());
        match spans.last_mut() {
            Some(last) if first <= last.1 => {
                last.1 = last.1.max(end);
                last.2 = last.2.wrapping_add(delta);
            }
            _ => spans.push((first, end, delta)),
        }
    }
    let mut out = Vec::with_capacity(spans.len());
    let mut delta_before = 0usize;
    for (first, end, delta) in spans {
        let delta_after = delta_before.wrapping_add(delta);
        let window = region(old, first, end, delta_before, delta_after, text)?;
        out.push(Region {
            first,
            end,
            window,
            delta_after,
        });
        delta_before = delta_after;
    }
    if delta_before != text.len().wrapping_sub(old.text.len()) {
        return None;
    }

    // What a whole parse rejects and a region cannot see: an instruction other than ARG
    // before the first FROM, no FROM, two stages of one name. None of them can come of regions
    // after the first FROM (which the old document has) that hold no FROM.
    let first_from = old
        .indices_of(Kind::From, 0..old.instructions.len())
        .first()
        .copied();
    if out.iter().all(|r| {
        first_from.is_some_and(|f| r.first > f) && r.window.iter().all(|i| i.kind != Kind::From)
    }) {
        return Some(out);
    }
    let mut aliases: Vec<&str> = Vec::new();
    let mut staged = false;
    let mut at = 0;
    for r in &out {
        for ins in old.instructions[at..r.first].iter().chain(&r.window) {
            if !whole_parse_takes(ins, &mut aliases, &mut staged) {
                return None;
            }
        }
        at = r.end;
    }
    for ins in &old.instructions[at..] {
        if !whole_parse_takes(ins, &mut aliases, &mut staged) {
            return None;
        }
    }
    if !staged {
        return None;
    }
    Some(out)
}

/// For [`regions`]: false for an instruction a whole parse rejects where it is, given the stage
/// `aliases` before it and whether a FROM came (`staged`): one other than ARG before the first
/// FROM, a stage of a name already taken (either case, to be sure).
fn whole_parse_takes<'a>(
    ins: &'a Instruction,
    aliases: &mut Vec<&'a str>,
    staged: &mut bool,
) -> bool {
    match ins.kind {
        Kind::From => {
            *staged = true;
            if let Some(alias) = ins.words.get(1) {
                if aliases.iter().any(|a| a.eq_ignore_ascii_case(&alias.value)) {
                    return false;
                }
                aliases.push(&alias.value);
            }
            true
        }
        Kind::Arg => true,
        _ => *staged,
    }
}

/// For [`regions`]: the replacements of `old`'s instructions `first..end`, lowered (extents and
/// arguments still to compute), when sure. The text up to the region has changed in length by
/// `delta_before`, up to its end by `delta_after`.
fn region(
    old: &Document,
    first: usize,
    end: usize,
    delta_before: usize,
    delta_after: usize,
    text: &str,
) -> Option<Vec<Instruction>> {
    let region_start = old.instructions[first]
        .extent
        .start
        .wrapping_add(delta_before);
    let old_region_end = old
        .instructions
        .get(end)
        .map_or(old.text.len(), |i| i.extent.start);
    let region_end = old_region_end.wrapping_add(delta_after);
    if region_end < region_start || region_end > text.len() {
        return None;
    }
    let region = text.get(region_start..region_end)?;
    // A here-document in the region: its markers and bodies are not worth the risk. (Those
    // of the instructions kept are their own: each of them starts and ends where the parser
    // starts and ends an instruction, as the region does.)
    let bytes = region.as_bytes();
    if memchr::memchr_iter(b'<', bytes).any(|i| bytes.get(i + 1) == Some(&b'<')) {
        return None;
    }
    // The region is parsed after the file's escape directive and a FROM (so it may hold any
    // instruction) and, when instructions follow it, before another FROM: the parser must end
    // the region's last instruction where the region ends, as it does in the whole text (no
    // continuation left open).
    let prefix = match old.escape {
        '\\' => REGION_PREFIX,
        '`' => "# escape=`\nFROM a\n",
        _ => return None,
    };
    let tail = end < old.instructions.len();
    let mut synthetic = String::with_capacity(prefix.len() + region.len() + REGION_PREFIX.len());
    synthetic.push_str(prefix);
    synthetic.push_str(region);
    let sentinel_at = synthetic.len();
    if tail {
        synthetic.push_str(REGION_PREFIX);
    }
    let by = region_start.wrapping_sub(prefix.len());
    // Room for an instruction every 32 bytes of the region: the instructions are large, and a
    // region may hold a whole stage, which a list grown from empty would copy several times.
    let mut window: Vec<Instruction> = Vec::with_capacity(region.len() / 32 + 4);
    let mut saw_sentinel = false;
    for (n, parsed) in pd::parse_iter(&synthetic).ok()?.enumerate() {
        let parsed = parsed.ok()?;
        let is_from = matches!(parsed, pd::Instruction::From(_));
        if n == 0 {
            if !is_from {
                return None;
            }
            continue;
        }
        let ins = lower_instruction(&parsed, by).ok()?;
        let at = ins.keyword.start.wrapping_sub(by);
        if saw_sentinel || at > sentinel_at || (at == sentinel_at && !tail) {
            return None;
        }
        if at == sentinel_at {
            if !is_from {
                return None;
            }
            saw_sentinel = true;
            continue;
        }
        window.push(ins);
    }
    if tail != saw_sentinel {
        return None;
    }

    let next_start = window
        .first()
        .map_or(region_end, |i| line_start(text, i.keyword.start));
    if first == 0 {
        // The file's first instruction: its keyword's line must start the region, so that
        // the text before it (the parser directives among it) is read as before: nothing
        // written at the head of the file, not even a comment, which there could be read as a
        // directive.
        if window.is_empty() || next_start != region_start {
            return None;
        }
    } else {
        // The instruction before the region keeps its extent: only blank and comment lines
        // can come between it and the region's first keyword.
        let before = &old.instructions[first - 1];
        let before_start = before.extent.start.wrapping_add(delta_before);
        if last_content_line_end(text, before_start, next_start)
            != before.extent.end.wrapping_add(delta_before)
        {
            return None;
        }
    }
    Some(window)
}

/// Moves every span of `ins` by `delta` (added modulo the word size, so it may move back).
fn move_spans(ins: &mut Instruction, delta: usize) {
    let m = |s: &mut Span| {
        s.start = s.start.wrapping_add(delta);
        s.end = s.end.wrapping_add(delta);
    };
    m(&mut ins.extent);
    m(&mut ins.keyword);
    m(&mut ins.args);
    for f in &mut ins.flags {
        m(&mut f.span);
        if let Some(v) = &mut f.value {
            m(&mut v.span);
        }
    }
    for w in &mut ins.words {
        m(&mut w.span);
    }
    match &mut ins.form {
        Form::None => {}
        Form::Exec { span, words } => {
            m(span);
            for w in words {
                m(&mut w.span);
            }
        }
        Form::Shell { span } => m(span),
    }
    for h in &mut ins.heredocs {
        m(h);
    }
}

/// A here-document whose terminator never comes runs to the end of the file: the parser reads
/// `RUN <<EOF` on the last line as a plain command, but anything written after it would become
/// the heredoc's body. Such a file is left alone rather than edited into another meaning.
fn check_unclosed_heredoc(doc: &Document, bom: usize) -> Result<(), SyntaxError> {
    let Some(last) = doc.instructions.last() else {
        return Ok(());
    };
    // The parser reads `RUN <<EOF` on the last line as a shell command, not as a heredoc.
    if !matches!(last.kind, Kind::Run | Kind::Copy | Kind::Add)
        || memchr::memmem::find(doc.text[last.extent.clone()].as_bytes(), b"<<").is_none()
    {
        return Ok(());
    }
    let from = line_start(&doc.text, last.extent.start);
    let text = &doc.text[from.max(bom)..];
    let mut pending: std::collections::VecDeque<(String, bool)> = Default::default();
    let mut first = true;
    for raw in text.split('\n') {
        let l = raw.strip_suffix('\r').unwrap_or(raw);
        if let Some((word, tabs)) = pending.front() {
            let candidate = if *tabs { l.trim_start_matches('\t') } else { l };
            if candidate == word {
                pending.pop_front();
            }
            continue;
        }
        if first || !l.trim_start().starts_with('#') {
            pending.extend(heredoc_markers(l));
        }
        first = false;
    }
    match pending.front() {
        None => Ok(()),
        Some((word, _)) => {
            let (line, column) = doc.line_col(last.keyword.start);
            Err(SyntaxError {
                kind: SyntaxErrorKind::Unsupported,
                message: format!(
                    "here-document `{word}` is not closed: no `{word}` line before the end of the file"
                ),
                line,
                column,
            })
        }
    }
}

/// `parse-dockerfile` reads a line ending in an escaped escape character (`ENV C foo\\`) as a
/// continuation, which BuildKit does not. Rather than guess, such files are left alone.
fn check_trailing_escaped_escape(doc: &Document) -> Result<(), SyntaxError> {
    let esc = doc.escape as u8;
    // Most files have no two escape characters in a row anywhere: nothing to look at.
    if matches!(esc, b'\\' | b'`') {
        let bytes = doc.text.as_bytes();
        if !memchr::memchr_iter(esc, bytes).any(|i| bytes.get(i + 1) == Some(&esc)) {
            return Ok(());
        }
    }
    for ins in &doc.instructions {
        let mut offset = ins.extent.start;
        for line in doc.text[ins.extent.clone()].split_inclusive('\n') {
            let start = offset;
            offset += line.len();
            if ins
                .heredocs
                .iter()
                .any(|h| h.start <= start && start < h.end)
            {
                continue;
            }
            let body = line
                .trim_end_matches(['\n', '\r'])
                .trim_end_matches([' ', '\t']);
            if body.trim_start().starts_with('#') {
                continue;
            }
            let run = body.bytes().rev().take_while(|&b| b == esc).count();
            if run >= 2 && run % 2 == 0 {
                let (line, column) = doc.line_col(start + body.len() - run);
                return Err(SyntaxError {
                    kind: SyntaxErrorKind::Unsupported,
                    message: format!(
                        "a line ending in an escaped escape character (`{0}{0}`) is not handled yet",
                        doc.escape
                    ),
                    line,
                    column,
                });
            }
        }
    }
    Ok(())
}

const ENTRYPOINT: &str = "ENTRYPOINT";

/// How many [`Kind`]s there are (the last is `Workdir`).
pub(super) const KINDS: usize = Kind::Workdir as usize + 1;

/// True when `keyword` is on the same line as `from` (the wrapped instruction of an ONBUILD).
fn parsed_extent_contains(text: &str, from: usize, keyword: usize) -> bool {
    !text[from..keyword].contains('\n')
}

/// Masks each `ENTRYPOINT []` the parser stops at as `CMD       []` until the text parses or
/// fails for another reason; returns the masked text and the keyword offsets masked.
fn mask_empty_entrypoints(body: &str, first: pd::Error) -> Result<(String, Vec<usize>), pd::Error> {
    let mut masked = body.to_string();
    let mut offsets = Vec::new();
    let mut error = first;
    loop {
        let Some(offset) = empty_entrypoint_at(&masked, error.line()) else {
            return Err(error);
        };
        masked.replace_range(offset..offset + ENTRYPOINT.len(), "CMD       ");
        offsets.push(offset);
        match pd::parse(&masked).map(drop) {
            Ok(()) => return Ok((masked, offsets)),
            Err(e) => error = e,
        }
    }
}

/// The offset of the ENTRYPOINT keyword on 1-based `line` when that instruction (also wrapped in
/// ONBUILD) is an empty JSON array: `ENTRYPOINT []`, `ENTRYPOINT [ ]`, continued lines allowed.
fn empty_entrypoint_at(text: &str, line: usize) -> Option<usize> {
    let start = if line <= 1 {
        0
    } else {
        text.match_indices('\n').nth(line - 2)?.0 + 1
    };
    let bytes = text.as_bytes();
    let blank = |mut i: usize| {
        while i < bytes.len() && matches!(bytes[i], b' ' | b'\t') {
            i += 1;
        }
        i
    };
    let mut i = blank(start);
    let word_end = |i: usize| {
        i + bytes[i..]
            .iter()
            .take_while(|b| b.is_ascii_alphabetic())
            .count()
    };
    let mut end = word_end(i);
    if text[i..end].eq_ignore_ascii_case("onbuild") {
        i = blank(end);
        end = word_end(i);
    }
    if !text[i..end].eq_ignore_ascii_case(ENTRYPOINT) {
        return None;
    }
    let keyword = i;
    // Blanks and line continuations (`\` or a `# escape=` character, then the line break).
    let skip = |mut j: usize| loop {
        j = blank(j);
        let mut k = j;
        if bytes.get(k) == Some(&b'\\') {
            k = blank(k + 1);
            if bytes.get(k) == Some(&b'\r') {
                k += 1;
            }
            if bytes.get(k) == Some(&b'\n') {
                j = k + 1;
                continue;
            }
        }
        return j;
    };
    let j = skip(end);
    if j == end || bytes.get(j) != Some(&b'[') {
        return None;
    }
    let j = skip(j + 1);
    if bytes.get(j) != Some(&b']') {
        return None;
    }
    let j = blank(j + 1);
    match bytes.get(j) {
        None | Some(b'\n') => Some(keyword),
        Some(b'\r') if matches!(bytes.get(j + 1), None | Some(b'\n')) => Some(keyword),
        _ => None,
    }
}

fn classify(text: &str, bom: usize, e: &pd::Error) -> SyntaxError {
    let message = format!("{e:#}");
    // The parser's lines and columns are 1-based, counted in the text after a BOM (which sits
    // on line 1, before the first column restage reports, so lines are the same).
    let (line, column) = (e.line(), e.column());
    // The heredoc forms the parser does not accept (two heredocs in one RUN, a heredoc after a
    // program name, a heredoc opened on a continued line) are valid for BuildKit: a limitation,
    // but only when the error is inside the instruction that opens the heredoc. An error after
    // it (a misspelt keyword on a later line) is the file's.
    let heredoc = if line > 0 {
        opens_heredoc(&text[bom..], line)
    } else {
        None
    };
    // A bare `ENTRYPOINT` is valid for BuildKit (an empty shell-form entrypoint).
    let bare_entrypoint = line > 0
        && message
            .to_ascii_lowercase()
            .starts_with("entrypoint instruction requires at least one argument");
    let (kind, message, line, column) = if bare_entrypoint {
        (
            SyntaxErrorKind::Unsupported,
            "an ENTRYPOINT without arguments is not handled yet".to_string(),
            line,
            column,
        )
    } else if let Some(start) = heredoc {
        // Reported at the instruction that opens the heredoc, where the form is.
        (
            SyntaxErrorKind::Unsupported,
            format!(
                "here-document form not handled yet ({message} at line {line}, column {column})"
            ),
            start,
            1,
        )
    } else {
        (SyntaxErrorKind::Invalid, message, line, column)
    };
    SyntaxError {
        kind,
        message,
        line,
        column,
    }
}

/// When 1-based `line` belongs to an instruction with a here-document marker (`<<EOF`,
/// `<<-EOF`, `<<"EOF"`): its first line, a continued line, or a heredoc body, the 1-based line
/// where that instruction starts. Tracks continuations (the `# escape=` character or `\`) and
/// heredoc bodies up to their terminators.
pub(super) fn opens_heredoc(body: &str, line: usize) -> Option<usize> {
    let escape = escape_directive(body).unwrap_or('\\');
    let mut has_marker = false;
    let mut start = 1;
    let mut continued = false;
    // Terminators still to come, in order, and whether each may be indented with tabs (`<<-`).
    let mut pending: std::collections::VecDeque<(String, bool)> = Default::default();
    for (n, raw) in body.split('\n').enumerate() {
        let l = raw.strip_suffix('\r').unwrap_or(raw);
        if let Some((word, tabs)) = pending.front() {
            let candidate = if *tabs { l.trim_start_matches('\t') } else { l };
            if candidate == word {
                pending.pop_front();
            }
            if n + 1 == line {
                return has_marker.then_some(start);
            }
            continue;
        }
        let t = l.trim();
        if !continued && !t.is_empty() && !t.starts_with('#') {
            // A new instruction.
            has_marker = false;
            start = n + 1;
        }
        if !t.starts_with('#') {
            let markers = heredoc_markers(l);
            has_marker |= !markers.is_empty();
            pending.extend(markers);
            if !t.is_empty() {
                continued = t.ends_with(escape);
            }
        }
        if n + 1 == line {
            return has_marker.then_some(start);
        }
    }
    has_marker.then_some(start)
}

/// The `# escape=X` parser directive, if the file starts with one.
fn escape_directive(body: &str) -> Option<char> {
    for l in body.lines() {
        let t = l.trim();
        let rest = t.strip_prefix('#')?.trim_start();
        let Some(value) = rest
            .to_ascii_lowercase()
            .strip_prefix("escape")
            .map(|v| v.trim_start().to_string())
        else {
            continue;
        };
        return value.strip_prefix('=')?.trim().chars().next();
    }
    None
}

/// The here-document markers of a line: each terminator word and whether `<<-` allows tabs
/// before it.
pub(super) fn heredoc_markers(line: &str) -> Vec<(String, bool)> {
    let bytes = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(p) = line[i..].find("<<") {
        let mut j = i + p + 2;
        let tabs = bytes.get(j) == Some(&b'-');
        if tabs {
            j += 1;
        }
        let quote = match bytes.get(j) {
            Some(q @ (b'"' | b'\'')) => {
                j += 1;
                Some(*q)
            }
            _ => None,
        };
        let word_len = bytes[j..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
            .count();
        let starts_word = bytes
            .get(j)
            .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_');
        if starts_word {
            out.push((line[j..j + word_len].to_string(), tabs));
            j += word_len;
            if quote.is_some() && bytes.get(j).copied() == quote {
                j += 1;
            }
        }
        i = j;
    }
    out
}

/// A parser span moved by `by` (added modulo the word size: a region parsed after a prefix
/// moves back to its place in the file).
fn shift(span: &pd::Span, by: usize) -> Span {
    span.start.wrapping_add(by)..span.end.wrapping_add(by)
}

fn word(s: &pd::UnescapedString<'_>, bom: usize) -> Word {
    Word {
        span: shift(&s.span, bom),
        value: s.value.to_string(),
    }
}

fn words(list: &[pd::UnescapedString<'_>], bom: usize) -> Vec<Word> {
    list.iter().map(|w| word(w, bom)).collect()
}

fn flags(options: &[pd::Flag<'_>], bom: usize) -> Vec<Flag> {
    options
        .iter()
        .map(|f| Flag {
            span: shift(&f.span(), bom),
            name: f.name.value.to_string(),
            value: f.value.as_ref().map(|v| word(v, bom)),
        })
        .collect()
}

/// What the parser returned that this lowering does not know (a variant added by a newer
/// `parse-dockerfile`): the file is refused rather than modelled wrongly.
type Unknown = &'static str;

fn command(c: &pd::Command<'_>, bom: usize) -> Result<Form, Unknown> {
    Ok(match c {
        pd::Command::Exec(a) => Form::Exec {
            span: shift(&a.span, bom),
            words: words(&a.value, bom),
        },
        pd::Command::Shell(s) => Form::Shell {
            span: shift(&s.span, bom),
        },
        #[allow(unreachable_patterns)]
        _ => return Err("a command form"),
    })
}

/// The words of a COPY or ADD (its sources, then `dest`) and its here-documents.
fn sources(
    src: &[pd::Source<'_>],
    dest: &pd::UnescapedString<'_>,
    bom: usize,
) -> Result<(Vec<Word>, Vec<Span>), Unknown> {
    let mut words = Vec::with_capacity(src.len() + 1);
    let mut docs = Vec::new();
    for s in src {
        match s {
            pd::Source::Path(p) => words.push(word(p, bom)),
            pd::Source::HereDoc(h) => docs.push(shift(&h.span, bom)),
            #[allow(unreachable_patterns)]
            _ => return Err("a COPY/ADD source"),
        }
    }
    words.push(word(dest, bom));
    Ok((words, docs))
}

/// An instruction of the parser's, lowered: its kind, keyword, flags, words and form (the
/// extent and the arguments' end are set once the next instruction is known). The vectors are
/// made at their final size.
fn lower_instruction(ins: &pd::Instruction<'_>, bom: usize) -> Result<Instruction, Unknown> {
    let mut out = Instruction {
        kind: Kind::Run,
        extent: 0..0,
        keyword: 0..0,
        flags: Vec::new(),
        args: 0..0,
        words: Vec::new(),
        form: Form::None,
        heredocs: Vec::new(),
        stage: None,
        onbuild: None,
    };
    let one = |w: &pd::UnescapedString<'_>| vec![word(w, bom)];
    match ins {
        pd::Instruction::Add(i) => {
            out.kind = Kind::Add;
            out.keyword = shift(&i.add.span, bom);
            out.flags = flags(&i.options, bom);
            (out.words, out.heredocs) = sources(&i.src, &i.dest, bom)?;
        }
        pd::Instruction::Copy(i) => {
            out.kind = Kind::Copy;
            out.keyword = shift(&i.copy.span, bom);
            out.flags = flags(&i.options, bom);
            (out.words, out.heredocs) = sources(&i.src, &i.dest, bom)?;
        }
        pd::Instruction::Arg(i) => {
            out.kind = Kind::Arg;
            out.keyword = shift(&i.arg.span, bom);
            out.words = one(&i.arguments);
        }
        pd::Instruction::Cmd(i) => {
            out.kind = Kind::Cmd;
            out.keyword = shift(&i.cmd.span, bom);
            out.form = command(&i.arguments, bom)?;
        }
        pd::Instruction::Entrypoint(i) => {
            out.kind = Kind::Entrypoint;
            out.keyword = shift(&i.entrypoint.span, bom);
            out.form = command(&i.arguments, bom)?;
        }
        pd::Instruction::Env(i) => {
            out.kind = Kind::Env;
            out.keyword = shift(&i.env.span, bom);
            out.words = one(&i.arguments);
        }
        pd::Instruction::Expose(i) => {
            out.kind = Kind::Expose;
            out.keyword = shift(&i.expose.span, bom);
            out.words = words(&i.arguments, bom);
        }
        pd::Instruction::From(i) => {
            out.kind = Kind::From;
            out.keyword = shift(&i.from.span, bom);
            out.flags = flags(&i.options, bom);
            out.words = Vec::with_capacity(1 + usize::from(i.as_.is_some()));
            out.words.push(word(&i.image, bom));
            if let Some((_, name)) = &i.as_ {
                out.words.push(word(name, bom));
            }
        }
        pd::Instruction::Healthcheck(i) => {
            out.kind = Kind::Healthcheck;
            out.keyword = shift(&i.healthcheck.span, bom);
            out.flags = flags(&i.options, bom);
            match &i.arguments {
                pd::HealthcheckArguments::Cmd { arguments, .. } => {
                    out.form = command(arguments, bom)?;
                }
                pd::HealthcheckArguments::None { .. } => {}
                #[allow(unreachable_patterns)]
                _ => return Err("a HEALTHCHECK form"),
            }
        }
        pd::Instruction::Label(i) => {
            out.kind = Kind::Label;
            out.keyword = shift(&i.label.span, bom);
            out.words = one(&i.arguments);
        }
        pd::Instruction::Maintainer(i) => {
            out.kind = Kind::Maintainer;
            out.keyword = shift(&i.maintainer.span, bom);
            out.words = one(&i.name);
        }
        pd::Instruction::Onbuild(i) => {
            out.kind = Kind::Onbuild;
            out.keyword = shift(&i.onbuild.span, bom);
            let inner = lower_instruction(&i.instruction, bom)?;
            out.onbuild = Some(inner.kind);
        }
        pd::Instruction::Run(i) => {
            out.kind = Kind::Run;
            out.keyword = shift(&i.run.span, bom);
            out.flags = flags(&i.options, bom);
            out.form = command(&i.arguments, bom)?;
            out.heredocs = i.here_docs.iter().map(|h| shift(&h.span, bom)).collect();
        }
        pd::Instruction::Shell(i) => {
            out.kind = Kind::Shell;
            out.keyword = shift(&i.shell.span, bom);
            out.words = words(&i.arguments, bom);
        }
        pd::Instruction::Stopsignal(i) => {
            out.kind = Kind::Stopsignal;
            out.keyword = shift(&i.stopsignal.span, bom);
            out.words = one(&i.arguments);
        }
        pd::Instruction::User(i) => {
            out.kind = Kind::User;
            out.keyword = shift(&i.user.span, bom);
            out.words = one(&i.arguments);
        }
        pd::Instruction::Volume(i) => {
            out.kind = Kind::Volume;
            out.keyword = shift(&i.volume.span, bom);
            out.words = match &i.arguments {
                pd::JsonOrStringArray::Json(a) => words(&a.value, bom),
                pd::JsonOrStringArray::String(a) => words(a, bom),
            };
        }
        pd::Instruction::Workdir(i) => {
            out.kind = Kind::Workdir;
            out.keyword = shift(&i.workdir.span, bom);
            out.words = one(&i.arguments);
        }
        #[allow(unreachable_patterns)]
        _ => return Err("an instruction"),
    }
    // The arguments start at the first non-blank byte after the keyword and flags; the caller
    // skips blanks and sets the end once the extent is known.
    let after = out.flags.last().map_or(out.keyword.end, |f| f.span.end);
    out.args = after..after;
    Ok(out)
}

/// Skips spaces, tabs, and escaped line breaks from `from`, not past `end`.
fn skip_blanks(text: &str, from: usize, end: usize, escape: char) -> usize {
    let bytes = text.as_bytes();
    let esc = escape as u8;
    let mut i = from;
    while i < end {
        match bytes[i] {
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            b if b == esc => {
                let mut j = i + 1;
                while j < end && matches!(bytes[j], b' ' | b'\t' | b'\r') {
                    j += 1;
                }
                if j < end && bytes[j] == b'\n' {
                    i = j + 1;
                } else {
                    break;
                }
            }
            _ => break,
        }
    }
    i.min(end)
}

fn line_start(text: &str, offset: usize) -> usize {
    memchr::memrchr(b'\n', &text.as_bytes()[..offset]).map_or(0, |p| p + 1)
}

/// End (after the terminator) of the last line in `start..end` that is neither blank nor a
/// comment; the first line always counts.
fn last_content_line_end(text: &str, start: usize, end: usize) -> usize {
    // From the last line backwards: usually the last line is the one.
    let region = &text[start..end];
    let bytes = region.as_bytes();
    let mut line_end = bytes.len();
    while line_end > 0 {
        let line_start = memchr::memrchr(b'\n', &bytes[..line_end - 1]).map_or(0, |p| p + 1);
        if line_start == 0 || is_content_line(&region[line_start..line_end]) {
            return start + line_end;
        }
        line_end = line_start;
    }
    end
}

/// True for a line that is neither blank nor a comment (`line.trim()` neither empty nor
/// starting with `#`), looking at bytes while they are ASCII.
fn is_content_line(line: &str) -> bool {
    match line
        .bytes()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c))
    {
        None => false,
        Some(b'#') => false,
        Some(b) if b.is_ascii() => true,
        Some(_) => {
            let t = line.trim();
            !(t.is_empty() || t.starts_with('#'))
        }
    }
}

/// The offset before the line terminator that ends at `end` (if any).
fn trim_line_end(text: &str, end: usize) -> usize {
    let bytes = text.as_bytes();
    let mut e = end;
    if e > 0 && bytes[e - 1] == b'\n' {
        e -= 1;
        if e > 0 && bytes[e - 1] == b'\r' {
            e -= 1;
        }
    }
    e
}

fn detect_style(text: &str, instructions: &[Instruction]) -> Style {
    let line_ending = match memchr::memchr(b'\n', text.as_bytes()) {
        Some(p) if p > 0 && text.as_bytes()[p - 1] == b'\r' => LineEnding::CrLf,
        _ => LineEnding::Lf,
    };
    let lower = instructions
        .iter()
        .filter(|i| {
            text[i.keyword.clone()]
                .bytes()
                .all(|b| b.is_ascii_lowercase())
        })
        .count();
    let lowercase_keywords = lower * 2 > instructions.len();
    let mut continuation_indent = None;
    'outer: for ins in instructions {
        if ins.kind != Kind::Run || !ins.heredocs.is_empty() {
            continue;
        }
        for line in text[ins.extent.clone()].split_inclusive('\n').skip(1) {
            let blanks = line
                .bytes()
                .take_while(|b| *b == b' ' || *b == b'\t')
                .count();
            if blanks > 0 && !line.trim().is_empty() {
                continuation_indent = Some(line[..blanks].to_string());
                break 'outer;
            }
        }
    }
    Style {
        line_ending,
        lowercase_keywords,
        continuation_indent: continuation_indent.unwrap_or_else(|| "    ".to_string()),
        final_newline: text.ends_with('\n'),
    }
}

#[cfg(test)]
mod tests {
    use super::{is_content_line, last_content_line_end, lower_streamed, parse_owned, parse_whole};

    /// The streamed lowering gives what the whole parse gives, document or error, and steps
    /// aside whenever it cannot be sure.
    #[test]
    fn streamed_parse_is_the_whole_parse() {
        let cases = [
            ("FROM a\nRUN b \\\n  c\n# d\n\nCMD [\"e\"]\n", true),
            (
                "\u{feff}# syntax=x\nARG V=1\nFROM a:$V AS b\nCOPY --from=b . .\n",
                true,
            ),
            ("FROM a AS b\nFROM c AS B\n", true),
            ("FROM a AS b\nFROM c AS b\n", false),
            ("# escape=`\nFROM a\nRUN b `\n  c\n", false),
            ("FROM a\nRUN echo `date`\n", false),
            ("RUN a\nFROM b\n", false),
            ("ARG a\n", false),
            ("FROM a\nENTRYPOINT []\nONBUILD ENTRYPOINT [ ]\n", false),
            ("FROM a\nENTRYPOINT\n", false),
            ("FROM a\nFROBNICATE b\n", false),
            (
                "FROM a\nRUN <<EOF\nx\nEOF\nCOPY <<A <<B /d/\na\nA\nb\nB\n",
                true,
            ),
            (
                "FROM a\nONBUILD RUN b\nHEALTHCHECK NONE\nVOLUME [\"/v\"]\nSHELL [\"sh\"]\n",
                true,
            ),
            ("FROM a\r\nrun b\r\nexpose 1 2\r\n", true),
        ];
        for (text, streamed) in cases {
            let bom = if text.starts_with('\u{feff}') { 3 } else { 0 };
            assert_eq!(
                lower_streamed(&text[bom..], bom).is_some(),
                streamed,
                "{text:?}"
            );
            match (
                parse_owned(text.to_string()),
                parse_whole(text.to_string(), bom),
            ) {
                (Ok(a), Ok(b)) => assert!(a.same_model(&b), "{text:?}"),
                (Err(a), Err(b)) => assert_eq!(a, b, "{text:?}"),
                (a, b) => panic!("{text:?}: {a:?} against {b:?}"),
            }
        }
    }

    #[test]
    fn content_lines_are_what_trim_says() {
        for line in [
            "",
            "\n",
            " \t\r\n",
            "\x0b\x0c#x\n",
            "\x0b",
            "\u{a0}",
            "\u{a0}# c\n",
            "\u{2003}x",
            "é",
            "  RUN x\n",
            "#",
            " # c",
            "\u{85}\n",
            "x#",
        ] {
            let t = line.trim();
            assert_eq!(
                is_content_line(line),
                !(t.is_empty() || t.starts_with('#')),
                "{line:?}"
            );
        }
    }

    /// The definition: the end of the last line in `start..end` that is neither blank nor a
    /// comment, the first line always counting.
    fn by_definition(text: &str, start: usize, end: usize) -> usize {
        let mut result = None;
        let mut offset = start;
        for (n, line) in text[start..end].split_inclusive('\n').enumerate() {
            offset += line.len();
            let t = line.trim();
            if n == 0 || !(t.is_empty() || t.starts_with('#')) {
                result = Some(offset);
            }
        }
        result.unwrap_or(end)
    }

    #[test]
    fn last_content_line_end_scans_back_to_the_definition() {
        let text = "RUN a \\\n  b\n\n# c\n  \r\nCMD x\n# tail\n\nRUN y\r\n  # z\n\nEND";
        for start in 0..=text.len() {
            for end in start..=text.len() {
                assert_eq!(
                    last_content_line_end(text, start, end),
                    by_definition(text, start, end),
                    "{start}..{end}"
                );
            }
        }
    }
}
