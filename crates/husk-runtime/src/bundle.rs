//! A bundle: a directory with `config.json` and a root filesystem.

use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;

/// The OCI versions this runtime implements (runtime-spec 1.0 to 1.2).
const SUPPORTED_MAJOR: &str = "1.";

/// Loading or checking a bundle failed.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// `config.json` could not be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// `config.json` is not valid JSON or not a valid spec.
    #[error("invalid {path}: field `{field}`: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Where in the document (`process.args`, `.` for the top).
        field: String,
        /// What serde found wrong.
        message: String,
    },
    /// `ociVersion` names a version this runtime does not implement.
    #[error("unsupported ociVersion \"{0}\" (want 1.x)")]
    Version(String),
    /// A field the runtime needs is missing.
    #[error("invalid config: {0} is required")]
    Missing(&'static str),
    /// `root.path` does not name a directory.
    #[error("rootfs {0} is not a directory")]
    Rootfs(PathBuf),
}

/// A loaded, checked bundle.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// The bundle directory, absolute.
    pub dir: PathBuf,
    /// The root filesystem, absolute.
    pub rootfs: PathBuf,
    /// The parsed `config.json`.
    pub spec: Spec,
}

impl Bundle {
    /// Reads `DIR/config.json`, checks `ociVersion`, `process.args` and
    /// that `root.path` (relative to `dir`) is a directory.
    pub fn load(dir: &Path) -> Result<Bundle, BundleError> {
        let dir = std::path::absolute(dir).map_err(|source| BundleError::Read {
            path: dir.to_owned(),
            source,
        })?;
        let path = dir.join("config.json");
        let text = std::fs::read(&path).map_err(|source| BundleError::Read {
            path: path.clone(),
            source,
        })?;
        let spec = parse(&text).map_err(|(field, message)| BundleError::Invalid {
            path: path.clone(),
            field,
            message,
        })?;
        check(&spec)?;
        let root = spec
            .root()
            .as_ref()
            .ok_or(BundleError::Missing("root.path"))?;
        let rootfs = dir.join(root.path());
        if !rootfs.is_dir() {
            return Err(BundleError::Rootfs(rootfs));
        }
        Ok(Bundle { dir, rootfs, spec })
    }
}

/// Parses a config, naming the field at fault (`process.user.uid`) on error.
pub fn parse(text: &[u8]) -> Result<Spec, (String, String)> {
    let de = &mut serde_json::Deserializer::from_slice(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let field = e.path().to_string();
        let mut message = e.inner().to_string();
        // serde's " at line L column C" is kept: it points into the file.
        if message.is_empty() {
            message = "invalid".into();
        }
        (field, message)
    })
}

/// The checks after parsing: version, and the fields `create` needs.
pub fn check(spec: &Spec) -> Result<(), BundleError> {
    if !spec.version().starts_with(SUPPORTED_MAJOR) {
        return Err(BundleError::Version(spec.version().clone()));
    }
    let process = spec
        .process()
        .as_ref()
        .ok_or(BundleError::Missing("process"))?;
    if process.args().as_ref().is_none_or(|a| a.is_empty()) {
        return Err(BundleError::Missing("process.args"));
    }
    if process.cwd().as_os_str().is_empty() || !process.cwd().is_absolute() {
        return Err(BundleError::Missing("process.cwd (absolute)"));
    }
    Ok(())
}

/// Checks a container id: non-empty, no `/`, not `.` or `..`, no NUL,
/// and only the characters runc allows (`[\w+\-.]`).
pub fn check_id(id: &str) -> Result<(), IdError> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || "_+-.".contains(c);
    if id.is_empty() || id == "." || id == ".." || !id.chars().all(ok_char) {
        return Err(IdError(id.to_owned()));
    }
    Ok(())
}

/// A container id that cannot name a directory safely.
#[derive(Debug, thiserror::Error)]
#[error("invalid container id \"{0}\": use letters, digits, '_', '+', '-' and '.', not empty, '.' or '..'")]
pub struct IdError(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        for good in ["a", "husk-1", "x.y_z+1", "..a"] {
            check_id(good).unwrap();
        }
        for bad in ["", ".", "..", "a/b", "../x", "a b", "a\0"] {
            assert!(check_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn parse_names_the_field() {
        let (field, _) =
            parse(br#"{"ociVersion":"1.0.2","process":{"user":{"uid":"x"}}}"#).unwrap_err();
        assert_eq!(field, "process.user.uid");
        let (_, msg) = parse(b"{nope").unwrap_err();
        assert!(msg.contains("line 1"), "{msg}");
    }

    #[test]
    fn version_and_args_are_checked() {
        let spec = parse(br#"{"ociVersion":"2.0.0","process":{"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/"}}"#)
            .unwrap();
        assert!(matches!(check(&spec), Err(BundleError::Version(_))));
        let spec = parse(
            br#"{"ociVersion":"1.0.2","process":{"user":{"uid":0,"gid":0},"args":[],"cwd":"/"}}"#,
        )
        .unwrap();
        assert!(matches!(
            check(&spec),
            Err(BundleError::Missing("process.args"))
        ));
    }
}
