//! Results of weaknas-bench: the Parquet result store ([`sink`]), per-run curves
//! ([`curves`]), aggregation over seeds and tasks ([`aggregate`]), statistics ([`stats`]),
//! method rankings ([`ranking`]), tables ([`table`], [`report`]) with published numbers
//! ([`reference`]), comparisons of two result sets ([`compare`]), store export ([`export`]),
//! tidy per-query export of results ([`tidy`])
//! and plain data for figures ([`figures`]).
//!
//! Typical use:
//! ```no_run
//! use weaknas_results::*;
//! # fn main() -> anyhow::Result<()> {
//! let traces = load_traces(std::path::Path::new("results-dir"))?;
//! let curves = run_curves(&traces);
//! let rows = summarize(&curves, &[Measure::Report, Measure::PaperBestPeek], &[100, 150, 200],
//!                      &BootstrapOptions::default());
//! let table = results_table(&rows, &bundled_references()?, &TableOptions::default());
//! println!("{}", table.to_markdown());
//! println!("{}", optimum_table(&found_optimum(&curves)).to_markdown());
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod aggregate;
pub mod claims;
pub mod compare;
pub mod curves;
pub mod export;
pub mod figures;
pub mod fingerprint;
pub mod merge;
pub mod optimum;
pub mod ranking;
pub mod reference;
pub mod report;
pub mod sink;
pub mod stats;
pub mod table;
pub mod tidy;

pub use aggregate::{
    curves_frame, found_optimum, group_curves, summarize, summarize_across_tasks, summary_frame,
    AcrossTasksRow, FoundOptimum, OptimumTarget, SummaryRow,
};
pub use compare::{
    compare, compare_traces, two_sample, values_by_seed, verdict, CompareOptions, ComparisonReport,
    ComparisonRow, TestUsed, TwoSample, Verdict,
};
pub use curves::{run_curves, synthetic, GroupKey, Measure, RunCurve, TaskKey};
pub use export::{export_store, store_frame, ExportFormat};
pub use figures::{curve, diagnostics_series, Band, CurveSeries, Diagnostic, DiagnosticSeries};
pub use fingerprint::{describe_stale, stale_runs, StaleRuns};
pub use merge::{merge_results, MergeSummary};
pub use optimum::{
    optimum_stats_table, random_search_expected_queries, samples_to_optimum, OptimumStats, Ratio,
};
pub use ranking::{rank_methods, ranking_table, MethodRanking};
pub use reference::{bundled_references, load_references, Reference, Status, Unit};
pub use report::{
    across_tasks_table, optimum_table, reference_table, results_table, CellFormat, TableOptions,
};
pub use sink::{
    iterations_frame, legacy_runs, list_runs, load_meta, load_trace, load_traces, migrate_layout,
    queries_frame, rankings_frame, scan_iterations, scan_queries, scan_rankings, ParquetTraceSink,
};
pub use stats::{BootstrapOptions, Describe};
pub use table::{CsvData, Table};
pub use tidy::{export_results, tidy_frame, CellCatalog};
