//! A `getopt_long(3)` work-alike, for commands that must accept exactly
//! what a util-linux tool accepts and fail with exactly its messages:
//! clustered short options (`-ut 42`), optional arguments glued to the
//! option (`-u/path`, `--uts=/path`, never `--uts /path`), unique long
//! prefixes (`--tar 42`), `--`, and stopping at the first operand (the
//! `+` mode: everything after it belongs to the program to run).

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};

/// Whether an option takes an argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HasArg {
    No,
    Required,
    /// Only glued: `-uFILE`, `--uts=FILE`.
    Optional,
}

/// One long option: its name, argument kind and the short letter (or
/// private code) it stands for.
#[derive(Debug, Clone, Copy)]
pub struct LongOpt {
    pub name: &'static str,
    pub has_arg: HasArg,
    pub val: char,
}

/// The options of one command: short letters in getopt syntax (`t:` takes
/// an argument, `m::` an optional one) and the long table, in the order
/// util-linux lists it (ambiguity messages list candidates in that order).
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub short: &'static str,
    pub long: &'static [LongOpt],
}

/// A usage error, worded as glibc's getopt words it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage(pub String);

/// Walks argv (without argv[0]) yielding options; then [`Getopt::operands`].
#[derive(Debug)]
pub struct Getopt {
    spec: Spec,
    args: Vec<OsString>,
    next: usize,
    /// Rest of a short-option cluster being read (`-ut`: `t`).
    cluster: Vec<u8>,
}

impl Getopt {
    pub fn new(spec: Spec, args: Vec<OsString>) -> Getopt {
        Getopt {
            spec,
            args,
            next: 0,
            cluster: Vec::new(),
        }
    }

    /// What is left after the options: the program and its arguments.
    pub fn operands(self) -> Vec<OsString> {
        self.args.into_iter().skip(self.next).collect()
    }

    fn short_kind(&self, c: u8) -> Option<HasArg> {
        let s = self.spec.short.trim_start_matches('+').as_bytes();
        let at = s.iter().position(|&b| b == c && b != b':')?;
        Some(match (s.get(at + 1), s.get(at + 2)) {
            (Some(b':'), Some(b':')) => HasArg::Optional,
            (Some(b':'), _) => HasArg::Required,
            _ => HasArg::No,
        })
    }

    fn short(&mut self) -> Result<(char, Option<OsString>), Usage> {
        let c = self.cluster.remove(0);
        let letter = char::from(c);
        let kind = self
            .short_kind(c)
            .ok_or_else(|| Usage(format!("invalid option -- '{letter}'")))?;
        let rest = std::mem::take(&mut self.cluster);
        let value = match kind {
            HasArg::No => {
                self.cluster = rest;
                None
            }
            HasArg::Optional => (!rest.is_empty()).then(|| OsString::from_vec(rest)),
            HasArg::Required if !rest.is_empty() => Some(OsString::from_vec(rest)),
            HasArg::Required => {
                let value =
                    self.args.get(self.next).cloned().ok_or_else(|| {
                        Usage(format!("option requires an argument -- '{letter}'"))
                    })?;
                self.next += 1;
                Some(value)
            }
        };
        Ok((letter, value))
    }

    fn long(&mut self, arg: &[u8]) -> Result<(char, Option<OsString>), Usage> {
        let (name, value) = match arg.iter().position(|&b| b == b'=') {
            Some(at) => (
                &arg[..at],
                Some(OsStr::from_bytes(&arg[at + 1..]).to_owned()),
            ),
            None => (arg, None),
        };
        let opt = self.find_long(name, arg)?;
        match (opt.has_arg, value) {
            (HasArg::No, Some(_)) => Err(Usage(format!(
                "option '--{}' doesn't allow an argument",
                opt.name
            ))),
            (HasArg::Required, None) => {
                let value = self.args.get(self.next).cloned().ok_or_else(|| {
                    Usage(format!("option '--{}' requires an argument", opt.name))
                })?;
                self.next += 1;
                Ok((opt.val, Some(value)))
            }
            (_, value) => Ok((opt.val, value)),
        }
    }

    fn find_long(&self, name: &[u8], arg: &[u8]) -> Result<LongOpt, Usage> {
        let table = self.spec.long;
        if let Some(exact) = table.iter().find(|o| o.name.as_bytes() == name) {
            return Ok(*exact);
        }
        let found: Vec<&LongOpt> = table
            .iter()
            .filter(|o| o.name.as_bytes().starts_with(name))
            .collect();
        match found.as_slice() {
            [] => Err(Usage(format!(
                "unrecognized option '--{}'",
                String::from_utf8_lossy(arg)
            ))),
            [first, rest @ ..]
                if rest
                    .iter()
                    .all(|o| o.val == first.val && o.has_arg == first.has_arg) =>
            {
                Ok(**first)
            }
            _ => {
                let names: Vec<String> = found.iter().map(|o| format!("'--{}'", o.name)).collect();
                Err(Usage(format!(
                    "option '--{}' is ambiguous; possibilities: {}",
                    String::from_utf8_lossy(name),
                    names.join(" ")
                )))
            }
        }
    }
}

impl Iterator for Getopt {
    type Item = Result<(char, Option<OsString>), Usage>;

