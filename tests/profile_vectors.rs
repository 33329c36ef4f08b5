//! Runs the shared profile vectors (tests/vectors/profile.json): steps applied to a new
//! profile (track, identify, setAssignment, setAudiences), then attributes of the snapshot
//! at time `at`, addressed as conditions address them (`profile.<path>`). An expected `null`
//! means the attribute is absent; numbers compare to 1e-9 relative. The case-running code
//! is in tests/vectors_support/ (the browser tests run it too).

mod vectors_support;

#[test]
fn every_profile_vector_gives_the_expected_snapshot() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/profile.json")).unwrap();
    match vectors_support::profiles(&text) {
        Ok(n) => assert!(n >= vectors_support::MIN_PROFILES),
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn a_profile_vector_with_a_wrong_expectation_fails() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/profile.json")).unwrap();
    let wrong = text.replacen("\"profile.orders.count\": 0", "\"profile.orders.count\": 1", 1);
    assert_ne!(wrong, text);
    let err = vectors_support::profiles(&wrong).unwrap_err();
    assert!(err.contains("a new profile (live): profile.orders.count is Some(\"0\"), expected 1"), "{err}");
    let err = vectors_support::profiles(&text.replacen("\"steps\"", "\"step\"", 1)).unwrap_err();
    assert!(err.contains("no \"steps\""), "{err}");
}
