//! v2 controller files and conversions on a fake cgroup directory.

use super::*;
use crate::resources::fixture::{fake, read, res};

#[test]
fn memory_files_and_swap_conversion() {
    let d = fake(&["memory.max", "memory.low", "memory.swap.max"]);
    let r = res(
        r#"{"memory": {"limit": 67108864, "swap": 100663296, "reservation": 1048576, "swappiness": 5}}"#,
    );
    memory(d.path(), r.memory().as_ref().unwrap()).unwrap();
    assert_eq!(read(d.path(), "memory.max"), "67108864");
    assert_eq!(read(d.path(), "memory.low"), "1048576");
    assert_eq!(read(d.path(), "memory.swap.max"), "33554432");
    let unlimited = res(r#"{"memory": {"limit": -1}}"#);
    memory(d.path(), unlimited.memory().as_ref().unwrap()).unwrap();
    assert_eq!(read(d.path(), "memory.max"), "max");
    assert_eq!(read(d.path(), "memory.swap.max"), "max");
    let oom = res(r#"{"memory": {"disableOOMKiller": true}}"#);
    let err = memory(d.path(), oom.memory().as_ref().unwrap()).unwrap_err();
    assert!(
        matches!(
            err,
            ResourceError::Unsupported {
                version: "cgroup v2",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn swap_conversion_table() {
    // (limit, swap, memory.swap.max: None for an error, Some(None) for unset)
    type Case = (Option<i64>, Option<i64>, Option<Option<i64>>);
    let cases: [Case; 8] = [
        (None, None, Some(None)),
        (Some(100), None, Some(None)),
        (Some(-1), None, Some(Some(-1))),
        (Some(-1), Some(0), Some(Some(-1))),
        (Some(100), Some(-1), Some(Some(-1))),
        (Some(100), Some(300), Some(Some(200))),
        (Some(100), Some(50), None),
        (None, Some(300), None),
    ];
    for (limit, swap, want) in cases {
        let got = swap_max(limit, swap).ok();
        assert_eq!(got, want, "limit {limit:?} swap {swap:?}");
    }
}

#[test]
fn shares_and_weights_convert_like_runc() {
    assert_eq!(shares_to_weight(2), 1);
    assert_eq!(shares_to_weight(1024), 39);
    assert_eq!(shares_to_weight(262_144), 10_000);
    assert_eq!(shares_to_weight(1), 1);
    assert_eq!(shares_to_weight(1 << 20), 10_000);
    assert_eq!(blkio_to_io_weight(10), 1);
    assert_eq!(blkio_to_io_weight(500), 4950);
    assert_eq!(blkio_to_io_weight(1000), 10_000);
}

#[test]
fn cpu_files() {
    let d = fake(&["cpu.weight", "cpu.max", "cpu.max.burst", "cpu.idle"]);
    let r = res(
        r#"{"cpu": {"shares": 1024, "quota": 50000, "period": 100000, "burst": 500, "idle": 1}}"#,
    );
    cpu(d.path(), r.cpu().as_ref().unwrap()).unwrap();
    assert_eq!(read(d.path(), "cpu.weight"), "39");
    assert_eq!(read(d.path(), "cpu.max"), "50000 100000");
    assert_eq!(read(d.path(), "cpu.max.burst"), "500");
    assert_eq!(read(d.path(), "cpu.idle"), "1");
    assert_eq!(cpu_max(Some(-1), None).as_deref(), Some("max"));
    assert_eq!(cpu_max(None, Some(20000)).as_deref(), Some("max 20000"));
    assert_eq!(cpu_max(None, None), None);
    let rt = res(r#"{"cpu": {"realtimeRuntime": 1000}}"#);
    assert!(cpu(d.path(), rt.cpu().as_ref().unwrap()).is_err());
}

#[test]
fn io_files() {
    let d = fake(&["io.weight", "io.max"]);
    let r = res(r#"{"blockIO": {"weight": 500,
            "weightDevice": [{"major": 8, "minor": 0, "weight": 1000}],
            "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}],
            "throttleWriteIOPSDevice": [{"major": 8, "minor": 0, "rate": 0}]}}"#);
    io(d.path(), r.block_io().as_ref().unwrap()).unwrap();
    // The fake keeps the last write of each file.
    assert_eq!(read(d.path(), "io.weight"), "8:0 10000");
    assert_eq!(read(d.path(), "io.max"), "8:0 wiops=max");
    let only = res(
        r#"{"blockIO": {"weight": 500, "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}]}}"#,
    );
    io(d.path(), only.block_io().as_ref().unwrap()).unwrap();
    assert_eq!(read(d.path(), "io.weight"), "default 4950");
    assert_eq!(read(d.path(), "io.max"), "8:0 rbps=1048576");
}

#[test]
fn io_bfq_weight_keeps_the_blkio_range() {
    let d = fake(&["io.bfq.weight"]);
    let r = res(r#"{"blockIO": {"weight": 500}}"#);
    io(d.path(), r.block_io().as_ref().unwrap()).unwrap();
    assert_eq!(read(d.path(), "io.bfq.weight"), "default 500");
}

#[test]
fn hugetlb_files() {
    let d = fake(&["hugetlb.2MB.max", "hugetlb.2MB.rsvd.max", "hugetlb.1GB.max"]);
    let r = res(
        r#"{"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}, {"pageSize": "1GB", "limit": -1}]}"#,
    );
    hugetlb(d.path(), r.hugepage_limits().as_ref().unwrap()).unwrap();
    assert_eq!(read(d.path(), "hugetlb.2MB.max"), "4194304");
    assert_eq!(read(d.path(), "hugetlb.2MB.rsvd.max"), "4194304");
    assert_eq!(read(d.path(), "hugetlb.1GB.max"), "max");
}
