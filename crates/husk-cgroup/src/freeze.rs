//! Freezing, thawing and killing everything in a cgroup.
//!
//! The v1 freezer (`freezer.state`) is used when the host has one, else
//! cgroup2's core `cgroup.freeze`, which works on a cgroup2 mount even with
//! no controllers (a hybrid host's `/sys/fs/cgroup/unified`). Killing uses
//! cgroup2's `cgroup.kill` (Linux 5.14) when there is one; otherwise the
//! cgroup is frozen so nothing can fork, each process gets SIGKILL, and it is
//! thawed so the signals are delivered.

use std::path::Path;
use std::time::{Duration, Instant};

use rustix::process::{kill_process, Pid, Signal};

use crate::cgroup::{Cgroup, CgroupError};
use crate::file;

/// How long a freezer state change or a kill may take.
const TIMEOUT: Duration = Duration::from_secs(5);

/// Which freezer a cgroup uses.
enum Freezer<'a> {
    V1(&'a Path),
    V2(&'a Path),
}

impl Cgroup {
    fn freezer(&self) -> Result<Freezer<'_>, CgroupError> {
        if let Some(dir) = self.v1_dir("freezer") {
            return Ok(Freezer::V1(dir));
        }
        match self.unified_dir() {
            Some(dir) => Ok(Freezer::V2(dir)),
            None => Err(CgroupError::NoFreezer(self.path.clone())),
        }
    }

    /// Freezes every process in the cgroup and waits until they are.
    pub fn freeze(&self) -> Result<(), CgroupError> {
        match self.freezer()? {
            Freezer::V1(dir) => set_v1(dir, "FROZEN"),
            Freezer::V2(dir) => set_v2(dir, true),
        }
    }

    /// Thaws the cgroup and waits until it is.
    pub fn thaw(&self) -> Result<(), CgroupError> {
        match self.freezer()? {
            Freezer::V1(dir) => set_v1(dir, "THAWED"),
            Freezer::V2(dir) => set_v2(dir, false),
        }
    }

    /// Whether the cgroup is frozen (v1 `FROZEN`, v2 `frozen 1`).
    pub fn is_frozen(&self) -> Result<bool, CgroupError> {
        let freeze_err = |path: &Path| {
            let path = path.to_owned();
            move |source| CgroupError::Freeze { path, source }
        };
        match self.freezer()? {
            Freezer::V1(dir) => {
                Ok(file::read_trimmed(dir, "freezer.state").map_err(freeze_err(dir))? == "FROZEN")
            }
            Freezer::V2(dir) => {
                let events = file::read(dir, "cgroup.events").map_err(freeze_err(dir))?;
                Ok(file::keyed(&events, "frozen") == Some(1))
            }
        }
    }

    /// Kills (SIGKILL) every process in the cgroup and waits until the
    /// cgroup is empty. An empty cgroup is left alone: on v1 killing goes
    /// through the freezer, which costs milliseconds.
    pub fn kill_all(&self) -> Result<(), CgroupError> {
        if self.procs()?.is_empty() {
            return Ok(());
        }
        if let Some(dir) = self
            .unified_dir()
            .filter(|d| d.join("cgroup.kill").exists())
        {
            file::write(dir, "cgroup.kill", "1").map_err(|source| CgroupError::Kill {
                path: dir.to_owned(),
                source,
            })?;
            return self.wait_empty();
        }
        let frozen = self.freezer().is_ok();
        if frozen {
            self.freeze()?;
        }
        let killed = self.signal_each();
        if frozen {
            self.thaw()?;
        }
        killed?;
        self.wait_empty()
    }

    /// SIGKILL to each process listed; a process already gone is fine.
    fn signal_each(&self) -> Result<(), CgroupError> {
        for pid in self.procs()? {
            let Some(p) = i32::try_from(pid).ok().and_then(Pid::from_raw) else {
                continue;
            };
            match kill_process(p, Signal::KILL) {
                Ok(()) | Err(rustix::io::Errno::SRCH) => {}
                Err(e) => {
                    return Err(CgroupError::Signal {
                        pid,
                        source: e.into(),
                    })
                }
            }
        }
        Ok(())
    }

    /// Waits for the cgroup to have no processes, signalling stragglers
    /// (forked between the listing and the signal) again.
    fn wait_empty(&self) -> Result<(), CgroupError> {
        let start = Instant::now();
        let mut delay = Duration::from_millis(1);
        loop {
            let pids = self.procs()?;
            if pids.is_empty() {
                return Ok(());
            }
            if start.elapsed() > TIMEOUT {
                return Err(CgroupError::KillTimeout {
                    path: self.path.clone(),
                    pids,
                });
            }
            std::thread::sleep(delay);
            delay = (delay * 2).min(Duration::from_millis(50));
            if delay == Duration::from_millis(50) {
                self.signal_each()?;
            }
        }
    }
}

