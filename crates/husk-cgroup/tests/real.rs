//! husk-cgroup on the real kernel, as root: cgroups under `/husk` in the v1
//! hierarchies and on the cgroup2 mount (on a hybrid host, both), with real
//! processes moved in, limited, frozen and killed.
//!
//! Each test's cgroup is `/husk/husk-test-PID-N`, removed by a guard even
//! on failure; each process is killed by PID by its own guard first.

mod common;

use std::path::Path;

use common::{makes_progress, proc_cgroup, test_cgroup, Child};
use husk_cgroup::{Hierarchies, LinuxResources, Mode};

fn res(json: &str) -> LinuxResources {
    serde_json::from_str(json).expect("valid linux.resources")
}

fn read(dir: &Path, name: &str) -> String {
    let path = dir.join(name);
    let text = std::fs::read_to_string(&path);
    text.unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .trim()
        .to_owned()
}

/// The host's v1 hierarchies, or a skip (a failure in CI).
fn v1_host() -> Option<Hierarchies> {
    let hier = Hierarchies::detect().expect("detect cgroups");
    if hier.v1().is_empty() {
        husk_testkit::skip!("the host has no cgroup v1 hierarchies");
        return None;
    }
    Some(hier.v1_only())
}

/// The host's cgroup2 mount alone, or a skip (a failure in CI).
fn v2_host() -> Option<Hierarchies> {
    let hier = Hierarchies::detect().expect("detect cgroups");
    if hier.unified().is_none() {
        husk_testkit::skip!("the host has no cgroup2 mount");
        return None;
    }
    Some(hier.unified_only())
}

#[test]
fn v1_limits_are_read_back_from_the_kernel() {
    husk_testkit::require_root!();
    let Some(hier) = v1_host() else { return };
    let cg = test_cgroup(&hier);
    let mut sleeper = Child::sleep();
    cg.join(sleeper.pid()).unwrap();
    let mine = proc_cgroup(sleeper.pid());
    assert!(mine.contains(&format!(":memory:{}\n", cg.path())), "{mine}");
    assert_eq!(cg.procs().unwrap(), [sleeper.pid()]);

    let memsw = cg
        .v1_dir("memory")
        .unwrap()
        .join("memory.memsw.limit_in_bytes")
        .exists();
    let swap = if memsw { r#", "swap": 134217728"# } else { "" };
    cg.apply(&res(&format!(
        r#"{{"memory": {{"limit": 67108864, "reservation": 33554432{swap}}},
            "cpu": {{"shares": 512, "quota": 50000, "period": 100000, "cpus": "0"}},
            "pids": {{"limit": 16}},
            "devices": [{{"allow": false, "access": "rwm"}},
                        {{"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rw"}}]}}"#
    )))
    .unwrap();

    let memory = cg.v1_dir("memory").unwrap();
    assert_eq!(read(memory, "memory.limit_in_bytes"), "67108864");
    assert_eq!(read(memory, "memory.soft_limit_in_bytes"), "33554432");
    if memsw {
        assert_eq!(read(memory, "memory.memsw.limit_in_bytes"), "134217728");
    }
    let cpu = cg.v1_dir("cpu").unwrap();
    assert_eq!(read(cpu, "cpu.shares"), "512");
    assert_eq!(read(cpu, "cpu.cfs_quota_us"), "50000");
    assert_eq!(read(cpu, "cpu.cfs_period_us"), "100000");
    assert_eq!(read(cg.v1_dir("cpuset").unwrap(), "cpuset.cpus"), "0");
    assert_eq!(read(cg.v1_dir("pids").unwrap(), "pids.max"), "16");
    assert_eq!(
        read(cg.v1_dir("devices").unwrap(), "devices.list"),
        "c 1:3 rw"
    );

    let stats = cg.stats().unwrap();
    assert_eq!(stats.memory.unwrap().limit, Some(67_108_864));
    assert_eq!(stats.pids.unwrap().current, 1);
    assert_eq!(stats.pids.unwrap().limit, Some(16));
    assert!(stats.cpu.is_some());

    // Growing the limit past the old memory+swap limit reorders the writes.
    let swap = if memsw { r#", "swap": 536870912"# } else { "" };
    cg.apply(&res(&format!(
        r#"{{"memory": {{"limit": 268435456{swap}}}}}"#
    )))
    .unwrap();
    assert_eq!(read(memory, "memory.limit_in_bytes"), "268435456");
    drop(sleeper.0.kill());
}

