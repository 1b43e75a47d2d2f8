//! `process.terminal` on the caller's own terminal (attached `run` and
//! `exec` with no `--console-socket`), as runc does: the runtime keeps one
//! end of a socketpair and passes the other as the console socket, takes
//! the pty master init sends over it, puts the caller's terminal in raw
//! mode, and copies stdin → master and master → stdout until the process
//! ends, resizing the pty on `SIGWINCH` and passing other signals on.

use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::io::Errno;
use rustix::termios::{self, OptionalActions, Termios};

use super::{ContainerError, Ended};

/// The console of a new process: the socket init sends the master over,
/// and, on the caller's terminal, the runtime's end of it.
pub(super) type Console = (Option<OwnedFd>, Option<UnixStream>);

/// The console for `process` (runc's rules): `--console-socket` connected;
/// a socketpair when `attached` with a terminal and no socket; an error
/// for a terminal when the runtime will not stay (nothing to copy with).
pub(super) fn console(
    socket: Option<&Path>,
    process: Option<&oci_spec::runtime::Process>,
    attached: bool,
) -> Result<Console, ContainerError> {
    let terminal = process.and_then(|p| p.terminal()).unwrap_or(false);
    match (socket, terminal) {
        (None, false) => Ok((None, None)),
        (Some(_), false) => Err(ContainerError::Terminal(
            "--console-socket needs process.terminal: true",
        )),
        (None, true) if !attached => Err(ContainerError::Terminal(
            "cannot allocate tty if husk will detach without setting console socket",
        )),
        (None, true) => {
            let (ours, theirs) = UnixStream::pair().map_err(ContainerError::Fork)?;
            Ok((Some(theirs.into()), Some(ours)))
        }
        (Some(path), true) => UnixStream::connect(path)
            .map(|s| (Some(s.into()), None))
            .map_err(|e| ContainerError::ConsoleSocket(path.to_owned(), e)),
    }
}

/// The caller's terminal: the first of stdin, stdout and stderr that is
/// one (as runc picks it).
fn caller_terminal() -> Option<BorrowedFd<'static>> {
    [
        rustix::stdio::stdin(),
        rustix::stdio::stdout(),
        rustix::stdio::stderr(),
    ]
    .into_iter()
    .find(|&fd| termios::isatty(fd))
}

/// The caller's terminal size, if it has one.
pub(super) fn caller_size() -> Option<termios::Winsize> {
    caller_terminal().and_then(|fd| termios::tcgetwinsize(fd).ok())
}

/// The caller's terminal back in its own mode when dropped.
struct RawMode {
    fd: BorrowedFd<'static>,
    saved: Termios,
}

impl RawMode {
    /// Raw mode on the caller's terminal, if it has one: bytes such as ^C
    /// go to the container's terminal, whose line discipline acts on them,
    /// and its output is not translated twice.
    fn enter() -> Result<Option<RawMode>, ContainerError> {
        let Some(fd) = caller_terminal() else {
            return Ok(None);
        };
        let saved = termios::tcgetattr(fd).map_err(tty_err)?;
        let mut raw = saved.clone();
        raw.make_raw();
        termios::tcsetattr(fd, OptionalActions::Now, &raw).map_err(tty_err)?;
        Ok(Some(RawMode { fd, saved }))
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = termios::tcsetattr(self.fd, OptionalActions::Now, &self.saved);
    }
}

fn tty_err(e: Errno) -> ContainerError {
    ContainerError::Tty(e.into())
}

/// The container's pty master, attached to the caller's stdin and stdout.
pub(super) struct Terminal {
    master: OwnedFd,
    _raw: Option<RawMode>,
}

impl Terminal {
    /// Takes the master init sent on `ours` (it did before reporting
    /// ready, so it is there), sizes it as the caller's terminal and puts
    /// that in raw mode.
    pub(super) fn attach(ours: &UnixStream) -> Result<Terminal, ContainerError> {
        ours.set_nonblocking(true).map_err(ContainerError::Tty)?;
        let (master, _) = husk_sys::scm::recv_fd(ours.as_fd()).map_err(ContainerError::Tty)?;
        rustix::io::ioctl_fionbio(&master, true).map_err(tty_err)?;
        if let Some(size) = caller_size() {
            termios::tcsetwinsize(&master, size).map_err(tty_err)?;
        }
        Ok(Terminal {
            master,
            _raw: RawMode::enter()?,
        })
    }

