//! `unshare`: run a program with some namespaces unshared from the parent
//! (util-linux 2.38 compatible). Parses flags, builds a
//! [`husk_ns::unshare::Unshare`], runs it and reports how the child ended.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context};
use husk_ns::idmap::{subid, write::SetGroups, IdKind, IdMap};
use husk_ns::time::{Clock, TimeOffset};
use husk_ns::unshare::{PersistTarget, Propagation, Unshare};
use husk_ns::NsKind;

use crate::cli::{self, Exit, Outcome, Prog, Reported};

#[derive(clap::Parser, Debug)]
#[command(
    about = "Run a program with some namespaces unshared from the parent.",
    args_override_self = true,
    next_line_help = false,
    after_help = "--map-users/--map-groups also take outer,inner,count (util-linux 2.38), auto and all.\n\nFor more details see unshare(1).",
    override_usage = "unshare [options] [<program> [<argument>...]]"
)]
struct Args {
    /// unshare mounts namespace
    #[arg(short = 'm', hide = true)]
    mflag: bool,
    /// unshare mounts namespace (-m)
    #[arg(long = "mount", value_name = "file", num_args = 0..=1, require_equals = true)]
    mount: Option<Option<PathBuf>>,
    /// unshare UTS namespace
    #[arg(short = 'u', hide = true)]
    uflag: bool,
    /// unshare UTS namespace (-u)
    #[arg(long = "uts", value_name = "file", num_args = 0..=1, require_equals = true)]
    uts: Option<Option<PathBuf>>,
    /// unshare System V IPC namespace
    #[arg(short = 'i', hide = true)]
    iflag: bool,
    /// unshare System V IPC namespace (-i)
    #[arg(long = "ipc", value_name = "file", num_args = 0..=1, require_equals = true)]
    ipc: Option<Option<PathBuf>>,
    /// unshare network namespace
    #[arg(short = 'n', hide = true)]
    nflag: bool,
    /// unshare network namespace (-n)
    #[arg(long = "net", value_name = "file", num_args = 0..=1, require_equals = true)]
    net: Option<Option<PathBuf>>,
    /// unshare pid namespace
    #[arg(short = 'p', hide = true)]
    pflag: bool,
    /// unshare pid namespace (-p)
    #[arg(long = "pid", value_name = "file", num_args = 0..=1, require_equals = true)]
    pid: Option<Option<PathBuf>>,
    /// unshare user namespace
    #[arg(short = 'U', hide = true)]
    u_flag: bool,
    /// unshare user namespace (-U)
    #[arg(long = "user", value_name = "file", num_args = 0..=1, require_equals = true)]
    user: Option<Option<PathBuf>>,
    /// unshare cgroup namespace
    #[arg(short = 'C', hide = true)]
    c_flag: bool,
    /// unshare cgroup namespace (-C)
    #[arg(long = "cgroup", value_name = "file", num_args = 0..=1, require_equals = true)]
    cgroup: Option<Option<PathBuf>>,
    /// unshare time namespace
    #[arg(short = 'T', hide = true)]
    t_flag: bool,
    /// unshare time namespace (-T)
    #[arg(long = "time", value_name = "file", num_args = 0..=1, require_equals = true)]
    time: Option<Option<PathBuf>>,

    /// fork before launching <program>
    #[arg(short = 'f', long)]
    fork: bool,
    /// map current user to uid (implies --user)
    #[arg(long, value_name = "uid|name")]
    map_user: Option<String>,
    /// map current group to gid (implies --user)
    #[arg(long, value_name = "gid|name")]
    map_group: Option<String>,
    /// map current user to root (implies --user)
    #[arg(short = 'r', long)]
    map_root_user: bool,
    /// map current user to itself (implies --user)
    #[arg(short = 'c', long)]
    map_current_user: bool,
    /// map users and groups automatically (implies --user)
    #[arg(long)]
    map_auto: bool,
    /// map count users from outeruid to inneruid (implies --user)
    #[arg(long, value_name = "inner:outer:count")]
    map_users: Vec<String>,
    /// map count groups from outergid to innergid (implies --user)
    #[arg(long, value_name = "inner:outer:count")]
    map_groups: Vec<String>,

    /// when dying, kill the forked child (default SIGKILL; implies --fork)
    #[arg(long, value_name = "signame", num_args = 0..=1, require_equals = true)]
    kill_child: Option<Option<String>>,
    /// mount proc filesystem first (implies --mount)
    #[arg(long, value_name = "dir", num_args = 0..=1, require_equals = true)]
    mount_proc: Option<Option<PathBuf>>,
    /// mount propagation: slave, shared, private, unchanged
    #[arg(long, value_name = "mode")]
    propagation: Option<String>,
    /// control the setgroups syscall in user namespaces
    #[arg(long, value_name = "allow|deny")]
    setgroups: Option<String>,
    /// retain capabilities granted in user namespaces
    #[arg(long)]
    keep_caps: bool,

