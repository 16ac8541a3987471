//! `restage -`: one Dockerfile read from stdin. `--stdin-filename PATH` says which file it
//! stands for: its restage.toml, its build context and the name in the diff come from PATH,
//! which need not exist and is never read or written. `--write` prints the rewritten file (or
//! the input, when nothing changes) on stdout instead of writing anywhere.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

use crate::cli::FixArgs;
use crate::report;
use crate::run::{FileReport, Job, MAX_FILE_BYTES, Status, failed, process_text};

/// The name stdin stands for when `--stdin-filename` is not given.
pub const DEFAULT_NAME: &str = "Dockerfile";

/// `Some(name)` when the command line asks to read stdin (the one path `-`); an error when `-`
/// is mixed with other paths or `--stdin-filename` comes without `-`.
pub fn requested(args: &FixArgs) -> Result<Option<PathBuf>> {
    let dash = args.paths.iter().any(|p| p.as_os_str() == "-");
    match (dash, &args.stdin_filename) {
        (true, _) if args.paths.len() > 1 => {
            bail!("`-` (stdin) cannot be combined with other paths")
        }
        (true, name) => Ok(Some(
            name.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_NAME)),
        )),
        (false, Some(_)) => bail!("--stdin-filename applies only when the path is `-` (stdin)"),
        (false, None) => Ok(None),
    }
}

/// Reads stdin and runs it through the pipeline as `name`. Returns the report and, with
/// `--write`, what to print on stdout: the rewritten text, or the input when nothing changed
/// (`None` after an error, so a caller replacing a buffer with the output keeps its own).
pub(crate) fn process(name: &Path, job: &Job) -> (FileReport, Option<String>) {
    let display = report::display_path(name, job.cwd);
    let text = match read_stdin(std::io::stdin().lock()) {
        Ok(t) => t,
        Err(reason) => return (failed(&display, format!("stdin: {reason}")), None),
    };
    let original = job.write.then(|| text.clone());
    // As for a file: a panic inside the pipeline is this input's error, not a crash.
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        process_text(name, None, text, &display, job)
    }));
    let (report, rewritten) = match run {
        Ok(done) => done,
        Err(payload) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            let message = format!("internal error (please report it): {msg}");
            return (failed(&display, message), None);
        }
    };
    let output = match report.status {
        Status::Failed(_) => None,
        Status::Changed => rewritten,
        Status::Unchanged | Status::Skipped(_) => original,
    };
    (report, if job.write { output } else { None })
}

/// The Dockerfile text from `input`, with the checks a file gets: at most [`MAX_FILE_BYTES`],
/// not empty, no NUL byte, valid UTF-8.
pub fn read_stdin(input: impl Read) -> std::result::Result<String, String> {
    let mut bytes = Vec::new();
    input
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| crate::discover::io_reason(&e))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(format!(
            "input is over the {} MiB limit for Dockerfiles",
            MAX_FILE_BYTES / (1024 * 1024)
        ));
    }
    if bytes.is_empty() {
        return Err("empty input".into());
    }
    if let Some(p) = bytes.iter().position(|&b| b == 0) {
        return Err(format!("binary input (NUL byte at offset {p})"));
    }
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let (line, col) = crate::syntax::line_col(
            std::str::from_utf8(&e.as_bytes()[..at]).unwrap_or_default(),
            at,
        );
        format!("invalid UTF-8 at line {line} column {col} (byte {at})")
    })
}

#[cfg(test)]
mod tests {
    use super::read_stdin;

    #[test]
    fn stdin_gets_the_checks_a_file_gets() {
        assert_eq!(
            read_stdin(&b"FROM alpine\n"[..]).as_deref(),
            Ok("FROM alpine\n")
        );
        assert_eq!(read_stdin(&b""[..]), Err("empty input".to_string()));
        assert_eq!(
            read_stdin(&b"FROM a\0"[..]),
            Err("binary input (NUL byte at offset 6)".to_string())
        );
        assert_eq!(
            read_stdin(&b"FROM a\n\xff"[..]),
            Err("invalid UTF-8 at line 2 column 1 (byte 7)".to_string())
        );
        let big = vec![b'#'; super::MAX_FILE_BYTES as usize + 1];
        assert_eq!(
            read_stdin(&big[..]),
            Err("input is over the 1 MiB limit for Dockerfiles".to_string())
        );
    }
}