#[test]
fn v1_pids_max_stops_a_fork() {
    husk_testkit::require_root!();
    let Some(hier) = v1_host() else { return };
    let cg = test_cgroup(&hier);
    let script = "while read _; do /bin/true && echo forked || echo refused; done";
    let mut sh = Child::sh(script);
    cg.join(sh.pid()).unwrap();
    sh.send("go");
    assert_eq!(sh.recv(), "forked");
    cg.apply(&res(r#"{"pids": {"limit": 1}}"#)).unwrap();
    assert_eq!(cg.stats().unwrap().pids.unwrap().current, 1);
    sh.send("go");
    // dash gives up on a failed fork ("Cannot fork") and exits: no reply.
    assert_ne!(sh.recv(), "forked");
    assert!(!sh.0.wait().unwrap().success());
    // Without a limit a new shell in the same cgroup forks again.
    cg.apply(&res(r#"{"pids": {"limit": -1}}"#)).unwrap();
    let mut sh = Child::sh(script);
    cg.join(sh.pid()).unwrap();
    sh.send("go");
    assert_eq!(sh.recv(), "forked");
}

#[test]
fn v1_freeze_thaw_stops_and_resumes() {
    husk_testkit::require_root!();
    let Some(hier) = v1_host() else { return };
    let cg = test_cgroup(&hier);
    let looper = Child::sh("while :; do sleep 0.01; done");
    cg.join(looper.pid()).unwrap();
    assert!(makes_progress(looper.pid()));
    cg.freeze().unwrap();
    assert!(cg.is_frozen().unwrap());
    assert_eq!(
        read(cg.v1_dir("freezer").unwrap(), "freezer.state"),
        "FROZEN"
    );
    assert!(!makes_progress(looper.pid()), "a frozen process ran");
    cg.thaw().unwrap();
    assert!(!cg.is_frozen().unwrap());
    assert!(makes_progress(looper.pid()), "a thawed process did not run");
}

#[test]
fn v1_kill_all_kills_and_remove_leaves_nothing() {
    husk_testkit::require_root!();
    let Some(hier) = v1_host() else { return };
    let cg = test_cgroup(&hier);
    let mut a = Child::sleep();
    // The shell forks only once inside, so its child is inside too.
    let mut b = Child::sh("read _; sleep 1000 & echo started; wait");
    cg.join(a.pid()).unwrap();
    cg.join(b.pid()).unwrap();
    b.send("go");
    assert_eq!(b.recv(), "started");
    assert_eq!(cg.procs().unwrap().len(), 3);
    cg.kill_all().unwrap();
    assert_eq!(a.wait_signal(), Some(9));
    assert_eq!(b.wait_signal(), Some(9));
    assert!(cg.procs().unwrap().is_empty());
    let dirs: Vec<_> = cg.dirs().map(Path::to_owned).collect();
    assert!(dirs.len() >= 2, "{dirs:?}");
    cg.disarm().remove().unwrap();
    for dir in dirs {
        assert!(!dir.exists(), "{} left behind", dir.display());
    }
}

#[test]
fn v2_procs_freeze_kill_remove() {
    husk_testkit::require_root!();
    let Some(hier) = v2_host() else { return };
    let cg = test_cgroup(&hier);
    let dir = cg.unified_dir().unwrap().to_owned();
    let mut looper = Child::sh("while :; do sleep 0.01; done");
    cg.join(looper.pid()).unwrap();
    assert!(proc_cgroup(looper.pid()).contains(&format!("0::{}\n", cg.path())));
    assert!(cg.procs().unwrap().contains(&looper.pid()));
    assert!(read(&dir, "cgroup.events").contains("populated 1"));

    cg.freeze().unwrap();
    assert!(read(&dir, "cgroup.events").contains("frozen 1"));
    assert!(!makes_progress(looper.pid()), "a frozen process ran");
    cg.thaw().unwrap();
    assert!(read(&dir, "cgroup.events").contains("frozen 0"));
    assert!(makes_progress(looper.pid()), "a thawed process did not run");

    cg.kill_all().unwrap();
    assert_eq!(looper.wait_signal(), Some(9));
    assert!(read(&dir, "cgroup.events").contains("populated 0"));
    cg.disarm().remove().unwrap();
    assert!(!dir.exists());
}

#[test]
fn v2_device_rules_are_an_ebpf_program() {
    husk_testkit::require_root!();
    let Some(hier) = v2_host() else { return };
    let cg = test_cgroup(&hier);
    cg.apply(&res(r#"{"devices": [{"allow": false, "access": "rwm"},
                        {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rw"}]}"#))
        .unwrap();
    let script = "read _; head -c1 /dev/zero >/dev/null && echo zero-ok || echo zero-denied; \
                  echo x >/dev/null && echo null-ok || echo null-denied";
    let mut sh = Child::sh(script);
    cg.join(sh.pid()).unwrap();
    sh.send("go");
    assert_eq!(sh.recv(), "zero-denied");
    assert_eq!(sh.recv(), "null-ok");
    // A second apply replaces the program.
    cg.apply(&res(r#"{"devices": [{"allow": true, "access": "rwm"}]}"#))
        .unwrap();
    let mut sh = Child::sh(script);
    cg.join(sh.pid()).unwrap();
    sh.send("go");
    assert_eq!(sh.recv(), "zero-ok");
}

#[test]
fn v2_controller_files_need_the_controller() {
    husk_testkit::require_root!();
    let Some(hier) = v2_host() else { return };
    if hier
        .unified()
        .unwrap()
        .controllers
        .iter()
        .any(|c| c == "pids")
    {
        return; // a host with pids on cgroup2 can apply it: covered by fakes.
    }
    let cg = test_cgroup(&hier);
    let err = cg.apply(&res(r#"{"pids": {"limit": 5}}"#)).unwrap_err();
    assert!(
        err.to_string().contains("pids controller is not available"),
        "{err}"
    );
}

#[test]
fn hybrid_cgroup_spans_every_hierarchy() {
    husk_testkit::require_root!();
    let hier = Hierarchies::detect().unwrap();
    if hier.mode() != Mode::Hybrid {
        husk_testkit::skip!("the host is not in hybrid mode");
        return;
    }
    let cg = test_cgroup(&hier);
    let mut sleeper = Child::sleep();
    cg.join(sleeper.pid()).unwrap();
    let lines = proc_cgroup(sleeper.pid());
    let inside = lines
        .lines()
        .filter(|l| l.ends_with(&cg.path().to_string()))
        .count();
    assert_eq!(inside, cg.dirs().count(), "{lines}");
    cg.freeze().unwrap(); // the v1 freezer
    cg.thaw().unwrap();
    cg.kill_all().unwrap(); // cgroup2's cgroup.kill
    assert_eq!(sleeper.wait_signal(), Some(9));
    let dirs: Vec<_> = cg.dirs().map(Path::to_owned).collect();
    drop(cg);
    for dir in dirs {
        assert!(!dir.exists(), "{} left behind", dir.display());
    }
}

#[test]
fn parallel_create_and_remove_of_siblings() {
    husk_testkit::require_root!();
    let hier = Hierarchies::detect().unwrap();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let hier = hier.clone();
            std::thread::spawn(move || {
                for _ in 0..15 {
                    let cg = test_cgroup(&hier);
                    cg.disarm().remove().unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}
