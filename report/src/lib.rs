//! The report of a spec's stored runs (what `weaknas reproduce` writes): tables (Markdown,
//! CSV, LaTeX), figures (PNG, SVG, provenance sidecars) and an `index.md` showing them all.
//!
//! Assembly is split into one pure function per section ([`tables`], [`figures`]), each
//! returning [`Section`]s from traces and curves; [`write_report`] writes them and the index.
//! Adding a section is one function and one line in [`sections`]. The statistics of the
//! significance table are `weaknas_results::two_sample`, the rule `compare` uses.
//!
//! ```no_run
//! # fn main() -> anyhow::Result<()> {
//! use weaknas_harness::runner::{jobs, BenchmarkSet, Spec};
//! let spec = Spec::load(std::path::Path::new("experiments/nb201-quick.toml"))?;
//! let benches = BenchmarkSet::for_spec(&spec)?;
//! let jobs = jobs(&spec, &benches, &spec.seeds.to_vec()?)?;
//! let out = std::path::Path::new("runs/nb201-quick");
//! weaknas_report::render(&spec, &jobs, &benches, out, "version:0.1.0")?;
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod figures;
pub mod tables;

use anyhow::{Context as _, Result};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use weaknas_harness::fsutil::atomic_write;
use weaknas_harness::runner::{BenchmarkSet, Job, Spec};
use weaknas_harness::trace::RunTrace;
use weaknas_plots::{Figure, Provenance};
use weaknas_results::{load_trace, run_curves, RunCurve, Table};

/// One part of a report: a table or a figure, with the file name it is written under.
pub enum Section {
    /// A table: `tables/<name>.{md,csv,tex}` and inline in the index.
    Table {
        /// File stem.
        name: String,
        /// Heading in the index.
        title: String,
        /// Paragraph under the heading (may be empty).
        note: String,
        /// The table.
        table: Table,
    },
    /// A figure: `figures/<name>.{png,svg,provenance.json}`, shown in the index.
    Figure {
        /// File stem.
        name: String,
        /// Heading in the index.
        title: String,
        /// The figure.
        figure: Figure,
        /// Runs it shows (recorded in its provenance).
        run_ids: Vec<String>,
        /// What it shows (recorded in its provenance).
        content: String,
    },
}

impl Section {
    /// File stem of the section.
    pub fn name(&self) -> &str {
        match self {
            Section::Table { name, .. } | Section::Figure { name, .. } => name,
        }
    }
}

/// What every section may use: the spec's stored runs, their curves and the report grid.
pub struct Inputs<'a> {
    /// The spec.
    pub spec: &'a Spec,
    /// The spec's benchmarks (stores for the truth, pools of open-domain entries).
    pub benches: &'a BenchmarkSet,
    /// Finished runs.
    pub traces: Vec<RunTrace>,
    /// Their curves (same order).
    pub curves: Vec<RunCurve>,
    /// Query counts of the tables.
    pub grid: Vec<usize>,
    /// Code fingerprint of the build writing the report.
    pub fingerprint: String,
}

impl<'a> Inputs<'a> {
    /// Inputs from traces already loaded.
    pub fn new(
        spec: &'a Spec,
        benches: &'a BenchmarkSet,
        traces: Vec<RunTrace>,
        fingerprint: &str,
    ) -> Self {
        Self {
            spec,
            benches,
            curves: run_curves(&traces),
            grid: spec.report_grid(),
            traces,
            fingerprint: fingerprint.to_string(),
        }
    }

    /// A sentence saying which runs come from other code than this build (kept with
    /// `--keep-stale`), or `None` when every run comes from this build.
    pub fn stale_note(&self) -> Option<String> {
        stale_note(&self.traces, &self.fingerprint)
    }

    /// Decimals of the tables (`[outputs] decimals`, default 2).
    pub fn decimals(&self) -> usize {
        self.spec.outputs.decimals
    }

    /// `benchmark:sha256` of every benchmark entry of the spec.
    pub fn data_checksums(&self) -> Vec<String> {
        self.spec
            .benchmarks
            .iter()
            .filter_map(|b| {
                self.benches
                    .get(&b.key())
                    .ok()
                    .map(|l| format!("{}:{}", b.benchmark, l.sha256))
            })
            .collect()
    }
}

