//! cgroup v2 device rules: an eBPF `BPF_PROG_TYPE_CGROUP_DEVICE` program
//! built from the OCI rules and attached to the cgroup's directory
//! (cgroup-v2.rst, "Device controller"). cgroup2 has no devices file.
//!
//! v1 semantics, as runc and crun emulate them: the rules apply in order
//! and the **last** matching rule wins, so the program checks them in
//! reverse and returns at the first match. A rule matches a request when
//! type (unless `a`), major and minor (unless wildcards) are equal and, for
//! an allow rule, every requested access is granted (`rw` against an `r`
//! rule does not match); for a deny rule, any requested access is denied.
//! With no match, access is allowed (a new v1 devices cgroup allows all
//! until told otherwise; OCI configs start with "deny all").

use std::path::Path;

use husk_sys::bpf::{self, Insn};
use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};

use super::{ResourceError, Result};
use crate::file::FileError;

// Opcodes (linux/bpf_common.h, linux/bpf.h).
const LDX_MEM_W: u8 = 0x61; // dst = *(u32 *)(src + off)
const ALU64_MOV_X: u8 = 0xbf; // dst = src
const ALU64_MOV_K: u8 = 0xb7; // dst = imm
const ALU64_AND_K: u8 = 0x57; // dst &= imm
const ALU64_RSH_K: u8 = 0x77; // dst >>= imm
const JMP_JNE_K: u8 = 0x55; // if dst != imm goto +off
const JMP_JEQ_K: u8 = 0x15; // if dst == imm goto +off
const EXIT: u8 = 0x95;

// struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }:
// access_type is (access << 16) | type.
const DEV_BLOCK: i32 = 1;
const DEV_CHAR: i32 = 2;
const ACC_MKNOD: i32 = 1;
const ACC_READ: i32 = 2;
const ACC_WRITE: i32 = 4;

// Registers: r1 context; r2 type; r3 access; r4 major; r5 minor; r6 scratch.
const CTX: u8 = 1;
const TYPE: u8 = 2;
const ACCESS: u8 = 3;
const MAJOR: u8 = 4;
const MINOR: u8 = 5;
const SCRATCH: u8 = 6;

fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: dst | (src << 4),
        off,
        imm,
    }
}

/// One rule in the form the program checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rule {
    pub(crate) allow: bool,
    /// `None` for `a` (all types).
    pub(crate) kind: Option<i32>,
    pub(crate) major: Option<u32>,
    pub(crate) minor: Option<u32>,
    /// `ACC_*` bits.
    pub(crate) access: i32,
}

/// Checks and converts the OCI rules.
pub(crate) fn rules(devices: &[LinuxDeviceCgroup]) -> Result<Vec<Rule>> {
    devices.iter().map(rule).collect()
}

fn rule(d: &LinuxDeviceCgroup) -> Result<Rule> {
    let kind = match d.typ().unwrap_or_default() {
        LinuxDeviceType::A => None,
        LinuxDeviceType::B => Some(DEV_BLOCK),
        LinuxDeviceType::C | LinuxDeviceType::U => Some(DEV_CHAR),
        LinuxDeviceType::P => {
            return Err(ResourceError::Invalid {
                what: "devices.type",
                reason: "a FIFO (p) cannot be a device rule".to_owned(),
            })
        }
    };
    let number = |n: Option<i64>| n.and_then(|n| u32::try_from(n).ok());
    let mut access = 0;
    for c in d
        .access()
        .as_deref()
        .filter(|a| !a.is_empty())
        .unwrap_or("rwm")
        .chars()
    {
        access |= match c {
            'r' => ACC_READ,
            'w' => ACC_WRITE,
            'm' => ACC_MKNOD,
            _ => {
                return Err(ResourceError::Invalid {
                    what: "devices.access",
                    reason: format!("{c:?} is not one of r, w, m"),
                })
            }
        };
    }
    Ok(Rule {
        allow: d.allow(),
        kind,
        major: number(d.major()),
        minor: number(d.minor()),
        access,
    })
}

