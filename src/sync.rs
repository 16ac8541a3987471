//! The one way restage handles a poisoned mutex: every critical section only reads or inserts
//! finished values, so the data stays consistent even if a holder panicked (that panic is
//! reported for its file); the lock is taken over instead of failing every later file.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks `m`, taking the data over if a holder panicked.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
