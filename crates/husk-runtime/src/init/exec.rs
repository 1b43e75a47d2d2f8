//! The last steps of init: the program to run, the working directory,
//! waiting for `start`, and `execve`.

use std::ffi::OsString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use husk_sys::exec::Prepared;
use oci_spec::runtime::Process;

use crate::msg::{StageError, Step};

const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// `process.args` with `args[0]` resolved on the container's `PATH`, and
/// `process.env` (plus `HOME` when it has none), ready to exec.
#[derive(Debug)]
pub(super) struct Program {
    prepared: Prepared,
    env: Vec<(OsString, OsString)>,
    path: PathBuf,
}

impl Program {
    /// Resolves `args[0]` inside the container (init has already pivoted),
    /// so a missing program fails `create`, not `start`.
    pub(super) fn find(process: &Process) -> Result<Program, StageError> {
        let args = process.args().clone().unwrap_or_default();
        let mut env: Vec<(OsString, OsString)> = process
            .env()
            .iter()
            .flatten()
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        if !env.iter().any(|(k, _)| k == "HOME") {
            // As runc and crun: the user's home from the container's
            // passwd file, else `/` (containerd's specs leave HOME out).
            let home = home_of(Path::new("/etc/passwd"), process.user().uid());
            env.push(("HOME".into(), home.unwrap_or_else(|| "/".into()).into()));
        }
        let search = env
            .iter()
            .find(|(k, _)| k == "PATH")
            .map(|(_, v)| v.to_string_lossy().into_owned())
            .unwrap_or_else(|| DEFAULT_PATH.to_owned());
        let path = lookup(&args[0], &search).map_err(|errno| {
            // Not found: "executable file not found" (podman: 127); found
            // but not an executable file: "Permission denied" (126), as runc.
            let step = if errno == libc::EACCES {
                Step::Exec
            } else {
                Step::Executable
            };
            StageError::new(step, &args[0], std::io::Error::from_raw_os_error(errno))
        })?;
        let prepared =
            Prepared::new(&path, &args).map_err(|e| StageError::new(Step::Exec, &args[0], e))?;
        Ok(Program {
            prepared,
            env,
            path,
        })
    }

    /// Replaces the environment with `process.env` and execs; returns only
    /// on failure.
    pub(super) fn exec(self) -> StageError {
        for (k, _) in std::env::vars_os() {
            std::env::remove_var(k);
        }
        for (k, v) in &self.env {
            std::env::set_var(k, v);
        }
        StageError::new(Step::Exec, self.path.display(), self.prepared.exec())
    }
}

fn is_executable(p: &Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// `args[0]` as runc finds it: with a `/`, as is (`ENOENT` if missing,
/// `EACCES` if not an executable file: a directory, no `x` bit); else the
/// first executable file of that name on `search` (`ENOENT` if none).
fn lookup(arg0: &str, search: &str) -> Result<PathBuf, i32> {
    if arg0.contains('/') {
        let p = PathBuf::from(arg0);
        return match std::fs::metadata(&p) {
            Ok(_) if is_executable(&p) => Ok(p),
            Ok(_) => Err(libc::EACCES),
            Err(e) => Err(e.raw_os_error().unwrap_or(libc::ENOENT)),
        };
    }
    search
        .split(':')
        .map(|dir| Path::new(if dir.is_empty() { "." } else { dir }).join(arg0))
        .find(|p| is_executable(p))
        .ok_or(libc::ENOENT)
}

/// The home directory of `uid` in a passwd file (`name:pw:uid:gid:gecos:home:shell`).
fn home_of(passwd: &Path, uid: u32) -> Option<String> {
    let text = std::fs::read_to_string(passwd).ok()?;
    text.lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() >= 6 && f[2].parse() == Ok(uid))
        .map(|f| f[5].to_owned())
        .filter(|h| !h.is_empty())
}

/// Changes to `process.cwd` (made if missing, as runc does) and checks the
/// result is inside the container's root: `getcwd` fails with `ENOENT` for
/// a directory outside it, which a leaked fd would give (CVE-2024-21626).
pub(super) fn change_dir(process: &Process) -> Result<(), StageError> {
    let cwd = process.cwd();
    let fail = |e: std::io::Error| StageError::new(Step::Cwd, cwd.display(), e);
    if !cwd.exists() {
        std::fs::create_dir_all(cwd).map_err(fail)?;
    }
    std::env::set_current_dir(cwd).map_err(fail)?;
    let now = rustix::process::getcwd(Vec::new()).map_err(|e| fail(e.into()))?;
    if !now.as_bytes().starts_with(b"/") {
        return Err(fail(std::io::Error::from_raw_os_error(libc::ENOENT)));
    }
    Ok(())
}

/// Blocks until `start` opens the exec FIFO for reading, runs `then` (the
/// `startContainer` hooks: `start` waits for them, so they come before
/// `poststart` and their failure fails `start`), then writes one byte for
/// `start`. The FIFO is reopened through `/proc/self/fd`: its host path is
/// out of reach after `pivot_root`.
pub(super) fn wait_for_start(
    fifo: &OwnedFd,
    then: impl FnOnce() -> Result<(), StageError>,
) -> Result<(), StageError> {
    let path = format!("/proc/self/fd/{}", fifo.as_raw_fd());
    let fail = |e: std::io::Error| StageError::new(Step::Fifo, "exec.fifo", e);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .map_err(fail)?;
    then()?;
    std::io::Write::write_all(&mut f, b"0").map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_table() {
        assert_eq!(
            lookup("sh", "/nonexistent:/bin"),
            Ok(PathBuf::from("/bin/sh"))
        );
        assert_eq!(lookup("/bin/sh", ""), Ok(PathBuf::from("/bin/sh")));
        assert_eq!(
            lookup("no-such-program-husk", "/bin:/usr/bin"),
            Err(libc::ENOENT)
        );
        assert_eq!(lookup("/no/such/husk", ""), Err(libc::ENOENT));
        assert_eq!(lookup("/etc/passwd", ""), Err(libc::EACCES));
        assert_eq!(lookup("/etc", ""), Err(libc::EACCES));
        assert_eq!(lookup("passwd", "/etc"), Err(libc::ENOENT));
    }

    #[test]
    fn home_comes_from_the_passwd_file() {
        let dir = tempfile::tempdir().unwrap();
        let passwd = dir.path().join("passwd");
        std::fs::write(
            &passwd,
            "root:x:0:0:root:/root:/bin/sh\nbad line\nnohome:x:7:7:::/bin/sh\nu:x:1000:1000::/home/u:/bin/sh\n",
        )
        .unwrap();
        assert_eq!(home_of(&passwd, 0).as_deref(), Some("/root"));
        assert_eq!(home_of(&passwd, 1000).as_deref(), Some("/home/u"));
        assert_eq!(home_of(&passwd, 7), None);
        assert_eq!(home_of(&passwd, 42), None);
        assert_eq!(home_of(&dir.path().join("none"), 0), None);
    }
}
