//! The Wasm module's allocator (src/web/alloc.rs), run natively over a page source of the
//! test's own: random alloc/realloc/free sequences of many sizes and alignments, checking
//! that every block is aligned, inside the heap's own pages, never overlaps another live
//! block, and keeps its contents; that freed memory is reused (a steady workload stops
//! growing); and that running out of pages answers null instead of failing.

#[path = "../src/web/alloc.rs"]
#[allow(dead_code)]
mod alloc;

use std::alloc::{GlobalAlloc, Layout};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

use alloc::{Pages, SizeClasses, PAGE};

/// Pages carved from one reserved, page-aligned region. Every `foreign_every`-th growth
/// first gives a page to "someone else" (as other code calling `memory.grow` would), which
/// the heap must never hand out; the test fills those pages and checks them at the end.
struct Arena {
    base: *mut u8,
    capacity: usize,
    used: Cell<usize>,
    grows: Cell<usize>,
    foreign_every: usize,
    foreign: RefCell<Vec<usize>>,
}

impl Arena {
    fn new(capacity: usize, foreign_every: usize) -> Arena {
        let base = unsafe { std::alloc::alloc_zeroed(Self::layout(capacity)) };
        assert!(!base.is_null(), "the test could not reserve its arena");
        Arena {
            base,
            capacity,
            used: Cell::new(0),
            grows: Cell::new(0),
            foreign_every,
            foreign: RefCell::new(Vec::new()),
        }
    }
    fn layout(capacity: usize) -> Layout {
        Layout::from_size_align(capacity * PAGE, PAGE).unwrap()
    }
    fn start(&self) -> usize {
        self.base as usize
    }
    fn end(&self) -> usize {
        self.start() + self.used.get() * PAGE
    }
    fn foreign_pages_intact(&self) -> bool {
        self.foreign.borrow().iter().all(|&page| {
            let p = unsafe { std::slice::from_raw_parts((page * PAGE) as *const u8, PAGE) };
            p.iter().all(|&b| b == 0xF0)
        })
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        unsafe { std::alloc::dealloc(self.base, Self::layout(self.capacity)) }
    }
}

impl Pages for &Arena {
    fn grow(&self, pages: usize) -> Option<usize> {
        self.grows.set(self.grows.get() + 1);
        if self.foreign_every > 0 && self.grows.get() % self.foreign_every == 0 && self.used.get() < self.capacity {
            let page = self.start() / PAGE + self.used.get();
            unsafe { std::ptr::write_bytes((page * PAGE) as *mut u8, 0xF0, PAGE) };
            self.foreign.borrow_mut().push(page);
            self.used.set(self.used.get() + 1);
        }
        if self.used.get() + pages > self.capacity {
            return None;
        }
        let old = self.start() / PAGE + self.used.get();
        self.used.set(self.used.get() + pages);
        Some(old)
    }
}

/// xorshift64*: the same sequence on every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn size(&mut self) -> usize {
        1 + match self.below(1000) {
            0..=599 => self.below(64),
            600..=899 => self.below(4096),
            900..=994 => self.below(65536),
            _ => self.below(300_000),
        } as usize
    }
    fn align(&mut self) -> usize {
        match self.below(100) {
            0..=89 => 1 << self.below(5),        // 1..16
            90..=98 => 1 << (5 + self.below(8)), // 32..4096
            _ => PAGE,
        }
    }
}

struct Block {
    ptr: *mut u8,
    layout: Layout,
    tag: u8,
}

fn byte(tag: u8, i: usize) -> u8 {
    tag.wrapping_add((i as u8).wrapping_mul(31)) ^ (i >> 8) as u8
}
fn fill(b: &Block) {
    let s = unsafe { std::slice::from_raw_parts_mut(b.ptr, b.layout.size()) };
    s.iter_mut().enumerate().for_each(|(i, x)| *x = byte(b.tag, i));
}
fn intact(b: &Block, len: usize) -> bool {
    let s = unsafe { std::slice::from_raw_parts(b.ptr, len) };
    s.iter().enumerate().all(|(i, &x)| x == byte(b.tag, i))
}

/// The live blocks, by address, with the checks each new one must pass.
#[derive(Default)]
struct Live {
    blocks: Vec<Block>,
    by_addr: BTreeMap<usize, usize>,
}

impl Live {
    fn insert(&mut self, arena: &Arena, b: Block) {
        let (p, n) = (b.ptr as usize, b.layout.size());
        assert_eq!(p % b.layout.align(), 0, "block {p:#x} is not aligned to {}", b.layout.align());
        assert!(p >= arena.start() && p + n <= arena.end(), "block {p:#x}+{n} is outside the heap's pages");
        for &page in arena.foreign.borrow().iter() {
            assert!(
                p + n <= page * PAGE || p >= (page + 1) * PAGE,
                "block {p:#x}+{n} is in a page the heap did not grow"
            );
        }
        if let Some((&q, &m)) = self.by_addr.range(..=p).next_back() {
            assert!(q + m <= p, "block {p:#x}+{n} overlaps live block {q:#x}+{m}");
        }
        if let Some((&q, &m)) = self.by_addr.range(p..).next() {
            assert!(p + n <= q, "block {p:#x}+{n} overlaps live block {q:#x}+{m}");
        }
        self.by_addr.insert(p, n);
        fill(&b);
        self.blocks.push(b);
    }
    fn remove(&mut self, i: usize) -> Block {
        let b = self.blocks.swap_remove(i);
        self.by_addr.remove(&(b.ptr as usize));
        b
    }
}

