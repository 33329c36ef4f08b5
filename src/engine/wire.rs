//! (sync; being written)
