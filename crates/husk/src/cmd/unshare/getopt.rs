//! A small `getopt_long(3)` for commands that must parse exactly like their
//! util-linux originals: options are handled in order (later ones override
//! earlier ones), long options may be abbreviated to any unambiguous prefix,
//! short options cluster (`-fpu`) and take their value attached or as the
//! next word, and the first non-option word ends option parsing (the `+`
//! mode: `unshare -u ls -l` leaves `-l` to `ls`). Error messages are glibc's.
//!
//! Hand-written rather than clap for start-up time: building a clap command
//! touches ~30 extra pages and ~100k instructions per run, which is most of
//! the gap to the C tool on a few-millisecond command (see docs/unshare.md).

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

/// Whether an option takes a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HasArg {
    /// Never.
    No,
    /// Always: `--opt=V`, `--opt V`, `-oV`, `-o V`.
    Required,
    /// Only attached to the long form: `--opt=V`.
    Optional,
}

/// One option of a command.
#[derive(Debug, Clone, Copy)]
pub struct Opt<Id> {
    /// Long name without dashes.
    pub long: &'static str,
    /// Short letter, if any.
    pub short: Option<char>,
    /// Whether it takes a value (the short form never takes an optional one).
    pub arg: HasArg,
    /// What the caller matches on.
    pub id: Id,
}

/// The options found, in order, and the words after them.
pub type Parsed<Id> = (Vec<(Id, Option<OsString>)>, Vec<OsString>);

/// Parses `args` (without argv[0]) against `table`. The error is the line
/// glibc would print after `PROG: `.
pub fn parse<Id: Copy>(table: &[Opt<Id>], args: &[OsString]) -> Result<Parsed<Id>, String> {
    let mut found = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let word = args[i].as_bytes();
        i += 1;
        if word == b"--" {
            break;
        }
        if let Some(rest) = word.strip_prefix(b"--") {
            found.push(long(table, rest, args, &mut i)?);
        } else if word.len() > 1 && word[0] == b'-' {
            shorts(table, &word[1..], args, &mut i, &mut found)?;
        } else {
            i -= 1;
            break;
        }
    }
    Ok((found, args[i..].to_vec()))
}

fn long<Id: Copy>(
    table: &[Opt<Id>],
    rest: &[u8],
    args: &[OsString],
    i: &mut usize,
) -> Result<(Id, Option<OsString>), String> {
    let (name, value) = match rest.iter().position(|&b| b == b'=') {
        Some(eq) => (
            &rest[..eq],
            Some(OsStr::from_bytes(&rest[eq + 1..]).to_owned()),
        ),
        None => (rest, None),
    };
    let shown = String::from_utf8_lossy(rest);
    let opt = find_long(table, name, &shown)?;
    match (opt.arg, value) {
        (HasArg::No, Some(_)) => Err(format!("option '--{}' doesn't allow an argument", opt.long)),
        (HasArg::Required, None) => match args.get(*i) {
            Some(v) => {
                *i += 1;
                Ok((opt.id, Some(v.clone())))
            }
            None => Err(format!("option '--{}' requires an argument", opt.long)),
        },
        (_, value) => Ok((opt.id, value)),
    }
}

/// An exact match, or the only option (by id) the prefix abbreviates.
fn find_long<'t, Id: Copy>(
    table: &'t [Opt<Id>],
    name: &[u8],
    shown: &str,
) -> Result<&'t Opt<Id>, String> {
    if let Some(exact) = table.iter().find(|o| o.long.as_bytes() == name) {
        return Ok(exact);
    }
    let matches: Vec<&Opt<Id>> = table
        .iter()
        .filter(|o| !name.is_empty() && o.long.as_bytes().starts_with(name))
        .collect();
    match matches.as_slice() {
        [] => Err(format!("unrecognized option '--{shown}'")),
        [one] => Ok(one),
        many => {
            let names: Vec<String> = many.iter().map(|o| format!("'--{}'", o.long)).collect();
            Err(format!(
                "option '--{shown}' is ambiguous; possibilities: {}",
                names.join(" ")
            ))
        }
    }
}

