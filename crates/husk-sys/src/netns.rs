//! The two `unshare(2)` calls network-namespace code needs.
//!
//! rustix marks `unshare` unsafe as a whole because some flags
//! (`CLONE_FILES`, `CLONE_FS`) change state other threads rely on; the two
//! flags here only give the calling thread a new namespace of its own.

use std::io;

use crate::cvt;

/// `unshare(CLONE_NEWNET)`: moves the calling thread into a new, empty
/// network namespace (only `lo`, down). Needs `CAP_SYS_ADMIN`.
pub fn unshare_net() -> io::Result<()> {
    // SAFETY: CLONE_NEWNET only changes the calling thread's network
    // namespace; no memory, fd table or fs state shared with other threads
    // is touched, and no pointer is passed.
    cvt(unsafe { libc::unshare(libc::CLONE_NEWNET) })?;
    Ok(())
}

/// `unshare(CLONE_NEWNS)`: gives the calling thread a private copy of its
/// mount namespace. The kernel refuses (`EINVAL`) if the thread shares its
/// fs state (`CLONE_FS`) with other threads, so call it single-threaded.
pub fn unshare_mount() -> io::Result<()> {
    // SAFETY: CLONE_NEWNS copies the mount table for the calling thread only
    // (the kernel checks that fs state is not shared); no memory or fd is
    // touched and no pointer is passed.
    cvt(unsafe { libc::unshare(libc::CLONE_NEWNS) })?;
    Ok(())
}
