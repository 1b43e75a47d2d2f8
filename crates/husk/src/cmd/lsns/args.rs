//! `lsns` argument parsing with getopt_long's exact behaviour: options and
//! operands in any order, `--` ends options, unique prefixes of long
//! options, `-T`'s optional argument only when attached (`-Towner`,
//! `--tree=owner`), and glibc's error messages.

use std::ffi::OsString;

/// One long option: name, argument rule, and the short letter (or code)
/// it acts as.
struct LongOpt {
    name: &'static str,
    arg: ArgRule,
    val: char,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ArgRule {
    None,
    Required,
    Optional,
}

/// `--output-all` has no short form; util-linux gives it a code above
/// every letter.
pub const OUTPUT_ALL: char = '\u{80}';

const LONG: &[LongOpt] = &[
    LongOpt {
        name: "json",
        arg: ArgRule::None,
        val: 'J',
    },
    LongOpt {
        name: "task",
        arg: ArgRule::Required,
        val: 'p',
    },
    LongOpt {
        name: "help",
        arg: ArgRule::None,
        val: 'h',
    },
    LongOpt {
        name: "output",
        arg: ArgRule::Required,
        val: 'o',
    },
    LongOpt {
        name: "output-all",
        arg: ArgRule::None,
        val: OUTPUT_ALL,
    },
    LongOpt {
        name: "persistent",
        arg: ArgRule::None,
        val: 'P',
    },
    LongOpt {
        name: "notruncate",
        arg: ArgRule::None,
        val: 'u',
    },
    LongOpt {
        name: "version",
        arg: ArgRule::None,
        val: 'V',
    },
    LongOpt {
        name: "noheadings",
        arg: ArgRule::None,
        val: 'n',
    },
    LongOpt {
        name: "nowrap",
        arg: ArgRule::None,
        val: 'W',
    },
    LongOpt {
        name: "list",
        arg: ArgRule::None,
        val: 'l',
    },
    LongOpt {
        name: "raw",
        arg: ArgRule::None,
        val: 'r',
    },
    LongOpt {
        name: "type",
        arg: ArgRule::Required,
        val: 't',
    },
    LongOpt {
        name: "tree",
        arg: ArgRule::Optional,
        val: 'T',
    },
];

/// Short options and their argument rules (`JlPp:o:nruhVt:T::W`).
fn short_rule(c: char) -> Option<ArgRule> {
    match c {
        'J' | 'l' | 'P' | 'n' | 'r' | 'u' | 'h' | 'V' | 'W' => Some(ArgRule::None),
        'p' | 'o' | 't' => Some(ArgRule::Required),
        'T' => Some(ArgRule::Optional),
        _ => None,
    }
}

/// What the parser produced next.
#[derive(Debug, PartialEq, Eq)]
pub enum Item {
    /// An option (by its short letter, or [`OUTPUT_ALL`]) and its argument.
    Opt(char, Option<String>),
    /// A getopt error, already worded as glibc words it.
    Error(String),
}

/// Splits argv (without argv[0]) into options, in order, and operands.
pub fn getopt(args: &[OsString]) -> (Vec<Item>, Vec<String>) {
    let args: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let mut items = Vec::new();
    let mut operands = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if arg == "--" {
            operands.extend(args[i..].iter().cloned());
            break;
        }
        if let Some(long) = arg.strip_prefix("--") {
            items.push(long_opt(long, &args, &mut i));
        } else if arg.len() > 1 && arg.starts_with('-') {
            short_opts(&arg[1..], &args, &mut i, &mut items);
        } else {
            operands.push(arg.clone());
        }
    }
    (items, operands)
}

fn long_opt(text: &str, args: &[String], i: &mut usize) -> Item {
    let (name, inline) = match text.split_once('=') {
        Some((n, v)) => (n, Some(v.to_owned())),
        None => (text, None),
    };
    let opt = match LONG.iter().find(|o| o.name == name) {
        Some(o) => o,
        None => {
            let cands: Vec<&'static LongOpt> =
                LONG.iter().filter(|o| o.name.starts_with(name)).collect();
            match *cands.as_slice() {
                [] => return Item::Error(format!("unrecognized option '--{name}'")),
                [one] => one,
                ref many => {
                    let list: Vec<String> =
                        many.iter().map(|o| format!(" '--{}'", o.name)).collect();
                    return Item::Error(format!(
                        "option '--{name}' is ambiguous; possibilities:{}",
                        list.concat()
                    ));
                }
            }
        }
    };
    match (opt.arg, inline) {
        (ArgRule::None, Some(_)) => {
            Item::Error(format!("option '--{}' doesn't allow an argument", opt.name))
        }
        (ArgRule::None, None) => Item::Opt(opt.val, None),
        (ArgRule::Optional, v) => Item::Opt(opt.val, v),
        (ArgRule::Required, Some(v)) => Item::Opt(opt.val, Some(v)),
        (ArgRule::Required, None) => match args.get(*i) {
            Some(v) => {
                *i += 1;
                Item::Opt(opt.val, Some(v.clone()))
            }
            None => Item::Error(format!("option '--{}' requires an argument", opt.name)),
        },
    }
}

