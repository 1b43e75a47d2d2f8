//! A forked helper process that waits for orders over a pipe.
//!
//! `unshare` needs work done from *outside* the namespaces it creates:
//! writing id maps needs privilege over the parent user namespace, and a
//! bind mount that should outlive the command must be made in the original
//! mount namespace. So, as util-linux does, the unsharing process forks a
//! helper first, unshares, then tells the helper to act on its behalf.
//!
//! Messages are fixed 8-byte records ([`Msg`]); each helper has one enum per
//! direction (orders in, reports out) implementing [`Wire`].

use std::io;
use std::os::fd::OwnedFd;

use husk_sys::process::{fork, Forked};
use rustix::pipe::{pipe_with, PipeFlags};
use rustix::process::{waitpid, Pid, WaitOptions, WaitStatus};

/// One message: a tag, three small fields, and a 32-bit value.
pub(crate) type Msg = [u8; 8];

/// A message type that travels as one [`Msg`].
pub(crate) trait Wire: Sized {
    /// The record for this message.
    fn encode(&self) -> Msg;
    /// The message a record holds; `None` for garbage.
    fn decode(m: &Msg) -> Option<Self>;
}

/// Packs a message.
pub(crate) fn msg(tag: u8, a: u8, value: i32) -> Msg {
    let v = value.to_le_bytes();
    [tag, a, 0, 0, v[0], v[1], v[2], v[3]]
}

/// The value field of a message.
pub(crate) fn value(m: &Msg) -> i32 {
    i32::from_le_bytes([m[4], m[5], m[6], m[7]])
}

fn send(fd: &OwnedFd, m: Msg) -> io::Result<()> {
    // A pipe write of 8 bytes is atomic (≤ PIPE_BUF), so one call suffices.
    loop {
        match rustix::io::write(fd, &m) {
            Ok(8) => return Ok(()),
            Ok(_) => return Err(io::Error::from(io::ErrorKind::WriteZero)),
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Reads one message; `None` when the other side closed its end.
fn recv(fd: &OwnedFd) -> io::Result<Option<Msg>> {
    let mut buf = [0u8; 8];
    let mut got = 0;
    while got < buf.len() {
        match rustix::io::read(fd, &mut buf[got..]) {
            Ok(0) => return Ok(None),
            Ok(n) => got += n,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(Some(buf))
}

/// The helper's side: orders come in, reports go out.
#[derive(Debug)]
pub(crate) struct HelperEnd {
    orders: OwnedFd,
    reports: OwnedFd,
}

impl HelperEnd {
    /// The next order; `None` when the parent closed its end (it exited,
    /// exec'd, or dropped its [`Helper`]).
    pub(crate) fn order(&self) -> Option<Msg> {
        recv(&self.orders).ok().flatten()
    }

    /// Sends a report; a parent that went away is not the helper's problem.
    pub(crate) fn report(&self, m: Msg) {
        let _ = send(&self.reports, m);
    }
}

/// The parent's handle on a helper: sends orders, reads reports, and on
/// Drop closes its ends (the helper sees end-of-file) and reaps it.
#[derive(Debug)]
pub(crate) struct Helper {
    pid: Pid,
    orders: Option<OwnedFd>,
    reports: OwnedFd,
}

impl Helper {
    /// Forks a helper that runs `body` and exits with its return value.
    ///
    /// Runs in: the calling process, before it unshares anything, so the
    /// helper stays in the original namespaces with the original privileges.
    pub(crate) fn spawn(body: impl FnOnce(HelperEnd) -> i32) -> io::Result<Helper> {
        let (order_r, order_w) = pipe_with(PipeFlags::CLOEXEC)?;
        let (report_r, report_w) = pipe_with(PipeFlags::CLOEXEC)?;
        match fork()? {
            Forked::Child => {
                drop((order_w, report_r));
                let code = body(HelperEnd {
                    orders: order_r,
                    reports: report_w,
                });
                husk_sys::exec::exit_now(code)
            }
            Forked::Parent(pid) => Ok(Helper {
                pid,
                orders: Some(order_w),
                reports: report_r,
            }),
        }
    }

    /// Sends an order and waits for the report; `None` if the helper died.
    pub(crate) fn ask(&self, order: Msg) -> io::Result<Option<Msg>> {
        if let Some(fd) = &self.orders {
            send(fd, order)?;
        }
        recv(&self.reports)
    }

    /// Sends an order that needs no answer.
    pub(crate) fn tell(&self, order: Msg) -> io::Result<()> {
        match &self.orders {
            Some(fd) => send(fd, order),
            None => Ok(()),
        }
    }

    /// Closes the order pipe and waits for the helper to exit.
    pub(crate) fn reap(mut self) -> io::Result<WaitStatus> {
        self.orders = None;
        loop {
            match waitpid(Some(self.pid), WaitOptions::empty()) {
                Ok(Some((_, status))) => return Ok(status),
                Ok(None) => continue,
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        if self.orders.take().is_some() {
            // In a forked sibling the helper is not our child: ECHILD, fine.
            let _ = waitpid(Some(self.pid), WaitOptions::empty());
        }
    }
}
