//! The one pass over `/proc`: per process, the directory owner, `stat`,
//! and one `readlink` per namespace kind.

use std::ffi::OsStr;
use std::fs;
use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use rustix::fs::{FileType, Mode, OFlags};

use super::relations::Queries;
use super::{kind_index, NsEntry, Origin, Process, ScanError, ScanOptions, Snapshot};
use crate::NsKind;

/// Reads every process under the procfs root into `snap`, creating a
/// namespace entry the first time each namespace is seen.
pub(super) fn walk(
    opts: &ScanOptions,
    snap: &mut Snapshot,
    queries: &mut Queries,
) -> Result<(), ScanError> {
    let root = opts.proc_root();
    let proc_err = |source| ScanError::Proc {
        path: root.to_owned(),
        source,
    };
    let root_fd = rustix::fs::open(
        root,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| proc_err(e.into()))?;
    // Listed through the fd the processes are opened at (`fs::read_dir`
    // would open the root a second time), with a buffer as large as std's
    // (rustix's `Dir` starts at 768 bytes: more `getdents64` calls).
    let mut buf = Vec::with_capacity(32 * 1024);
    let mut dir = rustix::fs::RawDir::new(&root_fd, buf.spare_capacity_mut());
    let mut link = Vec::with_capacity(64);
    let nsfs_dev = opts.holders.then(|| nsfs_device(root)).flatten();
    while let Some(entry) = dir.next() {
        let Ok(entry) = entry else {
            break;
        };
        let name = entry.file_name().to_bytes();
        if !name.first().is_some_and(u8::is_ascii_digit) {
            continue;
        }
        if !matches!(entry.file_type(), FileType::Directory | FileType::Unknown) {
            continue;
        }
        let Some(pdir) = open_at(
            &root_fd,
            OsStr::from_bytes(name),
            OFlags::PATH | OFlags::DIRECTORY,
        ) else {
            continue;
        };
        let Some(mut proc) = read_process(&pdir) else {
            continue;
        };
        let idx = snap.processes.len();
        for kind in NsKind::ALL {
            if !opts.kinds.contains(kind) {
                continue;
            }
            let Some(ino) = ns_ino(&pdir, kind, &mut link) else {
                continue;
            };
            proc.ns[kind_index(kind)] = Some(ino);
            let at = match snap.index.get(&ino) {
                Some(&at) => at,
                None => {
                    let mut entry = NsEntry::new(kind, ino, Origin::Process);
                    queries.fill(&pdir, &mut entry);
                    snap.insert(entry)
                }
            };
            add_member(snap, at, idx, proc.pid);
        }
        if opts.holders {
            queries.scan_fds(&pdir, proc.pid, nsfs_dev);
        }
        snap.processes.push(proc);
    }
    queries.finish_fd_holders(snap);
    Ok(())
}

/// The device of nsfs, from one of our own namespace files.
fn nsfs_device(root: &Path) -> Option<u64> {
    rustix::fs::stat(root.join("self/ns/user"))
        .ok()
        .map(|st| st.st_dev)
}

fn add_member(snap: &mut Snapshot, at: usize, idx: usize, pid: u32) {
    let ns = &mut snap.namespaces[at];
    ns.procs.push(idx);
    let lower = match ns.rep {
        Some(r) => snap.processes.get(r).is_none_or(|p| pid < p.pid),
        None => true,
    };
    if lower {
        ns.rep = Some(idx);
    }
}

pub(super) fn open_at(dir: &impl AsFd, name: impl AsRef<Path>, flags: OFlags) -> Option<OwnedFd> {
    rustix::fs::openat(dir, name.as_ref(), flags | OFlags::CLOEXEC, Mode::empty()).ok()
}

/// uid (owner of the directory), pid and ppid (from `stat`).
fn read_process(pdir: &OwnedFd) -> Option<Process> {
    let uid = rustix::fs::fstat(pdir).map(|st| st.st_uid).unwrap_or(0);
    let fd = open_at(pdir, "stat", OFlags::RDONLY)?;
    let mut buf = [0u8; 512];
    let n = rustix::io::read(&fd, &mut buf).ok()?;
    let (pid, ppid) = parse_stat(&buf[..n])?;
    Some(Process {
        pid,
        ppid,
        uid,
        ns: [None; 8],
    })
}

/// `PID (comm) S PPID ...`: comm may hold spaces and parentheses, so the
/// state and ppid are read after the last `)`.
pub(super) fn parse_stat(stat: &[u8]) -> Option<(u32, u32)> {
    let text = std::str::from_utf8(stat.get(..stat.iter().position(|&b| b == b' ')?)?).ok()?;
    let pid = text.parse().ok()?;
    let close = stat.iter().rposition(|&b| b == b')')?;
    let rest = std::str::from_utf8(&stat[close + 1..]).ok()?;
    let mut fields = rest.split_ascii_whitespace();
    fields.next()?; // state
    let ppid = fields.next()?.parse().ok()?;
    Some((pid, ppid))
}

/// The inode of `/proc/PID/ns/KIND`, from its link text `kind:[ino]`.
fn ns_ino(pdir: &OwnedFd, kind: NsKind, buf: &mut Vec<u8>) -> Option<u64> {
    let mut path = [0u8; 16];
    let name = ns_path(kind, &mut path);
    let target = rustix::fs::readlinkat(pdir, OsStr::from_bytes(name), std::mem::take(buf)).ok()?;
    let ino = parse_ns_link(target.as_bytes()).map(|(_, ino)| ino);
    *buf = target.into_bytes();
    ino
}

/// `ns/<kind>` written into `buf`.
pub(super) fn ns_path(kind: NsKind, buf: &mut [u8; 16]) -> &[u8] {
    let name = kind.proc_name().as_bytes();
    buf[..3].copy_from_slice(b"ns/");
    buf[3..3 + name.len()].copy_from_slice(name);
    &buf[..3 + name.len()]
}

/// Parses a namespace link text `net:[4026531840]` into kind and inode.
pub(super) fn parse_ns_link(text: &[u8]) -> Option<(NsKind, u64)> {
    let open = text.iter().position(|&b| b == b':')?;
    let kind = std::str::from_utf8(&text[..open]).ok()?.parse().ok()?;
    let rest = text[open + 1..].strip_prefix(b"[")?.strip_suffix(b"]")?;
    let ino = std::str::from_utf8(rest).ok()?.parse().ok()?;
    Some((kind, ino))
}

/// The command line of process `pid` as util-linux shows it: at most 8191
/// bytes of `/proc/PID/cmdline` with NULs turned into spaces (the final
/// byte, normally the terminating NUL, is dropped), or else its `comm`
/// (without the newline). `None` if both are empty or unreadable.
pub fn command_line(proc_root: &Path, pid: u32) -> Option<Vec<u8>> {
    let dir = proc_root.join(pid.to_string());
    read_line_file(&dir.join("cmdline")).or_else(|| read_line_file(&dir.join("comm")))
}

fn read_line_file(path: &Path) -> Option<Vec<u8>> {
    const BUFSIZ: u64 = 8192;
    let mut data = Vec::new();
    fs::File::open(path)
        .ok()?
        .take(BUFSIZ)
        .read_to_end(&mut data)
        .ok()?;
    data.pop()?;
    for b in &mut data {
        if *b == 0 {
            *b = b' ';
        }
    }
    // A cell is a C string in util-linux: it ends at the first NUL, and a
    // NUL can no longer occur; an empty result means "no data".
    Some(data)
}
