//! `process.terminal` with `--console-socket`: init opens a pseudo-terminal
//! in the container's devpts (`/dev/ptmx` after `pivot_root`, the
//! `newinstance` devpts of the config, as runc), makes the slave its
//! controlling terminal and stdio (sized by `process.consoleSize`), and sends the master over the socket
//! with `SCM_RIGHTS` (the data is the slave's path, as runc sends).

use std::os::fd::{AsFd, OwnedFd};

use oci_spec::runtime::Box;
use rustix::pty::OpenptFlags;

use crate::msg::{StageError, Step};

/// Runs in: init, after `pivot_root`, a session leader (`setsid`) with no
/// controlling terminal; root of its user namespace.
pub(super) fn setup(socket: &OwnedFd, size: Option<&Box>) -> Result<(), StageError> {
    let err = |what: &'static str| move |e| StageError::new(Step::Console, what, e);
    let master =
        rustix::pty::openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)
            .map_err(err("/dev/ptmx"))?;
    rustix::pty::grantpt(&master).map_err(err("grantpt"))?;
    rustix::pty::unlockpt(&master).map_err(err("unlockpt"))?;
    let name = rustix::pty::ptsname(&master, Vec::new()).map_err(err("ptsname"))?;
    // The slave through the master (`TIOCGPTPEER`), not by its path: in a
    // running container (`exec`) the path is the container's to redirect.
    let slave = rustix::pty::ioctl_tiocgptpeer(
        &master,
        OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC,
    )
    .map_err(err("pty slave"))?;
    if let Some(size) = size {
        let clamp = |v: u64| u16::try_from(v).unwrap_or(u16::MAX);
        let winsize = rustix::termios::Winsize {
            ws_row: clamp(size.height()),
            ws_col: clamp(size.width()),
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        rustix::termios::tcsetwinsize(&master, winsize).map_err(err("consoleSize"))?;
    }
    rustix::process::ioctl_tiocsctty(&slave).map_err(err("TIOCSCTTY"))?;
    rustix::stdio::dup2_stdin(&slave).map_err(err("stdin"))?;
    rustix::stdio::dup2_stdout(&slave).map_err(err("stdout"))?;
    rustix::stdio::dup2_stderr(&slave).map_err(err("stderr"))?;
    husk_sys::scm::send_fd(socket.as_fd(), master.as_fd(), name.as_bytes())
        .map_err(|e| StageError::new(Step::Console, "--console-socket", e))
}
