//! A small, conservative reader of shell-form commands: it splits a `RUN` line into simple
//! commands (separated by `&&`, `||`, `;` or `|`) with their byte spans and
//! unquoted words, and gives up (`None`) on anything it does not fully understand — subshells,
//! command substitution, here-documents, control flow — so a transform never acts on a guess.

use std::ops::Range;

/// How a simple command is joined to the one before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Separator {
    /// The first command.
    Start,
    And,
    Or,
    Semicolon,
    Pipe,
}

/// One simple command of a shell line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimpleCommand {
    /// The command's text in the document (from its first to its last word).
    pub span: Range<usize>,
    /// Its words with quotes and escapes removed. Leading `NAME=value` assignments included.
    pub words: Vec<String>,
    /// The separator before this command.
    pub separator: Separator,
    /// Some word holds a parameter expansion or command substitution (`$VAR`, `${..}`, `$(..)`,
    /// backticks), kept verbatim in the word: its real value is only known when the shell runs.
    pub expands: bool,
}

impl SimpleCommand {
    /// The words after leading `NAME=value` assignments.
    pub fn program_words(&self) -> &[String] {
        let n = self.words.iter().take_while(|w| is_assignment(w)).count();
        &self.words[n..]
    }

    /// The leading `NAME=value` assignments.
    pub fn assignments(&self) -> &[String] {
        let n = self.words.iter().take_while(|w| is_assignment(w)).count();
        &self.words[..n]
    }
}

/// `NAME=value` with a valid shell name.
pub fn is_assignment(word: &str) -> bool {
    // One pass that stops at the first byte that cannot continue a name: most words are not
    // assignments and end there. A byte of a non-ASCII character is never part of a name.
    for (i, b) in word.bytes().enumerate() {
        match b {
            b'=' => return i > 0,
            b'_' | b'a'..=b'z' | b'A'..=b'Z' => {}
            b'0'..=b'9' if i > 0 => {}
            _ => return false,
        }
    }
    false
}

const KEYWORDS: &[&str] = &[
    "if", "then", "else", "elif", "fi", "for", "while", "until", "do", "done", "case", "esac",
    "function", "select", "{", "}", "!", "[[", "]]", "time", "coproc",
];

