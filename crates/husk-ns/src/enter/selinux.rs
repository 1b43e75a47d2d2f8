//! `nsenter -Z`: run the program in the SELinux context of the target.

use std::path::Path;

use super::EnterError;

/// `SELINUX_MAGIC` from `<linux/magic.h>`: `statfs.f_type` of selinuxfs.
const SELINUX_MAGIC: i64 = 0xf97c_ff8c;

/// Makes the next `execve` run in the SELinux context of process `pid`,
/// as libselinux's `getpidcon` + `setexeccon` do (through
/// `/proc/PID/attr/current` and `/proc/thread-self/attr/exec`).
///
/// Does nothing, successfully, when SELinux is not enabled (no selinuxfs
/// at `/sys/fs/selinux`), as util-linux does.
pub fn follow_selinux_context(pid: u32) -> Result<(), EnterError> {
    if !selinux_enabled() {
        return Ok(());
    }
    let raw = std::fs::read(format!("/proc/{pid}/attr/current"))
        .map_err(|source| EnterError::SelinuxGet { pid, source })?;
    let context = String::from_utf8_lossy(&raw)
        .trim_end_matches(['\0', '\n'])
        .to_owned();
    std::fs::write("/proc/thread-self/attr/exec", context.as_bytes())
        .map_err(|source| EnterError::SelinuxSet { context, source })
}

/// Whether SELinux is enabled: selinuxfs is mounted at `/sys/fs/selinux`.
pub fn selinux_enabled() -> bool {
    // `f_type` is i64 on x86_64 but narrower on other targets.
    #[allow(clippy::useless_conversion)]
    rustix::fs::statfs(Path::new("/sys/fs/selinux"))
        .map(|st| i64::from(st.f_type) == SELINUX_MAGIC)
        .unwrap_or(false)
}
