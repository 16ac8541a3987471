//! A progress bar on stderr for long runs: shown only when stderr is a terminal, outside CI,
//! without `-q`, in the text format, and only once the run has taken about a second.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::OutputFormat;

/// How long a run goes before the bar appears.
const DELAY: Duration = Duration::from_secs(1);

pub struct Progress {
    bar: Option<ProgressBar>,
    start: Instant,
    delay: Duration,
    shown: OnceLock<()>,
}

/// The delay before the bar appears; debug builds read `RESTAGE_TEST_PROGRESS_DELAY_MS`, so a
/// test can show the bar on a short run.
fn delay() -> Duration {
    if cfg!(debug_assertions)
        && let Some(ms) = std::env::var("RESTAGE_TEST_PROGRESS_DELAY_MS")
            .ok()
            .and_then(|v| v.parse().ok())
    {
        return Duration::from_millis(ms);
    }
    DELAY
}

impl Progress {
    /// Whether a run may show a bar.
    pub fn wanted(stderr_terminal: bool, ci: bool, quiet: bool, format: OutputFormat) -> bool {
        stderr_terminal && !ci && !quiet && format == OutputFormat::Text
    }

    /// A bar over `total` files, drawn only if `enabled`.
    pub fn new(total: usize, enabled: bool) -> Progress {
        let bar = enabled.then(|| {
            let bar =
                ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::hidden());
            if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} files {elapsed}")
            {
                bar.set_style(style);
            }
            bar
        });
        Progress {
            bar,
            start: Instant::now(),
            delay: delay(),
            shown: OnceLock::new(),
        }
    }

    /// Whether the bar is drawn.
    #[cfg(test)]
    pub fn is_enabled(&self) -> bool {
        self.bar.is_some()
    }

    /// One more file done.
    pub fn tick(&self) {
        let Some(bar) = &self.bar else { return };
        if self.shown.get().is_none() && self.start.elapsed() >= self.delay {
            self.shown.get_or_init(|| {
                bar.set_draw_target(ProgressDrawTarget::stderr());
            });
        }
        bar.inc(1);
    }

    /// Runs `f` (which writes to the terminal) with the bar cleared, then draws it again.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.bar {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }

    /// Removes the bar before the end of the output is written.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
