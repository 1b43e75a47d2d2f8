//! Facts asked of the kernel once per namespace (owner, parent, netnsid,
//! creator uid), and namespaces found through them or through holders.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

use husk_sys::netnsid::{NsIdSocket, NSID_NOT_ASSIGNED};
use husk_sys::nsfs;
use rustix::fs::{FileType, OFlags};
use rustix::process::{PidfdFlags, PidfdGetfdFlags};

use super::procfs::{ns_path, open_at};
use super::{KindSet, NetNsId, NsEntry, NsfsMount, Origin, ScanOptions, Snapshot};
use crate::NsKind;

/// What to ask about each new namespace, and the state for asking it.
pub(super) struct Queries {
    kinds: KindSet,
    relations: bool,
    netnsid: bool,
    socket: Option<NsIdSocket>,
    socket_tried: bool,
    /// Namespaces seen in fds, first holder wins.
    fd_held: Vec<FdHeld>,
    fd_seen: HashSet<u64>,
    /// Namespaces already handed to `add_nsfd` (and, for bind mounts,
    /// everything listed before them).
    walked: HashSet<u64>,
    /// The `getdents64` buffer of [`Self::scan_fds`], kept between processes.
    dir_buf: Vec<u8>,
}

impl Queries {
    pub(super) fn new(opts: &ScanOptions) -> Queries {
        Queries {
            kinds: opts.kinds,
            relations: opts.relations,
            netnsid: opts.netnsid,
            socket: None,
            socket_tried: false,
            fd_held: Vec::new(),
            fd_seen: HashSet::new(),
            walked: HashSet::new(),
            dir_buf: Vec::new(),
        }
    }

    fn wanted(&self, kind: NsKind) -> bool {
        self.relations || (self.netnsid && kind == NsKind::Net)
    }

    /// Fills the per-namespace facts of a namespace first seen in the
    /// process directory `pdir`.
    pub(super) fn fill(&mut self, pdir: &OwnedFd, entry: &mut NsEntry) {
        if !self.wanted(entry.kind) {
            return;
        }
        let mut path = [0u8; 16];
        let name = OsStr::from_bytes(ns_path(entry.kind, &mut path));
        if let Some(fd) = open_at(pdir, name, OFlags::RDONLY) {
            self.fill_from_fd(fd.as_fd(), entry);
        }
    }

    fn fill_from_fd(&mut self, fd: BorrowedFd<'_>, entry: &mut NsEntry) {
        if self.relations {
            entry.owner = related(fd, Relation::Owner);
            if matches!(entry.kind, NsKind::Pid | NsKind::User) {
                entry.parent = related(fd, Relation::Parent);
            }
        }
        if self.netnsid && entry.kind == NsKind::Net {
            entry.netnsid = self.nsid(fd);
        }
    }

    fn nsid(&mut self, fd: BorrowedFd<'_>) -> Option<NetNsId> {
        if !self.socket_tried {
            self.socket_tried = true;
            self.socket = NsIdSocket::open().ok();
        }
        match self.socket.as_mut()?.nsid(fd).ok()? {
            NSID_NOT_ASSIGNED => Some(NetNsId::Unassigned),
            id => u32::try_from(id).ok().map(NetNsId::Id),
        }
    }

    /// Notes the namespaces that process `pid` holds open as fds: the fds
    /// whose file lives on nsfs (same device as `/proc/self/ns/*`), and the
    /// network namespaces of its sockets. The link text is no help: an fd
    /// opened through a bind mount reads as the mount's path. Each
    /// namespace is opened once (first holder wins) and kept open until
    /// [`Self::finish_fd_holders`].
    pub(super) fn scan_fds(&mut self, pdir: &OwnedFd, pid: u32, nsfs_dev: Option<u64>) {
        let Some(nsfs_dev) = nsfs_dev else {
            return;
        };
        let Some(fddir) = open_at(pdir, "fd", OFlags::RDONLY | OFlags::DIRECTORY) else {
            return;
        };
        // Listed through this fd (a second open would cost two syscalls per
        // process, measurable on 1,000 processes) into one buffer for every
        // process, its names borrowed, not copied.
        if self.dir_buf.capacity() == 0 {
            self.dir_buf.reserve(8 * 1024);
        }
        let mut dir = rustix::fs::RawDir::new(&fddir, self.dir_buf.spare_capacity_mut());
        let mut pidfd = LazyPidFd::Unopened;
        while let Some(entry) = dir.next() {
            let Ok(entry) = entry else {
                break;
            };
            let name = entry.file_name();
            let Some(fd) = name.to_str().ok().and_then(|s| s.parse().ok()) else {
                continue;
            };
            let Ok(st) = rustix::fs::statat(&fddir, name, rustix::fs::AtFlags::empty()) else {
                continue;
            };
            let file = if st.st_dev == nsfs_dev {
                if self.fd_seen.contains(&st.st_ino) {
                    continue;
                }
                open_at(&fddir, OsStr::from_bytes(name.to_bytes()), OFlags::RDONLY)
                    .map(|f| (st.st_ino, f))
            } else if FileType::from_raw_mode(st.st_mode) == FileType::Socket {
                socket_netns(&mut pidfd, pid, fd)
            } else {
                None
            };
            if let Some((ino, file)) = file.filter(|(ino, _)| !self.fd_seen.contains(ino)) {
                self.fd_seen.insert(ino);
                self.fd_held.push(FdHeld { ino, pid, fd, file });
            }
        }
    }

