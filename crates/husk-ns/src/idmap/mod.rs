//! uid/gid maps of user namespaces.
//!
//! A user namespace starts with no ids mapped; someone outside writes
//! `/proc/PID/uid_map` and `gid_map` once, as lines `INNER OUTER COUNT`
//! (see user_namespaces(7)). This module
//!
//! - parses ranges as `unshare --map-users` takes them ([`IdRange`]),
//! - builds and checks a whole map the way the kernel will ([`IdMap`]),
//! - finds a user's subordinate ids in `/etc/subuid` ([`subid`]),
//! - and writes maps, directly or through `newuidmap`/`newgidmap` ([`write`](mod@write)).
//!
//! ```
//! use husk_ns::idmap::{IdMap, IdRange};
//! // `unshare --map-users=0:100000:65536 --map-root-user` run by uid 1000:
//! let subids: IdRange = "0:100000:65536".parse()?;
//! let map = IdMap::from(vec![subids]).with_single(1000, 0);
//! map.validate()?;
//! assert_eq!(map.to_string(), "0 1000 1\n1 100000 65535\n");
//! # Ok::<(), husk_ns::idmap::IdMapError>(())
//! ```

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::str::FromStr;

pub mod subid;
pub mod write;

/// The kernel's limit on lines in one map (user_namespaces(7), since 4.15).
pub const MAX_RANGES: usize = 340;

/// Whether a map is about user or group ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    /// User ids: `uid_map`, `/etc/subuid`, `newuidmap`.
    Uid,
    /// Group ids: `gid_map`, `/etc/subgid`, `newgidmap`.
    Gid,
}

impl IdKind {
    /// The file under `/proc/PID/`.
    pub const fn map_file(self) -> &'static str {
        match self {
            IdKind::Uid => "uid_map",
            IdKind::Gid => "gid_map",
        }
    }

    /// The setuid helper from shadow's `uidmap` package.
    pub const fn helper(self) -> &'static str {
        match self {
            IdKind::Uid => "newuidmap",
            IdKind::Gid => "newgidmap",
        }
    }

    /// The subordinate id file, `/etc/subuid` or `/etc/subgid`.
    pub const fn subid_file(self) -> &'static str {
        match self {
            IdKind::Uid => "/etc/subuid",
            IdKind::Gid => "/etc/subgid",
        }
    }

    /// `uid` or `gid`, for messages.
    pub const fn name(self) -> &'static str {
        match self {
            IdKind::Uid => "uid",
            IdKind::Gid => "gid",
        }
    }
}

