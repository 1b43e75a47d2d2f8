//! `lsns` columns and lines: which namespace or process each line shows,
//! which line it hangs under in a tree, and what each cell says.

use std::collections::HashMap;

use husk_ns::scan::{self, NetNsId, NsEntry, Snapshot};
use husk_ns::NsKind;

use super::Opts;
use crate::cli::Prog;
use crate::table::{Column, Format, Hint, JsonType, LineId, Table};

/// What the tree shows (`-T`), or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tree {
    #[default]
    None,
    /// Child processes under their parent (the default view).
    Process,
    /// Namespaces under the user namespace that owns them.
    Owner,
    /// pid/user namespaces under their parent.
    Parent,
}

/// The output columns, in util-linux's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Col {
    Ns,
    Type,
    Path,
    Nprocs,
    Pid,
    Ppid,
    Command,
    Uid,
    User,
    Netnsid,
    Nsfs,
    Pns,
    Ons,
}

impl Col {
    pub const ALL: [Col; 13] = [
        Col::Ns,
        Col::Type,
        Col::Path,
        Col::Nprocs,
        Col::Pid,
        Col::Ppid,
        Col::Command,
        Col::Uid,
        Col::User,
        Col::Netnsid,
        Col::Nsfs,
        Col::Pns,
        Col::Ons,
    ];

    /// Header, width hint (0: none), right-aligned, JSON number, help.
    fn info(self) -> (&'static str, usize, bool, bool, &'static str) {
        match self {
            Col::Ns => ("NS", 10, true, true, "namespace identifier (inode number)"),
            Col::Type => ("TYPE", 5, false, false, "kind of namespace"),
            Col::Path => ("PATH", 0, false, false, "path to the namespace"),
            Col::Nprocs => (
                "NPROCS",
                5,
                true,
                true,
                "number of processes in the namespace",
            ),
            Col::Pid => ("PID", 5, true, true, "lowest PID in the namespace"),
            Col::Ppid => ("PPID", 5, true, true, "PPID of the PID"),
            Col::Command => ("COMMAND", 0, false, false, "command line of the PID"),
            Col::Uid => ("UID", 0, true, true, "UID of the PID"),
            Col::User => ("USER", 0, false, false, "username of the PID"),
            Col::Netnsid => (
                "NETNSID",
                0,
                true,
                false,
                "namespace ID as used by network subsystem",
            ),
            Col::Nsfs => (
                "NSFS",
                0,
                false,
                false,
                "nsfs mountpoint (usually used network subsystem)",
            ),
            Col::Pns => (
                "PNS",
                10,
                true,
                true,
                "parent namespace identifier (inode number)",
            ),
            Col::Ons => (
                "ONS",
                10,
                true,
                true,
                "owner namespace identifier (inode number)",
            ),
        }
    }

    pub fn name(self) -> &'static str {
        self.info().0
    }
}

/// util-linux's usage text, word for word.
pub fn help(prog: &Prog) -> String {
    let mut s = format!(
        "\nUsage:\n {} [options] [<namespace>]\n\nList system namespaces.\n\nOptions:\n",
        prog.name()
    );
    s.push_str(
        " -J, --json             use JSON output format\n\
         \x20-l, --list             use list format output\n\
         \x20-n, --noheadings       don't print headings\n\
         \x20-o, --output <list>    define which output columns to use\n\
         \x20    --output-all       output all columns\n\
         \x20-P, --persistent       namespaces without processes\n\
         \x20-p, --task <pid>       print process namespaces\n\
         \x20-r, --raw              use the raw output format\n\
         \x20-u, --notruncate       don't truncate text in columns\n\
         \x20-W, --nowrap           don't use multi-line representation\n\
         \x20-t, --type <name>      namespace type (mnt, net, ipc, user, pid, uts, cgroup, time)\n\
         \x20-T, --tree <rel>       use tree format (parent, owner, or process)\n\
         \n -h, --help             display this help\n\
         \x20-V, --version          display version\n\
         \nAvailable output columns:\n",
    );
    for col in Col::ALL {
        let (name, .., help) = col.info();
        s.push_str(&format!(" {name:>11}  {help}\n"));
    }
    s.push_str("\nFor more details see lsns(8).\n");
    s
}

/// Builds the table for a snapshot, following util-linux's line order.
pub struct View<'a> {
    o: &'a Opts,
    snap: &'a Snapshot,
    table: Table,
    ns_line: Vec<Option<LineId>>,
    proc_line: Vec<Option<LineId>>,
    users: Users,
}

