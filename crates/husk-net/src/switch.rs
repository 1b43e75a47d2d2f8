//! [`NetnsSwitch`]: the calling thread in another network namespace for a
//! while, back in its own on Drop.

use husk_ns::{Namespace, NsError, NsKind};

/// The calling thread's network namespace is changed while this lives.
///
/// `setns(CLONE_NEWNET)` is per thread and allowed in multi-threaded
/// processes, so this is safe to use from any thread; the thread's own
/// namespace (`/proc/thread-self/ns/net`, not `/proc/self`, which is the
/// main thread's) is restored on [`restore`](NetnsSwitch::restore) or Drop.
#[derive(Debug)]
pub(crate) struct NetnsSwitch {
    home: Option<Namespace>,
}

impl NetnsSwitch {
    fn home() -> Result<Namespace, NsError> {
        Namespace::open_kind("/proc/thread-self/ns/net", NsKind::Net)
    }

    /// Steps into `ns`.
    pub(crate) fn enter(ns: &Namespace) -> Result<NetnsSwitch, NsError> {
        let home = NetnsSwitch::home()?;
        ns.enter()?;
        Ok(NetnsSwitch { home: Some(home) })
    }

    /// Steps into a new, empty network namespace (`unshare(CLONE_NEWNET)`).
    pub(crate) fn enter_new() -> Result<NetnsSwitch, crate::netns::NetnsError> {
        let home = NetnsSwitch::home().map_err(crate::netns::NetnsError::Switch)?;
        husk_sys::unshare::unshare_namespaces(libc::CLONE_NEWNET)
            .map_err(crate::netns::NetnsError::Unshare)?;
        Ok(NetnsSwitch { home: Some(home) })
    }

    /// Steps back, reporting a failure (Drop would only ignore it).
    pub(crate) fn restore(mut self) -> Result<(), NsError> {
        match self.home.take() {
            Some(home) => home.enter(),
            None => Ok(()),
        }
    }
}

impl Drop for NetnsSwitch {
    fn drop(&mut self) {
        if let Some(home) = self.home.take() {
            let _ = home.enter();
        }
    }
}
