//! Bounded reads and path helpers shared by the context readers: every file is read at most
//! [`MAX_FILE_BYTES`], only if it is a regular file, and as UTF-8 (a leading BOM is dropped).

use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;

use crate::fsio::{ReadFailure, read_bounded};

/// The largest file the context readers look into; anything bigger is "unknown".
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// Why a file's content is not available.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ReadError {
    /// No such file (or a dangling symlink).
    Missing,
    /// A directory, FIFO, socket or device: never opened.
    NotAFile,
    /// Larger than [`MAX_FILE_BYTES`].
    TooLarge,
    /// Not valid UTF-8.
    NotUtf8,
    /// On a kernel file system (procfs, sysfs, ...): never read.
    SpecialFs(&'static str),
    /// Its size changed while it was read.
    Changed,
    /// Any other IO error (permissions, ...).
    Io(String),
}

impl ReadError {
    /// A short reason for a note, e.g. "larger than 1 MiB, not read".
    pub(crate) fn describe(&self) -> String {
        match self {
            ReadError::Missing => "missing".to_owned(),
            ReadError::NotAFile => "not a regular file, not read".to_owned(),
            ReadError::TooLarge => {
                format!("larger than {} KiB, not read", MAX_FILE_BYTES / 1024)
            }
            ReadError::NotUtf8 => "not valid UTF-8, not read".to_owned(),
            ReadError::SpecialFs(fs) => format!("on a kernel file system ({fs}), not read"),
            ReadError::Changed => "changed while it was read, not used".to_owned(),
            ReadError::Io(e) => format!("cannot read: {e}"),
        }
    }
}

/// Reads `path` if it is a regular file of at most [`MAX_FILE_BYTES`] bytes of UTF-8 on an
/// ordinary file system (see [`crate::fsio::read_bounded`]: never blocks, never a partial read).
pub(crate) fn read_capped(path: &Path) -> Result<String, ReadError> {
    let bytes = read_bounded(path, MAX_FILE_BYTES).map_err(|e| match e {
        ReadFailure::Missing => ReadError::Missing,
        ReadFailure::Directory | ReadFailure::NotAFile => ReadError::NotAFile,
        ReadFailure::TooLarge { .. } => ReadError::TooLarge,
        ReadFailure::SpecialFs(fs) => ReadError::SpecialFs(fs),
        ReadFailure::Changed { .. } => ReadError::Changed,
        ReadFailure::Io(e) => ReadError::Io(e),
    })?;
    let mut text = String::from_utf8(bytes).map_err(|_| ReadError::NotUtf8)?;
    if text.starts_with('\u{feff}') {
        text.drain(..'\u{feff}'.len_utf8());
    }
    Ok(text)
}

/// One directory's entries in the order `read_dir` gave them, with their types as the listing
/// told them (no look-up per entry where the file system gives the type).
#[derive(Debug)]
pub(crate) struct Listing {
    /// The entries, or why the directory could not be listed (the error's text).
    pub(crate) entries: Result<Vec<Listed>, String>,
}

/// One entry of a [`Listing`].
#[derive(Debug)]
pub(crate) enum Listed {
    /// A name, its type when the listing told it (`None`: look it up), and the inode number
    /// the listing gave (0 where the platform gives none).
    Entry {
        name: std::ffi::OsString,
        file_type: Option<ListedType>,
        ino: u64,
    },
    /// An entry that could not be read.
    Unreadable,
}

/// The type a directory listing gives an entry (a symlink is `Link`: not followed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ListedType {
    File,
    Dir,
    Link,
    Other,
}

/// A directory's entries with the errors met while listing them (each also an
/// [`Listed::Unreadable`] entry), or the error that kept it from being listed.
pub(crate) type DetailedListing = Result<(Vec<Listed>, Vec<std::io::Error>), std::io::Error>;

/// The type `std` tells for an entry (listed or looked up), as a listing names it.
pub(crate) fn listed_type(t: std::fs::FileType) -> ListedType {
    if t.is_file() {
        ListedType::File
    } else if t.is_dir() {
        ListedType::Dir
    } else if t.is_symlink() {
        ListedType::Link
    } else {
        ListedType::Other
    }
}

