//! The messages between the runtime and the container's processes: one
//! enum per direction over a socketpair, each message a length-prefixed
//! JSON frame. Errors travel as [`StageError`] values, never as text.

use std::cell::RefCell;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;

use serde::{de::DeserializeOwned, Deserialize, Serialize};

/// Runtime → container process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ToChild {
    /// The child is in its cgroup: go on.
    Go,
    /// The uid/gid maps of the new user namespace are written.
    MapsWritten,
    /// `prestart` and `createRuntime` hooks ran; the state JSON for init's
    /// own hooks (`createContainer`, `startContainer`).
    HooksDone(String),
}

/// Container process → runtime.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ToParent {
    /// The user namespace exists: write its maps (to the sender's pid).
    NeedMaps,
    /// The second fork made init; its host pid.
    InitPid(i32),
    /// init made its mounts and waits before `pivot_root`: run the
    /// `prestart` and `createRuntime` hooks.
    RunHooks,
    /// The seccomp filter is loaded and has a notify listener: its fd
    /// comes with this frame ([`Channel::send_with_fd`],
    /// [`Channel::take_fd`]), for the runtime to pass to `listenerPath`.
    SeccompFd,
    /// init is set up and waits on the exec FIFO.
    Ready,
    /// A step failed; the process exits after sending this.
    Failed(StageError),
}

/// The steps of the container stages, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Step {
    /// Making the runtime non-dumpable.
    Dumpable,
    /// Opening a namespace file to join.
    OpenNamespace,
    /// `setns(2)`.
    JoinNamespace,
    /// `unshare(2)` of the new namespaces.
    Unshare,
    /// Becoming root of the new user namespace.
    BecomeRoot,
    /// Writing `timens_offsets`.
    TimeOffsets,
    /// The second fork.
    Fork,
    /// `setsid(2)`.
    Setsid,
    /// Setting mount propagation of `/`.
    Propagation,
    /// A mount (rootfs bind, `mounts`, masked or read-only paths).
    Mount,
    /// Creating a mount point.
    MountPoint,
    /// Creating a device node or symlink in `/dev`.
    Device,
    /// `pivot_root(2)` (or move + chroot).
    PivotRoot,
    /// `sethostname`/`setdomainname`.
    Hostname,
    /// Writing a sysctl.
    Sysctl,
    /// `setrlimit(2)`.
    Rlimit,
    /// Writing `oom_score_adj`.
    OomScoreAdj,
    /// `setgroups`/`setresgid`/`setresuid`.
    User,
    /// Capability sets.
    Capabilities,
    /// `PR_SET_NO_NEW_PRIVS`.
    NoNewPrivileges,
    /// Changing to `process.cwd`.
    Cwd,
    /// Finding `process.args[0]`.
    Executable,
    /// Opening the exec FIFO.
    Fifo,
    /// Building or loading the seccomp filter.
    Seccomp,
    /// `execve(2)`.
    Exec,
    /// Talking to the runtime.
    Channel,
    /// A `createContainer` or `startContainer` hook.
    Hook,
    /// The pseudo-terminal of `process.terminal`.
    Console,
}

impl Step {
    /// What the step does, for messages: `cannot mount`.
    pub const fn what(self) -> &'static str {
        match self {
            Step::Dumpable => "cannot make the runtime non-dumpable",
            Step::OpenNamespace => "cannot open namespace",
            Step::JoinNamespace => "cannot join namespace",
            Step::Unshare => "cannot unshare namespaces",
            Step::BecomeRoot => "cannot become root in the user namespace:",
            Step::TimeOffsets => "cannot write time offsets to",
            Step::Fork => "cannot fork",
            Step::Setsid => "cannot setsid",
            Step::Propagation => "cannot set mount propagation of",
            Step::Mount => "cannot mount",
            Step::MountPoint => "cannot make mount point",
            Step::Device => "cannot make device",
            Step::PivotRoot => "cannot pivot_root to",
            Step::Hostname => "cannot set host/domain name",
            Step::Sysctl => "cannot set sysctl",
            Step::Rlimit => "cannot set rlimit",
            Step::OomScoreAdj => "cannot write",
            Step::User => "cannot set",
            Step::Capabilities => "cannot set capabilities",
            Step::NoNewPrivileges => "cannot set no_new_privs",
            Step::Cwd => "cannot change to cwd",
            Step::Executable => "executable file not found in $PATH:",
            Step::Fifo => "cannot open",
            Step::Seccomp => "cannot set up seccomp:",
            Step::Exec => "cannot exec",
            Step::Channel => "lost the runtime while waiting for",
            Step::Hook => "hook failed:",
            Step::Console => "cannot set up the terminal:",
        }
    }
}

/// A failed step in a container process: which step, on what, and errno.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{} {target}{}", step.what(), strerror(*.errno))]
pub struct StageError {
    /// The step.
    pub step: Step,
    /// What it acted on (a path, a name); may be empty.
    pub target: String,
    /// The `errno` it failed with (0: none, the target says why).
    pub errno: i32,
}

impl StageError {
    /// A failed step from an io error.
    pub fn new(
        step: Step,
        target: impl std::fmt::Display,
        err: impl Into<std::io::Error>,
    ) -> StageError {
        let err: std::io::Error = err.into();
        StageError {
            step,
            target: target.to_string(),
            errno: err.raw_os_error().unwrap_or(libc::EIO),
        }
    }
}

/// `: reason` for the message; empty for errno 0.
fn strerror(errno: i32) -> String {
    if errno == 0 {
        return String::new();
    }
    let text = std::io::Error::from_raw_os_error(errno).to_string();
    match text.rfind(" (os error ") {
        Some(at) => format!(": {}", &text[..at]),
        None => format!(": {text}"),
    }
}

