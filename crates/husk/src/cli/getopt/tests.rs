//! The cases the three parsers this one replaced (nsenter's, unshare's and
//! lsns's) were tested with, on tables shaped like theirs.

use super::*;

/// nsenter-like: `+` mode, optional short arguments.
const NSENTER: Spec = Spec {
    short: "+at:T::u::w::W:",
    long: &[
        long("all", HasArg::No, 'a'),
        long("target", HasArg::Required, 't'),
        long("time", HasArg::Optional, 'T'),
        long("uts", HasArg::Optional, 'u'),
        long("wd", HasArg::Optional, 'w'),
        long("wdns", HasArg::Optional, 'W'),
    ],
};

const MAP_USER: char = '\u{80}';
const MAP_USERS: char = '\u{81}';

/// unshare-like: long-only options, an optional argument only in the long
/// form (`--mount[=FILE]`, plain `-m`).
const UNSHARE: Spec = Spec {
    short: "+fmS:",
    long: &[
        long("fork", HasArg::No, 'f'),
        long("mount", HasArg::Optional, 'm'),
        long("map-user", HasArg::Required, MAP_USER),
        long("map-users", HasArg::Required, MAP_USERS),
        long("setuid", HasArg::Required, 'S'),
    ],
};

const OUTPUT_ALL: char = '\u{80}';

/// lsns-like: options and operands mix.
const LSNS: Spec = Spec {
    short: "Jlp:o:nruhVt:T::W",
    long: &[
        long("json", HasArg::No, 'J'),
        long("task", HasArg::Required, 'p'),
        long("help", HasArg::No, 'h'),
        long("output", HasArg::Required, 'o'),
        long("output-all", HasArg::No, OUTPUT_ALL),
        long("type", HasArg::Required, 't'),
        long("tree", HasArg::Optional, 'T'),
    ],
};

type Opt = Result<(char, Option<String>), String>;

/// Options up to and including the first error, and the operands.
fn run(spec: Spec, args: &[&str]) -> (Vec<Opt>, Vec<String>) {
    let argv = std::iter::once("prog").chain(args.iter().copied());
    let mut g = Getopt::new(spec, argv.map(OsString::from).collect());
    let mut opts = Vec::new();
    for item in g.by_ref() {
        let stop = item.is_err();
        opts.push(
            item.map(|(c, v)| (c, v.map(|v| v.into_string().unwrap())))
                .map_err(|e| e.to_string()),
        );
        if stop {
            break;
        }
    }
    let ops = g.operands().into_iter().map(|o| o.into_string().unwrap());
    (opts, ops.collect())
}

fn ok(c: char, v: Option<&str>) -> Opt {
    Ok((c, v.map(str::to_owned)))
}

fn err(spec: Spec, args: &[&str]) -> String {
    run(spec, args).0.pop().unwrap().unwrap_err()
}

#[test]
fn clusters_optional_and_required_arguments() {
    let (opts, ops) = run(NSENTER, &["-at", "42", "-u/x", "-ut", "prog", "-a"]);
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
    let (opts, ops) = run(NSENTER, &["-t42", "-u", "/x"]);
    assert_eq!(opts, [ok('t', Some("42")), ok('u', None)]);
    assert_eq!(ops, ["/x"]);
}

#[test]
fn long_options_prefixes_and_double_dash() {
    let (opts, ops) = run(NSENTER, &["--tar", "7", "--ut=/f", "--uts", "--", "-a"]);
    assert_eq!(
        opts,
        [ok('t', Some("7")), ok('u', Some("/f")), ok('u', None)]
    );
    assert_eq!(ops, ["-a"]);
}

