//! v1 controller files on a fake cgroup directory: each file exists (as the
//! kernel's would) and holds whatever was written last.

use super::*;
use crate::resources::fixture::{fake, read, res};

#[test]
fn memory_files() {
    let d = fake(&[
        "memory.limit_in_bytes",
        "memory.memsw.limit_in_bytes",
        "memory.soft_limit_in_bytes",
        "memory.kmem.tcp.limit_in_bytes",
        "memory.swappiness",
        "memory.oom_control",
    ]);
    std::fs::write(
        d.path().join("memory.limit_in_bytes"),
        "9223372036854771712\n",
    )
    .unwrap();
    let r = res(
        r#"{"memory": {"limit": 67108864, "swap": 134217728, "reservation": 33554432,
            "kernelTCP": 1048576, "swappiness": 10, "disableOOMKiller": true}}"#,
    );
    memory(d.path(), r.memory().as_ref().unwrap()).unwrap();
    assert_eq!(read(d.path(), "memory.limit_in_bytes"), "67108864");
    assert_eq!(read(d.path(), "memory.memsw.limit_in_bytes"), "134217728");
    assert_eq!(read(d.path(), "memory.soft_limit_in_bytes"), "33554432");
    assert_eq!(read(d.path(), "memory.kmem.tcp.limit_in_bytes"), "1048576");
    assert_eq!(read(d.path(), "memory.swappiness"), "10");
    assert_eq!(read(d.path(), "memory.oom_control"), "1");
}

