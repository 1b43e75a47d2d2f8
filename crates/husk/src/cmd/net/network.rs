//! `network`: bridge networks with address allocation and NAT
//! (`create`, `connect`, `disconnect`, `rm`, `ls`, `inspect`). The work is
//! in `husk_net::network`.
//!
//! Parsing is [`getopt`](crate::cli::getopt) in two steps: the global
//! options up to the verb (`+`: the first operand is the verb), then the
//! verb's own table, where the global options are accepted too and options
//! and operands mix. An option of another verb is unrecognized, as it was
//! when this was clap.

use std::ffi::{OsStr, OsString};
use std::net::IpAddr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use anyhow::Context;
use husk_net::ipam;
use husk_net::netns::Registry;
use husk_net::network::{ConnectSpec, CreateSpec, Networks, Status, Target};
use husk_net::state::{Proto, Publish, Store, STATE_DIR};
use ipnet::IpNet;

use crate::cli::getopt::{long, Getopt, HasArg, Spec};
use crate::cli::{self, Exit, Outcome, Prog};

// Long-only options: private codes above every letter.
const HOST_NETNS: char = '\u{80}';
const STATE_DIR_OPT: char = '\u{81}';
const SUBNET: char = '\u{82}';
const GATEWAY: char = '\u{83}';
const INTERNAL: char = '\u{84}';
const IPV6: char = '\u{85}';
const NETNS: char = '\u{86}';
const PID: char = '\u{87}';
const IP: char = '\u{88}';
const IFNAME: char = '\u{89}';

/// Every verb's table ends with these.
macro_rules! with_globals {
    ($($opt:expr),* $(,)?) => {
        &[
            $($opt,)*
            long("host-netns", HasArg::Required, HOST_NETNS),
            long("state-dir", HasArg::Required, STATE_DIR_OPT),
            long("help", HasArg::No, 'h'),
        ]
    };
}

/// Before the verb: the global options and help.
const GLOBAL: Spec = Spec {
    short: "+h",
    long: with_globals!(),
};

const CREATE: Spec = Spec {
    short: "h",
    long: with_globals!(
        long("subnet", HasArg::Required, SUBNET),
        long("gateway", HasArg::Required, GATEWAY),
        long("internal", HasArg::No, INTERNAL),
        long("ipv6", HasArg::Required, IPV6),
    ),
};

const CONNECT: Spec = Spec {
    short: "p:h",
    long: with_globals!(
        long("netns", HasArg::Required, NETNS),
        long("pid", HasArg::Required, PID),
        long("ip", HasArg::Required, IP),
        long("ifname", HasArg::Required, IFNAME),
        long("publish", HasArg::Required, 'p'),
    ),
};

const DISCONNECT: Spec = Spec {
    short: "h",
    long: with_globals!(
        long("netns", HasArg::Required, NETNS),
        long("pid", HasArg::Required, PID),
    ),
};

const RM: Spec = Spec {
    short: "fh",
    long: with_globals!(long("force", HasArg::No, 'f')),
};

const LS: Spec = Spec {
    short: "Jqh",
    long: with_globals!(
        long("json", HasArg::No, 'J'),
        long("quiet", HasArg::No, 'q'),
    ),
};

const INSPECT: Spec = Spec {
    short: "h",
    long: with_globals!(),
};

const HELP: &str = "\
Bridge networks: a bridge with a gateway, addresses for the namespaces connected to it, \
outbound NAT and published ports (nftables table `inet husk`). State in /var/lib/husk/networks.

Usage: PROG [--host-netns NS] [--state-dir DIR] COMMAND [OPTIONS] [ARGS]

Commands:
  create NAME                 Create a network: bridge husk-NAME, gateway address, NAT
      --subnet CIDR             IPv4 subnet [default: the first free 10.89.N.0/24]
      --gateway IP              Gateway address [default: the first host of the subnet]
      --internal                No outbound NAT (and no published ports)
      --ipv6 CIDR               Also an IPv6 subnet (dual stack)
  connect NAME (--netns NS | --pid PID)
                              Connect a namespace: veth pair, address, lo up, default route
      --netns NS                A named network namespace (/run/netns/NS, as ip netns)
      --pid PID                 The network namespace of a process
      --ip IP                   Take this address [default: the lowest free one]
      --ifname NAME             Interface name inside the namespace [default: eth0]
  -p, --publish HOST:CONTAINER[/tcp|udp]
                                Publish a port (repeatable)
  disconnect NAME (--netns NS | --pid PID)
                              Disconnect a namespace: delete its veth pair, free its address
  rm, remove NAME...          Remove networks (refused while namespaces are connected)
  -f, --force                   Disconnect connected namespaces first
  ls, list                    List networks
  -J, --json                    Use JSON output format
  -q, --quiet                   Only print the names
  inspect NAME...             Show networks as JSON

