//! (decision engine; being written)
