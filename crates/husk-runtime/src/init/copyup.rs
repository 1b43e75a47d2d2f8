//! `tmpcopyup`, runc's mount option that podman puts on the tmpfs mounts of
//! `--read-only` (`/tmp`, `/run`, `/var/tmp`): the new tmpfs starts with a
//! copy of what the directory under it held. The directory is opened before
//! the mount; once covered, its contents stay reachable through that fd
//! (`/proc/self/fd/N` jumps to the fd's own dentry, not to the path).

use std::fs;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags};

use crate::msg::{StageError, Step};

/// The directory a tmpfs is about to cover.
#[derive(Debug)]
pub(super) struct Covered(OwnedFd);

fn fail(dest: &Path) -> impl Fn(io::Error) -> StageError + '_ {
    move |e| StageError::new(Step::Mount, format!("{} (tmpcopyup)", dest.display()), e)
}

/// Opens `dest` (already resolved inside the rootfs) before the mount.
pub(super) fn open(dest: &Path) -> Result<Covered, StageError> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    rustix::fs::open(dest, flags, Mode::empty())
        .map(Covered)
        .map_err(|e| fail(dest)(e.into()))
}

/// After the mount: copies the covered directory's entries, with their
/// modes and owners, into the tmpfs at `dest`, and gives the tmpfs the
/// directory's mode (as runc: not its owner).
pub(super) fn copy(under: &Covered, dest: &Path) -> Result<(), StageError> {
    let src = PathBuf::from(format!("/proc/self/fd/{}", under.0.as_raw_fd()));
    copy_tree(&src, dest).map_err(fail(dest))?;
    let mode = fs::metadata(&src).map_err(fail(dest))?.mode() & 0o7777;
    fs::set_permissions(dest, fs::Permissions::from_mode(mode)).map_err(fail(dest))
}

/// Directories, regular files and symlinks; device nodes, fifos and
/// sockets are left out, as runc's copy does.
fn copy_tree(src: &Path, dst: &Path) -> io::Result<()> {
    for entry in fs::read_dir(src)? {
        let entry = entry?;
        let (from, to) = (entry.path(), dst.join(entry.file_name()));
        let meta = fs::symlink_metadata(&from)?;
        let kind = meta.file_type();
        if kind.is_dir() {
            fs::create_dir(&to)?;
            copy_tree(&from, &to)?;
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&from)?, &to)?;
        } else if kind.is_file() {
            fs::copy(&from, &to)?;
        } else {
            continue;
        }
        copy_owner_and_mode(&meta, &to)?;
    }
    Ok(())
}

/// Owner first: `chown` clears the set-id bits the mode then restores.
fn copy_owner_and_mode(meta: &fs::Metadata, to: &Path) -> io::Result<()> {
    std::os::unix::fs::lchown(to, Some(meta.uid()), Some(meta.gid()))?;
    if meta.file_type().is_symlink() {
        return Ok(());
    }
    fs::set_permissions(to, fs::Permissions::from_mode(meta.mode() & 0o7777))
}
