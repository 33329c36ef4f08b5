//! (touchpoints and profile; being written)
