//! Paths inside a directory tree resolved as if the tree were `/`.
//!
//! A container image is untrusted: `rootfs/evil -> /etc` or
//! `rootfs/up -> ../../..` must not make the runtime mount or create
//! anything on the host (the runc CVEs 2021-30465, 2023-27561,
//! 2024-45310). [`Root`] holds an fd of the tree and resolves every path
//! with `openat2(2)` and `RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS`: the
//! kernel itself treats absolute symlinks and `..` as staying at the fd,
//! race-free. Missing components are created one at a time under fds
//! opened with `O_NOFOLLOW` (a symlink met on the way is read and its
//! target resolved inside the tree again), so creating cannot escape
//! either. The fds it returns are used as `/proc/self/fd/N` (see
//! [`fd_path`]) by `mount(2)`, which then acts on exactly that inode.
//!
//! ```
//! use husk_sys::inroot::Root;
//! let tmp = std::env::temp_dir().join(format!("husk-inroot-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&tmp).unwrap();
//! std::os::unix::fs::symlink("/husk-doc-elsewhere", tmp.join("link")).unwrap();
//! let root = Root::open(&tmp).unwrap();
//! root.mkdir_all("/link/sub", 0o755).unwrap(); // the link's target, inside the tree
//! assert!(tmp.join("husk-doc-elsewhere/sub").is_dir());
//! assert!(!std::path::Path::new("/husk-doc-elsewhere").exists());
//! std::fs::remove_dir_all(&tmp).unwrap();
//! ```
//!
//! (No `pathrs` crate: its `mkdir_all` of an existing directory made 45
//! syscalls under strace, a new procfs superblock per process among
//! them; the same call here is one `openat2`.)

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use rustix::fs::{Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

/// Symlinks followed while creating one path before `ELOOP` (the
/// kernel's own limit).
const MAX_LINKS: u32 = 40;

/// A directory tree treated as `/`: an `O_PATH` fd of its top.
#[derive(Debug)]
pub struct Root {
    fd: OwnedFd,
}

/// What the last component of a created path is.
#[derive(Clone, Copy)]
enum Last {
    Dir,
    File,
}

/// One component, opened without following it.
enum Entry {
    Node(OwnedFd),
    Link(Vec<u8>),
}

impl Root {
    /// Opens `path` (a directory; symlinks in it followed as usual: the
    /// caller trusts this path) as the root.
    pub fn open(path: impl AsRef<Path>) -> io::Result<Root> {
        let fd = rustix::fs::open(
            path.as_ref(),
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(Root { fd })
    }

    /// An `O_PATH` fd of `path` inside the root, its symlinks (the last one
    /// too) followed inside the root.
    pub fn resolve(&self, path: impl AsRef<Path>) -> io::Result<OwnedFd> {
        self.openat2(path.as_ref(), OFlags::PATH)
    }

    /// Like [`Root::resolve`] but the last component is not followed: a
    /// symlink there is returned as itself.
    pub fn resolve_nofollow(&self, path: impl AsRef<Path>) -> io::Result<OwnedFd> {
        self.openat2(path.as_ref(), OFlags::PATH | OFlags::NOFOLLOW)
    }

    /// The directory `path` inside the root, made with `mode` (and its
    /// missing parents) if missing; an `O_PATH` fd of it.
    pub fn mkdir_all(&self, path: impl AsRef<Path>, mode: u32) -> io::Result<OwnedFd> {
        let path = path.as_ref();
        match self.openat2(path, OFlags::PATH | OFlags::DIRECTORY) {
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
                self.make_missing(path, Last::Dir, mode)
            }
            done => done,
        }
    }

    /// The file `path` inside the root (a mount point for a bind of a
    /// file): whatever is there already, else an empty regular file made
    /// with `mode` (and its parent directories with 0755).
    pub fn create_file(&self, path: impl AsRef<Path>, mode: u32) -> io::Result<OwnedFd> {
        let path = path.as_ref();
        match self.resolve(path) {
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
                self.make_missing(path, Last::File, mode)
            }
            done => done,
        }
    }

    /// The directory that holds `path`'s last component (made with 0755 if
    /// missing) and that component's name, to act on the entry itself
    /// (`mknodat`, `symlinkat`, `unlinkat`) without following it.
    pub fn parent(&self, path: impl AsRef<Path>) -> io::Result<(OwnedFd, OsString)> {
        let path = path.as_ref();
        let Some(Component::Normal(name)) = path.components().next_back() else {
            return Err(Errno::INVAL.into());
        };
        let parent = path.parent().unwrap_or(Path::new("/"));
        Ok((self.mkdir_all(parent, 0o755)?, name.to_owned()))
    }

    /// `openat2(2)` inside the root; retried on `EAGAIN` (a rename raced
    /// with a `..`).
    fn openat2(&self, path: &Path, flags: OFlags) -> io::Result<OwnedFd> {
        let path = relative(path);
        let how = ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS;
        let mut tries = 0;
        loop {
            match rustix::fs::openat2(&self.fd, path, flags | OFlags::CLOEXEC, Mode::empty(), how) {
                Err(Errno::AGAIN) if tries < 16 => tries += 1,
                done => return done.map_err(Into::into),
            }
        }
    }

    /// Makes `path`, which does not resolve. The usual case, only the last
    /// component missing under an existing directory, costs one `openat2`
    /// of the parent, a `mkdirat` (or an `O_CREAT` open) and an open;
    /// anything else (a missing parent, a dangling symlink in the way)
    /// takes the walk of [`Root::make`].
    fn make_missing(&self, path: &Path, last: Last, mode: u32) -> io::Result<OwnedFd> {
        let bytes = path.as_os_str().as_bytes();
        let trimmed = &bytes[..bytes.iter().rposition(|&b| b != b'/').map_or(0, |i| i + 1)];
        let (parent, name) = match trimmed.iter().rposition(|&b| b == b'/') {
            Some(i) => (&trimmed[..i], &trimmed[i + 1..]),
            None => (&b""[..], trimmed),
        };
        if name.is_empty() || name == b"." || name == b".." {
            return self.make(path, last, mode);
        }
        let parent = Path::new(OsStr::from_bytes(parent));
        let Ok(dir) = self.openat2(parent, OFlags::PATH | OFlags::DIRECTORY) else {
            return self.make(path, last, mode);
        };
        match make_leaf(dir.as_fd(), OsStr::from_bytes(name), last, mode) {
            Ok(fd) => Ok(fd),
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => self.make(path, last, mode),
            Err(e) => Err(e),
        }
    }

    /// Creates `path` one component at a time: each opened with
    /// `O_NOFOLLOW` under the fd of the one before, a missing one made
    /// (directory, or `last` for the last), a symlink read and its target
    /// walked instead (from the root if absolute), `..` taken by
    /// resolving the components done so far again inside the root.
    fn make(&self, path: &Path, last: Last, mode: u32) -> io::Result<OwnedFd> {
        let mut pending: Vec<OsString> = names(path.as_os_str().as_bytes());
        pending.reverse();
        let mut done = PathBuf::from("/");
        let mut dir = self.openat2(&done, OFlags::PATH | OFlags::DIRECTORY)?;
        let mut links = 0;
        while let Some(name) = pending.pop() {
            if name == ".." {
                done.pop();
                dir = self.openat2(&done, OFlags::PATH | OFlags::DIRECTORY)?;
                continue;
            }
            // Missing parents are made 0755 (as runc), only the last with `mode`.
            let (kind, m) = if pending.is_empty() {
                (last, mode)
            } else {
                (Last::Dir, 0o755)
            };
            match open_or_make(dir.as_fd(), &name, kind, m)? {
                Entry::Node(fd) => {
                    done.push(&name);
                    dir = fd;
                }
                Entry::Link(target) => {
                    links += 1;
                    if links > MAX_LINKS {
                        return Err(Errno::LOOP.into());
                    }
                    if target.starts_with(b"/") {
                        done = PathBuf::from("/");
                        dir = self.openat2(&done, OFlags::PATH | OFlags::DIRECTORY)?;
                    }
                    pending.extend(names(&target).into_iter().rev());
                }
            }
        }
        Ok(dir)
    }
}

