//! The one way restage reacts to SIGINT and SIGTERM: parts that leave something behind when the
//! process is killed (temporary files of `--write`, containers and images of `verify`) register a
//! cleanup. At the first signal a dedicated thread runs every cleanup in the order they were
//! registered, then exits with the code the first one returned.

#[cfg(unix)]
type Cleanup = Box<dyn Fn(i32) -> i32 + Send>;

#[cfg(unix)]
static CLEANUPS: std::sync::Mutex<Vec<Cleanup>> = std::sync::Mutex::new(Vec::new());
#[cfg(unix)]
static LISTENER: std::sync::Once = std::sync::Once::new();

/// Registers `cleanup`, called with the signal's number on the listening thread; it returns the
/// exit code. Without signal support (not unix) nothing is registered.
pub(crate) fn on_interrupt(cleanup: impl Fn(i32) -> i32 + Send + 'static) {
    #[cfg(unix)]
    {
        crate::sync::lock(&CLEANUPS).push(Box::new(cleanup));
        LISTENER.call_once(listen);
    }
    #[cfg(not(unix))]
    let _ = cleanup;
}

#[cfg(unix)]
fn listen() {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
        return;
    };
    std::thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            let cleanups = crate::sync::lock(&CLEANUPS);
            let mut code = None;
            for cleanup in cleanups.iter() {
                let c = cleanup(signal);
                code.get_or_insert(c);
            }
            std::process::exit(code.unwrap_or(128 + signal));
        }
    });
}