/// Splits `text` (found at `base` in the document) into simple commands. `escape` is the
/// Dockerfile escape character: an escape followed by a line break is a line continuation.
/// Returns `None` when the text uses shell syntax this reader does not model.
#[allow(unused_assignments)] // the word-state macros reset state that a last use may not read
pub fn split(text: &str, base: usize, escape: char) -> Option<Vec<SimpleCommand>> {
    let bytes = text.as_bytes();
    let esc = escape as u8;
    let mut out = Vec::new();
    let mut words: Vec<String> = Vec::with_capacity(16);
    let mut word = String::new();
    let mut in_word = false;
    let mut cmd_start: Option<usize> = None;
    let mut cmd_end = 0;
    let mut sep = Separator::Start;
    let mut expands = false;
    let mut i = 0;
    let mut line_start = true;

    macro_rules! end_word {
        () => {
            if in_word {
                words.push(std::mem::take(&mut word));
                in_word = false;
            }
        };
    }
    macro_rules! end_command {
        ($next:expr) => {{
            end_word!();
            // A separator needs a command before it (`&& x` and `a && ; b` are not modelled).
            let start = cmd_start.take()?;
            if words
                .first()
                .is_some_and(|w| KEYWORDS.contains(&w.as_str()))
            {
                return None;
            }
            out.push(SimpleCommand {
                span: base + start..base + cmd_end,
                // Collected from the scratch list: one allocation of the right size, and the
                // scratch keeps its capacity for the next command.
                words: words.drain(..).collect(),
                separator: sep,
                expands,
            });
            expands = false;
            sep = $next;
        }};
    }

    while i < bytes.len() {
        let b = bytes[i];
        // Comment lines inside a continued RUN are removed by the Dockerfile parser.
        if line_start {
            let rest = &text[i..];
            let trimmed = rest.trim_start_matches([' ', '\t']);
            if trimmed.starts_with('#') {
                let skip = rest.len() - trimmed.len();
                let nl = trimmed.find('\n').map_or(trimmed.len(), |p| p + 1);
                i += skip + nl;
                continue;
            }
            line_start = false;
        }
        if b == esc {
            // Line continuation?
            let mut j = i + 1;
            while j < bytes.len() && matches!(bytes[j], b' ' | b'\t' | b'\r') {
                j += 1;
            }
            if j < bytes.len() && bytes[j] == b'\n' {
                i = j + 1;
                line_start = true;
                continue;
            }
            if j >= bytes.len() {
                i = j;
                continue;
            }
            if esc != b'\\' {
                return None;
            }
        }
        match b {
            b' ' | b'\t' | b'\r' => {
                end_word!();
                i += 1;
            }
            b'\n' => {
                // A line break without continuation only happens in heredocs: not modelled.
                return None;
            }
            b'\\' => {
                let c = text[i + 1..].chars().next()?;
                word.push(c);
                in_word = true;
                cmd_start.get_or_insert(i);
                i += 1 + c.len_utf8();
                cmd_end = i;
            }
            b'\'' => {
                let close = text[i + 1..].find('\'')?;
                let inner = &text[i + 1..i + 1 + close];
                if inner.contains('\n') {
                    return None;
                }
                word.push_str(inner);
                in_word = true;
                cmd_start.get_or_insert(i);
                i += close + 2;
                cmd_end = i;
            }
            b'"' => {
                cmd_start.get_or_insert(i);
                in_word = true;
                i += 1;
                loop {
                    let c = *bytes.get(i)?;
                    match c {
                        b'"' => {
                            i += 1;
                            break;
                        }
                        b'$' | b'`' => {
                            let len = expansion_len(&text[i..])?;
                            word.push_str(&text[i..i + len]);
                            expands = true;
                            i += len;
                        }
                        b'\n' => return None,
                        b'\\' => {
                            let n = text[i + 1..].chars().next()?;
                            if !matches!(n, '"' | '\\' | '$' | '`') {
                                word.push('\\');
                            }
                            word.push(n);
                            i += 1 + n.len_utf8();
                        }
                        _ => {
                            let ch = text[i..].chars().next()?;
                            word.push(ch);
                            i += ch.len_utf8();
                        }
                    }
                }
                cmd_end = i;
            }
            b'&' if bytes.get(i + 1) == Some(&b'&') => {
                end_command!(Separator::And);
                i += 2;
            }
            b'|' if bytes.get(i + 1) == Some(&b'|') => {
                end_command!(Separator::Or);
                i += 2;
            }
            b'|' => {
                end_command!(Separator::Pipe);
                i += 1;
            }
            b';' => {
                end_command!(Separator::Semicolon);
                i += 1;
            }
            b'$' | b'`' => {
                let len = expansion_len(&text[i..])?;
                word.push_str(&text[i..i + len]);
                in_word = true;
                expands = true;
                cmd_start.get_or_insert(i);
                i += len;
                cmd_end = i;
            }
            b'(' | b')' | b'<' | b'>' | b'&' | b'{' | b'}' | b'*' | b'?' | b'[' | b'~' | b'#' => {
                // Variables, substitution, subshells, redirects, background jobs, globs:
                // allowed inside a word only where they are plain characters.
                match b {
                    b'(' | b')' | b'<' | b'>' | b'&' => return None,
                    b'#' if !in_word => return None,
                    _ => {
                        word.push(b as char);
                        in_word = true;
                        cmd_start.get_or_insert(i);
                        i += 1;
                        cmd_end = i;
                    }
                }
            }
            _ => {
                // A run of plain characters is copied at once. Every byte that ends it is
                // ASCII, so the run ends on a character boundary.
                let run = bytes[i..]
                    .iter()
                    .position(|&c| c == esc || !is_plain(c))
                    .unwrap_or(bytes.len() - i)
                    .max(1);
                let run = if text.is_char_boundary(i + run) {
                    run
                } else {
                    text[i..].chars().next()?.len_utf8()
                };
                word.push_str(&text[i..i + run]);
                in_word = true;
                cmd_start.get_or_insert(i);
                i += run;
                cmd_end = i;
            }
        }
    }
    end_word!();
    if let Some(start) = cmd_start.take() {
        if words
            .first()
            .is_some_and(|w| KEYWORDS.contains(&w.as_str()))
        {
            return None;
        }
        out.push(SimpleCommand {
            span: base + start..base + cmd_end,
            words,
            separator: sep,
            expands,
        });
    } else if !matches!(sep, Separator::Start | Separator::Semicolon) {
        // A trailing `&&`, `||` or `|` is a shell syntax error; a trailing `;` only ends the
        // last command (`set -eux; apt-get update;`).
        return None;
    }
    Some(out)
}

/// A byte [`split`] copies into a word as it is: not a blank, quote, escape, operator,
/// expansion or glob character.
fn is_plain(b: u8) -> bool {
    !matches!(
        b,
        b' ' | b'\t'
            | b'\r'
            | b'\n'
            | b'\\'
            | b'\''
            | b'"'
            | b'&'
            | b'|'
            | b';'
            | b'$'
            | b'`'
            | b'('
            | b')'
            | b'<'
            | b'>'
            | b'{'
            | b'}'
            | b'*'
            | b'?'
            | b'['
            | b'~'
            | b'#'
    )
}

