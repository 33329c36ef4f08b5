//! UUID version 7 (RFC 9562): a 48-bit Unix timestamp in milliseconds followed by random bits.
//!
//! Event ids are UUIDv7 so that they sort by creation time and the server can deduplicate
//! retries by id. The engine has no clock and no randomness: the caller passes the time
//! (`Date.now()` in the browser) and 10 random bytes (`crypto.getRandomValues`).
//!
//! The text form is always the canonical one: 36 characters, lowercase hex, hyphens at
//! 8-4-4-4-12. [`Uuid::parse_v7`] accepts only that form, so one id has one spelling and
//! deduplication by string is exact.

/// The largest timestamp a UUIDv7 can hold (2^48 - 1 ms, the year 10889).
pub const MAX_UNIX_MS: u64 = (1 << 48) - 1;

/// A UUID as its 16 bytes, big-endian as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Uuid([u8; 16]);

/// Why a string is not a canonical UUIDv7.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UuidError {
    /// Not 36 characters of lowercase hex with hyphens at 8-4-4-4-12.
    Format,
    /// Well formed, but the version nibble is not 7.
    Version,
    /// Well formed, but the variant bits are not `10` (RFC 9562).
    Variant,
}

impl UuidError {
    /// A short reason for error messages.
    pub fn reason(self) -> &'static str {
        match self {
            UuidError::Format => "expected a UUID in canonical form (36 lowercase hex characters and hyphens)",
            UuidError::Version => "expected a version 7 UUID",
            UuidError::Variant => "expected a UUID with the RFC 9562 variant",
        }
    }
}

impl std::fmt::Display for UuidError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.reason())
    }
}

impl std::error::Error for UuidError {}

const HEX: &[u8; 16] = b"0123456789abcdef";

impl Uuid {
    /// Builds a UUIDv7 from a Unix time in milliseconds and 10 random bytes.
    ///
    /// Times past [`MAX_UNIX_MS`] are clamped to it; 74 of the 80 random bits are used
    /// (`rand_a` = 12 bits, `rand_b` = 62 bits).
    pub fn v7(unix_ms: u64, random: [u8; 10]) -> Uuid {
        let ms = unix_ms.min(MAX_UNIX_MS);
        let mut b = [0u8; 16];
        for (i, byte) in b.iter_mut().take(6).enumerate() {
            *byte = (ms >> (40 - 8 * i)) as u8;
        }
        b[6] = 0x70 | (random[0] & 0x0f);
        b[7] = random[1];
        b[8] = 0x80 | (random[2] & 0x3f);
        b[9..16].copy_from_slice(&random[3..10]);
        Uuid(b)
    }

    /// Builds a UUIDv7 from a JavaScript-style time (`Date.now()`, a float of milliseconds).
    /// The fraction is dropped; negative or non-finite times become 0.
    pub fn v7_from_ms(now_ms: f64, random: [u8; 10]) -> Uuid {
        Uuid::v7(ms_to_u64(now_ms), random)
    }

    /// Parses the canonical text form (see the module docs) of any UUID.
    pub fn parse(text: &str) -> Result<Uuid, UuidError> {
        let s = text.as_bytes();
        if s.len() != 36 {
            return Err(UuidError::Format);
        }
        let mut b = [0u8; 16];
        let mut n = 0;
        let mut i = 0;
        while i < 36 {
            if matches!(i, 8 | 13 | 18 | 23) {
                if s[i] != b'-' {
                    return Err(UuidError::Format);
                }
                i += 1;
                continue;
            }
            let hi = hex_val(s[i]).ok_or(UuidError::Format)?;
            let lo = hex_val(s[i + 1]).ok_or(UuidError::Format)?;
            b[n] = hi << 4 | lo;
            n += 1;
            i += 2;
        }
        Ok(Uuid(b))
    }

