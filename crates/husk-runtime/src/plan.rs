//! The [`Plan`]: everything `create` will do, computed from the config
//! before the first fork, as plain data that tests can inspect.

use std::path::PathBuf;

use husk_ns::idmap::{IdMap, IdRange};
use husk_ns::time::{Clock, TimeOffset};
use oci_spec::runtime::{LinuxNamespaceType, Spec};

/// The config asks for something that cannot be done.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlanError {
    /// A namespace type appears twice in `linux.namespaces`.
    #[error("linux.namespaces: duplicate namespace \"{0}\"")]
    DuplicateNamespace(String),
    /// `uidMappings`/`gidMappings` without a new user namespace.
    #[error("linux.uidMappings/gidMappings need a new user namespace")]
    MappingsWithoutUserns,
    /// A new user namespace without both maps.
    #[error(
        "linux.namespaces: a new user namespace needs linux.uidMappings and linux.gidMappings"
    )]
    UsernsWithoutMappings,
    /// `hostname` or `domainname` without a new UTS namespace.
    #[error("{0}: setting it needs a new uts namespace")]
    NeedsUts(&'static str),
    /// `timeOffsets` without a new time namespace, or an unknown clock.
    #[error("linux.timeOffsets: {0}")]
    TimeOffsets(String),
    /// A mount without a destination inside the container.
    #[error("mounts: destination \"{0}\" is not absolute")]
    MountDestination(PathBuf),
}

/// A namespace to join: its clone flag and the file naming it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Join {
    /// `CLONE_NEW*`.
    pub flag: i32,
    /// The namespace file (`/proc/PID/ns/net`, a bind mount).
    pub path: PathBuf,
}

/// One entry of `mounts`, with its options sorted out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountStep {
    /// Destination inside the container (absolute).
    pub dest: PathBuf,
    /// Filesystem type (`proc`, `tmpfs`; `bind` for binds).
    pub fstype: String,
    /// Source (a path for binds).
    pub source: String,
    /// `MS_*` flags (including `MS_BIND|MS_REC` for `rbind`).
    pub flags: u64,
    /// Propagation flags to apply afterwards (`MS_PRIVATE|MS_REC`...).
    pub propagation: u64,
    /// Filesystem data (`mode=755,size=65536k`).
    pub data: String,
    /// `tmpcopyup` (runc's extension, podman's `--read-only` tmpfs mounts):
    /// the new tmpfs starts with a copy of what the directory held.
    pub copy_up: bool,
}

impl MountStep {
    /// Whether this is a bind mount.
    pub fn is_bind(&self) -> bool {
        self.flags & libc::MS_BIND != 0
    }
}

/// What `create` will do, in the order it does it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Namespaces to join, user first (its rights are needed for the rest).
    pub joins: Vec<Join>,
    /// Whether init makes a new user namespace (before the others).
    pub new_user: bool,
    /// uid map the runtime writes for the new user namespace.
    pub uid_map: IdMap,
    /// gid map likewise.
    pub gid_map: IdMap,
    /// `CLONE_NEW*` flags of the other namespaces to create.
    pub new_flags: i32,
    /// A second fork is needed: init must be the first process of a new
    /// (or joined) pid namespace, which `unshare`/`setns` give only to children.
    pub second_fork: bool,
    /// Offsets written before that fork, for a new time namespace.
    pub time_offsets: Vec<TimeOffset>,
    /// `mounts`, in order.
    pub mounts: Vec<MountStep>,
    /// Whether the container has its own mount namespace (else no rootfs setup).
    pub new_mount: bool,
}

fn has(flags: i32, ns: LinuxNamespaceType) -> bool {
    flags & ns as i32 != 0
}

