//! A `getopt_long(3)` work-alike for commands that must accept exactly what
//! their util-linux original accepts and fail with exactly glibc's messages.
//!
//! The option table is util-linux's: a short-option string (`t:` takes an
//! argument, `m::` an optional one, a leading `+` stops at the first
//! operand) and a long-option table whose entries stand for a short letter
//! or a private code. What glibc does, and so this does:
//! - short options cluster (`-ut 42`) and take a required argument attached
//!   or as the next word (`-t42`, `-t 42`);
//! - optional arguments only when attached (`-u/path`, `--uts=/path`, never
//!   `--uts /path`);
//! - a long option may be abbreviated to a prefix; a prefix shared by
//!   options that differ is ambiguous and the message lists them in table
//!   order (options that are the same, like aliases, do not count);
//! - `--` ends the options;
//! - with `+` the first operand ends the options (`unshare -u ls -l`
//!   leaves `-l` to `ls`); without it options and operands mix (lsns).
//!
//! Messages quote what was typed byte for byte, as glibc prints them, so
//! they are bytes. Hand-written rather than clap for start-up time: building
//! a clap command costs ~30 page faults and ~100k instructions per run
//! (docs/unshare.md).

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::os::unix::ffi::{OsStrExt, OsStringExt};

/// Whether an option takes an argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HasArg {
    No,
    /// `--opt=V`, `--opt V`, `-oV`, `-o V`.
    Required,
    /// Only attached: `-oV`, `--opt=V`.
    Optional,
}

/// One long option: its name, argument kind and the short letter (or
/// private code, above every letter) it stands for.
#[derive(Debug, Clone, Copy)]
pub struct LongOpt {
    pub name: &'static str,
    pub has_arg: HasArg,
    pub val: char,
}

/// `LongOpt { name, has_arg, val }`, short enough for a table.
pub const fn long(name: &'static str, has_arg: HasArg, val: char) -> LongOpt {
    LongOpt { name, has_arg, val }
}

/// The options of one command, as util-linux declares them: the short
/// string and the long table in its order (ambiguity messages list
/// candidates in that order).
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub short: &'static str,
    pub long: &'static [LongOpt],
}

/// A usage error: the program name glibc prints (argv[0] as typed) and
/// the message after it, both as bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub argv0: OsString,
    pub message: Vec<u8>,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.message))
    }
}

/// What [`Getopt`] yields: an option (its letter or code) and its argument.
pub type Item = Result<(char, Option<OsString>), Error>;

/// Walks argv (argv[0] first) yielding options in order; the operands are
/// then [`Getopt::operands`]. After an error, stop: glibc's callers exit.
#[derive(Debug)]
pub struct Getopt {
    spec: Spec,
    args: Vec<OsString>,
    /// Index of the next word to look at.
    next: usize,
    /// Rest of a short-option cluster being read (`-ut`: `t`).
    cluster: Vec<u8>,
    /// Operands passed over when options and operands mix.
    operands: Vec<OsString>,
    /// Whether the first operand ends the options (a leading `+`).
    in_order: bool,
}

impl Getopt {
    pub fn new(spec: Spec, args: Vec<OsString>) -> Getopt {
        Getopt {
            spec,
            in_order: spec.short.starts_with('+'),
            args,
            next: 1,
            cluster: Vec::new(),
            operands: Vec::new(),
        }
    }

    /// The operands, in order: those passed over, then everything from
    /// where the options ended.
    pub fn operands(mut self) -> Vec<OsString> {
        let rest = self.args.into_iter().skip(self.next);
        self.operands.extend(rest);
        self.operands
    }

    fn error(&self, message: Vec<u8>) -> Error {
        Error {
            argv0: self.args.first().cloned().unwrap_or_default(),
            message,
        }
    }

    /// The argument kind of a short letter, or `None` if it is not one.
    fn short_kind(&self, c: u8) -> Option<HasArg> {
        let s = self.spec.short.trim_start_matches('+').as_bytes();
        if c == b':' {
            return None;
        }
        let at = s.iter().position(|&b| b == c)?;
        Some(match (s.get(at + 1), s.get(at + 2)) {
            (Some(b':'), Some(b':')) => HasArg::Optional,
            (Some(b':'), _) => HasArg::Required,
            _ => HasArg::No,
        })
    }

