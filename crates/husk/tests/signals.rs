//! The programs husk runs start with the signal dispositions util-linux gives
//! them: whatever the caller had, nothing added. (Rust's default runtime ignores
//! SIGPIPE, and exec keeps ignored signals ignored, so `husk unshare yes |
//! head -1` once made `yes` fail with "Broken pipe" instead of dying quietly.)

mod common;

use common::{husk, stdout_ok};

/// `SigIgn` and `SigBlk` from /proc/self/status of the program run.
fn dispositions(mut cmd: std::process::Command) -> String {
    cmd.args(["sh", "-c", "grep -E '^Sig(Ign|Blk)' /proc/self/status"]);
    stdout_ok(&mut cmd)
}

#[test]
fn unshare_runs_the_program_with_the_signals_util_linux_gives() {
    require_root!();
    require_tool!("/usr/bin/unshare");
    for flags in [&["-u"][..], &["-f", "-p", "-u"][..]] {
        let mut ours = husk(["unshare"]);
        ours.args(flags);
        let mut theirs = std::process::Command::new("/usr/bin/unshare");
        theirs.args(flags);
        assert_eq!(
            dispositions(ours),
            dispositions(theirs),
            "unshare {flags:?}"
        );
    }
}

#[test]
fn nsenter_runs_the_program_with_the_signals_util_linux_gives() {
    require_root!();
    require_tool!("/usr/bin/nsenter");
    let me = std::process::id().to_string();
    for flags in [&["-u"][..], &["-p"][..]] {
        let mut ours = husk(["nsenter", "-t", &me]);
        ours.args(flags);
        let mut theirs = std::process::Command::new("/usr/bin/nsenter");
        theirs.args(["-t", &me]).args(flags);
        assert_eq!(
            dispositions(ours),
            dispositions(theirs),
            "nsenter {flags:?}"
        );
    }
}

#[test]
fn a_closed_pipe_ends_the_program_quietly() {
    require_root!();
    // `yes` dies of SIGPIPE once `head` exits; had SIGPIPE been ignored it
    // would write "Broken pipe" to stderr and exit 1.
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c").arg(format!(
        "{} unshare -u yes | head -1",
        common::husk_bin().display()
    ));
    let out = common::output(&mut cmd);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "y\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "", "yes saw EPIPE");
}
