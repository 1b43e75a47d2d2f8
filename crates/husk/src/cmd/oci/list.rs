//! `list [--format table|json] [-q]`: runc's table (tabwriter, min width
//! 12, padding 3) or a JSON array (`null` when empty, as Go prints it).

use std::ffi::OsString;

use husk_runtime::container;

use super::{options, Globals};
use crate::cli::getopt::{long, HasArg, Spec};
use crate::cli::{Exit, Outcome, Prog};

const SPEC: Spec = Spec {
    short: "f:qh",
    long: &[
        long("format", HasArg::Required, 'f'),
        long("quiet", HasArg::No, 'q'),
        long("help", HasArg::No, 'h'),
    ],
};

pub(super) fn run(g: &Globals, prog: &Prog, argv: Vec<OsString>) -> Outcome {
    let mut json = false;
    let mut quiet = false;
    let parsed = options(prog, SPEC, argv, |c, arg| {
        match (c, arg.as_ref().and_then(|a| a.to_str())) {
            ('f', Some("json")) => json = true,
            ('f', Some("table")) => json = false,
            ('f', other) => anyhow::bail!("invalid format option {:?}", other.unwrap_or("")),
            ('q', _) => quiet = true,
            _ => {}
        }
        Ok(())
    })?;
    if parsed.is_none() {
        return Ok(Exit::OK);
    }
    let states = container::list(&g.store)?;
    if quiet {
        for s in &states {
            println!("{}", s.id);
        }
    } else if json {
        if states.is_empty() {
            println!("null");
        } else {
            println!("{}", serde_json::to_string(&states)?);
        }
    } else {
        let mut rows = vec![["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]
            .map(String::from)
            .to_vec()];
        for s in &states {
            rows.push(vec![
                s.id.clone(),
                s.pid.to_string(),
                s.status.to_string(),
                s.bundle.display().to_string(),
                s.created.clone(),
                s.owner.clone(),
            ]);
        }
        print!("{}", tabwrite(&rows));
    }
    Ok(Exit::OK)
}

/// Go's `tabwriter.NewWriter(w, 12, 1, 3, ' ', 0)`: each column as wide as
/// its widest cell plus 3, at least 12; the last column unpadded.
fn tabwrite(rows: &[Vec<String>]) -> String {
    let cols = rows[0].len();
    let widths: Vec<usize> = (0..cols - 1)
        .map(|c| {
            rows.iter()
                .map(|r| r[c].chars().count() + 3)
                .max()
                .unwrap_or(0)
                .max(12)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        for (c, cell) in r.iter().enumerate() {
            if c + 1 < cols {
                out.push_str(&format!("{cell:<w$}", w = widths[c]));
            } else {
                out.push_str(cell);
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn tabwriter_like_go() {
        let rows = vec![
            vec!["ID".to_owned(), "PID".to_owned(), "OWNER".to_owned()],
            vec![
                "a-long-container-id".to_owned(),
                "1".to_owned(),
                "root".to_owned(),
            ],
        ];
        assert_eq!(
            super::tabwrite(&rows),
            "ID                    PID         OWNER\na-long-container-id   1           root\n"
        );
    }
}
