//! The eight namespace types.

use std::fmt;
use std::str::FromStr;

/// One of the eight Linux namespace types.
///
/// The order of [`NsKind::ALL`] is the order util-linux `lsns` uses for its
/// types; keep it so output that iterates kinds matches.
///
/// ```
/// use husk_ns::NsKind;
/// let kind = NsKind::Mnt;
/// assert_eq!(kind.proc_name(), "mnt"); // /proc/PID/ns/mnt, lsns TYPE
/// assert_eq!(kind.option_name(), "mount"); // unshare --mount
/// assert_eq!(kind.option_letter(), 'm');
/// assert_eq!(kind.clone_flag(), libc::CLONE_NEWNS);
/// assert_eq!(NsKind::from_clone_flag(libc::CLONE_NEWNET), Some(NsKind::Net));
/// assert_eq!(NsKind::ALL[0], NsKind::Mnt);
/// assert!(NsKind::Pid.for_children_only());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NsKind {
    /// Mount points (`CLONE_NEWNS`).
    Mnt,
    /// Network stack (`CLONE_NEWNET`).
    Net,
    /// Process ids (`CLONE_NEWPID`).
    Pid,
    /// Hostname and NIS domain name (`CLONE_NEWUTS`).
    Uts,
    /// System V IPC and POSIX message queues (`CLONE_NEWIPC`).
    Ipc,
    /// User and group ids, capabilities (`CLONE_NEWUSER`).
    User,
    /// cgroup root directory (`CLONE_NEWCGROUP`).
    Cgroup,
    /// Monotonic and boot-time clock offsets (`CLONE_NEWTIME`).
    Time,
}

/// The name given was not one of the eight namespace types.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown namespace type: {0}")]
pub struct ParseKindError(pub String);

impl NsKind {
    /// All eight kinds, in util-linux `lsns` order.
    pub const ALL: [NsKind; 8] = [
        NsKind::Mnt,
        NsKind::Net,
        NsKind::Pid,
        NsKind::Uts,
        NsKind::Ipc,
        NsKind::User,
        NsKind::Cgroup,
        NsKind::Time,
    ];

    /// The order util-linux `nsenter` and `unshare` walk namespaces in
    /// (their `namespace_files[]`): user first, so that it can be entered
    /// before the others, mount late, so `/proc` paths still resolve.
    pub const UTIL_LINUX_ORDER: [NsKind; 8] = [
        NsKind::User,
        NsKind::Cgroup,
        NsKind::Ipc,
        NsKind::Uts,
        NsKind::Net,
        NsKind::Pid,
        NsKind::Mnt,
        NsKind::Time,
    ];

    /// The file name under `/proc/PID/ns/` and the type name `lsns` prints.
    pub const fn proc_name(self) -> &'static str {
        match self {
            NsKind::Mnt => "mnt",
            NsKind::Net => "net",
            NsKind::Pid => "pid",
            NsKind::Uts => "uts",
            NsKind::Ipc => "ipc",
            NsKind::User => "user",
            NsKind::Cgroup => "cgroup",
            NsKind::Time => "time",
        }
    }

    /// The long option name `unshare`/`nsenter` use (`--mount`, `--net`, ...).
    pub const fn option_name(self) -> &'static str {
        match self {
            NsKind::Mnt => "mount",
            other => other.proc_name(),
        }
    }

    /// The short option `unshare`/`nsenter` use (`-m`, `-U`, ...).
    pub const fn option_letter(self) -> char {
        match self {
            NsKind::Mnt => 'm',
            NsKind::Uts => 'u',
            NsKind::Ipc => 'i',
            NsKind::Net => 'n',
            NsKind::Pid => 'p',
            NsKind::User => 'U',
            NsKind::Cgroup => 'C',
            NsKind::Time => 'T',
        }
    }

    /// The kind whose short option is `letter`.
    pub fn from_option_letter(letter: char) -> Option<NsKind> {
        NsKind::ALL
            .into_iter()
            .find(|k| k.option_letter() == letter)
    }

    /// The `CLONE_NEW*` flag for this kind.
    pub const fn clone_flag(self) -> i32 {
        match self {
            NsKind::Mnt => libc::CLONE_NEWNS,
            NsKind::Net => libc::CLONE_NEWNET,
            NsKind::Pid => libc::CLONE_NEWPID,
            NsKind::Uts => libc::CLONE_NEWUTS,
            NsKind::Ipc => libc::CLONE_NEWIPC,
            NsKind::User => libc::CLONE_NEWUSER,
            NsKind::Cgroup => libc::CLONE_NEWCGROUP,
            NsKind::Time => libc::CLONE_NEWTIME,
        }
    }

    /// The kind whose `CLONE_NEW*` flag is exactly `flag`.
    pub fn from_clone_flag(flag: i32) -> Option<NsKind> {
        NsKind::ALL.into_iter().find(|k| k.clone_flag() == flag)
    }

    /// Whether the namespace applies to children only: after `unshare`, the
    /// caller stays where it was and its next child is created inside
    /// (pid and time namespaces, read at `/proc/PID/ns/*_for_children`).
    pub const fn for_children_only(self) -> bool {
        matches!(self, NsKind::Pid | NsKind::Time)
    }
}

impl fmt::Display for NsKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.proc_name())
    }
}

impl FromStr for NsKind {
    type Err = ParseKindError;

    /// Accepts the `/proc` name (`mnt`) and the option name (`mount`).
    ///
    /// ```
    /// use husk_ns::{NsKind, ParseKindError};
    /// assert_eq!("mnt".parse::<NsKind>(), Ok(NsKind::Mnt));
    /// assert_eq!("mount".parse::<NsKind>(), Ok(NsKind::Mnt));
    /// assert_eq!("cgroup".parse::<NsKind>(), Ok(NsKind::Cgroup));
    /// let err = "mounts".parse::<NsKind>().unwrap_err();
    /// assert_eq!(err, ParseKindError("mounts".into()));
    /// assert_eq!(err.to_string(), "unknown namespace type: mounts");
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        NsKind::ALL
            .into_iter()
            .find(|k| k.proc_name() == s || k.option_name() == s)
            .ok_or_else(|| ParseKindError(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for kind in NsKind::ALL {
            assert_eq!(kind.proc_name().parse::<NsKind>(), Ok(kind));
            assert_eq!(kind.option_name().parse::<NsKind>(), Ok(kind));
            assert_eq!(NsKind::from_clone_flag(kind.clone_flag()), Some(kind));
        }
        assert_eq!("mount".parse::<NsKind>(), Ok(NsKind::Mnt));
        assert!("nope".parse::<NsKind>().is_err());
    }

    #[test]
    fn flags_are_distinct() {
        let mut all = 0;
        for kind in NsKind::ALL {
            assert_eq!(all & kind.clone_flag(), 0, "{kind} overlaps");
            all |= kind.clone_flag();
        }
    }
}