/// The channel broke or carried garbage.
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    /// The other side closed it (it exited).
    #[error("the other side exited")]
    Closed,
    /// Reading or writing failed.
    #[error("socket I/O")]
    Io(#[from] std::io::Error),
    /// A frame did not decode.
    #[error("bad message: {0}")]
    Decode(String),
}

/// One end of the socketpair. An fd that arrives with a frame
/// ([`Channel::send_with_fd`]) is kept for [`Channel::take_fd`].
#[derive(Debug)]
pub struct Channel {
    sock: UnixStream,
    fd: RefCell<Option<OwnedFd>>,
}

impl Channel {
    /// A connected pair (both ends close-on-exec).
    pub fn pair() -> std::io::Result<(Channel, Channel)> {
        let (a, b) = UnixStream::pair()?;
        let wrap = |sock| Channel {
            sock,
            fd: RefCell::new(None),
        };
        Ok((wrap(a), wrap(b)))
    }

    fn frame<T: Serialize>(msg: &T) -> Result<Vec<u8>, ChannelError> {
        let body = serde_json::to_vec(msg).map_err(|e| ChannelError::Decode(e.to_string()))?;
        let len = u32::try_from(body.len()).map_err(|_| ChannelError::Decode("too long".into()))?;
        let mut frame = len.to_le_bytes().to_vec();
        frame.extend_from_slice(&body);
        Ok(frame)
    }

    /// Sends one message.
    pub fn send<T: Serialize>(&self, msg: &T) -> Result<(), ChannelError> {
        let frame = Channel::frame(msg)?;
        // MSG_NOSIGNAL: a gone peer is EPIPE, never SIGPIPE (init resets
        // SIGPIPE to its default action before its last steps).
        let mut rest = &frame[..];
        while !rest.is_empty() {
            match rustix::net::send(&self.sock, rest, rustix::net::SendFlags::NOSIGNAL) {
                Ok(n) => rest = &rest[n..],
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(ChannelError::Io(e.into())),
            }
        }
        Ok(())
    }

    /// Sends one message with `fd` attached, in one `sendmsg`: another
    /// process writing to the same socket cannot come between them.
    pub fn send_with_fd<T: Serialize>(
        &self,
        msg: &T,
        fd: BorrowedFd<'_>,
    ) -> Result<(), ChannelError> {
        let frame = Channel::frame(msg)?;
        let sent = husk_sys::scm::send_fd(self.sock.as_fd(), fd, &frame);
        match sent {
            Ok(()) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// The fd that came with the last frames received, if any.
    pub fn take_fd(&self) -> Option<OwnedFd> {
        self.fd.borrow_mut().take()
    }

    /// Receives one message; [`ChannelError::Closed`] at end of file.
    pub fn recv<T: DeserializeOwned>(&self) -> Result<T, ChannelError> {
        let mut len = [0u8; 4];
        self.read_exact(&mut len)?;
        let mut body = vec![0u8; u32::from_le_bytes(len) as usize];
        self.read_exact(&mut body)?;
        serde_json::from_slice(&body).map_err(|e| ChannelError::Decode(e.to_string()))
    }

    /// Fills `buf`, keeping an fd that comes along.
    fn read_exact(&self, mut buf: &mut [u8]) -> Result<(), ChannelError> {
        while !buf.is_empty() {
            match husk_sys::scm::recv_with_fd(self.sock.as_fd(), buf) {
                Ok((0, _)) => return Err(ChannelError::Closed),
                Ok((n, fd)) => {
                    if fd.is_some() {
                        *self.fd.borrow_mut() = fd;
                    }
                    buf = &mut buf[n..];
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_cross_in_order() {
        let (a, b) = Channel::pair().unwrap();
        a.send(&ToParent::NeedMaps).unwrap();
        let err = StageError::new(
            Step::Mount,
            "/proc",
            std::io::Error::from_raw_os_error(libc::ENODEV),
        );
        a.send(&ToParent::Failed(err.clone())).unwrap();
        b.send(&ToChild::Go).unwrap();
        assert_eq!(b.recv::<ToParent>().unwrap(), ToParent::NeedMaps);
        assert_eq!(b.recv::<ToParent>().unwrap(), ToParent::Failed(err.clone()));
        assert_eq!(a.recv::<ToChild>().unwrap(), ToChild::Go);
        assert_eq!(err.to_string(), "cannot mount /proc: No such device");
        // A frame with an fd between two without: the fd is kept for
        // the frame it came with.
        let file = std::fs::File::open("/dev/null").unwrap();
        a.send(&ToParent::NeedMaps).unwrap();
        a.send_with_fd(&ToParent::SeccompFd, file.as_fd()).unwrap();
        a.send(&ToParent::Ready).unwrap();
        assert_eq!(b.recv::<ToParent>().unwrap(), ToParent::NeedMaps);
        assert!(b.take_fd().is_none());
        assert_eq!(b.recv::<ToParent>().unwrap(), ToParent::SeccompFd);
        let fd = b.take_fd().expect("the fd");
        assert_eq!(b.recv::<ToParent>().unwrap(), ToParent::Ready);
        assert!(b.take_fd().is_none());
        let dev = |f: BorrowedFd<'_>| rustix::fs::fstat(f).map(|s| s.st_rdev).unwrap();
        assert_eq!(dev(fd.as_fd()), dev(file.as_fd()));
        drop(a);
        assert!(matches!(b.recv::<ToParent>(), Err(ChannelError::Closed)));
    }
}
