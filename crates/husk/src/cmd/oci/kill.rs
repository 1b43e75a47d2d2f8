//! `kill [--all] ID [SIGNAL]`: SIGNAL by name or number, SIGTERM by default.

use std::ffi::OsString;

use husk_runtime::container;

use super::{options, Globals};
use crate::cli::getopt::{long, HasArg, Spec};
use crate::cli::{self, Exit, Outcome, Prog};

const SPEC: Spec = Spec {
    short: "ah",
    long: &[long("all", HasArg::No, 'a'), long("help", HasArg::No, 'h')],
};

pub(super) fn run(g: &Globals, prog: &Prog, argv: Vec<OsString>) -> Outcome {
    let mut all = false;
    let Some(ops) = options(prog, SPEC, argv, |c, _| {
        all |= c == 'a';
        Ok(())
    })?
    else {
        return Ok(Exit::OK);
    };
    let (id, sig) = match ops.as_slice() {
        [id] => (id, "SIGTERM".into()),
        [id, sig] => (id, sig.to_string_lossy().into_owned()),
        [] => return Err(cli::usage_error(prog, "container id cannot be empty")),
        _ => return Err(cli::usage_error(prog, "too many arguments")),
    };
    let signal = husk_sys::signal::from_name(&sig)
        .ok_or_else(|| anyhow::anyhow!("unknown signal \"{sig}\""))?;
    container::kill(&g.store, &id.to_string_lossy(), signal, all)?;
    Ok(Exit::OK)
}
