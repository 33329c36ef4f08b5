use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

pub fn tailor_identity_token(secret: &str, site: &str, user_id: &str, ttl_seconds: u64) -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let exp = now + ttl_seconds;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("tailor-identity-v1\n{site}\n{user_id}\n{exp}").as_bytes());
    format!("v1.{exp}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
}
