//! A plain table with Markdown, CSV and LaTeX renderings.

use anyhow::Result;

/// A rendered-agnostic table: header, rows of text cells, and footnotes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Table {
    /// Caption.
    pub title: String,
    /// Column names.
    pub header: Vec<String>,
    /// Rows (each as long as the header).
    pub rows: Vec<Vec<String>>,
    /// Footnotes (flags, protocol caveats).
    pub notes: Vec<String>,
    /// The table's numbers for its CSV file, one value per column (mean, std, n, CI
    /// bounds, ... as separate numeric columns). `None`: the CSV holds the display rows.
    pub csv: Option<CsvData>,
}

/// Machine-readable form of a table: a header and rows of plain values (numbers printed
/// in full precision, empty for a missing value), so that pandas or polars read numeric
/// columns without parsing "a ± b" strings.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CsvData {
    /// Column names.
    pub header: Vec<String>,
    /// Rows (each as long as the header).
    pub rows: Vec<Vec<String>>,
}

impl CsvData {
    /// An empty frame with these columns.
    pub fn new(header: &[&str]) -> Self {
        Self {
            header: header.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }
}

/// A number for a CSV cell: full precision (shortest round-trip form), empty if NaN.
pub fn num(v: f64) -> String {
    if v.is_nan() {
        String::new()
    } else {
        format!("{v}")
    }
}

impl Table {
    /// GitHub-flavoured Markdown: `### title`, the table, then the notes as a list.
    pub fn to_markdown(&self) -> String {
        let esc = |s: &str| s.replace('|', "\\|");
        let mut out = String::new();
        if !self.title.is_empty() {
            out.push_str(&format!("### {}\n\n", self.title));
        }
        let line = |cells: &[String]| {
            format!(
                "| {} |\n",
                cells.iter().map(|c| esc(c)).collect::<Vec<_>>().join(" | ")
            )
        };
        out.push_str(&line(&self.header));
        out.push_str(&format!("|{}\n", "---|".repeat(self.header.len())));
        for r in &self.rows {
            out.push_str(&line(r));
        }
        if !self.notes.is_empty() {
            out.push('\n');
            for n in &self.notes {
                out.push_str(&format!("- {n}\n"));
            }
        }
        out
    }

    /// CSV (no title or notes), quoted where needed: the numeric [`CsvData`] where the
    /// table has one, else the header and display rows.
    pub fn to_csv(&self) -> Result<String> {
        let mut w = csv::Writer::from_writer(Vec::new());
        let (header, rows) = match &self.csv {
            Some(d) => (&d.header, &d.rows),
            None => (&self.header, &self.rows),
        };
        w.write_record(header)?;
        for r in rows {
            w.write_record(r)?;
        }
        Ok(String::from_utf8(w.into_inner()?)?)
    }

    /// A LaTeX `table` with a `tabular` (booktabs rules); special characters escaped and
    /// ±, Δ, †, →, ≥, > rendered in math mode.
    pub fn to_latex(&self) -> String {
        let mut out = String::from("\\begin{table}[t]\n\\centering\n");
        if !self.title.is_empty() {
            out.push_str(&format!("\\caption{{{}}}\n", latex_escape(&self.title)));
        }
        out.push_str(&format!(
            "\\begin{{tabular}}{{{}}}\n\\toprule\n",
            "l".repeat(self.header.len())
        ));
        let line = |cells: &[String]| {
            format!(
                "{} \\\\\n",
                cells
                    .iter()
                    .map(|c| latex_escape(c))
                    .collect::<Vec<_>>()
                    .join(" & ")
            )
        };
        out.push_str(&line(&self.header));
        out.push_str("\\midrule\n");
        for r in &self.rows {
            out.push_str(&line(r));
        }
        out.push_str("\\bottomrule\n\\end{tabular}\n");
        for n in &self.notes {
            out.push_str(&format!("\\\\{{\\footnotesize {}}}\n", latex_escape(n)));
        }
        out.push_str("\\end{table}\n");
        out
    }
}

/// Escapes LaTeX special characters and maps the symbols the tables use.
pub fn latex_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => o.push_str("\\textbackslash{}"),
            '&' | '%' | '$' | '#' | '_' | '{' | '}' => {
                o.push('\\');
                o.push(c);
            }
            '~' => o.push_str("\\textasciitilde{}"),
            '^' => o.push_str("\\textasciicircum{}"),
            '±' => o.push_str("$\\pm$"),
            'Δ' => o.push_str("$\\Delta$"),
            '†' => o.push_str("\\textsuperscript{\\dag}"),
            '→' => o.push_str("$\\rightarrow$"),
            '↳' => o.push_str("$\\hookrightarrow$"),
            '≥' => o.push_str("$\\geq$"),
            '>' => o.push_str("$>$"),
            '<' => o.push_str("$<$"),
            _ => o.push(c),
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t() -> Table {
        Table {
            title: "T_1".into(),
            header: vec!["a".into(), "b|c".into()],
            rows: vec![vec!["1 ± 2".into(), "x, \"y\"".into()]],
            notes: vec!["†unverified: flagged".into()],
            csv: None,
        }
    }

    #[test]
    fn renders_three_formats() {
        let md = t().to_markdown();
        assert!(md.contains("| a | b\\|c |"), "{md}");
        assert!(md.contains("|---|---|"));
        assert!(md.contains("- †unverified"));
        let csv = t().to_csv().unwrap();
        assert_eq!(csv, "a,b|c\n1 ± 2,\"x, \"\"y\"\"\"\n");
        let tex = t().to_latex();
        assert!(tex.contains("\\caption{T\\_1}"));
        assert!(tex.contains("1 $\\pm$ 2"));
        assert!(tex.contains("\\textsuperscript{\\dag}unverified"));
        assert!(tex.contains("\\begin{tabular}{ll}"));
    }

    #[test]
    fn numeric_csv_replaces_display_rows() {
        let mut t = t();
        let mut d = CsvData::new(&["a_mean", "a_std", "n"]);
        d.rows.push(vec![num(1.0), num(2.5), num(f64::NAN)]);
        t.csv = Some(d);
        assert_eq!(t.to_csv().unwrap(), "a_mean,a_std,n\n1,2.5,\n");
        assert!(
            t.to_markdown().contains("1 ± 2"),
            "markdown keeps the pretty form"
        );
    }
}
