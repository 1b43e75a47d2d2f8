//! The container's root filesystem, built in init's new mount namespace.

use std::os::unix::fs::FileTypeExt;
use std::path::{Component, Path, PathBuf};

use rustix::fs::{FileType, Mode};
use rustix::mount::{MountFlags, MountPropagationFlags, UnmountFlags};

use super::{copyup, Context};
use crate::msg::{StageError, Step};
use crate::plan::MountStep;

/// Devices every container gets (runtime-spec `config-linux.md`): name,
/// major, minor.
const DEFAULT_DEVICES: [(&str, u32, u32); 6] = [
    ("null", 1, 3),
    ("zero", 1, 5),
    ("full", 1, 7),
    ("random", 1, 8),
    ("urandom", 1, 9),
    ("tty", 5, 0),
];

const DEV_LINKS: [(&str, &str); 6] = [
    ("core", "/proc/kcore"),
    ("fd", "/proc/self/fd"),
    ("stdin", "/proc/self/fd/0"),
    ("stdout", "/proc/self/fd/1"),
    ("stderr", "/proc/self/fd/2"),
    ("ptmx", "pts/ptmx"),
];

fn err(step: Step, target: &Path) -> impl Fn(rustix::io::Errno) -> StageError + '_ {
    move |e| StageError::new(step, target.display(), e)
}

/// Before the hooks: propagation, rootfs bind, `mounts`, `/dev`.
///
/// Runs in: init, in the container's new mount namespace (still seeing
/// the host's mounts), root of its user namespace.
pub(super) fn prepare(ctx: &Context) -> Result<(), StageError> {
    rustix::process::umask(Mode::empty());
    set_root_propagation(ctx)?;
    rustix::mount::mount_bind_recursive(&ctx.rootfs, &ctx.rootfs)
        .map_err(err(Step::Mount, &ctx.rootfs))?;
    for m in &ctx.plan.mounts {
        mount_one(ctx, m)?;
    }
    make_cwd(ctx)?;
    if !dev_is_bound(&ctx.plan.mounts) {
        make_devices(ctx)?;
    }
    Ok(())
}

/// After the `createContainer` hooks: into the rootfs (`pivot_root`, or
/// with `--no-pivot` a move and `chroot`).
pub(super) fn enter(ctx: &Context) -> Result<(), StageError> {
    if ctx.no_pivot {
        move_root(&ctx.rootfs)
    } else {
        pivot_root(&ctx.rootfs)
    }
}

/// After the host name: sysctls (while `/proc/sys` is writable), masked
/// and read-only paths, then the read-only root.
///
/// Runs in: init, after `pivot_root`: the container's `/`.
pub(super) fn finish(ctx: &Context) -> Result<(), StageError> {
    let linux = ctx.spec.linux().clone().unwrap_or_default();
    for (key, value) in linux.sysctl().iter().flatten() {
        let path = Path::new("/proc/sys").join(key.replace('.', "/"));
        std::fs::write(&path, value).map_err(|e| StageError::new(Step::Sysctl, key, e))?;
    }
    for p in linux.masked_paths().iter().flatten() {
        mask(Path::new(p))?;
    }
    for p in linux.readonly_paths().iter().flatten() {
        readonly_path(Path::new(p))?;
    }
    if ctx
        .spec
        .root()
        .as_ref()
        .is_some_and(|r| r.readonly().unwrap_or(false))
    {
        remount_readonly(Path::new("/"), MountFlags::empty())?;
    }
    Ok(())
}

/// `/` becomes private (or `linux.rootfsPropagation`) recursively, so
/// nothing the container mounts shows on the host.
fn set_root_propagation(ctx: &Context) -> Result<(), StageError> {
    let wanted = ctx
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.rootfs_propagation().clone());
    let flags = match wanted.as_deref() {
        Some("shared") | Some("rshared") => MountPropagationFlags::SHARED,
        Some("slave") | Some("rslave") => MountPropagationFlags::DOWNSTREAM,
        Some("unbindable") | Some("runbindable") => MountPropagationFlags::UNBINDABLE,
        _ => MountPropagationFlags::PRIVATE,
    };
    rustix::mount::mount_change("/", flags | MountPropagationFlags::REC)
        .map_err(err(Step::Propagation, Path::new("/")))
}