Options (before or after the command):
      --host-netns NS         Work inside this named network namespace instead of the current
                              one: the bridge, its NAT table and forwarding live there
      --state-dir DIR         Keep network state here [env: HUSK_STATE_DIR;
                              default: /var/lib/husk/networks]
  -h, --help                  Print help
";

/// What the command line asks for.
#[derive(Debug)]
struct Args {
    host_netns: Option<String>,
    state_dir: Option<PathBuf>,
    verb: Verb,
}

#[derive(Debug)]
enum Verb {
    Create(CreateSpec),
    Connect {
        name: String,
        target: Target,
        spec: ConnectSpec,
    },
    Disconnect {
        name: String,
        target: Target,
    },
    Rm {
        names: Vec<String>,
        force: bool,
    },
    Ls {
        json: bool,
        quiet: bool,
    },
    Inspect {
        names: Vec<String>,
    },
}

/// The verbs, as typed (with their aliases).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Create,
    Connect,
    Disconnect,
    Rm,
    Ls,
    Inspect,
}

impl Kind {
    fn from_word(word: &[u8]) -> Option<Kind> {
        Some(match word {
            b"create" => Kind::Create,
            b"connect" => Kind::Connect,
            b"disconnect" => Kind::Disconnect,
            b"rm" | b"remove" => Kind::Rm,
            b"ls" | b"list" => Kind::Ls,
            b"inspect" => Kind::Inspect,
            _ => return None,
        })
    }

    fn spec(self) -> Spec {
        match self {
            Kind::Create => CREATE,
            Kind::Connect => CONNECT,
            Kind::Disconnect => DISCONNECT,
            Kind::Rm => RM,
            Kind::Ls => LS,
            Kind::Inspect => INSPECT,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Create => "create",
            Kind::Connect => "connect",
            Kind::Disconnect => "disconnect",
            Kind::Rm => "rm",
            Kind::Ls => "ls",
            Kind::Inspect => "inspect",
        }
    }
}

/// Every option any verb takes, as read; the verb's table decides which
/// can occur.
#[derive(Debug, Default)]
struct Opts {
    host_netns: Option<String>,
    state_dir: Option<PathBuf>,
    subnet: Option<IpNet>,
    gateway: Option<IpAddr>,
    internal: bool,
    ipv6: Option<IpNet>,
    netns: Option<String>,
    pid: Option<u32>,
    ip: Option<IpAddr>,
    ifname: Option<String>,
    publish: Vec<Publish>,
    force: bool,
    json: bool,
    quiet: bool,
}

/// Parses argv (argv[0] first). `Err(exit)`: help was printed.
fn parse(prog: &Prog, argv: Vec<OsString>) -> anyhow::Result<Result<Args, Exit>> {
    let help = || {
        print!("{}", HELP.replace("PROG", prog.name()));
        Ok(Err(Exit::OK))
    };
    // `husk network` alone prints the help, as it did under clap.
    if argv.len() <= 1 {
        return help();
    }
    let argv0 = argv[0].clone();
    let mut o = Opts::default();
    let mut getopt = Getopt::new(GLOBAL, argv);
    for item in getopt.by_ref() {
        let (c, arg) = item.map_err(|e| cli::getopt_error(prog, &e))?;
        if !o.take(prog, c, arg)? {
            return help();
        }
    }
    let mut words = getopt.operands().into_iter();
    let Some(word) = words.next() else {
        return Err(cli::usage_error(
            prog,
            "no command given (create, connect, disconnect, rm, ls or inspect)",
        ));
    };
    if word == "help" {
        return help();
    }
    let Some(kind) = Kind::from_word(word.as_bytes()) else {
        return Err(cli::usage_error(
            prog,
            format_args!("unknown command '{}'", word.to_string_lossy()),
        ));
    };
    let rest = std::iter::once(argv0).chain(words).collect();
    let mut getopt = Getopt::new(kind.spec(), rest);
    for item in getopt.by_ref() {
        let (c, arg) = item.map_err(|e| cli::getopt_error(prog, &e))?;
        if !o.take(prog, c, arg)? {
            return help();
        }
    }
    let names = getopt
        .operands()
        .iter()
        .map(|n| utf8(prog, n))
        .collect::<anyhow::Result<Vec<_>>>()?;
    o.into_args(prog, kind, names).map(Ok)
}

