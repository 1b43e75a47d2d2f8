//! uid/gid maps of user namespaces.