    /// Adds the namespaces held open by fds, and their missing owners and
    /// parents, as util-linux 2.41's `read_opened_namespaces` does: while
    /// it reads the fds no process has been attached to a namespace yet,
    /// so the owner/parent walk starts from every fd-held namespace, and
    /// stops only at one already walked.
    pub(super) fn finish_fd_holders(&mut self, snap: &mut Snapshot) {
        for held in std::mem::take(&mut self.fd_held) {
            let origin = Origin::OpenFd {
                pid: held.pid,
                fd: held.fd,
            };
            self.add_nsfd(snap, held.file.as_fd(), held.ino, origin);
        }
    }

    /// `add_namespace_for_nsfd`: lists the namespace `fd` (inode `ino`)
    /// unless a process is in it, then walks up to its parent (pid and
    /// user kinds) and owner, recursively, skipping kinds not asked for.
    fn add_nsfd(&mut self, snap: &mut Snapshot, fd: BorrowedFd<'_>, ino: u64, origin: Origin) {
        if self.walked.contains(&ino) {
            return;
        }
        let Some(kind) = nsfs::ns_type(fd).ok().and_then(NsKind::from_clone_flag) else {
            return;
        };
        if !self.kinds.contains(kind) {
            return;
        }
        self.walked.insert(ino);
        let parent = matches!(kind, NsKind::Pid | NsKind::User)
            .then(|| related_fd(fd, Relation::Parent))
            .flatten();
        let owner = related_fd(fd, Relation::Owner);
        if !snap.index.contains_key(&ino) {
            let mut entry = NsEntry::new(kind, ino, origin);
            entry.parent = parent.as_ref().map(|(i, _)| *i);
            entry.owner = owner.as_ref().map(|(i, _)| *i);
            entry.creator_uid = creator_uid(fd, kind);
            if self.netnsid && kind == NsKind::Net {
                entry.netnsid = self.nsid(fd);
            }
            snap.insert(entry);
        }
        for (id, other) in [parent, owner].into_iter().flatten() {
            if id != ino {
                self.add_nsfd(snap, other.as_fd(), id, Origin::Ancestor);
            }
        }
    }
}

/// A pidfd opened on first need, once per process.
enum LazyPidFd {
    Unopened,
    Open(OwnedFd),
    Failed,
}

/// The network namespace (inode, fd) of socket `fd` of process `pid`,
/// as util-linux 2.41's `add_namespace_from_sock`: a copy of the socket
/// (`pidfd_getfd`), then `SIOCGSKNS`. Failures only mean "none".
fn socket_netns(pidfd: &mut LazyPidFd, pid: u32, fd: u32) -> Option<(u64, OwnedFd)> {
    if let LazyPidFd::Unopened = pidfd {
        let opened = i32::try_from(pid)
            .ok()
            .and_then(rustix::process::Pid::from_raw)
            .and_then(|p| rustix::process::pidfd_open(p, PidfdFlags::empty()).ok());
        *pidfd = opened.map_or(LazyPidFd::Failed, LazyPidFd::Open);
    }
    let LazyPidFd::Open(pidfd) = pidfd else {
        return None;
    };
    let target = i32::try_from(fd).ok()?;
    let sock = rustix::process::pidfd_getfd(&*pidfd, target, PidfdGetfdFlags::empty()).ok()?;
    let ns = nsfs::socket_netns(sock.as_fd()).ok()?;
    let ino = rustix::fs::fstat(&ns).ok()?.st_ino;
    Some((ino, ns))
}

/// A namespace first seen as an open fd of a process.
struct FdHeld {
    ino: u64,
    pid: u32,
    fd: u32,
    file: OwnedFd,
}