/// Why a map could not be parsed, checked, found or written.
#[derive(Debug, thiserror::Error)]
pub enum IdMapError {
    /// A range had fewer than three numbers.
    #[error("mapping '{text}' contains only {found} elements")]
    TooFewElements {
        /// The text given.
        text: String,
        /// How many numbers it had.
        found: usize,
    },
    /// A range had more than three numbers.
    #[error("too many elements for mapping '{0}'")]
    TooManyElements(String),
    /// A field was not an id.
    #[error("could not parse ID: '{0}'")]
    BadId(String),
    /// A range maps no ids.
    #[error("mapping {0} is empty")]
    Empty(IdRange),
    /// A range runs past the largest id (4294967294).
    #[error("mapping {0} runs past the largest id")]
    OutOfRange(IdRange),
    /// Two ranges share ids on one side.
    #[error("mappings {first} and {second} overlap {side} the namespace")]
    Overlap {
        /// The earlier range.
        first: IdRange,
        /// The later range.
        second: IdRange,
        /// `inside` or `outside`.
        side: &'static str,
    },
    /// More lines than the kernel accepts.
    #[error("{count} mappings are more than the kernel's limit of {MAX_RANGES}")]
    TooMany {
        /// Number of ranges.
        count: usize,
    },
    /// A subordinate id file could not be read.
    #[error("could not open '{path}'")]
    ReadSubIds {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A subordinate id file has no line for the user.
    #[error("no line matching user \"{user}\" in {path}")]
    NoSubIds {
        /// The user's name (or uid when it has none).
        user: String,
        /// The file.
        path: PathBuf,
    },
    /// A subordinate id line is malformed.
    #[error("failed to parse subid map in {path}: '{line}'")]
    BadSubIds {
        /// The file.
        path: PathBuf,
        /// The line.
        line: String,
    },
    /// A user or group name is unknown and not a number.
    #[error("failed to parse {kind}: '{name}'")]
    UnknownName {
        /// `uid` or `gid`.
        kind: &'static str,
        /// The name.
        name: String,
    },
    /// Writing a map or `setgroups` file failed.
    #[error("failed to write {path}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// `newuidmap`/`newgidmap` could not be started.
    #[error("failed to execute {tool}")]
    HelperExec {
        /// The helper.
        tool: &'static str,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// `newuidmap`/`newgidmap` failed; `why` is what it printed.
    #[error("{tool} failed with exit status {status}{}", why_suffix(why))]
    HelperFailed {
        /// The helper.
        tool: &'static str,
        /// Its exit code, or 128+signal.
        status: i32,
        /// Its stderr on one line (its own `newuidmap: ` prefix removed);
        /// empty if it printed nothing.
        why: String,
    },
}

/// `": WHY"`, or nothing when the helper printed nothing.
fn why_suffix(why: &str) -> String {
    if why.is_empty() {
        String::new()
    } else {
        format!(": {why}")
    }
}

/// One line of a map: `count` ids from `outer` (in the parent namespace)
/// appear as `inner` onwards inside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdRange {
    /// First id inside the namespace.
    pub inner: u32,
    /// First id outside (in the writer's user namespace).
    pub outer: u32,
    /// Number of ids.
    pub count: u32,
}

impl IdRange {
    /// A range of one id.
    pub const fn single(inner: u32, outer: u32) -> IdRange {
        IdRange {
            inner,
            outer,
            count: 1,
        }
    }

    fn end(start: u32, count: u32) -> u64 {
        u64::from(start) + u64::from(count)
    }
}

impl fmt::Display for IdRange {
    /// `INNER:OUTER:COUNT`, the form `--map-users` takes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.inner, self.outer, self.count)
    }
}

impl FromStr for IdRange {
    type Err = IdMapError;

    /// Parses `INNER:OUTER:COUNT` (util-linux 2.39+) or
    /// `OUTER,INNER,COUNT` (util-linux 2.38).
    fn from_str(s: &str) -> Result<IdRange, IdMapError> {
        let sep = if s.contains(':') { ':' } else { ',' };
        let fields: Vec<&str> = s.split(sep).collect();
        if fields.len() > 3 {
            return Err(IdMapError::TooManyElements(s.to_owned()));
        }
        let mut nums = [0u32; 3];
        for (slot, field) in nums.iter_mut().zip(&fields) {
            *slot = field
                .parse()
                .map_err(|_| IdMapError::BadId((*field).to_owned()))?;
        }
        if fields.len() < 3 {
            return Err(IdMapError::TooFewElements {
                text: s.to_owned(),
                found: fields.len(),
            });
        }
        let [a, b, count] = nums;
        let (inner, outer) = if sep == ':' { (a, b) } else { (b, a) };
        Ok(IdRange {
            inner,
            outer,
            count,
        })
    }
}

/// A whole uid or gid map: the lines written to `/proc/PID/uid_map`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdMap {
    ranges: Vec<IdRange>,
}

impl From<Vec<IdRange>> for IdMap {
    fn from(ranges: Vec<IdRange>) -> IdMap {
        IdMap { ranges }
    }
}

impl IdMap {
    /// The map's lines, in order.
    pub fn ranges(&self) -> &[IdRange] {
        &self.ranges
    }

    /// Whether the map has no lines.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Adds a line.
    pub fn push(&mut self, range: IdRange) {
        self.ranges.push(range);
    }

    /// This map with the single id `outer` mapped to `inner` in front, and
    /// both ids punched out of every other range so nothing overlaps.
    ///
    /// This is how `--map-root-user` (or `--map-user`) combines with
    /// `--map-users`/`--map-auto`: a range keeps its order, skips the ids
    /// taken by the single mapping, and loses one id at its top when it
    /// contained either, so its extent never grows.
    pub fn with_single(&self, outer: u32, inner: u32) -> IdMap {
        let mut out = vec![IdRange::single(inner, outer)];
        for r in &self.ranges {
            out.extend(punch(*r, outer, inner));
        }
        IdMap { ranges: out }
    }

