//! A small table printer that writes what util-linux's libsmartcols writes.
//!
//! Columns have a header, a width hint, alignment and truncation flags;
//! lines may have a parent line, which makes the table a tree when a column
//! is marked [`Column::tree`]. Three formats: human (aligned columns,
//! truncated to the terminal's width when stdout is one), raw (`-r`: one
//! space between cells, blanks escaped) and JSON (`-J`: an object with one
//! array, nested `children` for trees).
//!
//! Usage: build a [`Table`], add columns, add lines and set their cells,
//! then [`Table::print`]. Cell text is bytes, not `String`, because process
//! command lines need not be UTF-8; it is encoded safely at print time.

mod human;
mod json;
mod text;

use std::io::{self, Write};

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Aligned columns.
    Human,
    /// Cells separated by one space, blanks and non-printables escaped.
    Raw,
    /// `{"NAME": [ {...}, ... ]}`.
    Json,
}

/// How a column's cells appear in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonType {
    /// A quoted string (`null` when empty).
    String,
    /// A bare number (`null` when empty).
    Number,
}

/// One column: header text and layout rules.
/// A column's width hint.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Hint {
    /// None: as wide as the data.
    None,
    /// Widened to this many cells when data and header are narrower.
    Cells(usize),
    /// A fraction of the terminal width, used when shrinking to fit.
    #[allow(dead_code)] // libsmartcols has it; no husk command uses it yet
    Fraction(f64),
}

#[derive(Debug, Clone)]
pub struct Column {
    name: String,
    hint: Hint,
    right: bool,
    trunc: bool,
    tree: bool,
    wrap_lines: bool,
    json: JsonType,
}

impl Column {
    /// A left-aligned string column without a width hint.
    pub fn new(name: &str) -> Column {
        Column {
            name: name.to_owned(),
            hint: Hint::None,
            right: false,
            trunc: false,
            tree: false,
            wrap_lines: false,
            json: JsonType::String,
        }
    }

    /// Width hint (libsmartcols' `whint`).
    pub fn hint(mut self, hint: Hint) -> Column {
        self.hint = hint;
        self
    }

    /// Right-aligned cells.
    pub fn right(mut self, on: bool) -> Column {
        self.right = on;
        self
    }

    /// Cells may be truncated to fit the terminal.
    pub fn trunc(mut self, on: bool) -> Column {
        self.trunc = on;
        self
    }

    /// The column draws the tree (ASCII art before the data).
    pub fn tree(mut self, on: bool) -> Column {
        self.tree = on;
        self
    }

    /// Cells are split on newlines onto extra lines (and newlines are not
    /// escaped).
    pub fn wrap_lines(mut self, on: bool) -> Column {
        self.wrap_lines = on;
        self
    }

    /// JSON type of the cells.
    pub fn json(mut self, ty: JsonType) -> Column {
        self.json = ty;
        self
    }
}

/// A line of the table, as returned by [`Table::add_line`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineId(usize);

#[derive(Debug, Clone)]
struct Line {
    cells: Vec<Vec<u8>>,
    parent: Option<usize>,
    children: Vec<usize>,
}

/// Tree-drawing characters.
#[derive(Debug, Clone, Copy)]
struct Symbols {
    branch: &'static str,
    vertical: &'static str,
    right: &'static str,
}

const UTF8_SYMBOLS: Symbols = Symbols {
    branch: "\u{251c}\u{2500}",
    vertical: "\u{2502} ",
    right: "\u{2514}\u{2500}",
};

const ASCII_SYMBOLS: Symbols = Symbols {
    branch: "|-",
    vertical: "| ",
    right: "`-",
};

/// A table being built.
#[derive(Debug, Clone)]
pub struct Table {
    columns: Vec<Column>,
    lines: Vec<Line>,
    format: Format,
    no_headings: bool,
    name: String,
    utf8: bool,
    term_width: Option<usize>,
}

impl Table {
    /// An empty human-format table, ASCII, not on a terminal.
    pub fn new() -> Table {
        Table {
            columns: Vec::new(),
            lines: Vec::new(),
            format: Format::Human,
            no_headings: false,
            name: String::new(),
            utf8: false,
            term_width: None,
        }
    }

    /// Sets the output format.
    pub fn format(&mut self, format: Format) -> &mut Table {
        self.format = format;
        self
    }

    /// Omits the header line.
    pub fn no_headings(&mut self, on: bool) -> &mut Table {
        self.no_headings = on;
        self
    }

    /// Name of the JSON array.
    pub fn name(&mut self, name: &str) -> &mut Table {
        self.name = name.to_owned();
        self
    }

    /// Whether the locale is UTF-8: tree characters and what is printable.
    pub fn utf8(&mut self, on: bool) -> &mut Table {
        self.utf8 = on;
        self
    }

    /// The terminal width when output goes to a terminal (`None`: no
    /// truncation, columns as wide as their data).
    pub fn term_width(&mut self, width: Option<usize>) -> &mut Table {
        self.term_width = width;
        self
    }

