//! Deterministic bucketing hashes.
//!
//! - GrowthBook's hashes (the default): FNV-1a 32-bit over the UTF-16 code units of a
//!   string. Version 1: `fnv(value + seed) % 1000 / 1000`; version 2:
//!   `fnv(decimal(fnv(seed + value))) % 10000 / 10000`.
//! - Optimizely compatibility: MurmurHash3 x86_32 with seed 1 over the UTF-8 bytes of
//!   `bucketing id + experiment id`, bucket `floor(h / 2^32 * 10000)`.
//!
//! Also the bucket ranges GrowthBook derives from weights and coverage, and namespaces.

/// FNV-1a 32-bit over the UTF-16 code units of `parts`, concatenated.
pub fn fnv1a32(parts: &[&str]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for part in parts {
        for unit in part.encode_utf16() {
            h ^= unit as u32;
            h = h.wrapping_mul(0x0100_0193);
        }
    }
    h
}

/// GrowthBook's `hash(seed, value, version)`: a number in [0, 1), `None` for versions
/// other than 1 and 2.
pub fn gb_hash(seed: &str, value: &str, version: u32) -> Option<f64> {
    match version {
        1 => Some((fnv1a32(&[value, seed]) % 1000) as f64 / 1000.0),
        2 => {
            let inner = fnv1a32(&[seed, value]);
            let mut buf = [0u8; 10];
            let digits = u32_decimal(inner, &mut buf);
            Some((fnv1a32(&[digits]) % 10000) as f64 / 10000.0)
        }
        _ => None,
    }
}

/// Decimal digits of `n` without allocating.
fn u32_decimal(mut n: u32, buf: &mut [u8; 10]) -> &str {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // Only ASCII digits were written.
    std::str::from_utf8(&buf[i..]).unwrap_or("0")
}

/// MurmurHash3 x86_32 of `key` with `seed`.
pub fn murmur3_32(key: &[u8], seed: u32) -> u32 {
    const C1: u32 = 0xcc9e_2d51;
    const C2: u32 = 0x1b87_3593;
    let mut h = seed;
    let mut chunks = key.chunks_exact(4);
    for c in &mut chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        h ^= k;
        h = h.rotate_left(13).wrapping_mul(5).wrapping_add(0xe654_6b64);
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        let mut k: u32 = 0;
        for (i, b) in tail.iter().enumerate() {
            k |= (*b as u32) << (8 * i);
        }
        k = k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        h ^= k;
    }
    h ^= key.len() as u32;
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^= h >> 16;
    h
}

/// Optimizely's bucket in [0, 10000) for `bucketing_id + experiment_id`.
pub fn murmur_bucket(bucketing_id: &str, experiment_id: &str) -> u32 {
    let mut key = Vec::with_capacity(bucketing_id.len() + experiment_id.len());
    key.extend_from_slice(bucketing_id.as_bytes());
    key.extend_from_slice(experiment_id.as_bytes());
    let h = murmur3_32(&key, 1);
    ((h as u64 * 10000) >> 32) as u32
}

/// GrowthBook's `getBucketRanges`: one `[start, end)` per variation. Coverage is clamped
/// to [0, 1]; weights that are missing, of the wrong length or not summing to 1 (±0.01)
/// are replaced by equal weights.
pub fn bucket_ranges(n: usize, coverage: f64, weights: Option<&[f64]>) -> Vec<(f64, f64)> {
    // NaN (impossible from JSON) would stay NaN and cover nothing.
    let coverage = coverage.clamp(0.0, 1.0);
    let equal = equal_weights(n);
    let mut w: &[f64] = weights.unwrap_or(&equal);
    if w.len() != n {
        w = &equal;
    }
    let total: f64 = w.iter().sum();
    if !(0.99..=1.01).contains(&total) {
        w = &equal;
    }
    let mut cumulative = 0.0;
    w.iter()
        .map(|w| {
            let start = cumulative;
            cumulative += w;
            (start, start + coverage * w)
        })
        .collect()
}

pub fn equal_weights(n: usize) -> Vec<f64> {
    if n == 0 {
        return Vec::new();
    }
    vec![1.0 / n as f64; n]
}

/// The variation whose range holds `n`, as GrowthBook's `chooseVariation`.
pub fn choose_variation(n: f64, ranges: &[(f64, f64)]) -> Option<usize> {
    ranges.iter().position(|&(s, e)| n >= s && n < e)
}

/// GrowthBook's `inNamespace`: hash version 1 of `"__" + id` over the hash value.
pub fn in_namespace(hash_value: &str, id: &str, start: f64, end: f64) -> bool {
    let mut seed = String::with_capacity(id.len() + 2);
    seed.push_str("__");
    seed.push_str(id);
    match gb_hash(&seed, hash_value, 1) {
        Some(n) => n >= start && n < end,
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optimizely_vectors() {
        assert_eq!(murmur_bucket("ppid1", "1886780721"), 5254);
        assert_eq!(murmur_bucket("ppid2", "1886780721"), 4299);
        assert_eq!(murmur_bucket("ppid2", "1886780722"), 2434);
        assert_eq!(murmur_bucket("ppid3", "1886780721"), 5439);
    }

    #[test]
    fn fnv_matches_reference() {
        assert_eq!(fnv1a32(&[""]), 0x811c_9dc5);
        assert_eq!(fnv1a32(&["a"]), 0xe40c_292c);
        assert_eq!(fnv1a32(&["fo", "obar"]), 0xbf9c_f968);
        assert_eq!(gb_hash("a", "b", 3), None);
    }

    #[test]
    fn ranges_fall_back_to_equal_weights() {
        assert_eq!(bucket_ranges(2, 1.0, Some(&[0.4, 0.4])), vec![(0.0, 0.5), (0.5, 1.0)]);
        assert_eq!(bucket_ranges(2, 0.5, Some(&[0.4, 0.6])), vec![(0.0, 0.2), (0.4, 0.7)]);
        assert_eq!(choose_variation(0.3, &[(0.0, 0.2), (0.4, 0.7)]), None);
    }
}
