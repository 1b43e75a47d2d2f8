//! Time-namespace clock offsets.