impl Opts {
    /// Takes option `c` and its argument; `false` for `--help`.
    fn take(&mut self, prog: &Prog, c: char, arg: Option<OsString>) -> anyhow::Result<bool> {
        let arg = arg.unwrap_or_default();
        match c {
            'h' => return Ok(false),
            HOST_NETNS => set(prog, c, &mut self.host_netns, utf8(prog, &arg)?)?,
            STATE_DIR_OPT => set(prog, c, &mut self.state_dir, PathBuf::from(arg))?,
            SUBNET => set(prog, c, &mut self.subnet, value(prog, c, &arg, subnet)?)?,
            GATEWAY => set(prog, c, &mut self.gateway, value(prog, c, &arg, ip)?)?,
            INTERNAL => self.internal = true,
            IPV6 => set(prog, c, &mut self.ipv6, value(prog, c, &arg, subnet)?)?,
            NETNS => {
                exclusive(prog, self.pid.is_some())?;
                set(prog, c, &mut self.netns, utf8(prog, &arg)?)?;
            }
            PID => {
                exclusive(prog, self.netns.is_some())?;
                set(prog, c, &mut self.pid, value(prog, c, &arg, pid)?)?;
            }
            IP => set(prog, c, &mut self.ip, value(prog, c, &arg, ip)?)?,
            IFNAME => set(prog, c, &mut self.ifname, utf8(prog, &arg)?)?,
            'p' => self.publish.push(value(prog, c, &arg, publish)?),
            'f' => self.force = true,
            'J' => self.json = true,
            'q' => self.quiet = true,
            // getopt yields only what the tables hold, all handled above.
            _ => anyhow::bail!("option {c:?} is not handled"),
        }
        Ok(true)
    }

    /// The verb with its operands, checked: what each needs, nothing
    /// more.
    fn into_args(self, prog: &Prog, kind: Kind, names: Vec<String>) -> anyhow::Result<Args> {
        let verb = kind.name();
        let one = |names: Vec<String>| -> anyhow::Result<String> {
            let mut names = names.into_iter();
            let name = names
                .next()
                .ok_or_else(|| cli::usage_error(prog, format_args!("{verb} needs NAME")))?;
            match names.next() {
                Some(extra) => Err(unexpected(prog, verb, &extra)),
                None => Ok(name),
            }
        };
        let many = |names: Vec<String>| -> anyhow::Result<Vec<String>> {
            if names.is_empty() {
                return Err(cli::usage_error(
                    prog,
                    format_args!("{verb} needs at least one NAME"),
                ));
            }
            Ok(names)
        };
        let target = |netns: Option<String>, pid: Option<u32>| -> anyhow::Result<Target> {
            match (netns, pid) {
                (Some(ns), None) => Ok(Target::Netns(ns)),
                (None, Some(pid)) => Ok(Target::Pid(pid)),
                // `take` refuses both; say so again rather than pick one.
                (Some(_), Some(_)) => Err(both(prog)),
                (None, None) => Err(cli::usage_error(
                    prog,
                    format_args!("{verb} needs --netns NS or --pid PID"),
                )),
            }
        };
        let verb = match kind {
            Kind::Create => Verb::Create(CreateSpec {
                name: one(names)?,
                subnet: self.subnet,
                gateway: self.gateway,
                internal: self.internal,
                ipv6: self.ipv6,
            }),
            Kind::Connect => Verb::Connect {
                name: one(names)?,
                target: target(self.netns, self.pid)?,
                spec: ConnectSpec {
                    ip: self.ip,
                    ifname: self.ifname.unwrap_or_else(|| "eth0".to_owned()),
                    publish: self.publish,
                },
            },
            Kind::Disconnect => Verb::Disconnect {
                name: one(names)?,
                target: target(self.netns, self.pid)?,
            },
            Kind::Rm => Verb::Rm {
                names: many(names)?,
                force: self.force,
            },
            Kind::Ls => {
                if let Some(extra) = names.first() {
                    return Err(unexpected(prog, verb, extra));
                }
                Verb::Ls {
                    json: self.json,
                    quiet: self.quiet,
                }
            }
            Kind::Inspect => Verb::Inspect {
                names: many(names)?,
            },
        };
        Ok(Args {
            host_netns: self.host_netns,
            state_dir: self.state_dir,
            verb,
        })
    }
}

