//! The commands that act on a container's cgroup: `ps`, `pause`,
//! `resume`, `update`, `events --stats`.

use husk_cgroup::Cgroup;
use oci_spec::runtime::LinuxResources;
use serde_json::{json, Value};

use super::{open_cgroup, require, ContainerError};
use crate::store::{Status, Store};

/// The container's cgroup, if its status is one of `allowed`.
fn cgroup_of(
    store: &Store,
    id: &str,
    allowed: &[Status],
    what: &'static str,
) -> Result<Cgroup, ContainerError> {
    let locked = store.open(id)?;
    let saved = require(&locked, id, allowed, what)?;
    open_cgroup(&saved)?.ok_or_else(|| ContainerError::NoCgroup(id.to_owned()))
}

const LIVE: &[Status] = &[Status::Created, Status::Running, Status::Paused];

/// `ps`: the host pids in the container's cgroup, sorted.
pub fn pids(store: &Store, id: &str) -> Result<Vec<u32>, ContainerError> {
    let mut pids = cgroup_of(store, id, LIVE, "cannot list its processes")?.procs()?;
    pids.sort_unstable();
    Ok(pids)
}

/// `pause`: freezes every process of a running container (the status
/// becomes `paused`).
pub fn pause(store: &Store, id: &str) -> Result<(), ContainerError> {
    let cg = cgroup_of(store, id, &[Status::Running], "cannot pause it")?;
    Ok(cg.freeze()?)
}

/// `resume`: thaws a paused container.
pub fn resume(store: &Store, id: &str) -> Result<(), ContainerError> {
    let cg = cgroup_of(store, id, &[Status::Paused], "cannot resume it")?;
    Ok(cg.thaw()?)
}

/// `update`: applies `resources` to the container's cgroup (fields left
/// out are not changed).
pub fn update(store: &Store, id: &str, resources: &LinuxResources) -> Result<(), ContainerError> {
    let cg = cgroup_of(store, id, LIVE, "cannot update it")?;
    Ok(cg.apply(resources)?)
}

/// One event of `events`, fields in runc's order.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Event {
    /// `stats`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The container.
    pub id: String,
    /// The statistics, with runc's field names.
    pub data: Value,
}

/// `events --stats`: one runc stats event,
/// `{"type":"stats","id":ID,"data":{"cpu":..,"memory":..,"pids":..}}`, with
/// runc's field names for what husk-cgroup reads.
pub fn events_stats(store: &Store, id: &str) -> Result<Event, ContainerError> {
    let cg = cgroup_of(store, id, LIVE, "cannot read its stats")?;
    let s = cg.stats()?;
    let mut data = serde_json::Map::new();
    if let Some(cpu) = s.cpu {
        data.insert(
            "cpu".into(),
            json!({"usage": {
                "total": cpu.usage_ns,
                "user": cpu.user_ns.unwrap_or(0),
                "kernel": cpu.system_ns.unwrap_or(0),
            }}),
        );
    }
    if let Some(m) = s.memory {
        data.insert(
            "memory".into(),
            json!({"usage": {"usage": m.usage, "limit": m.limit.unwrap_or(u64::MAX)}}),
        );
    }
    if let Some(p) = s.pids {
        data.insert(
            "pids".into(),
            json!({"current": p.current, "limit": p.limit.unwrap_or(0)}),
        );
    }
    Ok(Event {
        kind: "stats",
        id: id.to_owned(),
        data: Value::Object(data),
    })
}