/// Computes the plan of `spec`. Pure: reads nothing but the config.
pub fn plan(spec: &Spec) -> Result<Plan, PlanError> {
    // Borrowed: a clone would deep-copy the whole section (seccomp rules,
    // resources, devices) to read its namespaces and maps.
    let default;
    let linux = match spec.linux() {
        Some(linux) => linux,
        None => {
            default = oci_spec::runtime::Linux::default();
            &default
        }
    };
    let (joins, new_all) = namespaces(linux)?;
    let new_user = has(new_all, LinuxNamespaceType::User);
    let uid_map = id_map(linux.uid_mappings());
    let gid_map = id_map(linux.gid_mappings());
    if new_user && (uid_map.is_empty() || gid_map.is_empty()) {
        return Err(PlanError::UsernsWithoutMappings);
    }
    if !new_user && (!uid_map.is_empty() || !gid_map.is_empty()) {
        return Err(PlanError::MappingsWithoutUserns);
    }
    let new_flags = new_all & !(LinuxNamespaceType::User as i32);
    let uts = has(new_flags, LinuxNamespaceType::Uts);
    if spec.hostname().as_ref().is_some_and(|h| !h.is_empty()) && !uts {
        return Err(PlanError::NeedsUts("hostname"));
    }
    if spec.domainname().as_ref().is_some_and(|h| !h.is_empty()) && !uts {
        return Err(PlanError::NeedsUts("domainname"));
    }
    let time_offsets = offsets(linux, has(new_flags, LinuxNamespaceType::Time))?;
    let pid_flag = LinuxNamespaceType::Pid as i32;
    let second_fork =
        has(new_flags, LinuxNamespaceType::Pid) || joins.iter().any(|j| j.flag == pid_flag);
    let mounts = spec
        .mounts()
        .iter()
        .flatten()
        .map(mount_step)
        .collect::<Result<_, _>>()?;
    Ok(Plan {
        joins,
        new_user,
        uid_map,
        gid_map,
        new_flags,
        second_fork,
        time_offsets,
        mounts,
        new_mount: has(new_flags, LinuxNamespaceType::Mount),
    })
}

/// Splits `linux.namespaces` into joins (user first) and new-namespace flags.
fn namespaces(linux: &oci_spec::runtime::Linux) -> Result<(Vec<Join>, i32), PlanError> {
    let mut joins = Vec::new();
    let mut seen = 0;
    let mut new = 0;
    for ns in linux.namespaces().iter().flatten() {
        let flag = ns.typ() as i32;
        if seen & flag != 0 {
            return Err(PlanError::DuplicateNamespace(ns.typ().to_string()));
        }
        seen |= flag;
        match ns.path() {
            Some(path) if !path.as_os_str().is_empty() => joins.push(Join {
                flag,
                path: path.clone(),
            }),
            _ => new |= flag,
        }
    }
    let user = LinuxNamespaceType::User as i32;
    joins.sort_by_key(|j| j.flag != user);
    Ok((joins, new))
}

fn id_map(mappings: &Option<Vec<oci_spec::runtime::LinuxIdMapping>>) -> IdMap {
    let ranges = mappings.iter().flatten().map(|m| IdRange {
        inner: m.container_id(),
        outer: m.host_id(),
        count: m.size(),
    });
    IdMap::from(ranges.collect::<Vec<_>>())
}

fn offsets(linux: &oci_spec::runtime::Linux, new_time: bool) -> Result<Vec<TimeOffset>, PlanError> {
    let Some(map) = linux.time_offsets() else {
        return Ok(Vec::new());
    };
    if !new_time && !map.is_empty() {
        return Err(PlanError::TimeOffsets("needs a new time namespace".into()));
    }
    let mut out = Vec::new();
    for (clock, off) in map {
        let clock = match clock.as_str() {
            "monotonic" => Clock::Monotonic,
            "boottime" => Clock::Boottime,
            other => return Err(PlanError::TimeOffsets(format!("unknown clock \"{other}\""))),
        };
        if off.nanosecs().unwrap_or(0) != 0 {
            return Err(PlanError::TimeOffsets("nanosecs are not supported".into()));
        }
        out.push(TimeOffset {
            clock,
            seconds: off.secs().unwrap_or(0),
        });
    }
    out.sort_by_key(|o| o.clock.id());
    Ok(out)
}

