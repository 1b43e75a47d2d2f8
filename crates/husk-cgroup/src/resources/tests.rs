//! Which hierarchy each resource goes to, on fake v1, v2 and hybrid trees.

use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxResources;

use super::ResourceError;
use crate::detect::{Hierarchies, Unified, V1Hierarchy};
use crate::path::CgroupPath;
use crate::Cgroup;

fn res(json: &str) -> LinuxResources {
    serde_json::from_str(json).expect("valid linux.resources")
}

fn files(dir: &Path, names: &[&str]) {
    std::fs::create_dir_all(dir).unwrap();
    for name in names {
        std::fs::write(dir.join(name), "").unwrap();
    }
}

fn read(path: PathBuf) -> String {
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A fake hybrid host: memory, pids, devices, cpu, cpuset on v1; hugetlb on
/// cgroup2; `husk/x` already made with the files of each controller.
fn hybrid(root: &Path) -> Cgroup {
    let v1 = |c: &str, names: &[&str]| {
        files(&root.join(c).join("husk/x"), names);
        V1Hierarchy {
            controllers: vec![c.to_owned()],
            mount: root.join(c),
        }
    };
    let hier = Hierarchies::new(
        vec![
            v1("memory", &["memory.limit_in_bytes"]),
            v1("pids", &["pids.max"]),
            v1("devices", &["devices.allow", "devices.deny"]),
            v1("cpu", &["cpu.shares"]),
            v1("cpuset", &["cpuset.cpus", "cpuset.mems"]),
        ],
        Some(Unified {
            mount: root.join("unified"),
            controllers: vec!["hugetlb".to_owned()],
        }),
    );
    files(&root.join("unified"), &["cgroup.subtree_control"]);
    files(&root.join("unified/husk"), &["cgroup.subtree_control"]);
    files(
        &root.join("unified/husk/x"),
        &["hugetlb.2MB.max", "memory.high"],
    );
    Cgroup::open(&hier, &CgroupPath::parse("x").unwrap()).unwrap()
}

#[test]
fn hybrid_routes_v1_controllers_to_v1_and_hugetlb_to_cgroup2() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    let cg = hybrid(r);
    cg.apply(&res(
        r#"{"memory": {"limit": 1048576}, "pids": {"limit": 5},
            "cpu": {"shares": 100, "cpus": "0"},
            "hugepageLimits": [{"pageSize": "2MB", "limit": 2097152}],
            "devices": [{"allow": false, "access": "rwm"}]}"#,
    ))
    .unwrap();
    assert_eq!(
        read(r.join("memory/husk/x/memory.limit_in_bytes")),
        "1048576"
    );
    assert_eq!(read(r.join("pids/husk/x/pids.max")), "5");
    assert_eq!(read(r.join("cpu/husk/x/cpu.shares")), "100");
    assert_eq!(read(r.join("cpuset/husk/x/cpuset.cpus")), "0");
    assert_eq!(read(r.join("devices/husk/x/devices.deny")), "a *:* rwm");
    assert_eq!(read(r.join("unified/husk/x/hugetlb.2MB.max")), "2097152");
    // hugetlb enabled from the mount down to the cgroup's parent.
    assert_eq!(read(r.join("unified/cgroup.subtree_control")), "+hugetlb");
    assert_eq!(
        read(r.join("unified/husk/cgroup.subtree_control")),
        "+hugetlb"
    );
}

#[test]
fn hybrid_refuses_unified_keys_of_v1_controllers() {
    let root = tempfile::tempdir().unwrap();
    let cg = hybrid(root.path());
    let err = cg
        .apply(&res(r#"{"unified": {"memory.high": "100"}}"#))
        .unwrap_err();
    assert!(matches!(&err, ResourceError::NoController { controller } if controller == "memory"));
    assert!(
        err.to_string()
            .contains("memory controller is not available"),
        "{err}"
    );
    // Nothing enabled, nothing written.
    assert_eq!(read(root.path().join("unified/cgroup.subtree_control")), "");
}

#[test]
fn enabled_controllers_are_not_written_again() {
    let root = tempfile::tempdir().unwrap();
    let cg = hybrid(root.path());
    std::fs::write(
        root.path().join("unified/cgroup.subtree_control"),
        "hugetlb\n",
    )
    .unwrap();
    cg.apply(&res(
        r#"{"hugepageLimits": [{"pageSize": "2MB", "limit": 0}]}"#,
    ))
    .unwrap();
    assert_eq!(
        read(root.path().join("unified/cgroup.subtree_control")),
        "hugetlb\n"
    );
    assert_eq!(
        read(root.path().join("unified/husk/cgroup.subtree_control")),
        "+hugetlb"
    );
}

/// A fake pure cgroup2 host with memory, cpu, pids at an absolute path.
fn pure_v2(root: &Path) -> Cgroup {
    let controllers = ["memory", "cpu", "pids"].map(str::to_owned).to_vec();
    files(root, &["cgroup.subtree_control"]);
    files(&root.join("ci"), &["cgroup.subtree_control"]);
    files(
        &root.join("ci/job"),
        &[
            "memory.max",
            "memory.high",
            "cpu.weight",
            "cpu.max",
            "pids.max",
            "cgroup.max.depth",
        ],
    );
    let hier = Hierarchies::new(
        Vec::new(),
        Some(Unified {
            mount: root.to_owned(),
            controllers,
        }),
    );
    Cgroup::open(&hier, &CgroupPath::parse("/ci/job").unwrap()).unwrap()
}

#[test]
fn pure_v2_writes_v2_files_and_unified_keys() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    let cg = pure_v2(r);
    cg.apply(&res(
        r#"{"memory": {"limit": 4194304}, "cpu": {"shares": 2, "quota": 1000, "period": 10000},
            "pids": {"limit": 9},
            "unified": {"memory.high": "3145728", "cgroup.max.depth": "2"}}"#,
    ))
    .unwrap();
    assert_eq!(read(r.join("ci/job/memory.max")), "4194304");
    assert_eq!(read(r.join("ci/job/memory.high")), "3145728");
    assert_eq!(read(r.join("ci/job/cgroup.max.depth")), "2");
    assert_eq!(read(r.join("ci/job/cpu.weight")), "1");
    assert_eq!(read(r.join("ci/job/cpu.max")), "1000 10000");
    assert_eq!(read(r.join("ci/job/pids.max")), "9");
    // The fake keeps the last write: the controllers were each enabled.
    assert!(read(r.join("cgroup.subtree_control")).starts_with('+'));
    assert!(read(r.join("ci/cgroup.subtree_control")).starts_with('+'));
}