impl<'a> View<'a> {
    pub fn new(o: &'a Opts, snap: &'a Snapshot) -> View<'a> {
        View {
            o,
            snap,
            table: new_table(o),
            ns_line: vec![None; snap.namespaces().len()],
            proc_line: vec![None; snap.processes().len()],
            users: Users::default(),
        }
    }

    /// Every namespace (or those of `-p PID`, or with `-P` those no
    /// process is in), in inode order, owners or parents first in
    /// `-T owner|parent` mode (even with `-P`, as in util-linux).
    pub fn namespaces(mut self) -> Table {
        for at in 0..self.snap.namespaces().len() {
            let ns = &self.snap.namespaces()[at];
            let task = u32::try_from(self.o.task).ok();
            if self.o.task != 0 && !task.is_some_and(|pid| ns.has_pid(self.snap, pid)) {
                continue;
            }
            if self.o.persistent && ns.nprocs() != 0 {
                continue;
            }
            if self.ns_line[at].is_none() {
                self.show_namespace(at);
            }
        }
        finish(self.table)
    }

    fn related(&self, at: usize, owner: bool) -> Option<usize> {
        let ns = &self.snap.namespaces()[at];
        let id = if owner { ns.owner } else { ns.parent }?;
        self.snap.position(id)
    }

    fn show_namespace(&mut self, at: usize) {
        let owner = self.related(at, true);
        match self.o.tree {
            Tree::Owner => {
                if let Some(up) = owner.filter(|&u| self.ns_line[u].is_none()) {
                    self.show_namespace(up);
                }
            }
            Tree::Parent => match self.related(at, false) {
                Some(up) => {
                    if self.ns_line[up].is_none() {
                        self.show_namespace(up);
                    }
                }
                None => {
                    if let Some(up) = owner.filter(|&u| self.ns_line[u].is_none()) {
                        self.show_namespace(up);
                    }
                }
            },
            _ => {}
        }
        let rep = self.snap.namespaces()[at].rep;
        self.add_line(at, rep);
    }

    /// The processes of one namespace (`lsns NS`), children under parents.
    pub fn namespace_processes(mut self, at: usize) -> Table {
        let procs = self.snap.namespaces()[at].procs.clone();
        for p in procs {
            if self.proc_line[p].is_none() {
                self.show_process(p, at);
            }
        }
        finish(self.table)
    }

    fn show_process(&mut self, p: usize, at: usize) {
        let kind = self.snap.namespaces()[at].kind;
        if self.o.tree == Tree::Process {
            if let Some(pp) = self.snap.parent_process(p) {
                let procs = self.snap.processes();
                if self.proc_line[pp].is_none() && procs[pp].ns(kind) == procs[p].ns(kind) {
                    self.show_process(pp, at);
                }
            }
        }
        self.add_line(at, Some(p));
    }

    fn add_line(&mut self, at: usize, proc: Option<usize>) {
        let parent = match self.o.tree {
            Tree::Process => proc
                .and_then(|p| self.snap.parent_process(p))
                .and_then(|pp| self.proc_line[pp]),
            Tree::Parent => self.related(at, false).and_then(|u| self.ns_line[u]),
            Tree::Owner => self.related(at, true).and_then(|u| self.ns_line[u]),
            Tree::None => None,
        };
        let line = self.table.add_line(parent);
        let ns = &self.snap.namespaces()[at];
        for (i, &col) in self.o.columns.iter().enumerate() {
            let cell = cell(self.o, self.snap, &mut self.users, ns, proc, col);
            if let Some(cell) = cell {
                self.table.set(line, i, cell);
            }
        }
        match (self.o.tree, proc) {
            (Tree::Owner | Tree::Parent, _) => self.ns_line[at] = Some(line),
            (_, Some(p)) => self.proc_line[p] = Some(line),
            _ => {}
        }
    }
}

fn new_table(o: &Opts) -> Table {
    let mut t = Table::new();
    let format = if o.json {
        Format::Json
    } else if o.raw {
        Format::Raw
    } else {
        Format::Human
    };
    t.format(format)
        .no_headings(o.no_headings)
        .name("namespaces");
    let ns_tree = matches!(o.tree, Tree::Owner | Tree::Parent);
    for &col in &o.columns {
        let (name, hint, right, number, _) = col.info();
        let tree = (o.tree == Tree::Process && col == Col::Command) || (ns_tree && col == Col::Ns);
        let json = if number {
            JsonType::Number
        } else {
            JsonType::String
        };
        t.add_column(
            Column::new(name)
                .hint(if hint > 0 {
                    Hint::Cells(hint)
                } else {
                    Hint::None
                })
                .right(right && !(ns_tree && col == Col::Ns))
                .trunc(col == Col::Command && !o.no_trunc)
                .tree(tree)
                .wrap_lines(col == Col::Nsfs && !o.no_wrap)
                .json(json),
        );
    }
    if format == Format::Human {
        t.term_width(crate::table::stdout_term_width());
    }
    t
}