    /// The next word as an argument, if there is one.
    fn take_next(&mut self) -> Option<OsString> {
        let value = self.args.get(self.next).cloned()?;
        self.next += 1;
        Some(value)
    }

    fn short(&mut self) -> Item {
        let c = self.cluster.remove(0);
        let quoted = |what: &str| [what.as_bytes(), b" -- '", &[c], b"'"].concat();
        let Some(kind) = self.short_kind(c) else {
            self.cluster.clear();
            return Err(self.error(quoted("invalid option")));
        };
        let rest = std::mem::take(&mut self.cluster);
        let value = match kind {
            HasArg::No => {
                self.cluster = rest;
                None
            }
            HasArg::Optional => (!rest.is_empty()).then(|| OsString::from_vec(rest)),
            HasArg::Required if !rest.is_empty() => Some(OsString::from_vec(rest)),
            HasArg::Required => match self.take_next() {
                Some(value) => Some(value),
                None => return Err(self.error(quoted("option requires an argument"))),
            },
        };
        Ok((char::from(c), value))
    }

    /// `--NAME` or `--NAME=VALUE`; `text` is what follows the dashes.
    fn long(&mut self, text: &[u8]) -> Item {
        let (name, value) = match text.iter().position(|&b| b == b'=') {
            Some(at) => (&text[..at], Some(OsStr::from_bytes(&text[at + 1..]))),
            None => (text, None),
        };
        let opt = self.find_long(name, text)?;
        let message = |what: &str| format!("option '--{}' {what}", opt.name).into_bytes();
        match (opt.has_arg, value) {
            (HasArg::No, Some(_)) => Err(self.error(message("doesn't allow an argument"))),
            (HasArg::Required, None) => match self.take_next() {
                Some(value) => Ok((opt.val, Some(value))),
                None => Err(self.error(message("requires an argument"))),
            },
            (_, value) => Ok((opt.val, value.map(OsStr::to_owned))),
        }
    }

    /// An exact match, else the first option `name` abbreviates unless a
    /// later one it also abbreviates differs from it (glibc's rule).
    fn find_long(&self, name: &[u8], text: &[u8]) -> Result<LongOpt, Error> {
        let table = self.spec.long;
        if let Some(exact) = table.iter().find(|o| o.name.as_bytes() == name) {
            return Ok(*exact);
        }
        let mut found = table.iter().filter(|o| o.name.as_bytes().starts_with(name));
        let Some(first) = found.next() else {
            return Err(self.error([b"unrecognized option '--", text, b"'"].concat()));
        };
        let others: Vec<&LongOpt> = found
            .filter(|o| o.val != first.val || o.has_arg != first.has_arg)
            .collect();
        if others.is_empty() {
            return Ok(*first);
        }
        let mut message = [b"option '--", text, b"' is ambiguous; possibilities:"].concat();
        for o in std::iter::once(first).chain(others) {
            message.extend_from_slice(format!(" '--{}'", o.name).as_bytes());
        }
        Err(self.error(message))
    }
}

impl Iterator for Getopt {
    type Item = Item;

    fn next(&mut self) -> Option<Item> {
        if !self.cluster.is_empty() {
            return Some(self.short());
        }
        loop {
            let arg = self.args.get(self.next)?.as_bytes();
            if arg == b"--" {
                self.next += 1;
                return None;
            }
            if let Some(text) = arg.strip_prefix(b"--") {
                let text = text.to_vec();
                self.next += 1;
                return Some(self.long(&text));
            }
            if arg.len() > 1 && arg[0] == b'-' {
                self.cluster = arg[1..].to_vec();
                self.next += 1;
                return Some(self.short());
            }
            if self.in_order {
                return None;
            }
            let operand = self.args[self.next].clone();
            self.operands.push(operand);
            self.next += 1;
        }
    }
}

#[cfg(test)]
mod tests;
