//! The `husk_net::network` library on its own, with every system path a
//! parameter: state in a temp dir, `/proc/sys` replaced by a temp dir, the
//! "host" a network namespace private to one thread, the member the
//! namespace of another thread (named by its thread id). Needs root and
//! `nft`; nothing outside the two threads' namespaces is touched.

use std::sync::mpsc;

use husk_net::netns::Registry;
use husk_net::network::{ConnectSpec, CreateSpec, Networks, Target};
use husk_net::state::Store;

#[test]
fn create_connect_remove_with_paths_as_parameters() {
    husk_testkit::require_root!();
    let tmp = tempfile::tempdir().unwrap();
    let proc_sys = tmp.path().join("sys");
    std::fs::create_dir_all(proc_sys.join("net/ipv4")).unwrap();
    // The member: a thread in a namespace of its own, parked until done.
    let (tid_tx, tid_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let member = std::thread::spawn(move || {
        husk_sys::unshare::unshare_namespaces(libc::CLONE_NEWNET).unwrap();
        tid_tx
            .send(rustix::thread::gettid().as_raw_nonzero().get())
            .unwrap();
        let _ = done_rx.recv();
    });
    let tid = u32::try_from(tid_rx.recv().unwrap()).unwrap();
    let state = tmp.path().join("state");
    let result = std::thread::scope(|s| {
        s.spawn(|| {
            husk_sys::unshare::unshare_namespaces(libc::CLONE_NEWNET).unwrap();
            let nets = Networks::new(
                Store::new(&state),
                Registry::new(tmp.path().join("netns"), tmp.path().join("etc")),
                &proc_sys,
            );
            let spec = CreateSpec {
                name: "lib".into(),
                ..CreateSpec::default()
            };
            let net = nets.create(&spec).expect("create");
            assert_eq!(net.bridge, "husk-lib");
            assert_eq!(net.subnet.to_string(), "10.89.0.0/24");
            let sysctl = std::fs::read_to_string(proc_sys.join("net/ipv4/ip_forward")).unwrap();
            assert_eq!(sysctl, "1", "written under the given /proc/sys");
            // nft ran in this thread's namespace: the table is here.
            let nft = std::process::Command::new("nft")
                .args(["list", "table", "inet", "husk"])
                .output()
                .expect("run nft");
            assert!(nft.status.success(), "{nft:?}");
            let connect = ConnectSpec {
                ip: None,
                ifname: "eth0".into(),
                publish: vec![],
            };
            let ep = nets
                .connect("lib", &Target::Pid(tid), &connect)
                .expect("connect");
            assert_eq!(ep.ip.to_string(), "10.89.0.2");
            assert_eq!(ep.netns, format!("pid:{tid}"));
            let again = nets.connect("lib", &Target::Pid(tid), &connect);
            assert!(again.is_err(), "connected twice");
            assert!(state.join("lib.json").exists());
            // This thread's links (`/proc/self` would be the main thread's).
            let links = || std::fs::read_to_string("/proc/thread-self/net/dev").unwrap();
            assert!(links().contains("husk-lib:"), "{}", links());
            nets.remove("lib", true).expect("remove");
            assert!(!state.join("lib.json").exists());
            assert!(nets.list().unwrap().is_empty());
            // The kernel side goes too: the bridge (with the veth host
            // end) and the nftables table.
            assert!(!links().contains("husk-"), "{}", links());
            let nft = std::process::Command::new("nft")
                .args(["list", "table", "inet", "husk"])
                .output()
                .expect("run nft");
            assert!(!nft.status.success(), "table left: {nft:?}");
        })
        .join()
    });
    done_tx.send(()).unwrap();
    member.join().unwrap();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}
