//! `lsns`: not yet implemented.

use std::ffi::OsString;

use crate::cli::{Outcome, Prog};

pub fn run(_prog: &Prog, _args: Vec<OsString>) -> Outcome {
    anyhow::bail!("not implemented yet")
}
