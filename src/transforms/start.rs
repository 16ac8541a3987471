//! How a container starts: the last ENTRYPOINT and the last CMD of a stage (or of a chain of
//! stages), their words, the command Docker runs, and the program it starts once wrappers (init
//! processes, shells, `env`, `exec`: the knowledge's `[[wrapper]]`) are skipped, with the build
//! tool it runs when that compiles the app at start (`[[toolchain]]`). multi-stage and
//! non-root-user both read start commands through this module.

use crate::knowledge::Knowledge;
use crate::shell;
use crate::syntax::{Document, Form, Kind};

/// One ENTRYPOINT or CMD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part<'a> {
    /// Its instruction index.
    pub index: usize,
    /// Shell form (run by the stage's SHELL, `/bin/sh -c` by default).
    pub shell_form: bool,
    /// The arguments Docker passes: the exec-form elements as written, or the words of the
    /// shell-form text (split like a shell would; on whitespace where `shell.rs` gives up).
    pub args: &'a [String],
    /// `args`, with every exec-form element split into words too (the script of
    /// `sh -c "..."`): what the wrappers and the program are looked for in.
    pub words: &'a [String],
    /// `ENTRYPOINT []` (resets the image's entrypoint) or a form restage does not read.
    pub empty: bool,
}

/// The start command of a stage or chain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StartCommand<'a> {
    pub entrypoint: Option<Part<'a>>,
    pub cmd: Option<Part<'a>>,
}

impl<'a> StartCommand<'a> {
    /// The last ENTRYPOINT and the last CMD among the instructions `indices` of `doc`.
    pub fn of(doc: &'a Document, indices: impl IntoIterator<Item = usize>) -> StartCommand<'a> {
        let instructions = doc.instructions();
        let (mut entrypoint, mut cmd) = (None, None);
        for ix in indices {
            match instructions[ix].kind {
                Kind::Entrypoint => entrypoint = Some(ix),
                Kind::Cmd => cmd = Some(ix),
                _ => {}
            }
        }
        StartCommand {
            entrypoint: entrypoint.map(|ix| part(doc, ix)),
            cmd: cmd.map(|ix| part(doc, ix)),
        }
    }

    /// ENTRYPOINT then CMD, those set.
    pub fn parts(&self) -> impl Iterator<Item = &Part<'a>> {
        self.entrypoint.iter().chain(self.cmd.iter())
    }

    /// What names the program Docker runs: the ENTRYPOINT unless it is empty (`ENTRYPOINT []`),
    /// else the CMD.
    pub fn effective(&self) -> Option<&Part<'a>> {
        self.entrypoint
            .as_ref()
            .filter(|e| !e.empty)
            .or(self.cmd.as_ref())
    }

    /// The program started, after wrappers, flags and assignments: the ENTRYPOINT's words, then
    /// the CMD's (its arguments when there is an ENTRYPOINT). Its part and its position in
    /// that part's words.
    pub fn program(&self, knowledge: &Knowledge) -> Option<(&Part<'a>, usize)> {
        self.parts().find_map(|p| {
            p.words
                .iter()
                .position(|w| !is_wrapper_word(knowledge, w))
                .map(|at| (p, at))
        })
    }

    /// The shell the container opens when all it starts is an interactive shell (`CMD
    /// ["bash"]`, `ENTRYPOINT /bin/sh`, `CMD ["tini", "--", "bash", "-l"]`): what runs in it is
    /// then typed by whoever attaches, like an image without a start command. Init processes
    /// and `env`/`exec` before the shell are skipped; any other word (a script, `-c`) is a
    /// command, not a session.
    pub fn interactive_shell(&self, knowledge: &Knowledge) -> Option<&str> {
        let (args, then): (&[String], &[String]) =
            match self.entrypoint.as_ref().filter(|e| !e.empty) {
                Some(e) => (e.args, self.cmd.as_ref().map_or(&[], |c| c.args)),
                None => (self.cmd.as_ref()?.args, &[]),
            };
        let mut words = args
            .iter()
            .chain(then)
            .map(String::as_str)
            .skip_while(|w| !is_shell(w) && is_wrapper_word(knowledge, w));
        let shell = words.next().filter(|w| is_shell(w))?;
        words
            .all(|w| matches!(w, "-l" | "-i" | "--login" | "-il" | "-li"))
            .then_some(shell)
    }

    /// Whether an exec-form ENTRYPOINT or CMD starts a shell by name (`["/bin/sh", "-c", ...]`,
    /// `["bash", "start.sh"]`): the image must have it, as it must for a shell form.
    pub fn runs_shell(&self) -> bool {
        self.parts()
            .flat_map(|p| p.args.iter())
            .any(|w| is_shell(w))
    }

    /// The first shell script the start command runs (`./start.sh`, `sh -c "./boot.sh && ..."`,
    /// `bash /app/run.bash`), by its name ending: a program in a file restage does not read.
    pub fn script(&self) -> Option<&str> {
        self.parts()
            .flat_map(|p| p.words.iter())
            .map(String::as_str)
            .find(|w| {
                let base = base_name(w).to_ascii_lowercase();
                (base.ends_with(".sh") || base.ends_with(".bash")) && base.len() > 3
            })
    }

    /// The build tool the start command runs when it compiles the app at start (`go run`,
    /// `dotnet watch`, `mvnw`), named as written (base name and subcommand).
    pub fn toolchain(&self, knowledge: &Knowledge) -> Option<String> {
        let mut words = self.parts().flat_map(|p| p.words.iter());
        let program = words.find(|w| !is_wrapper_word(knowledge, w))?;
        let sub = words.next().map(String::as_str);
        knowledge.toolchain(base_name(program), sub)
    }
}

