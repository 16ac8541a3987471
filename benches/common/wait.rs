//! Waiting for a benchmarked child with `wait4`, so its own resource usage (CPU time, peak RSS)
//! comes back with its status. Shared by the benches through `#[path]`.

/// Waits for `child` (spawned, not yet waited for) and returns its raw wait status and rusage.
/// The child is reaped: dropping its handle afterwards does not wait again.
pub fn wait4(child: &std::process::Child) -> std::io::Result<(libc::c_int, libc::rusage)> {
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `pid` is our child, not yet waited for; the pointers are to live locals.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            return Ok((status, usage));
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}