/// Asks the locale only when the output depends on it (tree characters,
/// text beyond ASCII): `setlocale` is a measurable part of a short run.
fn finish(mut t: Table) -> Table {
    if t.needs_locale() {
        t.utf8(husk_sys::locale::codeset_is_utf8());
    }
    t
}

/// The text of one cell, or `None` for an empty one.
fn cell(
    o: &Opts,
    snap: &Snapshot,
    users: &mut Users,
    ns: &NsEntry,
    proc: Option<usize>,
    col: Col,
) -> Option<Vec<u8>> {
    let p = proc.map(|i| &snap.processes()[i]);
    let text = |s: String| Some(s.into_bytes());
    match col {
        Col::Ns => text(ns.ino.to_string()),
        Col::Pid => text(p?.pid.to_string()),
        Col::Ppid => text(p?.ppid.to_string()),
        Col::Type => text(ns.kind.proc_name().to_owned()),
        Col::Nprocs => text(ns.nprocs().to_string()),
        Col::Command => scan::command_line(std::path::Path::new("/proc"), p?.pid),
        Col::Path => text(format!("/proc/{}/ns/{}", p?.pid, ns.kind.proc_name())),
        Col::Uid => text((uid_of(ns, p) as i32).to_string()),
        Col::User => Some(users.name(uid_of(ns, p))),
        Col::Netnsid => {
            p?;
            match (ns.kind, ns.netnsid?) {
                (NsKind::Net, NetNsId::Id(id)) => text(id.to_string()),
                (NsKind::Net, NetNsId::Unassigned) => text("unassigned".to_owned()),
                _ => None,
            }
        }
        Col::Nsfs => Some(nsfs_text(ns, if o.no_wrap { b',' } else { b'\n' })),
        Col::Pns => text(ns.parent.unwrap_or(0).to_string()),
        Col::Ons => text(ns.owner.unwrap_or(0).to_string()),
    }
}

fn uid_of(ns: &NsEntry, p: Option<&scan::Process>) -> u32 {
    p.map_or(ns.creator_uid.unwrap_or(0), |p| p.uid)
}

/// Mount points joined by `sep`, skipping one already in the list the
/// way util-linux's `is_path_included` does (first occurrence only).
fn nsfs_text(ns: &NsEntry, sep: u8) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    let mut out: Vec<u8> = Vec::new();
    for (i, target) in ns.nsfs.iter().enumerate() {
        let t = target.as_os_str().as_bytes();
        if i == 0 {
            out.extend_from_slice(t);
        } else if !included(&out, t, sep) {
            out.push(sep);
            out.extend_from_slice(t);
        }
    }
    out
}

fn included(set: &[u8], elt: &[u8], sep: u8) -> bool {
    let Some(at) = set.windows(elt.len().max(1)).position(|w| w == elt) else {
        return false;
    };
    let after = set.get(at + elt.len()).copied();
    if at == 0 && (after.is_none() || after == Some(sep)) {
        return true;
    }
    at > 0 && set[at - 1] == sep && (after.is_none() || after == Some(sep))
}

/// uid → user name: `/etc/passwd` first, then NSS; the number if unknown.
#[derive(Debug, Default)]
struct Users {
    passwd: Option<HashMap<u32, Vec<u8>>>,
    cache: HashMap<u32, Vec<u8>>,
}

impl Users {
    fn name(&mut self, uid: u32) -> Vec<u8> {
        if let Some(n) = self.cache.get(&uid) {
            return n.clone();
        }
        let passwd = self.passwd.get_or_insert_with(read_passwd);
        let name = passwd
            .get(&uid)
            .cloned()
            .or_else(|| husk_sys::passwd::user_name(uid).ok().flatten())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| uid.to_string().into_bytes());
        self.cache.insert(uid, name.clone());
        name
    }
}

fn read_passwd() -> HashMap<u32, Vec<u8>> {
    let text = std::fs::read("/etc/passwd").unwrap_or_default();
    let mut map = HashMap::new();
    for line in text.split(|&b| b == b'\n') {
        let mut f = line.split(|&b| b == b':');
        let (Some(name), Some(_), Some(uid)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        let uid = std::str::from_utf8(uid).ok().and_then(|u| u.parse().ok());
        if let Some(uid) = uid {
            map.entry(uid).or_insert_with(|| name.to_vec());
        }
    }
    map
}