    /// Copies between the caller and the pty until `pid` ends, forwarding
    /// the signals of `waited` (blocked by the caller) but `SIGWINCH`,
    /// which resizes the pty, and `SIGCHLD`; then copies what is left.
    pub(super) fn wait(&self, pid: i32, waited: &[i32]) -> Result<Ended, ContainerError> {
        let pid = rustix::process::Pid::from_raw(pid).ok_or(ContainerError::InitDied)?;
        let stdin = rustix::stdio::stdin();
        let mut copy = Copy {
            stdin_open: true,
            master_open: true,
            pending: Vec::new(),
        };
        loop {
            if let Some(ended) = reap(pid)? {
                copy.read_master(self.master.as_fd());
                return Ok(ended);
            }
            copy.step(stdin, self.master.as_fd())?;
            while let Some(sig) = husk_sys::sigwait::wait_timeout(waited, Duration::ZERO)
                .map_err(ContainerError::Wait)?
            {
                match sig {
                    libc::SIGWINCH => {
                        if let Some(size) = caller_size() {
                            let _ = termios::tcsetwinsize(&self.master, size);
                        }
                    }
                    libc::SIGCHLD => {}
                    sig => {
                        let _ = husk_sys::signal::kill(pid.as_raw_nonzero().get(), sig);
                    }
                }
            }
        }
    }
}

fn reap(pid: rustix::process::Pid) -> Result<Option<Ended>, ContainerError> {
    match rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::NOHANG) {
        Ok(Some((_, st))) => {
            if let Some(sig) = st.terminating_signal() {
                return Ok(Some(Ended::Signaled(sig)));
            }
            Ok(st.exit_status().map(Ended::Exited))
        }
        Ok(None) | Err(Errno::INTR) => Ok(None),
        Err(e) => Err(ContainerError::Wait(e.into())),
    }
}

/// The copying state: which side still reads, and the typed bytes the
/// container has not taken yet (stdin is read only when they are gone, so
/// a container that does not read cannot make the runtime block).
struct Copy {
    stdin_open: bool,
    master_open: bool,
    pending: Vec<u8>,
}

/// How long one poll waits before signals and the process are looked at.
const TICK: Timespec = Timespec {
    tv_sec: 0,
    tv_nsec: 100_000_000,
};

impl Copy {
    fn step(
        &mut self,
        stdin: BorrowedFd<'_>,
        master: BorrowedFd<'_>,
    ) -> Result<(), ContainerError> {
        let mut master_flags = PollFlags::empty();
        if self.master_open {
            master_flags |= PollFlags::IN;
            if !self.pending.is_empty() {
                master_flags |= PollFlags::OUT;
            }
        }
        let read_stdin = self.stdin_open && self.pending.is_empty();
        let stdin_flags = if read_stdin {
            PollFlags::IN
        } else {
            PollFlags::empty()
        };
        let mut fds = [
            PollFd::new(&master, master_flags),
            PollFd::new(&stdin, stdin_flags),
        ];
        if master_flags.is_empty() && stdin_flags.is_empty() {
            // Nothing to copy: the caller's loop waits for the process.
            let _ = poll(&mut [] as &mut [PollFd<'_>], Some(&TICK));
            return Ok(());
        }
        match poll(&mut fds, Some(&TICK)) {
            Ok(_) | Err(Errno::INTR) => {}
            Err(e) => return Err(tty_err(e)),
        }
        let (m, s) = (fds[0].revents(), fds[1].revents());
        if self.master_open && !m.is_empty() {
            if m.intersects(PollFlags::OUT) {
                self.write_master(master);
            }
            if m.intersects(PollFlags::IN | PollFlags::HUP | PollFlags::ERR) {
                self.read_master(master);
            }
        }
        if read_stdin && !s.is_empty() {
            let mut buf = [0u8; 4096];
            match rustix::io::read(stdin, &mut buf) {
                // EOF: nothing is sent (runc sends nothing either).
                Ok(0) => self.stdin_open = false,
                Ok(n) => {
                    self.pending.extend_from_slice(&buf[..n]);
                    self.write_master(master);
                }
                Err(Errno::INTR | Errno::AGAIN) => {}
                Err(_) => self.stdin_open = false,
            }
        }
        Ok(())
    }

    /// Writes what it can of the pending input (the master is non-blocking).
    fn write_master(&mut self, master: BorrowedFd<'_>) {
        while !self.pending.is_empty() {
            match rustix::io::write(master, &self.pending) {
                Ok(n) => {
                    self.pending.drain(..n);
                }
                Err(Errno::INTR) => {}
                Err(Errno::AGAIN) => return,
                Err(_) => {
                    self.pending.clear();
                    self.master_open = false;
                }
            }
        }
    }

    /// Copies everything readable on the master to stdout; `EIO` (every
    /// slave closed) ends it for good.
    fn read_master(&mut self, master: BorrowedFd<'_>) {
        let mut buf = [0u8; 4096];
        let mut out = std::io::stdout().lock();
        while self.master_open {
            match rustix::io::read(master, &mut buf) {
                Ok(0) => self.master_open = false,
                Ok(n) => {
                    // A caller's stdout that fails loses the output, but the
                    // process still runs to its end.
                    let _ = out.write_all(&buf[..n]).and_then(|()| out.flush());
                }
                Err(Errno::INTR) => {}
                Err(Errno::AGAIN) => return,
                Err(_) => self.master_open = false,
            }
        }
    }
}
