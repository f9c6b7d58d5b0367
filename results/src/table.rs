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

    /// CSV: the header and rows (no title or notes), quoted where needed.
    pub fn to_csv(&self) -> Result<String> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(&self.header)?;
        for r in &self.rows {
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
}