/// `root` joined with `path`, resolving symlinks as if `root` were `/`:
/// a link in the rootfs cannot point a mount outside it.
pub(crate) fn secure_join(root: &Path, path: &Path) -> PathBuf {
    let mut out = root.to_path_buf();
    let mut pending: Vec<PathBuf> = path
        .components()
        .rev()
        .map(|c| PathBuf::from(c.as_os_str()))
        .collect();
    let mut links = 0;
    while let Some(part) = pending.pop() {
        match part.components().next() {
            Some(Component::RootDir) | Some(Component::CurDir) | None => continue,
            Some(Component::ParentDir) => {
                if out != root {
                    out.pop();
                }
                continue;
            }
            _ => {}
        }
        let next = out.join(&part);
        match std::fs::read_link(&next) {
            Ok(target) if links < 40 => {
                links += 1;
                if target.is_absolute() {
                    out = root.to_path_buf();
                }
                pending.extend(
                    target
                        .components()
                        .rev()
                        .map(|c| PathBuf::from(c.as_os_str())),
                );
            }
            _ => out = next,
        }
    }
    out
}

/// `mount(2)` of a filesystem with its data string (empty for none).
fn mount_fs(
    source: &str,
    dest: &Path,
    fstype: &str,
    flags: MountFlags,
    data: &str,
) -> rustix::io::Result<()> {
    let data = std::ffi::CString::new(data).map_err(|_| rustix::io::Errno::INVAL)?;
    let data = (!data.as_bytes().is_empty()).then_some(data.as_c_str());
    rustix::mount::mount(source, dest, fstype, flags, data)
}

/// Makes `process.cwd` in the rootfs while it is still writable (as runc
/// does): a read-only root would refuse it later.
fn make_cwd(ctx: &Context) -> Result<(), StageError> {
    let Some(process) = ctx.spec.process() else {
        return Ok(());
    };
    let cwd = secure_join(&ctx.rootfs, process.cwd());
    mkdir_p(&cwd).map_err(|e| StageError::new(Step::Cwd, process.cwd().display(), e))
}

/// `MS_*` values as the 32 bits `mount(2)` flags use.
fn bits(flags: u64) -> u32 {
    u32::try_from(flags).expect("MS_* flags fit in 32 bits")
}

fn dev_is_bound(mounts: &[MountStep]) -> bool {
    mounts
        .iter()
        .any(|m| m.dest == Path::new("/dev") && m.is_bind())
}

/// Makes the mount point: a file for a bind of a file, else a directory.
fn make_mount_point(dest: &Path, file: bool) -> Result<(), StageError> {
    let fail = |e: std::io::Error| StageError::new(Step::MountPoint, dest.display(), e);
    if file {
        if let Some(parent) = dest.parent() {
            mkdir_p(parent).map_err(fail)?;
        }
        if !dest.exists() {
            std::os::unix::fs::OpenOptionsExt::mode(
                std::fs::OpenOptions::new().write(true).create(true),
                0o644,
            )
            .open(dest)
            .map_err(fail)?;
        }
        return Ok(());
    }
    mkdir_p(dest).map_err(fail)
}

/// `mkdir -p` with mode 0755, as runc makes the directories it needs: the
/// umask is 0 while the rootfs is built, so the default 0777 would leave
/// world-writable directories in the image (podman's `/run`).
fn mkdir_p(dir: &Path) -> std::io::Result<()> {
    std::os::unix::fs::DirBuilderExt::mode(std::fs::DirBuilder::new().recursive(true), 0o755)
        .create(dir)
}

/// One entry of `mounts`: a bind (then remounted with its flags), a
/// `cgroup` view, or a filesystem mount with its data.
fn mount_one(ctx: &Context, m: &MountStep) -> Result<(), StageError> {
    let dest = secure_join(&ctx.rootfs, &m.dest);
    let flags = MountFlags::from_bits_retain(bits(m.flags));
    if m.is_bind() {
        let src = Path::new(&m.source);
        make_mount_point(&dest, !src.is_dir())?;
        let recursive = flags.contains(MountFlags::REC);
        let bind = if recursive {
            rustix::mount::mount_bind_recursive(src, &dest)
        } else {
            rustix::mount::mount_bind(src, &dest)
        };
        bind.map_err(err(Step::Mount, &dest))?;
        let extra = flags & !(MountFlags::BIND | MountFlags::REC);
        if !extra.is_empty() {
            remount_readonly_or(&dest, extra)?;
        }
    } else if m.fstype == "cgroup" {
        mount_cgroup_view(ctx, &dest, flags)?;
    } else {
        // Opened before the mount point is made: a directory husk makes
        // has nothing to copy and keeps the tmpfs's own mode (runc).
        let covered = (m.copy_up && dest.is_dir())
            .then(|| copyup::open(&dest))
            .transpose()?;
        make_mount_point(&dest, false)?;
        mount_fs(
            m.source.as_str(),
            &dest,
            m.fstype.as_str(),
            flags,
            m.data.as_str(),
        )
        .map_err(err(Step::Mount, &dest))?;
        if let Some(covered) = covered {
            copyup::copy(&covered, &dest)?;
        }
    }
    if m.propagation != 0 {
        let p = MountPropagationFlags::from_bits_retain(bits(m.propagation));
        rustix::mount::mount_change(&dest, p).map_err(err(Step::Propagation, &dest))?;
    }
    Ok(())
}

