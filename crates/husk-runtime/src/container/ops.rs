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
    /// `stats` or `oom`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The container.
    pub id: String,
    /// The statistics, with runc's field names (none for `oom`).
    #[serde(skip_serializing_if = "Value::is_null")]
    pub data: Value,
}

/// What `events` watches: a live container's cgroup, opened once, and its
/// OOM kill count when last looked at.
#[derive(Debug)]
pub struct EventSource {
    id: String,
    cgroup: Cgroup,
    oom_kills: u64,
}

impl EventSource {
    /// Opens the cgroup of a created, running or paused container; the OOM
    /// kills before now are not reported.
    pub fn open(store: &Store, id: &str) -> Result<EventSource, ContainerError> {
        let cgroup = cgroup_of(store, id, LIVE, "cannot watch its events")?;
        let oom_kills = cgroup.oom_kills()?.unwrap_or(0);
        Ok(EventSource {
            id: id.to_owned(),
            cgroup,
            oom_kills,
        })
    }

    /// One `oom` event (`{"type":"oom","id":ID}`, runc's) per OOM kill
    /// since the last call.
    pub fn ooms(&mut self) -> Result<Vec<Event>, ContainerError> {
        let now = self.cgroup.oom_kills()?.unwrap_or(0);
        let new = now.saturating_sub(self.oom_kills);
        self.oom_kills = now;
        Ok((0..new)
            .map(|_| Event {
                kind: "oom",
                id: self.id.clone(),
                data: Value::Null,
            })
            .collect())
    }

    /// A `stats` event, as [`events_stats`].
    pub fn stats(&self) -> Result<Event, ContainerError> {
        stats_event(&self.cgroup, &self.id)
    }
}

/// `events --stats`: one runc stats event,
/// `{"type":"stats","id":ID,"data":{"cpu":..,"memory":..,"pids":..}}`, with
/// runc's field names for what husk-cgroup reads.
pub fn events_stats(store: &Store, id: &str) -> Result<Event, ContainerError> {
    let cg = cgroup_of(store, id, LIVE, "cannot read its stats")?;
    stats_event(&cg, id)
}

fn stats_event(cg: &Cgroup, id: &str) -> Result<Event, ContainerError> {
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
