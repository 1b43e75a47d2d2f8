//! Reading and writing single cgroupfs files.
//!
//! Every interface file is written with one `write(2)` of the whole value,
//! never created (a missing file means a missing controller or a typo, and
//! must fail rather than leave a stray regular file in a fake or real
//! hierarchy).

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// A cgroupfs file that could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// Reading the file failed.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Writing the value to the file failed.
    #[error("cannot write {value:?} to {path}")]
    Write {
        /// The file.
        path: PathBuf,
        /// What was written.
        value: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The file's content was not what the kernel documents.
    #[error("cannot parse {path}: unexpected {content:?}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The offending content.
        content: String,
    },
}

impl FileError {
    /// The OS error number behind this error, if any.
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            FileError::Read { source, .. } | FileError::Write { source, .. } => {
                source.raw_os_error()
            }
            FileError::Parse { .. } => None,
        }
    }

    /// The I/O error kind behind this error, if any.
    pub fn kind(&self) -> Option<io::ErrorKind> {
        match self {
            FileError::Read { source, .. } | FileError::Write { source, .. } => Some(source.kind()),
            FileError::Parse { .. } => None,
        }
    }
}

/// Writes `value` to the existing file `dir/name` in a single write.
pub(crate) fn write(dir: &Path, name: &str, value: &str) -> Result<(), FileError> {
    let path = dir.join(name);
    let result = OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&path)
        .and_then(|mut f| f.write_all(value.as_bytes()));
    result.map_err(|source| FileError::Write {
        path,
        value: value.to_owned(),
        source,
    })
}

/// Reads `dir/name` whole.
pub(crate) fn read(dir: &Path, name: &str) -> Result<String, FileError> {
    let path = dir.join(name);
    std::fs::read_to_string(&path).map_err(|source| FileError::Read { path, source })
}

/// Reads `dir/name` as one trimmed line.
pub(crate) fn read_trimmed(dir: &Path, name: &str) -> Result<String, FileError> {
    read(dir, name).map(|s| s.trim().to_owned())
}

/// Reads `dir/name` as a number; `max` (cgroup v2's "no limit") is `None`.
pub(crate) fn read_limit(dir: &Path, name: &str) -> Result<Option<u64>, FileError> {
    let text = read_trimmed(dir, name)?;
    if text == "max" {
        return Ok(None);
    }
    text.parse().map(Some).map_err(|_| FileError::Parse {
        path: dir.join(name),
        content: text,
    })
}

/// Reads `dir/name` as an unsigned number.
pub(crate) fn read_u64(dir: &Path, name: &str) -> Result<u64, FileError> {
    let text = read_trimmed(dir, name)?;
    text.parse().map_err(|_| FileError::Parse {
        path: dir.join(name),
        content: text,
    })
}

/// The value of `key` in a flat-keyed file (`key value` lines, as in
/// `cgroup.events`, `cpu.stat`, `memory.stat`).
pub(crate) fn keyed(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let (k, v) = line.split_once(' ')?;
        (k == key).then(|| v.trim().parse().ok()).flatten()
    })
}

/// Pids listed in a `cgroup.procs` file.
pub(crate) fn read_pids(dir: &Path) -> Result<Vec<u32>, FileError> {
    let text = read(dir, "cgroup.procs")?;
    text.lines()
        .map(|l| {
            l.trim().parse().map_err(|_| FileError::Parse {
                path: dir.join("cgroup.procs"),
                content: l.to_owned(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_needs_an_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let err = write(dir.path(), "pids.max", "10").unwrap_err();
        assert!(err.to_string().contains("pids.max"), "{err}");
        assert_eq!(err.kind(), Some(io::ErrorKind::NotFound));
        std::fs::write(dir.path().join("pids.max"), "max\n").unwrap();
        write(dir.path(), "pids.max", "10").unwrap();
        assert_eq!(read_limit(dir.path(), "pids.max").unwrap(), Some(10));
    }

    #[test]
    fn keyed_files_and_limits() {
        let text = "populated 1\nfrozen 0\n";
        assert_eq!(keyed(text, "frozen"), Some(0));
        assert_eq!(keyed(text, "populated"), Some(1));
        assert_eq!(keyed(text, "missing"), None);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("memory.max"), "max\n").unwrap();
        assert_eq!(read_limit(dir.path(), "memory.max").unwrap(), None);
        std::fs::write(dir.path().join("cgroup.procs"), "12\n34\n").unwrap();
        assert_eq!(read_pids(dir.path()).unwrap(), vec![12, 34]);
    }
}
