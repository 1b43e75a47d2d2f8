//! `unshare`: run a program with some namespaces unshared from the parent
//! (util-linux 2.38 compatible). Parses options in order, as util-linux's
//! getopt loop does, into a [`husk_ns::unshare::Unshare`], runs it and
//! reports how the child ended.

mod getopt;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context};
use husk_ns::idmap::{subid, write::SetGroups, IdKind};
use husk_ns::time::{Clock, TimeOffset};
use husk_ns::unshare::{PersistTarget, Propagation, Unshare};
use husk_ns::NsKind;

use crate::cli::{self, Exit, Outcome, Prog, Reported};
use getopt::{HasArg, Opt};

/// What an option does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Id {
    Help,
    Version,
    Ns(NsKind),
    Fork,
    KillChild,
    MountProc,
    MapUser,
    MapUsers,
    MapGroup,
    MapGroups,
    MapRootUser,
    MapCurrentUser,
    MapAuto,
    Propagation,
    Setgroups,
    KeepCaps,
    Setuid,
    Setgid,
    Root,
    Wd,
    Monotonic,
    Boottime,
}

const fn opt(long: &'static str, short: Option<char>, arg: HasArg, id: Id) -> Opt<Id> {
    Opt {
        long,
        short,
        arg,
        id,
    }
}

/// util-linux 2.38.1's long options, in its order (abbreviations resolve
/// against this table as getopt_long does).
const OPTIONS: &[Opt<Id>] = &[
    opt("help", Some('h'), HasArg::No, Id::Help),
    opt("version", Some('V'), HasArg::No, Id::Version),
    opt("mount", Some('m'), HasArg::Optional, Id::Ns(NsKind::Mnt)),
    opt("uts", Some('u'), HasArg::Optional, Id::Ns(NsKind::Uts)),
    opt("ipc", Some('i'), HasArg::Optional, Id::Ns(NsKind::Ipc)),
    opt("net", Some('n'), HasArg::Optional, Id::Ns(NsKind::Net)),
    opt("pid", Some('p'), HasArg::Optional, Id::Ns(NsKind::Pid)),
    opt("user", Some('U'), HasArg::Optional, Id::Ns(NsKind::User)),
    opt(
        "cgroup",
        Some('C'),
        HasArg::Optional,
        Id::Ns(NsKind::Cgroup),
    ),
    opt("time", Some('T'), HasArg::Optional, Id::Ns(NsKind::Time)),
    opt("fork", Some('f'), HasArg::No, Id::Fork),
    opt("kill-child", None, HasArg::Optional, Id::KillChild),
    opt("mount-proc", None, HasArg::Optional, Id::MountProc),
    opt("map-user", None, HasArg::Required, Id::MapUser),
    opt("map-users", None, HasArg::Required, Id::MapUsers),
    opt("map-group", None, HasArg::Required, Id::MapGroup),
    opt("map-groups", None, HasArg::Required, Id::MapGroups),
    opt("map-root-user", Some('r'), HasArg::No, Id::MapRootUser),
    opt(
        "map-current-user",
        Some('c'),
        HasArg::No,
        Id::MapCurrentUser,
    ),
    opt("map-auto", None, HasArg::No, Id::MapAuto),
    opt("propagation", None, HasArg::Required, Id::Propagation),
    opt("setgroups", None, HasArg::Required, Id::Setgroups),
    opt("keep-caps", None, HasArg::No, Id::KeepCaps),
    opt("setuid", Some('S'), HasArg::Required, Id::Setuid),
    opt("setgid", Some('G'), HasArg::Required, Id::Setgid),
    opt("root", Some('R'), HasArg::Required, Id::Root),
    opt("wd", Some('w'), HasArg::Required, Id::Wd),
    opt("monotonic", None, HasArg::Required, Id::Monotonic),
    opt("boottime", None, HasArg::Required, Id::Boottime),
];

const HELP: &str = "
Usage:
 PROG [options] [<program> [<argument>...]]

Run a program with some namespaces unshared from the parent.

