//! nsfs bind mounts, from a `mountinfo` file.

use std::io;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

use super::procfs::parse_ns_link;
use crate::NsKind;

/// One bind mount of a namespace file (`mount --bind /proc/PID/ns/net X`,
/// `ip netns add`, `unshare --net=FILE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NsfsMount {
    /// Kind of the namespace mounted.
    pub kind: NsKind,
    /// Its inode.
    pub ino: u64,
    /// The mount point.
    pub target: PathBuf,
}

/// The nsfs mounts listed in the `mountinfo` file at `path`, in order.
pub fn nsfs_mounts(path: &Path) -> io::Result<Vec<NsfsMount>> {
    let text = std::fs::read(path)?;
    Ok(parse_mountinfo(&text))
}

/// Parses mountinfo text (see `proc_pid_mountinfo(5)`), keeping the lines
/// whose filesystem type is `nsfs` and whose root names a namespace.
pub(crate) fn parse_mountinfo(text: &[u8]) -> Vec<NsfsMount> {
    let mut out = Vec::new();
    // One field list for every line, not one allocation per mount.
    let mut fields: Vec<&[u8]> = Vec::new();
    for line in text.split(|&b| b == b'\n') {
        fields.clear();
        fields.extend(line.split(|&b| b == b' '));
        let Some(dash) = fields.iter().position(|f| *f == b"-") else {
            continue;
        };
        if dash < 6 || fields.get(dash + 1) != Some(&&b"nsfs"[..]) {
            continue;
        }
        let Some((kind, ino)) = parse_ns_link(&unescape(fields[3])) else {
            continue;
        };
        let target = PathBuf::from(std::ffi::OsString::from_vec(unescape(fields[4])));
        out.push(NsfsMount { kind, ino, target });
    }
    out
}

/// Undoes the kernel's octal escapes (`\040` for space, `\011`, `\012`,
/// `\134`).
fn unescape(field: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        let oct = field.get(i + 1..i + 4);
        if field[i] == b'\\' && oct.is_some_and(|o| o.iter().all(|d| (b'0'..=b'7').contains(d))) {
            let o = oct.unwrap_or_default();
            let v = o.iter().fold(0u32, |a, d| a * 8 + u32::from(d - b'0'));
            out.push(u8::try_from(v & 0xff).unwrap_or(b'?'));
            i += 4;
        } else {
            out.push(field[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nsfs_mounts_and_unescapes() {
        let text = b"22 1 0:21 / /proc rw,nosuid - proc proc rw\n\
            570 29 0:4 net:[4026532281] /run/netns/a\\040b rw shared:5 - nsfs nsfs rw\n\
            571 29 0:4 mnt:[4026532300] /tmp/m rw - nsfs nsfs rw\n";
        let m = parse_mountinfo(text);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].kind, NsKind::Net);
        assert_eq!(m[0].ino, 4026532281);
        assert_eq!(m[0].target, PathBuf::from("/run/netns/a b"));
        assert_eq!(m[1].kind, NsKind::Mnt);
    }
}
