//! The `husk` binary: one executable, several commands.
//!
//! Invoked as `husk CMD ARGS...`, or through a link named after a command
//! (`unshare`, `nsenter`, `lsns`), in which case it behaves exactly like
//! that util-linux tool (argv[0] dispatch, as busybox does).

mod cli;
mod cmd;
mod table;

use std::ffi::OsString;
use std::path::Path;
use std::process::ExitCode;

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
  oci       an OCI runtime with runc's command line (a link named husk-runc is the same)

Run 'husk <command> --help' for the options of a command.
A link to husk named unshare, nsenter or lsns runs that command.
";

fn main() -> ExitCode {
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
        return ExitCode::from(1);
    }
    args.remove(0);
    let name = args[0].to_string_lossy().into_owned();
    match name.as_str() {
        "-h" | "--help" | "help" => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        "-V" | "--version" | "version" => {
            println!("husk {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        _ => match cmd::lookup(&name) {
            Some(run) => cli::finish(run(&Prog::new(&format!("husk {name}")), args)),
            None => {
                eprintln!(
                    "husk: unknown command '{name}'\nTry 'husk --help' for more information."
                );
                ExitCode::from(1)
            }
        },
    }
}