/// Which of `traces` were produced by other code than `fingerprint`, as a sentence for the
/// report (`None`: all by this code).
pub fn stale_note(traces: &[RunTrace], fingerprint: &str) -> Option<String> {
    let mut other: std::collections::BTreeMap<&str, usize> = Default::default();
    for t in traces
        .iter()
        .filter(|t| t.meta.code_fingerprint != fingerprint)
    {
        *other.entry(t.meta.fingerprint_label()).or_default() += 1;
    }
    if other.is_empty() {
        return None;
    }
    let n: usize = other.values().sum();
    let list: Vec<String> = other
        .iter()
        .map(|(fp, k)| format!("`{fp}` ({k})"))
        .collect();
    Some(format!(
        "STALE RUNS KEPT: {n} of {} runs were produced by other code than this build (`{fingerprint}`): {}. They were kept with `--keep-stale`; rerun with `--force` to redo them.",
        traces.len(),
        list.join(", ")
    ))
}

/// Every section of a report, in the order the index shows them.
pub fn sections(inp: &Inputs) -> Result<Vec<Section>> {
    let mut s = Vec::new();
    let mut results = tables::results(&inp.curves, &inp.grid, inp.decimals())?;
    if let (Some(note), Section::Table { table, .. }) = (inp.stale_note(), &mut results) {
        table.notes.push(note);
    }
    s.push(results);
    s.extend(tables::architectures(&inp.traces, |t, cell| {
        let key = format!("{}-{}", t.meta.benchmark, t.meta.dataset);
        let open = inp.benches.get(&key).ok()?;
        Some(open.open.as_ref()?.pool.genotype(cell).to_string())
    }));
    s.extend(tables::regret(&inp.curves, &inp.grid, inp.decimals()));
    if inp.spec.stop.is_budget() {
        s.extend(tables::optimum(&inp.curves));
    } else {
        s.extend(tables::samples_to_optimum(&inp.curves, inp.spec));
    }
    s.extend(tables::random_search_check(
        &inp.curves,
        inp.benches,
        inp.spec,
        &inp.grid,
    ));
    if let Some(reference) = inp.spec.methods.first() {
        s.push(tables::significance(
            &inp.curves,
            &reference.name,
            &inp.grid,
        ));
    }
    s.extend(tables::ranking(&inp.curves, &inp.grid));
    s.extend(figures::curves(&inp.traces));
    s.extend(figures::dynamics(&inp.traces));
    s.extend(figures::predictions(&inp.traces, |t| {
        let b = inp.benches.get(&t.meta.benchmark).ok()?;
        Some(b.store.column(&t.meta.search_metric)?.means())
    }));
    Ok(s)
}

/// The index's opening: spec, run counts, checksums, protocol.
pub fn header(inp: &Inputs) -> String {
    let spec = inp.spec;
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# {}\n\n{}\n\n{} runs ({} methods x {} benchmark entries x seeds), budget {} queries. Spec hash `{}`; data {}; harness {}.\n",
        spec.name,
        spec.description,
        inp.traces.len(),
        spec.methods.len(),
        spec.benchmarks.len(),
        spec.budget,
        &spec.hash()[..16],
        inp.data_checksums().join(", "),
        weaknas_harness::HARNESS_VERSION
    );
    if let Some(note) = inp.stale_note() {
        let _ = writeln!(md, "**{note}**\n");
    }
    let _ = writeln!(
        md,
        "Protocol: `incumbent` = the report metric of the queried cell with the best search metric (NASLib/BANANAS protocol). \
         `paper_best_peek` = the official WeakNAS code's value: max of the best report metric over queried cells and the report metric of the predictor's top-1, \
         which peeks at the report metric and may credit an unqueried cell — shown for comparison with the paper only.\n"
    );
    md
}

/// Writes `sections` under `out` (tables/, figures/) and `index.md` (`header` first); a
/// figure that cannot be drawn is logged and left out of the index. Returns the index path.
pub fn write_report(
    out: &Path,
    header: &str,
    sections: &[Section],
    provenance: &Provenance,
) -> Result<PathBuf> {
    let mut md = header.to_string();
    for s in sections {
        match s {
            Section::Table {
                name,
                title,
                note,
                table,
            } => {
                let dir = out.join("tables");
                atomic_write(
                    &dir.join(format!("{name}.md")),
                    table.to_markdown().as_bytes(),
                )?;
                atomic_write(&dir.join(format!("{name}.csv")), table.to_csv()?.as_bytes())?;
                atomic_write(
                    &dir.join(format!("{name}.tex")),
                    table.to_latex().as_bytes(),
                )?;
                let _ = writeln!(md, "## {title}\n\n{note}\n\n{}\n", table.to_markdown());
                let _ = writeln!(
                    md,
                    "Files: [md](tables/{name}.md), [csv](tables/{name}.csv), [tex](tables/{name}.tex)\n"
                );
            }
            Section::Figure {
                name,
                title,
                figure,
                run_ids,
                content,
            } => {
                let mut p = provenance.clone();
                p.run_ids = run_ids.clone();
                p.extra.insert("content".into(), content.clone().into());
                match weaknas_plots::render(figure, &out.join("figures"), name, &p) {
                    Ok(_) => {
                        let _ = writeln!(
                            md,
                            "## {title}\n\n![{title}](figures/{name}.png)\n\n[svg](figures/{name}.svg) · [provenance](figures/{name}.provenance.json)\n"
                        );
                    }
                    Err(e) => tracing::warn!("figure {name} not drawn: {e:#}"),
                }
            }
        }
    }
    let index = out.join("index.md");
    atomic_write(&index, md.as_bytes()).with_context(|| format!("writing {}", index.display()))?;
    Ok(index)
}

