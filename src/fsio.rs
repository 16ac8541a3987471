//! Reading and writing the files restage processes: a Dockerfile's text is read bounded and
//! checked (regular file, size, UTF-8, no NUL), and `--write` replaces a file atomically.

use std::io::{Read, Write};
use std::path::Path;

use anyhow::{Context as _, Result, bail};

use crate::discover::io_reason;

/// Files larger than this are refused without being read: real Dockerfiles are a few KiB, and a
/// bound keeps a stray multi-gigabyte file from stalling a monorepo run.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// Why a file's bytes could not be read by [`read_bounded`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadFailure {
    /// No such file (or a dangling symlink).
    Missing,
    /// A directory.
    Directory,
    /// A FIFO, socket or device: never opened.
    NotAFile,
    /// Larger than the limit (the size seen, or the limit + 1 when it grew while read).
    TooLarge { size: u64, limit: u64 },
    /// The number of bytes read differs from the size seen before reading: the file is being
    /// written. Processing (and `--write` writing back) a partial file is never right.
    Changed { before: u64, read: u64 },
    /// On a kernel file system (procfs, sysfs, ...), where a "regular file" of size 0 can
    /// produce endless output or block forever (`/proc/kmsg`): never read.
    SpecialFs(&'static str),
    /// Any other IO error, as a short reason.
    Io(String),
}

impl std::fmt::Display for ReadFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadFailure::Missing => f.write_str("no such file or directory"),
            ReadFailure::Directory => f.write_str("is a directory"),
            ReadFailure::NotAFile => f.write_str("not a regular file"),
            ReadFailure::TooLarge { size, limit } => write!(
                f,
                "file of {size} bytes is over the {} limit",
                human_limit(*limit)
            ),
            ReadFailure::Changed { before, read } => write!(
                f,
                "file changed while it was read ({before} bytes before, {read} read)"
            ),
            ReadFailure::SpecialFs(fs) => {
                write!(f, "on a kernel file system ({fs}), not read")
            }
            ReadFailure::Io(e) => f.write_str(e),
        }
    }
}

fn human_limit(limit: u64) -> String {
    if limit.is_multiple_of(1024 * 1024) {
        format!("{} MiB", limit / (1024 * 1024))
    } else if limit.is_multiple_of(1024) {
        format!("{} KiB", limit / 1024)
    } else {
        format!("{limit} bytes")
    }
}

impl ReadFailure {
    fn from_io(e: &std::io::Error) -> ReadFailure {
        if e.kind() == std::io::ErrorKind::NotFound {
            ReadFailure::Missing
        } else {
            ReadFailure::Io(io_reason(e))
        }
    }
}

/// Reads the whole file at `path` (following symlinks) if it is a regular file of at most
/// `limit` bytes on an ordinary file system. Never blocks on a FIFO or a kernel file: the type
/// is checked by path before opening, the file is opened non-blocking, and type, size and file
/// system are checked again on the open file. The bytes read must match the size seen.
pub fn read_bounded(path: &Path, limit: u64) -> std::result::Result<Vec<u8>, ReadFailure> {
    read_bounded_as(path, limit, Known::Nothing)
}

/// What is known of a path before it is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Known {
    /// Nothing: its type is looked up by path before it is opened.
    Nothing,
    /// A directory listing showed it as a regular file, not a symlink: it is opened without a
    /// look-up first (non-blocking, so a FIFO put in its place since is not waited on), and
    /// the open file is checked as always.
    ListedRegular,
}

/// [`read_bounded`], skipping the look-up by path for a path listed as a regular file.
pub fn read_bounded_as(
    path: &Path,
    limit: u64,
    known: Known,
) -> std::result::Result<Vec<u8>, ReadFailure> {
    if known == Known::Nothing {
        // Metadata first, by path: opening a FIFO or a device can block or have side effects.
        let meta = std::fs::metadata(path).map_err(|e| ReadFailure::from_io(&e))?;
        check_type(&meta)?;
        if meta.len() > limit {
            return Err(ReadFailure::TooLarge {
                size: meta.len(),
                limit,
            });
        }
    }
    let file = open_nonblocking(path).map_err(|e| ReadFailure::from_io(&e))?;
    // The path may have been swapped between the stat and the open: check the open file.
    let meta = file.metadata().map_err(|e| ReadFailure::from_io(&e))?;
    check_type(&meta)?;
    if let Some(fs) = special_fs(&file, &meta) {
        return Err(ReadFailure::SpecialFs(fs));
    }
    let before = meta.len();
    if before > limit {
        return Err(ReadFailure::TooLarge {
            size: before,
            limit,
        });
    }
    let bytes = read_sized(file, before, limit).map_err(|e| ReadFailure::from_io(&e))?;
    check_length(before, bytes.len() as u64, limit)?;
    Ok(bytes)
}