/// What one mount option means: flags to set or clear, propagation, or data.
fn mount_option(opt: &str) -> Option<(bool, u64)> {
    use libc::*;
    Some(match opt {
        "ro" => (true, MS_RDONLY),
        "rw" => (false, MS_RDONLY),
        "nosuid" => (true, MS_NOSUID),
        "suid" => (false, MS_NOSUID),
        "nodev" => (true, MS_NODEV),
        "dev" => (false, MS_NODEV),
        "noexec" => (true, MS_NOEXEC),
        "exec" => (false, MS_NOEXEC),
        "sync" => (true, MS_SYNCHRONOUS),
        "async" => (false, MS_SYNCHRONOUS),
        "dirsync" => (true, MS_DIRSYNC),
        "remount" => (true, MS_REMOUNT),
        "mand" => (true, MS_MANDLOCK),
        "nomand" => (false, MS_MANDLOCK),
        "atime" => (false, MS_NOATIME),
        "noatime" => (true, MS_NOATIME),
        "diratime" => (false, MS_NODIRATIME),
        "nodiratime" => (true, MS_NODIRATIME),
        "bind" => (true, MS_BIND),
        "rbind" => (true, MS_BIND | MS_REC),
        "relatime" => (true, MS_RELATIME),
        "norelatime" => (false, MS_RELATIME),
        "strictatime" => (true, MS_STRICTATIME),
        "nostrictatime" => (false, MS_STRICTATIME),
        "silent" => (true, MS_SILENT),
        "loud" => (false, MS_SILENT),
        _ => return None,
    })
}

fn propagation_option(opt: &str) -> Option<u64> {
    use libc::*;
    Some(match opt {
        "private" => MS_PRIVATE,
        "rprivate" => MS_PRIVATE | MS_REC,
        "shared" => MS_SHARED,
        "rshared" => MS_SHARED | MS_REC,
        "slave" => MS_SLAVE,
        "rslave" => MS_SLAVE | MS_REC,
        "unbindable" => MS_UNBINDABLE,
        "runbindable" => MS_UNBINDABLE | MS_REC,
        _ => return None,
    })
}