/// Writes a v1 `freezer.state` and polls until it reads back; the write is
/// repeated now and then, since a task can slip out of a freezing cgroup
/// (runc does the same).
fn set_v1(dir: &Path, state: &'static str) -> Result<(), CgroupError> {
    let err = |source| CgroupError::Freeze {
        path: dir.to_owned(),
        source,
    };
    let start = Instant::now();
    let mut round = 0u32;
    loop {
        if round % 16 == 0 {
            file::write(dir, "freezer.state", state).map_err(err)?;
        }
        if file::read_trimmed(dir, "freezer.state").map_err(err)? == state {
            return Ok(());
        }
        if start.elapsed() > TIMEOUT {
            // Do not leave a half-frozen cgroup behind.
            let _ = file::write(dir, "freezer.state", "THAWED");
            return Err(CgroupError::FreezeTimeout {
                path: dir.to_owned(),
                state,
            });
        }
        round += 1;
        std::thread::sleep(Duration::from_millis(if round < 10 { 1 } else { 10 }));
    }
}

/// Writes cgroup2 `cgroup.freeze` and polls `cgroup.events` until `frozen`
/// matches.
fn set_v2(dir: &Path, frozen: bool) -> Result<(), CgroupError> {
    let err = |source| CgroupError::Freeze {
        path: dir.to_owned(),
        source,
    };
    file::write(dir, "cgroup.freeze", if frozen { "1" } else { "0" }).map_err(err)?;
    let start = Instant::now();
    let mut round = 0u32;
    loop {
        let events = file::read(dir, "cgroup.events").map_err(err)?;
        if file::keyed(&events, "frozen") == Some(u64::from(frozen)) {
            return Ok(());
        }
        if start.elapsed() > TIMEOUT {
            return Err(CgroupError::FreezeTimeout {
                path: dir.to_owned(),
                state: if frozen { "FROZEN" } else { "THAWED" },
            });
        }
        round += 1;
        std::thread::sleep(Duration::from_millis(if round < 10 { 1 } else { 10 }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::{Hierarchies, Unified, V1Hierarchy};
    use crate::path::CgroupPath;

    fn fake(dir: &Path, files: &[(&str, &str)]) {
        std::fs::create_dir_all(dir).unwrap();
        for (name, value) in files {
            std::fs::write(dir.join(name), value).unwrap();
        }
    }

    #[test]
    fn v1_freezer_on_a_fake() {
        // A fake freezer.state reads back what was written, like an idle
        // cgroup that freezes at once.
        let root = tempfile::tempdir().unwrap();
        let mount = root.path().join("freezer");
        let path = CgroupPath::parse("/husk/f").unwrap();
        fake(
            &mount.join("husk/f"),
            &[("freezer.state", "THAWED\n"), ("cgroup.procs", "")],
        );
        let hier = Hierarchies::new(
            vec![V1Hierarchy {
                controllers: vec!["freezer".into()],
                mount,
            }],
            None,
        );
        let cg = Cgroup::open(&hier, &path).unwrap();
        cg.freeze().unwrap();
        assert!(cg.is_frozen().unwrap());
        cg.thaw().unwrap();
        assert!(!cg.is_frozen().unwrap());
        cg.kill_all().unwrap();
    }

    #[test]
    fn v2_freeze_times_out_on_a_fake_that_never_freezes() {
        let root = tempfile::tempdir().unwrap();
        let path = CgroupPath::parse("/husk/f").unwrap();
        fake(
            &root.path().join("husk/f"),
            &[
                ("cgroup.freeze", "0\n"),
                ("cgroup.events", "populated 0\nfrozen 0\n"),
            ],
        );
        let hier = Hierarchies::new(
            Vec::new(),
            Some(Unified {
                mount: root.path().to_owned(),
                controllers: Vec::new(),
            }),
        );
        let cg = Cgroup::open(&hier, &path).unwrap();
        cg.thaw().unwrap();
        let err = set_v2(cg.unified_dir().unwrap(), true).unwrap_err();
        assert!(
            matches!(
                err,
                CgroupError::FreezeTimeout {
                    state: "FROZEN",
                    ..
                }
            ),
            "{err}"
        );
        let written = std::fs::read_to_string(root.path().join("husk/f/cgroup.freeze")).unwrap();
        assert_eq!(written, "1");
    }
}
