//! Reading and writing the files restage processes: a Dockerfile's text is read bounded and
//! checked (regular file, size, UTF-8, no NUL), and `--write` replaces a file atomically.

use std::io::Write;
use std::path::Path;

use anyhow::{Context as _, Result};

use crate::discover::io_reason;

/// Files larger than this are refused without being read: real Dockerfiles are a few KiB, and a
/// bound keeps a stray multi-gigabyte file from stalling a monorepo run.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// Reads a file as a Dockerfile's text, or says in a few words why it cannot be one.
pub fn read_text(path: &Path) -> std::result::Result<String, String> {
    use std::io::Read;
    // Metadata first, by path: opening a FIFO would block until a writer appears.
    let meta = std::fs::metadata(path).map_err(|e| io_reason(&e))?;
    if meta.is_dir() {
        return Err("is a directory, not a Dockerfile".into());
    }
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(format!(
            "file of {} bytes is over the {} MiB limit for Dockerfiles",
            meta.len(),
            MAX_FILE_BYTES / (1024 * 1024)
        ));
    }
    let file = std::fs::File::open(path).map_err(|e| io_reason(&e))?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // A file that grows while it is read is still bounded.
    Read::take(file, MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| io_reason(&e))?;
    if bytes.is_empty() {
        return Err("empty file".into());
    }
    if let Some(p) = bytes.iter().position(|&b| b == 0) {
        return Err(format!("binary file (NUL byte at offset {p})"));
    }
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let (line, col) = crate::syntax::line_col(
            std::str::from_utf8(&e.as_bytes()[..at]).expect("valid up to here"),
            at,
        );
        format!("invalid UTF-8 at line {line} column {col} (byte {at})")
    })
}

/// Replaces the file's content atomically: a temporary file in the same directory, fsync, then
/// rename over the original. Permissions (and, when allowed, ownership) are kept; a symlink is
/// kept and its target rewritten.
pub fn write_atomic(path: &Path, text: &str) -> Result<()> {
    let target =
        std::fs::canonicalize(path).with_context(|| format!("resolving {}", path.display()))?;
    let dir = target
        .parent()
        .context("the file has no parent directory")?;
    let meta = std::fs::metadata(&target)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".restage-")
        .tempfile_in(dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    tmp.write_all(text.as_bytes())?;
    tmp.as_file().set_permissions(meta.permissions())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let _ = std::os::unix::fs::fchown(tmp.as_file(), Some(meta.uid()), Some(meta.gid()));
    }
    tmp.as_file().sync_all()?;
    tmp.persist(&target)
        .map_err(|e| e.error)
        .with_context(|| format!("replacing {}", target.display()))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}