fn stress(seed: u64, ops: usize, foreign_every: usize) {
    let arena = Arena::new(4096, foreign_every); // 256 MB
    let heap = SizeClasses::new(&arena);
    let mut rng = Rng(seed);
    let mut live = Live::default();
    let mut tag = 0u8;
    for _ in 0..ops {
        tag = tag.wrapping_add(1);
        let op = if live.blocks.is_empty() { 0 } else { rng.below(10) };
        if op < 4 || live.blocks.len() < 8 {
            let layout = Layout::from_size_align(rng.size(), rng.align()).unwrap();
            let ptr = unsafe { heap.alloc(layout) };
            assert!(!ptr.is_null(), "alloc({layout:?}) answered null with memory to spare");
            live.insert(&arena, Block { ptr, layout, tag });
        } else if op < 7 {
            let b = live.remove(rng.below(live.blocks.len() as u64) as usize);
            assert!(intact(&b, b.layout.size()), "block {:p} ({:?}) lost its contents", b.ptr, b.layout);
            unsafe { heap.dealloc(b.ptr, b.layout) };
        } else {
            let b = live.remove(rng.below(live.blocks.len() as u64) as usize);
            let new_size = match rng.below(3) {
                0 => b.layout.size() + rng.below(32) as usize, // often within the class
                1 => rng.size(),
                _ => (b.layout.size() / 2).max(1),
            };
            let ptr = unsafe { heap.realloc(b.ptr, b.layout, new_size) };
            assert!(!ptr.is_null(), "realloc to {new_size} answered null with memory to spare");
            let moved = Block { ptr, layout: Layout::from_size_align(new_size, b.layout.align()).unwrap(), tag: b.tag };
            let kept = b.layout.size().min(new_size);
            assert!(intact(&moved, kept), "realloc of {:?} to {new_size} lost the first {kept} bytes", b.layout);
            let moved = Block { tag, ..moved };
            live.insert(&arena, moved);
        }
    }
    for b in live.blocks.drain(..) {
        assert!(intact(&b, b.layout.size()), "block {:p} lost its contents", b.ptr);
        unsafe { heap.dealloc(b.ptr, b.layout) };
    }
    assert!(arena.foreign_pages_intact(), "the heap wrote into a page it did not grow");
}

#[test]
fn random_sequences_keep_blocks_aligned_apart_and_intact() {
    for seed in [1, 0x9E37_79B9_7F4A_7C15, 0xDEAD_BEEF] {
        stress(seed, 20_000, 0);
    }
}

#[test]
fn memory_grown_by_someone_else_is_never_handed_out() {
    stress(7, 20_000, 3);
}

#[test]
fn a_steady_workload_stops_growing() {
    let arena = Arena::new(1024, 0);
    let heap = SizeClasses::new(&arena);
    let mut rng = Rng(42);
    let layouts: Vec<Layout> =
        (0..500).map(|_| Layout::from_size_align(rng.size(), rng.align().min(16)).unwrap()).collect();
    let mut pages_after_first = 0;
    for round in 0..50 {
        let ptrs: Vec<*mut u8> = layouts.iter().map(|&l| unsafe { heap.alloc(l) }).collect();
        assert!(ptrs.iter().all(|p| !p.is_null()));
        for (&p, &l) in ptrs.iter().zip(&layouts).rev() {
            unsafe { heap.dealloc(p, l) };
        }
        if round == 0 {
            pages_after_first = arena.used.get();
        }
    }
    assert_eq!(
        arena.used.get(),
        pages_after_first,
        "the same allocations grew the heap again after their blocks were freed"
    );
}

#[test]
fn realloc_within_a_class_keeps_the_block_and_across_classes_copies() {
    let arena = Arena::new(16, 0);
    let heap = SizeClasses::new(&arena);
    unsafe {
        let l = Layout::from_size_align(20, 8).unwrap();
        let p = heap.alloc(l);
        std::ptr::copy_nonoverlapping(b"twenty bytes of text".as_ptr(), p, 20);
        assert_eq!(heap.realloc(p, l, 32), p, "20 and 32 bytes are both in the 32-byte class");
        let q = heap.realloc(p, Layout::from_size_align(32, 8).unwrap(), 100);
        assert_ne!(q, p);
        assert_eq!(std::slice::from_raw_parts(q, 20), b"twenty bytes of text");
        // The 32-byte block went back to its class and is the next one of that class.
        assert_eq!(heap.alloc(Layout::from_size_align(30, 4).unwrap()), p);
    }
}

#[test]
fn out_of_pages_answers_null_and_freed_blocks_still_serve() {
    let arena = Arena::new(4, 0); // 256 KB
    let heap = SizeClasses::new(&arena);
    let big = Layout::from_size_align(60_000, 16).unwrap(); // the 64 KB class
    let blocks: Vec<*mut u8> = (0..4).map(|_| unsafe { heap.alloc(big) }).collect();
    assert!(blocks.iter().all(|p| !p.is_null()), "four 64 KB blocks fit in four pages");
    assert!(unsafe { heap.alloc(big) }.is_null(), "a fifth does not");
    assert!(unsafe { heap.alloc(Layout::from_size_align(1 << 20, 16).unwrap()) }.is_null());
    unsafe { heap.dealloc(blocks[2], big) };
    assert_eq!(unsafe { heap.alloc(big) }, blocks[2], "the freed block serves the next request of its class");
    // More than a 32-bit memory holds: null, not a panic.
    if usize::BITS > 32 {
        assert!(unsafe { heap.alloc(Layout::from_size_align(1 << 33, 16).unwrap()) }.is_null());
    }
}