impl Listing {
    /// Lists `dir` (opened by its path relative to the current directory when it is below it:
    /// fewer components for the kernel to resolve).
    pub(crate) fn read(dir: &Path) -> Listing {
        Listing {
            entries: Listing::read_detailed(dir)
                .map(|(entries, _)| entries)
                .map_err(|e| e.to_string()),
        }
    }

    /// [`Listing::read`] with the errors themselves, for the walk's reports.
    pub(crate) fn read_detailed(dir: &Path) -> DetailedListing {
        let dir = relative_to_cwd(dir);
        #[cfg(target_os = "linux")]
        if let Some(listing) = getdents::list(dir) {
            return listing;
        }
        let mut listed = Vec::new();
        let mut errors = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            listed.push(match entry {
                Ok(entry) => Listed::Entry {
                    name: entry.file_name(),
                    file_type: entry.file_type().ok().map(listed_type),
                    #[cfg(unix)]
                    ino: std::os::unix::fs::DirEntryExt::ino(&entry),
                    #[cfg(not(unix))]
                    ino: 0,
                },
                Err(e) => {
                    errors.push(e);
                    Listed::Unreadable
                }
            });
        }
        Ok((listed, errors))
    }

    /// The listing of entries read before.
    pub(crate) fn from_entries(entries: Vec<Listed>) -> Listing {
        Listing {
            entries: Ok(entries),
        }
    }

    /// Whether the directory may hold an entry named `name` (ASCII): false only when it was
    /// listed whole and no name equals it in any letter case (case-insensitive file systems)
    /// or could fold to it (a name that is not ASCII).
    pub(crate) fn may_hold(&self, name: &str) -> bool {
        let Ok(entries) = &self.entries else {
            return true;
        };
        entries.iter().any(|entry| match entry {
            Listed::Entry { name: listed, .. } => {
                let listed = listed.as_encoded_bytes();
                !listed.is_ascii() || listed.eq_ignore_ascii_case(name.as_bytes())
            }
            Listed::Unreadable => true,
        })
    }

    fn len(&self) -> usize {
        self.entries.as_ref().map_or(0, Vec::len)
    }
}

/// Listings made before they are needed (the walk's configuration look-up lists the folder of
/// each Dockerfile it finds), kept for the build-context reader, which takes each once. At most
/// [`Listings::MAX_KEPT_ENTRIES`] entries are kept in all; a folder listed beyond that is listed
/// again when its context is read.
#[derive(Debug, Default)]
pub struct Listings {
    kept: Mutex<(rustc_hash::FxHashMap<std::ffi::OsString, Listing>, usize)>,
}

impl Listings {
    /// Entries kept at most, over all folders (a few MiB).
    const MAX_KEPT_ENTRIES: usize = 100_000;

    /// Answers `f` on the listing of `dir` (absolute and lexically normal): the one kept, or
    /// a new one, kept for [`Listings::take`] if there is room.
    pub(crate) fn list_with<T>(&self, dir: &Path, f: impl FnOnce(&Listing) -> T) -> T {
        {
            let kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(listing) = kept.0.get(dir.as_os_str()) {
                return f(listing);
            }
        }
        let listing = Listing::read(dir);
        let answer = f(&listing);
        self.keep(dir, listing);
        answer
    }

    /// Keeps `listing`, the listing of `dir` (absolute and lexically normal), for
    /// [`Listings::take`] if there is room.
    pub(crate) fn keep(&self, dir: &Path, listing: Listing) {
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        let (map, entries) = &mut *kept;
        if *entries + listing.len() <= Self::MAX_KEPT_ENTRIES {
            *entries += listing.len();
            if let Some(old) = map.insert(dir.as_os_str().to_os_string(), listing) {
                *entries -= old.len();
            }
        }
    }

    /// The listing of `dir` made before, if one was kept and not taken yet.
    pub(crate) fn take(&self, dir: &Path) -> Option<Listing> {
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        let (map, entries) = &mut *kept;
        if map.is_empty() {
            return None;
        }
        let listing = map.remove(dir.as_os_str())?;
        *entries -= listing.len();
        Some(listing)
    }
}

