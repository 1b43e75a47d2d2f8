//! Human and raw output: column widths (libsmartcols' `calculate.c`) and
//! cell printing (`print.c`).

use super::text::{raw_escape, safe_encode, safe_width, truncate};
use super::{Hint, Table};

const SEP: &[u8] = b" ";

/// A column's computed layout.
#[derive(Debug, Clone, Default)]
struct Width {
    width: usize,
    min: usize,
    treeart: usize,
    hidden: bool,
}

/// Widest chunk of a newline-wrapped cell.
fn chunk_width(data: &[u8], utf8: bool) -> usize {
    data.split(|&b| b == b'\n')
        .map(|c| safe_width(c, utf8))
        .max()
        .unwrap_or(0)
}

fn column_width(t: &Table, col: usize) -> Width {
    let c = &t.columns[col];
    let min = safe_width(c.name.as_bytes(), t.utf8).max(1);
    let mut w = Width {
        min,
        ..Width::default()
    };
    for line in 0..t.lines.len() {
        let (bytes, art) = t.cell_bytes(line, col);
        let len = if c.wrap_lines {
            chunk_width(&bytes, t.utf8)
        } else {
            safe_width(&bytes, t.utf8)
        };
        w.width = w.width.max(len);
        if c.tree {
            w.treeart = w.treeart.max(safe_width(&bytes[..art], t.utf8));
        }
    }
    if w.width < w.min {
        w.width = w.min;
    } else if let Hint::Cells(hint) = c.hint {
        if w.width < hint && w.min < hint {
            w.width = hint;
        }
    }
    w
}

/// Column widths; on a terminal, shrunk (truncatable columns first) to fit.
fn layout(t: &Table) -> Vec<Width> {
    let mut ws: Vec<Width> = (0..t.columns.len()).map(|i| column_width(t, i)).collect();
    let Some(term) = t.term_width else {
        return ws;
    };
    let n = ws.len();
    let mut width: usize = ws.iter().map(|w| w.width).sum::<usize>() + n.saturating_sub(1);
    if width < term {
        // The last column takes the rest, unless right-aligned.
        if let (Some(last), Some(c)) = (ws.last_mut(), t.columns.last()) {
            if !c.right {
                last.width += term - width;
            }
        }
        return ws;
    }
    let mut stage = 1;
    while width > term && stage <= 3 {
        let before = width;
        for (i, w) in ws.iter_mut().enumerate() {
            let c = &t.columns[i];
            if w.hidden {
                continue;
            }
            if width <= term {
                break;
            }
            if w.width == w.min || (c.tree && width <= w.treeart) || w.width == 0 {
                continue;
            }
            let relative = match c.hint {
                Hint::Fraction(f) => Some(f),
                _ => None,
            };
            let shrink = match stage {
                1 => c.trunc && relative.is_some_and(|f| w.width as f64 >= f * term as f64),
                2 => c.trunc,
                _ => relative.is_some(),
            };
            if shrink {
                w.width -= 1;
                width -= 1;
            }
            if w.width == 0 {
                w.hidden = true;
            }
        }
        if before == width {
            stage += 1;
        }
    }
    ws
}

fn is_last(ws: &[Width], col: usize) -> bool {
    ws[col + 1..].iter().all(|w| w.hidden)
}

/// Per-print state: widths and the pending rest of wrapped cells.
struct Printer<'a> {
    t: &'a Table,
    ws: Vec<Width>,
    pending: Vec<Option<Vec<u8>>>,
    out: &'a mut Vec<u8>,
}

