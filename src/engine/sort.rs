//! One stable sort for the whole engine.
//!
//! `slice::sort_by` is instantiated once per element type and comparator, and each copy
//! (driftsort, quicksort, small-sort networks) costs 3-4 KB of Wasm: eight call sites made
//! about 26 KB of the module shoppers download. The lists sorted here are short (profile
//! detail, a placement's candidates, a `$in` list), so this sorts a vector of indices with a
//! bottom-up merge sort that is compiled once (the comparator is a `dyn Fn`), then moves
//! the elements into that order with swaps. Stable and O(n log n) like `sort_by`, so every
//! result is the same as before.

use std::cmp::Ordering;

/// Sorts `v` stably by `cmp`, like `slice::sort_by`.
pub fn sort_by<T>(v: &mut [T], cmp: impl Fn(&T, &T) -> Ordering) {
    let order = order(v.len(), &|a, b| cmp(&v[a], &v[b]));
    permute(v, &order);
}

/// The stable sorted order of `0..n`: `order[k]` is the index of the element that goes to
/// position `k`.
pub(crate) fn order(n: usize, cmp: &dyn Fn(usize, usize) -> Ordering) -> Vec<usize> {
    let mut a: Vec<usize> = (0..n).collect();
    let mut b = a.clone();
    let mut width = 1;
    while width < n {
        let mut lo = 0;
        while lo < n {
            let mid = (lo + width).min(n);
            let hi = (lo + 2 * width).min(n);
            let (mut i, mut j) = (lo, mid);
            for slot in &mut b[lo..hi] {
                // Take from the left run on ties: that keeps the sort stable.
                if i < mid && (j >= hi || cmp(a[i], a[j]) != Ordering::Greater) {
                    *slot = a[i];
                    i += 1;
                } else {
                    *slot = a[j];
                    j += 1;
                }
            }
            lo = hi;
        }
        std::mem::swap(&mut a, &mut b);
        width *= 2;
    }
    a
}

/// Moves `v[order[k]]` to position `k` for every `k`, in place.
fn permute<T>(v: &mut [T], order: &[usize]) {
    for i in 0..order.len() {
        // Positions before `i` are final; an element that was there has been swapped to a
        // later position, which following `order` from where it was finds.
        let mut j = order[i];
        while j < i {
            j = order[j];
        }
        v.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_as_std_stable_sort() {
        let mut seed = 7u64;
        for n in 0..200 {
            let mut v: Vec<(u8, usize)> = (0..n)
                .map(|i| {
                    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    ((seed >> 60) as u8, i)
                })
                .collect();
            let mut expected = v.clone();
            expected.sort_by_key(|a| a.0);
            sort_by(&mut v, |a, b| a.0.cmp(&b.0));
            assert_eq!(v, expected, "n = {n}");
        }
    }
}