/// Renders every output of a spec from the runs of `jobs` stored in `out` (runs missing
/// from `out` are logged and left out; none at all is an error); `fingerprint` is the code
/// of this build (runs of other code are flagged). Returns the index path.
pub fn render(
    spec: &Spec,
    jobs: &[Job],
    benches: &BenchmarkSet,
    out: &Path,
    fingerprint: &str,
) -> Result<PathBuf> {
    render_from(spec, jobs, benches, out, out, fingerprint).map(|r| r.0)
}

/// [`render`] reading the runs from `runs` and writing the report to `out` (the
/// reproduction report renders each spec's runs into `docs/reproduction/<spec>/`); also
/// returns the traces it rendered.
pub fn render_from(
    spec: &Spec,
    jobs: &[Job],
    benches: &BenchmarkSet,
    runs: &Path,
    out: &Path,
    fingerprint: &str,
) -> Result<(PathBuf, Vec<RunTrace>)> {
    let mut traces: Vec<RunTrace> = Vec::new();
    for j in jobs {
        match load_trace(runs, &j.run_id) {
            Ok(t) => traces.push(t),
            Err(e) => tracing::warn!(
                "run {} ({} seed {}) missing from {}: {e:#}",
                j.run_id,
                j.method.name,
                j.seed,
                runs.display()
            ),
        }
    }
    if traces.is_empty() {
        anyhow::bail!(
            "no finished runs of spec {} in {}",
            spec.name,
            runs.display()
        );
    }
    let inp = Inputs::new(spec, benches, traces, fingerprint);
    let mut prov = Provenance {
        spec_hash: Some(spec.hash()),
        data_checksum: Some(inp.data_checksums().join(",")),
        harness_version: Some(weaknas_harness::HARNESS_VERSION.to_string()),
        ..Default::default()
    };
    prov.extra.insert("spec".into(), spec.name.clone().into());
    prov.extra
        .insert("code_fingerprint".into(), fingerprint.to_string().into());
    let index = write_report(out, &header(&inp), &sections(&inp)?, &prov)?;
    Ok((index, inp.traces))
}

/// A file-name-safe form of a label: ASCII alphanumerics lower-cased, the rest `_`.
pub fn slug(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use weaknas_results::synthetic::trace;

    #[test]
    fn stale_runs_are_named_in_the_report() {
        let mut traces: Vec<RunTrace> = (0..4).map(|s| trace("a", "d1", s, &[1.0, 2.0])).collect();
        for t in &mut traces {
            t.meta.code_fingerprint = "git:new".into();
        }
        assert_eq!(stale_note(&traces, "git:new"), None);
        traces[1].meta.code_fingerprint = "git:old".into();
        traces[2].meta.code_fingerprint = String::new();
        let note = stale_note(&traces, "git:new").unwrap();
        assert!(note.starts_with("STALE RUNS KEPT: 2 of 4 runs"), "{note}");
        assert!(
            note.contains("`git:old` (1)") && note.contains("`unknown fingerprint` (1)"),
            "{note}"
        );
    }

    #[test]
    fn write_report_writes_tables_and_the_index() {
        let d = tempfile::tempdir().unwrap();
        let table = Table {
            title: "t".into(),
            header: vec!["a".into()],
            rows: vec![vec!["1".into()]],
            notes: vec![],
            csv: None,
        };
        let sections = [Section::Table {
            name: "x".into(),
            title: "Title X".into(),
            note: "note".into(),
            table,
        }];
        let index = write_report(d.path(), "# head\n", &sections, &Provenance::default()).unwrap();
        let md = std::fs::read_to_string(index).unwrap();
        assert!(
            md.starts_with("# head") && md.contains("## Title X"),
            "{md}"
        );
        for ext in ["md", "csv", "tex"] {
            assert!(d.path().join(format!("tables/x.{ext}")).is_file());
        }
    }
}