/// Listing a directory with `getdents64` directly: `opendir` would also `fstat` it, to size a
/// buffer this one has.
#[cfg(target_os = "linux")]
mod getdents {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::os::unix::ffi::OsStrExt;
    use std::path::Path;

    use super::{DetailedListing, Listed, ListedType};

    /// Lists `dir` as `std::fs::read_dir` does (same order, `.` and `..` left out, the same
    /// error for a directory that cannot be opened, an unreadable entry ending the listing);
    /// `None` for a path the kernel cannot be given (a NUL byte).
    pub(super) fn list(dir: &Path) -> Option<DetailedListing> {
        let c_path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
        // SAFETY: a valid NUL-terminated path; the descriptor returned is owned below.
        let fd = unsafe {
            libc::open(
                c_path.as_ptr(),
                libc::O_RDONLY | libc::O_NONBLOCK | libc::O_CLOEXEC | libc::O_DIRECTORY,
            )
        };
        if fd < 0 {
            return Some(Err(std::io::Error::last_os_error()));
        }
        // SAFETY: `fd` was just opened and is owned by nothing else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // 8-byte aligned, as the kernel writes `linux_dirent64` records; not zeroed (only what
        // the kernel wrote is read).
        let mut buf: Vec<u64> = Vec::with_capacity(4096);
        let mut entries = Vec::new();
        let mut errors = Vec::new();
        loop {
            let size = buf.capacity() * std::mem::size_of::<u64>();
            // SAFETY: the buffer is writable for `size` bytes; the descriptor is open.
            let n = unsafe {
                libc::syscall(
                    libc::SYS_getdents64,
                    fd.as_raw_fd(),
                    buf.as_mut_ptr().cast::<u8>(),
                    size,
                )
            };
            if n < 0 {
                errors.push(std::io::Error::last_os_error());
                entries.push(Listed::Unreadable);
                break;
            }
            let Ok(n) = usize::try_from(n) else { break };
            if n == 0 {
                break;
            }
            // SAFETY: the kernel wrote (initialised) `n <= size` bytes of the buffer.
            let bytes = unsafe { std::slice::from_raw_parts(buf.as_ptr().cast::<u8>(), n) };
            if !parse(bytes, &mut entries) {
                errors.push(std::io::Error::from(std::io::ErrorKind::InvalidData));
                entries.push(Listed::Unreadable);
                break;
            }
        }
        Some(Ok((entries, errors)))
    }

    /// Appends the records of one `getdents64` answer: `d_ino` (8 bytes), `d_off` (8),
    /// `d_reclen` (2), `d_type` (1), then the NUL-terminated name. False on a malformed record.
    fn parse(mut bytes: &[u8], entries: &mut Vec<Listed>) -> bool {
        const NAME_AT: usize = 19;
        while !bytes.is_empty() {
            let Some(&[lo, hi]) = bytes.get(16..18) else {
                return false;
            };
            let reclen = usize::from(u16::from_ne_bytes([lo, hi]));
            let ino = bytes
                .get(..8)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map_or(0, u64::from_ne_bytes);
            let Some(record) = bytes.get(..reclen).filter(|r| r.len() > NAME_AT) else {
                return false;
            };
            let name = &record[NAME_AT..];
            let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
            if name != b"." && name != b".." {
                entries.push(Listed::Entry {
                    name: std::ffi::OsStr::from_bytes(name).to_os_string(),
                    file_type: match record[18] {
                        libc::DT_REG => Some(ListedType::File),
                        libc::DT_DIR => Some(ListedType::Dir),
                        libc::DT_LNK => Some(ListedType::Link),
                        libc::DT_UNKNOWN => None,
                        _ => Some(ListedType::Other),
                    },
                    ino,
                });
            }
            bytes = &bytes[reclen..];
        }
        true
    }
}

/// The current directory, read once: restage never changes it.
fn cwd() -> Option<&'static PathBuf> {
    static CWD: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    CWD.get_or_init(|| std::env::current_dir().ok()).as_ref()
}

/// The current directory's bytes when it is lexically normal (looked at once).
fn normal_cwd() -> Option<&'static [u8]> {
    static NORMAL: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let cwd = cwd()?.as_os_str().as_encoded_bytes();
    NORMAL
        .get_or_init(|| is_lexically_normal(cwd))
        .then_some(cwd)
}

