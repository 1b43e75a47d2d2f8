//! Time-namespace clock offsets (time_namespaces(7)).
//!
//! After `unshare(CLONE_NEWTIME)` and before the first process enters the
//! new namespace, the creator writes `/proc/self/timens_offsets` (one line
//! per clock: `CLOCK SECONDS NANOSECONDS`). Processes inside then see
//! `CLOCK_MONOTONIC` and `CLOCK_BOOTTIME` (and `/proc/uptime`) shifted.
//!
//! ```
//! use husk_ns::time::{Clock, TimeOffset};
//! let off = TimeOffset { clock: Clock::Boottime, seconds: 86400 };
//! assert_eq!(off.to_string(), "7 86400 0");
//! ```

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The clocks a time namespace can offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// `CLOCK_MONOTONIC` (`--monotonic`).
    Monotonic,
    /// `CLOCK_BOOTTIME` (`--boottime`), which `/proc/uptime` shows.
    Boottime,
}

impl Clock {
    /// The clock id the kernel expects in `timens_offsets`.
    pub const fn id(self) -> i32 {
        match self {
            Clock::Monotonic => libc::CLOCK_MONOTONIC,
            Clock::Boottime => libc::CLOCK_BOOTTIME,
        }
    }
}

/// One offset: `seconds` added to `clock` inside the namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeOffset {
    /// Which clock.
    pub clock: Clock,
    /// Seconds to add (may be negative, as long as the clock stays ≥ 0).
    pub seconds: i64,
}

impl fmt::Display for TimeOffset {
    /// The `timens_offsets` line, without newline.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} 0", self.clock.id(), self.seconds)
    }
}

/// Writing the offsets failed.
#[derive(Debug, thiserror::Error)]
#[error("failed to write to {path}")]
pub struct TimeError {
    /// The offsets file.
    pub path: PathBuf,
    /// The cause.
    #[source]
    pub source: std::io::Error,
}

/// The offsets file of the calling process.
pub const SELF_OFFSETS: &str = "/proc/self/timens_offsets";

/// Writes each offset to `file` (normally [`SELF_OFFSETS`]), one write per
/// clock as util-linux does. Fails with `EACCES` once a process has entered
/// the namespace.
pub fn write_offsets(file: &Path, offsets: &[TimeOffset]) -> Result<(), TimeError> {
    let fail = |source| TimeError {
        path: file.to_owned(),
        source,
    };
    for off in offsets {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(file)
            .map_err(fail)?;
        f.write_all(off.to_string().as_bytes()).map_err(fail)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_use_kernel_clock_ids() {
        let m = TimeOffset {
            clock: Clock::Monotonic,
            seconds: -5,
        };
        assert_eq!(m.to_string(), "1 -5 0");
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("timens_offsets");
        std::fs::write(&f, "").unwrap();
        write_offsets(&f, &[m]).unwrap();
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "1 -5 0");
        let err = write_offsets(&dir.path().join("missing"), &[m]).unwrap_err();
        assert!(err.to_string().starts_with("failed to write to "));
    }
}
