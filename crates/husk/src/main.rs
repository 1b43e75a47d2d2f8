//! The `husk` binary: one executable, several commands.
//!
//! Invoked as `husk CMD ARGS...`, or through a link named after a command
//! (`unshare`, `nsenter`, `lsns`), in which case it behaves exactly like
//! that util-linux tool (argv[0] dispatch, as busybox does).
//!
//! `main` is the C entry point itself (`#![no_main]`): Rust's runtime set-up
//! before `main` (reading `/proc/self/maps` for the main thread's stack
//! guard, `sched_getaffinity`, a signal stack with SIGSEGV/SIGBUS handlers,
//! and ignoring SIGPIPE) costs a dozen system calls on every start, and the
//! C tools husk stands in for do none of it. Leaving SIGPIPE at its default
//! also makes `husk lsns | head` end the way `lsns | head` does. std still
//! works: glibc hands argv to std's `.init_array` hook, so `args_os` is
//! filled; stdout is flushed before returning, as `lang_start` would.
// Unit tests of this crate keep libtest's own `main`.
#![cfg_attr(not(test), no_main)]

mod cli;
mod cmd;
mod table;

use std::ffi::OsString;
use std::path::Path;

use cli::Prog;

const USAGE: &str = "\
Usage: husk <command> [options] [args...]

Commands:
  unshare   run a program with some namespaces unshared from the parent
  nsenter   run a program in the namespaces of other processes
  lsns      list namespaces
  ns        show the namespaces of processes, side by side
  netns     named network namespaces (as ip netns)
  link      network interfaces: veth pairs, bridges (as ip link)
  addr      IP addresses (as ip addr)
  route     routes (as ip route)
  batch     run netns/link/addr/route lines from a file in one process
  network   bridge networks: create, connect, disconnect, rm, ls, inspect
  oci       an OCI runtime with runc's command line (a link named husk-runc is the same)

Run 'husk <command> --help' for the options of a command.
A link to husk named unshare, nsenter or lsns runs that command.
";

/// The process entry point, called by the C runtime (see the module docs).
#[cfg(not(test))]
#[no_mangle]
pub extern "C" fn main(_argc: libc::c_int, _argv: *const *const libc::c_char) -> libc::c_int {
    let code = run();
    // Rust's stdout is line-buffered: a last line without '\n' would be lost.
    let _ = std::io::Write::flush(&mut std::io::stdout());
    libc::c_int::from(code)
}

#[cfg_attr(test, allow(dead_code))]
fn run() -> u8 {
    let mut args: Vec<OsString> = std::env::args_os().collect();
    let argv0 = args.first().cloned().unwrap_or_default();
    let base = Path::new(&argv0)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("husk")
        .to_owned();

    if let Some(run) = cmd::lookup(&base) {
        return cli::finish(run(&Prog::new(&base), args));
    }

    // `husk CMD ...`: drop "husk" so the command sees itself as argv[0].
    if args.len() < 2 {
        eprint!("{USAGE}");
        return 1;
    }
    args.remove(0);
    let name = args[0].to_string_lossy().into_owned();
    match name.as_str() {
        "-h" | "--help" | "help" => {
            print!("{USAGE}");
            0
        }
        "-V" | "--version" | "version" => {
            println!("husk {}", env!("CARGO_PKG_VERSION"));
            0
        }
        _ => match cmd::lookup(&name) {
            Some(run) => cli::finish(run(&Prog::new(&format!("husk {name}")), args)),
            None => {
                eprintln!(
                    "husk: unknown command '{name}'\nTry 'husk --help' for more information."
                );
                1
            }
        },
    }
}