impl AsFd for Root {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// `/proc/self/fd/N`: the path through which `mount(2)` and friends act on
/// exactly the inode an fd refers to (what runc does with its fds).
pub fn fd_path(fd: &impl AsFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_fd().as_raw_fd()))
}

/// `path` without its leading slashes (`openat2` takes it relative to
/// the root fd either way; relative reads better in strace).
fn relative(path: &Path) -> &Path {
    let bytes = path.as_os_str().as_bytes();
    let start = bytes.iter().position(|&b| b != b'/').unwrap_or(bytes.len());
    if start == bytes.len() {
        return Path::new(".");
    }
    Path::new(OsStr::from_bytes(&bytes[start..]))
}

/// The components of a path, without empty ones and `.` (`..` kept).
fn names(path: &[u8]) -> Vec<OsString> {
    path.split(|&b| b == b'/')
        .filter(|c| !c.is_empty() && *c != b".")
        .map(|c| OsStr::from_bytes(c).to_owned())
        .collect()
}

/// Makes `name` in `dir` (as `kind`) and opens it without following it;
/// `EEXIST` when something is there already.
fn make_leaf(dir: BorrowedFd<'_>, name: &OsStr, kind: Last, mode: u32) -> io::Result<OwnedFd> {
    let mode = Mode::from_raw_mode(mode);
    match kind {
        Last::Dir => {
            rustix::fs::mkdirat(dir, name, mode)?;
            let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            Ok(rustix::fs::openat(dir, name, flags, Mode::empty())?)
        }
        Last::File => {
            let flags = OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            Ok(rustix::fs::openat(dir, name, flags, mode)?)
        }
    }
}

