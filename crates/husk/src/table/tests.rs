use super::*;

fn render(t: &Table) -> String {
    let mut out = Vec::new();
    t.print(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// NS (right, hint 10), TYPE (hint 5), CMD (tree, trunc): lsns' shape.
fn sample(format: Format, utf8: bool) -> Table {
    let mut t = Table::new();
    t.format(format).utf8(utf8).name("things");
    t.add_column(
        Column::new("NS")
            .hint(Hint::Cells(10))
            .right(true)
            .json(JsonType::Number),
    );
    t.add_column(Column::new("TYPE").hint(Hint::Cells(5)));
    t.add_column(Column::new("CMD").trunc(true).tree(true));
    let a = t.add_line(None);
    t.set(a, 0, "1");
    t.set(a, 1, "net");
    t.set(a, 2, "init");
    let b = t.add_line(Some(a));
    t.set(b, 0, "22");
    t.set(b, 1, "pid");
    t.set(b, 2, "child one");
    let c = t.add_line(Some(b));
    t.set(c, 0, "333");
    t.set(c, 2, "grandchild");
    let d = t.add_line(Some(a));
    t.set(d, 0, "4");
    t.set(d, 1, "user");
    t.set(d, 2, "child two");
    t
}

#[test]
fn widths_follow_hints_and_headers() {
    let out = render(&sample(Format::Human, false));
    let want = "        NS TYPE  CMD\n\
                \x20        1 net   init\n\
                \x20       22 pid   |-child one\n\
                \x20      333       | `-grandchild\n\
                \x20        4 user  `-child two\n";
    assert_eq!(out, want);
}

#[test]
fn utf8_tree_characters() {
    let out = render(&sample(Format::Human, true));
    assert!(out.contains("├─child one\n"), "{out}");
    assert!(out.contains("│ └─grandchild\n"), "{out}");
    assert!(out.contains("└─child two\n"), "{out}");
}

#[test]
fn terminal_width_truncates_the_truncatable_column() {
    let mut t = sample(Format::Human, false);
    t.term_width(Some(22));
    let out = render(&t);
    for line in out.lines() {
        assert!(line.len() <= 22, "{line:?} too long");
    }
    assert!(out.contains("       333       | `-g\n"), "{out}");
}

#[test]
fn raw_escapes_blanks_and_art() {
    let out = render(&sample(Format::Raw, false));
    assert_eq!(
        out,
        "NS TYPE CMD\n1 net init\n22 pid |-child\\x20one\n333  |\\x20`-grandchild\n4 user `-child\\x20two\n"
    );
}

#[test]
fn json_nests_children_and_types_values() {
    let out = render(&sample(Format::Json, false));
    let v: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
    let root = &v["things"][0];
    assert_eq!(root["ns"], 1);
    assert_eq!(root["cmd"], "init");
    assert_eq!(
        root["children"][0]["children"][0]["type"],
        serde_json::Value::Null
    );
    assert_eq!(root["children"][1]["cmd"], "child two");
    assert!(
        out.starts_with("{\n   \"things\": [\n      {\n         \"ns\": 1,\n"),
        "{out}"
    );
}

#[test]
fn empty_tables() {
    let mut t = Table::new();
    t.add_column(Column::new("A"));
    assert_eq!(render(&t), "");
    t.format(Format::Json).name("x");
    assert_eq!(render(&t), "{\n   \"x\": [\n\n   ]\n}\n");
}

#[test]
fn wrapped_cells_continue_on_extra_lines() {
    let mut t = Table::new();
    t.add_column(Column::new("A"));
    t.add_column(Column::new("PATHS").wrap_lines(true));
    t.add_column(Column::new("Z"));
    let l = t.add_line(None);
    t.set(l, 0, "x");
    t.set(l, 1, "/a\n/bbb");
    t.set(l, 2, "z");
    assert_eq!(render(&t), "A PATHS Z\nx /a    z\n  /bbb  \n");
}

#[test]
fn control_characters_are_encoded_in_human_output() {
    let mut t = Table::new();
    t.add_column(Column::new("C"));
    let l = t.add_line(None);
    t.set(l, 0, b"a\tb".to_vec());
    assert_eq!(render(&t), "C\na\\x09b\n");
}

#[test]
fn fraction_hints_shrink_first() {
    let mut t = Table::new();
    t.term_width(Some(12));
    t.add_column(Column::new("A").hint(Hint::Fraction(0.3)).trunc(true));
    t.add_column(Column::new("B").trunc(true));
    let l = t.add_line(None);
    t.set(l, 0, "aaaaaaaa");
    t.set(l, 1, "bbbbbbbb");
    let out = render(&t);
    assert!(out.lines().all(|l| l.len() <= 12), "{out}");
}
