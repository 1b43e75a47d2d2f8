//! The id-map helper: writes a uid/gid map with many ranges for its parent
//! once the parent has unshared its user namespace.
//!
//! A process cannot write a multi-range map for its own new user namespace
//! (that needs `CAP_SETUID` in the *parent* user namespace), so a helper
//! forked beforehand does it: directly when it runs as root, through the
//! setuid `newuidmap`/`newgidmap` otherwise (they check `/etc/subuid`).

use std::io;
use std::path::PathBuf;

use super::helper::{msg, value, Helper, HelperEnd, Msg};
use crate::idmap::write::{run_helper, write_map};
use crate::idmap::{IdKind, IdMap, IdMapError};

const GO: u8 = 1;
const DONE: u8 = 10;
const WRITE_FAILED: u8 = 11;
const EXEC_FAILED: u8 = 12;
const TOOL_FAILED: u8 = 13;

/// Maps for the helper to write, and how.
#[derive(Debug, Clone)]
pub(crate) struct MapJob {
    pub uid: Option<IdMap>,
    pub gid: Option<IdMap>,
    /// Write `/proc/PID/*_map` directly (the caller is root) instead of
    /// running `newuidmap`/`newgidmap`.
    pub direct: bool,
}

/// The parent's handle on the id-map helper.
#[derive(Debug)]
pub(crate) struct MapHelper {
    helper: Helper,
    parent: u32,
    job: MapJob,
}

impl MapHelper {
    /// Forks the helper. Call before unsharing.
    pub(crate) fn spawn(job: MapJob) -> io::Result<MapHelper> {
        let parent = std::process::id();
        let for_child = job.clone();
        let helper = Helper::spawn(move |end| helper_main(&end, parent, &for_child))?;
        Ok(MapHelper {
            helper,
            parent,
            job,
        })
    }

    /// Tells the helper the user namespace exists; waits until the maps
    /// are written (or why not).
    pub(crate) fn go(self) -> Result<(), IdMapError> {
        let eof = || IdMapError::HelperExec {
            tool: "id map helper",
            source: io::Error::from(io::ErrorKind::UnexpectedEof),
        };
        let reply = self
            .helper
            .ask(msg(GO, 0, 0))
            .map_err(|source| IdMapError::HelperExec {
                tool: "id map helper",
                source,
            })?
            .ok_or_else(eof)?;
        let _ = self.helper.reap();
        let kind = if reply[1] == 0 {
            IdKind::Uid
        } else {
            IdKind::Gid
        };
        let v = value(&reply);
        match reply[0] {
            DONE => Ok(()),
            WRITE_FAILED => Err(IdMapError::Write {
                path: PathBuf::from(format!("/proc/{}/{}", self.parent, kind.map_file())),
                source: io::Error::from_raw_os_error(v),
            }),
            EXEC_FAILED => Err(IdMapError::HelperExec {
                tool: kind.helper(),
                source: io::Error::from_raw_os_error(v),
            }),
            TOOL_FAILED => Err(IdMapError::HelperFailed {
                tool: kind.helper(),
                status: v,
            }),
            _ => Err(eof()),
        }
        .map(|()| drop(self.job))
    }
}

/// The id-map helper.
///
/// Runs in: a child of the unsharing process, forked before `unshare(2)`:
/// original namespaces and privileges. Waits for `GO`, writes the uid map
/// then the gid map of its parent, reports once, exits.
fn helper_main(end: &HelperEnd, parent: u32, job: &MapJob) -> i32 {
    if end.order().map(|m| m[0]) != Some(GO) {
        return 1;
    }
    let proc_dir = PathBuf::from(format!("/proc/{parent}"));
    let maps = [(IdKind::Uid, &job.uid), (IdKind::Gid, &job.gid)];
    for (kind, map) in maps {
        let Some(map) = map else { continue };
        let result = if job.direct {
            write_map(&proc_dir, kind, map)
        } else {
            run_helper(kind, parent, map)
        };
        if let Err(e) = result {
            end.report(report_of(kind, &e));
            return 1;
        }
    }
    end.report(msg(DONE, 0, 0));
    0
}

fn report_of(kind: IdKind, e: &IdMapError) -> Msg {
    let which = u8::from(kind == IdKind::Gid);
    let errno = |s: &io::Error| s.raw_os_error().unwrap_or(libc::EIO);
    match e {
        IdMapError::Write { source, .. } => msg(WRITE_FAILED, which, errno(source)),
        IdMapError::HelperExec { source, .. } => msg(EXEC_FAILED, which, errno(source)),
        IdMapError::HelperFailed { status, .. } => msg(TOOL_FAILED, which, *status),
        _ => msg(0, which, 0),
    }
}
