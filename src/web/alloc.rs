//! The heap: one free list per power-of-two size class (16 bytes to 2 GB), carved from pages
//! of linear memory. Replaces std's dlmalloc, which is some 5 KB of Wasm (about 2.5 KB gzip)
//! that every shopper downloads. A freed block goes back to its class and is handed out
//! again for the next request of that class, so a long-lived page that keeps tracking and
//! deciding reuses its memory instead of growing; the cost is up to 2x rounding per block
//! and no coalescing, which suits the SDK's small, repeating allocations. O(1) per call.
//!
//! The allocator is generic over where its pages come from ([`Pages`]): in the module it is
//! `memory.grow` ([`WasmMemory`], the global allocator of the wasm32 build); natively,
//! `tests/alloc.rs` includes this file and runs random alloc/realloc/free sequences over a
//! page source of its own, checking alignment, contents and that live blocks never overlap.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::UnsafeCell;
use std::ptr::{copy_nonoverlapping, null_mut};

/// The size of a page of linear memory.
pub const PAGE: usize = 65536;
/// Every block is at least 16 bytes and 16-byte aligned (a free block holds the link).
const ALIGN: usize = 16;
/// Classes 0..32: blocks of `1 << c` bytes (the classes under 16 bytes stay empty).
const CLASSES: usize = 32;

/// Where the heap's memory comes from: pages of [`PAGE`] bytes at addresses `page * PAGE`.
pub trait Pages {
    /// Adds `pages` pages and answers the number of pages before them (the first new page),
    /// or `None` when there is no more memory. Pages may also be added by someone else
    /// between two calls: the heap then starts again at the first new page.
    fn grow(&self, pages: usize) -> Option<usize>;
}

struct Heap {
    /// Head of the free list of each class `c` (blocks of `1 << c` bytes).
    free: [*mut u8; CLASSES],
    /// Unused memory: `next..end`.
    next: usize,
    end: usize,
}

/// The size-class allocator over the pages of `P`. Not thread-safe: one instance per thread
/// (Wasm without threads has one).
pub struct SizeClasses<P> {
    heap: UnsafeCell<Heap>,
    pages: P,
}

impl<P: Pages> SizeClasses<P> {
    pub const fn new(pages: P) -> Self {
        SizeClasses { heap: UnsafeCell::new(Heap { free: [null_mut(); CLASSES], next: 0, end: 0 }), pages }
    }
}

/// The class of a layout: the smallest `c >= 4` with `1 << c >= max(size, align)`.
fn class(l: &Layout) -> usize {
    let n = l.size().max(l.align()).max(ALIGN);
    (usize::BITS - (n - 1).leading_zeros()) as usize
}

unsafe impl<P: Pages> GlobalAlloc for SizeClasses<P> {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let h = &mut *self.heap.get();
        let c = class(&l);
        // Over 2 GB: more than a 32-bit memory holds (only reachable natively).
        let Some(&head) = h.free.get(c) else {
            return null_mut();
        };
        // Free blocks are only known to be 16-byte aligned.
        if !head.is_null() && l.align() <= ALIGN {
            h.free[c] = *(head as *mut *mut u8);
            return head;
        }
        let align = l.align().max(ALIGN);
        loop {
            let start = (h.next + align - 1) & !(align - 1);
            let Some(end) = start.checked_add(1 << c) else {
                return null_mut();
            };
            if end <= h.end {
                h.next = end;
                return start as *mut u8;
            }
            let pages = (end - h.end).div_ceil(PAGE);
            let Some(old) = self.pages.grow(pages) else {
                return null_mut();
            };
            if old * PAGE != h.end {
                // The first growth (or memory grown by someone else): start there.
                h.next = old * PAGE;
            }
            h.end = (old + pages) * PAGE;
        }
    }

    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        let h = &mut *self.heap.get();
        let c = class(&l);
        *(p as *mut *mut u8) = h.free[c];
        h.free[c] = p;
    }

    unsafe fn realloc(&self, p: *mut u8, l: Layout, new_size: usize) -> *mut u8 {
        let new = Layout::from_size_align_unchecked(new_size, l.align());
        if class(&new) == class(&l) {
            return p;
        }
        let q = self.alloc(new);
        if !q.is_null() {
            copy_nonoverlapping(p, q, l.size().min(new_size));
            self.dealloc(p, l);
        }
        q
    }
}

/// The module's own linear memory, grown with `memory.grow`.
#[cfg(target_arch = "wasm32")]
pub struct WasmMemory;

#[cfg(target_arch = "wasm32")]
impl Pages for WasmMemory {
    fn grow(&self, pages: usize) -> Option<usize> {
        match std::arch::wasm32::memory_grow(0, pages) {
            usize::MAX => None,
            old => Some(old),
        }
    }
}

// SAFETY: wasm32 without the atomics feature has one thread.
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
unsafe impl Sync for SizeClasses<WasmMemory> {}

#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
#[global_allocator]
static HEAP: SizeClasses<WasmMemory> = SizeClasses::new(WasmMemory);
