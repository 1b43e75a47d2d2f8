//! `run [create options] [--detach] ID`: create, start and (attached)
//! wait, then delete; exits with the container's status.

use std::ffi::OsString;

use husk_runtime::container::{self, Ended};

use super::Globals;
use crate::cli::{Exit, Outcome, Prog};

pub(super) fn run(g: &Globals, prog: &Prog, argv: Vec<OsString>) -> Outcome {
    let Some((opts, detach)) = super::create::parse(prog, argv)? else {
        return Ok(Exit::OK);
    };
    Ok(match container::run(&g.store, &opts, detach)? {
        None => Exit::OK,
        Some(Ended::Exited(code)) => Exit(u8::try_from(code & 0xff).unwrap_or(1)),
        Some(Ended::Signaled(sig)) => Exit(u8::try_from((128 + sig) & 0xff).unwrap_or(1)),
    })
}