#[test]
fn errors_read_like_glibc() {
    let err = |args: &[&str]| err(NSENTER, args);
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

/// What util-linux 2.38.1 with glibc 2.36 prints (checked on Debian 12):
/// the typed text after `--`, value included, and `--=x` abbreviating
/// every option.
#[test]
fn messages_quote_what_was_typed() {
    assert_eq!(
        err(NSENTER, &["--w=x"]),
        "option '--w=x' is ambiguous; possibilities: '--wd' '--wdns'"
    );
    assert_eq!(err(LSNS, &["--foo=x"]), "unrecognized option '--foo=x'");
    assert!(err(LSNS, &["--=x"])
        .starts_with("option '--=x' is ambiguous; possibilities: '--json' '--task'"));
    let mut g = Getopt::new(NSENTER, ["/bin/x", "-\u{e9}"].map(OsString::from).to_vec());
    let e = g.next().unwrap().unwrap_err();
    assert_eq!(e.argv0, "/bin/x");
    assert_eq!(e.message, b"invalid option -- '\xc3'");
}

#[test]
fn options_stop_at_the_program() {
    let (opts, rest) = run(UNSHARE, &["-fm", "--mount=/x", "ls", "-l"]);
    assert_eq!(opts, [ok('f', None), ok('m', None), ok('m', Some("/x"))]);
    assert_eq!(rest, ["ls", "-l"]);
    assert_eq!(run(UNSHARE, &["--", "-f"]).1, ["-f"]);
}

#[test]
fn values_attached_or_next() {
    let args = ["-S1", "-S", "2", "--setuid=3", "--setuid", "4", "-fS5"];
    let (opts, _) = run(UNSHARE, &args);
    let values: Vec<_> = opts.into_iter().filter_map(|o| o.unwrap().1).collect();
    assert_eq!(values, ["1", "2", "3", "4", "5"]);
}

#[test]
fn abbreviations_exact_wins_ambiguous_fails() {
    assert_eq!(run(UNSHARE, &["--fo"]).0, [ok('f', None)]);
    assert_eq!(run(UNSHARE, &["--map-user=0"]).0, [ok(MAP_USER, Some("0"))]);
    assert_eq!(
        err(UNSHARE, &["--map-u=0"]),
        "option '--map-u=0' is ambiguous; possibilities: '--map-user' '--map-users'"
    );
}

#[test]
fn glibc_messages() {
    let err = |args: &[&str]| err(UNSHARE, args);
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

#[test]
fn permutes_and_clusters() {
    let (items, ops) = run(
        LSNS,
        &[
            "4026531836",
            "-nJt",
            "net",
            "--tree=owner",
            "-Tparent",
            "--",
            "-x",
        ],
    );
    assert_eq!(
        items,
        vec![
            ok('n', None),
            ok('J', None),
            ok('t', Some("net")),
            ok('T', Some("owner")),
            ok('T', Some("parent")),
        ]
    );
    assert_eq!(ops, vec!["4026531836".to_string(), "-x".to_string()]);
}

#[test]
fn optional_argument_must_be_attached() {
    let (items, ops) = run(LSNS, &["-T", "owner", "--tree", "x"]);
    assert_eq!(items, vec![ok('T', None), ok('T', None)]);
    assert_eq!(ops, vec!["owner".to_string(), "x".to_string()]);
}

#[test]
fn prefixes_and_errors() {
    assert_eq!(run(LSNS, &["--js"]).0, vec![ok('J', None)]);
    assert_eq!(run(LSNS, &["--output-a"]).0, vec![ok(OUTPUT_ALL, None)]);
    assert_eq!(
        err(LSNS, &["--t"]),
        "option '--t' is ambiguous; possibilities: '--task' '--type' '--tree'"
    );
    assert_eq!(err(LSNS, &["-x"]), "invalid option -- 'x'");
    assert_eq!(
        err(LSNS, &["--json=1"]),
        "option '--json' doesn't allow an argument"
    );
    assert_eq!(err(LSNS, &["-t"]), "option requires an argument -- 't'");
}

#[test]
fn aliases_are_not_ambiguous() {
    const ALIASES: Spec = Spec {
        short: "",
        long: &[
            long("noheadings", HasArg::No, 'n'),
            long("no-headings", HasArg::No, 'n'),
            long("nowrap", HasArg::No, 'W'),
        ],
    };
    assert_eq!(run(ALIASES, &["--noh"]).0, [ok('n', None)]);
    assert_eq!(
        err(ALIASES, &["--no"]),
        "option '--no' is ambiguous; possibilities: '--noheadings' '--nowrap'"
    );
}
