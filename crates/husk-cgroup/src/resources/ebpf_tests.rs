//! The device program, run on a tiny interpreter of the instructions it
//! uses, against the v1 "last matching rule wins" semantics.

use super::*;

fn res(json: &str) -> Vec<Rule> {
    let r: oci_spec::runtime::LinuxResources = serde_json::from_str(json).unwrap();
    rules(r.devices().as_ref().unwrap()).unwrap()
}

/// Runs `prog` on a request; returns the verdict (1 allow, 0 deny).
fn run(prog: &[Insn], kind: i32, major: u32, minor: u32, access: i32) -> u64 {
    check_reachable(prog);
    let ctx = [u32::try_from((access << 16) | kind).unwrap(), major, minor];
    let mut r = [0u64; 11];
    let mut pc = 0usize;
    loop {
        let i = prog[pc];
        let (dst, src) = (usize::from(i.regs & 0xf), usize::from(i.regs >> 4));
        let imm = u64::from_ne_bytes(i64::from(i.imm).to_ne_bytes());
        pc += 1;
        match i.code {
            LDX_MEM_W => {
                assert_eq!(src, 1, "loads only from the context");
                r[dst] = u64::from(ctx[usize::try_from(i.off / 4).unwrap()]);
            }
            ALU64_MOV_X => r[dst] = r[src],
            ALU64_MOV_K => r[dst] = imm,
            ALU64_AND_K => r[dst] &= imm,
            ALU64_RSH_K => r[dst] >>= imm,
            JMP_JNE_K | JMP_JEQ_K => {
                if (r[dst] != imm) == (i.code == JMP_JNE_K) {
                    pc += usize::try_from(i.off).unwrap();
                }
            }
            EXIT => return r[0],
            other => panic!("unexpected opcode {other:#x}"),
        }
    }
}

/// Asserts every instruction is reachable and every jump lands inside, as
/// the verifier demands.
fn check_reachable(prog: &[Insn]) {
    let mut seen = vec![false; prog.len()];
    let mut todo = vec![0usize];
    while let Some(pc) = todo.pop() {
        assert!(pc < prog.len(), "jump out of the program");
        if std::mem::replace(&mut seen[pc], true) {
            continue;
        }
        match prog[pc].code {
            EXIT => {}
            JMP_JNE_K | JMP_JEQ_K => {
                todo.push(pc + 1);
                todo.push(pc + 1 + usize::try_from(prog[pc].off).unwrap());
            }
            _ => todo.push(pc + 1),
        }
    }
    let unreachable: Vec<usize> = (0..prog.len()).filter(|pc| !seen[*pc]).collect();
    assert!(
        unreachable.is_empty(),
        "unreachable instructions {unreachable:?}"
    );
}

const R: i32 = ACC_READ;
const W: i32 = ACC_WRITE;
const M: i32 = ACC_MKNOD;

#[test]
fn default_deny_with_exceptions() {
    let prog = program(&res(r#"{"devices": [
            {"allow": false, "access": "rwm"},
            {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
            {"allow": true, "type": "c", "major": 1, "minor": 5, "access": "r"},
            {"allow": true, "type": "c", "major": 136, "access": "rw"}]}"#));
    assert_eq!(run(&prog, DEV_CHAR, 1, 3, R | W), 1, "/dev/null");
    assert_eq!(run(&prog, DEV_BLOCK, 1, 3, R), 0, "a block device 1:3");
    assert_eq!(run(&prog, DEV_CHAR, 1, 5, R), 1, "/dev/zero read");
    assert_eq!(run(&prog, DEV_CHAR, 1, 5, R | W), 0, "/dev/zero write");
    assert_eq!(run(&prog, DEV_CHAR, 136, 7, W), 1, "a pty");
    assert_eq!(run(&prog, DEV_CHAR, 136, 7, M), 0, "mknod of a pty");
    assert_eq!(run(&prog, DEV_BLOCK, 8, 0, R), 0, "/dev/sda");
}

#[test]
fn last_rule_wins_and_no_rule_allows() {
    let prog = program(&res(r#"{"devices": [
            {"allow": true, "type": "c", "major": 1, "minor": 3},
            {"allow": false, "type": "c", "major": 1, "minor": 3, "access": "w"}]}"#));
    assert_eq!(run(&prog, DEV_CHAR, 1, 3, R), 1);
    assert_eq!(run(&prog, DEV_CHAR, 1, 3, W), 0);
    assert_eq!(run(&prog, DEV_CHAR, 1, 3, R | W), 0);
    assert_eq!(
        run(&prog, DEV_BLOCK, 8, 0, R | W | M),
        1,
        "no rule: allowed"
    );
    let prog = program(&res(
        r#"{"devices": [{"allow": true, "type": "b", "major": 8, "access": "m"}, {"allow": false}]}"#,
    ));
    assert_eq!(run(&prog, DEV_BLOCK, 8, 0, M), 0, "a later deny-all wins");
}

#[test]
fn rule_checks() {
    let r = res(r#"{"devices": [{"allow": true, "type": "u", "major": 4, "access": "rm"}]}"#);
    assert_eq!(
        r,
        [Rule {
            allow: true,
            kind: Some(DEV_CHAR),
            major: Some(4),
            minor: None,
            access: R | M
        }]
    );
    let bad: oci_spec::runtime::LinuxResources =
        serde_json::from_str(r#"{"devices": [{"allow": true, "access": "x"}]}"#).unwrap();
    assert!(rules(bad.devices().as_ref().unwrap()).is_err());
    // Every jump lands inside the program; nothing after a catch-all.
    for json in [
        r#"{"devices": [{"allow": false, "type": "b", "major": 8, "minor": 1, "access": "w"}]}"#,
        r#"{"devices": [{"allow": false}]}"#,
        r#"{"devices": [{"allow": true, "type": "c"}, {"allow": true}, {"allow": false}]}"#,
    ] {
        check_reachable(&program(&res(json)));
    }
}