    /// Parses the canonical text form and checks version 7 and the RFC 9562 variant.
    pub fn parse_v7(text: &str) -> Result<Uuid, UuidError> {
        let u = Uuid::parse(text)?;
        if u.version() != 7 {
            return Err(UuidError::Version);
        }
        if u.0[8] & 0xc0 != 0x80 {
            return Err(UuidError::Variant);
        }
        Ok(u)
    }

    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// The version nibble (7 for ids made here).
    pub fn version(&self) -> u8 {
        self.0[6] >> 4
    }

    /// The 48-bit timestamp of a UUIDv7, in Unix milliseconds.
    pub fn timestamp_ms(&self) -> u64 {
        self.0[..6].iter().fold(0u64, |acc, &b| acc << 8 | b as u64)
    }

    /// The canonical text form: lowercase, hyphenated, 36 characters.
    pub fn to_hyphenated(&self) -> String {
        let mut out = String::with_capacity(36);
        for (i, byte) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                out.push('-');
            }
            out.push(HEX[(byte >> 4) as usize] as char);
            out.push(HEX[(byte & 0x0f) as usize] as char);
        }
        out
    }
}

impl std::fmt::Display for Uuid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hyphenated())
    }
}

/// True if `text` is a UUIDv7 in canonical form.
pub fn is_uuid_v7(text: &str) -> bool {
    Uuid::parse_v7(text).is_ok()
}

/// A JavaScript time in ms as whole milliseconds: fraction dropped, clamped to
/// `0..=MAX_UNIX_MS`, NaN as 0.
pub fn ms_to_u64(ms: f64) -> u64 {
    if ms >= 1.0 {
        (ms.floor().min(MAX_UNIX_MS as f64)) as u64
    } else {
        0
    }
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_the_rfc_example() {
        // RFC 9562 appendix A.6: 2022-02-22 19:22:22 UTC = 0x017F22E279B0 ms.
        let random = [0x0c, 0xc3, 0x18, 0xc4, 0xdc, 0x0c, 0x0c, 0x07, 0x39, 0x8f];
        let u = Uuid::v7(0x017F_22E2_79B0, random);
        assert_eq!(u.to_hyphenated(), "017f22e2-79b0-7cc3-98c4-dc0c0c07398f");
        assert_eq!(u.version(), 7);
        assert_eq!(u.timestamp_ms(), 0x017F_22E2_79B0);
        assert_eq!(Uuid::parse_v7(&u.to_hyphenated()), Ok(u));
    }

    #[test]
    fn rejects_non_canonical_and_other_versions() {
        let ok = "017f22e2-79b0-7cc3-98c4-dc0c0c07398f";
        assert!(is_uuid_v7(ok));
        assert_eq!(Uuid::parse_v7(&ok.to_uppercase()), Err(UuidError::Format));
        assert_eq!(Uuid::parse_v7(&ok.replace('-', "")), Err(UuidError::Format));
        assert_eq!(Uuid::parse_v7("017f22e2-79b0-4cc3-98c4-dc0c0c07398f"), Err(UuidError::Version));
        assert_eq!(Uuid::parse_v7("017f22e2-79b0-7cc3-c8c4-dc0c0c07398f"), Err(UuidError::Variant));
        assert_eq!(Uuid::parse_v7("017f22e2-79b0-7cc3-98c4-dc0c0c07398é"), Err(UuidError::Format));
        assert_eq!(Uuid::parse_v7(""), Err(UuidError::Format));
    }

    #[test]
    fn clamps_times() {
        assert_eq!(ms_to_u64(f64::NAN), 0);
        assert_eq!(ms_to_u64(-5.0), 0);
        assert_eq!(ms_to_u64(1234.9), 1234);
        assert_eq!(ms_to_u64(f64::INFINITY), MAX_UNIX_MS);
        assert_eq!(Uuid::v7(u64::MAX, [0; 10]).timestamp_ms(), MAX_UNIX_MS);
    }

    #[test]
    fn ids_sort_by_time() {
        let a = Uuid::v7(1_700_000_000_000, [0xff; 10]).to_hyphenated();
        let b = Uuid::v7(1_700_000_000_001, [0; 10]).to_hyphenated();
        assert!(a < b);
    }
}
