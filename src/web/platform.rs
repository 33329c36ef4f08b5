//! Clock, randomness and JSON conversion, from the browser.

use js_sys::{JsString, JSON};
use wasm_bindgen::prelude::*;

use crate::engine::json::Value;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = Date, js_name = now)]
    fn date_now() -> f64;
    #[wasm_bindgen(js_namespace = crypto, js_name = getRandomValues, catch)]
    fn get_random_values(buf: &mut [u8]) -> Result<(), JsValue>;
    #[wasm_bindgen(js_namespace = Math, js_name = random)]
    fn math_random() -> f64;
    #[wasm_bindgen(js_name = Number)]
    fn js_number(text: &str) -> f64;
    #[wasm_bindgen(js_name = String)]
    fn js_string(n: f64) -> String;
    #[wasm_bindgen(js_namespace = ["String", "prototype", "toLowerCase"], js_name = call)]
    fn js_lower(s: &str) -> String;
}

/// Runs when the module is instantiated: the engine reads and writes floats and lower-cases
/// text with JavaScript's own routines (same answers as Rust's, and no float code or
/// Unicode case tables in the module).
/// Also called by `TailorCore::init`, for hosts that do not run start functions.
#[wasm_bindgen(start)]
pub fn start() {
    crate::engine::json::platform::install(js_number, |n, out| out.push_str(&js_string(n)), js_lower);
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> f64 {
    date_now()
}

/// Random bytes from `crypto.getRandomValues`, or `Math.random` where it is missing.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    if get_random_values(&mut buf).is_err() {
        for b in buf.iter_mut() {
            *b = (math_random() * 256.0) as u8;
        }
    }
    buf
}

/// Converts a JavaScript value to the engine's JSON with the browser's own serialiser.
/// `undefined` becomes `None`; values JSON cannot hold (cycles, BigInt) are an error.
pub fn to_value(v: &JsValue) -> Result<Option<Value>, String> {
    if v.is_undefined() {
        return Ok(None);
    }
    let text: JsString =
        JSON::stringify(v).map_err(|_| "cannot be converted to JSON (a cycle or a BigInt?)".to_string())?;
    let text: String = text.into();
    Value::parse(&text).map(Some).map_err(|e| e.to_string())
}

/// Converts engine JSON to a plain JavaScript value.
pub fn from_value(v: &Value) -> JsValue {
    JSON::parse(&v.to_json()).unwrap_or(JsValue::NULL)
}

/// The heap: one free list per power-of-two size class (16 bytes to 2 GB), carved from
/// `memory.grow`. Replaces std's dlmalloc, which is some 5 KB of Wasm (about 2.5 KB gzip)
/// that every shopper downloads. A freed block goes back to its class and is handed out
/// again for the next request of that class, so a long-lived page that keeps tracking and
/// deciding reuses its memory instead of growing; the cost is up to 2x rounding per block
/// and no coalescing, which suits the SDK's small, repeating allocations. O(1) per call.
/// Wasm without threads runs this on one thread only.
mod heap {
    use std::alloc::{GlobalAlloc, Layout};
    use std::arch::wasm32::memory_grow;
    use std::cell::UnsafeCell;
    use std::ptr::{copy_nonoverlapping, null_mut};

    const PAGE: usize = 65536;
    /// Every block is at least 16 bytes and 16-byte aligned (a free block holds the link).
    const ALIGN: usize = 16;

    struct Heap {
        /// Head of the free list of each class `c` (blocks of `1 << c` bytes).
        free: [*mut u8; 32],
        /// Unused memory: `next..end`.
        next: usize,
        end: usize,
    }

    pub struct SizeClasses(UnsafeCell<Heap>);

    // SAFETY: wasm32 without the atomics feature has one thread.
    unsafe impl Sync for SizeClasses {}

    #[global_allocator]
    static HEAP: SizeClasses = SizeClasses(UnsafeCell::new(Heap { free: [null_mut(); 32], next: 0, end: 0 }));

    /// The class of a layout: the smallest `c >= 4` with `1 << c >= max(size, align)`.
    fn class(l: &Layout) -> usize {
        let n = l.size().max(l.align()).max(ALIGN);
        (usize::BITS - (n - 1).leading_zeros()) as usize
    }

    unsafe impl GlobalAlloc for SizeClasses {
        unsafe fn alloc(&self, l: Layout) -> *mut u8 {
            let h = &mut *self.0.get();
            let c = class(&l);
            let head = h.free[c];
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
                let old = memory_grow(0, pages);
                if old == usize::MAX {
                    return null_mut();
                }
                if old * PAGE != h.end {
                    // The first growth (or memory grown by someone else): start there.
                    h.next = old * PAGE;
                }
                h.end = (old + pages) * PAGE;
            }
        }

        unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
            let h = &mut *self.0.get();
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
}
