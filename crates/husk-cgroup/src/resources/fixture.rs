//! Fake controller directories for the v1 and v2 file-writer tests: each
//! named file exists (as the kernel's would) and holds whatever was written last.

use std::path::Path;

use oci_spec::runtime::LinuxResources;

/// `linux.resources` from its OCI JSON.
pub(crate) fn res(json: &str) -> LinuxResources {
    serde_json::from_str(json).expect("valid linux.resources")
}

/// A temp dir holding an empty file for each of `files`.
pub(crate) fn fake(files: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for name in files {
        std::fs::write(dir.path().join(name), "").unwrap();
    }
    dir
}

/// What was last written to `dir/name`.
pub(crate) fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap()
}
