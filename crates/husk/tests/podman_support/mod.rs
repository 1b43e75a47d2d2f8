//! podman 4.3 with an OCI runtime of the test's choice (husk through a
//! `husk-runc` link, or runc for differential checks), isolated per test.
//!
//! Everything podman keeps lives in one `husk-podman-*` temp dir: storage
//! (`--root`, `--runroot`, overlay), libpod's state and locks (`--tmpdir`,
//! `lock_type = "file"` instead of the machine-wide `/dev/shm/libpod_lock`),
//! the CNI config dir, the
//! config files podman reads (`CONTAINERS_CONF`, `..._REGISTRIES_CONF`,
//! `..._STORAGE_CONF`: `/etc/containers` is not read) and `TMPDIR`. Every
//! container gets `--cgroup-parent /husk/podman-<unique>` (podman's cgroupfs
//! manager puts its conmons in `<parent>/conmon`). [`Podman`]'s Drop
//! removes the containers, ends what is left of the processes it started
//! (by pid: those in its cgroups or naming its dir), unmounts what is
//! mounted under its dir, removes its cgroups and the dir.
//!
//! This host: cgroups v1 hybrid, no systemd, and no `CAP_SYS_RESOURCE` in
//! the bounding set, hence `--cgroup-manager cgroupfs --events-backend file`
//! and explicit `--ulimit nofile=N:N --ulimit nproc=N:N` (podman's defaults
//! are above the hard limits, so runc fails as husk does).
#![allow(dead_code)]

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::{husk_bin, unique};

/// The image every test runs, imported from a busybox rootfs.
pub const IMAGE: &str = "localhost/husk-busybox";

/// A file the image has under `/tmp` (to see `--read-only`'s copy-up).
pub const SEED: &str = "/tmp/husk-seed";

/// How long one podman command may take before the test fails.
const COMMAND_LIMIT: Duration = Duration::from_secs(180);

/// The OCI runtime podman is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    /// husk, through a link named `husk-runc` (as it is installed).
    Husk,
    /// `/usr/sbin/runc`, for differential checks.
    Runc,
}

/// One private podman (storage, state, configs, cgroup parent) with the
/// busybox image imported.
pub struct Podman {
    dir: tempfile::TempDir,
    /// `podman-<unique>`: the cgroup parent is `/husk/<this>`.
    pub name: String,
    runtime: PathBuf,
    which: Runtime,
}

impl Podman {
    /// A private podman using `runtime`, with [`IMAGE`] imported.
    pub fn new(runtime_kind: Runtime) -> Podman {
        // conmon daemonizes: as a subreaper this test adopts it and can
        // reap it (pid 1 of a test machine may not).
        crate::oci_support::adopt_orphans();
        let dir = tempfile::Builder::new()
            .prefix("husk-podman-")
            .tempdir()
            .expect("tempdir");
        let name = unique("podman").trim_start_matches("husk-").to_owned();
        let runtime = match runtime_kind {
            Runtime::Husk => {
                let link = dir.path().join("husk-runc");
                symlink(husk_bin(), &link).unwrap();
                link
            }
            Runtime::Runc => crate::common::which("runc").expect("runc is installed"),
        };
        let p = Podman {
            dir,
            name,
            runtime,
            which: runtime_kind,
        };
        p.write_configs();
        p.import_image();
        p
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The runtime's state directory (its `--root`): its default
    /// (`/run/husk`, `/run/runc`), as when podman runs it for real. podman
    /// passes `--runtime-flag` to its own runtime calls but not to the
    /// cleanup command conmon runs when a container exits (`podman
    /// container cleanup`, which deletes `run --rm` containers), so a
    /// private root would leave their state and cgroups behind. Container
    /// ids are 64 random hex digits: tests cannot collide there.
    pub fn runtime_root(&self) -> PathBuf {
        match self.which {
            Runtime::Husk => PathBuf::from("/run/husk"),
            Runtime::Runc => PathBuf::from("/run/runc"),
        }
    }

    /// Every container this podman ever created (from its event log).
    pub fn all_ids(&self) -> Vec<String> {
        let out = self.output(&[
            "events",
            "--stream=false",
            "--filter",
            "event=create",
            "--format",
            "{{.ID}}",
        ]);
        let mut ids: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_owned)
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }

    /// The containers of this podman that the runtime still has state for.
    pub fn runtime_leftovers(&self) -> Vec<String> {
        let root = self.runtime_root();
        self.all_ids()
            .into_iter()
            .filter(|id| root.join(id).exists())
            .collect()
    }