    /// run the command with root directory set to <dir>
    #[arg(short = 'R', long, value_name = "dir")]
    root: Option<PathBuf>,
    /// change working directory to <dir>
    #[arg(short = 'w', long, value_name = "dir")]
    wd: Option<PathBuf>,
    /// set uid in entered namespace
    #[arg(short = 'S', long, value_name = "uid")]
    setuid: Option<String>,
    /// set gid in entered namespace
    #[arg(short = 'G', long, value_name = "gid")]
    setgid: Option<String>,
    /// set clock monotonic offset (seconds) in time namespaces
    #[arg(long, value_name = "offset", allow_hyphen_values = true)]
    monotonic: Option<String>,
    /// set clock boottime offset (seconds) in time namespaces
    #[arg(long, value_name = "offset", allow_hyphen_values = true)]
    boottime: Option<String>,

    /// program and its arguments (default: $SHELL)
    #[arg(value_name = "program", trailing_var_arg = true)]
    program: Vec<OsString>,
}

pub fn run(prog: &Prog, args: Vec<OsString>) -> Outcome {
    let args: Args = cli::parse(prog, args)?;
    let program = args.program.clone();
    let unshare = build(args)?;
    match unshare.run(&program) {
        Ok(finished) => Ok(Exit(finished.propagate())),
        Err(e) => {
            let code = e.exit_code();
            eprintln!("{prog}: {}", cli::error_line(&e.into()));
            Err(Reported(Exit(code)).into())
        }
    }
}

/// Turns flags into the library's description of the run.
fn build(a: Args) -> anyhow::Result<Unshare> {
    let (euid, egid) = (
        rustix::process::geteuid().as_raw(),
        rustix::process::getegid().as_raw(),
    );
    let mut u = Unshare {
        fork: a.fork,
        keep_caps: a.keep_caps,
        root: a.root,
        wd: a.wd,
        ..Unshare::default()
    };
    let kinds = [
        (NsKind::Mnt, a.mflag, a.mount),
        (NsKind::Uts, a.uflag, a.uts),
        (NsKind::Ipc, a.iflag, a.ipc),
        (NsKind::Net, a.nflag, a.net),
        (NsKind::Pid, a.pflag, a.pid),
        (NsKind::User, a.u_flag, a.user),
        (NsKind::Cgroup, a.c_flag, a.cgroup),
        (NsKind::Time, a.t_flag, a.time),
    ];
    for (kind, short, long) in kinds {
        if short || long.is_some() {
            u.kinds.push(kind);
        }
        if let Some(Some(path)) = long {
            u.persist.push(PersistTarget { kind, path });
        }
    }
    if a.map_root_user {
        (u.map_user, u.map_group) = (Some(0), Some(0));
    }
    if a.map_current_user {
        (u.map_user, u.map_group) = (Some(euid), Some(egid));
    }
    if let Some(user) = &a.map_user {
        u.map_user = Some(subid::resolve(Path::new("/etc/passwd"), user, "uid")?);
    }
    if let Some(group) = &a.map_group {
        u.map_group = Some(subid::resolve(Path::new("/etc/group"), group, "gid")?);
    }
    u.map_users = ranges(IdKind::Uid, &a.map_users, a.map_auto, euid)?;
    u.map_groups = ranges(IdKind::Gid, &a.map_groups, a.map_auto, euid)?;
    if let Some(sig) = a.kill_child {
        let sig = sig.unwrap_or_else(|| "KILL".to_owned());
        let num =
            husk_sys::signal::from_name(&sig).ok_or_else(|| anyhow!("unknown signal: {sig}"))?;
        u.kill_child = Some(num);
    }
    if let Some(dir) = a.mount_proc {
        u.mount_proc = Some(dir.unwrap_or_else(|| PathBuf::from("/proc")));
    }
    if let Some(p) = &a.propagation {
        u.propagation = p.parse::<Propagation>().map_err(|e| anyhow!(e))?;
    }
    if let Some(s) = &a.setgroups {
        u.setgroups = Some(s.parse::<SetGroups>().map_err(|e| anyhow!(e))?);
    }
    u.setuid = a
        .setuid
        .as_deref()
        .map(|s| number(s, "failed to parse uid"))
        .transpose()?;
    u.setgid = a
        .setgid
        .as_deref()
        .map(|s| number(s, "failed to parse gid"))
        .transpose()?;
    for (clock, text, what) in [
        (
            Clock::Monotonic,
            &a.monotonic,
            "failed to parse monotonic offset",
        ),
        (
            Clock::Boottime,
            &a.boottime,
            "failed to parse boottime offset",
        ),
    ] {
        if let Some(text) = text {
            let seconds = number::<i64>(text, what)?;
            u.time_offsets.push(TimeOffset { clock, seconds });
        }
    }
    Ok(u)
}

/// `--map-users`/`--map-groups` values (and `--map-auto`) as one map.
fn ranges(kind: IdKind, values: &[String], auto: bool, euid: u32) -> anyhow::Result<IdMap> {
    let mut map = IdMap::default();
    for v in values
        .iter()
        .map(String::as_str)
        .chain(auto.then_some("auto"))
    {
        subid::spec(kind, v, euid)?
            .into_iter()
            .for_each(|r| map.push(r));
    }
    Ok(map)
}

fn number<T: std::str::FromStr>(text: &str, what: &str) -> anyhow::Result<T> {
    text.parse()
        .ok()
        .with_context(|| format!("{what}: '{text}'"))
}