Options:
 -m, --mount[=<file>]      unshare mounts namespace
 -u, --uts[=<file>]        unshare UTS namespace (hostname etc)
 -i, --ipc[=<file>]        unshare System V IPC namespace
 -n, --net[=<file>]        unshare network namespace
 -p, --pid[=<file>]        unshare pid namespace
 -U, --user[=<file>]       unshare user namespace
 -C, --cgroup[=<file>]     unshare cgroup namespace
 -T, --time[=<file>]       unshare time namespace

 -f, --fork                fork before launching <program>
 --map-user=<uid>|<name>   map current user to uid (implies --user)
 --map-group=<gid>|<name>  map current group to gid (implies --user)
 -r, --map-root-user       map current user to root (implies --user)
 -c, --map-current-user    map current user to itself (implies --user)
 --map-auto                map users and groups automatically (implies --user)
 --map-users=<inneruid>:<outeruid>:<count>
                           map count users from outeruid to inneruid (implies --user);
                           also <outeruid>,<inneruid>,<count>, auto, subids, all
 --map-groups=<innergid>:<outergid>:<count>
                           map count groups from outergid to innergid (implies --user);
                           also <outergid>,<innergid>,<count>, auto, subids, all

 --kill-child[=<signame>]  when dying, kill the forked child (implies --fork)
                             defaults to SIGKILL
 --mount-proc[=<dir>]      mount proc filesystem first (implies --mount)
 --propagation slave|shared|private|unchanged
                           modify mount propagation in mount namespace
 --setgroups allow|deny    control the setgroups syscall in user namespaces
 --keep-caps               retain capabilities granted in user namespaces

 -R, --root=<dir>          run the command with root directory set to <dir>
 -w, --wd=<dir>            change working directory to <dir>
 -S, --setuid <uid>        set uid in entered namespace
 -G, --setgid <gid>        set gid in entered namespace
 --monotonic <offset>      set clock monotonic offset (seconds) in time namespaces
 --boottime <offset>       set clock boottime offset (seconds) in time namespaces

 -h, --help                display this help
 -V, --version             display version

For more details see unshare(1) and husk's docs/unshare.md.
";

pub fn run(prog: &Prog, args: Vec<OsString>) -> Outcome {
    let (opts, program) = getopt::parse(OPTIONS, args.get(1..).unwrap_or_default())
        .map_err(|msg| cli::usage_error(prog, msg))?;
    if let Some(exit) = help_or_version(prog, &opts) {
        return Ok(exit);
    }
    let unshare = build(opts)?;
    match unshare.run(&program) {
        Ok(finished) => Ok(Exit(finished.propagate())),
        Err(e) => {
            let code = e.exit_code();
            eprintln!("{prog}: {}", cli::error_line(&e.into()));
            Err(Reported(Exit(code)).into())
        }
    }
}

/// `-h`/`-V` act as soon as getopt reaches them, like util-linux.
fn help_or_version(prog: &Prog, opts: &[(Id, Option<OsString>)]) -> Option<Exit> {
    match opts
        .iter()
        .find(|(id, _)| matches!(id, Id::Help | Id::Version))?
        .0
    {
        Id::Help => print!("{}", HELP.replace("PROG", prog.name())),
        _ => println!("{} from husk {}", prog.command(), env!("CARGO_PKG_VERSION")),
    }
    Some(Exit::OK)
}

/// Applies the options in order (later ones win, as in util-linux).
fn build(opts: Vec<(Id, Option<OsString>)>) -> anyhow::Result<Unshare> {
    let euid = rustix::process::geteuid().as_raw();
    let egid = rustix::process::getegid().as_raw();
    let mut u = Unshare::default();
    for (id, value) in opts {
        let given = value.is_some();
        let text = value
            .as_deref()
            .map(|v| v.to_string_lossy().into_owned())
            .unwrap_or_default();
        match id {
            Id::Ns(kind) => {
                u.kinds.push(kind);
                if let Some(path) = value {
                    u.persist.push(PersistTarget {
                        kind,
                        path: path.into(),
                    });
                }
            }
            Id::Fork => u.fork = true,
            Id::KillChild => {
                let name = if given { text } else { "KILL".to_owned() };
                let sig = husk_sys::signal::from_name(&name);
                u.kill_child = Some(sig.ok_or_else(|| anyhow!("unknown signal: {name}"))?);
            }
            Id::MountProc => {
                u.mount_proc = Some(value.map_or_else(|| "/proc".into(), PathBuf::from))
            }
            Id::MapUser => {
                u.map_user = Some(subid::resolve(Path::new("/etc/passwd"), &text, "uid")?)
            }
            Id::MapGroup => {
                u.map_group = Some(subid::resolve(Path::new("/etc/group"), &text, "gid")?)
            }
            Id::MapRootUser => (u.map_user, u.map_group) = (Some(0), Some(0)),
            Id::MapCurrentUser => (u.map_user, u.map_group) = (Some(euid), Some(egid)),
            Id::MapUsers => push_ranges(&mut u, IdKind::Uid, &text, euid)?,
            Id::MapGroups => push_ranges(&mut u, IdKind::Gid, &text, euid)?,
            Id::MapAuto => {
                push_ranges(&mut u, IdKind::Uid, "auto", euid)?;
                push_ranges(&mut u, IdKind::Gid, "auto", euid)?;
            }
            Id::Propagation => {
                u.propagation = text.parse::<Propagation>().map_err(|e| anyhow!(e))?
            }
            Id::Setgroups => u.setgroups = Some(text.parse::<SetGroups>().map_err(|e| anyhow!(e))?),
            Id::KeepCaps => u.keep_caps = true,
            Id::Setuid => u.setuid = Some(number(&text, "failed to parse uid")?),
            Id::Setgid => u.setgid = Some(number(&text, "failed to parse gid")?),
            Id::Root => u.root = value.map(PathBuf::from),
            Id::Wd => u.wd = value.map(PathBuf::from),
            Id::Monotonic => offset(&mut u, Clock::Monotonic, &text, "monotonic")?,
            Id::Boottime => offset(&mut u, Clock::Boottime, &text, "boottime")?,
            Id::Help | Id::Version => {}
        }
    }
    Ok(u)
}

