//! What the artifact-only recipes (Java, .NET) share: the build commands of the stage with the
//! directory each runs in, the program the start command runs with its arguments, and the
//! outcome of naming the artifact: the paths, the whole application directory with the reason,
//! or a refusal.

use super::super::super::Context;
use super::super::super::analysis;
use super::super::super::effects;
use super::super::super::start::{StartCommand, base_name};
use super::super::{Analysis, refuse};
use super::{Carry, Input, Verdict};
use crate::syntax::Kind;

/// Why the recipe does not carry the artifact alone.
pub(super) enum Why {
    /// Carry the whole application directory, for this reason (restage cannot name what the
    /// app runs or reads).
    Whole(String),
    /// Refuse the split, for this reason.
    Refuse(String),
}

/// The runtime stage's paths from `artifacts`, or the whole application directory with the
/// reason in the change's note, or the refusal.
pub(super) fn carry(
    input: &Input,
    a: &Analysis,
    artifacts: Result<Vec<String>, Why>,
) -> Result<Carry, Verdict> {
    let mut whole = super::workdir_only(a, input.anchor)?;
    match artifacts {
        Ok(copies) => {
            // A pattern (`target/*.jar`) lands in its directory, matching the same files.
            let bare_destinations = copies
                .iter()
                .filter(|c| is_pattern(file_name(c)))
                .map(|c| (c.clone(), format!("{}/", parent(c))))
                .collect();
            Ok(Carry {
                copies,
                bare_destinations,
                ..Carry::default()
            })
        }
        Err(Why::Whole(why)) => {
            whole.note = Some(format!("the whole application directory: {why}"));
            Ok(whole)
        }
        Err(Why::Refuse(why)) => Err(refuse(input.anchor, why)),
    }
}

/// One simple command of a RUN: its words (assignments dropped) and the absolute directory it
/// runs in (`None` after a `cd` or where the WORKDIR is unknown).
pub(super) struct Command {
    pub words: Vec<String>,
    pub cwd: Option<String>,
}

impl Command {
    /// The program's base name (`./mvnw` is `mvnw`).
    pub fn program(&self) -> &str {
        self.words.first().map_or("", |w| base_name(w))
    }

    /// `path` resolved against the directory the command runs in; `Err` when it cannot be.
    pub fn resolve(&self, path: &str) -> Result<String, String> {
        if path.contains(['$', '`']) {
            return Err(format!(
                "`{}` names a path through a variable (`{path}`)",
                self.program()
            ));
        }
        if path.starts_with('/') {
            return Ok(analysis::normalize(path));
        }
        match &self.cwd {
            Some(d) => Ok(analysis::join(d, path)),
            None => Err(format!(
                "`{}` runs in a directory restage cannot tell",
                self.program()
            )),
        }
    }
}

/// The simple commands of the stage's RUNs that restage reads, in order.
pub(super) fn commands(input: &Input, a: &Analysis) -> Vec<Command> {
    let Input {
        doc,
        stage,
        inherited,
        ..
    } = *input;
    let mut out = Vec::new();
    for (ix, _) in &a.runs {
        let ins = &doc.instructions()[*ix];
        if ins.kind != Kind::Run {
            continue;
        }
        let Some(cmds) = analysis::run_commands(doc, ins) else {
            continue;
        };
        let mut cwd = effects::workdir(doc, stage, *ix, inherited);
        for cmd in cmds {
            let words = cmd.program_words().to_vec();
            if words.first().is_some_and(|w| w == "cd") {
                cwd = None;
                continue;
            }
            out.push(Command {
                words,
                cwd: cwd.clone(),
            });
        }
    }
    out
}

/// The program the container starts and its arguments (after wrappers such as `sh -c`, `tini`,
/// `exec`; the CMD's words follow an ENTRYPOINT's), and whether a shell runs it (so patterns
/// in its arguments are expanded).
pub(super) struct Launch {
    pub words: Vec<String>,
    pub shell: bool,
}

