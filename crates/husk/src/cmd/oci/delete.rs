//! `delete [--force] ID`.

use std::ffi::OsString;

use husk_runtime::container;

use super::{one_id, options, Globals};
use crate::cli::getopt::{long, HasArg, Spec};
use crate::cli::{Exit, Outcome, Prog};

const SPEC: Spec = Spec {
    short: "fh",
    long: &[
        long("force", HasArg::No, 'f'),
        long("help", HasArg::No, 'h'),
    ],
};

pub(super) fn run(g: &Globals, prog: &Prog, argv: Vec<OsString>) -> Outcome {
    let mut force = false;
    let Some(ops) = options(prog, SPEC, argv, |c, _| {
        force |= c == 'f';
        Ok(())
    })?
    else {
        return Ok(Exit::OK);
    };
    container::delete(&g.store, &one_id(prog, &ops)?, force)?;
    Ok(Exit::OK)
}
