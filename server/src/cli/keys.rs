//! `tailor keys generate [--out FILE]` and `tailor keys public --key FILE`.
//!
//! `generate` makes a new Ed25519 signing key. With `--out` the secret goes to FILE (mode
//! 0600, never overwritten) and stdout gets only the public part; without it stdout gets
//! both. Output is one JSON object: `{"keyId", "alg": "Ed25519", "publicKey", ...}` where
//! `publicKey` is standard base64 of the raw 32-byte key, for pinning in the SDK.

use std::path::PathBuf;

use tailor_server::signing::Keypair;

const USAGE: &str = "usage: tailor keys generate [--out FILE] | tailor keys public --key FILE";

fn public_json(key: &Keypair, extra: Option<(&str, String)>) -> String {
    let mut v = serde_json::json!({
        "keyId": key.key_id(),
        "alg": "Ed25519",
        "publicKey": key.public_base64(),
    });
    if let Some((name, value)) = extra {
        v[name] = serde_json::Value::String(value);
    }
    v.to_string()
}

pub fn main(args: &[String]) -> Result<(), String> {
    let (command, rest) = args.split_first().ok_or(USAGE)?;
    let mut out: Option<PathBuf> = None;
    let mut key: Option<PathBuf> = None;
    let mut it = rest.iter();
    while let Some(flag) = it.next() {
        let mut value = |name: &str| it.next().cloned().ok_or_else(|| format!("{name} needs a value"));
        match flag.as_str() {
            "--out" => out = Some(value("--out")?.into()),
            "--key" => key = Some(value("--key")?.into()),
            other => return Err(format!("keys: unknown option '{other}'\n{USAGE}")),
        }
    }
    match command.as_str() {
        "generate" => {
            let keypair = Keypair::generate()?;
            match out {
                Some(path) => {
                    Keypair::write_new(&path, &keypair).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                    println!("{}", public_json(&keypair, Some(("secretKeyFile", path.display().to_string()))));
                }
                None => println!("{}", public_json(&keypair, Some(("secretKey", keypair.secret_base64())))),
            }
            Ok(())
        }
        "public" => {
            let path = key.ok_or("keys public needs --key FILE")?;
            println!("{}", public_json(&Keypair::load(&path)?, None));
            Ok(())
        }
        _ => Err(USAGE.into()),
    }
}
