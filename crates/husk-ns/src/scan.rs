//! Enumerating every namespace on the system (the `lsns` engine).
//!
//! [`scan`] walks `/proc` **once**: for each process it reads who owns it
//! (`stat` of `/proc/PID`), its parent (`/proc/PID/stat`) and one
//! `readlink` per namespace kind (`/proc/PID/ns/net` → `net:[4026531840]`).
//! Facts that belong to a namespace rather than to a process — its owning
//! user namespace, its parent, its netnsid — are asked of the kernel once,
//! the first time the namespace is seen, while the process directory is
//! still open. util-linux 2.38 `lsns` asks them again for every process and
//! searches its lists linearly; doing neither is most of why husk is faster.
//!
//! The procfs root is a parameter ([`ScanOptions::new`]), so tests can run
//! on a fixture directory.
//!
//! ```
//! use husk_ns::scan::{scan, ScanOptions};
//! use husk_ns::NsKind;
//!
//! let snap = scan(&ScanOptions::new("/proc").relations(true))?;
//! let me = std::process::id();
//! let net = snap
//!     .namespaces()
//!     .iter()
//!     .find(|ns| ns.kind == NsKind::Net && ns.has_pid(&snap, me))
//!     .expect("my own network namespace is listed");
//! assert!(net.nprocs() >= 1);
//! assert!(net.owner.is_some(), "owned by a user namespace");
//! # Ok::<(), husk_ns::scan::ScanError>(())
//! ```

mod mountinfo;
mod procfs;
mod relations;

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

use crate::NsKind;

pub use mountinfo::{nsfs_mounts, NsfsMount};
pub use procfs::command_line;

/// Why a scan could not be done at all. Processes that vanish or cannot be
/// read during the scan are skipped, not errors.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// The procfs root could not be listed.
    #[error("cannot read {path}")]
    Proc {
        /// The directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The mount table (for nsfs bind mounts) could not be read.
    #[error("failed to parse {path}")]
    Mountinfo {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

/// A set of namespace kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindSet([bool; 8]);

impl KindSet {
    /// All eight kinds.
    pub const ALL: KindSet = KindSet([true; 8]);
    /// No kind.
    pub const NONE: KindSet = KindSet([false; 8]);

    /// Adds `kind`.
    pub fn insert(&mut self, kind: NsKind) {
        self.0[kind_index(kind)] = true;
    }

    /// Whether `kind` is in the set.
    pub fn contains(&self, kind: NsKind) -> bool {
        self.0[kind_index(kind)]
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        !self.0.iter().any(|&b| b)
    }
}

/// Position of `kind` in [`NsKind::ALL`] (util-linux's type order).
pub(crate) fn kind_index(kind: NsKind) -> usize {
    NsKind::ALL.iter().position(|&k| k == kind).unwrap_or(0)
}

/// What to read. Cheap facts are always read; the costly ones are opt-in.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    proc_root: PathBuf,
    kinds: KindSet,
    relations: bool,
    netnsid: bool,
    nsfs: bool,
    holders: bool,
}

impl ScanOptions {
    /// Scan the procfs mounted at `proc_root` (normally `/proc`), all kinds,
    /// no optional facts.
    pub fn new(proc_root: impl Into<PathBuf>) -> ScanOptions {
        ScanOptions {
            proc_root: proc_root.into(),
            kinds: KindSet::ALL,
            relations: false,
            netnsid: false,
            nsfs: false,
            holders: false,
        }
    }

    /// Only namespaces of these kinds (default: all).
    pub fn kinds(mut self, kinds: KindSet) -> ScanOptions {
        self.kinds = kinds;
        self
    }

    /// Also ask each namespace's owner and parent (`NS_GET_USERNS`,
    /// `NS_GET_PARENT`): fills [`NsEntry::owner`] and [`NsEntry::parent`].
    pub fn relations(mut self, on: bool) -> ScanOptions {
        self.relations = on;
        self
    }

    /// Also ask each network namespace's netnsid (`RTM_GETNSID`).
    pub fn netnsid(mut self, on: bool) -> ScanOptions {
        self.netnsid = on;
        self
    }

    /// Also read `PROC/self/mountinfo` for nsfs bind mounts: fills
    /// [`NsEntry::nsfs`].
    pub fn nsfs(mut self, on: bool) -> ScanOptions {
        self.nsfs = on;
        self
    }

    /// Also list namespaces that no process is in but that are kept alive
    /// by an nsfs bind mount or an open file descriptor ([`Origin`]), and
    /// the owners and parents of these that no process is in either
    /// ([`Origin::Ancestor`]), as util-linux 2.41 does (2.38 lists none;
    /// 2.39 added bind mounts, 2.41 fds). Costs one `/proc/PID/fd` listing
    /// and one `stat` per fd, and `PROC/self/mountinfo`.
    pub fn holders(mut self, on: bool) -> ScanOptions {
        self.holders = on;
        self
    }

    /// The procfs root.
    pub fn proc_root(&self) -> &Path {
        &self.proc_root
    }
}

/// One process, as read from `/proc/PID`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    /// Its pid (in the pid namespace of the procfs).
    pub pid: u32,
    /// Its parent's pid (0 for init and kernel threads' parent).
    pub ppid: u32,
    /// Owner of `/proc/PID`: the effective uid, or 0 if not dumpable.
    pub uid: u32,
    /// Inode of each of its namespaces, by [`NsKind::ALL`] position; `None`
    /// when not scanned or not readable (zombies, permission).
    pub ns: [Option<u64>; 8],
}

