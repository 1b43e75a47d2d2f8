//! Numbers on the command line, parsed as util-linux's `strutils` parses
//! them (`strtoul_or_err`, `str2num_or_err`): leading blanks and a sign
//! allowed, decimal digits, nothing after.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

/// C's `isspace` in the C locale.
const BLANKS: [char; 6] = [' ', '\t', '\n', '\r', '\x0b', '\x0c'];

/// Leading blanks and one sign off: whether it was `-`, and the digits,
/// which must be all there is and at least one.
fn sign_and_digits(s: &str) -> Option<(bool, &str)> {
    let s = s.trim_start_matches(BLANKS);
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let all_digits = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    all_digits.then_some((negative, digits))
}

/// `strtoul(3)` in base 10 as util-linux's `strtoul_or_err` uses it (a `-`
/// wraps around). Returns the low 32 bits, which is what lands in a
/// `pid_t`, `uid_t` or `gid_t`.
pub fn strtoul32(s: &OsStr) -> Option<u32> {
    let (negative, digits) = sign_and_digits(std::str::from_utf8(s.as_bytes()).ok()?)?;
    let value: u64 = digits.parse().ok()?;
    let value = if negative {
        value.wrapping_neg()
    } else {
        value
    };
    u32::try_from(value & u64::from(u32::MAX)).ok()
}

/// `strtoimax`-style parse. `Err(true)` on overflow (ERANGE), `Err(false)`
/// when it is not a number.
pub fn parse_i64(s: &str) -> Result<i64, bool> {
    let (negative, digits) = sign_and_digits(s).ok_or(false)?;
    let mut v: i128 = 0;
    for b in digits.bytes() {
        v = (v * 10 + i128::from(b - b'0')).min(i128::from(u64::MAX) + 1);
    }
    let v = if negative { -v } else { v };
    i64::try_from(v).map_err(|_| true)
}

/// `strtoumax` as `ul_strtou64` uses it: negative numbers are out of range
/// (`-0` is not negative).
pub fn parse_u64(s: &str) -> Result<u64, bool> {
    let (negative, digits) = sign_and_digits(s).ok_or(false)?;
    if negative && digits.bytes().any(|b| b != b'0') {
        return Err(true);
    }
    digits.parse::<u64>().map_err(|_| true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strtoul_like_util_linux() {
        let p = |s: &str| strtoul32(OsStr::new(s));
        assert_eq!(p("42"), Some(42));
        assert_eq!(p(" +42"), Some(42));
        assert_eq!(p("010"), Some(10));
        assert_eq!(p("-1"), Some(u32::MAX));
        assert_eq!(p("-5"), Some(4_294_967_291));
        assert_eq!(p("4294967296"), Some(0));
        for bad in ["", "abc", "12x", "0x10", "-", " "] {
            assert_eq!(p(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn numbers_parse_like_strtoimax() {
        assert_eq!(parse_i64(" +12"), Ok(12));
        assert_eq!(parse_i64("-3"), Ok(-3));
        assert_eq!(parse_i64("1x"), Err(false));
        assert_eq!(parse_i64(""), Err(false));
        assert_eq!(parse_i64("99999999999999999999"), Err(true));
        assert_eq!(parse_u64("-1"), Err(true));
        assert_eq!(parse_u64("18446744073709551615"), Ok(u64::MAX));
        assert_eq!(parse_u64("-0"), Ok(0));
        assert_eq!(parse_u64("18446744073709551616"), Err(true));
    }
}