/// `path` relative to the current directory when it is an absolute path below it, else as it
/// is: the same file, for the kernel to resolve from the current directory.
pub(crate) fn relative_to_cwd(path: &Path) -> &Path {
    #[cfg(unix)]
    if let Some(cwd) = cwd() {
        use std::os::unix::ffi::OsStrExt;
        let (bytes, base) = (path.as_os_str().as_bytes(), cwd.as_os_str().as_bytes());
        if bytes == base {
            return Path::new(".");
        }
        if base != b"/"
            && let Some(rest) = bytes.strip_prefix(base)
            && let Some(rest) = rest.strip_prefix(b"/")
            && !rest.is_empty()
        {
            return Path::new(std::ffi::OsStr::from_bytes(rest));
        }
    }
    path
}

/// A path relative to the context root, normalized: leading `/` and `./` dropped, `.` segments
/// and empty segments removed, `..` applied. `None` if it climbs out of the root. The root
/// itself is `""`.
pub(crate) fn normalize_rel(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    Some(parts.join("/"))
}

/// `path` made absolute against the current directory and lexically normalized (`.` and `..`
/// resolved without touching the file system, so symlinks are not followed).
pub(crate) fn absolute_lexical(path: &Path) -> PathBuf {
    // `std::path::absolute` asks the kernel for the current directory on every call (several
    // times per Dockerfile); restage never changes it, so it is read once ([`cwd`]).
    // A relative path without `..` under a normal current directory: its segments are appended
    // to the directory's in one pass, without joining first.
    #[cfg(unix)]
    if !path.is_absolute()
        && !path.as_os_str().is_empty()
        && let Some(base) = normal_cwd()
    {
        let mut out = Vec::with_capacity(base.len() + 1 + path.as_os_str().len());
        if base != b"/" {
            out.extend_from_slice(base);
        }
        if push_without_dots(&mut out, path.as_os_str().as_encoded_bytes()) {
            if out.is_empty() {
                out.push(b'/');
            }
            use std::os::unix::ffi::OsStringExt;
            return PathBuf::from(std::ffi::OsString::from_vec(out));
        }
    }
    let absolute = if path.is_absolute() || path.as_os_str().is_empty() {
        path.to_path_buf()
    } else {
        match cwd() {
            Some(cwd) => cwd.join(path),
            None => path.to_path_buf(),
        }
    };
    let bytes = absolute.as_os_str().as_encoded_bytes();
    if is_lexically_normal(bytes) {
        return absolute;
    }
    // The common case, a walked `./dir/Dockerfile` joined to the current directory, has `.`
    // segments but no `..`: dropped in one pass over the bytes instead of by components.
    #[cfg(unix)]
    if let Some(normal) = without_dots(bytes) {
        use std::os::unix::ffi::OsStringExt;
        return PathBuf::from(std::ffi::OsString::from_vec(normal));
    }
    rebuilt(&absolute)
}

/// An absolute `path` with its empty and `.` segments dropped, as [`rebuilt`] gives it; `None`
/// when it is not absolute or has a `..` segment (which [`rebuilt`] resolves).
fn without_dots(path: &[u8]) -> Option<Vec<u8>> {
    if path.first() != Some(&b'/') {
        return None;
    }
    let mut out = Vec::with_capacity(path.len());
    if !push_without_dots(&mut out, path) {
        return None;
    }
    if out.is_empty() {
        out.push(b'/');
    }
    Some(out)
}

/// Appends `/segment` to `out` for each segment of `path` that is not empty or `.`; false (with
/// `out` partly written) at a `..` segment.
fn push_without_dots(out: &mut Vec<u8>, path: &[u8]) -> bool {
    for segment in path.split(|&b| b == b'/') {
        match segment {
            b"" | b"." => {}
            b".." => return false,
            s => {
                out.push(b'/');
                out.extend_from_slice(s);
            }
        }
    }
    true
}