fn short_opts(group: &str, args: &[String], i: &mut usize, items: &mut Vec<Item>) {
    for (at, c) in group.char_indices() {
        let rest = &group[at + c.len_utf8()..];
        match short_rule(c) {
            None => items.push(Item::Error(format!("invalid option -- '{c}'"))),
            Some(ArgRule::None) => items.push(Item::Opt(c, None)),
            Some(ArgRule::Optional) => {
                items.push(Item::Opt(c, (!rest.is_empty()).then(|| rest.to_owned())));
                return;
            }
            Some(ArgRule::Required) => {
                if !rest.is_empty() {
                    items.push(Item::Opt(c, Some(rest.to_owned())));
                } else if let Some(v) = args.get(*i) {
                    *i += 1;
                    items.push(Item::Opt(c, Some(v.clone())));
                } else {
                    items.push(Item::Error(format!("option requires an argument -- '{c}'")));
                }
                return;
            }
        }
    }
}

/// `strtoimax`-style parse: leading blanks, an optional sign, decimal
/// digits, nothing after. `Err(true)` on overflow (ERANGE).
pub fn parse_i64(s: &str) -> Result<i64, bool> {
    let t = s.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(false);
    }
    let mut v: i128 = 0;
    for b in digits.bytes() {
        v = (v * 10 + i128::from(b - b'0')).min(i128::from(u64::MAX) + 1);
    }
    let v = if neg { -v } else { v };
    i64::try_from(v).map_err(|_| true)
}

/// `strtoumax` as `ul_strtou64` uses it: negative numbers are out of range.
pub fn parse_u64(s: &str) -> Result<u64, bool> {
    match parse_i64(s) {
        Ok(v) if v < 0 => Err(true),
        Ok(v) => u64::try_from(v).map_err(|_| true),
        Err(false) => Err(false),
        Err(true) => {
            // Above i64 but maybe within u64.
            let t = s.trim_start_matches(|c: char| c.is_ascii_whitespace());
            let t = t.strip_prefix('+').unwrap_or(t);
            if t.starts_with('-') {
                return Err(true);
            }
            t.parse::<u64>().map_err(|_| true)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> (Vec<Item>, Vec<String>) {
        let a: Vec<OsString> = args.iter().map(OsString::from).collect();
        getopt(&a)
    }

    #[test]
    fn permutes_and_clusters() {
        let (items, ops) = run(&[
            "4026531836",
            "-nJt",
            "net",
            "--tree=owner",
            "-Tparent",
            "--",
            "-x",
        ]);
        assert_eq!(
            items,
            vec![
                Item::Opt('n', None),
                Item::Opt('J', None),
                Item::Opt('t', Some("net".into())),
                Item::Opt('T', Some("owner".into())),
                Item::Opt('T', Some("parent".into())),
            ]
        );
        assert_eq!(ops, vec!["4026531836".to_string(), "-x".to_string()]);
    }

    #[test]
    fn optional_argument_must_be_attached() {
        let (items, ops) = run(&["-T", "owner", "--tree", "x"]);
        assert_eq!(items, vec![Item::Opt('T', None), Item::Opt('T', None)]);
        assert_eq!(ops, vec!["owner".to_string(), "x".to_string()]);
    }

    #[test]
    fn prefixes_and_errors() {
        assert_eq!(run(&["--js"]).0, vec![Item::Opt('J', None)]);
        assert_eq!(run(&["--output-a"]).0, vec![Item::Opt(OUTPUT_ALL, None)]);
        assert_eq!(
            run(&["--t"]).0,
            vec![Item::Error(
                "option '--t' is ambiguous; possibilities: '--task' '--type' '--tree'".into()
            )]
        );
        assert_eq!(
            run(&["-x"]).0,
            vec![Item::Error("invalid option -- 'x'".into())]
        );
        assert_eq!(
            run(&["--json=1"]).0,
            vec![Item::Error(
                "option '--json' doesn't allow an argument".into()
            )]
        );
        assert_eq!(
            run(&["-t"]).0,
            vec![Item::Error("option requires an argument -- 't'".into())]
        );
    }

    #[test]
    fn numbers_parse_like_strtoimax() {
        assert_eq!(parse_i64(" +12"), Ok(12));
        assert_eq!(parse_i64("-3"), Ok(-3));
        assert_eq!(parse_i64("1x"), Err(false));
        assert_eq!(parse_i64(""), Err(false));
        assert_eq!(parse_i64("99999999999999999999"), Err(true));
        assert_eq!(parse_u64("-1"), Err(true));
        assert_eq!(parse_u64("18446744073709551615"), Ok(u64::MAX));
    }
}