/// The long name and value name of an option, for messages.
fn describe(c: char) -> (&'static str, &'static str) {
    match c {
        HOST_NETNS => ("host-netns", "NETNS"),
        STATE_DIR_OPT => ("state-dir", "DIR"),
        SUBNET => ("subnet", "CIDR"),
        GATEWAY => ("gateway", "IP"),
        IPV6 => ("ipv6", "CIDR"),
        NETNS => ("netns", "NS"),
        PID => ("pid", "PID"),
        IP => ("ip", "IP"),
        IFNAME => ("ifname", "NAME"),
        'p' => ("publish", "HOST:CONTAINER[/PROTO]"),
        _ => ("?", "VALUE"),
    }
}

/// Stores an option that may be given once.
fn set<T>(prog: &Prog, c: char, slot: &mut Option<T>, value: T) -> anyhow::Result<()> {
    if slot.is_some() {
        let (name, _) = describe(c);
        return Err(cli::usage_error(
            prog,
            format_args!("option '--{name}' given more than once"),
        ));
    }
    *slot = Some(value);
    Ok(())
}

/// `--netns` and `--pid` name the same thing two ways: one only.
fn exclusive(prog: &Prog, clash: bool) -> anyhow::Result<()> {
    if clash {
        return Err(both(prog));
    }
    Ok(())
}

/// The util-linux words for two options that exclude each other.
fn both(prog: &Prog) -> anyhow::Error {
    cli::usage_error(prog, "mutually exclusive arguments: --netns --pid")
}

/// An option's value through its parser; a refusal in the words clap
/// used: `invalid value 'V' for '--OPT <META>': why`.
fn value<T>(
    prog: &Prog,
    c: char,
    arg: &OsStr,
    parse: fn(&str) -> Result<T, String>,
) -> anyhow::Result<T> {
    let text = arg.to_string_lossy();
    parse(&text).map_err(|why| {
        let (name, meta) = describe(c);
        cli::usage_error(
            prog,
            format_args!("invalid value '{text}' for '--{name} <{meta}>': {why}"),
        )
    })
}

/// An argument that must be text (names end up in JSON and messages).
fn utf8(prog: &Prog, arg: &OsStr) -> anyhow::Result<String> {
    arg.to_str().map(str::to_owned).ok_or_else(|| {
        cli::usage_error(
            prog,
            format_args!("invalid UTF-8 in argument '{}'", arg.to_string_lossy()),
        )
    })
}

fn unexpected(prog: &Prog, verb: &str, extra: &str) -> anyhow::Error {
    cli::usage_error(prog, format_args!("{verb}: unexpected argument '{extra}'"))
}

fn subnet(text: &str) -> Result<IpNet, String> {
    ipam::parse_subnet(text).map_err(|e| e.to_string())
}

fn ip(text: &str) -> Result<IpAddr, String> {
    ipam::parse_ip(text).map_err(|e| e.to_string())
}

/// A PID, or why not in the words clap used.
fn pid(text: &str) -> Result<u32, String> {
    let n: i64 = text
        .parse()
        .map_err(|e: std::num::ParseIntError| e.to_string())?;
    u32::try_from(n).map_err(|_| format!("{n} is not in 0..={}", u32::MAX))
}

/// `HOST:CONTAINER[/tcp|udp]`.
fn publish(text: &str) -> Result<Publish, String> {
    let bad = || format!("invalid port mapping \"{text}\" (want HOST:CONTAINER[/tcp|udp])");
    let (ports, proto) = match text.split_once('/') {
        Some((p, "tcp")) => (p, Proto::Tcp),
        Some((p, "udp")) => (p, Proto::Udp),
        Some(_) => return Err(bad()),
        None => (text, Proto::Tcp),
    };
    let (host, container) = ports.split_once(':').ok_or_else(bad)?;
    let port = |s: &str| s.parse::<u16>().ok().filter(|&p| p > 0).ok_or_else(bad);
    Ok(Publish {
        host_port: port(host)?,
        container_port: port(container)?,
        proto,
    })
}

