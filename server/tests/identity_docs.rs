//! The Rust example of docs/api.md ("Identity tokens") is `docs/identity_token.rs`, compiled
//! here and run against a real server: its token is accepted, one made with another secret
//! or for another user is not. The doc must show the file exactly.

mod support;

#[path = "docs/identity_token.rs"]
mod shop_backend;

use serde_json::json;
use support::*;

#[test]
fn docs_api_md_shows_the_rust_example_as_it_is_tested() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/api.md")).unwrap();
    let example = include_str!("docs/identity_token.rs");
    assert!(
        doc.contains(&format!("```rust\n{example}```")),
        "docs/api.md must show server/tests/docs/identity_token.rs verbatim"
    );
}

#[test]
fn the_rust_example_makes_tokens_the_server_accepts() {
    for b in backends() {
        let server = b.serve(&[]);
        let identify = |user: &str, token: String| -> serde_json::Value {
            client()
                .post(server.url("/v1/identify"))
                .json(&json!({"anonymousId": "a-docs", "userId": user, "token": token}))
                .send()
                .unwrap()
                .json()
                .unwrap()
        };
        let good = shop_backend::tailor_identity_token(IDENTITY_SECRET, "default", "u-docs", 600);
        assert_eq!(identify("u-docs", good.clone())["verified"], true, "{}", b.name);
        assert_eq!(identify("someone-else", good)["verified"], false);
        let other_secret = shop_backend::tailor_identity_token("another-secret-0123456789", "default", "u-docs", 600);
        assert_eq!(identify("u-docs", other_secret)["verified"], false);
        // The same token as the server's own implementation makes for the same expiry.
        let t = shop_backend::tailor_identity_token(IDENTITY_SECRET, "default", "u-docs", 600);
        let exp: u64 = t.split('.').nth(1).unwrap().parse().unwrap();
        assert_eq!(t, tailor_server::identity::token(IDENTITY_SECRET, "default", "u-docs", exp));
    }
}
