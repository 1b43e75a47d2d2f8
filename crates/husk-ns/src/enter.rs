//! Joining existing namespaces (the `nsenter` engine).
