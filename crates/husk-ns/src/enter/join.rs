//! The resolved [`Plan`] and entering it: namespaces, then root and cwd.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::PathBuf;

use husk_sys::nsfs;
use husk_sys::process::SingleThreaded;

use super::{dirs, EnterError};
use crate::{Namespace, NsKind};

/// One namespace to join, already open.
#[derive(Debug)]
pub(super) struct Join {
    pub(super) ns: Namespace,
    /// Taken from the target process, so the pidfd can join it too.
    pub(super) from_target: bool,
}

/// Everything a [`Request`](super::Request) named, open and checked;
/// nothing has changed yet. Made by [`Request::resolve`](super::Request::resolve).
#[derive(Debug)]
pub struct Plan {
    target: Option<u32>,
    pidfd: Option<OwnedFd>,
    /// In [`ENTER_ORDER`](super::ENTER_ORDER).
    joins: Vec<Join>,
    root: Option<OwnedFd>,
    /// `Ok`: a directory opened before entering; `Err`: a path for after.
    wd: Option<Result<OwnedFd, PathBuf>>,
}

/// What [`Plan::enter`] did: how it joined each namespace. Also the way
/// to fork afterwards ([`Entered::fork_and_wait`]).
#[derive(Debug, Clone, Default)]
pub struct Entered {
    /// Joined with `setns(pidfd, ...)`, several at once.
    pub via_pidfd: Vec<NsKind>,
    /// Joined one at a time with `setns(nsfd, ...)`.
    pub via_fd: Vec<NsKind>,
    /// Checked before entering, while `/proc/self` still showed us.
    pub(super) single_threaded: Option<SingleThreaded>,
}

impl Plan {
    pub(super) fn new(
        target: Option<u32>,
        pidfd: Option<OwnedFd>,
        joins: Vec<Join>,
        root: Option<OwnedFd>,
        wd: Option<Result<OwnedFd, PathBuf>>,
    ) -> Plan {
        Plan {
            target,
            pidfd,
            joins,
            root,
            wd,
        }
    }

    /// The target process, if any.
    pub fn target(&self) -> Option<u32> {
        self.target
    }

    /// The kinds to join, in the order they are entered.
    pub fn kinds(&self) -> impl Iterator<Item = NsKind> + '_ {
        self.joins.iter().map(|j| j.ns.kind())
    }

    /// The namespaces to join, open, in the order they are entered.
    pub fn namespaces(&self) -> impl Iterator<Item = &Namespace> + '_ {
        self.joins.iter().map(|j| &j.ns)
    }

    /// Whether the plan joins a `kind` namespace.
    pub fn enters(&self, kind: NsKind) -> bool {
        self.kinds().any(|k| k == kind)
    }

    /// Whether a pidfd of the target is held for the atomic join.
    pub fn has_pidfd(&self) -> bool {
        self.pidfd.is_some()
    }

    /// Forgets the pidfd, so that every namespace is joined with its own
    /// file (what kernels before 5.8 and util-linux 2.38 do).
    pub fn without_pidfd(mut self) -> Plan {
        self.pidfd = None;
        self
    }

    /// Joins the namespaces, then changes root and working directory.
    ///
    /// The calling process must be single-threaded (a user or mount
    /// namespace cannot be joined otherwise). On error the process may
    /// have joined some namespaces already: callers exit.
    ///
    /// Namespaces are joined in two passes (see the [module docs](super)).
    /// In each, the kinds taken from the target are first tried together
    /// with one `setns(pidfd, FLAGS)`; what is left (files given by path,
    /// or everything on kernels without pidfd support, or when the atomic
    /// call failed) is joined one `setns(fd)` at a time, so that an error
    /// names the namespace that failed.
    pub fn enter(self) -> Result<Entered, EnterError> {
        let mut entered = Entered {
            single_threaded: SingleThreaded::check().ok(),
            ..Entered::default()
        };
        let mut done = vec![false; self.joins.len()];
        let pidfd = self.pidfd.as_ref().map(|fd| fd.as_fd());
        for last in [false, true] {
            join_pass(pidfd, &self.joins, &mut done, last, &mut entered)?;
        }
        dirs::change(self.root, self.wd)?;
        Ok(entered)
    }
}

/// One pass: without the user namespace and errors ignored (`last` false),
/// or everything left with errors reported (`last` true).
fn join_pass(
    pidfd: Option<BorrowedFd<'_>>,
    joins: &[Join],
    done: &mut [bool],
    last: bool,
    entered: &mut Entered,
) -> Result<(), EnterError> {
    let in_pass = |j: &Join| last || j.ns.kind() != NsKind::User;
    if let Some(pidfd) = pidfd {
        let batch: Vec<usize> = (0..joins.len())
            .filter(|&i| !done[i] && joins[i].from_target && in_pass(&joins[i]))
            .collect();
        let flags = batch
            .iter()
            .fold(0, |f, &i| f | joins[i].ns.kind().clone_flag());
        if flags != 0 && nsfs::setns(pidfd, flags).is_ok() {
            for i in batch {
                done[i] = true;
                entered.via_pidfd.push(joins[i].ns.kind());
            }
        }
    }
    for (join, done) in joins.iter().zip(done.iter_mut()) {
        if *done || !in_pass(join) {
            continue;
        }
        let kind = join.ns.kind();
        match nsfs::setns(&join.ns, kind.clone_flag()) {
            Ok(()) => {
                *done = true;
                entered.via_fd.push(kind);
            }
            Err(source) if last => return Err(EnterError::Setns { kind, source }),
            Err(_) => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{Request, Source};
    use super::*;

    /// Our own UTS, IPC and network namespaces: joining them changes
    /// nothing (and `setns` is per thread anyway), so the test can run in
    /// the test harness's thread without forking.
    fn request() -> Request {
        Request::new()
            .target(std::process::id())
            .join(NsKind::Uts, Source::Target)
            .join(NsKind::Ipc, Source::Path("/proc/self/ns/ipc".into()))
            .join(NsKind::Net, Source::Target)
    }

    #[test]
    fn target_namespaces_go_through_the_pidfd_at_once_files_one_by_one() {
        husk_testkit::require_root!("setns into our own namespaces still needs CAP_SYS_ADMIN");
        let plan = request().resolve().unwrap();
        assert!(plan.has_pidfd());
        assert_eq!(
            plan.kinds().collect::<Vec<_>>(),
            [NsKind::Ipc, NsKind::Uts, NsKind::Net]
        );
        let entered = plan.enter().unwrap();
        assert_eq!(entered.via_pidfd, [NsKind::Uts, NsKind::Net]);
        assert_eq!(entered.via_fd, [NsKind::Ipc]);

        let entered = request()
            .resolve()
            .unwrap()
            .without_pidfd()
            .enter()
            .unwrap();
        assert!(entered.via_pidfd.is_empty());
        assert_eq!(entered.via_fd, [NsKind::Ipc, NsKind::Uts, NsKind::Net]);
    }
}