impl Process {
    /// Inode of the process's `kind` namespace.
    pub fn ns(&self, kind: NsKind) -> Option<u64> {
        self.ns[kind_index(kind)]
    }
}

/// How a namespace came to be listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// At least one process is in it.
    Process,
    /// No process is in it, but it owns or is the parent of a listed one
    /// (found through `NS_GET_USERNS`/`NS_GET_PARENT`, see
    /// [`Snapshot::add_ancestors`] and [`ScanOptions::holders`]).
    Ancestor,
    /// Kept alive only by an nsfs bind mount at this path.
    BindMount(PathBuf),
    /// Kept alive only by an open file descriptor of a process: a
    /// namespace file, or (network namespaces) a socket made in it.
    OpenFd {
        /// The process holding it.
        pid: u32,
        /// The descriptor.
        fd: u32,
    },
}

/// The netnsid of a network namespace, relative to the scanner's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetNsId {
    /// An id was assigned.
    Id(u32),
    /// No id was assigned.
    Unassigned,
}

/// One namespace and what the scan learned about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NsEntry {
    /// Its kind.
    pub kind: NsKind,
    /// Its inode number (what `lsns` prints as NS).
    pub ino: u64,
    /// Indices into [`Snapshot::processes`] of the processes in it, in
    /// `/proc` order.
    pub procs: Vec<usize>,
    /// Index of its process with the lowest pid, if any.
    pub rep: Option<usize>,
    /// Inode of the parent namespace (pid and user kinds), if visible and
    /// [`ScanOptions::relations`] was asked.
    pub parent: Option<u64>,
    /// Inode of the owning user namespace, if visible and asked.
    pub owner: Option<u64>,
    /// For user namespaces without a process: the uid that created it
    /// (`NS_GET_OWNER_UID`).
    pub creator_uid: Option<u32>,
    /// Its netnsid, for network namespaces when asked and known.
    pub netnsid: Option<NetNsId>,
    /// Mount points of nsfs bind mounts of it, in mount table order, when
    /// asked.
    pub nsfs: Vec<PathBuf>,
    /// How it was found.
    pub origin: Origin,
}

impl NsEntry {
    fn new(kind: NsKind, ino: u64, origin: Origin) -> NsEntry {
        NsEntry {
            kind,
            ino,
            procs: Vec::new(),
            rep: None,
            parent: None,
            owner: None,
            creator_uid: None,
            netnsid: None,
            nsfs: Vec::new(),
            origin,
        }
    }

    /// Number of processes in the namespace.
    pub fn nprocs(&self) -> usize {
        self.procs.len()
    }

