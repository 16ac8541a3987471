//! The one way restage handles a poisoned mutex: every critical section only reads or inserts
//! finished values, so the data stays consistent even if a holder panicked (that panic is
//! reported for its file); the lock is taken over instead of failing every later file.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks `m`, taking the data over if a holder panicked.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A memo each thread keeps for itself. Its answers are pure, so two threads that work one out
/// each agree; what a thread saves by not sharing is a lock and a cache line passed between
/// cores on every question, and frees of one thread's memory by another. A thread may take over
/// the value of one that ended (its answers hold for any thread).
pub struct PerThread<T: Send>(thread_local::ThreadLocal<std::cell::RefCell<T>>);

impl<T: Send + Default> Default for PerThread<T> {
    fn default() -> Self {
        PerThread(thread_local::ThreadLocal::new())
    }
}

impl<T: Send + Default> PerThread<T> {
    /// `f` with this thread's value. `f` must not ask the same memo again (the value is
    /// borrowed): look up, let go, work the answer out, then insert.
    pub fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        f(&mut self.0.get_or_default().borrow_mut())
    }
}

#[cfg(test)]
mod tests {
    use super::PerThread;

    #[test]
    fn each_thread_keeps_its_own_value() {
        let memo: PerThread<Vec<usize>> = PerThread::default();
        memo.with(|v| v.push(0));
        // The threads are all alive at once (a thread may take over an ended one's value).
        let together = std::sync::Barrier::new(3);
        std::thread::scope(|s| {
            for t in 1..4 {
                let (memo, together) = (&memo, &together);
                s.spawn(move || {
                    together.wait();
                    // A new thread starts from the default, whatever the others hold.
                    assert!(memo.with(|v| v.is_empty()));
                    memo.with(|v| v.push(t));
                    together.wait();
                    memo.with(|v| v.push(t));
                    assert_eq!(memo.with(|v| v.clone()), vec![t, t]);
                    together.wait();
                });
            }
        });
        assert_eq!(memo.with(|v| v.clone()), vec![0]);
    }
}
