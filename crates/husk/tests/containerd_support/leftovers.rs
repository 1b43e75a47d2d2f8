//! What a containerd test can leave behind, found and undone: processes
//! (shims, tasks) by pid, cgroups under the test's `/husk/<namespace>`,
//! mounts under its temp dir; and [`Trace`], the check that none is left.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::oci_support::cgroup_mounts;

use super::text;

/// What a test checks after its [`Containerd`] is dropped.
#[derive(Debug)]
pub struct Trace {
    pub(super) dir: PathBuf,
    pub(super) ns: String,
    pub(super) containerd: u32,
    pub(super) shim_sockets: Vec<PathBuf>,
}

impl Trace {
    /// Asserts nothing is left: the temp dir, mounts under it, cgroups
    /// under `/husk/<namespace>` in any hierarchy, containerd, shims or any
    /// other live process naming the dir or namespace, shim sockets.
    pub fn assert_clean(&self) {
        let mut left = Vec::new();
        if self.dir.exists() {
            left.push(format!("dir {}", self.dir.display()));
        }
        let dir = self.dir.to_str().unwrap();
        let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        left.extend(
            mounts
                .lines()
                .filter(|l| l.contains(dir))
                .map(|l| format!("mount {l}")),
        );
        for hier in cgroup_mounts() {
            let cg = hier.join("husk").join(&self.ns);
            if cg.exists() {
                left.push(format!("cgroup {}", cg.display()));
            }
        }
        for pid in live_pids() {
            let args = cmdline(pid);
            if pid == self.containerd || args.iter().any(|a| a.contains(dir) || *a == self.ns) {
                left.push(format!("process {pid}: {}", args.join(" ")));
            }
        }
        left.extend(
            self.shim_sockets
                .iter()
                .filter(|s| s.exists())
                .map(|s| format!("shim socket {}", s.display())),
        );
        assert!(left.is_empty(), "left behind: {left:#?}");
    }
}

pub(super) fn signal(pid: u32, sig: rustix::process::Signal) {
    if let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    {
        let _ = rustix::process::kill_process(pid, sig);
    }
}

/// Waits (bounded) for `pid` to be gone, reaping it if it is a child.
pub(super) fn reap(pid: u32) {
    let Some(p) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return;
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        match rustix::process::waitpid(Some(p), rustix::process::WaitOptions::NOHANG) {
            Ok(Some(_)) => return,
            Err(_) if !is_live(pid) => return,
            _ => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

/// Reaps shims that exited on their own (after `task delete`): zombies
/// whose parent is this process (the subreaper).
pub(super) fn reap_exited_shims() {
    let me = std::process::id();
    for (pid, stat) in all_stats() {
        let Some((comm, rest)) = stat.split_once(") ") else {
            continue;
        };
        let mut f = rest.split(' ');
        let (state, ppid) = (f.next(), f.next().and_then(|p| p.parse::<u32>().ok()));
        if state == Some("Z") && ppid == Some(me) && comm.ends_with("(containerd-shim") {
            reap(pid);
        }
    }
}

/// Every process's pid and `/proc/PID/stat`.
pub(super) fn all_stats() -> Vec<(u32, String)> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            Some((
                pid,
                std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?,
            ))
        })
        .collect()
}

/// Whether `stat` is of a process that is neither gone nor a zombie.
pub(super) fn stat_is_live(stat: &str) -> bool {
    stat.rsplit_once(") ")
        .is_some_and(|(_, r)| !r.starts_with('Z'))
}

pub(super) fn is_live(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| stat_is_live(&s))
}

/// Pids of live (not zombie) processes.
pub(super) fn live_pids() -> Vec<u32> {
    all_stats()
        .into_iter()
        .filter(|(_, s)| stat_is_live(s))
        .map(|(pid, _)| pid)
        .collect()
}

pub(super) fn cmdline(pid: u32) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| b.split(|&c| c == 0).map(text).collect())
        .unwrap_or_default()
}

/// The shims serving containerd at `sock`: their command line is
/// `containerd-shim-runc-v2 -namespace NS -id ID -address SOCK`.
pub(super) fn shims_of(sock: &Path) -> Vec<u32> {
    let sock = sock.to_str().unwrap();
    live_pids()
        .into_iter()
        .filter(|&pid| {
            let args = cmdline(pid);
            args.first()
                .is_some_and(|a| a.ends_with("containerd-shim-runc-v2"))
                && args.windows(2).any(|w| w[0] == "-address" && w[1] == sock)
        })
        .collect()
}

/// Thaws, then SIGKILLs every process in `rel` (a cgroup path under each
/// hierarchy's mount point) and its descendants; returns their pids.
pub(super) fn kill_cgroup_tree(rel: &str) -> Vec<u32> {
    let mut pids = Vec::new();
    for hier in cgroup_mounts() {
        for dir in tree(&hier.join(rel)) {
            let _ = std::fs::write(dir.join("freezer.state"), "THAWED");
            let _ = std::fs::write(dir.join("cgroup.freeze"), "0");
            let procs = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
            for pid in procs.lines().filter_map(|l| l.parse::<u32>().ok()) {
                signal(pid, rustix::process::Signal::KILL);
                pids.push(pid);
            }
        }
    }
    pids.sort_unstable();
    pids.dedup();
    pids
}

/// Removes `rel` and every cgroup under it in every hierarchy, deepest
/// first; retried for a while (a killed process leaves its cgroup a
/// moment after it is reaped).
pub(super) fn remove_cgroup_tree(rel: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    for hier in cgroup_mounts() {
        let mut dirs = tree(&hier.join(rel));
        dirs.reverse();
        for dir in dirs {
            while std::fs::remove_dir(&dir).is_err() && dir.exists() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

/// `dir` and every directory under it, parents before children.
pub(super) fn tree(dir: &Path) -> Vec<PathBuf> {
    if !dir.is_dir() {
        return Vec::new();
    }
    let mut out = vec![dir.to_owned()];
    let mut i = 0;
    while i < out.len() {
        let subdirs: Vec<PathBuf> = std::fs::read_dir(&out[i])
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .map(|e| e.path())
            .collect();
        out.extend(subdirs);
        i += 1;
    }
    out
}

/// Detaches every mount at or under `dir`, deepest first; whether none is
/// left.
pub(super) fn unmount_under(dir: &Path) -> bool {
    let prefix = dir.to_str().unwrap();
    let mounted = || -> Vec<String> {
        let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        let mut points: Vec<String> = info
            .lines()
            .filter_map(|l| l.split(' ').nth(4))
            .filter(|mp| mp.starts_with(prefix))
            .map(str::to_owned)
            .collect();
        points.sort_by_key(|p| std::cmp::Reverse(p.len()));
        points
    };
    for mp in mounted() {
        let _ = rustix::mount::unmount(mp.as_str(), rustix::mount::UnmountFlags::DETACH);
    }
    mounted().is_empty()
}