impl Printer<'_> {
    fn pad(&mut self, from: usize, to: usize) {
        for _ in from..to {
            self.out.push(b' ');
        }
    }

    /// One cell: encode, split off wrapped rest, align, truncate, pad.
    fn data(&mut self, col: usize, line: Option<usize>, bytes: &[u8]) {
        let c = &self.t.columns[col];
        let safe: &[u8] = if c.wrap_lines { b"\n" } else { b"" };
        let (mut data, mut len) = safe_encode(bytes, safe, self.t.utf8);
        if len == 0 {
            data.clear();
        }
        let mut width = self.ws[col].width;
        let last = is_last(&self.ws, col);
        if c.wrap_lines {
            if let Some(nl) = data.iter().position(|&b| b == b'\n') {
                self.pending[col] = Some(data[nl + 1..].to_vec()).filter(|r| !r.is_empty());
                data.truncate(nl);
                len = safe_width(&data, self.t.utf8);
            }
        }
        if last && len < width && !c.right {
            width = len;
        }
        if len > width && c.trunc {
            let (bytes, cells) = truncate(&data, width, self.t.utf8);
            data.truncate(bytes);
            len = cells;
        }
        if !data.is_empty() {
            if c.right {
                self.pad(len, width);
                len = width;
            }
            self.out.extend_from_slice(&data);
        }
        if last {
            return;
        }
        self.pad(len, width);
        if len > width && !c.trunc {
            self.newline_padding(col, line);
        } else {
            self.out.extend_from_slice(SEP);
        }
    }

    /// After an overflowing cell: a new line, blank up to the next column.
    fn newline_padding(&mut self, col: usize, line: Option<usize>) {
        self.out.push(b'\n');
        for i in 0..=col {
            self.empty(i, line);
        }
    }

    /// A cell with no data: blanks, or the tree's vertical lines.
    fn empty(&mut self, col: usize, line: Option<usize>) {
        let mut len = 0;
        if let (Some(line), true) = (line, self.t.columns[col].tree) {
            let mut art = Vec::new();
            self.t.art_prefix(line, &mut art);
            if !self.t.lines[line].children.is_empty() && self.pending.iter().any(Option::is_some) {
                art.extend_from_slice(self.t.symbols().vertical.as_bytes());
            }
            let (enc, w) = safe_encode(&art, b"", self.t.utf8);
            if w > 0 {
                self.out.extend_from_slice(&enc);
            }
            len = w;
        }
        if is_last(&self.ws, col) {
            return;
        }
        self.pad(len, self.ws[col].width);
        self.out.extend_from_slice(SEP);
    }

    /// The next chunk of a wrapped cell, on an extra line.
    fn pending_data(&mut self, col: usize) {
        let Some(rest) = self.pending[col].take() else {
            return;
        };
        let width = self.ws[col].width;
        let (chunk, len) = match rest.iter().position(|&b| b == b'\n') {
            Some(nl) if self.t.columns[col].wrap_lines => {
                let tail = rest[nl + 1..].to_vec();
                self.pending[col] = Some(tail).filter(|r| !r.is_empty());
                (rest[..nl].to_vec(), safe_width(&rest[..nl], self.t.utf8))
            }
            _ => {
                let (bytes, cells) = truncate(&rest, width, self.t.utf8);
                self.pending[col] = Some(rest[bytes..].to_vec()).filter(|r| !r.is_empty());
                (rest[..bytes].to_vec(), cells)
            }
        };
        self.out.extend_from_slice(&chunk);
        if is_last(&self.ws, col) {
            return;
        }
        self.pad(len, width);
        self.out.extend_from_slice(SEP);
    }

    fn line(&mut self, line: usize) {
        for col in 0..self.t.columns.len() {
            if self.ws[col].hidden {
                continue;
            }
            let (bytes, _) = self.t.cell_bytes(line, col);
            self.data(col, Some(line), &bytes);
        }
        while self.pending.iter().any(Option::is_some) {
            self.out.push(b'\n');
            for col in 0..self.t.columns.len() {
                if self.ws[col].hidden {
                    continue;
                }
                if self.pending[col].is_some() {
                    self.pending_data(col);
                } else {
                    self.empty(col, Some(line));
                }
            }
        }
    }

    fn header(&mut self) {
        for col in 0..self.t.columns.len() {
            if self.ws[col].hidden {
                continue;
            }
            let name = self.t.columns[col].name.clone();
            self.data(col, None, name.as_bytes());
        }
        self.out.push(b'\n');
    }
}

/// Aligned columns.
pub(super) fn print_human(t: &Table, out: &mut Vec<u8>) {
    if t.lines.is_empty() {
        return;
    }
    let ws = layout(t);
    let mut p = Printer {
        t,
        pending: vec![None; ws.len()],
        ws,
        out,
    };
    if !t.no_headings {
        p.header();
    }
    for line in t.order() {
        p.line(line);
        p.out.push(b'\n');
    }
}

/// One space between cells, each cell escaped to one word.
pub(super) fn print_raw(t: &Table, out: &mut Vec<u8>) {
    if t.lines.is_empty() {
        return;
    }
    let n = t.columns.len();
    let row = |cells: &mut dyn Iterator<Item = Vec<u8>>, out: &mut Vec<u8>| {
        for (i, cell) in cells.enumerate() {
            raw_escape(&cell, out);
            if i + 1 < n {
                out.extend_from_slice(SEP);
            }
        }
        out.push(b'\n');
    };
    if !t.no_headings {
        row(
            &mut t.columns.iter().map(|c| c.name.clone().into_bytes()),
            out,
        );
    }
    for line in t.order() {
        row(&mut (0..n).map(|col| t.cell_bytes(line, col).0), out);
    }
}