/// The length of the expansion at the start of `text` (`$NAME`, `${...}`, `$(...)`, `$((...))`,
/// `` `...` ``, `$1`, `$@`), or `None` when it is not closed on this line or is not one.
fn expansion_len(text: &str) -> Option<usize> {
    let b = text.as_bytes();
    match (b.first()?, b.get(1)) {
        (b'`', _) => {
            let close = text[1..].find('`')?;
            let inner = &text[1..1 + close];
            (!inner.contains('\n')).then_some(close + 2)
        }
        (b'$', Some(b'(' | b'{')) => {
            let (open, closing) = if b[1] == b'(' {
                (b'(', b')')
            } else {
                (b'{', b'}')
            };
            let mut depth = 0usize;
            let mut quote: Option<u8> = None;
            for (k, &c) in b.iter().enumerate().skip(1) {
                match (quote, c) {
                    (_, b'\n') => return None,
                    (Some(q), c) if c == q => quote = None,
                    (Some(_), _) => {}
                    (None, b'\'' | b'"') => quote = Some(c),
                    (None, c) if c == open => depth += 1,
                    (None, c) if c == closing => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(k + 1);
                        }
                    }
                    _ => {}
                }
            }
            None
        }
        (b'$', Some(c)) if c.is_ascii_alphabetic() || *c == b'_' => Some(
            1 + b[1..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
                .count(),
        ),
        (b'$', Some(c))
            if c.is_ascii_digit()
                || matches!(c, b'@' | b'*' | b'#' | b'?' | b'$' | b'!' | b'-') =>
        {
            Some(2)
        }
        _ => None,
    }
}

/// The words of every simple command of `text` (see [`split`]), in order; where `split` gives
/// up, the text split on whitespace: for reading which programs a line names, never for edits.
pub fn words(text: &str, base: usize, escape: char) -> Vec<String> {
    match split(text, base, escape) {
        Some(cmds) => cmds.into_iter().flat_map(|c| c.words).collect(),
        None => text.split_whitespace().map(str::to_string).collect(),
    }
}

/// True when a shell-form command is a plain list of words that a shell would pass through
/// unchanged: no variables, quotes, globs, pipes, lists, redirects, escapes, comments or `~`.
pub fn is_plain_words(text: &str) -> bool {
    !text.trim().is_empty()
        && text.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(
                    c,
                    ' ' | '\t' | '-' | '_' | '.' | '/' | ':' | '=' | ',' | '@' | '+' | '%'
                )
        })
}