fn shorts<Id: Copy>(
    table: &[Opt<Id>],
    cluster: &[u8],
    args: &[OsString],
    i: &mut usize,
    found: &mut Vec<(Id, Option<OsString>)>,
) -> Result<(), String> {
    for (at, &b) in cluster.iter().enumerate() {
        let c = char::from(b);
        let opt = table
            .iter()
            .find(|o| o.short == Some(c))
            .ok_or_else(|| format!("invalid option -- '{}'", c.escape_default()))?;
        if opt.arg != HasArg::Required {
            found.push((opt.id, None));
            continue;
        }
        let attached = &cluster[at + 1..];
        let value = if !attached.is_empty() {
            OsStr::from_bytes(attached).to_owned()
        } else if let Some(v) = args.get(*i) {
            *i += 1;
            v.clone()
        } else {
            return Err(format!("option requires an argument -- '{c}'"));
        };
        found.push((opt.id, Some(value)));
        return Ok(());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum T {
        Fork,
        Mount,
        MapUser,
        MapUsers,
        Setuid,
    }

    const TABLE: &[Opt<T>] = &[
        Opt {
            long: "fork",
            short: Some('f'),
            arg: HasArg::No,
            id: T::Fork,
        },
        Opt {
            long: "mount",
            short: Some('m'),
            arg: HasArg::Optional,
            id: T::Mount,
        },
        Opt {
            long: "map-user",
            short: None,
            arg: HasArg::Required,
            id: T::MapUser,
        },
        Opt {
            long: "map-users",
            short: None,
            arg: HasArg::Required,
            id: T::MapUsers,
        },
        Opt {
            long: "setuid",
            short: Some('S'),
            arg: HasArg::Required,
            id: T::Setuid,
        },
    ];

    fn args(words: &[&str]) -> Vec<OsString> {
        words.iter().map(OsString::from).collect()
    }

    fn ok(words: &[&str]) -> (Vec<(T, Option<String>)>, Vec<String>) {
        let (opts, rest) = parse(TABLE, &args(words)).unwrap();
        (
            opts.into_iter()
                .map(|(id, v)| (id, v.map(|v| v.into_string().unwrap())))
                .collect(),
            rest.into_iter().map(|v| v.into_string().unwrap()).collect(),
        )
    }

    fn err(words: &[&str]) -> String {
        parse(TABLE, &args(words)).unwrap_err()
    }

    #[test]
    fn options_stop_at_the_program() {
        let (opts, rest) = ok(&["-fm", "--mount=/x", "ls", "-l"]);
        assert_eq!(
            opts,
            [
                (T::Fork, None),
                (T::Mount, None),
                (T::Mount, Some("/x".into()))
            ]
        );
        assert_eq!(rest, ["ls", "-l"]);
        assert_eq!(ok(&["--", "-f"]).1, ["-f"]);
    }

    #[test]
    fn values_attached_or_next() {
        let (opts, _) = ok(&["-S1", "-S", "2", "--setuid=3", "--setuid", "4", "-fS5"]);
        let values: Vec<_> = opts.iter().filter_map(|(_, v)| v.clone()).collect();
        assert_eq!(values, ["1", "2", "3", "4", "5"]);
    }

    #[test]
    fn abbreviations_exact_wins_ambiguous_fails() {
        assert_eq!(ok(&["--fo"]).0, [(T::Fork, None)]);
        assert_eq!(ok(&["--map-user=0"]).0, [(T::MapUser, Some("0".into()))]);
        assert_eq!(
            err(&["--map-u=0"]),
            "option '--map-u=0' is ambiguous; possibilities: '--map-user' '--map-users'"
        );
    }

    #[test]
    fn glibc_messages() {
        assert_eq!(err(&["--nope"]), "unrecognized option '--nope'");
        assert_eq!(err(&["-Z"]), "invalid option -- 'Z'");
        assert_eq!(err(&["-m=x"]), "invalid option -- '='");
        assert_eq!(
            err(&["--fork=1"]),
            "option '--fork' doesn't allow an argument"
        );
        assert_eq!(err(&["--setuid"]), "option '--setuid' requires an argument");
        assert_eq!(err(&["-S"]), "option requires an argument -- 'S'");
    }
}