pub(super) fn launch(input: &Input, ctx: &Context) -> Option<Launch> {
    let Input { doc, stage, .. } = *input;
    let start = StartCommand::of(doc, stage.from + 1..stage.instructions.end);
    let parts: Vec<_> = match &start.entrypoint {
        Some(e) if !e.empty => start.parts().collect(),
        _ => start.cmd.iter().collect(),
    };
    let words: Vec<String> = parts.iter().flat_map(|p| p.words.iter().cloned()).collect();
    let at = words.iter().position(|w| {
        !(ctx.knowledge.is_wrapper(base_name(w))
            || w.starts_with('-')
            || crate::shell::is_assignment(w))
    })?;
    let shell = parts.first().is_some_and(|p| p.shell_form)
        || words[..at]
            .iter()
            .any(|w| matches!(base_name(w), "sh" | "bash" | "ash" | "dash"));
    Some(Launch {
        words: words[at..].to_vec(),
        shell,
    })
}

/// The most data entries carried one by one; beyond it the application directory comes whole
/// (one COPY per entry would make as many layers).
const MAX_DATA_COPIES: usize = 12;

/// The data entries the app may read from `workdir`, or the whole directory when there are too
/// many to copy one by one.
pub(super) fn data_entries(data: Vec<String>, workdir: &str) -> Result<Vec<String>, Why> {
    if data.len() > MAX_DATA_COPIES {
        return Err(Why::Whole(format!(
            "the build context puts {} entries besides sources into {workdir}, which the app may read",
            data.len()
        )));
    }
    Ok(data)
}

/// Whether a path's last component is a pattern (`target/*.jar`).
pub(super) fn is_pattern(path: &str) -> bool {
    path.contains(['*', '?', '['])
}

/// The directory of an absolute path.
pub(super) fn parent(path: &str) -> String {
    match path.rsplit_once('/') {
        Some(("", _)) | None => "/".to_string(),
        Some((dir, _)) => dir.to_string(),
    }
}

/// The last component of a path.
pub(super) fn file_name(path: &str) -> &str {
    crate::shell::base_name(path)
}

/// A flag's value: `-o out`, `--output out`, `--output=out`, `-o:out` for `names`; advances
/// `i` past what it read. `None` when the word at `i` is not one of them or has no value.
pub(super) fn flag_value(words: &[String], i: &mut usize, names: &[&str]) -> Option<String> {
    let w = words.get(*i)?.as_str();
    for n in names {
        if w == *n {
            let value = words.get(*i + 1).cloned();
            if value.is_some() {
                *i += 1;
            }
            return value;
        }
        if let Some(rest) = w.strip_prefix(n)
            && let Some(v) = rest.strip_prefix('=').or_else(|| rest.strip_prefix(':'))
        {
            return Some(v.to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_values_in_every_spelling() {
        let words: Vec<String> = ["publish", "-o", "out", "--output=/a", "-c:Release", "-r"]
            .iter()
            .map(|w| w.to_string())
            .collect();
        let value = |i: usize, names: &[&str]| {
            let mut i = i;
            flag_value(&words, &mut i, names).map(|v| (v, i))
        };
        assert_eq!(value(1, &["-o", "--output"]), Some(("out".into(), 2)));
        assert_eq!(value(3, &["-o", "--output"]), Some(("/a".into(), 3)));
        assert_eq!(value(4, &["-c"]), Some(("Release".into(), 4)));
        assert_eq!(value(5, &["-r"]), None);
        assert_eq!(value(6, &["-r"]), None);
        assert_eq!(value(0, &["-o"]), None);
    }

    #[test]
    fn paths() {
        assert_eq!(parent("/app/target/*.jar"), "/app/target");
        assert_eq!(parent("/app.jar"), "/");
        assert_eq!(file_name("/app/target/*.jar"), "*.jar");
        assert!(is_pattern("*.jar") && !is_pattern("app.jar"));
    }

    #[test]
    fn many_data_entries_bring_the_whole_directory() {
        let few: Vec<String> = (0..MAX_DATA_COPIES).map(|i| format!("/app/d{i}")).collect();
        assert_eq!(data_entries(few.clone(), "/app").ok(), Some(few));
        let many: Vec<String> = (0..=MAX_DATA_COPIES)
            .map(|i| format!("/app/d{i}"))
            .collect();
        assert!(
            matches!(data_entries(many, "/app"), Err(Why::Whole(w)) if w.contains("13 entries"))
        );
    }
}