#[test]
fn memory_unlimited_makes_swap_unlimited() {
    let d = fake(&["memory.limit_in_bytes", "memory.memsw.limit_in_bytes"]);
    memory(
        d.path(),
        res(r#"{"memory": {"limit": -1}}"#)
            .memory()
            .as_ref()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(read(d.path(), "memory.limit_in_bytes"), "-1");
    assert_eq!(read(d.path(), "memory.memsw.limit_in_bytes"), "-1");
}

#[test]
fn memory_refusals_and_missing_files() {
    let d = fake(&["memory.limit_in_bytes", "memory.memsw.limit_in_bytes"]);
    let low_swap = res(r#"{"memory": {"limit": 2000000, "swap": 1000000}}"#);
    let err = memory(d.path(), low_swap.memory().as_ref().unwrap()).unwrap_err();
    assert!(
        matches!(
            err,
            ResourceError::Invalid {
                what: "memory.swap",
                ..
            }
        ),
        "{err}"
    );
    let swappy = res(r#"{"memory": {"swappiness": 101}}"#);
    assert!(memory(d.path(), swappy.memory().as_ref().unwrap()).is_err());
    // No memory.oom_control in the fake: the error names the file.
    let oom = res(r#"{"memory": {"disableOOMKiller": true}}"#);
    let err = memory(d.path(), oom.memory().as_ref().unwrap()).unwrap_err();
    let chain = format!("{err}: {}", std::error::Error::source(&err).unwrap());
    assert!(chain.contains("memory.disableOOMKiller"), "{chain}");
    assert!(chain.contains("memory.oom_control"), "{chain}");
}

#[test]
fn cpu_and_cpuset_files() {
    let d = fake(&[
        "cpu.shares",
        "cpu.cfs_quota_us",
        "cpu.cfs_period_us",
        "cpu.cfs_burst_us",
        "cpu.rt_period_us",
        "cpu.rt_runtime_us",
        "cpu.idle",
        "cpuset.cpus",
        "cpuset.mems",
    ]);
    let r = res(
        r#"{"cpu": {"shares": 512, "quota": 50000, "period": 100000, "burst": 1000,
            "realtimePeriod": 1000000, "realtimeRuntime": 950000, "idle": 1,
            "cpus": "0-1", "mems": "0"}}"#,
    );
    let c = r.cpu().as_ref().unwrap();
    cpu(d.path(), c).unwrap();
    cpuset(d.path(), c).unwrap();
    for (file, want) in [
        ("cpu.shares", "512"),
        ("cpu.cfs_quota_us", "50000"),
        ("cpu.cfs_period_us", "100000"),
        ("cpu.cfs_burst_us", "1000"),
        ("cpu.rt_period_us", "1000000"),
        ("cpu.rt_runtime_us", "950000"),
        ("cpu.idle", "1"),
        ("cpuset.cpus", "0-1"),
        ("cpuset.mems", "0"),
    ] {
        assert_eq!(read(d.path(), file), want, "{file}");
    }
}

#[test]
fn pids_file() {
    let d = fake(&["pids.max"]);
    pids(
        d.path(),
        res(r#"{"pids": {"limit": 0}}"#).pids().as_ref().unwrap(),
    )
    .unwrap();
    assert_eq!(read(d.path(), "pids.max"), "");
    pids(
        d.path(),
        res(r#"{"pids": {"limit": 32}}"#).pids().as_ref().unwrap(),
    )
    .unwrap();
    assert_eq!(read(d.path(), "pids.max"), "32");
    pids(
        d.path(),
        res(r#"{"pids": {"limit": -1}}"#).pids().as_ref().unwrap(),
    )
    .unwrap();
    assert_eq!(read(d.path(), "pids.max"), "max");
}

const BLKIO: &str = r#"{"blockIO": {"weight": 300, "leafWeight": 200,
    "weightDevice": [{"major": 8, "minor": 0, "weight": 500, "leafWeight": 400}],
    "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}],
    "throttleWriteBpsDevice": [{"major": 8, "minor": 0, "rate": 2097152}],
    "throttleReadIOPSDevice": [{"major": 8, "minor": 0, "rate": 100}],
    "throttleWriteIOPSDevice": [{"major": 8, "minor": 0, "rate": 200}]}}"#;

#[test]
fn blkio_files_cfq() {
    let d = fake(&[
        "blkio.weight",
        "blkio.leaf_weight",
        "blkio.weight_device",
        "blkio.leaf_weight_device",
        "blkio.throttle.read_bps_device",
        "blkio.throttle.write_bps_device",
        "blkio.throttle.read_iops_device",
        "blkio.throttle.write_iops_device",
    ]);
    blkio(d.path(), res(BLKIO).block_io().as_ref().unwrap()).unwrap();
    for (file, want) in [
        ("blkio.weight", "300"),
        ("blkio.leaf_weight", "200"),
        ("blkio.weight_device", "8:0 500"),
        ("blkio.leaf_weight_device", "8:0 400"),
        ("blkio.throttle.read_bps_device", "8:0 1048576"),
        ("blkio.throttle.write_bps_device", "8:0 2097152"),
        ("blkio.throttle.read_iops_device", "8:0 100"),
        ("blkio.throttle.write_iops_device", "8:0 200"),
    ] {
        assert_eq!(read(d.path(), file), want, "{file}");
    }
}

#[test]
fn blkio_weight_goes_to_bfq_without_cfq() {
    let d = fake(&["blkio.bfq.weight", "blkio.bfq.weight_device"]);
    let r = res(
        r#"{"blockIO": {"weight": 300, "weightDevice": [{"major": 8, "minor": 16, "weight": 50}]}}"#,
    );
    blkio(d.path(), r.block_io().as_ref().unwrap()).unwrap();
    assert_eq!(read(d.path(), "blkio.bfq.weight"), "300");
    assert_eq!(read(d.path(), "blkio.bfq.weight_device"), "8:16 50");
}

#[test]
fn hugetlb_files() {
    let d = fake(&[
        "hugetlb.2MB.limit_in_bytes",
        "hugetlb.2MB.rsvd.limit_in_bytes",
        "hugetlb.1GB.limit_in_bytes",
    ]);
    let r = res(
        r#"{"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}, {"pageSize": "1GB", "limit": 0}]}"#,
    );
    hugetlb(d.path(), r.hugepage_limits().as_ref().unwrap()).unwrap();
    assert_eq!(read(d.path(), "hugetlb.2MB.limit_in_bytes"), "4194304");
    assert_eq!(read(d.path(), "hugetlb.2MB.rsvd.limit_in_bytes"), "4194304");
    assert_eq!(read(d.path(), "hugetlb.1GB.limit_in_bytes"), "0");
    for bad in ["2M", "MB", "../2MB", "2 MB", ""] {
        assert!(page_size(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn device_rules() {
    let r = res(r#"{"devices": [
            {"allow": false, "access": "rwm"},
            {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rw"},
            {"allow": true, "type": "b", "major": 8},
            {"allow": true, "type": "u", "major": 5, "minor": 1, "access": "m"}]}"#);
    let rules = r.devices().as_ref().unwrap();
    let lines: Vec<String> = rules.iter().map(|r| device_line(r).unwrap()).collect();
    assert_eq!(lines, ["a *:* rwm", "c 1:3 rw", "b 8:* rwm", "c 5:1 m"]);
    // Each rule is written to its own file, in order; the fake keeps the last.
    let d = fake(&["devices.allow", "devices.deny"]);
    devices(d.path(), rules).unwrap();
    assert_eq!(read(d.path(), "devices.deny"), "a *:* rwm");
    assert_eq!(read(d.path(), "devices.allow"), "c 5:1 m");
    let fifo = res(r#"{"devices": [{"allow": true, "type": "p"}]}"#);
    assert!(device_line(&fifo.devices().as_ref().unwrap()[0]).is_err());
    let bad = res(r#"{"devices": [{"allow": true, "access": "rwx"}]}"#);
    assert!(device_line(&bad.devices().as_ref().unwrap()[0]).is_err());
}