pub fn run(prog: &Prog, args: Vec<OsString>) -> Outcome {
    let args = match parse(prog, args)? {
        Ok(args) => args,
        Err(exit) => return Ok(exit),
    };
    if let Some(hub) = &args.host_netns {
        // The whole process moves (husk is single-threaded): nft, run
        // below, and /proc/sys/net then belong to that namespace too.
        let ns = Registry::default().open(hub)?;
        ns.enter()
            .with_context(|| format!("cannot enter network namespace \"{hub}\""))?;
    }
    let dir = args
        .state_dir
        .or_else(|| std::env::var_os("HUSK_STATE_DIR").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(STATE_DIR));
    let nets = Networks::new(Store::new(dir), Registry::default(), "/proc/sys");
    match args.verb {
        Verb::Create(spec) => {
            nets.create(&spec).context("create")?;
        }
        Verb::Connect { name, target, spec } => {
            nets.connect(&name, &target, &spec).context("connect")?;
        }
        Verb::Disconnect { name, target } => {
            nets.disconnect(&name, &target).context("disconnect")?;
        }
        Verb::Rm { names, force } => {
            for name in names {
                nets.remove(&name, force).context("rm")?;
            }
        }
        Verb::Ls { json, quiet } => ls(&nets.list().context("ls")?, json, quiet),
        Verb::Inspect { names } => {
            let all = names
                .iter()
                .map(|n| nets.inspect(n))
                .collect::<Result<Vec<_>, _>>()
                .context("inspect")?;
            println!("{}", serde_json::to_string_pretty(&all)?);
        }
    }
    Ok(Exit::OK)
}