/// Adds the namespaces bind-mounted on nsfs that nothing listed so far is
/// (`read_persistent_namespaces`), with their missing owners and parents.
/// The type comes from the kernel (`NS_GET_NSTYPE` on the mount point),
/// as in util-linux.
pub(super) fn add_mount_holders(snap: &mut Snapshot, mounts: &[NsfsMount], q: &mut Queries) {
    q.walked.extend(snap.index.keys().copied());
    for m in mounts {
        if q.walked.contains(&m.ino) {
            continue;
        }
        let Ok(fd) = rustix::fs::open(
            &m.target,
            OFlags::RDONLY | OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        ) else {
            continue;
        };
        // A mount point covered by a later mount opens the top file, maybe
        // another namespace: util-linux (2.41) then lists the covered inode
        // with the top one's type; husk skips it.
        if rustix::fs::fstat(&fd).map_or(true, |st| st.st_ino != m.ino) {
            continue;
        }
        q.add_nsfd(snap, fd.as_fd(), m.ino, Origin::BindMount(m.target.clone()));
    }
}

#[derive(Clone, Copy)]
enum Relation {
    Owner,
    Parent,
}

/// Inode of the owner or parent of the namespace `fd`, with the fd of it.
fn related_fd(fd: BorrowedFd<'_>, rel: Relation) -> Option<(u64, OwnedFd)> {
    let other = match rel {
        Relation::Owner => nsfs::owner_userns(fd),
        Relation::Parent => nsfs::parent_ns(fd),
    }
    .ok()?;
    let ino = rustix::fs::fstat(&other).ok()?.st_ino;
    Some((ino, other))
}

fn related(fd: BorrowedFd<'_>, rel: Relation) -> Option<u64> {
    related_fd(fd, rel).map(|(ino, _)| ino)
}

fn creator_uid(fd: BorrowedFd<'_>, kind: NsKind) -> Option<u32> {
    (kind == NsKind::User)
        .then(|| nsfs::owner_uid(fd).ok())
        .flatten()
}

/// See [`Snapshot::add_ancestors`]. For each listed namespace whose owner
/// or parent is not listed, reopens it (through its lowest-pid process or
/// its holder) and walks up with `NS_GET_USERNS`/`NS_GET_PARENT`, adding
/// what is missing, as util-linux does for `--tree=owner|parent`.
pub(super) fn add_ancestors(snap: &mut Snapshot) {
    let mut i = 0;
    while i < snap.namespaces.len() {
        let ns = &snap.namespaces[i];
        let missing = |id: Option<u64>| id.is_some_and(|id| !snap.index.contains_key(&id));
        if missing(ns.parent) || missing(ns.owner) {
            if let Some(fd) = reopen(snap, i) {
                for rel in [Relation::Parent, Relation::Owner] {
                    if let Some((ino, other)) = related_fd(fd.as_fd(), rel) {
                        add_from_fd(snap, other.as_fd(), ino);
                    }
                }
            }
        }
        i += 1;
    }
    snap.sort();
}

fn reopen(snap: &Snapshot, i: usize) -> Option<OwnedFd> {
    let ns = &snap.namespaces[i];
    let path = match &ns.origin {
        Origin::Process => {
            let pid = ns.rep(snap)?.pid;
            snap.proc_root
                .join(format!("{pid}/ns/{}", ns.kind.proc_name()))
        }
        Origin::BindMount(p) => p.clone(),
        Origin::OpenFd { pid, fd } => snap.proc_root.join(format!("{pid}/fd/{fd}")),
        Origin::Ancestor => return None,
    };
    let fd = rustix::fs::open(
        &path,
        OFlags::RDONLY | OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .ok()?;
    let ino = rustix::fs::fstat(&fd).ok()?.st_ino;
    (ino == ns.ino).then_some(fd)
}

/// Adds the namespace `fd` (inode `ino`) and, recursively, its missing
/// parent and owner.
fn add_from_fd(snap: &mut Snapshot, fd: BorrowedFd<'_>, ino: u64) {
    if snap.index.contains_key(&ino) {
        return;
    }
    let Some(kind) = nsfs::ns_type(fd).ok().and_then(NsKind::from_clone_flag) else {
        return;
    };
    let mut entry = NsEntry::new(kind, ino, Origin::Ancestor);
    let owner = related_fd(fd, Relation::Owner);
    let parent = related_fd(fd, Relation::Parent);
    entry.owner = owner.as_ref().map(|(i, _)| *i);
    entry.parent = parent.as_ref().map(|(i, _)| *i);
    entry.creator_uid = creator_uid(fd, kind);
    entry.nsfs = snap
        .mounts
        .iter()
        .filter(|m| m.ino == ino && m.kind == kind)
        .map(|m| m.target.clone())
        .collect();
    snap.insert(entry);
    for (id, other) in [parent, owner].into_iter().flatten() {
        if id != ino {
            add_from_fd(snap, other.as_fd(), id);
        }
    }
}
