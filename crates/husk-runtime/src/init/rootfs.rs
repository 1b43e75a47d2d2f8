//! The container's root filesystem, built in init's new mount namespace.

use std::os::fd::OwnedFd;
use std::path::Path;

use husk_sys::inroot::{fd_path, Root};
use rustix::fs::{AtFlags, FileType, Mode};
use rustix::io::Errno;
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

fn io_err(step: Step, target: &Path) -> impl Fn(std::io::Error) -> StageError + '_ {
    move |e| StageError::new(step, target.display(), e)
}

/// Before the hooks: propagation, rootfs bind, `mounts`, `/dev`.
///
/// Every path inside the rootfs is resolved by [`Root`] (`openat2` with
/// `RESOLVE_IN_ROOT`, missing parts made without following symlinks) and
/// mounted onto through `/proc/self/fd/N`: a symlink in the image cannot
/// send a mount or a device node to the host.
///
/// Runs in: init, in the container's new mount namespace (still seeing
/// the host's mounts), root of its user namespace.
pub(super) fn prepare(ctx: &Context) -> Result<(), StageError> {
    rustix::process::umask(Mode::empty());
    set_root_propagation(ctx)?;
    rustix::mount::mount_bind_recursive(&ctx.rootfs, &ctx.rootfs)
        .map_err(err(Step::Mount, &ctx.rootfs))?;
    // Opened after the bind, so the fd is the top of the new mount.
    let root = Root::open(&ctx.rootfs).map_err(io_err(Step::Mount, &ctx.rootfs))?;
    for m in &ctx.plan.mounts {
        mount_one(ctx, &root, m)?;
    }
    make_cwd(ctx, &root)?;
    if !dev_is_bound(&ctx.plan.mounts) {
        make_devices(ctx, &root)?;
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
    // Borrowed, not a deep copy of the whole section.
    let default;
    let linux = match ctx.spec.linux() {
        Some(linux) => linux,
        None => {
            default = oci_spec::runtime::Linux::default();
            &default
        }
    };
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
        remount_readonly(Path::new("/"), Path::new("/"), MountFlags::empty())?;
    }
    // The new `/` gets `rootfsPropagation` itself (as runc does), last:
    // an unbindable one would refuse the binds of masking.
    if let Some(flags) = root_propagation(ctx) {
        rustix::mount::mount_change("/", flags | MountPropagationFlags::REC)
            .map_err(err(Step::Propagation, Path::new("/")))?;
    }
    Ok(())
}

/// `/` becomes private (or `linux.rootfsPropagation`) recursively, so
/// nothing the container mounts shows on the host.
///
/// `unbindable` waits for [`finish`] (private until then): nothing could be
/// bound from the host's unbindable mounts, not the rootfs, a volume or a
/// cgroup directory.
fn set_root_propagation(ctx: &Context) -> Result<(), StageError> {
    let flags = match root_propagation(ctx) {
        Some(MountPropagationFlags::UNBINDABLE) | None => MountPropagationFlags::PRIVATE,
        Some(flags) => flags,
    };
    rustix::mount::mount_change("/", flags | MountPropagationFlags::REC)
        .map_err(err(Step::Propagation, Path::new("/")))?;
    if flags.contains(MountPropagationFlags::SHARED) {
        make_parent_private(&ctx.rootfs)?;
    }
    Ok(())
}

/// `linux.rootfsPropagation` as flags, if the config sets it.
fn root_propagation(ctx: &Context) -> Option<MountPropagationFlags> {
    let linux = ctx.spec.linux().as_ref()?;
    Some(match linux.rootfs_propagation().as_deref()? {
        "shared" | "rshared" => MountPropagationFlags::SHARED,
        "slave" | "rslave" => MountPropagationFlags::DOWNSTREAM,
        "unbindable" | "runbindable" => MountPropagationFlags::UNBINDABLE,
        _ => MountPropagationFlags::PRIVATE,
    })
}

