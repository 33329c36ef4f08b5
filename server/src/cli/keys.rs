//! `tailor keys` (server keys and signing; being written).

pub fn main(_args: &[String]) -> Result<(), String> {
    Err("not available yet".into())
}