/// A `cgroup` mount: on a pure cgroup v2 host, cgroup2 itself (the cgroup
/// namespace roots it at the container's cgroup); on v1 and hybrid hosts a
/// tmpfs with the container's directory of each hierarchy bound in, as runc
/// does for v1.
fn mount_cgroup_view(ctx: &Context, dest: &Path, flags: MountFlags) -> Result<(), StageError> {
    make_mount_point(dest, false)?;
    if ctx.cgroup_dirs.len() == 1 && ctx.cgroup_dirs[0].0.is_empty() {
        return mount_fs("cgroup2", dest, "cgroup2", flags, "").map_err(err(Step::Mount, dest));
    }
    let tmpfs_flags = MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC;
    mount_fs("tmpfs", dest, "tmpfs", tmpfs_flags, "mode=755").map_err(err(Step::Mount, dest))?;
    for (name, host_dir) in &ctx.cgroup_dirs {
        let sub = dest.join(name);
        make_mount_point(&sub, false)?;
        rustix::mount::mount_bind(host_dir, &sub).map_err(err(Step::Mount, &sub))?;
        remount_readonly_or(&sub, flags)?;
    }
    if flags.contains(MountFlags::RDONLY) {
        remount_readonly(dest, tmpfs_flags)?;
    }
    Ok(())
}

/// Applies `flags` to a bind mount: a bind ignores them at first.
fn remount_readonly_or(dest: &Path, flags: MountFlags) -> Result<(), StageError> {
    let locked = locked_flags(dest);
    rustix::mount::mount_remount(dest, flags | locked | MountFlags::BIND, "")
        .map_err(err(Step::Mount, dest))
}

/// The flags a remount must keep: in a user namespace the kernel refuses
/// to clear `nosuid`, `nodev`, `noexec` or atime flags that a mount had.
fn locked_flags(path: &Path) -> MountFlags {
    use rustix::fs::StatVfsMountFlags as V;
    let Ok(st) = rustix::fs::statvfs(path) else {
        return MountFlags::empty();
    };
    let f = st.f_flag;
    let mut out = MountFlags::empty();
    for (v, m) in [
        (V::NOSUID, MountFlags::NOSUID),
        (V::NODEV, MountFlags::NODEV),
        (V::NOEXEC, MountFlags::NOEXEC),
        (V::NOATIME, MountFlags::NOATIME),
        (V::NODIRATIME, MountFlags::NODIRATIME),
        (V::RELATIME, MountFlags::RELATIME),
    ] {
        if f.contains(v) {
            out |= m;
        }
    }
    out
}

fn remount_readonly(path: &Path, extra: MountFlags) -> Result<(), StageError> {
    remount_readonly_or(path, extra | MountFlags::RDONLY)
}

/// The default devices and `linux.devices`, then the `/dev` symlinks.
/// `mknod` where allowed; in a user namespace (where it is not) a bind
/// of the host's node onto an empty file.
fn make_devices(ctx: &Context) -> Result<(), StageError> {
    let dev = secure_join(&ctx.rootfs, Path::new("/dev"));
    make_mount_point(&dev, false)?;
    let bind = ctx.plan.new_user || ctx.plan.joins.iter().any(|j| j.flag == libc::CLONE_NEWUSER);
    for (name, major, minor) in DEFAULT_DEVICES {
        let host = Path::new("/dev").join(name);
        make_device(
            &dev.join(name),
            &host,
            FileType::CharacterDevice,
            0o666,
            (major, minor),
            bind,
        )?;
    }
    let devices = ctx.spec.linux().as_ref().and_then(|l| l.devices().clone());
    for d in devices.iter().flatten() {
        let ty = match d.typ().as_str() {
            "b" => FileType::BlockDevice,
            "p" => FileType::Fifo,
            _ => FileType::CharacterDevice,
        };
        let mode = d.file_mode().unwrap_or(0o666);
        let to = secure_join(&ctx.rootfs, d.path());
        let nums = (
            u32::try_from(d.major()).unwrap_or(0),
            u32::try_from(d.minor()).unwrap_or(0),
        );
        make_device(&to, d.path(), ty, mode, nums, bind)?;
        if d.uid().is_some() || d.gid().is_some() {
            let uid = d.uid().map(rustix::process::Uid::from_raw);
            let gid = d.gid().map(rustix::process::Gid::from_raw);
            rustix::fs::chown(&to, uid, gid).map_err(err(Step::Device, &to))?;
        }
    }
    for (name, target) in DEV_LINKS {
        let link = dev.join(name);
        if link.symlink_metadata().is_err() {
            std::os::unix::fs::symlink(target, &link)
                .map_err(|e| StageError::new(Step::Device, link.display(), e))?;
        }
    }
    Ok(())
}