    /// The cgroup parent of every container (relative to each hierarchy).
    pub fn cgroup_parent(&self) -> String {
        format!("/husk/{}", self.name)
    }

    fn write_configs(&self) {
        let d = self.dir();
        for sub in ["tmp", "cni", "config"] {
            std::fs::create_dir(d.join(sub)).unwrap();
        }
        let conf = format!(
            "[containers]\nnetns = \"none\"\n\
             [engine]\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\n\
             lock_type = \"file\"\ntmp_dir = \"{tmp}\"\nimage_copy_tmp_dir = \"{tmp}\"\n\
             [network]\nnetwork_backend = \"cni\"\nnetwork_config_dir = \"{cni}\"\n",
            tmp = d.join("tmp").display(),
            cni = d.join("cni").display(),
        );
        std::fs::write(d.join("containers.conf"), conf).unwrap();
        std::fs::write(
            d.join("registries.conf"),
            "unqualified-search-registries = []\n",
        )
        .unwrap();
        let storage = format!(
            "[storage]\ndriver = \"overlay\"\nrunroot = \"{}\"\ngraphroot = \"{}\"\n",
            d.join("runroot").display(),
            d.join("root").display(),
        );
        std::fs::write(d.join("storage.conf"), storage).unwrap();
    }

    /// `podman` with the private configs and global options.
    pub fn cmd(&self) -> Command {
        let mut cmd = self.with_env(Command::new("podman"));
        cmd.args(self.global_args());
        cmd
    }

    /// `cmd` with podman's environment: the private config files, and
    /// `XDG_CONFIG_HOME` and `TMPDIR` in the temp dir.
    fn with_env(&self, mut cmd: Command) -> Command {
        let d = self.dir();
        cmd.env("CONTAINERS_CONF", d.join("containers.conf"))
            .env("CONTAINERS_REGISTRIES_CONF", d.join("registries.conf"))
            .env("CONTAINERS_STORAGE_CONF", d.join("storage.conf"))
            .env("XDG_CONFIG_HOME", d.join("config"))
            .env("TMPDIR", d.join("tmp"));
        cmd
    }

    /// podman's global options (before the command).
    pub fn global_args(&self) -> Vec<String> {
        let d = self.dir();
        let path = |p: &str| d.join(p).display().to_string();
        vec![
            "--root".into(),
            path("root"),
            "--runroot".into(),
            path("runroot"),
            "--tmpdir".into(),
            path("tmp"),
            "--volumepath".into(),
            path("volumes"),
            "--storage-driver".into(),
            "overlay".into(),
            "--cgroup-manager".into(),
            "cgroupfs".into(),
            "--events-backend".into(),
            "file".into(),
            "--runtime".into(),
            self.runtime.display().to_string(),
        ]
    }

