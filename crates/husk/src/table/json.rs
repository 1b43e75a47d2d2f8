//! JSON output, byte for byte as util-linux's `jsonwrt.c` writes it:
//! three-space indent, `},{` between objects, keys in lower case, `null`
//! for empty cells, nested `"children"` arrays for trees.

use super::text::json_quote;
use super::{JsonType, Table};

/// util-linux's streaming JSON writer state.
struct Writer<'a> {
    out: &'a mut Vec<u8>,
    indent: usize,
    after_close: bool,
}

enum Kind {
    Object,
    Array,
    Value,
}

impl Writer<'_> {
    fn indent(&mut self) {
        for _ in 0..self.indent {
            self.out.extend_from_slice(b"   ");
        }
    }

    fn open(&mut self, name: Option<&str>, kind: Kind) {
        match name {
            Some(name) => {
                if self.after_close {
                    self.out.extend_from_slice(b",\n");
                }
                self.indent();
                json_quote(name.to_ascii_lowercase().as_bytes(), self.out);
            }
            None => {
                if self.after_close {
                    self.out.push(b',');
                } else {
                    self.indent();
                }
            }
        }
        let named = name.is_some();
        match kind {
            Kind::Object => {
                self.out
                    .extend_from_slice(if named { b": {\n" } else { b"{\n" });
                self.indent += 1;
            }
            Kind::Array => {
                self.out
                    .extend_from_slice(if named { b": [\n" } else { b"[\n" });
                self.indent += 1;
            }
            Kind::Value => self.out.extend_from_slice(if named { b": " } else { b" " }),
        }
        self.after_close = false;
    }

    fn close(&mut self, kind: Kind) {
        if self.indent == 1 {
            self.out.extend_from_slice(b"\n}\n");
            self.indent = 0;
            self.after_close = true;
            return;
        }
        match kind {
            Kind::Object | Kind::Array => {
                self.indent = self.indent.saturating_sub(1);
                self.out.push(b'\n');
                self.indent();
                self.out.push(if matches!(kind, Kind::Object) {
                    b'}'
                } else {
                    b']'
                });
            }
            Kind::Value => {}
        }
        self.after_close = true;
    }

    fn value(&mut self, name: &str, data: &[u8], ty: JsonType) {
        self.open(Some(name), Kind::Value);
        if data.is_empty() {
            self.out.extend_from_slice(b"null");
        } else if ty == JsonType::Number {
            self.out.extend_from_slice(data);
        } else {
            json_quote(data, self.out);
        }
        self.close(Kind::Value);
    }
}

fn line_values(t: &Table, w: &mut Writer<'_>, line: usize) {
    for (col, c) in t.columns.iter().enumerate() {
        w.value(&c.name, &t.lines[line].cells[col], c.json);
    }
}

pub(super) fn print(t: &Table, out: &mut Vec<u8>) {
    let mut w = Writer {
        out,
        indent: 0,
        after_close: false,
    };
    w.open(None, Kind::Object);
    w.open(Some(&t.name), Kind::Array);
    if t.is_tree() {
        for line in t.order() {
            tree_line(t, &mut w, line);
        }
    } else {
        for line in 0..t.lines.len() {
            w.open(None, Kind::Object);
            line_values(t, &mut w, line);
            w.close(Kind::Object);
        }
    }
    w.close(Kind::Array);
    w.close(Kind::Object);
}

/// One line of a tree: its values, then either opens its children array or
/// closes it and every ancestor it was the last descendant of.
fn tree_line(t: &Table, w: &mut Writer<'_>, line: usize) {
    w.open(None, Kind::Object);
    line_values(t, w, line);
    if !t.lines[line].children.is_empty() {
        w.open(Some("children"), Kind::Array);
        return;
    }
    let last_root = t.lines.iter().rposition(|l| l.parent.is_none());
    let mut ln = Some(line);
    while let Some(cur) = ln {
        let parent = t.lines[cur].parent;
        let last = match parent {
            Some(_) => t.is_last_child(cur),
            None => Some(cur) == last_root,
        };
        w.close(Kind::Object);
        if last && parent.is_some() {
            w.close(Kind::Array);
        }
        if !last {
            break;
        }
        ln = parent;
    }
}
