//! `tailor hash` (decision engine CLI; being written).

pub fn main(_args: &[String]) -> Result<(), String> {
    Err("not available yet".into())
}