/// Opens `name` in `dir` without following it; makes it (as `kind`) when
/// missing; reads it when it is a symlink.
fn open_or_make(dir: BorrowedFd<'_>, name: &OsStr, kind: Last, mode: u32) -> io::Result<Entry> {
    let flags = match kind {
        Last::Dir => OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Last::File => OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
    };
    for _ in 0..16 {
        match rustix::fs::openat(dir, name, flags, Mode::empty()) {
            Ok(fd) => {
                let is_link = matches!(kind, Last::File)
                    && rustix::fs::FileType::from_raw_mode(rustix::fs::fstat(&fd)?.st_mode)
                        == rustix::fs::FileType::Symlink;
                if !is_link {
                    return Ok(Entry::Node(fd));
                }
                return read_link(dir, name).map(Entry::Link);
            }
            // With O_DIRECTORY a symlink fails as "not a directory".
            Err(Errno::NOTDIR) => return read_link(dir, name).map(Entry::Link),
            Err(Errno::NOENT) => {}
            Err(e) => return Err(e.into()),
        }
        let made = match kind {
            Last::Dir => rustix::fs::mkdirat(dir, name, Mode::from_raw_mode(mode)),
            Last::File => {
                let create = OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
                match rustix::fs::openat(dir, name, create, Mode::from_raw_mode(mode)) {
                    Ok(fd) => return Ok(Entry::Node(fd)),
                    Err(e) => Err(e),
                }
            }
        };
        // EEXIST: something raced in; open it (without following) again.
        match made {
            Ok(()) | Err(Errno::EXIST) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Err(Errno::AGAIN.into())
}

/// The target of the symlink `name` in `dir`; `ENOTDIR` when it is not a
/// symlink (a file where a directory is needed).
fn read_link(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<Vec<u8>> {
    match rustix::fs::readlinkat(dir, name, Vec::new()) {
        Ok(target) => Ok(target.into_bytes()),
        Err(Errno::INVAL) => Err(Errno::NOTDIR.into()),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::{symlink, MetadataExt};

    use super::*;

    /// The host path an fd refers to.
    fn where_is(fd: &OwnedFd) -> PathBuf {
        std::fs::read_link(fd_path(fd)).unwrap()
    }

    /// A temp tree with the traps: an absolute link to a host directory,
    /// a `..` escape, a dangling absolute link, a loop and a file.
    fn tree() -> (tempfile::TempDir, tempfile::TempDir) {
        let host = tempfile::Builder::new()
            .prefix("husk-host")
            .tempdir()
            .unwrap();
        let tmp = tempfile::Builder::new()
            .prefix("husk-inroot")
            .tempdir()
            .unwrap();
        let r = tmp.path();
        std::fs::create_dir_all(r.join("a/b")).unwrap();
        std::fs::write(r.join("file"), "").unwrap();
        symlink(host.path(), r.join("abs")).unwrap();
        symlink("../../../../../..", r.join("a/up")).unwrap();
        symlink("/a/b", r.join("a/inside")).unwrap();
        symlink("loop2", r.join("loop1")).unwrap();
        symlink("loop1", r.join("loop2")).unwrap();
        (tmp, host)
    }

    #[test]
    fn resolve_stays_inside() {
        let (tmp, host) = tree();
        let r = tmp.path();
        let root = Root::open(r).unwrap();
        // The host dir exists on the host, not in the tree: not found.
        let err = root.resolve("/abs").unwrap_err();
        assert_eq!(
            err.raw_os_error(),
            Some(libc::ENOENT),
            "{}",
            host.path().display()
        );
        assert_eq!(where_is(&root.resolve("/a/up").unwrap()), r);
        assert_eq!(where_is(&root.resolve("/a/up/a/b").unwrap()), r.join("a/b"));
        assert_eq!(
            where_is(&root.resolve("../../a/inside").unwrap()),
            r.join("a/b")
        );
        assert_eq!(where_is(&root.resolve("/").unwrap()), r);
        assert_eq!(
            where_is(&root.resolve_nofollow("/a/inside").unwrap()),
            r.join("a/inside")
        );
        let err = root.resolve("/loop1").unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ELOOP));
    }

    #[test]
    fn mkdir_all_creates_inside_only() {
        let (tmp, host) = tree();
        let r = tmp.path();
        let root = Root::open(r).unwrap();
        let cases = [
            ("/a/b", r.join("a/b")),
            ("/new/deep/dir", r.join("new/deep/dir")),
            ("/a/up/x", r.join("x")),
            ("/a/../../../y", r.join("y")),
            ("/a/inside/z", r.join("a/b/z")),
        ];
        for (path, want) in cases {
            assert_eq!(
                where_is(&root.mkdir_all(path, 0o755).unwrap()),
                want,
                "{path}"
            );
        }
        // The dangling absolute link itself, then through it: made inside,
        // at its target.
        let target = r.join(host.path().strip_prefix("/").unwrap());
        assert_eq!(where_is(&root.mkdir_all("/abs", 0o755).unwrap()), target);
        let inside = target.join("m");
        assert_eq!(where_is(&root.mkdir_all("/abs/m", 0o755).unwrap()), inside);
        assert_eq!(
            std::fs::read_dir(host.path()).unwrap().count(),
            0,
            "host untouched"
        );
        let e = root.mkdir_all("/file/sub", 0o755).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ENOTDIR));
        let e = root.mkdir_all("/loop1/sub", 0o755).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ELOOP));
    }

    #[test]
    fn create_file_and_parent() {
        let (tmp, host) = tree();
        let r = tmp.path();
        let root = Root::open(r).unwrap();
        let fd = root.create_file("/abs/f", 0o644).unwrap();
        let made = r.join(host.path().strip_prefix("/").unwrap()).join("f");
        assert_eq!(where_is(&fd), made);
        assert!(made.metadata().unwrap().is_file());
        assert!(!host.path().join("f").exists());
        // An existing file is reused, not replaced.
        let ino = r.join("file").metadata().unwrap().ino();
        let fd = root.create_file("/a/up/file", 0o644).unwrap();
        assert_eq!(rustix::fs::fstat(&fd).unwrap().st_ino, ino);
        let (dir, name) = root.parent("/a/up/dev/null").unwrap();
        assert_eq!(
            (where_is(&dir), name.as_os_str()),
            (r.join("dev"), OsStr::new("null"))
        );
        assert!(root.parent("/").is_err());
        assert!(root.parent("/a/..").is_err());
    }
}