    /// Adds a column; returns its index.
    pub fn add_column(&mut self, column: Column) -> usize {
        self.columns.push(column);
        for line in &mut self.lines {
            line.cells.push(Vec::new());
        }
        self.columns.len() - 1
    }

    /// Adds an empty line, as the last child of `parent` if given.
    pub fn add_line(&mut self, parent: Option<LineId>) -> LineId {
        let id = self.lines.len();
        self.lines.push(Line {
            cells: vec![Vec::new(); self.columns.len()],
            parent: parent.map(|p| p.0),
            children: Vec::new(),
        });
        if let Some(p) = parent {
            self.lines[p.0].children.push(id);
        }
        LineId(id)
    }

    /// Sets the text of one cell.
    pub fn set(&mut self, line: LineId, column: usize, data: impl Into<Vec<u8>>) {
        if let Some(cell) = self.lines[line.0].cells.get_mut(column) {
            *cell = data.into();
        }
    }

    /// Whether the output depends on the locale's character set: a tree
    /// (its characters) or text beyond ASCII (what is printable), outside
    /// JSON.
    pub fn needs_locale(&self) -> bool {
        self.format != Format::Json
            && (self.is_tree()
                || self
                    .lines
                    .iter()
                    .any(|l| l.cells.iter().any(|c| !c.is_ascii())))
    }

    fn is_tree(&self) -> bool {
        self.columns.iter().any(|c| c.tree)
    }

    fn symbols(&self) -> Symbols {
        if self.utf8 {
            UTF8_SYMBOLS
        } else {
            ASCII_SYMBOLS
        }
    }

    /// Lines in print order: insertion order, or depth first for trees.
    fn order(&self) -> Vec<usize> {
        if !self.is_tree() {
            return (0..self.lines.len()).collect();
        }
        let mut out = Vec::with_capacity(self.lines.len());
        let mut stack: Vec<usize> = self
            .lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.parent.is_none())
            .map(|(i, _)| i)
            .rev()
            .collect();
        while let Some(i) = stack.pop() {
            out.push(i);
            stack.extend(self.lines[i].children.iter().rev());
        }
        out
    }

    fn is_last_child(&self, line: usize) -> bool {
        match self.lines[line].parent {
            Some(p) => self.lines[p].children.last() == Some(&line),
            None => false,
        }
    }

    /// The tree art drawn before `line`'s own branch: one "│ " or "  " per
    /// ancestor level.
    fn art_prefix(&self, line: usize, out: &mut Vec<u8>) {
        if let Some(p) = self.lines[line].parent {
            self.art_prefix(p, out);
            let sym = if self.is_last_child(line) {
                "  "
            } else {
                self.symbols().vertical
            };
            out.extend_from_slice(sym.as_bytes());
        }
    }

    /// The bytes a cell shows before encoding: for the tree column, the
    /// art then the data. Returns them and the length of the art.
    fn cell_bytes(&self, line: usize, col: usize) -> (Vec<u8>, usize) {
        let data = &self.lines[line].cells[col];
        if !self.columns[col].tree || self.format == Format::Json {
            return (data.clone(), 0);
        }
        let mut buf = Vec::with_capacity(data.len() + 8);
        if let Some(p) = self.lines[line].parent {
            self.art_prefix(p, &mut buf);
            let sym = if self.is_last_child(line) {
                self.symbols().right
            } else {
                self.symbols().branch
            };
            buf.extend_from_slice(sym.as_bytes());
        }
        let art = buf.len();
        buf.extend_from_slice(data);
        (buf, art)
    }

    /// Writes the table. A table without lines prints nothing (JSON: an
    /// empty array).
    pub fn print(&self, out: &mut dyn Write) -> io::Result<()> {
        let mut buf = Vec::with_capacity(4096);
        match self.format {
            Format::Json => json::print(self, &mut buf),
            Format::Raw => human::print_raw(self, &mut buf),
            Format::Human => human::print_human(self, &mut buf),
        }
        out.write_all(&buf)
    }
}

impl Default for Table {
    fn default() -> Table {
        Table::new()
    }
}

/// The width of the terminal on stdout, or `None` when stdout is not a
/// terminal (libsmartcols then never truncates). Uses `TIOCGWINSZ`, then
/// `$COLUMNS`, then 80.
pub fn stdout_term_width() -> Option<usize> {
    let stdout = io::stdout();
    if !rustix::termios::isatty(&stdout) {
        return None;
    }
    let from_ioctl = rustix::termios::tcgetwinsize(&stdout)
        .ok()
        .map(|w| usize::from(w.ws_col))
        .filter(|&c| c > 0);
    let from_env = || {
        std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.parse::<usize>().ok())
            .filter(|&c| c > 0 && c <= i32::MAX as usize)
    };
    Some(from_ioctl.or_else(from_env).unwrap_or(80))
}

#[cfg(test)]
mod tests;
