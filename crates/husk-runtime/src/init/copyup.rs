//! `tmpcopyup`, runc's mount option that podman puts on the tmpfs mounts of
//! `--read-only` (`/tmp`, `/run`, `/var/tmp`): the new tmpfs starts with a
//! copy of what the directory under it held. The directory is opened before
//! the mount; once covered, its contents stay reachable through that fd
//! (`/proc/self/fd/N` jumps to the fd's own dentry, not to the path).

use std::fs;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use husk_sys::inroot::{fd_path, Root};
use rustix::fs::{Mode, OFlags};

use crate::msg::{StageError, Step};

/// The directory a tmpfs is about to cover.
#[derive(Debug)]
pub(super) struct Covered(OwnedFd);

fn fail(dest: &Path) -> impl Fn(io::Error) -> StageError + '_ {
    move |e| StageError::new(Step::Mount, format!("{} (tmpcopyup)", dest.display()), e)
}

/// Opens the directory `dest` (resolved inside the rootfs) before the
/// mount covers it; `None` when there is no directory there yet.
pub(super) fn open_existing(root: &Root, dest: &Path) -> Result<Option<Covered>, StageError> {
    let at = match root.resolve(dest) {
        Ok(at) => at,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(fail(dest)(e)),
    };
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    match rustix::fs::open(fd_path(&at), flags, Mode::empty()) {
        Ok(fd) => Ok(Some(Covered(fd))),
        Err(rustix::io::Errno::NOTDIR) => Ok(None),
        Err(e) => Err(fail(dest)(e.into())),
    }
}

/// After the mount: copies the covered directory's entries, with their
/// modes and owners, into the tmpfs now at `at` (`dest` in the container).
/// The tmpfs itself has the directory's mode from its mount data, as every
/// tmpfs over a directory (as runc: not its owner).
pub(super) fn copy(under: &Covered, at: &OwnedFd, dest: &Path) -> Result<(), StageError> {
    copy_tree(&fd_path(&under.0), &fd_path(at)).map_err(fail(dest))
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
