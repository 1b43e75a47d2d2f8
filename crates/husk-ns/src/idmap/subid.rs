//! Subordinate id ranges (`/etc/subuid`, `/etc/subgid`) and the name ↔ id
//! lookups they need (`/etc/passwd`, `/etc/group`).
//!
//! Every function takes the file path, so tests run on temp files. Names are
//! looked up in the files only, not through NSS.

use std::path::Path;

use super::{IdMapError, IdRange};

/// The first range `file` gives the user `name` (or uid `uid`), mapped from
/// id 0 inside: what `--map-auto` and `--map-users=auto` use.
///
/// Lines read `USER:START:COUNT`, where `USER` is a name or a uid; the first
/// match wins, as in util-linux and shadow.
pub fn range(file: &Path, name: Option<&str>, uid: u32) -> Result<IdRange, IdMapError> {
    let text = std::fs::read_to_string(file).map_err(|source| IdMapError::ReadSubIds {
        path: file.to_owned(),
        source,
    })?;
    let uid_text = uid.to_string();
    for line in text.lines() {
        let mut fields = line.splitn(3, ':');
        let (Some(who), Some(start), Some(count)) = (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        if Some(who) != name && who != uid_text {
            continue;
        }
        let bad = || IdMapError::BadSubIds {
            path: file.to_owned(),
            line: line.to_owned(),
        };
        return Ok(IdRange {
            inner: 0,
            outer: start.trim().parse().map_err(|_| bad())?,
            count: count.trim().parse().map_err(|_| bad())?,
        });
    }
    Err(IdMapError::NoSubIds {
        user: name.map_or(uid_text, str::to_owned),
        path: file.to_owned(),
    })
}

/// The name of id `id` in a passwd-style `file` (`NAME:x:ID:...`).
pub fn name_of(file: &Path, id: u32) -> Option<String> {
    let text = std::fs::read_to_string(file).ok()?;
    let id = id.to_string();
    text.lines().find_map(|line| {
        let mut f = line.split(':');
        let name = f.next()?;
        (f.nth(1)? == id).then(|| name.to_owned())
    })
}

/// `text` as an id: a number, or a name looked up in the passwd-style
/// `file`. `kind` (`uid`/`gid`) names what failed in the error.
pub fn resolve(file: &Path, text: &str, kind: &'static str) -> Result<u32, IdMapError> {
    if let Ok(id) = text.parse::<u32>() {
        return Ok(id);
    }
    let unknown = || IdMapError::UnknownName {
        kind,
        name: text.to_owned(),
    };
    let contents = std::fs::read_to_string(file).map_err(|_| unknown())?;
    contents
        .lines()
        .find_map(|line| {
            let mut f = line.split(':');
            (f.next()? == text).then_some(())?;
            f.nth(1)?.parse().ok()
        })
        .ok_or_else(unknown)
}

/// The system's subordinate range for `uid` (`/etc/subuid` for
/// [`IdKind::Uid`](super::IdKind::Uid), `/etc/subgid` for
/// [`IdKind::Gid`](super::IdKind::Gid)), looked up by the
/// name `/etc/passwd` gives `uid`, or by the number.
pub fn for_user(kind: super::IdKind, uid: u32) -> Result<IdRange, IdMapError> {
    let name = name_of(Path::new("/etc/passwd"), uid);
    range(Path::new(kind.subid_file()), name.as_deref(), uid)
}

/// Identity ranges for every id the caller's user namespace maps, from a
/// `uid_map`/`gid_map` file (`--map-users=all`).
pub fn all_mapped(map_file: &Path) -> Result<Vec<IdRange>, IdMapError> {
    let text = std::fs::read_to_string(map_file).map_err(|source| IdMapError::ReadSubIds {
        path: map_file.to_owned(),
        source,
    })?;
    Ok(text
        .lines()
        .filter_map(|l| {
            let f: Vec<u32> = l
                .split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect();
            (f.len() == 3).then(|| IdRange {
                inner: f[0],
                outer: f[0],
                count: f[2],
            })
        })
        .collect())
}

/// The ranges one `--map-users`/`--map-groups` value stands for, for the
/// caller `euid`: `auto` (the caller's subordinate range from id 0),
/// `subids` (that range mapped to itself), `all` (every id the caller's
/// namespace maps, to itself), or an explicit range ([`IdRange`] syntax).
pub fn spec(kind: super::IdKind, text: &str, euid: u32) -> Result<Vec<IdRange>, IdMapError> {
    Ok(match text {
        "auto" => vec![for_user(kind, euid)?],
        "subids" => {
            let r = for_user(kind, euid)?;
            vec![IdRange {
                inner: r.outer,
                ..r
            }]
        }
        "all" => all_mapped(&Path::new("/proc/self").join(kind.map_file()))?,
        range => vec![range.parse()?],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), text).unwrap();
        f
    }

    #[test]
    fn finds_first_line_by_name_or_uid() {
        let f = file("alice:100000:65536\n1001:200000:1000\nbob:300000:10\nbob:400000:10\n");
        let r = range(f.path(), Some("bob"), 1002).unwrap();
        assert_eq!((r.inner, r.outer, r.count), (0, 300000, 10));
        let r = range(f.path(), Some("carol"), 1001).unwrap();
        assert_eq!(r.outer, 200000);
        let err = range(f.path(), Some("dave"), 1003).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("no line matching user \"dave\" in {}", f.path().display())
        );
    }

    #[test]
    fn names_resolve_both_ways() {
        let f = file("root:x:0:0:root:/root:/bin/sh\nhusk-test:x:1234:1234::/tmp:/bin/sh\n");
        assert_eq!(resolve(f.path(), "husk-test", "uid").unwrap(), 1234);
        assert_eq!(resolve(f.path(), "77", "uid").unwrap(), 77);
        assert_eq!(
            resolve(f.path(), "nobody-here", "uid")
                .unwrap_err()
                .to_string(),
            "failed to parse uid: 'nobody-here'"
        );
        assert_eq!(name_of(f.path(), 1234).as_deref(), Some("husk-test"));
        assert_eq!(name_of(f.path(), 9), None);
    }
}
