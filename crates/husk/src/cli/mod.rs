//! What every command shares: its name for messages, option parsing
//! ([`getopt`]) and numbers ([`number`]) the util-linux way, util-linux
//! style argument errors, and turning a result into an exit status.

use std::fmt;
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;

pub mod getopt;
pub mod number;

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

/// Prints `PROG from husk VERSION`, what `-V`/`--version` print.
pub fn print_version(prog: &Prog) {
    println!("{} from husk {}", prog.command(), env!("CARGO_PKG_VERSION"));
}

/// Reports a getopt error as glibc and util-linux do: the program as typed
/// (argv[0], when run through a link; `husk CMD` as a subcommand), glibc's
/// message byte for byte, then the `--help` hint. Exit status 1.
pub fn getopt_error(prog: &Prog, err: &getopt::Error) -> anyhow::Error {
    let mut text = if prog.name().contains(' ') {
        prog.name().as_bytes().to_vec()
    } else {
        err.argv0.as_bytes().to_vec()
    };
    text.extend_from_slice(b": ");
    text.extend_from_slice(&err.message);
    text.extend_from_slice(format!("\nTry '{prog} --help' for more information.\n").as_bytes());
    let _ = io::stderr().write_all(&text);
    Reported(Exit::FAILURE).into()
}

/// Prints a usage error the util-linux way and returns the error to bubble up.
pub fn usage_error(prog: &Prog, msg: impl fmt::Display) -> anyhow::Error {
    eprintln!("{prog}: {msg}\nTry '{prog} --help' for more information.");
    Reported(Exit::FAILURE).into()
}

/// Turns a command's outcome into the process exit status, printing an
/// error as one line: `PROG: what failed: why`.
pub fn finish((prog, outcome): (Prog, Outcome)) -> u8 {
    match outcome {
        Ok(Exit(code)) => code,
        Err(err) => {
            if let Some(Reported(Exit(code))) = err.downcast_ref::<Reported>() {
                return *code;
            }
            eprintln!("{prog}: {}", error_line(&err));
            1
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
    fn prog_command_is_the_last_word() {
        assert_eq!(Prog::new("husk unshare").command(), "unshare");
        assert_eq!(Prog::new("lsns").command(), "lsns");
    }
}
