//! Text a format keeps for the end of its output (SARIF's results, the Markdown comment's
//! table and diff): written to an unnamed temporary file as the files are done, so memory does
//! not grow with their number, and copied to the output at the end. Kept in memory when no
//! temporary file can be made.

use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};

use super::WriteError;

/// Where a failure to keep the text is said to be.
const SPILL: &str = "a temporary file";

#[derive(Default)]
pub struct Spill {
    /// The file, made at the first text kept; `None` before, or when none could be made.
    file: Option<BufWriter<File>>,
    tried: bool,
    memory: String,
    len: usize,
    last: Option<u8>,
    error: Option<std::io::Error>,
}

impl Spill {
    /// Keeps `s` after what is kept already.
    pub fn push_str(&mut self, s: &str) {
        let Some(&last) = s.as_bytes().last() else {
            return;
        };
        self.len += s.len();
        self.last = Some(last);
        if !self.tried {
            self.tried = true;
            self.file = tempfile::tempfile()
                .ok()
                .map(|f| BufWriter::with_capacity(64 * 1024, f));
        }
        match &mut self.file {
            Some(file) => {
                if self.error.is_none()
                    && let Err(e) = file.write_all(s.as_bytes())
                {
                    self.error = Some(e);
                }
            }
            None => self.memory.push_str(s),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the text kept ends with a line break.
    pub fn ends_with_newline(&self) -> bool {
        self.last == Some(b'\n')
    }

    /// Writes the text kept to `out`.
    pub fn write_to(self, out: &mut dyn Write) -> Result<(), WriteError> {
        let stdout = |e| WriteError::new("stdout", e);
        let spill = |e| WriteError::new(SPILL, e);
        let Some(file) = self.file else {
            return out.write_all(self.memory.as_bytes()).map_err(stdout);
        };
        if let Some(e) = self.error {
            return Err(spill(e));
        }
        let mut file = file.into_inner().map_err(|e| spill(e.into_error()))?;
        file.seek(SeekFrom::Start(0)).map_err(spill)?;
        let mut buf = vec![0; 64 * 1024];
        let mut left = self.len;
        while left > 0 {
            let n = file.read(&mut buf).map_err(spill)?;
            if n == 0 {
                return Err(spill(std::io::ErrorKind::UnexpectedEof.into()));
            }
            out.write_all(&buf[..n]).map_err(stdout)?;
            left = left.saturating_sub(n);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::Spill;

    #[test]
    fn what_is_kept_comes_back_whole_and_in_order() {
        let mut spill = Spill::default();
        assert!(spill.is_empty());
        let piece = "line of text\n".repeat(10_000);
        for i in 0..20 {
            spill.push_str(&format!("{i}:"));
            spill.push_str(&piece);
        }
        spill.push_str("");
        assert!(!spill.is_empty() && spill.ends_with_newline());
        let mut out = Vec::new();
        assert!(spill.write_to(&mut out).is_ok());
        let expected: String = (0..20).map(|i| format!("{i}:{piece}")).collect();
        assert_eq!(String::from_utf8(out).ok(), Some(expected));
    }
}