/// Reads a file whose size was `before` (at most `limit`): into room for one byte more, and a
/// read that stops short exactly at `before` bytes is its end (no read to see the end again).
/// A file that turns out longer is read on to its end, never past `limit + 1` bytes.
fn read_sized(mut file: impl Read, before: u64, limit: u64) -> std::io::Result<Vec<u8>> {
    let size = usize::try_from(before).unwrap_or(usize::MAX);
    let Some(room) = size.checked_add(1) else {
        return Err(std::io::Error::other("file too large for memory"));
    };
    let mut bytes = vec![0u8; room];
    let mut total = 0;
    loop {
        let n = match file.read(&mut bytes[total..]) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if n == 0 {
            break;
        }
        total += n;
        if total == size {
            // The read asked for more than it gave: the end of the file.
            break;
        }
        if total == room {
            // Longer than it was: read on, to the limit + 1 byte at most.
            let left = (limit + 1).saturating_sub(total as u64);
            file.take(left).read_to_end(&mut bytes)?;
            return Ok(bytes);
        }
    }
    bytes.truncate(total);
    Ok(bytes)
}

/// The length read against the limit and against the size seen before reading.
fn check_length(before: u64, read: u64, limit: u64) -> std::result::Result<(), ReadFailure> {
    if read > limit {
        Err(ReadFailure::TooLarge { size: read, limit })
    } else if read != before {
        Err(ReadFailure::Changed { before, read })
    } else {
        Ok(())
    }
}

fn check_type(meta: &std::fs::Metadata) -> std::result::Result<(), ReadFailure> {
    if meta.is_dir() {
        Err(ReadFailure::Directory)
    } else if !meta.is_file() {
        Err(ReadFailure::NotAFile)
    } else {
        Ok(())
    }
}

fn open_nonblocking(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    options.open(path)
}

/// The name of the kernel file system `file` lives on, if it is one whose files are not data
/// (their sizes lie and their reads may block or never end). `meta` is the open file's: the
/// file system type is a property of the device (`st_dev`), so it is asked once per device in
/// a run.
#[cfg(target_os = "linux")]
fn special_fs(file: &std::fs::File, meta: &std::fs::Metadata) -> Option<&'static str> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::MetadataExt;
    /// The answer for each device met so far (a run meets a handful).
    static BY_DEVICE: std::sync::RwLock<Vec<(u64, Option<&'static str>)>> =
        std::sync::RwLock::new(Vec::new());
    let dev = meta.dev();
    let known = |list: &[(u64, Option<&'static str>)]| {
        list.iter().find(|(d, _)| *d == dev).map(|(_, fs)| *fs)
    };
    if let Some(fs) = known(&BY_DEVICE.read().unwrap_or_else(|e| e.into_inner())) {
        return fs;
    }
    let mut stat = std::mem::MaybeUninit::<libc::statfs>::uninit();
    // SAFETY: fstatfs writes a `statfs` into the buffer on success; the fd is open.
    let rc = unsafe { libc::fstatfs(file.as_raw_fd(), stat.as_mut_ptr()) };
    if rc != 0 {
        return None;
    }
    // SAFETY: initialised by the successful call above.
    let magic = unsafe { stat.assume_init() }.f_type as u64;
    let fs = special_fs_name(magic);
    let mut list = BY_DEVICE.write().unwrap_or_else(|e| e.into_inner());
    if known(&list).is_none() {
        list.push((dev, fs));
    }
    fs
}

#[cfg(not(target_os = "linux"))]
fn special_fs(_file: &std::fs::File, _meta: &std::fs::Metadata) -> Option<&'static str> {
    None
}

/// Kernel file systems by their `statfs` magic number (linux/magic.h).
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn special_fs_name(magic: u64) -> Option<&'static str> {
    Some(match magic {
        0x9fa0 => "procfs",
        0x6265_6572 => "sysfs",
        0x6462_6720 => "debugfs",
        0x7472_6163 => "tracefs",
        0x7363_6673 => "securityfs",
        0x0027_e0eb => "cgroupfs",
        0x6367_7270 => "cgroup2",
        0xcafe_4a11 => "bpffs",
        0x6265_6570 => "configfs",
        0x6165_676c => "pstore",
        0xde5e_81e4 => "efivarfs",
        0x6573_5543 => "fusectl",
        0x4249_4e4d => "binfmt_misc",
        0xf97c_ff8c => "selinuxfs",
        0x1cd1 => "devpts",
        _ => return None,
    })
}

