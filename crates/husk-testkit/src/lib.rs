//! Test support shared by every husk crate (a dev-dependency only).
//!
//! husk's tests run against the real kernel and most need root. A test that
//! cannot run says so through [`skip`]: with `CI=true` that is a failure;
//! elsewhere the test's name and reason go to stderr and to the skip log,
//! which `scripts/test` empties before the run and prints after it (cargo and
//! nextest hide the stderr of tests that pass, so a bare `eprintln!` would be
//! invisible).
//!
//! ```
//! fn mounts_something() {
//!     husk_testkit::require_root!();
//!     // ... the real test, as root ...
//! }
//! # let _ = mounts_something;
//! ```
#![deny(missing_docs)]

use std::io::Write;
use std::path::PathBuf;

/// Whether a skip must fail the test (`CI=true` or `CI=1`).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Where skips are recorded, one line each: `$HUSK_SKIP_LOG`, or
/// `target/tmp/husk-skips.log` in this workspace.
pub fn skip_log() -> PathBuf {
    std::env::var_os("HUSK_SKIP_LOG").map_or_else(
        || {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../target/tmp/husk-skips.log"
            ))
        },
        PathBuf::from,
    )
}

/// The running test's name: libtest (and nextest, which runs each test
/// through libtest) runs every test on a thread named after it.
pub fn test_name() -> String {
    let thread = std::thread::current();
    thread
        .name()
        .filter(|n| *n != "main")
        .unwrap_or("<unnamed test>")
        .to_owned()
}

/// Reports that the running test of `krate` skips because of `why`: a panic
/// in CI; elsewhere a line on stderr and one appended to [`skip_log`].
/// Use the [`skip!`] macro, which fills in the calling crate.
pub fn skip(krate: &str, why: &str) {
    let test = format!("{krate}::{}", test_name());
    if in_ci() {
        panic!("{test}: cannot be skipped in CI: {why}");
    }
    let line = format!("SKIPPED {test}: {why}\n");
    eprint!("{line}");
    let log = skip_log();
    if let Some(dir) = log.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    // One write on an O_APPEND file: lines from parallel tests do not mix.
    let logged = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .and_then(|mut f| f.write_all(line.as_bytes()));
    if let Err(e) = logged {
        eprintln!("cannot record the skip in {}: {e}", log.display());
    }
}

/// [`skip()`] for the calling crate: `skip!("needs a cgroup2 mount")`.
#[macro_export]
macro_rules! skip {
    ($why:expr) => {
        $crate::skip(env!("CARGO_CRATE_NAME"), $why)
    };
}

/// Returns from the calling test, after [`skip!`], unless running as root.
#[macro_export]
macro_rules! require_root {
    () => {
        $crate::require_root!("needs root")
    };
    ($why:expr) => {
        if !$crate::is_root() {
            $crate::skip!($why);
            return;
        }
    };
}

/// Returns from the calling test, after [`skip!`], unless `tool` is on PATH.
#[macro_export]
macro_rules! require_tool {
    ($tool:expr) => {
        if $crate::which($tool).is_none() {
            $crate::skip!(&format!("needs {} on PATH", $tool));
            return;
        }
    };
}

/// Whether the effective uid is 0.
pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// The full path of `tool` on PATH.
pub fn which(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(tool))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_test_name_is_the_thread_name() {
        assert_eq!(test_name(), "tests::the_test_name_is_the_thread_name");
    }

    #[test]
    fn which_finds_sh_and_not_nonsense() {
        assert!(which("sh").is_some());
        assert!(which("husk-no-such-tool").is_none());
    }
}
