//! The scenes the `lsns` tests run in: a fresh pid + mount namespace with
//! its own /proc, fixture processes and namespaces, and both tools run
//! back to back for every case (see `tests/lsns.rs`).

pub mod expect;

use std::process::Command;

use crate::common::{self, output, MultiCall};

pub const REF_LSNS: &str = "/usr/bin/lsns";
pub const SYS_UNSHARE: &str = "/usr/bin/unshare";

/// Run first in every scenario: the new mount namespace is a copy of the
/// host's, whose nsfs bind mounts (other tests', `ip netns`) would name
/// namespaces no process in this pid namespace is in. Unmounting the
/// copies leaves the host alone (the copy is private).
pub const CLEAN: &str = r#"
umount -a -l -t nsfs 2>/dev/null || true
EXTRA=0
"#;

/// Processes and namespaces every scenario has, none of them held only by
/// a bind mount or an fd, so util-linux 2.38 and husk list the same.
/// `$T` is a private temp dir; pids and inodes the cases refer to are
/// exported as variables.
pub const FIXTURES: &str = r#"
unshare -n -u sleep 1000 &
NETPID=$!
unshare -U -r sleep 1000 &
unshare -p -f --mount-proc sleep 1000 &
unshare -C -T -f sleep 1000 &
unshare -i bash -c 'exec -a "$(printf "we ird\t\001 \303\274 \346\227\245 \\\\x41 $1")" sleep 1000' sh husk-arg &
WPID=$!
# A process holding an fd on its own network namespace (listed once).
unshare -n bash -c 'exec sleep 1000 3</proc/self/ns/net' &
# Wait until all six sleeps (and EXTRA more) run, each in its namespaces,
# and nothing else is starting, so both tools see the same processes.
for i in $(seq 1 250); do
  [ "$(cat /proc/[0-9]*/comm 2>/dev/null | grep -cx sleep)" = $((6 + EXTRA)) ] && break
  sleep 0.02
done
NETNS=$(readlink /proc/$NETPID/ns/net | tr -dc 0-9)
USERNS=$(readlink /proc/self/ns/user | tr -dc 0-9)
# nsfs bind mounts (the mount namespace is private to this scenario), in a
# directory closed to others, as /run/netns below.
chmod 700 "$T"
touch "$T/husk-nsfs-a" "$T/husk nsfs b"
mount --bind /proc/$NETPID/ns/net "$T/husk-nsfs-a"
mount --bind /proc/$NETPID/ns/net "$T/husk nsfs b"
mount --bind /proc/$NETPID/ns/net "$T/husk-nsfs-a"
mount --bind /proc/$NETPID/ns/uts "$T/husk-nsfs-a"
# A netnsid, when iproute2 is there. The directory is closed to others:
# for `nobody`, who sees no process in NETPID's namespace, a readable
# bind mount of it would be a namespace held only by a bind mount.
if command -v ip >/dev/null; then
  mkdir -p /run/netns && mount -t tmpfs husk-netns /run/netns &&
  touch /run/netns/husk-id && mount --bind /proc/$NETPID/ns/net /run/netns/husk-id &&
  chmod 700 /run/netns
  # Parallel scenarios share the host's netns, where id 7 may be taken.
  ip netns set husk-id 7 || true
fi
"#;

/// Namespaces no process is in (util-linux 2.38 does not list them; 2.39+
/// and husk do). Made before [`FIXTURES`], so their inodes are likely to
/// fall between the others'. Their inodes go to `$T/vars`.
pub const HOLDERS: &str = r#"
# A network namespace held only by a bind mount.
touch "$T/husk-hold"
unshare --net="$T/husk-hold" true
HOLDNS=$(stat -c %i "$T/husk-hold")
# One held only by an open fd (fd 4 of a sleep), its mount gone.
touch "$T/husk-fdonly"
unshare --net="$T/husk-fdonly" true
FDNS=$(stat -c %i "$T/husk-fdonly")
sleep 1000 4<"$T/husk-fdonly" &
FDPID=$!
for i in $(seq 1 250); do
  [ -e /proc/$FDPID/fd/4 ] && [ "$(cat /proc/$FDPID/comm)" = sleep ] && break
  sleep 0.02
done
umount -l "$T/husk-fdonly"
# One held only by a socket (fd 5, UDP) of a sleep back in our network
# namespace (util-linux 2.41 finds it with pidfd_getfd + SIOCGSKNS).
unshare -n bash -c 'readlink /proc/self/ns/net | tr -dc 0-9 > "$T/husk-sockns"
  ip link set lo up && exec 5<>/dev/udp/127.0.0.1/9 &&
  exec nsenter --net=/proc/1/ns/net sleep 1000' &
SKPID=$!
for i in $(seq 1 250); do
  [ "$(cat /proc/$SKPID/comm)" = sleep ] && break
  sleep 0.02
