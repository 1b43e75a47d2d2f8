//! cgroup v1 controller files (kernel docs: `admin-guide/cgroup-v1/`).
//! `pids` and `cpuset` use the same file names on v2 and are shared.

use std::path::Path;

use oci_spec::runtime::{
    LinuxBlockIo, LinuxCpu, LinuxDeviceCgroup, LinuxDeviceType, LinuxHugepageLimit, LinuxMemory,
    LinuxPids, LinuxThrottleDevice,
};

use super::{set, ResourceError, Result};
use crate::file;

/// memory: limit, memory+swap, soft limit, TCP kernel memory, swappiness,
/// OOM killer.
pub(crate) fn memory(dir: &Path, m: &LinuxMemory) -> Result {
    limit_and_swap(dir, m.limit(), m.swap())?;
    if let Some(soft) = m.reservation() {
        set(
            dir,
            "memory.soft_limit_in_bytes",
            &soft.to_string(),
            "memory.reservation",
        )?;
    }
    if let Some(tcp) = m.kernel_tcp() {
        set(
            dir,
            "memory.kmem.tcp.limit_in_bytes",
            &tcp.to_string(),
            "memory.kernelTCP",
        )?;
    }
    if let Some(swappiness) = m.swappiness() {
        if swappiness > 100 {
            return Err(ResourceError::Invalid {
                what: "memory.swappiness",
                reason: format!("{swappiness} is above 100"),
            });
        }
        set(
            dir,
            "memory.swappiness",
            &swappiness.to_string(),
            "memory.swappiness",
        )?;
    }
    if m.disable_oom_killer() == Some(true) {
        set(dir, "memory.oom_control", "1", "memory.disableOOMKiller")?;
    }
    Ok(())
}

/// `memory.memsw.limit_in_bytes` (OCI `swap` is memory+swap) must never be
/// below `memory.limit_in_bytes`, so which goes first depends on whether
/// the limit grows (as runc orders it). A swap of 0 means unset; an
/// unlimited memory with unset swap makes swap unlimited too.
fn limit_and_swap(dir: &Path, limit: Option<i64>, swap: Option<i64>) -> Result {
    let swap = match (limit, swap.filter(|s| *s != 0)) {
        (Some(-1), None) if dir.join("memory.memsw.limit_in_bytes").exists() => Some(-1),
        (_, swap) => swap,
    };
    let write_limit = |l: i64| set(dir, "memory.limit_in_bytes", &l.to_string(), "memory.limit");
    let write_swap = |s: i64| {
        set(
            dir,
            "memory.memsw.limit_in_bytes",
            &s.to_string(),
            "memory.swap",
        )
    };
    match (limit, swap) {
        (Some(l), Some(s)) => {
            if l > 0 && s > 0 && s < l {
                return Err(ResourceError::Invalid {
                    what: "memory.swap",
                    reason: format!("memory+swap {s} is below the memory limit {l}"),
                });
            }
            let current = file::read_trimmed(dir, "memory.limit_in_bytes")
                .ok()
                .and_then(|c| c.parse::<i64>().ok())
                .unwrap_or(i64::MAX);
            if s == -1 || current < s {
                write_swap(s)?;
                write_limit(l)
            } else {
                write_limit(l)?;
                write_swap(s)
            }
        }
        (Some(l), None) => write_limit(l),
        (None, Some(s)) => write_swap(s),
        (None, None) => Ok(()),
    }
}

/// cpu: shares, CFS quota/period/burst, realtime, idle.
pub(crate) fn cpu(dir: &Path, c: &LinuxCpu) -> Result {
    if let Some(shares) = c.shares() {
        set(dir, "cpu.shares", &shares.to_string(), "cpu.shares")?;
    }
    // The period first: a quota is checked against the current period.
    if let Some(period) = c.period() {
        set(dir, "cpu.cfs_period_us", &period.to_string(), "cpu.period")?;
    }
    if let Some(quota) = c.quota() {
        set(dir, "cpu.cfs_quota_us", &quota.to_string(), "cpu.quota")?;
    }
    if let Some(burst) = c.burst() {
        set(dir, "cpu.cfs_burst_us", &burst.to_string(), "cpu.burst")?;
    }
    if let Some(period) = c.realtime_period() {
        set(
            dir,
            "cpu.rt_period_us",
            &period.to_string(),
            "cpu.realtimePeriod",
        )?;
    }
    if let Some(runtime) = c.realtime_runtime() {
        set(
            dir,
            "cpu.rt_runtime_us",
            &runtime.to_string(),
            "cpu.realtimeRuntime",
        )?;
    }
    if let Some(idle) = c.idle() {
        set(dir, "cpu.idle", &idle.to_string(), "cpu.idle")?;
    }
    Ok(())
}

/// cpuset: cpus and mems (same files on v1 and v2).
pub(crate) fn cpuset(dir: &Path, c: &LinuxCpu) -> Result {
    if let Some(cpus) = c.cpus().as_deref().filter(|s| !s.is_empty()) {
        set(dir, "cpuset.cpus", cpus, "cpu.cpus")?;
    }
    if let Some(mems) = c.mems().as_deref().filter(|s| !s.is_empty()) {
        set(dir, "cpuset.mems", mems, "cpu.mems")?;
    }
    Ok(())
}

/// pids: `pids.max` (same file on v1 and v2); 0 means unset, a negative
/// limit means none.
pub(crate) fn pids(dir: &Path, p: &LinuxPids) -> Result {
    match p.limit() {
        0 => Ok(()),
        l if l < 0 => set(dir, "pids.max", "max", "pids.limit"),
        l => set(dir, "pids.max", &l.to_string(), "pids.limit"),
    }
}

