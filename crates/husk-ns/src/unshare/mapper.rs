//! The id-map helper: writes a uid/gid map with many ranges for its parent
//! once the parent has unshared its user namespace.
//!
//! A process cannot write a multi-range map for its own new user namespace
//! (that needs `CAP_SETUID` in the *parent* user namespace), so a helper
//! forked beforehand does it: directly when it runs as root, through the
//! setuid `newuidmap`/`newgidmap` otherwise (they check `/etc/subuid`).

use std::io;
use std::os::fd::OwnedFd;
use std::path::PathBuf;

use rustix::pipe::{pipe_with, PipeFlags};

use super::helper::{msg, value, Helper, HelperEnd, Msg, Wire};
use crate::idmap::write::{run_helper, write_map};
use crate::idmap::{IdKind, IdMap, IdMapError};

/// The one order to the id-map helper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ToHelper {
    /// The parent has unshared its user namespace: write the maps.
    Go,
}

/// Reports from the id-map helper; `gid` says which map failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ToParent {
    /// Both maps are written.
    Done,
    /// Writing `/proc/PARENT/{uid,gid}_map` failed with `errno`.
    WriteFailed { gid: bool, errno: i32 },
    /// `newuidmap`/`newgidmap` could not be run (`errno`).
    ExecFailed { gid: bool, errno: i32 },
    /// `newuidmap`/`newgidmap` exited with `status`; what it printed
    /// follows on the helper's text pipe (a record has no room for it).
    ToolFailed { gid: bool, status: i32 },
}

impl Wire for ToHelper {
    fn encode(&self) -> Msg {
        msg(1, 0, 0)
    }
    fn decode(m: &Msg) -> Option<ToHelper> {
        (m[0] == 1).then_some(ToHelper::Go)
    }
}

impl Wire for ToParent {
    fn encode(&self) -> Msg {
        match *self {
            ToParent::Done => msg(1, 0, 0),
            ToParent::WriteFailed { gid, errno } => msg(2, u8::from(gid), errno),
            ToParent::ExecFailed { gid, errno } => msg(3, u8::from(gid), errno),
            ToParent::ToolFailed { gid, status } => msg(4, u8::from(gid), status),
        }
    }
    fn decode(m: &Msg) -> Option<ToParent> {
        let (gid, v) = (m[1] != 0, value(m));
        match m[0] {
            1 => Some(ToParent::Done),
            2 => Some(ToParent::WriteFailed { gid, errno: v }),
            3 => Some(ToParent::ExecFailed { gid, errno: v }),
            4 => Some(ToParent::ToolFailed { gid, status: v }),
            _ => None,
        }
    }
}

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
    /// Read end of the pipe on which the helper sends the tool's reason.
    why: OwnedFd,
}

/// At most this much of the tool's reason is sent: less than a pipe buffer,
/// so the helper's write cannot block.
const WHY_MAX: usize = 4000;

impl MapHelper {
    /// Forks the helper. Call before unsharing.
    pub(crate) fn spawn(job: MapJob) -> io::Result<MapHelper> {
        let parent = std::process::id();
        // Non-blocking: the parent reads it only after the helper reported,
        // and must not hang if the helper died without closing it.
        let (why, why_w) = pipe_with(PipeFlags::CLOEXEC | PipeFlags::NONBLOCK)?;
        // The closure owns the write end; in the parent it is dropped (the
        // end closed) when spawn returns.
        let helper = Helper::spawn(move |end| helper_main(&end, parent, &job, &why_w))?;
        Ok(MapHelper {
            helper,
            parent,
            why,
        })
    }

    /// Tells the helper the user namespace exists; waits until the maps
    /// are written (or why not).
    pub(crate) fn go(self) -> Result<(), IdMapError> {
        let broken = |kind| IdMapError::HelperExec {
            tool: "id map helper",
            source: io::Error::from(kind),
        };
        let reply = self
            .helper
            .ask(ToHelper::Go.encode())
            .map_err(|source| IdMapError::HelperExec {
                tool: "id map helper",
                source,
            })?
            .ok_or_else(|| broken(io::ErrorKind::UnexpectedEof))?;
        let report = ToParent::decode(&reply).ok_or_else(|| broken(io::ErrorKind::InvalidData))?;
        let _ = self.helper.reap();
        let kind = |gid: bool| if gid { IdKind::Gid } else { IdKind::Uid };
        match report {
            ToParent::Done => Ok(()),
            ToParent::WriteFailed { gid, errno } => Err(IdMapError::Write {
                path: PathBuf::from(format!("/proc/{}/{}", self.parent, kind(gid).map_file())),
                source: io::Error::from_raw_os_error(errno),
            }),
            ToParent::ExecFailed { gid, errno } => Err(IdMapError::HelperExec {
                tool: kind(gid).helper(),
                source: io::Error::from_raw_os_error(errno),
            }),
            ToParent::ToolFailed { gid, status } => Err(IdMapError::HelperFailed {
                tool: kind(gid).helper(),
                status,
                why: read_why(&self.why),
            }),
        }
    }
}

/// The id-map helper.
///
/// Runs in: a child of the unsharing process, forked before `unshare(2)`:
/// original namespaces and privileges. Waits for `GO`, writes the uid map
/// then the gid map of its parent, reports once (a failed tool's reason
/// first goes down `why`), exits.
fn helper_main(end: &HelperEnd, parent: u32, job: &MapJob, why: &OwnedFd) -> i32 {
    if end.order().as_ref().and_then(ToHelper::decode) != Some(ToHelper::Go) {
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
            if let IdMapError::HelperFailed { why: text, .. } = &e {
                let text = &text.as_bytes()[..text.len().min(WHY_MAX)];
                let _ = rustix::io::write(why, text);
            }
            end.report(report_of(kind, &e).encode());
            return 1;
        }
    }
    end.report(ToParent::Done.encode());
    0
}

/// What the helper sent down the text pipe (it has reported, so it is all
/// there); empty if nothing.
fn read_why(fd: &OwnedFd) -> String {
    let mut buf = vec![0u8; WHY_MAX];
    let mut got = 0;
    while got < buf.len() {
        match rustix::io::read(fd, &mut buf[got..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
    String::from_utf8_lossy(&buf[..got]).into_owned()
}

fn report_of(kind: IdKind, e: &IdMapError) -> ToParent {
    let gid = kind == IdKind::Gid;
    let errno = |s: &io::Error| s.raw_os_error().unwrap_or(libc::EIO);
    match e {
        IdMapError::Write { source, .. } => ToParent::WriteFailed {
            gid,
            errno: errno(source),
        },
        IdMapError::HelperFailed { status, .. } => ToParent::ToolFailed {
            gid,
            status: *status,
        },
        IdMapError::HelperExec { source, .. } => ToParent::ExecFailed {
            gid,
            errno: errno(source),
        },
        _ => ToParent::ExecFailed {
            gid,
            errno: libc::EINVAL,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip() {
        assert_eq!(ToHelper::decode(&ToHelper::Go.encode()), Some(ToHelper::Go));
        for m in [
            ToParent::Done,
            ToParent::WriteFailed {
                gid: true,
                errno: libc::EPERM,
            },
            ToParent::ExecFailed {
                gid: false,
                errno: libc::ENOENT,
            },
            ToParent::ToolFailed {
                gid: true,
                status: 1,
            },
        ] {
            assert_eq!(ToParent::decode(&m.encode()), Some(m));
        }
    }
}
