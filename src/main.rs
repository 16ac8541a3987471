use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

use libmimalloc_sys as mi;

/// Most of a file's work is many small, short-lived allocations (the syntax tree, the words of
/// shell commands, notes): mimalloc serves them at a fraction of the system allocator's cost.
///
/// Every mimalloc block is aligned to at least a pointer's size, so a layout that asks for no
/// more takes `mi_malloc`'s path (as the system allocator takes `malloc`'s) rather than
/// `mi_malloc_aligned`'s: the aligned path costs more per call, and when the free list of the
/// size's page is empty it serves a size that is not a power of two by over-allocating from a
/// larger size class.
struct Mimalloc;

/// The alignment every block `mi_malloc` returns has (`MI_INTPTR_SIZE`).
const MIN_ALIGN: usize = std::mem::size_of::<usize>();

// SAFETY: each method hands the layout's size and, when it is larger than `MIN_ALIGN`, its
// alignment to the mimalloc function that honours them; blocks are freed and resized by
// mimalloc, which allocated them.
unsafe impl GlobalAlloc for Mimalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: see the impl.
        unsafe {
            if layout.align() <= MIN_ALIGN {
                mi::mi_malloc(layout.size()).cast()
            } else {
                mi::mi_malloc_aligned(layout.size(), layout.align()).cast()
            }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: see the impl.
        unsafe {
            if layout.align() <= MIN_ALIGN {
                mi::mi_zalloc(layout.size()).cast()
            } else {
                mi::mi_zalloc_aligned(layout.size(), layout.align()).cast()
            }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: see the impl.
        unsafe { mi::mi_free(ptr.cast::<c_void>()) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: see the impl.
        unsafe {
            if layout.align() <= MIN_ALIGN {
                mi::mi_realloc(ptr.cast::<c_void>(), new_size).cast()
            } else {
                mi::mi_realloc_aligned(ptr.cast::<c_void>(), new_size, layout.align()).cast()
            }
        }
    }
}

#[global_allocator]
static GLOBAL: Mimalloc = Mimalloc;

fn main() {
    std::process::exit(restage::run::main());
}
