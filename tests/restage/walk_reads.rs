//! What the walk's own listing spares: files it listed are read without a look-up by path first,
//! and only paths whose listed inode numbers meet are looked up to drop a second path to one
//! file. Each case pins the whole stdout, stderr and exit code of the real binary.

use crate::common::restage_in as restage;

const SHELL_CMD: &str = "FROM node:20-slim\nCMD node server.js\n";

fn exec_diff(path: &str) -> String {
    format!(
        "--- a/{path}\n+++ b/{path}\n@@ -1,2 +1,2 @@\n FROM node:20-slim\n-CMD node server.js\n+CMD [\"node\", \"server.js\"]\n"
    )
}

fn note(path: &str) -> String {
    format!("{path}:2:1: exec-form: Write CMD in exec form\n")
}

#[cfg(unix)]
#[test]
fn walked_hard_links_are_one_file_and_a_walked_fifo_is_refused_without_blocking() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let t = tmp.path();
    for dir in ["a", "b", "c", "d"] {
        std::fs::create_dir(t.join(dir)).expect("mkdir");
    }
    std::fs::write(t.join("a/Dockerfile"), SHELL_CMD).expect("write");
    std::fs::hard_link(t.join("a/Dockerfile"), t.join("b/Dockerfile")).expect("hard link");
    std::fs::write(t.join("d/Dockerfile"), SHELL_CMD).expect("write");
    let fifo = std::ffi::CString::new(t.join("c/Dockerfile").as_os_str().as_encoded_bytes())
        .expect("path");
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    assert_eq!(
        restage(t, &["--no-config", "--select", "exec-form", "--check", "."]),
        (
            2,
            exec_diff("a/Dockerfile") + &exec_diff("d/Dockerfile"),
            note("a/Dockerfile")
                + "c/Dockerfile: error: not a regular file\n"
                + &note("d/Dockerfile")
                + "restage: 3 files: 2 would change, 0 unchanged, 1 error\n"
        )
    );
}
