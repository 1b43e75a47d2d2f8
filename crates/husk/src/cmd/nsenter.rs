//! `nsenter`: run a program in the namespaces of other processes,
//! compatible with util-linux 2.38 `nsenter` (options, messages, exit
//! status). The work is `husk_ns::enter`; this file parses and sequences.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::bail;
use husk_ns::enter::{selinux_enabled, ChildExit, Credentials, Request, Source, WorkDir};
use husk_ns::NsKind;

use crate::cli::getopt::{long, Getopt, HasArg, Spec};
use crate::cli::number::strtoul32;
use crate::cli::{self, Exit, Outcome, Prog};

/// `--preserve-credentials` has no short letter; this stands for it.
const PRESERVE: char = '\u{100}';

/// util-linux 2.38's option table, in its order.
const SPEC: Spec = Spec {
    short: "+ahVt:m::u::i::n::p::C::U::T::S:G:r::w::W:FZ",
    long: &[
        long("all", HasArg::No, 'a'),
        long("help", HasArg::No, 'h'),
        long("version", HasArg::No, 'V'),
        long("target", HasArg::Required, 't'),
        long("mount", HasArg::Optional, 'm'),
        long("uts", HasArg::Optional, 'u'),
        long("ipc", HasArg::Optional, 'i'),
        long("net", HasArg::Optional, 'n'),
        long("pid", HasArg::Optional, 'p'),
        long("user", HasArg::Optional, 'U'),
        long("cgroup", HasArg::Optional, 'C'),
        long("time", HasArg::Optional, 'T'),
        long("setuid", HasArg::Required, 'S'),
        long("setgid", HasArg::Required, 'G'),
        long("root", HasArg::Optional, 'r'),
        long("wd", HasArg::Optional, 'w'),
        long("wdns", HasArg::Optional, 'W'),
        long("no-fork", HasArg::No, 'F'),
        long("preserve-credentials", HasArg::No, PRESERVE),
        long("follow-context", HasArg::No, 'Z'),
    ],
};

/// What the command line asks for.
#[derive(Debug, Default)]
struct Options {
    request: Request,
    all: bool,
    uid: Option<u32>,
    gid: Option<u32>,
    preserve: bool,
    no_fork: bool,
    follow_context: bool,
    program: Vec<OsString>,
}

pub fn run(prog: &Prog, args: Vec<OsString>) -> Outcome {
    // The steps are numbered as in docs/nsenter.md.
    // 1. Parse.
    let opts = match parse(prog, args)? {
        Ok(opts) => opts,
        Err(exit) => return Ok(exit),
    };
    let target = opts.request.target_pid();
    // 2. SELinux: the exec context of the target (-Z), if SELinux is on.
    if opts.follow_context && selinux_enabled() {
        let Some(pid) = target else {
            bail!("no target PID specified for --follow-context");
        };
        husk_ns::enter::follow_selinux_context(pid)?;
    }
    // 3. -a needs a target.
    if opts.all && target.is_none() {
        bail!("no target PID specified for --all");
    }
    // 4. Open and check every namespace file, the pidfd, root and cwd.
    let plan = opts.request.resolve()?;
    // 5. Decide the ids; drop groups while still privileged.
    let mut creds = Credentials::plan(plan.enters(NsKind::User), opts.preserve, opts.uid, opts.gid);
    creds.drop_groups_early();
    let fork = plan.enters(NsKind::Pid) && !opts.no_fork;
    // 6-7. Join the namespaces, change root and working directory.
    let entered = plan.enter()?;
    // 8. Fork so the program is inside the pid namespace; the parent waits.
    if fork {
        match entered.fork_and_wait()? {
            None => {}
            Some(ChildExit::Code(code)) => return Ok(Exit(code)),
            Some(ChildExit::Signal(sig)) => {
                let _ = husk_sys::signal::reraise(sig);
                return Ok(Exit::FAILURE);
            }
        }
    }
    // 9. Switch ids, 10. exec.
    creds.apply()?;
    Ok(exec(prog, &opts.program))
}

