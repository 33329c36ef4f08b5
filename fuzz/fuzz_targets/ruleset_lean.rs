//! The shopper's lean ruleset loader on arbitrary bytes: it never panics, and it accepts and
//! rejects exactly what the full validator does, with errors at the same paths.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tailor::engine::regex::NativeRegex;

fuzz_target!(|data: &[u8]| {
    tailor::engine::fuzz::fuzz_lean(data, &NativeRegex);
});