/// Why a file cannot be a Dockerfile's text, in a few words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextError {
    /// The bytes could not be read.
    Read(ReadFailure),
    Empty,
    /// A NUL byte at this offset.
    Binary {
        offset: usize,
    },
    /// Not UTF-8 from this byte on (1-based line and column of the byte).
    InvalidUtf8 {
        line: usize,
        column: usize,
        byte: usize,
    },
}

impl std::fmt::Display for TextError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TextError::Read(ReadFailure::Directory) => {
                f.write_str("is a directory, not a Dockerfile")
            }
            TextError::Read(e @ ReadFailure::TooLarge { .. }) => write!(f, "{e} for Dockerfiles"),
            TextError::Read(e) => e.fmt(f),
            TextError::Empty => f.write_str("empty file"),
            TextError::Binary { offset } => write!(f, "binary file (NUL byte at offset {offset})"),
            TextError::InvalidUtf8 { line, column, byte } => {
                write!(
                    f,
                    "invalid UTF-8 at line {line} column {column} (byte {byte})"
                )
            }
        }
    }
}

impl std::error::Error for TextError {}

/// Reads a file as a Dockerfile's text, or says why it cannot be one.
pub fn read_text(path: &Path) -> std::result::Result<String, TextError> {
    read_text_as(path, Known::Nothing)
}

/// [`read_text`] with what is known of the path (see [`Known`]).
pub fn read_text_as(path: &Path, known: Known) -> std::result::Result<String, TextError> {
    let bytes = read_bounded_as(path, MAX_FILE_BYTES, known).map_err(TextError::Read)?;
    if bytes.is_empty() {
        return Err(TextError::Empty);
    }
    if let Some(offset) = memchr::memchr(0, &bytes) {
        return Err(TextError::Binary { offset });
    }
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let (line, column) = crate::syntax::line_col(
            std::str::from_utf8(&e.as_bytes()[..at]).expect("valid up to here"),
            at,
        );
        TextError::InvalidUtf8 {
            line,
            column,
            byte: at,
        }
    })
}

/// Replaces the file's content atomically: a temporary file `.restage-XXXXXX` in the same
/// directory, fsync, then rename over the original. A symlink is kept and its target rewritten.
///
/// Refused, leaving the file as it is: a file this user may not write, a file with several hard
/// links (a rename would split them), and a setuid/setgid file whose owner cannot be kept.
/// Otherwise the owner, group and whole mode (setuid, setgid and sticky bits included) are kept:
/// a read-only file this user may write (root) stays read-only, as with `sed -i`. Ctrl-C or SIGTERM during a write removes the temporary
/// files, then exits with 130 or 143.
pub fn write_atomic(path: &Path, text: &str) -> Result<()> {
    let target =
        std::fs::canonicalize(path).with_context(|| format!("resolving {}", path.display()))?;
    let dir = target
        .parent()
        .context("the file has no parent directory")?;
    let meta = std::fs::metadata(&target)?;
    refuse_unsafe_target(&target, &meta)?;
    let mut tmp = temp::create_in(dir)?;
    tmp.write_all(text.as_bytes())?;
    temp::test_hold();
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        // Owner first: changing it clears setuid and setgid, which the mode below restores.
        let owned = std::os::unix::fs::fchown(tmp.as_file(), Some(meta.uid()), Some(meta.gid()));
        let special = meta.permissions().mode() & 0o6000;
        if special != 0 && owned.is_err() {
            temp::discard(tmp);
            bail!(
                "{} file whose owner cannot be kept, left as it is",
                if special & 0o4000 != 0 {
                    "setuid"
                } else {
                    "setgid"
                }
            );
        }
    }
    tmp.as_file().set_permissions(meta.permissions())?;
    tmp.as_file().sync_all()?;
    temp::persist(tmp, &target).with_context(|| format!("replacing {}", target.display()))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// The files `--write` leaves alone rather than changing in a way the user did not ask for.
