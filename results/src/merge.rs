//! Merging result directories: the shards of a spec run on several machines
//! (`weaknas run --shard i/n`) become one directory, without duplicates.
//!
//! Runs are content-addressed, so the same run id in two directories is the same run: it is
//! kept once after checking that both copies agree on every query (wall-clock times aside);
//! copies that disagree are an error naming the run, and nothing is overwritten. Files are
//! copied atomically, query file last, so an interrupted merge never leaves a run that looks
//! done; they land in the split layout whatever the source's layout (legacy directories
//! merge as they are). Open-domain evaluation journals (`evaluations/*/journal.jsonl`) are merged by
//! evaluation key.

use crate::sink::{list_runs, load_trace, ParquetTraceSink};
use anyhow::{bail, Context, Result};
use std::path::Path;
use weaknas_harness::evaluator::journal::EvalJournal;
use weaknas_harness::trace::RunTrace;

/// What a merge did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MergeSummary {
    /// Runs copied into the target.
    pub added: usize,
    /// Runs already in the target (identical copies).
    pub duplicates: usize,
    /// Evaluation records added to journals.
    pub evaluations_added: usize,
}

fn same_results(a: &RunTrace, b: &RunTrace) -> bool {
    a.queries.len() == b.queries.len()
        && a.queries.iter().zip(&b.queries).all(|(x, y)| {
            x.cell == y.cell
                && x.charged == y.charged
                && x.iteration == y.iteration
                && x.search_value.to_bits() == y.search_value.to_bits()
                && x.report_value.to_bits() == y.report_value.to_bits()
        })
}

/// Merges the result directory `from` into `into` (created if needed).
pub fn merge_results(into: &Path, from: &Path) -> Result<MergeSummary> {
    if !from.join("runs").is_dir() && !from.join("evaluations").is_dir() {
        bail!(
            "{}: not a result directory (no runs/ or evaluations/)",
            from.display()
        );
    }
    let mut s = MergeSummary::default();
    let have: std::collections::HashSet<String> = list_runs(into)?.into_iter().collect();
    let src = ParquetTraceSink::new(from);
    let dst = ParquetTraceSink::new(into);
    for id in list_runs(from)? {
        let theirs =
            load_trace(from, &id).with_context(|| format!("merging from {}", from.display()))?;
        if have.contains(&id) {
            let ours = load_trace(into, &id)?;
            if !same_results(&ours, &theirs) {
                bail!(
                    "run {id} ({} seed {}) differs between {} and {}: not merged (same spec, \
                     data and harness version should give identical runs)",
                    theirs.meta.method,
                    theirs.meta.seed,
                    into.display(),
                    from.display()
                );
            }
            s.duplicates += 1;
            continue;
        }
        dst.copy_run_from(&src, &id)?;
        s.added += 1;
    }
    let ev = from.join("evaluations");
    if ev.is_dir() {
        for e in std::fs::read_dir(&ev).with_context(|| format!("listing {}", ev.display()))? {
            let e = e?;
            let j = e.path().join("journal.jsonl");
            if !j.is_file() {
                continue;
            }
            let theirs = EvalJournal::open(&j)?;
            let ours = EvalJournal::open(
                &into
                    .join("evaluations")
                    .join(e.file_name())
                    .join("journal.jsonl"),
            )?;
            let mut recs = theirs.records();
            recs.sort_by(|a, b| a.key.cmp(&b.key));
            for r in recs {
                if ours.get(&r.key).is_none() {
                    ours.append(&r)?;
                    s.evaluations_added += 1;
                }
            }
        }
    }
    Ok(s)
}