fn make_device(
    to: &Path,
    host: &Path,
    ty: FileType,
    mode: u32,
    nums: (u32, u32),
    bind: bool,
) -> Result<(), StageError> {
    if let Some(parent) = to.parent() {
        mkdir_p(parent).map_err(|e| StageError::new(Step::Device, parent.display(), e))?;
    }
    if to
        .symlink_metadata()
        .is_ok_and(|m| m.file_type().is_char_device() || m.file_type().is_block_device())
    {
        return Ok(());
    }
    if bind {
        make_mount_point(to, true)?;
        return rustix::mount::mount_bind(host, to).map_err(err(Step::Device, to));
    }
    let _ = std::fs::remove_file(to);
    let dev = rustix::fs::makedev(nums.0, nums.1);
    rustix::fs::mknodat(
        rustix::fs::CWD,
        to,
        ty,
        Mode::from_raw_mode(mode & 0o7777),
        dev,
    )
    .map_err(err(Step::Device, to))
}

/// `pivot_root(".", ".")` in the rootfs, then the old root (now stacked
/// under the new one) is made a slave and detached, as runc does: no
/// directory to create, nothing of the host left reachable.
fn pivot_root(rootfs: &Path) -> Result<(), StageError> {
    let fail = err(Step::PivotRoot, rootfs);
    rustix::process::chdir(rootfs).map_err(&fail)?;
    rustix::process::pivot_root(".", ".").map_err(&fail)?;
    rustix::mount::mount_change(
        ".",
        MountPropagationFlags::DOWNSTREAM | MountPropagationFlags::REC,
    )
    .map_err(&fail)?;
    rustix::mount::unmount(".", UnmountFlags::DETACH).map_err(&fail)?;
    rustix::process::chdir("/").map_err(&fail)
}

/// `--no-pivot`: move the rootfs onto `/` and chroot into it (for a root
/// on a ramfs, where `pivot_root` is refused). Weaker: the old root stays
/// reachable to a process that escapes the chroot.
fn move_root(rootfs: &Path) -> Result<(), StageError> {
    let fail = err(Step::PivotRoot, rootfs);
    rustix::process::chdir(rootfs).map_err(&fail)?;
    rustix::mount::mount_move(rootfs, "/").map_err(&fail)?;
    rustix::process::chroot(".").map_err(&fail)?;
    rustix::process::chdir("/").map_err(&fail)
}

/// A masked path: `/dev/null` over a file, an empty read-only tmpfs over
/// a directory; missing paths are skipped.
fn mask(path: &Path) -> Result<(), StageError> {
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(());
    };
    let done = if meta.is_dir() {
        mount_fs("tmpfs", path, "tmpfs", MountFlags::RDONLY, "")
    } else {
        rustix::mount::mount_bind("/dev/null", path)
    };
    done.map_err(err(Step::Mount, path))
}

/// A read-only path: bound onto itself, then remounted read-only.
fn readonly_path(path: &Path) -> Result<(), StageError> {
    if std::fs::symlink_metadata(path).is_err() {
        return Ok(());
    }
    rustix::mount::mount_bind_recursive(path, path).map_err(err(Step::Mount, path))?;
    remount_readonly(path, MountFlags::empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secure_join_stays_inside() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        std::fs::create_dir(root.join("a")).unwrap();
        std::os::unix::fs::symlink("/etc", root.join("a/abs")).unwrap();
        std::os::unix::fs::symlink("../../../..", root.join("a/up")).unwrap();
        let cases = [
            ("/proc", root.join("proc")),
            ("/a/../../x", root.join("x")),
            ("/a/abs/passwd", root.join("etc/passwd")),
            ("/a/up/y", root.join("y")),
        ];
        for (path, want) in cases {
            assert_eq!(secure_join(root, Path::new(path)), want, "{path}");
        }
    }
}