/// `path` rebuilt from its components: `.` dropped, `..` taking back the element before it.
fn rebuilt(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                if !out.pop() {
                    out.push(component);
                }
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// True when rebuilding `path` from its components gives it back byte for byte: `/`, or a
/// `/` followed by segments none of which is empty (`//`, a trailing `/`), `.` or `..`.
pub(crate) fn is_lexically_normal(path: &[u8]) -> bool {
    if path.first() != Some(&b'/') {
        return false;
    }
    if path.len() == 1 {
        return true;
    }
    // One pass over the bytes: the paths asked about are short (a COPY destination, a folder),
    // where finding each `/` with `memchr` costs more than looking at every byte.
    let mut start = 1;
    for i in 1..=path.len() {
        if i == path.len() || path[i] == b'/' {
            if matches!(&path[start..i], b"" | b"." | b"..") {
                return false;
            }
            start = i + 1;
        }
    }
    true
}

/// Whether every segment that follows a `/` of `path` is a name: not empty, not `.`, not `..`.
/// The slashes are found with `memchr`; only the bytes after each are looked at.
pub(crate) fn segments_after_slashes_are_names(path: &[u8]) -> bool {
    memchr::memchr_iter(b'/', path).all(|i| {
        !matches!(
            &path[i + 1..],
            [] | [b'/', ..] | [b'.'] | [b'.', b'/', ..] | [b'.', b'.'] | [b'.', b'.', b'/', ..]
        )
    })
}

/// `path.parent()` of a lexically normal absolute path ([`is_lexically_normal`]), found by the
/// last `/` instead of parsing components from the end.
pub(crate) fn normal_parent(path: &Path) -> Option<&Path> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let bytes = path.as_os_str().as_bytes();
        let parent = if bytes.len() <= 1 {
            None
        } else {
            memchr::memrchr(b'/', bytes)
                .map(|cut| Path::new(std::ffi::OsStr::from_bytes(&bytes[..cut.max(1)])))
        };
        debug_assert_eq!(parent, path.parent(), "{path:?} is not lexically normal");
        parent
    }
    #[cfg(not(unix))]
    path.parent()
}

/// `path.file_name()` of a lexically normal absolute path, found by the last `/`.
pub(crate) fn normal_file_name(path: &Path) -> Option<&std::ffi::OsStr> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let bytes = path.as_os_str().as_bytes();
        let name = memchr::memrchr(b'/', bytes)
            .map(|cut| &bytes[cut + 1..])
            .filter(|name| !name.is_empty() && *name != b"..")
            .map(std::ffi::OsStr::from_bytes);
        debug_assert_eq!(name, path.file_name(), "{path:?} is not lexically normal");
        name
    }
    #[cfg(not(unix))]
    path.file_name()
}

/// `dir.join(name)` for a `name` read from a listing of `dir` (one component, no `/`): the
/// bytes put together with one allocation, without `PathBuf::push`'s checks.
pub(crate) fn join_name(dir: &Path, name: &std::ffi::OsStr) -> PathBuf {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::{OsStrExt, OsStringExt};
        let (base, name) = (dir.as_os_str().as_bytes(), name.as_bytes());
        debug_assert!(!name.contains(&b'/') && !name.is_empty());
        let mut out = Vec::with_capacity(base.len() + 1 + name.len());
        out.extend_from_slice(base);
        if !base.is_empty() && !base.ends_with(b"/") {
            out.push(b'/');
        }
        out.extend_from_slice(name);
        PathBuf::from(std::ffi::OsString::from_vec(out))
    }
    #[cfg(not(unix))]
    dir.join(name)
}

/// The directory a file lives in, `.` for a bare file name.
pub(crate) fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Every byte string of up to eight bytes of `/`, `.` and `a`: each way of putting slashes, dots
/// and a name together, for tests that hold a path check to a slower one.
#[cfg(test)]
fn short_paths() -> impl Iterator<Item = Vec<u8>> {
    (0..=8u32).flat_map(|len| {
        (0..3usize.pow(len)).map(move |n| (0..len).map(|k| b"/.a"[n / 3usize.pow(k) % 3]).collect())
    })
}