/// The last path component of a program or path (`/sbin/tini` -> `tini`; the whole text when
/// it holds no `/`): `text.rsplit('/').next()` with one byte search.
pub fn base_name(text: &str) -> &str {
    match memchr::memrchr(b'/', text.as_bytes()) {
        // `/` is ASCII, so the byte after it starts a character.
        Some(i) => &text[i + 1..],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A word is an assignment when what comes before its first `=` is a shell name: by
    /// definition, against every word of a set that takes each path.
    #[test]
    fn assignments_are_words_that_start_with_a_name_and_an_equals_sign() {
        let by_definition = |word: &str| match word.split_once('=') {
            Some((name, _)) => {
                !name.is_empty()
                    && name.chars().enumerate().all(|(i, c)| {
                        c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit())
                    })
            }
            None => false,
        };
        let words = [
            "",
            "=",
            "=x",
            "A=",
            "A=1",
            "a_b9=x=y",
            "_=",
            "9A=1",
            "A9=",
            "npm",
            "A",
            "A-B=1",
            "A.B=1",
            "é=1",
            "Aé=1",
            "A=é",
            "--flag=x",
            "PATH=$PATH:/x",
            "a b=c",
            "A\u{0}=1",
        ];
        let mut yes = 0;
        for w in words {
            assert_eq!(is_assignment(w), by_definition(w), "{w:?}");
            yes += usize::from(by_definition(w));
        }
        assert!(yes >= 5 && yes < words.len() - 5);
    }

    fn words(text: &str) -> Option<Vec<Vec<String>>> {
        split(text, 0, '\\').map(|cmds| cmds.into_iter().map(|c| c.words).collect())
    }

    #[test]
    fn base_name_is_the_text_after_the_last_slash() {
        for text in [
            "",
            "/",
            "tini",
            "/sbin/tini",
            "./bin/app",
            "dir/",
            "//x",
            "a/b/c",
            "é/ü",
            "/usr/bin/ß",
        ] {
            assert_eq!(
                base_name(text),
                text.rsplit('/').next().unwrap_or(text),
                "{text:?}"
            );
        }
        assert_eq!(base_name("/usr/local/bin/node"), "node");
        assert_eq!(base_name("dir/"), "");
    }

    #[test]
    fn splits_lists_and_keeps_spans() {
        let text = "apt-get update && apt-get install -y gcc; npm ci --omit=dev";
        let cmds = split(text, 10, '\\').unwrap();
        assert_eq!(cmds.len(), 3);
        assert_eq!(cmds[1].words, ["apt-get", "install", "-y", "gcc"]);
        assert_eq!(cmds[1].separator, Separator::And);
        assert_eq!(cmds[2].separator, Separator::Semicolon);
        assert_eq!(
            &text[cmds[2].span.start - 10..cmds[2].span.end - 10],
            "npm ci --omit=dev"
        );
    }

    #[test]
    fn a_trailing_semicolon_ends_the_last_command() {
        let text = "set -eux; \\\n    apt-get update; \\\n    apt-get install -y gcc; \\\n";
        let cmds = split(text, 0, '\\').unwrap();
        assert_eq!(cmds.len(), 3);
        assert_eq!(cmds[2].words, ["apt-get", "install", "-y", "gcc"]);
        assert_eq!(cmds[2].separator, Separator::Semicolon);
        assert_eq!(
            &text[cmds[2].span.clone()],
            "apt-get install -y gcc",
            "the span stops before the `;`"
        );
        assert_eq!(
            words("npm ci ;  "),
            Some(vec![vec!["npm".to_string(), "ci".to_string()]])
        );
    }

    #[test]
    fn plain_runs_end_at_every_special_character() {
        let text = "echo h\u{e9}llo w\u{f6}rld\u{2192}x a#b c*d e\\ f\u{e9}'g h'$HOME~";
        let cmds = split(text, 0, '\\').unwrap();
        assert_eq!(
            cmds[0].words,
            [
                "echo",
                "h\u{e9}llo",
                "w\u{f6}rld\u{2192}x",
                "a#b",
                "c*d",
                "e f\u{e9}g h$HOME~"
            ]
        );
        assert_eq!(cmds[0].span, 0..text.len());
        assert!(cmds[0].expands);
        assert_eq!(
            words("a\u{e9}&&b"),
            Some(vec![vec!["a\u{e9}".to_string()], vec!["b".to_string()]])
        );
    }

    #[test]
    fn continuations_quotes_and_comment_lines() {
        let text = "pip install \\\n    --no-cache-dir \\\n# a comment\n    -r 'requirements.txt'";
        assert_eq!(
            words(text).unwrap(),
            vec![vec![
                "pip",
                "install",
                "--no-cache-dir",
                "-r",
                "requirements.txt"
            ]]
        );
    }

    #[test]
    fn gives_up_on_what_it_does_not_model() {
        for text in [
            "echo $(date",
            "cd /app && (make)",
            "if true; then echo; fi",
            "echo `id",
            "cat > x",
            "sleep 1 &",
            "&& echo",
            "echo &&",
            "echo ||",
            "echo |",
            "echo; ;",
            "; echo",
            ";",
        ] {
            assert_eq!(words(text), None, "{text}");
        }
    }

    #[test]
    fn expansions_stay_verbatim_and_are_flagged() {
        let cmds = split(
            "mkdir -p out && javac -d out $(find src -name '*.java') && echo \"$HOME/x\" ${A:-b}",
            0,
            '\\',
        )
        .unwrap();
        assert_eq!(
            cmds[1].words,
            ["javac", "-d", "out", "$(find src -name '*.java')"]
        );
        assert!(cmds[1].expands && !cmds[0].expands);
        assert_eq!(cmds[2].words, ["echo", "$HOME/x", "${A:-b}"]);
        let sub = split("go build -o `basename $PWD` .", 0, '\\').unwrap();
        assert_eq!(sub[0].words[3], "`basename $PWD`");
    }

    #[test]
    fn assignments_and_program_words() {
        let cmds = split("CGO_ENABLED=0 GOOS=linux go build -o /app .", 0, '\\').unwrap();
        assert_eq!(cmds[0].assignments(), ["CGO_ENABLED=0", "GOOS=linux"]);
        assert_eq!(cmds[0].program_words()[0], "go");
    }

    #[test]
    fn words_of_a_line() {
        assert_eq!(
            super::words("a 'b c' && d \"e\"", 0, '\\'),
            ["a", "b c", "d", "e"]
        );
        // Where the splitter gives up: whitespace.
        assert_eq!(super::words("a > b", 0, '\\'), ["a", ">", "b"]);
    }

    #[test]
    fn plain_words() {
        assert!(is_plain_words("node dist/server.js --port=3000"));
        for text in [
            "node $APP",
            "npm start && x",
            "a 'b'",
            "ls *.js",
            "cd ~",
            "a\\ b",
            "a | b",
            "a > b",
        ] {
            assert!(!is_plain_words(text), "{text}");
        }
    }
}