/// Parses argv the way util-linux's getopt loop does, handling each option
/// as it comes (so the first bad one is the one reported). `Err(exit)`:
/// help or version was printed, or a usage error reported.
fn parse(prog: &Prog, args: Vec<OsString>) -> anyhow::Result<Result<Options, Exit>> {
    let mut opts = Options::default();
    let mut request = Request::new();
    let mut wd_option: Option<char> = None;
    let mut getopt = Getopt::new(SPEC, args);
    for item in getopt.by_ref() {
        let (c, value) = item.map_err(|e| cli::getopt_error(prog, &e))?;
        // -w and -W are mutually exclusive (util-linux's excl table).
        if c == 'w' || c == 'W' {
            if wd_option.is_some_and(|seen| seen != c) {
                bail!("mutually exclusive arguments: --wdns --wd");
            }
            wd_option = Some(c);
        }
        let source = || {
            value
                .clone()
                .map_or(Source::Target, |v| Source::Path(v.into()))
        };
        match c {
            'a' => opts.all = true,
            'h' => {
                print!("{}", help(prog));
                return Ok(Err(Exit::OK));
            }
            'V' => {
                cli::print_version(prog);
                return Ok(Err(Exit::OK));
            }
            't' => request = request.target(number(value, "pid")?),
            'S' => opts.uid = Some(number(value, "uid")?),
            'G' => opts.gid = Some(number(value, "gid")?),
            'F' => opts.no_fork = true,
            'Z' => opts.follow_context = true,
            PRESERVE => opts.preserve = true,
            'r' => request = request.root(source()),
            'w' => request = request.work_dir(WorkDir::Before(source())),
            // `--wdns` with no `=DIR` sets nothing, as in util-linux.
            'W' => {
                if let Some(dir) = value {
                    request = request.work_dir(WorkDir::After(dir.into()));
                }
            }
            letter => {
                let kind =
                    NsKind::from_option_letter(letter).expect("getopt yields only letters of SPEC");
                request = request.join(kind, source());
            }
        }
    }
    if opts.all {
        request = request.all();
    }
    opts.request = request;
    opts.program = getopt.operands();
    Ok(Ok(opts))
}

/// A pid, uid or gid, or util-linux's `failed to parse pid: 'x'`.
fn number(value: Option<OsString>, what: &str) -> anyhow::Result<u32> {
    let value = value.unwrap_or_default();
    match strtoul32(&value) {
        Some(n) => Ok(n),
        None => bail!("failed to parse {what}: '{}'", value.to_string_lossy()),
    }
}

/// Replaces the process with the program (or `$SHELL`, `/bin/sh`, as a
/// login shell: argv[0] `-sh`). Returns only on failure: 127 when the
/// program does not exist, 126 otherwise, as util-linux.
fn exec(prog: &Prog, program: &[OsString]) -> Exit {
    let (name, err) = match program.split_first() {
        Some((name, args)) => (PathBuf::from(name), Command::new(name).args(args).exec()),
        None => {
            let shell = std::env::var_os("SHELL").unwrap_or_else(|| "/bin/sh".into());
            let arg0 = husk_sys::exec::login_shell_arg0(&shell);
            let err = Command::new(exec_path(&shell)).arg0(arg0).exec();
            (PathBuf::from(shell), err)
        }
    };
    eprintln!(
        "{prog}: failed to execute {}: {}",
        name.display(),
        cli::strerror(&err)
    );
    Exit(husk_sys::exec::failure_status(&err))
}

/// `$SHELL` is run as a path (util-linux uses `execl`, which does not
/// search `$PATH`): a bare name is relative to the working directory.
fn exec_path(shell: &OsStr) -> PathBuf {
    if shell.as_bytes().contains(&b'/') {
        PathBuf::from(shell)
    } else {
        Path::new(".").join(shell)
    }
}

fn help(prog: &Prog) -> String {
    format!(
        "
Usage:
 {prog} [options] [<program> [<argument>...]]

Run a program with namespaces of other processes.

Options:
 -a, --all              enter all namespaces
 -t, --target <pid>     target process to get namespaces from
 -m, --mount[=<file>]   enter mount namespace
 -u, --uts[=<file>]     enter UTS namespace (hostname etc)
 -i, --ipc[=<file>]     enter System V IPC namespace
 -n, --net[=<file>]     enter network namespace
 -p, --pid[=<file>]     enter pid namespace
 -C, --cgroup[=<file>]  enter cgroup namespace
 -U, --user[=<file>]    enter user namespace
 -T, --time[=<file>]    enter time namespace
 -S, --setuid <uid>     set uid in entered namespace
 -G, --setgid <gid>     set gid in entered namespace
     --preserve-credentials do not touch uids or gids
 -r, --root[=<dir>]     set the root directory
 -w, --wd[=<dir>]       set the working directory
 -W, --wdns <dir>       set the working directory in namespace
 -F, --no-fork          do not fork before exec'ing <program>
 -Z, --follow-context   set SELinux context according to --target PID

 -h, --help             display this help
 -V, --version          display version

For more details see nsenter(1).
"
    )
}