/// With a shared `/`, the mount holding the rootfs is made private (not
/// recursively), as runc does: `pivot_root(2)` refuses a new root whose
/// parent mount is shared, and the rootfs bind would show on the host.
fn make_parent_private(rootfs: &Path) -> Result<(), StageError> {
    let fail = io_err(Step::Propagation, rootfs);
    let real = std::fs::canonicalize(rootfs).map_err(&fail)?;
    let table = std::fs::read_to_string("/proc/self/mountinfo").map_err(&fail)?;
    let parent = table
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(unescape_mount_point)
        .filter(|m| real.starts_with(m))
        .max_by_key(|m| m.as_os_str().len())
        .unwrap_or_else(|| "/".into());
    rustix::mount::mount_change(&parent, MountPropagationFlags::PRIVATE)
        .map_err(err(Step::Propagation, &parent))
}

/// A mountinfo mount point with its octal escapes (`\040` for a space)
/// decoded.
fn unescape_mount_point(field: &str) -> std::path::PathBuf {
    use std::os::unix::ffi::OsStringExt;
    let b = field.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match (b[i], octal) {
            (b'\\', Some(d)) => {
                let v = d.iter().fold(0u32, |v, c| v * 8 + u32::from(c - b'0'));
                out.push(u8::try_from(v).unwrap_or(b'?'));
                i += 4;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    std::ffi::OsString::from_vec(out).into()
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
fn make_cwd(ctx: &Context, root: &Root) -> Result<(), StageError> {
    let Some(process) = ctx.spec.process() else {
        return Ok(());
    };
    root.mkdir_all(process.cwd(), 0o755)
        .map(drop)
        .map_err(io_err(Step::Cwd, process.cwd()))
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

/// The mount point of `dest` inside the rootfs, made if missing: a file
/// for a bind of a file, else a directory.
fn mount_point(root: &Root, dest: &Path, file: bool) -> Result<OwnedFd, StageError> {
    let made = if file {
        root.create_file(dest, 0o644)
    } else {
        root.mkdir_all(dest, 0o755)
    };
    made.map_err(io_err(Step::MountPoint, dest))
}

/// What is mounted at `dest` now (a fresh resolution: an fd taken before
/// a mount refers to what is under it), for a remount or a propagation
/// change.
fn mounted(root: &Root, dest: &Path) -> Result<OwnedFd, StageError> {
    root.resolve(dest).map_err(io_err(Step::Mount, dest))
}

/// One entry of `mounts`: a bind (then remounted with its flags), a
/// `cgroup` view, or a filesystem mount with its data.
fn mount_one(ctx: &Context, root: &Root, m: &MountStep) -> Result<(), StageError> {
    let dest = m.dest.as_path();
    let flags = MountFlags::from_bits_retain(bits(m.flags));
    if m.is_bind() {
        let src = Path::new(&m.source);
        let at = mount_point(root, dest, !src.is_dir())?;
        let recursive = flags.contains(MountFlags::REC);
        let bind = if recursive {
            rustix::mount::mount_bind_recursive(src, fd_path(&at))
        } else {
            rustix::mount::mount_bind(src, fd_path(&at))
        };
        bind.map_err(err(Step::Mount, dest))?;
        let extra = flags & !(MountFlags::BIND | MountFlags::REC);
        if !extra.is_empty() {
            remount_readonly_or(&fd_path(&mounted(root, dest)?), dest, extra)?;
        }
    } else if m.fstype == "cgroup" {
        mount_cgroup_view(ctx, root, dest, flags)?;
    } else {
        // Looked at before the mount point is made: a directory husk makes
        // has nothing to copy and keeps the tmpfs's own mode (runc).
        let covered = if m.copy_up {
            copyup::open_existing(root, dest)?
        } else {
            None
        };
        let data = tmpfs_mode(root, m).map_or_else(
            || m.data.clone(),
            |mode| format!("mode={mode:04o},{}", m.data),
        );
        let at = mount_point(root, dest, false)?;
        mount_fs(
            m.source.as_str(),
            &fd_path(&at),
            m.fstype.as_str(),
            flags,
            data.trim_end_matches(','),
        )
        .map_err(err(Step::Mount, dest))?;
        if let Some(covered) = covered {
            copyup::copy(&covered, &mounted(root, dest)?, dest)?;
        }
    }
    if m.propagation != 0 {
        let p = MountPropagationFlags::from_bits_retain(bits(m.propagation));
        rustix::mount::mount_change(fd_path(&mounted(root, dest)?), p)
            .map_err(err(Step::Propagation, dest))?;
    }
    Ok(())
}

/// For a tmpfs over an existing directory: the directory's mode, put first
/// in the mount's data as runc does (a `mode=` of the options, later,
/// wins); a bare tmpfs would be 1777.
fn tmpfs_mode(root: &Root, m: &MountStep) -> Option<u32> {
    if m.fstype != "tmpfs" {
        return None;
    }
    let st = rustix::fs::fstat(root.resolve(&m.dest).ok()?).ok()?;
    (FileType::from_raw_mode(st.st_mode) == FileType::Directory).then_some(st.st_mode & 0o7777)
}

/// A `cgroup` mount: on a pure cgroup v2 host, cgroup2 itself (the cgroup
/// namespace roots it at the container's cgroup); on v1 and hybrid hosts a
/// tmpfs with the container's directory of each hierarchy bound in, as runc
/// does for v1.
fn mount_cgroup_view(
    ctx: &Context,
    root: &Root,
    dest: &Path,
    flags: MountFlags,
) -> Result<(), StageError> {
    let point = mount_point(root, dest, false)?;
    let at = fd_path(&point);
    if ctx.cgroup_dirs.len() == 1 && ctx.cgroup_dirs[0].0.is_empty() {
        return mount_fs("cgroup2", &at, "cgroup2", flags, "").map_err(err(Step::Mount, dest));
    }
    let tmpfs_flags = MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC;
    mount_fs("tmpfs", &at, "tmpfs", tmpfs_flags, "mode=755").map_err(err(Step::Mount, dest))?;
    for (name, host_dir) in &ctx.cgroup_dirs {
        let sub = dest.join(name);
        let at = mount_point(root, &sub, false)?;
        rustix::mount::mount_bind(host_dir, fd_path(&at)).map_err(err(Step::Mount, &sub))?;
        remount_readonly_or(&fd_path(&mounted(root, &sub)?), &sub, flags)?;
    }
    if flags.contains(MountFlags::RDONLY) {
        remount_readonly(&fd_path(&mounted(root, dest)?), dest, tmpfs_flags)?;
    }
    Ok(())
}

/// Applies `flags` to a bind mount: a bind ignores them at first.
/// `at` is the path to act on, `name` the one to report.
fn remount_readonly_or(at: &Path, name: &Path, flags: MountFlags) -> Result<(), StageError> {
    let locked = locked_flags(at);
    rustix::mount::mount_remount(at, flags | locked | MountFlags::BIND, "")
        .map_err(err(Step::Mount, name))
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

fn remount_readonly(at: &Path, name: &Path, extra: MountFlags) -> Result<(), StageError> {
    remount_readonly_or(at, name, extra | MountFlags::RDONLY)
}

/// The default devices and `linux.devices`, then the `/dev` symlinks.
/// `mknod` where allowed; in a user namespace (where it is not) a bind
/// of the host's node onto an empty file.
fn make_devices(ctx: &Context, root: &Root) -> Result<(), StageError> {
    let dev_path = Path::new("/dev");
    let dev = mount_point(root, dev_path, false)?;
    let bind = ctx.plan.new_user || ctx.plan.joins.iter().any(|j| j.flag == libc::CLONE_NEWUSER);
    for (name, major, minor) in DEFAULT_DEVICES {
        let path = dev_path.join(name);
        let node = Node {
            ty: FileType::CharacterDevice,
            mode: 0o666,
            rdev: rustix::fs::makedev(major, minor),
        };
        make_device(root, &path, &path, &node, bind)?;
    }
    let devices = ctx.spec.linux().as_ref().and_then(|l| l.devices().clone());
    for d in devices.iter().flatten() {
        let ty = match d.typ().as_str() {
            "b" => FileType::BlockDevice,
            "p" => FileType::Fifo,
            _ => FileType::CharacterDevice,
        };
        let node = Node {
            ty,
            mode: d.file_mode().unwrap_or(0o666),
            rdev: rustix::fs::makedev(
                u32::try_from(d.major()).unwrap_or(0),
                u32::try_from(d.minor()).unwrap_or(0),
            ),
        };
        let (dir, name) = make_device(root, d.path(), d.path(), &node, bind)?;
        // A bound node is the host's own: its owner stays (as with runc);
        // a chown would go through the mount to the host's inode.
        if !bind && (d.uid().is_some() || d.gid().is_some()) {
            let uid = d.uid().map(rustix::process::Uid::from_raw);
            let gid = d.gid().map(rustix::process::Gid::from_raw);
            rustix::fs::chownat(&dir, &name, uid, gid, AtFlags::SYMLINK_NOFOLLOW)
                .map_err(err(Step::Device, d.path()))?;
        }
    }
    for (name, target) in DEV_LINKS {
        let fail = err(Step::Device, Path::new(name));
        match rustix::fs::statat(&dev, name, AtFlags::SYMLINK_NOFOLLOW) {
            Err(Errno::NOENT) => rustix::fs::symlinkat(target, &dev, name).map_err(fail)?,
            Err(e) => return Err(fail(e)),
            Ok(_) => {}
        }
    }
    Ok(())
}

/// A device node to make: type, permission bits, device number.
struct Node {
    ty: FileType,
    mode: u32,
    rdev: u64,
}

/// Makes the node `path` (inside the rootfs) and returns its directory and
/// name. The entry itself is never followed: the same node already there
/// is kept, anything else but a directory (a file, a symlink the image put
/// there) is replaced.
fn make_device(
    root: &Root,
    path: &Path,
    host: &Path,
    node: &Node,
    bind: bool,
) -> Result<(OwnedFd, std::ffi::OsString), StageError> {
    let fail = err(Step::Device, path);
    let (dir, name) = root.parent(path).map_err(io_err(Step::Device, path))?;
    match rustix::fs::statat(&dir, &name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) if FileType::from_raw_mode(st.st_mode) == node.ty && st.st_rdev == node.rdev => {
            return Ok((dir, name));
        }
        Ok(st) if FileType::from_raw_mode(st.st_mode) != FileType::Directory => {
            rustix::fs::unlinkat(&dir, &name, AtFlags::empty()).map_err(&fail)?;
        }
        Ok(_) | Err(Errno::NOENT) => {}
        Err(e) => return Err(fail(e)),
    }
    if bind {
        let flags = rustix::fs::OFlags::CREATE
            | rustix::fs::OFlags::EXCL
            | rustix::fs::OFlags::NOFOLLOW
            | rustix::fs::OFlags::CLOEXEC;
        let at =
            rustix::fs::openat(&dir, &name, flags, Mode::from_raw_mode(0o644)).map_err(&fail)?;
        rustix::mount::mount_bind(host, fd_path(&at)).map_err(&fail)?;
    } else {
        let mode = Mode::from_raw_mode(node.mode & 0o7777);
        rustix::fs::mknodat(&dir, &name, node.ty, mode, node.rdev).map_err(&fail)?;
    }
    Ok((dir, name))
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
        real_dev_null().and_then(|()| rustix::mount::mount_bind("/dev/null", path))
    };
    done.map_err(err(Step::Mount, path))
}

/// The container's `/dev/null` is the null device itself, not a symlink
/// or another node that masking would bind over the path instead
/// (CVE-2025-31133).
fn real_dev_null() -> rustix::io::Result<()> {
    let st = rustix::fs::statat(rustix::fs::CWD, "/dev/null", AtFlags::SYMLINK_NOFOLLOW)?;
    let null = FileType::from_raw_mode(st.st_mode) == FileType::CharacterDevice
        && st.st_rdev == rustix::fs::makedev(1, 3);
    if null {
        Ok(())
    } else {
        Err(Errno::NODEV)
    }
}

/// A read-only path: bound onto itself, then remounted read-only.
fn readonly_path(path: &Path) -> Result<(), StageError> {
    if std::fs::symlink_metadata(path).is_err() {
        return Ok(());
    }
    rustix::mount::mount_bind_recursive(path, path).map_err(err(Step::Mount, path))?;
    remount_readonly(path, path, MountFlags::empty())
}

#[cfg(test)]
mod tests {
    #[test]
    fn mountinfo_escapes() {
        for (field, want) in [
            ("/a\\040b", "/a b"),
            ("/tab\\011x\\134", "/tab\tx\\"),
            ("/plain", "/plain"),
            ("/odd\\9", "/odd\\9"),
        ] {
            assert_eq!(
                super::unescape_mount_point(field),
                std::path::Path::new(want)
            );
        }
    }
}