/// The program for `rules`.
pub(crate) fn program(rules: &[Rule]) -> Vec<Insn> {
    let mut prog = vec![
        insn(LDX_MEM_W, TYPE, CTX, 0, 0),
        insn(ALU64_MOV_X, ACCESS, TYPE, 0, 0),
        insn(ALU64_AND_K, TYPE, 0, 0, 0xFFFF),
        insn(ALU64_RSH_K, ACCESS, 0, 0, 16),
        insn(LDX_MEM_W, MAJOR, CTX, 4, 0),
        insn(LDX_MEM_W, MINOR, CTX, 8, 0),
    ];
    for rule in rules.iter().rev() {
        let checks = block(rule);
        let catch_all = checks.len() == 2;
        prog.extend(checks);
        if catch_all {
            // Nothing after a rule that matches everything could run, and
            // the verifier refuses unreachable instructions.
            return prog;
        }
    }
    prog.push(insn(ALU64_MOV_K, 0, 0, 0, 1));
    prog.push(insn(EXIT, 0, 0, 0, 0));
    prog
}

/// The checks of one rule; each failed check jumps past the block.
fn block(rule: &Rule) -> Vec<Insn> {
    // Conditional jumps are filled in with their offsets at the end.
    let mut checks: Vec<Insn> = Vec::new();
    if let Some(kind) = rule.kind {
        checks.push(insn(JMP_JNE_K, TYPE, 0, 0, kind));
    }
    if let Some(major) = rule.major {
        checks.push(insn(JMP_JNE_K, MAJOR, 0, 0, major as i32));
    }
    if let Some(minor) = rule.minor {
        checks.push(insn(JMP_JNE_K, MINOR, 0, 0, minor as i32));
    }
    let all = ACC_READ | ACC_WRITE | ACC_MKNOD;
    if rule.access != all {
        checks.push(insn(ALU64_MOV_X, SCRATCH, ACCESS, 0, 0));
        if rule.allow {
            // Requested bits outside the rule: no match.
            checks.push(insn(ALU64_AND_K, SCRATCH, 0, 0, all & !rule.access));
            checks.push(insn(JMP_JNE_K, SCRATCH, 0, 0, 0));
        } else {
            // No requested bit in the rule: no match.
            checks.push(insn(ALU64_AND_K, SCRATCH, 0, 0, rule.access));
            checks.push(insn(JMP_JEQ_K, SCRATCH, 0, 0, 0));
        }
    }
    checks.push(insn(ALU64_MOV_K, 0, 0, 0, i32::from(rule.allow)));
    checks.push(insn(EXIT, 0, 0, 0, 0));
    let len = checks.len();
    for (i, c) in checks.iter_mut().enumerate() {
        if c.code == JMP_JNE_K || c.code == JMP_JEQ_K {
            c.off = i16::try_from(len - i - 1).expect("a rule block is a few instructions");
        }
    }
    checks
}

/// Loads the program for `devices` and attaches it to the cgroup2
/// directory `dir`, replacing the one a previous `apply` attached.
pub(crate) fn apply(dir: &Path, devices: &[LinuxDeviceCgroup]) -> Result {
    let prog = program(&rules(devices)?);
    let write_err = |source| ResourceError::Write {
        what: "devices",
        source: FileError::Write {
            path: dir.to_owned(),
            value: "(eBPF device program)".to_owned(),
            source,
        },
    };
    let fd = bpf::load_cgroup_device(&prog, "husk_devices").map_err(write_err)?;
    let cgroup = std::fs::File::open(dir).map_err(write_err)?;
    use std::os::fd::AsFd;
    bpf::attach_cgroup_device(cgroup.as_fd(), fd.as_fd()).map_err(write_err)
}

#[cfg(test)]
#[path = "ebpf_tests.rs"]
mod tests;
