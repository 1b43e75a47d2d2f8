//! cgroup v2 controller files (kernel docs: `admin-guide/cgroup-v2.rst`),
//! with the OCI → v2 conversions runc uses (config-linux.md leaves them to
//! the runtime).

use std::path::Path;

use oci_spec::runtime::{
    LinuxBlockIo, LinuxCpu, LinuxHugepageLimit, LinuxMemory, LinuxThrottleDevice,
};

use super::v1::hugetlb_files;
use super::{set, ResourceError, Result};

/// `-1` (OCI "unlimited") as v2's `max`.
fn limit(value: i64) -> String {
    if value < 0 {
        "max".to_owned()
    } else {
        value.to_string()
    }
}

/// memory: `memory.max`, `memory.low`, `memory.swap.max`.
///
/// Not applied on v2 (as runc): `swappiness`, `kernel`, `kernelTCP`, which
/// v2 has no file for. `disableOOMKiller: true` is an error: v2 cannot turn
/// the OOM killer off (`memory.oom.group` is a different knob; set it
/// through `unified` if wanted).
pub(crate) fn memory(dir: &Path, m: &LinuxMemory) -> Result {
    if m.disable_oom_killer() == Some(true) {
        return Err(ResourceError::Unsupported {
            what: "memory.disableOOMKiller",
            version: "cgroup v2",
        });
    }
    if let Some(swap) = swap_max(m.limit(), m.swap())? {
        set(dir, "memory.swap.max", &limit(swap), "memory.swap")?;
    }
    if let Some(max) = m.limit() {
        set(dir, "memory.max", &limit(max), "memory.limit")?;
    }
    if let Some(low) = m.reservation() {
        set(dir, "memory.low", &limit(low), "memory.reservation")?;
    }
    Ok(())
}

/// OCI `swap` is memory+swap (v1's memsw); v2's `memory.swap.max` is swap
/// alone, so it is `swap - limit`. Unlimited memory with swap unset means
/// unlimited swap too; `0` means unset (runc's
/// `ConvertMemorySwapToCgroupV2Value`).
pub(crate) fn swap_max(limit: Option<i64>, swap: Option<i64>) -> Result<Option<i64>> {
    let limit = limit.unwrap_or(0);
    let swap = swap.unwrap_or(0);
    if limit == -1 && swap == 0 {
        return Ok(Some(-1));
    }
    match swap {
        0 => Ok(None),
        -1 => Ok(Some(-1)),
        _ if limit <= 0 => Err(ResourceError::Invalid {
            what: "memory.swap",
            reason: "a swap limit needs a memory limit on cgroup v2".to_owned(),
        }),
        _ if swap < limit => Err(ResourceError::Invalid {
            what: "memory.swap",
            reason: format!("memory+swap {swap} is below the memory limit {limit}"),
        }),
        _ => Ok(Some(swap - limit)),
    }
}

/// v1 `cpu.shares` (2..262144, default 1024) as v2 `cpu.weight`
/// (1..10000, default 100): runc's linear map, so 1024 → 39 and the ends
/// meet the ends.
pub(crate) fn shares_to_weight(shares: u64) -> u64 {
    if shares == 0 {
        return 0;
    }
    let shares = shares.clamp(2, 262_144);
    1 + ((shares - 2) * 9999) / 262_142
}

/// cpu: `cpu.weight`, `cpu.max`, `cpu.max.burst`, `cpu.idle`.
pub(crate) fn cpu(dir: &Path, c: &LinuxCpu) -> Result {
    if c.realtime_period().is_some() || c.realtime_runtime().is_some() {
        return Err(ResourceError::Unsupported {
            what: "cpu.realtimePeriod/realtimeRuntime",
            version: "cgroup v2",
        });
    }
    if let Some(weight) = c.shares().map(shares_to_weight).filter(|w| *w != 0) {
        set(dir, "cpu.weight", &weight.to_string(), "cpu.shares")?;
    }
    if let Some(max) = cpu_max(c.quota(), c.period()) {
        set(dir, "cpu.max", &max, "cpu.quota")?;
    }
    if let Some(burst) = c.burst() {
        set(dir, "cpu.max.burst", &burst.to_string(), "cpu.burst")?;
    }
    if let Some(idle) = c.idle() {
        set(dir, "cpu.idle", &idle.to_string(), "cpu.idle")?;
    }
    Ok(())
}

/// `QUOTA PERIOD` for `cpu.max`; a quota of -1 (or unset) is `max`.
pub(crate) fn cpu_max(quota: Option<i64>, period: Option<u64>) -> Option<String> {
    if quota.is_none() && period.is_none() {
        return None;
    }
    let mut max = match quota {
        Some(q) if q > 0 => q.to_string(),
        _ => "max".to_owned(),
    };
    if let Some(p) = period.filter(|p| *p != 0) {
        max.push_str(&format!(" {p}"));
    }
    Some(max)
}

/// blkio weight (10..1000) as `io.weight` (1..10000), as runc maps it.
pub(crate) fn blkio_to_io_weight(weight: u16) -> u64 {
    if weight == 0 {
        return 0;
    }
    let weight = u64::from(weight.clamp(10, 1000));
    1 + (weight - 10) * 9999 / 990
}

/// io: `io.weight` (or BFQ's `io.bfq.weight`, which takes blkio's range
/// unchanged) and `io.max` throttles. `leafWeight` has no v2 equivalent.
pub(crate) fn io(dir: &Path, b: &LinuxBlockIo) -> Result {
    let bfq = dir.join("io.bfq.weight").exists();
    let (name, convert): (&str, fn(u16) -> u64) = if bfq {
        ("io.bfq.weight", u64::from)
    } else {
        ("io.weight", blkio_to_io_weight)
    };
    if let Some(w) = b.weight().filter(|w| *w != 0) {
        set(
            dir,
            name,
            &format!("default {}", convert(w)),
            "blockIO.weight",
        )?;
    }
    if b.leaf_weight().is_some() {
        return Err(ResourceError::Unsupported {
            what: "blockIO.leafWeight",
            version: "cgroup v2",
        });
    }
    for d in b.weight_device().iter().flatten() {
        if let Some(w) = d.weight() {
            let line = format!("{}:{} {}", d.major(), d.minor(), convert(w));
            set(dir, name, &line, "blockIO.weightDevice")?;
        }
    }
    let throttles: [(&Option<Vec<LinuxThrottleDevice>>, &str, &'static str); 4] = [
        (
            b.throttle_read_bps_device(),
            "rbps",
            "blockIO.throttleReadBpsDevice",
        ),
        (
            b.throttle_write_bps_device(),
            "wbps",
            "blockIO.throttleWriteBpsDevice",
        ),
        (
            b.throttle_read_iops_device(),
            "riops",
            "blockIO.throttleReadIOPSDevice",
        ),
        (
            b.throttle_write_iops_device(),
            "wiops",
            "blockIO.throttleWriteIOPSDevice",
        ),
    ];
    for (devices, key, what) in throttles {
        for d in devices.iter().flatten() {
            let rate = if d.rate() == 0 {
                "max".to_owned()
            } else {
                d.rate().to_string()
            };
            set(
                dir,
                "io.max",
                &format!("{}:{} {key}={rate}", d.major(), d.minor()),
                what,
            )?;
        }
    }
    Ok(())
}

/// hugetlb: `hugetlb.<size>.max` (and `.rsvd.max` where present).
pub(crate) fn hugetlb(dir: &Path, pages: &[LinuxHugepageLimit]) -> Result {
    hugetlb_files(dir, pages, "max", limit)
}

#[cfg(test)]
#[path = "v2_tests.rs"]
mod tests;
