//! The commands with (almost) no options: `start ID`, `state ID`,
//! `spec [--rootless] [--bundle B]`, `features`.

use std::ffi::OsString;
use std::path::PathBuf;

use husk_runtime::{container, spec};

use super::{one_id, options, Globals};
use crate::cli::getopt::{long, HasArg, Spec};
use crate::cli::{Exit, Outcome, Prog};

const HELP_ONLY: Spec = Spec {
    short: "h",
    long: &[long("help", HasArg::No, 'h')],
};

fn id_only(prog: &Prog, argv: Vec<OsString>) -> anyhow::Result<Option<String>> {
    match options(prog, HELP_ONLY, argv, |_, _| Ok(()))? {
        Some(ops) => one_id(prog, &ops).map(Some),
        None => Ok(None),
    }
}

pub(super) fn start(g: &Globals, prog: &Prog, argv: Vec<OsString>) -> Outcome {
    let Some(id) = id_only(prog, argv)? else {
        return Ok(Exit::OK);
    };
    container::start(&g.store, &id)?;
    Ok(Exit::OK)
}

/// Prints the state as runc does: two-space indented JSON.
pub(super) fn state(g: &Globals, prog: &Prog, argv: Vec<OsString>) -> Outcome {
    let Some(id) = id_only(prog, argv)? else {
        return Ok(Exit::OK);
    };
    let state = container::state(&g.store, &id)?;
    println!("{}", serde_json::to_string_pretty(&state)?);
    Ok(Exit::OK)
}

const SPEC_SPEC: Spec = Spec {
    short: "b:h",
    long: &[
        long("bundle", HasArg::Required, 'b'),
        long("rootless", HasArg::No, 'r'),
        long("help", HasArg::No, 'h'),
    ],
};

/// Writes `config.json` in the bundle (the current directory by
/// default), refusing to overwrite one, as runc does.
pub(super) fn spec(prog: &Prog, argv: Vec<OsString>) -> Outcome {
    let mut bundle = PathBuf::from(".");
    let mut rootless = false;
    let parsed = options(prog, SPEC_SPEC, argv, |c, arg| {
        match c {
            'b' => bundle = PathBuf::from(arg.unwrap_or_default()),
            'r' => rootless = true,
            _ => {}
        }
        Ok(())
    })?;
    if parsed.is_none() {
        return Ok(Exit::OK);
    }
    let mut value = spec::default_spec();
    if rootless {
        let uid = rustix::process::geteuid().as_raw();
        let gid = rustix::process::getegid().as_raw();
        spec::make_rootless(&mut value, uid, gid);
    }
    let path = bundle.join("config.json");
    if path.exists() {
        anyhow::bail!("File {} exists. Remove it first", path.display());
    }
    std::fs::write(&path, spec::to_pretty(&value))
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    Ok(Exit::OK)
}

pub(super) fn features(prog: &Prog, argv: Vec<OsString>) -> Outcome {
    if options(prog, HELP_ONLY, argv, |_, _| Ok(()))?.is_none() {
        return Ok(Exit::OK);
    }
    print!(
        "{}",
        String::from_utf8_lossy(&spec::to_pretty(&spec::features()))
    );
    Ok(Exit::OK)
}
