//! `ps`, `pause`, `resume`, `update`, `events`: the commands that act on
//! a container's cgroup.

use std::ffi::OsString;
use std::io::Read;
use std::time::{Duration, Instant};

use husk_runtime::container;
use husk_runtime::store::{Status, StoreError};
use serde_json::{json, Value};

use super::{one_id, options, Globals};
use crate::cli::getopt::{long, HasArg, Spec};
use crate::cli::{Exit, Outcome, Prog};

const PS_SPEC: Spec = Spec {
    short: "+f:h",
    long: &[
        long("format", HasArg::Required, 'f'),
        long("help", HasArg::No, 'h'),
    ],
};

/// `ps [--format table|json] ID [PS_ARGS...]`: as runc, the host's
/// `ps` (default `-ef`) filtered to the container's pids, or them as a
/// JSON array.
pub(super) fn ps(g: &Globals, prog: &Prog, argv: Vec<OsString>) -> Outcome {
    let mut json_out = false;
    let Some(ops) = options(prog, PS_SPEC, argv, |c, arg| {
        if c == 'f' {
            match arg.unwrap_or_default().to_str() {
                Some("json") => json_out = true,
                Some("table") => json_out = false,
                other => anyhow::bail!("invalid format option {other:?}"),
            }
        }
        Ok(())
    })?
    else {
        return Ok(Exit::OK);
    };
    let id = one_id(prog, &ops[..ops.len().min(1)])?;
    let pids = container::pids(&g.store, &id)?;
    if json_out {
        println!("{}", serde_json::to_string(&pids)?);
        return Ok(Exit::OK);
    }
    let ps_args: Vec<OsString> = if ops.len() > 1 {
        ops[1..].to_vec()
    } else {
        vec!["-ef".into()]
    };
    let out = std::process::Command::new("ps")
        .args(&ps_args)
        .output()
        .map_err(|e| anyhow::anyhow!("cannot run ps: {e}"))?;
    if !out.status.success() {
        anyhow::bail!("ps: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let column = header
        .split_whitespace()
        .position(|h| h == "PID")
        .ok_or_else(|| anyhow::anyhow!("ps: no PID column in its output"))?;
    println!("{header}");
    for line in lines {
        let pid = line
            .split_whitespace()
            .nth(column)
            .and_then(|p| p.parse().ok());
        if pid.is_some_and(|p: u32| pids.contains(&p)) {
            println!("{line}");
        }
    }
    Ok(Exit::OK)
}

const HELP_ONLY: Spec = Spec {
    short: "h",
    long: &[long("help", HasArg::No, 'h')],
};

/// `pause ID`.
pub(super) fn pause(g: &Globals, prog: &Prog, argv: Vec<OsString>) -> Outcome {
    if let Some(ops) = options(prog, HELP_ONLY, argv, |_, _| Ok(()))? {
        container::pause(&g.store, &one_id(prog, &ops)?)?;
    }
    Ok(Exit::OK)
}

/// `resume ID`.
pub(super) fn resume(g: &Globals, prog: &Prog, argv: Vec<OsString>) -> Outcome {
    if let Some(ops) = options(prog, HELP_ONLY, argv, |_, _| Ok(()))? {
        container::resume(&g.store, &one_id(prog, &ops)?)?;
    }
    Ok(Exit::OK)
}

const RESOURCES: char = 'r';
const MEMORY: char = 'm';
const SWAP: char = '\u{80}';
const SHARES: char = '\u{81}';
const QUOTA: char = '\u{82}';
const PERIOD: char = '\u{83}';
const CPUS: char = '\u{84}';
const MEMS: char = '\u{85}';
const PIDS: char = '\u{86}';
const RESERVATION: char = '\u{87}';
const BLKIO: char = '\u{88}';

const UPDATE_SPEC: Spec = Spec {
    short: "r:m:h",
    long: &[
        long("resources", HasArg::Required, RESOURCES),
        long("memory", HasArg::Required, MEMORY),
        long("memory-swap", HasArg::Required, SWAP),
        long("memory-reservation", HasArg::Required, RESERVATION),
        long("cpu-shares", HasArg::Required, SHARES),
        long("cpu-quota", HasArg::Required, QUOTA),
        long("cpu-period", HasArg::Required, PERIOD),
        long("cpuset-cpus", HasArg::Required, CPUS),
        long("cpuset-mems", HasArg::Required, MEMS),
        long("pids-limit", HasArg::Required, PIDS),
        long("blkio-weight", HasArg::Required, BLKIO),
        long("help", HasArg::No, 'h'),
    ],
};

/// A size as runc takes it (`units.RAMInBytes`): a number with an
/// optional `k`, `m`, `g`, `t` (binary) suffix; `-1` is unlimited.
fn bytes(s: &str) -> anyhow::Result<i64> {
    let t = s.trim().to_ascii_lowercase();
    let t = t.strip_suffix('b').unwrap_or(&t);
    let (num, mult) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 1i64 << 10),
        Some('m') => (&t[..t.len() - 1], 1 << 20),
        Some('g') => (&t[..t.len() - 1], 1 << 30),
        Some('t') => (&t[..t.len() - 1], 1 << 40),
        _ => (t, 1),
    };
    let n: i64 = num
        .parse()
        .map_err(|_| anyhow::anyhow!("invalid size {s:?}"))?;
    Ok(if n < 0 { n } else { n.saturating_mul(mult) })
}