/// The shells a container may open for a session.
const SHELLS: &[&str] = &["sh", "bash", "ash", "dash", "zsh"];

/// Whether `program` (a name or a path) is a POSIX-style shell.
pub fn is_shell(program: &str) -> bool {
    SHELLS.contains(&base_name(program))
}

pub use crate::shell::base_name;

/// A word that is not the program: a wrapper, a flag or a `NAME=value` assignment.
fn is_wrapper_word(knowledge: &Knowledge, word: &str) -> bool {
    knowledge.is_wrapper(base_name(word)) || word.starts_with('-') || shell::is_assignment(word)
}

fn part(doc: &Document, index: usize) -> Part<'_> {
    let ins = &doc.instructions()[index];
    // The words are split once per document (a memo in it, kept for every instruction) and
    // borrowed, however often a stage's start command is read.
    let words_of = || match &ins.form {
        Form::Exec { words, .. } => (
            words.iter().map(|w| w.value.clone()).collect(),
            words
                .iter()
                .flat_map(|w| shell::words(&w.value, 0, '\\'))
                .collect(),
        ),
        Form::Shell { span } => {
            let words = shell::words(doc.slice(span), span.start, doc.escape());
            (words.clone(), words)
        }
        Form::None => (Vec::new(), Vec::new()),
    };
    let (args, words): (&[String], &[String]) = match doc.start_words_memo(index) {
        Some(memo) => {
            let (args, words) = memo.get_or_init(words_of);
            (args, words)
        }
        // Every instruction has a memo; an index past them has no words.
        None => (&[], &[]),
    };
    match &ins.form {
        Form::Exec {
            words: elements, ..
        } => Part {
            index,
            shell_form: false,
            args,
            words,
            empty: elements.is_empty(),
        },
        Form::Shell { .. } => Part {
            index,
            shell_form: true,
            args,
            words,
            empty: false,
        },
        Form::None => Part {
            index,
            shell_form: false,
            args: &[],
            words: &[],
            empty: true,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::parse;

    fn doc(text: &str) -> Document {
        parse(text).expect("parses")
    }

    fn start(doc: &Document) -> StartCommand<'_> {
        StartCommand::of(doc, 0..doc.instructions().len())
    }

    fn knowledge() -> Knowledge {
        Knowledge::builtin().expect("builtin knowledge")
    }

    #[test]
    fn entrypoint_wins_unless_empty() {
        let d = doc("FROM a\nENTRYPOINT [\"tini\", \"--\"]\nCMD node \"dist/server.js\"\n");
        let s = start(&d);
        assert_eq!(s.effective().map(|p| p.index), Some(1));
        assert_eq!(
            s.cmd.as_ref().map(|p| p.args.to_vec()).unwrap(),
            ["node", "dist/server.js"]
        );
        let d = doc("FROM a\nENTRYPOINT []\nCMD [\"./app\"]\n");
        let s = start(&d);
        assert_eq!(s.effective().map(|p| p.index), Some(2));
        let d = doc("FROM a\nCMD a\nCMD [\"b\"]\n");
        let s = start(&d);
        assert_eq!(s.effective().map(|p| p.args.to_vec()).unwrap(), ["b"]);
        assert!(s.entrypoint.is_none());
    }

    #[test]
    fn the_program_is_found_past_wrappers() {
        let k = knowledge();
        let d = doc(
            "FROM a\nENTRYPOINT [\"/sbin/tini\", \"--\"]\nCMD [\"sh\", \"-c\", \"exec env A=1 ./run.sh\"]\n",
        );
        let s = start(&d);
        let (part, at) = s.program(&k).unwrap();
        assert_eq!((part.index, part.words[at].as_str()), (2, "./run.sh"));
        // An exec-form element keeps its blanks in `args`, not in `words`.
        assert_eq!(part.args[2], "exec env A=1 ./run.sh");
    }

    #[test]
    fn toolchains_at_start() {
        let k = knowledge();
        let tool = |text: &str| start(&doc(text)).toolchain(&k);
        assert_eq!(tool("FROM a\nCMD go run .\n").as_deref(), Some("go run"));
        assert_eq!(
            tool("FROM a\nCMD [\"./mvnw\", \"spring-boot:run\"]\n").as_deref(),
            Some("mvnw")
        );
        assert_eq!(
            tool("FROM a\nENTRYPOINT [\"tini\", \"--\"]\nCMD [\"sh\", \"-c\", \"dotnet watch run\"]\n")
                .as_deref(),
            Some("dotnet watch")
        );
        assert_eq!(tool("FROM a\nCMD [\"go\", \"version\"]\n"), None);
        assert_eq!(tool("FROM a\nCMD [\"./server\"]\n"), None);
    }
}