/// Asserts that `check` answers as `reference` for every path of [`short_paths`], and gives
/// how many it holds true (so a test can tell that both sides of the check were met).
#[cfg(test)]
pub(crate) fn agrees_on_short_paths(
    check: impl Fn(&[u8]) -> bool,
    reference: impl Fn(&[u8]) -> bool,
) -> usize {
    let mut held = 0;
    for p in short_paths() {
        assert_eq!(
            check(&p),
            reference(&p),
            "{:?}",
            String::from_utf8_lossy(&p)
        );
        held += usize::from(check(&p));
    }
    held
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every path of up to eight bytes of `/`, `.` and `a` is lexically normal exactly when
    /// splitting it at `/` says so.
    #[test]
    fn lexical_normality_is_told_as_by_splitting() {
        let reference = |path: &[u8]| {
            path.first() == Some(&b'/')
                && (path.len() == 1
                    || path[1..]
                        .split(|&b| b == b'/')
                        .all(|segment| !matches!(segment, b"" | b"." | b"..")))
        };
        let normal = agrees_on_short_paths(is_lexically_normal, reference);
        assert!(normal > 50, "{normal}");
    }

    /// For a path that ends in a name, the folder of the path made absolute is the path's
    /// folder made absolute (what `ContextReader::read` relies on), for every path of up to
    /// eight bytes of `/`, `.` and `a`, relative and absolute.
    #[cfg(unix)]
    #[test]
    fn the_folder_of_an_absolute_path_is_the_absolute_folder() {
        use std::os::unix::ffi::OsStrExt;
        let fast = |p: &[u8]| {
            let path = Path::new(std::ffi::OsStr::from_bytes(p));
            if p.is_empty()
                || !matches!(
                    path.components().next_back(),
                    Some(std::path::Component::Normal(_))
                )
            {
                return true;
            }
            let abs = absolute_lexical(path);
            normal_parent(&abs).map(Path::to_path_buf) == Some(absolute_lexical(&parent_dir(path)))
        };
        let ends_in_name = agrees_on_short_paths(fast, |_| true);
        assert_eq!(ends_in_name, short_paths().count());
    }

    /// The byte-level parent, file name and join are std's on every lexically normal path of
    /// a few segments (names with dots, spaces, non-UTF-8 bytes) and every listed name.
    #[cfg(unix)]
    #[test]
    fn byte_level_path_pieces_are_std_s() {
        use std::os::unix::ffi::OsStrExt;
        let segments: [&[u8]; 7] = [
            b"a",
            b"svc-00001",
            b".git",
            b"..a",
            b"a.b",
            b"x y",
            b"\xff\xfe",
        ];
        let mut paths = vec![b"/".to_vec()];
        for a in segments {
            paths.push([b"/", a].concat());
            for b in segments {
                paths.push([b"/", a, b"/", b].concat());
                for c in segments {
                    paths.push([b"/", a, b"/", b, b"/", c].concat());
                }
            }
        }
        let mut dirs: Vec<Vec<u8>> = vec![b"".to_vec(), b".".to_vec(), b"rel/dir/".to_vec()];
        dirs.extend(paths.iter().cloned());
        for bytes in &paths {
            let path = Path::new(std::ffi::OsStr::from_bytes(bytes));
            assert!(is_lexically_normal(bytes), "{path:?}");
            assert_eq!(normal_parent(path), path.parent(), "{path:?}");
            assert_eq!(normal_file_name(path), path.file_name(), "{path:?}");
        }
        for dir in &dirs {
            let dir = Path::new(std::ffi::OsStr::from_bytes(dir));
            for name in segments {
                let name = std::ffi::OsStr::from_bytes(name);
                assert_eq!(join_name(dir, name), dir.join(name), "{dir:?} + {name:?}");
            }
        }
    }

    #[test]
    fn a_listing_may_hold_a_name_in_another_letter_case_or_spelled_otherwise() {
        let listing = |names: &[&str]| Listing {
            entries: Ok(names
                .iter()
                .map(|n| Listed::Entry {
                    name: (*n).into(),
                    file_type: None,
                    ino: 0,
                })
                .collect()),
        };
        assert!(listing(&["Dockerfile", ".git"]).may_hold(".git"));
        assert!(!listing(&["Dockerfile", ".gitignore"]).may_hold(".git"));
        assert!(listing(&["Restage.TOML"]).may_hold("restage.toml"));
        // A name that is not ASCII may fold to an ASCII one (U+017F, long s, folds to `s`).
        assert!(listing(&["re\u{17f}tage.toml"]).may_hold("restage.toml"));
        assert!(!listing(&[]).may_hold("restage.toml"));
        let broken = Listing {
            entries: Ok(vec![Listed::Unreadable]),
        };
        assert!(broken.may_hold("restage.toml"));
        let unlisted = Listing {
            entries: Err("permission denied".to_owned()),
        };
        assert!(unlisted.may_hold(".git"));
    }

    #[test]
    fn a_listing_has_the_names_order_and_types_read_dir_gives() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        std::fs::write(d.join("Dockerfile"), "FROM x\n").expect("write");
        std::fs::write(d.join(".hidden"), "").expect("write");
        std::fs::create_dir(d.join("src")).expect("mkdir");
        // Long names span records; many of them span more than one answer of the kernel.
        for i in 0..600 {
            std::fs::write(d.join(format!("{i:0>200}")), "").expect("write");
        }
        #[cfg(unix)]
        std::os::unix::fs::symlink("src", d.join("link")).expect("symlink");
        let listing = Listing::read(d);
        let entries = listing.entries.expect("listed");
        type Named = (std::ffi::OsString, Option<ListedType>, u64);
        let expected: Vec<Named> = std::fs::read_dir(d)
            .expect("read_dir")
            .map(|e| {
                let e = e.expect("entry");
                let t = e.file_type().expect("type");
                #[cfg(unix)]
                let ino = std::os::unix::fs::DirEntryExt::ino(&e);
                #[cfg(not(unix))]
                let ino = 0;
                (e.file_name(), Some(listed_type(t)), ino)
            })
            .collect();
        let got: Vec<Named> = entries
            .into_iter()
            .map(|e| match e {
                Listed::Entry {
                    name,
                    file_type,
                    ino,
                } => (name, file_type, ino),
                Listed::Unreadable => panic!("an unreadable entry"),
            })
            .collect();
        assert_eq!(got.len(), 604);
        assert_eq!(got, expected);
        // A directory that cannot be listed: the error read_dir gives.
        let missing = d.join("nope");
        assert_eq!(
            Listing::read(&missing).entries.err(),
            std::fs::read_dir(&missing).err().map(|e| e.to_string())
        );
        let file = d.join("Dockerfile");
        assert_eq!(
            Listing::read(&file).entries.err(),
            std::fs::read_dir(&file).err().map(|e| e.to_string())
        );
    }

    #[cfg(unix)]
    #[test]
    fn paths_below_the_current_directory_are_opened_relative_to_it() {
        let cwd = std::env::current_dir().expect("current directory");
        assert_eq!(relative_to_cwd(&cwd.join("a/b")), Path::new("a/b"));
        assert_eq!(relative_to_cwd(&cwd), Path::new("."));
        let sibling = PathBuf::from(format!("{}x/a", cwd.display()));
        assert_eq!(relative_to_cwd(&sibling), sibling.as_path());
        assert_eq!(relative_to_cwd(Path::new("/")), Path::new("/"));
    }

    #[test]
    fn listings_are_kept_within_their_bound_and_taken_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("Dockerfile"), "FROM x\n").expect("write");
        let listings = Listings::default();
        let names = listings.list_with(dir.path(), |l| match &l.entries {
            Ok(entries) => entries.len(),
            Err(_) => 0,
        });
        assert_eq!(names, 1);
        assert!(listings.take(dir.path()).is_some());
        assert!(listings.take(dir.path()).is_none());
        let missing = dir.path().join("nope");
        let listed = listings.list_with(&missing, |l| l.entries.is_err());
        assert!(listed);
        // A listing kept before answers without listing the folder again.
        let kept = Listing::from_entries(vec![Listed::Entry {
            name: "restage.toml".into(),
            file_type: Some(ListedType::File),
            ino: 1,
        }]);
        listings.keep(dir.path(), kept);
        assert!(listings.list_with(dir.path(), |l| l.may_hold("restage.toml")));
        assert!(!listings.list_with(dir.path(), |l| l.may_hold("Dockerfile")));
        assert!(listings.take(dir.path()).is_some());
        assert!(listings.list_with(dir.path(), |l| l.may_hold("Dockerfile")));
    }

    #[test]
    fn normalize_rel_handles_dots_and_escapes() {
        assert_eq!(normalize_rel("./a//b/./c/"), Some("a/b/c".to_owned()));
        assert_eq!(
            normalize_rel("/package.json"),
            Some("package.json".to_owned())
        );
        assert_eq!(normalize_rel("a/../b"), Some("b".to_owned()));
        assert_eq!(normalize_rel("."), Some(String::new()));
        assert_eq!(normalize_rel("../x"), None);
        assert_eq!(normalize_rel("a/../../x"), None);
    }

    #[test]
    fn normal_paths_are_kept_as_they_are() {
        let rebuilt = |p: &str| rebuilt(Path::new(p));
        for p in [
            "/",
            "//",
            "/a",
            "/a/",
            "/a//b",
            "/a/./b",
            "/a/../b",
            "/.",
            "/..",
            "/a/.b",
            "/a/..b",
            "/a/b.",
            "/srv/app/Dockerfile",
            "/a/b/..",
        ] {
            if is_lexically_normal(p.as_bytes()) {
                assert_eq!(rebuilt(p).as_os_str(), p, "{p}");
            }
            assert_eq!(absolute_lexical(Path::new(p)), rebuilt(p), "{p}");
        }
        assert!(is_lexically_normal(b"/srv/app/Dockerfile"));
        assert!(!is_lexically_normal(b"/srv/./app"));
    }

    #[test]
    fn read_capped_refuses_large_and_non_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'a'; MAX_FILE_BYTES as usize + 1]).expect("write");
        assert_eq!(read_capped(&big), Err(ReadError::TooLarge));
        assert_eq!(read_capped(dir.path()), Err(ReadError::NotAFile));
        assert_eq!(
            read_capped(&dir.path().join("nope")),
            Err(ReadError::Missing)
        );
        let bom = dir.path().join("bom");
        std::fs::write(&bom, "\u{feff}{}").expect("write");
        assert_eq!(read_capped(&bom), Ok("{}".to_owned()));
        let bad = dir.path().join("bad");
        std::fs::write(&bad, [0xff, 0xfe, 0x00]).expect("write");
        assert_eq!(read_capped(&bad), Err(ReadError::NotUtf8));
    }

    #[test]
    fn dropping_dot_segments_agrees_with_rebuilding_from_components() {
        for p in [
            "/",
            "//",
            "/.",
            "/./",
            "/a",
            "/a/",
            "/a//b",
            "/a/./b/.",
            "/./a/./b/c.d/./",
            "/a/.b/..c/...",
            "//a///b//",
        ] {
            let fast = without_dots(p.as_bytes()).expect("no `..`");
            assert_eq!(
                PathBuf::from(String::from_utf8(fast).expect("utf-8")),
                rebuilt(Path::new(p)),
                "{p}"
            );
        }
        assert_eq!(without_dots(b"/a/../b"), None);
        assert_eq!(without_dots(b"a/b"), None);
        assert_eq!(
            absolute_lexical(Path::new("/srv/./svc-1//Dockerfile")),
            PathBuf::from("/srv/svc-1/Dockerfile")
        );
        // Relative paths: appended to the current directory, as joining and rebuilding does.
        let cwd = std::env::current_dir().expect("current directory");
        for p in [
            "./svc-1/Dockerfile",
            "a//b/./c/",
            ".",
            "a",
            "./a/../b",
            "../x",
        ] {
            assert_eq!(absolute_lexical(Path::new(p)), rebuilt(&cwd.join(p)), "{p}");
        }
    }

    #[test]
    fn absolute_lexical_resolves_parent_segments() {
        let p = absolute_lexical(Path::new("/a/b/../c/./d"));
        assert_eq!(p, PathBuf::from("/a/c/d"));
        assert_eq!(parent_dir(Path::new("Dockerfile")), PathBuf::from("."));
        assert_eq!(parent_dir(Path::new("x/Dockerfile")), PathBuf::from("x"));
    }
}
