//! Cell text as libsmartcols treats it: "safe" encoding of control and
//! non-printable characters as `\xHH`, display widths, truncation, and the
//! escaping of raw and JSON output.

use unicode_width::UnicodeWidthChar;

/// Encodes `s` for human output: control characters, `\x` sequences and
/// characters the locale cannot print become `\xHH` (4 cells each); bytes
/// in `safe` are copied as they are (and take no width). Returns the
/// encoded bytes and their width in terminal cells.
pub fn safe_encode(s: &[u8], safe: &[u8], utf8: bool) -> (Vec<u8>, usize) {
    let mut out = Vec::with_capacity(s.len());
    let width = encode_into(s, safe, utf8, Some(&mut out));
    (out, width)
}

/// Width in cells of `s` once safe-encoded (no safe characters).
pub fn safe_width(s: &[u8], utf8: bool) -> usize {
    encode_into(s, b"", utf8, None)
}

fn hex(out: &mut Option<&mut Vec<u8>>, b: u8) {
    if let Some(o) = out {
        o.extend_from_slice(format!("\\x{b:02x}").as_bytes());
    }
}

fn encode_into(s: &[u8], safe: &[u8], utf8: bool, mut out: Option<&mut Vec<u8>>) -> usize {
    let mut width = 0;
    let mut i = 0;
    while i < s.len() {
        let b = s[i];
        if safe.contains(&b) {
            if let Some(o) = out.as_mut() {
                o.push(b);
            }
            i += 1;
            continue;
        }
        if (b == b'\\' && s.get(i + 1) == Some(&b'x')) || is_cntrl(b) {
            hex(&mut out, b);
            width += 4;
            i += 1;
            continue;
        }
        if b < 0x80 {
            if let Some(o) = out.as_mut() {
                o.push(b);
            }
            width += 1;
            i += 1;
            continue;
        }
        match utf8.then(|| decode(&s[i..])).flatten() {
            Some((c, len)) if printable(c) => {
                if let Some(o) = out.as_mut() {
                    o.extend_from_slice(&s[i..i + len]);
                }
                width += c.width().unwrap_or(0);
                i += len;
            }
            Some((_, len)) => {
                for &byte in &s[i..i + len] {
                    hex(&mut out, byte);
                    width += 4;
                }
                i += len;
            }
            None => {
                hex(&mut out, b);
                width += 4;
                i += 1;
            }
        }
    }
    width
}

/// C `iscntrl` in the C and UTF-8 locales.
fn is_cntrl(b: u8) -> bool {
    b < 0x20 || b == 0x7f
}

/// C `iswprint`, closely enough: everything but control characters.
fn printable(c: char) -> bool {
    !c.is_control() && !matches!(c, '\u{2028}' | '\u{2029}')
}

/// The UTF-8 character at the start of `s` and its length in bytes.
fn decode(s: &[u8]) -> Option<(char, usize)> {
    let len = match s.first()? {
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => return None,
    };
    let c = std::str::from_utf8(s.get(..len)?).ok()?.chars().next()?;
    Some((c, len))
}

/// Cuts already-encoded text to at most `width` cells; returns the number
/// of bytes kept and the cells they take.
pub fn truncate(s: &[u8], width: usize, utf8: bool) -> (usize, usize) {
    let mut cells = 0;
    let mut i = 0;
    while i < s.len() {
        let (w, len) = match utf8.then(|| decode(&s[i..])).flatten() {
            Some((c, len)) => (c.width().unwrap_or(1), len),
            None => (1, 1),
        };
        if cells + w > width {
            break;
        }
        cells += w;
        i += len;
    }
    (i, cells)
}

/// Raw output (`-r`): blanks, backslashes and anything not printable in
/// one byte become `\xHH`, so a cell is one word.
pub fn raw_escape(s: &[u8], out: &mut Vec<u8>) {
    for &b in s {
        if b == b' ' || b == b'\t' || b == b'\\' || !(0x21..0x7f).contains(&b) {
            out.extend_from_slice(format!("\\x{b:02x}").as_bytes());
        } else {
            out.push(b);
        }
    }
}

/// A JSON string literal the way util-linux writes it (bytes of 0x80 and
/// above are copied as they are).
pub fn json_quote(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &b in s {
        match b {
            b'"' | b'\\' => out.extend_from_slice(&[b'\\', b]),
            0x08 => out.extend_from_slice(b"\\b"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            0x0c => out.extend_from_slice(b"\\f"),
            b'\r' => out.extend_from_slice(b"\\r"),
            0..=0x1f => out.extend_from_slice(format!("\\u00{b:02x}").as_bytes()),
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_controls_and_keeps_safe_chars() {
        assert_eq!(safe_encode(b"a\tb", b"", true), (b"a\\x09b".to_vec(), 6));
        assert_eq!(safe_encode(b"a\nb", b"\n", true), (b"a\nb".to_vec(), 2));
        assert_eq!(safe_encode(b"\\x", b"", true), (b"\\x5cx".to_vec(), 5));
        assert_eq!(safe_width("└─a".as_bytes(), true), 3);
        assert_eq!(safe_width("└─a".as_bytes(), false), 25);
        assert_eq!(safe_encode(b"\xff", b"", true).0, b"\\xff".to_vec());
        assert_eq!(safe_width("日本".as_bytes(), true), 4);
    }

    #[test]
    fn truncates_by_cells() {
        assert_eq!(truncate(b"abcdef", 3, true), (3, 3));
        assert_eq!(truncate("日本語".as_bytes(), 5, true), (6, 4));
        assert_eq!(truncate(b"ab", 5, true), (2, 2));
    }

    #[test]
    fn raw_and_json_escapes() {
        let mut o = Vec::new();
        raw_escape("a b\\└".as_bytes(), &mut o);
        assert_eq!(o, b"a\\x20b\\x5c\\xe2\\x94\\x94".to_vec());
        o.clear();
        json_quote(b"a\"b\\\n\x01\xc3\xa9", &mut o);
        assert_eq!(o, b"\"a\\\"b\\\\\\n\\u0001\xc3\xa9\"".to_vec());
    }
}
