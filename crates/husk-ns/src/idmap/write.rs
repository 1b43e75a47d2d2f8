//! Writing maps: directly to `/proc/PID/{uid,gid}_map` when privileged,
//! or through the setuid `newuidmap`/`newgidmap` helpers when not.
//!
//! Every function takes the process's proc directory (`/proc/PID` or
//! `/proc/self`), so tests can point it at a temp dir.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use super::{IdKind, IdMap, IdMapError};

/// The two words `/proc/PID/setgroups` takes (user_namespaces(7)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetGroups {
    /// `setgroups(2)` stays allowed inside the namespace.
    Allow,
    /// `setgroups(2)` is refused; needed before an unprivileged `gid_map`.
    Deny,
}

impl SetGroups {
    /// `allow` or `deny`.
    pub const fn as_str(self) -> &'static str {
        match self {
            SetGroups::Allow => "allow",
            SetGroups::Deny => "deny",
        }
    }
}

impl std::str::FromStr for SetGroups {
    type Err = String;
    fn from_str(s: &str) -> Result<SetGroups, String> {
        match s {
            "allow" => Ok(SetGroups::Allow),
            "deny" => Ok(SetGroups::Deny),
            other => Err(format!("unsupported --setgroups argument '{other}'")),
        }
    }
}

fn write_once(path: &Path, text: &str) -> Result<(), IdMapError> {
    let fail = |source| IdMapError::Write {
        path: path.to_owned(),
        source,
    };
    // The kernel takes a map in a single write(2): build it whole first.
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(fail)?;
    file.write_all(text.as_bytes()).map_err(fail)
}

/// Writes `map` to `PROC_DIR/uid_map` (or `gid_map`) in one write.
///
/// Needs `CAP_SETUID`/`CAP_SETGID` over the parent user namespace, except
/// for the one line an unprivileged process may write for itself (its own
/// euid/egid, count 1; for gids only after [`write_setgroups`] `Deny`).
pub fn write_map(proc_dir: &Path, kind: IdKind, map: &IdMap) -> Result<(), IdMapError> {
    write_once(&proc_dir.join(kind.map_file()), &map.to_string())
}

/// Writes `allow` or `deny` to `PROC_DIR/setgroups`. A kernel without the
/// file (before 3.19) needs nothing, so a missing file is not an error.
pub fn write_setgroups(proc_dir: &Path, value: SetGroups) -> Result<(), IdMapError> {
    match write_once(&proc_dir.join("setgroups"), value.as_str()) {
        Err(IdMapError::Write { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            Ok(())
        }
        other => other,
    }
}

/// Runs `newuidmap PID INNER OUTER COUNT...` (or `newgidmap`), which checks
/// the ranges against `/etc/subuid` and writes them with its setuid power.
/// Its stderr is captured: on failure its reason becomes part of the one
/// error line ([`IdMapError::HelperFailed`]) instead of a line of its own.
pub fn run_helper(kind: IdKind, pid: u32, map: &IdMap) -> Result<(), IdMapError> {
    let tool = kind.helper();
    let out = Command::new(tool)
        .arg(pid.to_string())
        .args(map.helper_args())
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|source| IdMapError::HelperExec { tool, source })?;
    if out.status.success() {
        return Ok(());
    }
    use std::os::unix::process::ExitStatusExt;
    let code = out
        .status
        .code()
        .or_else(|| out.status.signal().map(|s| 128 + s))
        .unwrap_or(1);
    Err(IdMapError::HelperFailed {
        tool,
        status: code,
        why: one_line(tool, &String::from_utf8_lossy(&out.stderr)),
    })
}

/// A helper's stderr as one line: its lines joined with `; `, each without
/// the `newuidmap: ` prefix the tool puts on its own messages.
pub(crate) fn one_line(tool: &str, text: &str) -> String {
    let prefix = format!("{tool}: ");
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| l.strip_prefix(prefix.as_str()).unwrap_or(l))
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idmap::IdRange;

    #[test]
    fn helper_stderr_becomes_one_line() {
        let text = "newuidmap: uid range [0-1) -> [1-2) not allowed\n";
        assert_eq!(
            one_line("newuidmap", text),
            "uid range [0-1) -> [1-2) not allowed"
        );
        assert_eq!(one_line("newgidmap", "a\n\nnewgidmap: b\n"), "a; b");
        assert_eq!(one_line("newuidmap", ""), "");
    }

    #[test]
    fn writes_map_and_setgroups_into_a_proc_dir() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("uid_map"), "").unwrap();
        std::fs::write(dir.path().join("setgroups"), "").unwrap();
        let map = IdMap::from(vec![IdRange::single(0, 1000)]);
        write_map(dir.path(), IdKind::Uid, &map).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("uid_map")).unwrap(),
            "0 1000 1\n"
        );
        write_setgroups(dir.path(), SetGroups::Deny).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("setgroups")).unwrap(),
            "deny"
        );
        // No gid_map file: the error names the file.
        let err = write_map(dir.path(), IdKind::Gid, &map).unwrap_err();
        assert!(err.to_string().ends_with("/gid_map"), "{err}");
        // No setgroups file (old kernel) is fine.
        let empty = tempfile::tempdir().unwrap();
        write_setgroups(empty.path(), SetGroups::Deny).unwrap();
    }
}