fn number(flag: &str, s: &str) -> anyhow::Result<i64> {
    s.parse()
        .map_err(|_| anyhow::anyhow!("--{flag}: invalid value {s:?}"))
}

/// `update [--resources FILE|-] [flags] ID`: the flags override the
/// file's fields, as in runc.
pub(super) fn update(g: &Globals, prog: &Prog, argv: Vec<OsString>) -> Outcome {
    let mut file = None;
    let mut set: Vec<(&[&str], Value)> = Vec::new();
    let Some(ops) = options(prog, UPDATE_SPEC, argv, |c, arg| {
        let a = arg.unwrap_or_default().to_string_lossy().into_owned();
        let v = match c {
            RESOURCES => {
                file = Some(a);
                return Ok(());
            }
            MEMORY => (&["memory", "limit"][..], json!(bytes(&a)?)),
            SWAP => (&["memory", "swap"][..], json!(bytes(&a)?)),
            RESERVATION => (&["memory", "reservation"][..], json!(bytes(&a)?)),
            SHARES => (&["cpu", "shares"][..], json!(number("cpu-shares", &a)?)),
            QUOTA => (&["cpu", "quota"][..], json!(number("cpu-quota", &a)?)),
            PERIOD => (&["cpu", "period"][..], json!(number("cpu-period", &a)?)),
            CPUS => (&["cpu", "cpus"][..], json!(a)),
            MEMS => (&["cpu", "mems"][..], json!(a)),
            PIDS => (&["pids", "limit"][..], json!(number("pids-limit", &a)?)),
            BLKIO => (
                &["blockIO", "weight"][..],
                json!(number("blkio-weight", &a)?),
            ),
            _ => return Ok(()),
        };
        set.push(v);
        Ok(())
    })?
    else {
        return Ok(Exit::OK);
    };
    let id = one_id(prog, &ops)?;
    let mut res = match file.as_deref() {
        None => json!({}),
        Some(path) => {
            let mut text = Vec::new();
            if path == "-" {
                std::io::stdin().read_to_end(&mut text)?;
            } else {
                text = std::fs::read(path).map_err(|e| anyhow::anyhow!("{path}: {e}"))?;
            }
            serde_json::from_slice(&text)
                .map_err(|e| anyhow::anyhow!("--resources {path}: invalid JSON: {e}"))?
        }
    };
    for (keys, v) in set {
        res[keys[0]][keys[1]] = v;
    }
    let res = serde_json::from_value(res)
        .map_err(|e| anyhow::anyhow!("--resources: invalid resources: {e}"))?;
    container::update(&g.store, &id, &res)?;
    Ok(Exit::OK)
}

