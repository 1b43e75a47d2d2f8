//! Enumerating every namespace on the system (the `lsns` engine).