    /// Whether the process with pid `pid` is in the namespace.
    pub fn has_pid(&self, snap: &Snapshot, pid: u32) -> bool {
        self.procs.iter().any(|&i| snap.processes[i].pid == pid)
    }

    /// The process with the lowest pid in it.
    pub fn rep<'a>(&self, snap: &'a Snapshot) -> Option<&'a Process> {
        self.rep.map(|i| &snap.processes[i])
    }
}

/// Everything one scan saw: processes in `/proc` order, namespaces sorted
/// by inode.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    processes: Vec<Process>,
    parents: Vec<Option<usize>>,
    namespaces: Vec<NsEntry>,
    index: HashMap<u64, usize>,
    proc_root: PathBuf,
    mounts: Vec<NsfsMount>,
}

impl Snapshot {
    /// The processes, in `/proc` directory order.
    pub fn processes(&self) -> &[Process] {
        &self.processes
    }

    /// The namespaces, sorted by inode.
    pub fn namespaces(&self) -> &[NsEntry] {
        &self.namespaces
    }

    /// The namespace with inode `ino`.
    pub fn get(&self, ino: u64) -> Option<&NsEntry> {
        self.index.get(&ino).map(|&i| &self.namespaces[i])
    }

    /// Position of the namespace with inode `ino` in [`Self::namespaces`].
    pub fn position(&self, ino: u64) -> Option<usize> {
        self.index.get(&ino).copied()
    }

    /// Index of the parent process (the one whose pid is `ppid`) of the
    /// process at index `proc`, if it was scanned.
    pub fn parent_process(&self, proc: usize) -> Option<usize> {
        self.parents.get(proc).copied().flatten()
    }

    /// Adds the owners and parents of listed namespaces that no process is
    /// in (for example the user namespace owning a filtered-in kind, or an
    /// intermediate pid namespace), recursively, as [`Origin::Ancestor`].
    /// Needs [`ScanOptions::relations`]; a no-op without it.
    pub fn add_ancestors(&mut self) {
        relations::add_ancestors(self);
    }

    fn insert(&mut self, entry: NsEntry) -> usize {
        let at = self.namespaces.len();
        self.index.insert(entry.ino, at);
        self.namespaces.push(entry);
        at
    }

    fn sort(&mut self) {
        self.namespaces.sort_by_key(|ns| ns.ino);
        self.index = self
            .namespaces
            .iter()
            .enumerate()
            .map(|(i, ns)| (ns.ino, i))
            .collect();
    }
}

/// Scans `/proc` once and returns every namespace a process is in (plus,
/// if asked, those held only by bind mounts or fds).
pub fn scan(opts: &ScanOptions) -> Result<Snapshot, ScanError> {
    let mut snap = Snapshot {
        proc_root: opts.proc_root.clone(),
        ..Snapshot::default()
    };
    let mut queries = relations::Queries::new(opts);
    procfs::walk(opts, &mut snap, &mut queries)?;
    link_parents(&mut snap);
    if opts.nsfs || opts.holders {
        let mounts = nsfs_mounts(&opts.proc_root.join("self/mountinfo")).map_err(|source| {
            ScanError::Mountinfo {
                path: opts.proc_root.join("self/mountinfo"),
                source,
            }
        })?;
        if opts.holders {
            relations::add_mount_holders(&mut snap, &mounts, &mut queries);
        }
        snap.mounts = mounts;
        if opts.nsfs {
            attach_nsfs(&mut snap);
        }
    }
    snap.sort();
    Ok(snap)
}

/// Links each process to its parent by pid.
fn link_parents(snap: &mut Snapshot) {
    let by_pid: HashMap<u32, usize> = snap
        .processes
        .iter()
        .enumerate()
        .map(|(i, p)| (p.pid, i))
        .collect();
    snap.parents = snap
        .processes
        .iter()
        .map(|p| by_pid.get(&p.ppid).copied())
        .collect();
}

fn attach_nsfs(snap: &mut Snapshot) {
    for m in &snap.mounts {
        if let Some(&i) = snap.index.get(&m.ino) {
            if snap.namespaces[i].kind == m.kind {
                snap.namespaces[i].nsfs.push(m.target.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests;