    /// Checks the map as the kernel will: at most [`MAX_RANGES`] lines,
    /// none empty or past the largest id, none overlapping another on
    /// either side.
    pub fn validate(&self) -> Result<(), IdMapError> {
        if self.ranges.len() > MAX_RANGES {
            return Err(IdMapError::TooMany {
                count: self.ranges.len(),
            });
        }
        for (i, r) in self.ranges.iter().enumerate() {
            if r.count == 0 {
                return Err(IdMapError::Empty(*r));
            }
            // The kernel rejects a range whose end wraps past 2^32 - 1
            // (uid -1 is never valid).
            let limit = u64::from(u32::MAX);
            if IdRange::end(r.inner, r.count) > limit || IdRange::end(r.outer, r.count) > limit {
                return Err(IdMapError::OutOfRange(*r));
            }
            for earlier in &self.ranges[..i] {
                let overlap = |a: u32, b: u32| {
                    u64::from(a) < IdRange::end(b, r.count)
                        && u64::from(b) < IdRange::end(a, earlier.count)
                };
                for (side, hit) in [
                    ("inside", overlap(earlier.inner, r.inner)),
                    ("outside", overlap(earlier.outer, r.outer)),
                ] {
                    if hit {
                        return Err(IdMapError::Overlap {
                            first: *earlier,
                            second: *r,
                            side,
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// Arguments after the pid for `newuidmap PID ...`: each range as
    /// `INNER OUTER COUNT`.
    pub fn helper_args(&self) -> Vec<String> {
        self.ranges
            .iter()
            .flat_map(|r| [r.inner, r.outer, r.count].map(|n| n.to_string()))
            .collect()
    }
}

impl fmt::Display for IdMap {
    /// The text the kernel takes: one `INNER OUTER COUNT` line per range.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for r in &self.ranges {
            writeln!(f, "{} {} {}", r.inner, r.outer, r.count)?;
        }
        Ok(())
    }
}

/// `r` without the inner id `inner` and the outer id `outer`: up to three
/// contiguous pieces.
fn punch(r: IdRange, outer: u32, inner: u32) -> Vec<IdRange> {
    let hole = |start: u32, id: u32| {
        let off = u64::from(id).checked_sub(u64::from(start))?;
        (off < u64::from(r.count)).then_some(off)
    };
    let (hole_in, hole_out) = (hole(r.inner, inner), hole(r.outer, outer));
    if hole_in.is_none() && hole_out.is_none() {
        return vec![r];
    }
    let n = u64::from(r.count) - 1;
    // Pair k maps inner id `r.inner + k (+1 past the inner hole)` to outer
    // id `r.outer + k (+1 past the outer hole)`; pieces break at the holes.
    let mut cuts: Vec<u64> = [hole_in, hole_out].into_iter().flatten().collect();
    cuts.push(n);
    cuts.sort_unstable();
    let mut pieces = Vec::new();
    let mut from = 0u64;
    for cut in cuts {
        let cut = cut.min(n);
        if cut > from {
            let shift = |h: Option<u64>| u64::from(h.is_some_and(|h| from >= h));
            pieces.push(IdRange {
                inner: to_id(u64::from(r.inner) + from + shift(hole_in)),
                outer: to_id(u64::from(r.outer) + from + shift(hole_out)),
                count: to_id(cut - from),
            });
        }
        from = from.max(cut);
    }
    pieces
}

/// Narrows a value known to fit (it lies inside an existing u32 range).
fn to_id(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(inner: u32, outer: u32, count: u32) -> IdRange {
        IdRange {
            inner,
            outer,
            count,
        }
    }

    #[test]
    fn parses_both_forms() {
        assert_eq!(
            "0:100000:65536".parse::<IdRange>().unwrap(),
            r(0, 100000, 65536)
        );
        assert_eq!(
            "100000,0,65536".parse::<IdRange>().unwrap(),
            r(0, 100000, 65536)
        );
    }

    #[test]
    fn parse_errors_match_util_linux() {
        let msg = |s: &str| s.parse::<IdRange>().unwrap_err().to_string();
        assert_eq!(msg("1,2"), "mapping '1,2' contains only 2 elements");
        assert_eq!(msg("0,0,1,4"), "too many elements for mapping '0,0,1,4'");
        assert_eq!(msg("a,b,c"), "could not parse ID: 'a'");
        assert_eq!(msg("0:-1:1"), "could not parse ID: '-1'");
    }

    #[test]
    fn validate_catches_overlap_empty_and_overflow() {
        let overlap = IdMap::from(vec![r(0, 1000, 10), r(5, 2000, 10)]);
        assert_eq!(
            overlap.validate().unwrap_err().to_string(),
            "mappings 0:1000:10 and 5:2000:10 overlap inside the namespace"
        );
        let outside = IdMap::from(vec![r(0, 1000, 10), r(100, 1009, 1)]);
        assert!(matches!(
            outside.validate(),
            Err(IdMapError::Overlap {
                side: "outside",
                ..
            })
        ));
        assert!(matches!(
            IdMap::from(vec![r(0, 0, 0)]).validate(),
            Err(IdMapError::Empty(_))
        ));
        assert!(matches!(
            IdMap::from(vec![r(u32::MAX - 1, 0, 2)]).validate(),
            Err(IdMapError::OutOfRange(_))
        ));
        assert!(IdMap::from(vec![r(0, 1000, 10), r(10, 1010, 5)])
            .validate()
            .is_ok());
        assert!(IdMap::from(vec![r(0, 0, u32::MAX)]).validate().is_ok());
    }

    #[test]
    fn single_splits_a_range_without_overlap() {
        let auto = IdMap::from(vec![r(0, 100000, 65536)]);
        let map = auto.with_single(1000, 0);
        assert_eq!(map.ranges(), &[r(0, 1000, 1), r(1, 100000, 65535)]);
        map.validate().unwrap();
        // Inner hole in the middle, outer id inside the range too.
        let map = IdMap::from(vec![r(0, 100, 10)]).with_single(103, 5);
        map.validate().unwrap();
        let pairs: Vec<(u32, u32)> = map.ranges()[1..]
            .iter()
            .flat_map(|x| (0..x.count).map(move |k| (x.inner + k, x.outer + k)))
            .collect();
        assert_eq!(pairs.len(), 9);
        assert!(pairs.iter().all(|&(i, o)| i != 5 && o != 103));
        // No overlap: the range is untouched.
        let map = IdMap::from(vec![r(1, 100000, 10)]).with_single(1000, 0);
        assert_eq!(map.ranges(), &[r(0, 1000, 1), r(1, 100000, 10)]);
    }

    #[test]
    fn single_never_overlaps_and_loses_at_most_one_id() {
        for (inner, outer, count) in [(0, 10, 5), (3, 3, 4), (0, 0, 1), (2, 12, 3)] {
            let range = r(inner, outer, count);
            for si in 0..10 {
                for so in 0..20 {
                    let map = IdMap::from(vec![range]).with_single(so, si);
                    map.validate()
                        .unwrap_or_else(|e| panic!("{range} + {si}<-{so}: {e}: {map:?}"));
                    let kept: u32 = map.ranges()[1..].iter().map(|x| x.count).sum();
                    let hit = (inner..inner + count).contains(&si)
                        || (outer..outer + count).contains(&so);
                    assert_eq!(
                        kept,
                        count - u32::from(hit),
                        "{range} + {si}<-{so}: {map:?}"
                    );
                    // Pieces stay inside the original extent.
                    for x in &map.ranges()[1..] {
                        assert!(x.inner >= inner && x.inner + x.count <= inner + count);
                        assert!(x.outer >= outer && x.outer + x.count <= outer + count);
                    }
                }
            }
        }
    }

    #[test]
    fn kernel_text_and_helper_args() {
        let map = IdMap::from(vec![r(0, 1000, 1), r(1, 100000, 65535)]);
        assert_eq!(map.to_string(), "0 1000 1\n1 100000 65535\n");
        assert_eq!(
            map.helper_args(),
            ["0", "1000", "1", "1", "100000", "65535"]
        );
    }
}
