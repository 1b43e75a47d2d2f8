//! Skipped unit tests, reported the same way as the end-to-end tests'
//! (`crates/husk/tests/common/mod.rs`): a failure with `CI=true`, otherwise a
//! line on stderr and one appended to the skip log that `scripts/test`
//! reports (cargo and nextest hide the stderr of passing tests).

use std::io::Write;
use std::path::PathBuf;

/// `$HUSK_SKIP_LOG`, or `target/tmp/husk-skips.log` of this workspace (the
/// file the end-to-end tests use by default).
fn skip_log() -> PathBuf {
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

/// Reports that the running test skips, naming it (libtest runs each test on
/// a thread named after it). Panics with `CI=true`.
pub(crate) fn skip(why: &str) {
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("<unnamed test>");
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        panic!("{test}: cannot be skipped in CI: {why}");
    }
    let line = format!("SKIPPED husk_ns::{test}: {why}\n");
    eprint!("{line}");
    let log = skip_log();
    if let Some(dir) = log.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let logged = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .and_then(|mut f| f.write_all(line.as_bytes()));
    if let Err(e) = logged {
        eprintln!("cannot record the skip in {}: {e}", log.display());
    }
}

/// Returns from the calling test (after [`skip`]) unless running as root.
macro_rules! require_root {
    ($why:expr) => {
        if !rustix::process::geteuid().is_root() {
            $crate::test_skip::skip($why);
            return;
        }
    };
}
pub(crate) use require_root;
