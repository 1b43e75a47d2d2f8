//! `unshare`: run a program with some namespaces unshared from the parent
//! (util-linux 2.38 compatible). Parses options in order, as util-linux's
//! getopt loop does, into a [`husk_ns::unshare::Unshare`], runs it and
//! reports how the child ended.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context};
use husk_ns::idmap::{subid, write::SetGroups, IdKind};
use husk_ns::time::{Clock, TimeOffset};
use husk_ns::unshare::{PersistTarget, Propagation, Unshare};
use husk_ns::NsKind;

use crate::cli::getopt::{long, Getopt, HasArg, Spec};
use crate::cli::{self, Exit, Outcome, Prog, Reported};

// Long-only options: codes above every letter, as util-linux's `OPT_*`.
const KILL_CHILD: char = '\u{80}';
const MOUNT_PROC: char = '\u{81}';
const MAP_USER: char = '\u{82}';
const MAP_USERS: char = '\u{83}';
const MAP_GROUP: char = '\u{84}';
const MAP_GROUPS: char = '\u{85}';
const MAP_AUTO: char = '\u{86}';
const PROPAGATION: char = '\u{87}';
const SETGROUPS: char = '\u{88}';
const KEEP_CAPS: char = '\u{89}';
const MONOTONIC: char = '\u{8a}';
const BOOTTIME: char = '\u{8b}';

/// util-linux 2.38.1's options, the long ones in its order (abbreviations
/// resolve against this table as getopt_long does). The namespace options
/// take a file only in the long form (`--mount=FILE`; `-m` takes nothing).
const SPEC: Spec = Spec {
    short: "+fhVmuinpCTUrR:w:S:G:c",
    long: &[
        long("help", HasArg::No, 'h'),
        long("version", HasArg::No, 'V'),
        long("mount", HasArg::Optional, 'm'),
        long("uts", HasArg::Optional, 'u'),
        long("ipc", HasArg::Optional, 'i'),
        long("net", HasArg::Optional, 'n'),
        long("pid", HasArg::Optional, 'p'),
        long("user", HasArg::Optional, 'U'),
        long("cgroup", HasArg::Optional, 'C'),
        long("time", HasArg::Optional, 'T'),
        long("fork", HasArg::No, 'f'),
        long("kill-child", HasArg::Optional, KILL_CHILD),
        long("mount-proc", HasArg::Optional, MOUNT_PROC),
        long("map-user", HasArg::Required, MAP_USER),
        long("map-users", HasArg::Required, MAP_USERS),
        long("map-group", HasArg::Required, MAP_GROUP),
        long("map-groups", HasArg::Required, MAP_GROUPS),
        long("map-root-user", HasArg::No, 'r'),
        long("map-current-user", HasArg::No, 'c'),
        long("map-auto", HasArg::No, MAP_AUTO),
        long("propagation", HasArg::Required, PROPAGATION),
        long("setgroups", HasArg::Required, SETGROUPS),
        long("keep-caps", HasArg::No, KEEP_CAPS),
        long("setuid", HasArg::Required, 'S'),
        long("setgid", HasArg::Required, 'G'),
        long("root", HasArg::Required, 'R'),
        long("wd", HasArg::Required, 'w'),
        long("monotonic", HasArg::Required, MONOTONIC),
        long("boottime", HasArg::Required, BOOTTIME),
    ],
};

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
    let (unshare, program) = match parse(prog, args)? {
        Ok(parsed) => parsed,
        Err(exit) => return Ok(exit),
    };
    match unshare.run(&program) {
        Ok(finished) => Ok(Exit(finished.propagate())),
        Err(e) => {
            let code = e.exit_code();
            eprintln!("{prog}: {}", cli::error_line(&e.into()));
            Err(Reported(Exit(code)).into())
        }
    }
}

/// Applies the options in order, as util-linux's getopt loop does: later
/// ones win, `-h`/`-V` act when reached, and the first bad option or value
/// is the one reported. `Err(exit)`: help or version was printed.
fn parse(
    prog: &Prog,
    args: Vec<OsString>,
) -> anyhow::Result<Result<(Unshare, Vec<OsString>), Exit>> {
    let ids = (
        rustix::process::geteuid().as_raw(),
        rustix::process::getegid().as_raw(),
    );
    let mut u = Unshare::default();
    let mut getopt = Getopt::new(SPEC, args);
    for item in getopt.by_ref() {
        let (c, value) = item.map_err(|e| cli::getopt_error(prog, &e))?;
        match c {
            'h' => print!("{}", HELP.replace("PROG", prog.name())),
            'V' => cli::print_version(prog),
            _ => {
                apply(&mut u, c, value, ids)?;
                continue;
            }
        }
        return Ok(Err(Exit::OK));
    }
    Ok(Ok((u, getopt.operands())))
}

