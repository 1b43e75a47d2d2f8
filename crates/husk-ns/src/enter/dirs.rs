//! Root and working directory after entering, step for step as util-linux
//! `nsenter` does them.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use super::request::open_ro;
use super::EnterError;

/// Changes root and working directory. `root` and a `wd` of `Ok(fd)` were
/// opened before entering (so they may lead outside the new mount
/// namespace); a `wd` of `Err(path)` is looked up now, inside.
pub(super) fn change(
    root: Option<OwnedFd>,
    wd: Option<Result<OwnedFd, PathBuf>>,
) -> Result<(), EnterError> {
    let (mut wd_fd, wd_path) = match wd {
        Some(Ok(fd)) => (Some(fd), None),
        Some(Err(path)) => (None, Some(path)),
        None => (None, None),
    };
    // A chroot alone keeps the working directory: remember it first.
    if root.is_some() && wd_fd.is_none() && wd_path.is_none() {
        wd_fd = Some(open_ro(Path::new(".")).map_err(EnterError::OpenCwd)?);
    }
    if let Some(root) = root {
        rustix::process::fchdir(&root).map_err(|e| EnterError::RootChdir(e.into()))?;
        rustix::process::chroot(".").map_err(|e| EnterError::Chroot(e.into()))?;
        rustix::process::chdir("/").map_err(|e| EnterError::ChdirSlash(e.into()))?;
    }
    if let Some(path) = wd_path {
        wd_fd = Some(open_ro(&path).map_err(EnterError::OpenCwd)?);
    }
    if let Some(fd) = wd_fd {
        rustix::process::fchdir(&fd).map_err(|e| EnterError::WdChdir(e.into()))?;
    }
    Ok(())
}