/// Sorts out one `mounts` entry; `type: bind` or a `bind` option make a bind.
pub fn mount_step(m: &oci_spec::runtime::Mount) -> Result<MountStep, PlanError> {
    let dest = m.destination().clone();
    if !dest.is_absolute() {
        return Err(PlanError::MountDestination(dest));
    }
    let mut flags = 0;
    let mut propagation = 0;
    let mut data = Vec::new();
    let mut copy_up = false;
    for opt in m.options().iter().flatten() {
        if opt == "tmpcopyup" {
            copy_up = true;
        } else if let Some((set, bit)) = mount_option(opt) {
            if set {
                flags |= bit;
            } else {
                flags &= !bit;
            }
        } else if let Some(p) = propagation_option(opt) {
            propagation |= p;
        } else {
            data.push(opt.as_str());
        }
    }
    let fstype = m.typ().clone().unwrap_or_else(|| "none".into());
    if fstype == "bind" {
        flags |= libc::MS_BIND;
    }
    Ok(MountStep {
        dest,
        fstype,
        source: m
            .source()
            .as_ref()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
        flags,
        propagation,
        data: data.join(","),
        copy_up,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: &str) -> Spec {
        let text = format!(
            r#"{{"ociVersion":"1.0.2","process":{{"user":{{"uid":0,"gid":0}},"args":["sh"],"cwd":"/"}},{json}}}"#
        );
        crate::bundle::parse(text.as_bytes()).unwrap()
    }

    const PID: i32 = libc::CLONE_NEWPID;
    const NET: i32 = libc::CLONE_NEWNET;
    const MNT: i32 = libc::CLONE_NEWNS;
    const UTS: i32 = libc::CLONE_NEWUTS;

    #[test]
    fn namespaces_table() {
        // (linux section, new flags, second fork, new user, joins)
        let cases: &[(&str, i32, bool, bool, &[&str])] = &[
            (r#""linux":{}"#, 0, false, false, &[]),
            (
                r#""linux":{"namespaces":[{"type":"pid"},{"type":"mount"}]}"#,
                PID | MNT,
                true,
                false,
                &[],
            ),
            (
                r#""linux":{"namespaces":[{"type":"network","path":"/run/netns/x"},{"type":"uts"}]}"#,
                UTS,
                false,
                false,
                &["/run/netns/x"],
            ),
            (
                r#""linux":{"namespaces":[{"type":"pid","path":"/proc/1/ns/pid"}]}"#,
                0,
                true,
                false,
                &["/proc/1/ns/pid"],
            ),
            (
                r#""linux":{"namespaces":[{"type":"network","path":"/n"},{"type":"user","path":"/u"}]}"#,
                0,
                false,
                false,
                &["/u", "/n"],
            ),
            (
                r#""linux":{"namespaces":[{"type":"user"},{"type":"network"}],
                "uidMappings":[{"containerID":0,"hostID":1000,"size":1}],
                "gidMappings":[{"containerID":0,"hostID":1000,"size":1}]}"#,
                NET,
                false,
                true,
                &[],
            ),
        ];
        for (json, flags, fork, user, joins) in cases {
            let p = plan(&spec(json)).unwrap();
            assert_eq!(p.new_flags, *flags, "{json}");
            assert_eq!(p.second_fork, *fork, "{json}");
            assert_eq!(p.new_user, *user, "{json}");
            let paths: Vec<_> = p.joins.iter().map(|j| j.path.to_str().unwrap()).collect();
            assert_eq!(paths, *joins, "{json}");
        }
    }

    #[test]
    fn refusals_table() {
        let cases: &[(&str, PlanError)] = &[
            (
                r#""linux":{"namespaces":[{"type":"pid"},{"type":"pid"}]}"#,
                PlanError::DuplicateNamespace("pid".into()),
            ),
            (
                r#""linux":{"namespaces":[{"type":"user"}]}"#,
                PlanError::UsernsWithoutMappings,
            ),
            (
                r#""linux":{"uidMappings":[{"containerID":0,"hostID":1,"size":1}]}"#,
                PlanError::MappingsWithoutUserns,
            ),
            (
                r#""hostname":"h","linux":{}"#,
                PlanError::NeedsUts("hostname"),
            ),
            (
                r#""linux":{"timeOffsets":{"monotonic":{"secs":1}}}"#,
                PlanError::TimeOffsets("needs a new time namespace".into()),
            ),
            (
                r#""mounts":[{"destination":"rel","type":"tmpfs"}]"#,
                PlanError::MountDestination("rel".into()),
            ),
        ];
        for (json, want) in cases {
            assert_eq!(plan(&spec(json)).unwrap_err(), *want, "{json}");
        }
    }

    #[test]
    fn mount_options_table() {
        use libc::*;
        let cases: &[(&str, u64, u64, &str)] = &[
            (
                r#"{"destination":"/proc","type":"proc","source":"proc"}"#,
                0,
                0,
                "",
            ),
            (
                r#"{"destination":"/dev","type":"tmpfs","options":["nosuid","strictatime","mode=755","size=65536k"]}"#,
                MS_NOSUID | MS_STRICTATIME,
                0,
                "mode=755,size=65536k",
            ),
            (
                r#"{"destination":"/d","type":"none","source":"/s","options":["rbind","ro","rprivate"]}"#,
                MS_BIND | MS_REC | MS_RDONLY,
                MS_PRIVATE | MS_REC,
                "",
            ),
            (
                r#"{"destination":"/d","type":"bind","source":"/s","options":["ro","rw"]}"#,
                MS_BIND,
                0,
                "",
            ),
            (
                r#"{"destination":"/run","type":"tmpfs","options":["rw","rprivate","nodev","tmpcopyup"]}"#,
                MS_NODEV,
                MS_PRIVATE | MS_REC,
                "",
            ),
        ];
        for (json, flags, prop, data) in cases {
            let m: oci_spec::runtime::Mount = serde_json::from_str(json).unwrap();
            let step = mount_step(&m).unwrap();
            assert_eq!(step.copy_up, json.contains("tmpcopyup"), "{json}");
            assert_eq!(
                (step.flags, step.propagation, step.data.as_str()),
                (*flags, *prop, *data),
                "{json}"
            );
        }
    }

    #[test]
    fn time_offsets_are_planned() {
        let p = plan(&spec(
            r#""linux":{"namespaces":[{"type":"time"}],"timeOffsets":{"boottime":{"secs":86400}}}"#,
        ))
        .unwrap();
        assert_eq!(
            p.time_offsets,
            [TimeOffset {
                clock: Clock::Boottime,
                seconds: 86400
            }]
        );
    }
}