    fn next(&mut self) -> Option<Self::Item> {
        if !self.cluster.is_empty() {
            return Some(self.short());
        }
        let arg = self.args.get(self.next)?.as_bytes().to_vec();
        if arg == b"--" {
            self.next += 1;
            return None;
        }
        if let Some(long) = arg.strip_prefix(b"--") {
            self.next += 1;
            return Some(self.long(long));
        }
        match arg.strip_prefix(b"-") {
            Some(cluster) if !cluster.is_empty() => {
                self.next += 1;
                self.cluster = cluster.to_vec();
                Some(self.short())
            }
            // The first operand ends the options ("+" mode).
            _ => None,
        }
    }
}

/// `strtoul(3)` in base 10 as util-linux's `strtoul_or_err` uses it:
/// leading blanks and a sign allowed (a `-` wraps around), digits, nothing
/// after. Returns the low 32 bits, which is what lands in a `pid_t`,
/// `uid_t` or `gid_t`.
pub fn strtoul32(s: &OsStr) -> Option<u32> {
    let s = std::str::from_utf8(s.as_bytes()).ok()?;
    let s = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let value: u64 = digits.parse().ok()?;
    let value = if negative {
        value.wrapping_neg()
    } else {
        value
    };
    u32::try_from(value & u64::from(u32::MAX)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LONG: &[LongOpt] = &[
        LongOpt {
            name: "all",
            has_arg: HasArg::No,
            val: 'a',
        },
        LongOpt {
            name: "target",
            has_arg: HasArg::Required,
            val: 't',
        },
        LongOpt {
            name: "time",
            has_arg: HasArg::Optional,
            val: 'T',
        },
        LongOpt {
            name: "uts",
            has_arg: HasArg::Optional,
            val: 'u',
        },
        LongOpt {
            name: "wd",
            has_arg: HasArg::Optional,
            val: 'w',
        },
        LongOpt {
            name: "wdns",
            has_arg: HasArg::Optional,
            val: 'W',
        },
    ];
    const SPEC: Spec = Spec {
        short: "+at:T::u::w::W:",
        long: LONG,
    };

    type Item = Result<(char, Option<String>), Usage>;

    fn run(args: &[&str]) -> (Vec<Item>, Vec<String>) {
        let mut g = Getopt::new(SPEC, args.iter().map(OsString::from).collect());
        let mut opts = Vec::new();
        for item in g.by_ref() {
            let stop = item.is_err();
            opts.push(item.map(|(c, v)| (c, v.map(|v| v.into_string().unwrap()))));
            if stop {
                break;
            }
        }
        let ops = g
            .operands()
            .into_iter()
            .map(|o| o.into_string().unwrap())
            .collect();
        (opts, ops)
    }

    fn ok(c: char, v: Option<&str>) -> Item {
        Ok((c, v.map(str::to_owned)))
    }

    #[test]
    fn clusters_optional_and_required_arguments() {
        let (opts, ops) = run(&["-at", "42", "-u/x", "-ut", "prog", "-a"]);
        assert_eq!(
            opts,
            [
                ok('a', None),
                ok('t', Some("42")),
                ok('u', Some("/x")),
                ok('u', Some("t"))
            ]
        );
        assert_eq!(ops, ["prog", "-a"]);
        let (opts, ops) = run(&["-t42", "-u", "/x"]);
        assert_eq!(opts, [ok('t', Some("42")), ok('u', None)]);
        assert_eq!(ops, ["/x"]);
    }

    #[test]
    fn long_options_prefixes_and_double_dash() {
        let (opts, ops) = run(&["--tar", "7", "--ut=/f", "--uts", "--", "-a"]);
        assert_eq!(
            opts,
            [ok('t', Some("7")), ok('u', Some("/f")), ok('u', None)]
        );
        assert_eq!(ops, ["-a"]);
    }

    #[test]
    fn errors_read_like_glibc() {
        let err = |args: &[&str]| run(args).0.pop().unwrap().unwrap_err().0;
        assert_eq!(err(&["-x"]), "invalid option -- 'x'");
        assert_eq!(err(&["-W"]), "option requires an argument -- 'W'");
        assert_eq!(err(&["--target"]), "option '--target' requires an argument");
        assert_eq!(err(&["--tar"]), "option '--target' requires an argument");
        assert_eq!(
            err(&["--all=1"]),
            "option '--all' doesn't allow an argument"
        );
        assert_eq!(err(&["--foo=bar"]), "unrecognized option '--foo=bar'");
        assert_eq!(
            err(&["--w"]),
            "option '--w' is ambiguous; possibilities: '--wd' '--wdns'"
        );
        assert_eq!(
            err(&["--t", "1"]),
            "option '--t' is ambiguous; possibilities: '--target' '--time'"
        );
    }

    #[test]
    fn strtoul_like_util_linux() {
        let p = |s: &str| strtoul32(OsStr::new(s));
        assert_eq!(p("42"), Some(42));
        assert_eq!(p(" +42"), Some(42));
        assert_eq!(p("010"), Some(10));
        assert_eq!(p("-1"), Some(u32::MAX));
        assert_eq!(p("-5"), Some(4_294_967_291));
        assert_eq!(p("4294967296"), Some(0));
        for bad in ["", "abc", "12x", "0x10", "-", " "] {
            assert_eq!(p(bad), None, "{bad:?}");
        }
    }
}