    /// The options every `run`/`create` needs here (before the image).
    pub fn run_args(&self) -> Vec<String> {
        [
            "--network",
            "none",
            "--ulimit",
            "nofile=1024:1024",
            "--ulimit",
            "nproc=1024:1024",
            "--cgroup-parent",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .chain([self.cgroup_parent()])
        .collect()
    }

    /// `podman ARGS...` to completion (stdin empty).
    pub fn output(&self, args: &[&str]) -> Output {
        let mut cmd = self.cmd();
        cmd.args(args).stdin(Stdio::null());
        bounded_output(&mut cmd)
    }

    /// `podman ARGS...`, which must succeed; its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.output(args);
        assert!(
            out.status.success(),
            "podman {args:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `podman run --rm <run_args> OPTS IMAGE CMD...`.
    pub fn run_rm(&self, opts: &[&str], cmd: &[&str]) -> Output {
        let args = self.run_line(&["--rm"], opts, cmd);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.output(&args)
    }

    /// `run FIRST... <run_args> OPTS IMAGE CMD...` as arguments.
    pub fn run_line(&self, first: &[&str], opts: &[&str], cmd: &[&str]) -> Vec<String> {
        let mut args = vec!["run".to_owned()];
        args.extend(first.iter().map(|s| (*s).to_owned()));
        args.extend(self.run_args());
        args.extend(opts.iter().map(|s| (*s).to_owned()));
        args.push(IMAGE.to_owned());
        args.extend(cmd.iter().map(|s| (*s).to_owned()));
        args
    }

    /// The whole `podman ...` command line as one shell-quoted string (for
    /// `script -c`).
    pub fn shell_line(&self, args: &[String]) -> String {
        let mut words = vec!["podman".to_owned()];
        words.extend(self.global_args());
        words.extend(args.iter().cloned());
        words
            .iter()
            .map(|w| format!("'{}'", w.replace('\'', r"'\''")))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// `script -qec 'podman ARGS...' /dev/null` (util-linux): podman runs
    /// on a new pty; `input` is typed into it, then end of input.
    ///
    /// A container on a terminal should read a line before it prints: a
    /// `run --rm -it` container that printed and exited at once lost all
    /// its output (the exit status arrived) twice in ~20 loaded runs with
    /// husk, never in 65 tries alone, never with runc. Most likely conmon
    /// read the output before accepting podman's attach connection (podman
    /// connects, then starts the container; husk's `start` is quicker than
    /// runc's). The typed line reaches the container only through the
    /// attached podman, so what it prints after reading comes back.
    pub fn on_a_pty(&self, args: &[String], input: &[u8]) -> Output {
        let mut cmd = self.with_env(Command::new("script"));
        cmd.args(["-qec", &self.shell_line(args), "/dev/null"])
            .stdin(Stdio::piped());
        bounded_output_with_input(&mut cmd, input)
    }

    /// Builds a busybox-static rootfs (the binary, a link per applet and
    /// [`SEED`]) as a tar and imports it as [`IMAGE`]. `podman import`
    /// writes c/image's blob-info cache to `/var/lib/containers/cache`
    /// whatever the options (podman 4.3 sets no cache dir for it), so the
    /// import runs in a private mount namespace (`husk unshare -m`) with a
    /// tmpfs on `/var/lib`: nothing is left on the host.
    fn import_image(&self) {
        let rootfs = self.dir().join("rootfs");
        let bin = rootfs.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::copy(crate::oci_support::BUSYBOX, bin.join("busybox")).unwrap();
        let list = Command::new(crate::oci_support::BUSYBOX)
            .arg("--list")
            .output()
            .unwrap();
        for applet in String::from_utf8_lossy(&list.stdout).lines() {
            if applet != "busybox" {
                symlink("busybox", bin.join(applet)).unwrap();
            }
        }
        std::fs::create_dir_all(rootfs.join("tmp")).unwrap();
        std::fs::write(rootfs.join(SEED.trim_start_matches('/')), "seed\n").unwrap();
        let tar = self.dir().join("rootfs.tar");
        let status = Command::new("tar")
            .arg("-C")
            .arg(&rootfs)
            .arg("-cf")
            .arg(&tar)
            .arg(".")
            .status()
            .unwrap();
        assert!(status.success(), "tar of the rootfs");
        let mut podman: Vec<String> = vec!["podman".into()];
        podman.extend(self.global_args());
        podman.extend(["import".into(), tar.display().to_string(), IMAGE.into()]);
        let mut cmd = self.with_env(Command::new(husk_bin()));
        cmd.args(["unshare", "--mount", "--", "sh", "-c"])
            .arg("mount -t tmpfs husk-podman-cache /var/lib && exec \"$@\"")
            .arg("sh")
            .args(&podman);
        let out = bounded_output(&mut cmd);
        assert!(
            out.status.success(),
            "podman import: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// pids in this podman's cgroups (its conmons and containers).
    fn pids_in_cgroups(&self) -> Vec<i32> {
        let mut pids = Vec::new();
        for dir in self.cgroup_dirs() {
            for procs in walk_dirs(&dir) {
                let text = std::fs::read_to_string(procs.join("cgroup.procs")).unwrap_or_default();
                pids.extend(text.lines().filter_map(|l| l.parse::<i32>().ok()));
            }
        }
        pids.sort_unstable();
        pids.dedup();
        pids
    }

    /// Processes whose command line names this podman's dir (podman's
    /// cleanup processes, conmons, runtime calls).
    fn pids_naming_dir(&self) -> Vec<i32> {
        let me = self.dir().as_os_str().as_encoded_bytes().to_vec();
        let mut pids = Vec::new();
        for e in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
            if cmdline.windows(me.len()).any(|w| w == me.as_slice()) {
                pids.push(pid);
            }
        }
        pids
    }

    /// Waits (bounded) until no process is left in this podman's cgroups:
    /// its conmons have exited. Returns those still there.
    pub fn processes_after_wait(&self) -> Vec<i32> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let mut left = self.pids_in_cgroups();
            left.retain(|&p| !is_zombie(p));
            if left.is_empty() || Instant::now() > deadline {
                return left;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `/husk/<name>` in every mounted hierarchy that has it.
    pub fn cgroup_dirs(&self) -> Vec<PathBuf> {
        crate::oci_support::cgroup_mounts()
            .into_iter()
            .map(|m| m.join("husk").join(&self.name))
            .filter(|d| d.is_dir())
            .collect()
    }

    /// Mount points under this podman's dir (deepest first).
    pub fn mounts(&self) -> Vec<PathBuf> {
        let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        let mut out: Vec<PathBuf> = text
            .lines()
            .filter_map(|l| l.split(' ').nth(4))
            .map(PathBuf::from)
            .filter(|p| p.starts_with(self.dir()))
            .collect();
        out.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
        out
    }

    /// Ends the processes left (SIGKILL, by pid) and waits for them.
    fn end_processes(&self) {
        let me = rustix::process::getpid().as_raw_nonzero().get();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let mut left = self.pids_in_cgroups();
            left.extend(self.pids_naming_dir());
            left.retain(|&p| p != me && !is_zombie(p));
            if left.is_empty() || Instant::now() > deadline {
                return;
            }
            for pid in left {
                if let Some(pid) = rustix::process::Pid::from_raw(pid) {
                    let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let ids = self.all_ids();
        let _ = self.output(&["rm", "--force", "--all", "--time", "0"]);
        for id in ids {
            if self.runtime_root().join(&id).exists() {
                let mut delete = Command::new(&self.runtime);
                delete
                    .arg("--root")
                    .arg(self.runtime_root())
                    .args(["delete", "--force", &id]);
                let _ = bounded_output(&mut delete);
            }
        }
        // conmon exits once its container is gone; give it (and the
        // cleanup podman it runs) a bounded while before killing.
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline
            && self
                .pids_in_cgroups()
                .into_iter()
                .chain(self.pids_naming_dir())
                .any(|p| !is_zombie(p))
        {
            std::thread::sleep(Duration::from_millis(50));
        }
        self.end_processes();
        reap_adopted_conmons();
        for m in self.mounts() {
            let _ = rustix::mount::unmount(&m, rustix::mount::UnmountFlags::DETACH);
        }
        for dir in self.cgroup_dirs() {
            let mut dirs = walk_dirs(&dir);
            dirs.reverse();
            for d in dirs {
                let _ = std::fs::remove_dir(&d);
            }
        }
    }
}

/// `dir` and every directory under it, parents first.
fn walk_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![dir.to_owned()];
    let mut i = 0;
    while i < out.len() {
        if let Ok(entries) = std::fs::read_dir(&out[i]) {
            for e in entries.flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    out.push(e.path());
                }
            }
        }
        i += 1;
    }
    out
}

/// Reaps the conmons this process adopted (as a subreaper: conmon
/// daemonizes) once they have exited: its children named `conmon` that are
/// zombies.
fn reap_adopted_conmons() {
    let me = rustix::process::getpid().as_raw_nonzero().get();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        let Some((head, rest)) = stat.rsplit_once(") ") else {
            continue;
        };
        let mut fields = rest.split(' ');
        let zombie = fields.next() == Some("Z");
        let parent = fields.next().and_then(|p| p.parse::<i32>().ok());
        if zombie && parent == Some(me) && head.ends_with("(conmon") {
            if let Some(pid) = rustix::process::Pid::from_raw(pid) {
                let _ = rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::NOHANG);
            }
        }
    }
}

fn is_zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| s.rsplit_once(") ").is_some_and(|(_, r)| r.starts_with('Z')))
        .unwrap_or(true)
}

/// Runs `cmd` to completion with stdout and stderr captured; kills it (by
/// pid) and fails the test after [`COMMAND_LIMIT`].
pub fn bounded_output(cmd: &mut Command) -> Output {
    bounded_output_with_input(cmd.stdin(Stdio::null()), b"")
}

fn bounded_output_with_input(cmd: &mut Command, input: &[u8]) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    if let Some(mut stdin) = child.stdin.take() {
        std::io::Write::write_all(&mut stdin, input).unwrap();
    }
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(COMMAND_LIMIT) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            if let Some(pid) = rustix::process::Pid::from_raw(i32::try_from(pid).unwrap_or(0)) {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            }
            panic!("{cmd:?} did not finish in {COMMAND_LIMIT:?}");
        }
    }
}
