//! Creating namespaces (the `unshare` engine) and persisting them.
