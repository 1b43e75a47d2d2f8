//! User and group ids in the entered namespaces.

use husk_sys::creds;

use super::EnterError;

/// The ids to switch to after entering, with util-linux's rules.
///
/// Entering a user namespace without `preserve` switches to uid and gid 0
/// (unless given) and drops supplementary groups: the caller's ids usually
/// mean nothing there. Groups are dropped twice, before entering (the
/// caller may lose the right to, e.g. a root caller moving into a user
/// namespace whose `setgroups` is `deny`) and after; only both failing is
/// an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    uid: Option<u32>,
    gid: Option<u32>,
    early_drop_failed: Option<bool>,
}

impl Credentials {
    /// Ids to switch to: `uid`/`gid` as asked (`nsenter -S/-G`), both
    /// defaulting to 0 when `enters_user` and not `preserve`.
    pub fn plan(
        enters_user: bool,
        preserve: bool,
        uid: Option<u32>,
        gid: Option<u32>,
    ) -> Credentials {
        let reset = enters_user && !preserve;
        Credentials {
            uid: uid.or(reset.then_some(0)),
            gid: gid.or(reset.then_some(0)),
            early_drop_failed: reset.then_some(false),
        }
    }

    /// The uid [`apply`](Credentials::apply) switches to.
    pub fn uid(&self) -> Option<u32> {
        self.uid
    }

    /// The gid [`apply`](Credentials::apply) switches to.
    pub fn gid(&self) -> Option<u32> {
        self.gid
    }

    /// Before entering: drops supplementary groups if a user namespace is
    /// entered without `preserve`, remembering a failure for later.
    pub fn drop_groups_early(&mut self) {
        if let Some(failed) = &mut self.early_drop_failed {
            *failed = creds::drop_supplementary_groups().is_err();
        }
    }

    /// After entering (and forking): with a gid, drops supplementary groups
    /// and sets it; with a uid, sets it.
    pub fn apply(&self) -> Result<(), EnterError> {
        if let Some(gid) = self.gid {
            if let Err(e) = creds::drop_supplementary_groups() {
                if self.early_drop_failed == Some(true) {
                    return Err(EnterError::Setgroups(e));
                }
            }
            creds::set_gid(gid).map_err(EnterError::Setgid)?;
        }
        if let Some(uid) = self.uid {
            creds::set_uid(uid).map_err(EnterError::Setuid)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entering_a_user_namespace_defaults_to_root_ids() {
        let c = Credentials::plan(true, false, None, Some(5));
        assert_eq!((c.uid(), c.gid()), (Some(0), Some(5)));
        let c = Credentials::plan(true, true, None, None);
        assert_eq!((c.uid(), c.gid()), (None, None));
        let c = Credentials::plan(false, false, Some(7), None);
        assert_eq!((c.uid(), c.gid()), (Some(7), None));
    }
}