done
SOCKNS=$(cat "$T/husk-sockns")
EXTRA=2
# A user namespace made by `bin` (uid 2 in Debian's base-passwd; a name
# no wider than `root`, so no column widens), held only by a bind mount:
# its USER is its creator (NS_GET_OWNER_UID).
setpriv --reuid=2 --regid=2 --clear-groups unshare -U sleep 1000 &
UPID=$!
for i in $(seq 1 250); do
  [ "$(cat /proc/$UPID/comm 2>/dev/null)" = sleep ] && break
  sleep 0.02
done
touch "$T/husk-userns"
mount --bind /proc/$UPID/ns/user "$T/husk-userns"
HOLDUSER=$(stat -c %i "$T/husk-userns")
kill $UPID; wait $UPID
printf 'HOLDNS=%s\nFDNS=%s\nHOLDUSER=%s\nSOCKNS=%s\n' $HOLDNS $FDNS $HOLDUSER $SOCKNS > "$T/vars"
export HOLDNS FDNS HOLDUSER SOCKNS
"#;

/// How the tools are run inside the scenario.
#[derive(Clone, Copy)]
pub enum Mode {
    /// stdout is a file.
    File,
    /// stdout is a terminal this many columns wide (through `script`).
    Tty(u32),
    /// As the unprivileged user `nobody` (65534), stdout a file.
    Nobody,
}

/// The outputs of one scenario: for case `n`, `n.ref.*` and `n.husk.*`
/// (`out`, `err`, `rc`) in a temp dir removed on Drop.
pub struct Scenario {
    pub dir: tempfile::TempDir,
}

impl Scenario {
    /// Runs every case in one fresh pid + mount namespace set up by
    /// `CLEAN`, then `setup` (fixture scripts, in order).
    pub fn run(setup: &[&str], cases: &[&str], env: &[(&str, &str)], mode: Mode) -> Scenario {
        let links = MultiCall::new();
        let bin = links.path("lsns");
        let husk_dir = bin.parent().expect("link dir");
        let dir = common::tempdir();
        let t = dir.path();
        std::fs::write(t.join("cases"), cases.join("\n") + "\n").expect("write cases");
        let script = format!(
            "set -u\nT={t}\nexport T\n{CLEAN}\n{setup}\nexport NETNS USERNS WPID\nn=0\n\
             while IFS= read -r args; do\n\
               for tool in ref husk; do\n\
                 out=$T/$n.$tool\n\
                 if [ $tool = ref ]; then PATH=/usr/bin:/bin; else PATH={h}:/usr/bin:/bin; fi\n\
                 echo 300 > /proc/sys/kernel/ns_last_pid\n\
                 {run}\n\
                 echo $? > \"$out.rc\"\n\
               done\n\
               n=$((n+1))\n\
             done < $T/cases\n",
            t = t.display(),
            setup = setup.join("\n"),
            h = husk_dir.display(),
            run = run_line(mode),
        );
        std::fs::write(t.join("script.sh"), script).expect("write script");
        let mut cmd = Command::new(SYS_UNSHARE);
        cmd.args(["--fork", "--pid", "--mount-proc", "--kill-child", "sh"])
            .arg(t.join("script.sh"))
            .env_remove("COLUMNS");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = output(&mut cmd);
        assert!(
            out.status.success(),
            "scenario failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Scenario { dir }
    }

    /// What `tool` (`ref` or `husk`) wrote for case `n` (`out`, `err`, `rc`).
    pub fn read(&self, n: usize, tool: &str, ext: &str) -> Vec<u8> {
        std::fs::read(self.dir.path().join(format!("{n}.{tool}.{ext}"))).unwrap_or_default()
    }

    pub fn rc(&self, n: usize, tool: &str) -> String {
        String::from_utf8_lossy(&self.read(n, tool, "rc"))
            .trim()
            .to_owned()
    }

    /// A variable the fixtures saved in `$T/vars`.
    pub fn var(&self, name: &str) -> u64 {
        let vars = std::fs::read_to_string(self.dir.path().join("vars")).expect("read vars");
        vars.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {vars}"))
    }
}

/// How a tool is run, its stdout and stderr going to `$out.out/err`.
fn run_line(mode: Mode) -> String {
    match mode {
        // `script` gives the tool a terminal; its output goes to the file.
        Mode::Tty(cols) => format!(
            "COLUMNS={cols} script -qec \"lsns $args\" /dev/null </dev/null >\"$out.out\" 2>\"$out.err\""
        ),
        Mode::File => "eval \"lsns $args\" >\"$out.out\" 2>\"$out.err\"".to_owned(),
        // setpriv execs, so the tool keeps the pid set up for it.
        Mode::Nobody => "eval \"setpriv --reuid=65534 --regid=65534 --clear-groups lsns $args\" \
             >\"$out.out\" 2>\"$out.err\""
            .to_owned(),
    }
}