fn refuse_unsafe_target(target: &Path, meta: &std::fs::Metadata) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        use std::os::unix::fs::MetadataExt;
        if meta.nlink() > 1 {
            bail!(
                "file has {} hard links, left as it is (a rewrite would split them)",
                meta.nlink()
            );
        }
        let c_path = std::ffi::CString::new(target.as_os_str().as_bytes())
            .context("a path with a NUL byte")?;
        // SAFETY: a valid NUL-terminated path; access() only reads it.
        if unsafe { libc::access(c_path.as_ptr(), libc::W_OK) } != 0 {
            bail!("no permission to write this file, left as it is");
        }
    }
    #[cfg(not(unix))]
    if meta.permissions().readonly() {
        bail!("read-only file, left as it is");
    }
    let _ = target;
    Ok(())
}

/// The temporary files of writes in progress, removed if the process is interrupted.
mod temp {
    use std::collections::BTreeSet;
    use std::path::{Path, PathBuf};
    use std::sync::{Mutex, MutexGuard, Once};

    use anyhow::{Context as _, Result};
    use tempfile::NamedTempFile;

    static PENDING: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());
    static HANDLER: Once = Once::new();

    fn pending() -> MutexGuard<'static, BTreeSet<PathBuf>> {
        PENDING.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Creates `.restage-XXXXXX` in `dir` and registers it, under the lock the signal handler
    /// takes: no temporary file exists that the handler does not know about.
    pub(super) fn create_in(dir: &Path) -> Result<NamedTempFile> {
        install_handler();
        let mut pending = pending();
        let tmp = tempfile::Builder::new()
            .prefix(".restage-")
            .tempfile_in(dir)
            .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
        pending.insert(tmp.path().to_path_buf());
        Ok(tmp)
    }

    /// Renames the temporary file over `target` and forgets it.
    pub(super) fn persist(tmp: NamedTempFile, target: &Path) -> std::io::Result<()> {
        let mut pending = pending();
        let path = tmp.path().to_path_buf();
        let result = tmp.persist(target).map(|_| ()).map_err(|e| e.error);
        // On failure the temporary file was removed when the error was dropped.
        pending.remove(&path);
        result
    }

    /// Removes the temporary file and forgets it.
    pub(super) fn discard(tmp: NamedTempFile) {
        let mut pending = pending();
        pending.remove(tmp.path());
        drop(tmp);
    }

    /// SIGINT and SIGTERM: remove every registered temporary file, then exit 128 + signal.
    /// The lock is held until the exit, so no write starts or finishes in between.
    fn install_handler() {
        HANDLER.call_once(|| {
            crate::signals::on_interrupt(|signal| {
                let pending = pending();
                for path in pending.iter() {
                    let _ = std::fs::remove_file(path);
                }
                // Kept locked until the process exits.
                std::mem::forget(pending);
                128 + signal
            });
        });
    }

    /// For the interruption test only: with `RESTAGE_TEST_HOLD_WRITE=PATH`, a write creates
    /// PATH once its temporary file exists, then waits, so a signal lands mid-write.
    pub(super) fn test_hold() {
        if let Some(marker) = std::env::var_os("RESTAGE_TEST_HOLD_WRITE") {
            let _ = std::fs::write(marker, "");
            std::thread::sleep(std::time::Duration::from_secs(30));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_grows_or_shrinks_while_read_is_refused() {
        assert_eq!(check_length(10, 10, 100), Ok(()));
        assert_eq!(
            check_length(100, 101, 100),
            Err(ReadFailure::TooLarge {
                size: 101,
                limit: 100
            })
        );
        assert_eq!(
            check_length(10, 50, 100),
            Err(ReadFailure::Changed {
                before: 10,
                read: 50
            })
        );
        assert_eq!(
            check_length(10, 5, 100),
            Err(ReadFailure::Changed {
                before: 10,
                read: 5
            })
        );
        assert_eq!(
            ReadFailure::Changed {
                before: 10,
                read: 50
            }
            .to_string(),
            "file changed while it was read (10 bytes before, 50 read)"
        );
    }

    /// A reader giving `data` at most `chunk` bytes a call, with an interruption first.
    struct Chunked {
        data: Vec<u8>,
        at: usize,
        chunk: usize,
        interrupted: bool,
        calls: usize,
    }

    impl Read for Chunked {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.calls += 1;
            if !self.interrupted {
                self.interrupted = true;
                return Err(std::io::ErrorKind::Interrupted.into());
            }
            let n = buf.len().min(self.chunk).min(self.data.len() - self.at);
            buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    fn chunked(data: &[u8], chunk: usize) -> Chunked {
        Chunked {
            data: data.to_vec(),
            at: 0,
            chunk,
            interrupted: false,
            calls: 0,
        }
    }

    #[test]
    fn a_read_that_stops_at_the_size_seen_is_the_end() {
        let text = b"FROM x\nRUN y\n";
        // Whole: one read after the interruption, none to see the end again.
        let mut whole = chunked(text, 1 << 20);
        assert_eq!(read_sized(&mut whole, 13, 100).expect("read"), text);
        assert_eq!(whole.calls, 2);
        // In short pieces: read on until the size seen.
        let mut pieces = chunked(text, 3);
        assert_eq!(read_sized(&mut pieces, 13, 100).expect("read"), text);
        // Shorter than it was: what there is (check_length then refuses it).
        assert_eq!(read_sized(chunked(text, 4), 20, 100).expect("read"), text);
        // Longer than it was: read on to its end, or to the limit + 1 byte.
        assert_eq!(read_sized(chunked(text, 5), 4, 100).expect("read"), text);
        assert_eq!(
            read_sized(chunked(text, 5), 4, 8).expect("read"),
            &text[..9]
        );
        assert_eq!(read_sized(chunked(b"", 5), 0, 8).expect("read"), b"");
        assert_eq!(read_sized(chunked(b"ab", 5), 0, 8).expect("read"), b"ab");
    }

    #[test]
    fn bounded_reads_of_ordinary_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("f");
        std::fs::write(&p, "FROM x\n").expect("write");
        assert_eq!(read_bounded(&p, 7), Ok(b"FROM x\n".to_vec()));
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "").expect("write");
        assert_eq!(read_bounded(&empty, 7), Ok(Vec::new()));
        assert_eq!(
            read_bounded(&p, 6),
            Err(ReadFailure::TooLarge { size: 7, limit: 6 })
        );
        assert_eq!(
            read_bounded(&dir.path().join("nope"), 10),
            Err(ReadFailure::Missing)
        );
        assert_eq!(read_bounded(dir.path(), 10), Err(ReadFailure::Directory));
        assert_eq!(
            read_bounded(Path::new("/dev/zero"), 10),
            Err(ReadFailure::NotAFile)
        );
    }

    #[cfg(unix)]
    #[test]
    fn reads_of_listed_files_check_the_open_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("f");
        std::fs::write(&p, "FROM x\n").expect("write");
        let listed = |p: &Path, limit| read_bounded_as(p, limit, Known::ListedRegular);
        assert_eq!(listed(&p, 7), Ok(b"FROM x\n".to_vec()));
        assert_eq!(
            listed(&p, 6),
            Err(ReadFailure::TooLarge { size: 7, limit: 6 })
        );
        // What was a file when listed may be something else when read.
        assert_eq!(
            listed(&dir.path().join("nope"), 10),
            Err(ReadFailure::Missing)
        );
        assert_eq!(listed(dir.path(), 10), Err(ReadFailure::Directory));
        let fifo = dir.path().join("fifo");
        let c_path = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).expect("path");
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
        // Opened non-blocking with no writer: refused, not waited on.
        assert_eq!(listed(&fifo, 10), Err(ReadFailure::NotAFile));
        assert_eq!(read_bounded(&fifo, 10), Err(ReadFailure::NotAFile));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn kernel_files_are_refused_directly_and_through_a_symlink() {
        // Asked twice: the second answer comes from the file system type known for the device.
        for _ in 0..2 {
            assert_eq!(
                read_bounded_as(
                    Path::new("/proc/self/status"),
                    1 << 20,
                    Known::ListedRegular
                ),
                Err(ReadFailure::SpecialFs("procfs"))
            );
        }
        // procfs reports a size of 0 for files that have content (or block: /proc/kmsg).
        assert_eq!(
            read_bounded(Path::new("/proc/self/status"), 1 << 20),
            Err(ReadFailure::SpecialFs("procfs"))
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let link = dir.path().join("Dockerfile");
        std::os::unix::fs::symlink("/proc/self/status", &link).expect("symlink");
        assert_eq!(
            read_bounded(&link, 1 << 20),
            Err(ReadFailure::SpecialFs("procfs"))
        );
        assert_eq!(
            read_text(&link).map_err(|e| e.to_string()),
            Err("on a kernel file system (procfs), not read".to_owned())
        );
        if Path::new("/sys/kernel/mm/transparent_hugepage/enabled").is_file() {
            assert_eq!(
                read_bounded(
                    Path::new("/sys/kernel/mm/transparent_hugepage/enabled"),
                    1 << 20
                ),
                Err(ReadFailure::SpecialFs("sysfs"))
            );
        }
        assert_eq!(special_fs_name(0x9fa0), Some("procfs"));
        assert_eq!(special_fs_name(0xef53), None, "ext4 is ordinary");
    }
}
