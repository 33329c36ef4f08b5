//! Ruleset parsing, validation, compilation and a decision, on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tailor::engine::regex::NativeRegex;

fuzz_target!(|data: &[u8]| {
    tailor::engine::fuzz::fuzz_one(data, &NativeRegex);
});