/// One `--map-users`/`--map-groups` value (or `--map-auto`'s `auto`).
fn push_ranges(u: &mut Unshare, kind: IdKind, spec: &str, euid: u32) -> anyhow::Result<()> {
    let map = match kind {
        IdKind::Uid => &mut u.map_users,
        IdKind::Gid => &mut u.map_groups,
    };
    subid::spec(kind, spec, euid)?
        .into_iter()
        .for_each(|r| map.push(r));
    Ok(())
}

fn offset(u: &mut Unshare, clock: Clock, text: &str, name: &str) -> anyhow::Result<()> {
    let seconds = number(text, &format!("failed to parse {name} offset"))?;
    u.time_offsets.retain(|o| o.clock != clock);
    u.time_offsets.push(TimeOffset { clock, seconds });
    Ok(())
}

fn number<T: std::str::FromStr>(text: &str, what: &str) -> anyhow::Result<T> {
    text.parse()
        .ok()
        .with_context(|| format!("{what}: '{text}'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn built(words: &[&str]) -> Unshare {
        let args: Vec<OsString> = words.iter().map(OsString::from).collect();
        let (opts, _) = getopt::parse(OPTIONS, &args).unwrap();
        build(opts).unwrap()
    }

    #[test]
    fn later_options_win_like_util_linux() {
        let u = built(&["-r", "--map-user=5"]);
        assert_eq!((u.map_user, u.map_group), (Some(5), Some(0)));
        let u = built(&["--map-user=5", "-r"]);
        assert_eq!((u.map_user, u.map_group), (Some(0), Some(0)));
        let u = built(&["--propagation=shared", "--propagation", "slave"]);
        assert_eq!(u.propagation, Propagation::Slave);
        let u = built(&["-T", "--boottime=1", "--boottime=2"]);
        assert_eq!(u.time_offsets.len(), 1);
        assert_eq!(u.time_offsets[0].seconds, 2);
    }

    #[test]
    fn namespace_options_and_persist_files() {
        let u = built(&["-mu", "--net=/run/n", "--mount-proc", "--kill-child=TERM"]);
        assert_eq!(u.kinds, [NsKind::Mnt, NsKind::Uts, NsKind::Net]);
        assert_eq!(u.persist.len(), 1);
        assert_eq!(u.persist[0].path, Path::new("/run/n"));
        assert_eq!(u.mount_proc.as_deref(), Some(Path::new("/proc")));
        assert_eq!(u.kill_child, Some(libc::SIGTERM));
        assert_eq!(built(&["--kill-child"]).kill_child, Some(libc::SIGKILL));
    }

    #[test]
    fn map_users_forms() {
        let u = built(&["--map-users=0:100000:10", "--map-users=200000,10,5"]);
        let r = u.map_users.ranges();
        assert_eq!((r[0].inner, r[0].outer, r[0].count), (0, 100000, 10));
        assert_eq!((r[1].inner, r[1].outer, r[1].count), (10, 200000, 5));
    }

    #[test]
    fn bad_values_are_one_line() {
        let args: Vec<OsString> = ["-S", "x"].iter().map(OsString::from).collect();
        let (opts, _) = getopt::parse(OPTIONS, &args).unwrap();
        let err = build(opts).unwrap_err();
        assert_eq!(cli::error_line(&err), "failed to parse uid: 'x'");
    }
}