const STATS: char = '\u{80}';
const EVENTS_SPEC: Spec = Spec {
    short: "h",
    long: &[
        long("stats", HasArg::No, STATS),
        long("interval", HasArg::Required, 'i'),
        long("help", HasArg::No, 'h'),
    ],
};

/// A Go duration as runc takes it: `5s`, `100ms`, `1m`, `1h`.
fn duration(s: &str) -> anyhow::Result<Duration> {
    let bad = || anyhow::anyhow!("--interval: invalid duration {s:?}");
    let split = s.find(|c: char| c.is_ascii_alphabetic()).ok_or_else(bad)?;
    let n: f64 = s[..split].parse().map_err(|_| bad())?;
    let secs = match &s[split..] {
        "ns" => n / 1e9,
        "us" | "µs" => n / 1e6,
        "ms" => n / 1e3,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(bad()),
    };
    Duration::try_from_secs_f64(secs).map_err(|_| bad())
}

/// `events [--stats] [--interval D] ID`: with `--stats` one stats event;
/// else a stats event every interval (5s by default) and an `oom` event for
/// each OOM kill (the cgroup's count, looked at every 100 ms), until the
/// container stops.
pub(super) fn events(g: &Globals, prog: &Prog, argv: Vec<OsString>) -> Outcome {
    let mut once = false;
    let mut interval = Duration::from_secs(5);
    let Some(ops) = options(prog, EVENTS_SPEC, argv, |c, arg| {
        match c {
            STATS => once = true,
            'i' => interval = duration(&arg.unwrap_or_default().to_string_lossy())?,
            _ => {}
        }
        Ok(())
    })?
    else {
        return Ok(Exit::OK);
    };
    let id = one_id(prog, &ops)?;
    if once {
        println!(
            "{}",
            serde_json::to_string(&container::events_stats(&g.store, &id)?)?
        );
        return Ok(Exit::OK);
    }
    let mut source = container::EventSource::open(&g.store, &id)?;
    // Stopped, or deleted meanwhile (its state and cgroup gone): the stream
    // ends there, as runc's ends when the cgroup goes.
    let stopped = || match container::state(&g.store, &id) {
        Ok(s) => s.status == Status::Stopped,
        Err(e) => matches!(e, container::ContainerError::Store(StoreError::NotFound(_))),
    };
    let tick = Duration::from_millis(100);
    let mut next_stats = Instant::now();
    loop {
        // Looked at before the OOM count: a kill is counted before the
        // killed init is gone, so the last look still sees it.
        let done = stopped();
        match source.ooms() {
            Ok(events) => {
                for event in events {
                    println!("{}", serde_json::to_string(&event)?);
                }
            }
            // The cgroup went with the container (`delete`): the end.
            Err(_) if done || stopped() => return Ok(Exit::OK),
            Err(e) => return Err(e.into()),
        }
        if done {
            return Ok(Exit::OK);
        }
        if Instant::now() >= next_stats {
            match source.stats() {
                Ok(event) => println!("{}", serde_json::to_string(&event)?),
                Err(_) if stopped() => return Ok(Exit::OK),
                Err(e) => return Err(e.into()),
            }
            next_stats = Instant::now() + interval;
        }
        std::thread::sleep(tick.min(next_stats.saturating_duration_since(Instant::now())));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_durations_as_runc() {
        assert_eq!(bytes("512").unwrap(), 512);
        assert_eq!(bytes("4k").unwrap(), 4096);
        assert_eq!(bytes("100M").unwrap(), 100 << 20);
        assert_eq!(bytes("1g").unwrap(), 1 << 30);
        assert_eq!(bytes("-1").unwrap(), -1);
        assert!(bytes("lots").is_err());
        assert_eq!(duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(duration("100ms").unwrap(), Duration::from_millis(100));
        assert_eq!(duration("1m").unwrap(), Duration::from_secs(60));
        assert!(duration("5").is_err() && duration("5x").is_err());
    }
}