fn ls(all: &[Status], json: bool, quiet: bool) {
    if json {
        println!("{}", serde_json::to_string_pretty(all).expect("serializes"));
        return;
    }
    if quiet {
        all.iter().for_each(|s| println!("{}", s.state.name));
        return;
    }
    let rows: Vec<[String; 7]> = all
        .iter()
        .map(|s| {
            let n = &s.state;
            let subnets = match n.subnet6 {
                Some(s6) => format!("{},{s6}", n.subnet),
                None => n.subnet.to_string(),
            };
            [
                n.name.clone(),
                n.bridge.clone(),
                subnets,
                n.gateway.to_string(),
                if n.internal { "internal" } else { "masquerade" }.to_owned(),
                n.endpoints.len().to_string(),
                if s.bridge_present {
                    "ok"
                } else {
                    "bridge missing"
                }
                .to_owned(),
            ]
        })
        .collect();
    let head = [
        "NAME",
        "BRIDGE",
        "SUBNET",
        "GATEWAY",
        "NAT",
        "ENDPOINTS",
        "STATUS",
    ]
    .map(String::from);
    let mut widths = head.clone().map(|h| h.len());
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.len());
        }
    }
    for r in std::iter::once(&head).chain(&rows) {
        let line: Vec<String> = r
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", line.join(" ").trim_end());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStringExt;

    fn argv(words: &[&str]) -> Vec<OsString> {
        std::iter::once("husk network")
            .chain(words.iter().copied())
            .map(OsString::from)
            .collect()
    }

    fn args(words: &[&str]) -> Args {
        match parse(&Prog::new("husk network"), argv(words)) {
            Ok(Ok(args)) => args,
            other => panic!("{words:?}: {other:?}"),
        }
    }

    /// The exit status of a command line that does not parse to `Args`:
    /// 0 after help, 1 after a usage error.
    fn exit(words: &[&str]) -> u8 {
        exit_of(argv(words))
    }

    fn exit_of(argv: Vec<OsString>) -> u8 {
        match parse(&Prog::new("husk network"), argv) {
            Ok(Ok(args)) => panic!("parsed: {args:?}"),
            Ok(Err(Exit(code))) => code,
            Err(err) => match err.downcast_ref::<cli::Reported>() {
                Some(cli::Reported(Exit(code))) => *code,
                None => panic!("not a usage error: {err}"),
            },
        }
    }

    #[test]
    fn globals_go_before_or_after_the_verb() {
        let a = args(&[
            "connect",
            "n",
            "--pid",
            "42",
            "--state-dir",
            "/s",
            "-p",
            "8080:80",
            "--host-netns=hub",
            "-p53:53/udp",
        ]);
        assert_eq!(a.host_netns.as_deref(), Some("hub"));
        assert_eq!(a.state_dir, Some(PathBuf::from("/s")));
        let Verb::Connect { name, target, spec } = a.verb else {
            panic!("{:?}", a.verb)
        };
        assert_eq!((name.as_str(), target), ("n", Target::Pid(42)));
        assert_eq!(
            (spec.ifname.as_str(), spec.ip, spec.publish.len()),
            ("eth0", None, 2)
        );
        let a = args(&[
            "--host-netns",
            "hub",
            "--state-dir=/s",
            "disconnect",
            "--netns",
            "m",
            "n",
        ]);
        assert_eq!(a.host_netns.as_deref(), Some("hub"));
        assert_eq!(a.state_dir, Some(PathBuf::from("/s")));
        let Verb::Disconnect { name, target } = a.verb else {
            panic!("{:?}", a.verb)
        };
        assert_eq!((name.as_str(), target), ("n", Target::Netns("m".into())));
    }

    #[test]
    fn verbs_aliases_and_flags() {
        let Verb::Create(spec) = args(&[
            "create",
            "n",
            "--subnet",
            "10.81.0.0/24",
            "--gateway=10.81.0.9",
            "--internal",
            "--ipv6",
            "fd00::/64",
        ])
        .verb
        else {
            panic!()
        };
        assert_eq!(spec.subnet, Some("10.81.0.0/24".parse().unwrap()));
        assert_eq!(spec.gateway, Some("10.81.0.9".parse().unwrap()));
        assert!(spec.internal);
        assert_eq!(spec.ipv6, Some("fd00::/64".parse().unwrap()));
        for verb in ["rm", "remove"] {
            let Verb::Rm { names, force } = args(&[verb, "a", "-f", "b"]).verb else {
                panic!()
            };
            assert_eq!((names, force), (vec!["a".to_owned(), "b".to_owned()], true));
        }
        for verb in ["ls", "list"] {
            let Verb::Ls { json, quiet } = args(&[verb, "-Jq"]).verb else {
                panic!()
            };
            assert!(json && quiet);
        }
        let Verb::Inspect { names } = args(&["inspect", "--", "a", "-b"]).verb else {
            panic!()
        };
        assert_eq!(names, ["a", "-b"]);
    }

    #[test]
    fn help_exits_zero_wherever_it_is() {
        for words in [
            &[][..],
            &["--help"],
            &["-h"],
            &["help"],
            &["help", "create"],
            &["create", "--help"],
            &["connect", "n", "-h"],
            &["--state-dir", "/s", "ls", "--help"],
        ] {
            assert_eq!(exit(words), 0, "{words:?}");
        }
    }

    #[test]
    fn usage_errors_exit_one() {
        for words in [
            &["--state-dir", "/s"][..],
            &["frobnicate"],
            &["--subnet", "10.81.0.0/24", "create", "n"],
            &["ls", "--subnet", "10.81.0.0/24"],
            &["create", "n", "--pid", "1"],
            &["create", "n", "--ip", "10.81.0.2"], // --ipv6, abbreviated
            &["create"],
            &["create", "a", "b"],
            &["create", "n", "--subnet", "10.81.0.1/24"],
            &["create", "n", "--gateway", "nonsense"],
            &[
                "create",
                "n",
                "--subnet",
                "10.0.0.0/8",
                "--subnet",
                "10.0.0.0/8",
            ],
            &["connect", "n"],
            &["connect", "--netns", "m"],
            &["connect", "n", "--netns", "m", "--pid", "1"],
            &["connect", "n", "--pid", "1", "--netns", "m"],
            &["connect", "n", "--pid", "x"],
            &["connect", "n", "--pid", "-1"],
            &["connect", "n", "--pid", "99999999999"],
            &["connect", "n", "--netns", "m", "-p", "80"],
            &["connect", "n", "--netns", "m", "--ip"],
            &["connect", "n", "--netns", "m", "--i", "10.1.1.1"],
            &["disconnect", "n"],
            &["rm"],
            &["remove", "-f"],
            &["ls", "extra"],
            &["inspect"],
            &["ls", "--bogus"],
            &["ls", "-x"],
            &["ls", "--json=yes"],
        ] {
            assert_eq!(exit(words), 1, "{words:?}");
        }
        let mut bad = argv(&["create"]);
        bad.push(OsString::from_vec(b"n\xff".to_vec()));
        assert_eq!(exit_of(bad), 1);
    }

    #[test]
    fn port_mappings_parse() {
        let p = publish("8080:80").unwrap();
        assert_eq!(
            (p.host_port, p.container_port, p.proto),
            (8080, 80, Proto::Tcp)
        );
        assert_eq!(publish("53:5353/udp").unwrap().proto, Proto::Udp);
        for bad in ["80", "0:80", "80:", "x:80", "80:80/sctp", "70000:80"] {
            assert!(publish(bad).is_err(), "{bad}");
        }
    }
}
