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

/// A TLS-terminating proxy in front of the real server (Python's http.server and ssl), with
/// a certificate for 127.0.0.1 from a private CA made by openssl: `publish` speaks HTTPS, trusts the private
/// CA given with `--ca`, and refuses the certificate without it.
#[test]
fn publish_talks_to_an_https_server() {
    let b = sqlite();
    let server = b.serve(&[]);
    let dir = b.dir.path();
    let (ca, ca_key, csr, cert, key) =
        (dir.join("ca.pem"), dir.join("ca.key"), dir.join("s.csr"), dir.join("cert.pem"), dir.join("key.pem"));
    let ext = dir.join("leaf.ext");
    std::fs::write(&ext, "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1\n").unwrap();
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl").args(args).current_dir(dir).output().unwrap();
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    // A private CA, and a certificate for 127.0.0.1 that it signs.
    let p = |path: &std::path::Path| path.to_str().unwrap().to_string();
    let (ca_s, ca_key_s, csr_s, cert_s, key_s, ext_s) = (p(&ca), p(&ca_key), p(&csr), p(&cert), p(&key), p(&ext));
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=Tailor test CA",
        "-keyout",
        &ca_key_s,
        "-out",
        &ca_s,
    ]);
    openssl(&["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", &key_s, "-out", &csr_s]);
    openssl(&[
        "x509",
        "-req",
        "-in",
        &csr_s,
        "-CA",
        &ca_s,
        "-CAkey",
        &ca_key_s,
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        &ext_s,
        "-out",
        &cert_s,
    ]);
    const PROXY: &str = r#"
import http.server, ssl, sys, urllib.request, urllib.error
upstream, cert, key = sys.argv[1:4]
class Proxy(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["content-length"]))
        headers = {k: v for k, v in self.headers.items() if k.lower() in ("authorization", "content-type")}
        request = urllib.request.Request(upstream + self.path, data=body, method="POST", headers=headers)
        try:
            r = urllib.request.urlopen(request)
            code, data = r.status, r.read()
        except urllib.error.HTTPError as e:
            code, data = e.code, e.read()
        self.send_response(code)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", 0), Proxy)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()
"#;
    let mut proxy = Command::new("python3")
        .args(["-c", PROXY, &server.base])
        .arg(&cert)
        .arg(&key)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut port = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(proxy.stdout.take().unwrap()), &mut port).unwrap();
    let https = format!("https://127.0.0.1:{}", port.trim());
    let ruleset = write_ruleset(dir, "r.json", r#"{"version": 1, "placements": {}}"#);
    let args =
        ["ruleset", "publish", "--server", &https, "--site", "shop", "--token", TOKEN, ruleset.to_str().unwrap()];
    let untrusted = tailor(&args);
    let published = tailor(&[&args[..], &["--ca", ca.to_str().unwrap()]].concat());
    let missing_ca = tailor(&[&args[..], &["--ca", "/nonexistent/ca.pem"]].concat());
    let _ = proxy.kill();
    let _ = proxy.wait();
    let why = String::from_utf8_lossy(&untrusted.stderr);
    println!("# publish over HTTPS without --ca: {}", why.trim());
    assert!(!untrusted.status.success());
    assert!(why.to_lowercase().contains("certificate"), "{why}");
    let envelope = ok(&published);
    assert_eq!((envelope["site"].as_str(), envelope["version"].as_u64()), (Some("shop"), Some(1)));
    assert!(String::from_utf8_lossy(&missing_ca.stderr).contains("--ca /nonexistent/ca.pem"));
}
