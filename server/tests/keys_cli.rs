//! `tailor keys generate` and `tailor ruleset sign|verify|publish`, run as a user would.

mod support;

use std::process::{Command, Output};

use support::*;

fn tailor(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tailor")).args(args).output().unwrap()
}

fn ok(output: &Output) -> serde_json::Value {
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn generated_keys_sign_envelopes_that_verify_and_tampering_fails() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k.key");
    let key = key.to_str().unwrap();
    let generated = ok(&tailor(&["keys", "generate", "--out", key]));
    assert_eq!(generated["alg"], "Ed25519");
    let public = generated["publicKey"].as_str().unwrap().to_string();
    assert_eq!(base64_len(&public), 32);
    assert!(generated.get("secretKey").is_none(), "the secret stays in the file");
    assert!(!tailor(&["keys", "generate", "--out", key]).status.success(), "never overwrites a key");
    assert_eq!(ok(&tailor(&["keys", "public", "--key", key]))["publicKey"], public.as_str());
    let inline = ok(&tailor(&["keys", "generate"]));
    assert!(inline["secretKey"].is_string());

    let ruleset = write_ruleset(dir.path(), "r.json", r#"{"version": 1, "placements": {}, "offers": []}"#);
    let signed =
        tailor(&["ruleset", "sign", "--key", key, "--site", "shop", "--version", "7", ruleset.to_str().unwrap()]);
    let envelope = ok(&signed);
    assert_eq!((envelope["site"].as_str(), envelope["version"].as_u64()), (Some("shop"), Some(7)));
    assert_eq!(envelope["keyId"], generated["keyId"]);
    let file = dir.path().join("env.json");
    std::fs::write(&file, &signed.stdout).unwrap();
    let verified = ok(&tailor(&["ruleset", "verify", "--public-key", &public, file.to_str().unwrap()]));
    assert_eq!(verified["ok"], true);

    // Edit the signed text itself: re-serialising with serde_json would reorder keys, which
    // alone breaks the signature (the payload keeps the ruleset's key order).
    let text = String::from_utf8(signed.stdout.clone()).unwrap();
    let tampered = text.replace(r#""offers":[]"#, r#""offers":[{"id":"free"}]"#);
    assert_ne!(tampered, text);
    std::fs::write(&file, tampered).unwrap();
    let failed = tailor(&["ruleset", "verify", "--public-key", &public, file.to_str().unwrap()]);
    assert!(!failed.status.success());
    assert!(String::from_utf8_lossy(&failed.stderr).contains("does not match"));

    // Expired: signed a year ago with a one-day lifetime.
    let old = (now_ms() - 365 * 86_400_000).to_string();
    let signed = tailor(&[
        "ruleset",
        "sign",
        "--key",
        key,
        "--site",
        "shop",
        "--ttl",
        "86400",
        "--issued-at",
        &old,
        ruleset.to_str().unwrap(),
    ]);
    ok(&signed);
    std::fs::write(&file, &signed.stdout).unwrap();
    let expired = tailor(&["ruleset", "verify", "--public-key", &public, file.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&expired.stderr).contains("validity"), "{expired:?}");
    assert!(tailor(&["ruleset", "verify", "--public-key", &public, "--ignore-expiry", file.to_str().unwrap()])
        .status
        .success());
}

#[test]
fn publish_sends_the_ruleset_to_a_running_server() {
    let b = sqlite();
    let server = b.serve(&[]);
    let ruleset = write_ruleset(b.dir.path(), "r.json", r#"{"version": 1, "placements": {}}"#);
    let args = ["ruleset", "publish", "--server", &server.base, "--site", "shop", ruleset.to_str().unwrap()];
    let refused = tailor(&[&args[..], &["--token", "wrong-token-0"]].concat());
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("401"));
    let first = ok(&tailor(&[&args[..], &["--token", TOKEN]].concat()));
    let output = tailor(&[&args[..], &["--token", TOKEN]].concat());
    let second = ok(&output);
    assert_eq!((first["version"].as_u64(), second["version"].as_u64()), (Some(1), Some(2)));
    // The server's key (beside its database) verifies what it signed.
    let file = b.dir.path().join("env.json");
    std::fs::write(&file, &output.stdout).unwrap();
    ok(&tailor(&["ruleset", "verify", "--key", b.key().to_str().unwrap(), file.to_str().unwrap()]));
}

fn base64_len(text: &str) -> usize {
    text.trim_end_matches('=').len() * 3 / 4
}