/// blkio: weights (CFQ's `blkio.weight`, or BFQ's `blkio.bfq.weight` on
/// kernels without CFQ) and throttles.
pub(crate) fn blkio(dir: &Path, b: &LinuxBlockIo) -> Result {
    let bfq = !dir.join("blkio.weight").exists() && dir.join("blkio.bfq.weight").exists();
    let (weight, weight_device) = if bfq {
        ("blkio.bfq.weight", "blkio.bfq.weight_device")
    } else {
        ("blkio.weight", "blkio.weight_device")
    };
    if let Some(w) = b.weight() {
        set(dir, weight, &w.to_string(), "blockIO.weight")?;
    }
    if let Some(w) = b.leaf_weight() {
        set(
            dir,
            "blkio.leaf_weight",
            &w.to_string(),
            "blockIO.leafWeight",
        )?;
    }
    for d in b.weight_device().iter().flatten() {
        if let Some(w) = d.weight() {
            let line = format!("{}:{} {w}", d.major(), d.minor());
            set(dir, weight_device, &line, "blockIO.weightDevice")?;
        }
        if let Some(w) = d.leaf_weight() {
            let line = format!("{}:{} {w}", d.major(), d.minor());
            set(
                dir,
                "blkio.leaf_weight_device",
                &line,
                "blockIO.weightDevice",
            )?;
        }
    }
    let throttles: [(&Option<Vec<LinuxThrottleDevice>>, &str, &'static str); 4] = [
        (
            b.throttle_read_bps_device(),
            "blkio.throttle.read_bps_device",
            "blockIO.throttleReadBpsDevice",
        ),
        (
            b.throttle_write_bps_device(),
            "blkio.throttle.write_bps_device",
            "blockIO.throttleWriteBpsDevice",
        ),
        (
            b.throttle_read_iops_device(),
            "blkio.throttle.read_iops_device",
            "blockIO.throttleReadIOPSDevice",
        ),
        (
            b.throttle_write_iops_device(),
            "blkio.throttle.write_iops_device",
            "blockIO.throttleWriteIOPSDevice",
        ),
    ];
    for (devices, name, what) in throttles {
        for d in devices.iter().flatten() {
            set(
                dir,
                name,
                &format!("{}:{} {}", d.major(), d.minor(), d.rate()),
                what,
            )?;
        }
    }
    Ok(())
}

/// hugetlb: `hugetlb.<size>.limit_in_bytes` (and the reservation limit
/// `.rsvd.limit_in_bytes` where the kernel has it, as runc does).
pub(crate) fn hugetlb(dir: &Path, pages: &[LinuxHugepageLimit]) -> Result {
    hugetlb_files(dir, pages, "limit_in_bytes", |l| l.to_string())
}

/// Writes `value(limit)` to `hugetlb.<size>.<file>` for each page size, and to
/// `hugetlb.<size>.rsvd.<file>` where the kernel has it (v1 and v2 differ
/// only in `file` and the value's spelling).
pub(crate) fn hugetlb_files(
    dir: &Path,
    pages: &[LinuxHugepageLimit],
    file: &str,
    value: impl Fn(i64) -> String,
) -> Result {
    for p in pages {
        let size = page_size(p.page_size())?;
        let value = value(p.limit());
        set(
            dir,
            &format!("hugetlb.{size}.{file}"),
            &value,
            "hugepageLimits",
        )?;
        let rsvd = format!("hugetlb.{size}.rsvd.{file}");
        if dir.join(&rsvd).exists() {
            set(dir, &rsvd, &value, "hugepageLimits")?;
        }
    }
    Ok(())
}

/// A hugepage size as the kernel names it in file names: `2MB`, `1GB`.
pub(crate) fn page_size(size: &str) -> Result<&str> {
    let digits = size.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &size[digits.len()..];
    let ok = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && ["KB", "MB", "GB"].contains(&unit);
    if ok {
        Ok(size)
    } else {
        Err(ResourceError::Invalid {
            what: "hugepageLimits.pageSize",
            reason: format!("{size:?} is not like 2MB or 1GB"),
        })
    }
}

/// devices: one `devices.allow` or `devices.deny` line per rule, in order.
pub(crate) fn devices(dir: &Path, rules: &[LinuxDeviceCgroup]) -> Result {
    for rule in rules {
        let line = device_line(rule)?;
        let name = if rule.allow() {
            "devices.allow"
        } else {
            "devices.deny"
        };
        set(dir, name, &line, "devices")?;
    }
    Ok(())
}

/// `TYPE MAJOR:MINOR ACCESS`, `*` for a missing number (devices.txt).
pub(crate) fn device_line(rule: &LinuxDeviceCgroup) -> Result<String> {
    let kind = match rule.typ().unwrap_or_default() {
        LinuxDeviceType::A => 'a',
        LinuxDeviceType::B => 'b',
        LinuxDeviceType::C | LinuxDeviceType::U => 'c',
        LinuxDeviceType::P => {
            return Err(ResourceError::Invalid {
                what: "devices.type",
                reason: "a FIFO (p) cannot be a device rule".to_owned(),
            })
        }
    };
    let number = |n: Option<i64>| {
        n.filter(|n| *n >= 0)
            .map_or("*".to_owned(), |n| n.to_string())
    };
    let access = rule
        .access()
        .as_deref()
        .filter(|a| !a.is_empty())
        .unwrap_or("rwm");
    if !access.chars().all(|c| matches!(c, 'r' | 'w' | 'm')) {
        return Err(ResourceError::Invalid {
            what: "devices.access",
            reason: format!("{access:?} is not made of r, w, m"),
        });
    }
    Ok(format!(
        "{kind} {}:{} {access}",
        number(rule.major()),
        number(rule.minor())
    ))
}

#[cfg(test)]
#[path = "v1_tests.rs"]
mod tests;
