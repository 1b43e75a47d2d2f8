//! What every command shares: its name for messages, util-linux style
//! argument errors, and turning a result into an exit status.

use std::ffi::OsString;
use std::fmt;
use std::io;
use std::process::ExitCode;

/// The name a command reports itself under: `unshare` when run through a
/// link, `husk unshare` when run as a subcommand.
#[derive(Debug, Clone)]
pub struct Prog {
    name: String,
}

impl Prog {
    pub fn new(name: &str) -> Prog {
        Prog {
            name: name.to_owned(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The command alone (`unshare`), for version lines.
    pub fn command(&self) -> &str {
        self.name.rsplit(' ').next().unwrap_or(&self.name)
    }
}

impl fmt::Display for Prog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// How a command ends: an exit status to return, or an error to print.
pub type Outcome = anyhow::Result<Exit>;

/// The exit status a command asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exit(pub u8);

impl Exit {
    pub const OK: Exit = Exit(0);
    pub const FAILURE: Exit = Exit(1);
}

/// An error that has already been reported (usage errors print their own
/// two util-linux lines); carries the exit status to use.
#[derive(Debug)]
pub struct Reported(pub Exit);

impl fmt::Display for Reported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "already reported (exit {})", self.0 .0)
    }
}

impl std::error::Error for Reported {}

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
                println!("{} from husk {}", prog.command(), env!("CARGO_PKG_VERSION"));
                return Err(Reported(Exit::OK).into());
            }
            _ => {
                let text = e.render().to_string();
                let first = first_line(&text);
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

/// Prints a usage error the util-linux way and returns the error to bubble up.
pub fn usage_error(prog: &Prog, msg: impl fmt::Display) -> anyhow::Error {
    eprintln!("{prog}: {msg}\nTry '{prog} --help' for more information.");
    Reported(Exit::FAILURE).into()
}

/// Turns a command's outcome into the process exit status, printing an
/// error as one line: `PROG: what failed: why`.
pub fn finish((prog, outcome): (Prog, Outcome)) -> ExitCode {
    match outcome {
        Ok(Exit(code)) => ExitCode::from(code),
        Err(err) => {
            if let Some(Reported(Exit(code))) = err.downcast_ref::<Reported>() {
                return ExitCode::from(*code);
            }
            eprintln!("{prog}: {}", error_line(&err));
            ExitCode::from(1)
        }
    }
}

/// The error chain joined with ": ", with io errors shown as the bare
/// `strerror` text ("No such process"), as util-linux prints them.
pub fn error_line(err: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in err.chain() {
        let text = match cause.downcast_ref::<io::Error>() {
            Some(io) => strerror(io),
            None => cause.to_string(),
        };
        // A source already spelled out in its parent's message adds nothing.
        if parts.last().is_some_and(|p| p.ends_with(&text)) {
            continue;
        }
        parts.push(text);
    }
    parts.join(": ")
}

/// An io error's text without Rust's " (os error N)" suffix.
pub fn strerror(err: &io::Error) -> String {
    let text = err.to_string();
    match (err.raw_os_error(), text.rfind(" (os error ")) {
        (Some(_), Some(at)) => text[..at].to_owned(),
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn io_errors_print_like_strerror() {
        let err = Err::<(), _>(io::Error::from_raw_os_error(libc::ESRCH))
            .context("cannot open /proc/4242/ns/net")
            .unwrap_err();
        assert_eq!(
            error_line(&err),
            "cannot open /proc/4242/ns/net: No such process"
        );
    }

    #[test]
    fn clap_errors_that_list_arguments_stay_one_line() {
        let text =
            "error: the following required arguments were not provided:\n  <NAME>\n\nUsage: x\n";
        assert_eq!(
            first_line(text),
            "the following required arguments were not provided: <NAME>"
        );
        assert_eq!(
            first_line("error: unexpected argument 'x' found\n\nUsage"),
            "unexpected argument 'x' found"
        );
    }

    #[test]
    fn prog_command_is_the_last_word() {
        assert_eq!(Prog::new("husk unshare").command(), "unshare");
        assert_eq!(Prog::new("lsns").command(), "lsns");
    }
}