#[test]
fn pure_v2_refusals() {
    let root = tempfile::tempdir().unwrap();
    let cg = pure_v2(root.path());
    let devices = res(r#"{"devices": [{"allow": false, "access": "rwm"}]}"#);
    // A temp dir is no cgroup to attach a device program to (and without
    // root the program does not even load): a devices error either way.
    let err = cg.apply(&devices).unwrap_err();
    assert!(
        matches!(
            err,
            ResourceError::Write {
                what: "devices",
                ..
            }
        ),
        "{err}"
    );
    let io = res(r#"{"blockIO": {"weight": 100}}"#);
    assert!(matches!(
        cg.apply(&io),
        Err(ResourceError::NoController { .. })
    ));
    for key in ["memory/../x", "nodot", ".hidden", ""] {
        let json = format!(r#"{{"unified": {{"{key}": "1"}}}}"#);
        let err = cg.apply(&res(&json)).unwrap_err();
        assert!(
            matches!(
                err,
                ResourceError::Invalid {
                    what: "unified",
                    ..
                }
            ),
            "{key}: {err}"
        );
    }
    // Empty lists are no request at all.
    cg.apply(&res(
        r#"{"devices": [], "hugepageLimits": [], "unified": {}}"#,
    ))
    .unwrap();
}

#[test]
fn pure_v1_has_no_unified_and_no_missing_controllers() {
    let root = tempfile::tempdir().unwrap();
    files(&root.path().join("pids/husk/x"), &["pids.max"]);
    let hier = Hierarchies::new(
        vec![V1Hierarchy {
            controllers: vec!["pids".to_owned()],
            mount: root.path().join("pids"),
        }],
        None,
    );
    let cg = Cgroup::open(&hier, &CgroupPath::parse("x").unwrap()).unwrap();
    let err = cg
        .apply(&res(r#"{"unified": {"cgroup.max.depth": "1"}}"#))
        .unwrap_err();
    assert!(
        matches!(
            err,
            ResourceError::Unsupported {
                version: "cgroup v1",
                ..
            }
        ),
        "{err}"
    );
    let err = cg.apply(&res(r#"{"memory": {"limit": 1}}"#)).unwrap_err();
    assert!(matches!(err, ResourceError::NoController { .. }), "{err}");
    let err = cg
        .apply(&res(r#"{"rdma": {"mlx5_1": {"hcaHandles": 3}}}"#))
        .unwrap_err();
    assert!(
        matches!(err, ResourceError::Unsupported { what: "rdma", .. }),
        "{err}"
    );
}

#[test]
fn create_on_a_fake_copies_cpusets_down() {
    // The fake has no kernel to fill new directories, so the levels exist
    // already with empty cpuset files, as a fresh v1 cpuset cgroup has.
    let root = tempfile::tempdir().unwrap();
    let mount = root.path().join("cpuset");
    files(&mount, &["cpuset.cpus", "cpuset.mems"]);
    std::fs::write(mount.join("cpuset.cpus"), "0-3\n").unwrap();
    std::fs::write(mount.join("cpuset.mems"), "0\n").unwrap();
    files(&mount.join("husk"), &["cpuset.cpus", "cpuset.mems"]);
    files(&mount.join("husk/x"), &["cpuset.cpus", "cpuset.mems"]);
    let hier = Hierarchies::new(
        vec![V1Hierarchy {
            controllers: vec!["cpuset".to_owned()],
            mount: mount.clone(),
        }],
        Some(Unified {
            mount: root.path().join("unified"),
            controllers: Vec::new(),
        }),
    );
    std::fs::create_dir(root.path().join("unified")).unwrap();
    let cg = Cgroup::create(&hier, &CgroupPath::parse("x").unwrap()).unwrap();
    assert_eq!(read(mount.join("husk/cpuset.cpus")), "0-3");
    assert_eq!(read(mount.join("husk/x/cpuset.mems")), "0");
    assert_eq!(cg.v1_dir("cpuset"), Some(mount.join("husk/x").as_path()));
    assert_eq!(
        cg.unified_dir(),
        Some(root.path().join("unified/husk/x").as_path())
    );
    assert!(root.path().join("unified/husk/x").is_dir());
}