/// What option `c` (with `value`) does; `ids` are the caller's euid, egid.
fn apply(u: &mut Unshare, c: char, value: Option<OsString>, ids: (u32, u32)) -> anyhow::Result<()> {
    let (euid, egid) = ids;
    let given = value.is_some();
    let text = value
        .as_deref()
        .map(|v| v.to_string_lossy().into_owned())
        .unwrap_or_default();
    match c {
        'f' => u.fork = true,
        KILL_CHILD => {
            let name = if given { text } else { "KILL".to_owned() };
            // Names only, as util-linux 2.38's `signame_to_signum`: `15`
            // (and `0`) are "unknown signal".
            let sig = husk_sys::signal::from_signame(&name);
            u.kill_child = Some(sig.ok_or_else(|| anyhow!("unknown signal: {name}"))?);
        }
        MOUNT_PROC => u.mount_proc = Some(value.map_or_else(|| "/proc".into(), PathBuf::from)),
        MAP_USER => u.map_user = Some(subid::resolve(Path::new("/etc/passwd"), &text, "uid")?),
        MAP_GROUP => u.map_group = Some(subid::resolve(Path::new("/etc/group"), &text, "gid")?),
        'r' => (u.map_user, u.map_group) = (Some(0), Some(0)),
        'c' => (u.map_user, u.map_group) = (Some(euid), Some(egid)),
        MAP_USERS => push_ranges(u, IdKind::Uid, &text, euid)?,
        MAP_GROUPS => push_ranges(u, IdKind::Gid, &text, euid)?,
        MAP_AUTO => {
            push_ranges(u, IdKind::Uid, "auto", euid)?;
            push_ranges(u, IdKind::Gid, "auto", euid)?;
        }
        PROPAGATION => u.propagation = text.parse::<Propagation>().map_err(|e| anyhow!(e))?,
        SETGROUPS => u.setgroups = Some(text.parse::<SetGroups>().map_err(|e| anyhow!(e))?),
        KEEP_CAPS => u.keep_caps = true,
        'S' => u.setuid = Some(number(&text, "failed to parse uid")?),
        'G' => u.setgid = Some(number(&text, "failed to parse gid")?),
        'R' => u.root = value.map(PathBuf::from),
        'w' => u.wd = value.map(PathBuf::from),
        MONOTONIC => offset(u, Clock::Monotonic, &text, "monotonic")?,
        BOOTTIME => offset(u, Clock::Boottime, &text, "boottime")?,
        letter => {
            let kind =
                NsKind::from_option_letter(letter).expect("getopt yields only options of SPEC");
            u.kinds.push(kind);
            if let Some(path) = value {
                // One file per type, the last one given (util-linux keeps
                // one `ns->path` per namespace and overwrites it).
                u.persist.retain(|p| p.kind != kind);
                u.persist.push(PersistTarget {
                    kind,
                    path: path.into(),
                });
            }
        }
    }
    Ok(())
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

    fn parsed(words: &[&str]) -> anyhow::Result<Unshare> {
        let args = std::iter::once("unshare").chain(words.iter().copied());
        let parsed = parse(&Prog::new("unshare"), args.map(OsString::from).collect())?;
        Ok(parsed.expect("not help or version").0)
    }

    fn built(words: &[&str]) -> Unshare {
        parsed(words).unwrap()
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
    fn last_persist_file_of_a_type_wins() {
        let u = built(&["--uts=/run/a", "--net=/run/n", "--uts=/run/b", "-u"]);
        let files: Vec<_> = u.persist.iter().map(|p| (p.kind, p.path.clone())).collect();
        assert_eq!(
            files,
            [
                (NsKind::Net, "/run/n".into()),
                (NsKind::Uts, "/run/b".into())
            ]
        );
    }

    #[test]
    fn kill_child_takes_names_not_numbers() {
        for bad in ["15", "0", "TERMX"] {
            let err = parsed(&[&format!("--kill-child={bad}")]).unwrap_err();
            assert_eq!(cli::error_line(&err), format!("unknown signal: {bad}"));
        }
        assert_eq!(
            built(&["--kill-child=sigusr1"]).kill_child,
            Some(libc::SIGUSR1)
        );
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
        let err = parsed(&["-S", "x"]).unwrap_err();
        assert_eq!(cli::error_line(&err), "failed to parse uid: 'x'");
    }
}
