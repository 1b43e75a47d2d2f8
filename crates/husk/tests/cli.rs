//! The binary's own front door: subcommands, links, usage errors.

mod common;

use common::{husk, output, MultiCall};

#[test]
fn version_and_help_exit_zero() {
    let out = output(&mut husk(["--version"]));
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("husk "));
    let out = output(&mut husk(["--help"]));
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("nsenter"));
}

#[test]
fn unknown_command_is_one_clear_error() {
    let out = output(&mut husk(["frobnicate"]));
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("husk: unknown command 'frobnicate'"),
        "{err}"
    );
}

#[test]
fn links_dispatch_on_argv0() {
    for links in [MultiCall::new(), MultiCall::hard()] {
        for name in ["unshare", "nsenter", "lsns"] {
            let out = output(std::process::Command::new(links.path(name)).arg("--version"));
            assert!(out.status.success(), "{name} --version");
            assert_eq!(
                String::from_utf8_lossy(&out.stdout).trim(),
                format!("{name} from husk {}", env!("CARGO_PKG_VERSION"))
            );
        }
        // And each runs as that command, not just prints its name.
        let out =
            output(std::process::Command::new(links.path("unshare")).args(["sh", "-c", "exit 6"]));
        assert_eq!(out.status.code(), Some(6));
        let out = output(std::process::Command::new(links.path("nsenter")).arg("--bogus"));
        assert!(
            String::from_utf8_lossy(&out.stderr)
                .ends_with("Try 'nsenter --help' for more information.\n"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = output(
            std::process::Command::new(links.path("lsns")).args(["-n", "-o", "NS", "-p", "1"]),
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
