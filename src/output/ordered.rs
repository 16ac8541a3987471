//! Parts finished in any order, written in index order as soon as they can be: the thread that
//! finishes the next index writes it and every consecutive part already finished after it,
//! while the others go on with their work (they only queue their part). One writer at a time;
//! only parts waiting for an earlier one are held.

use std::collections::VecDeque;
use std::sync::Mutex;

use crate::sync::lock;

pub struct Ordered<T, W> {
    queue: Mutex<Queue<T>>,
    sink: Mutex<W>,
}

struct Queue<T> {
    /// The index written next.
    next: usize,
    /// Finished parts waiting for an earlier one: `waiting[k]` is part `next + k`. Files are
    /// handed out in order, so it holds about one slot per thread.
    waiting: VecDeque<Option<T>>,
    /// A thread is writing: it takes what is queued meanwhile.
    writing: bool,
    /// The list of the last batch written, emptied and kept for its room.
    spare: Vec<T>,
}

impl<T, W> Ordered<T, W> {
    /// Parts from index 0 on, written to `sink`.
    pub fn new(sink: W) -> Self {
        Ordered {
            queue: Mutex::new(Queue {
                next: 0,
                waiting: VecDeque::new(),
                writing: false,
                spare: Vec::new(),
            }),
            sink: Mutex::new(sink),
        }
    }

    /// Part `index` is finished: queued, and written (with the ones after it) by this thread
    /// when it is the next one and no other thread is writing.
    pub fn push(&self, index: usize, part: T, mut write: impl FnMut(&mut W, T)) {
        let mut queue = lock(&self.queue);
        debug_assert!(index >= queue.next, "part {index} pushed twice");
        let slot = index - queue.next;
        if queue.waiting.len() <= slot {
            queue.waiting.resize_with(slot + 1, || None);
        }
        queue.waiting[slot] = Some(part);
        if queue.writing {
            return;
        }
        loop {
            let mut ready = std::mem::take(&mut queue.spare);
            while let Some(Some(_)) = queue.waiting.front() {
                if let Some(Some(part)) = queue.waiting.pop_front() {
                    ready.push(part);
                    queue.next += 1;
                }
            }
            if ready.is_empty() {
                queue.spare = ready;
                queue.writing = false;
                return;
            }
            queue.writing = true;
            drop(queue);
            {
                let mut sink = lock(&self.sink);
                for part in ready.drain(..) {
                    write(&mut sink, part);
                }
            }
            queue = lock(&self.queue);
            queue.spare = ready;
        }
    }

    /// The sink, once every part is written.
    pub fn into_inner(self) -> W {
        debug_assert!(
            lock(&self.queue).waiting.iter().all(Option::is_none),
            "a part is missing before the ones waiting"
        );
        self.sink
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::Ordered;

    #[test]
    fn parts_finished_out_of_order_are_written_in_order() {
        let ordered = Ordered::new(Vec::new());
        for i in [2, 0, 3, 1, 5, 4] {
            ordered.push(i, i, |w: &mut Vec<usize>, p| w.push(p));
        }
        assert_eq!(ordered.into_inner(), vec![0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn each_part_waits_only_for_the_ones_before_it() {
        let ordered = Ordered::new(Vec::new());
        let write = |w: &mut Vec<usize>, p| w.push(p);
        ordered.push(1, 1, write);
        ordered.push(2, 2, write);
        assert!(super::lock(&ordered.sink).is_empty());
        ordered.push(0, 0, write);
        assert_eq!(*super::lock(&ordered.sink), vec![0, 1, 2]);
        ordered.push(4, 4, write);
        assert_eq!(*super::lock(&ordered.sink), vec![0, 1, 2]);
        ordered.push(3, 3, write);
        assert_eq!(ordered.into_inner(), vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn many_threads_writing_one_at_a_time_keep_the_order() {
        const N: usize = 2000;
        let ordered = Ordered::new(Vec::new());
        // Four threads take interleaved indices, each in reverse within a block, so parts
        // arrive out of order from every side; a batch written by one thread while another
        // queues, or two batches written at once, would break the order.
        std::thread::scope(|s| {
            for t in 0..4 {
                let ordered = &ordered;
                s.spawn(move || {
                    for block in (0..N).step_by(40) {
                        for i in (block..block + 40).rev().filter(|i| i % 4 == t) {
                            ordered.push(i, i, |w: &mut Vec<usize>, p| {
                                w.push(p);
                                std::thread::yield_now();
                            });
                        }
                    }
                });
            }
        });
        assert_eq!(ordered.into_inner(), (0..N).collect::<Vec<_>>());
    }
}
