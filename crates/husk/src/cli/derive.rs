//! The clap adapter, used only by `husk network`
//! (`crates/husk/src/cmd/net/network.rs`). Every other command parses with
//! [`super::getopt`]; when `network` does too, delete this file and the
//! `clap` dependency.

use std::ffi::OsString;

use super::{Exit, Prog, Reported};

/// Parses `args` (argv[0] first) with clap, reporting problems the way
/// util-linux does: `PROG: message` then `Try 'PROG --help' for more
/// information.` on stderr and exit status 1. `--help` and `--version`
/// print to stdout and exit 0.
pub fn parse<T: clap::Parser>(prog: &Prog, args: Vec<OsString>) -> Result<T, anyhow::Error> {
    use clap::error::ErrorKind;
    let cmd = T::command()
        .name(prog.name().to_owned())
        .bin_name(prog.name().to_owned())
        .version(env!("CARGO_PKG_VERSION"));
    let matches = match cmd.try_get_matches_from(args) {
        Ok(m) => m,
        Err(e) => match e.kind() {
            ErrorKind::DisplayHelp | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                print!("{}", e.render());
                return Err(Reported(Exit::OK).into());
            }
            ErrorKind::DisplayVersion => {
                super::print_version(prog);
                return Err(Reported(Exit::OK).into());
            }
            _ => {
                let first = first_line(&e.render().to_string());
                eprintln!("{prog}: {first}\nTry '{prog} --help' for more information.");
                return Err(Reported(Exit::FAILURE).into());
            }
        },
    };
    T::from_arg_matches(&matches).map_err(|e| {
        eprintln!("{prog}: {e}\nTry '{prog} --help' for more information.");
        Reported(Exit::FAILURE).into()
    })
}

/// The first line of a clap error, without `error: `; a line ending in
/// `:` (clap's "the following required arguments were not provided:")
/// takes the indented lines after it, so the one line names them.
fn first_line(text: &str) -> String {
    let mut lines = text.lines();
    let mut first = lines
        .next()
        .unwrap_or("invalid arguments")
        .trim_start_matches("error: ")
        .to_owned();
    if first.ends_with(':') {
        let more: Vec<&str> = lines
            .take_while(|l| l.starts_with("  "))
            .map(str::trim)
            .collect();
        if !more.is_empty() {
            first = format!("{first} {}", more.join(" "));
        }
    }
    first
}
