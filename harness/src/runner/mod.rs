//! The runner: methods x benchmarks x seeds from a [`Spec`], in parallel, resumable.
//!
//! Every run's random streams are derived from (spec entry, seed) with ChaCha, so a spec gives
//! bit-identical traces (wall times aside) at any thread count. Each run is content-addressed
//! by (spec entry, seed, data checksum, harness version): finished runs are skipped, `force`
//! redoes them, and a sink writes each run atomically so a killed run never counts as done.
//!
//! Thread policy: with `jobs = 1` a run's predictor may use every core; with `jobs = N > 1`
//! runs execute on an N-thread pool and each predictor gets `max(1, cores / N)` threads;
//! [`RunOptions::threads`] overrides it (for cores shared with other processes).

pub mod benchmarks;
pub mod fingerprint;
pub mod observer;
pub mod open_domain;
pub mod plan;
pub mod spec;

pub use benchmarks::{BenchmarkSet, LoadedBenchmark};
pub use spec::Spec;

use crate::checkpoint::{CheckpointPolicy, Checkpoints};
use crate::evaluator::command::{CommandEvaluator, CommandPool};
use crate::oracle::{resolve, ReportView, SearchOracle};
use crate::predictor::Threads;
use crate::rng;
use crate::searcher::{BuildInfo, Registry, SearchContext};
use crate::space::CellId;
use crate::trace::{IterationRow, QueryRow, RunMeta, RunTrace, TraceSink};
use anyhow::{bail, Context, Result};
use observer::DiagnosticsObserver;
use open_domain::PoolCandidates;
use sha2::{Digest, Sha256};
use spec::{BenchmarkEntry, MethodEntry, StopRule};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

/// Options of one invocation of the runner.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Override the spec's seeds.
    pub seeds: Option<Vec<u64>>,
    /// Runs executed in parallel.
    pub jobs: usize,
    /// Threads each run's predictor may use (`None`: every core with `jobs = 1`, else
    /// `max(1, cores / jobs)`). Results are the same for any value; set it when other
    /// processes share the cores (two invocations side by side: 1 each, not 2 + 2).
    pub threads: Option<usize>,
    /// Redo finished runs.
    pub force: bool,
    /// Show a progress bar.
    pub progress: bool,
    /// Compute predictor diagnostics (Kendall tau etc.) at every ranking.
    pub diagnostics: bool,
    /// Record the predicted top-k of every ranking (0 = off; the spec's
    /// `outputs.record_rankings` sets it for `reproduce`).
    pub record_rankings: usize,
    /// Where open-domain evaluations are journaled (`<dir>/<benchmark>-<dataset>/`); the
    /// CLI sets `<out>/evaluations`. Default: `$WEAKNAS_HOME/evaluations`.
    pub evaluations: Option<std::path::PathBuf>,
    /// Run only shard `i` of `n` (0-based) of the spec's jobs: job `k` (in [`jobs`] order)
    /// belongs to shard `k % n`. Shards' result directories merge without duplicates.
    pub shard: Option<(usize, usize)>,
    /// Fingerprint of the code, recorded in every run's meta (the CLI embeds the git commit
    /// at build time; default `version:<harness version>`).
    pub code_fingerprint: String,
    /// Within-run checkpoints of tabular runs whose searcher saves them, in the sink's
    /// checkpoint directory (`None`: off, an interrupted run starts over). See
    /// [`crate::checkpoint`].
    pub checkpoints: Option<CheckpointPolicy>,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            seeds: None,
            jobs: 1,
            threads: None,
            force: false,
            progress: false,
            diagnostics: true,
            record_rankings: 0,
            evaluations: None,
            shard: None,
            code_fingerprint: format!("version:{}", crate::HARNESS_VERSION),
            checkpoints: None,
        }
    }
}

/// One run to execute.
#[derive(Clone, Debug)]
pub struct Job {
    /// Method entry.
    pub method: MethodEntry,
    /// Benchmark entry.
    pub bench: BenchmarkEntry,
    /// Seed.
    pub seed: u64,
    /// Canonical JSON of the entry (random streams are derived from it).
    pub entry: String,
    /// Content address.
    pub run_id: String,
}

/// What an invocation did.
#[derive(Clone, Debug, Default)]
pub struct RunSummary {
    /// Runs in the spec (for the chosen seeds).
    pub total: usize,
    /// Runs skipped because they were already done.
    pub skipped: usize,
    /// Runs executed now.
    pub ran: usize,
    /// Runs that failed: (run id, method, seed, error).
    pub failed: Vec<(String, String, u64, String)>,
}

/// The jobs of a spec, in a fixed order (benchmark, method, seed).
pub fn jobs(spec: &Spec, benches: &BenchmarkSet, seeds: &[u64]) -> Result<Vec<Job>> {
    let mut out = Vec::new();
    for bench in &spec.benchmarks {
        let loaded = benches.get(&bench.key())?;
        for method in &spec.methods {
            if method
                .benchmarks
                .as_ref()
                .is_some_and(|b| !b.contains(&bench.benchmark))
            {
                continue;
            }
            let mut entry = serde_json::json!({
                "method": method.method, "params": method.params, "name": method.name,
                "benchmark": bench.benchmark, "contract": bench.contract, "budget": spec.budget,
            });
            // Only a non-default stop rule enters the content address (older run ids stay).
            if !spec.stop.is_budget() {
                entry["stop"] = spec.stop.name().into();
            }
            let entry = entry.to_string();
            // Only methods whose command names files (external searchers) get a fifth
            // part: the run ids of every other method are unchanged.
            let files = fingerprint::command_files_sha256(&method.params)
                .with_context(|| format!("method {:?} of spec {}", method.name, spec.name))?;
            for &seed in seeds {
                let mut h = Sha256::new();
                let seed_bytes = seed.to_le_bytes();
                let mut parts = vec![
                    entry.as_bytes(),
                    &seed_bytes,
                    loaded.sha256.as_bytes(),
                    crate::HARNESS_VERSION.as_bytes(),
                ];
                parts.extend(files.as_deref().map(str::as_bytes));
                for part in parts {
                    h.update((part.len() as u64).to_le_bytes());
                    h.update(part);
                }
                let run_id = hex::encode(&h.finalize()[..16]);
                out.push(Job {
                    method: method.clone(),
                    bench: bench.clone(),
                    seed,
                    entry: entry.clone(),
                    run_id,
                });
            }
        }
    }
    Ok(out)
}

/// Runs every job of `spec` that is not done yet, writing traces to `sink`.
pub fn run_spec(
    spec: &Spec,
    registry: &Registry,
    benches: &BenchmarkSet,
    sink: &dyn TraceSink,
    opts: &RunOptions,
) -> Result<RunSummary> {
    let seeds = match &opts.seeds {
        Some(s) => s.clone(),
        None => spec.seeds.to_vec()?,
    };
    let mut all = jobs(spec, benches, &seeds)?;
    if let Some((i, n)) = opts.shard {
        if n == 0 || i >= n {
            bail!("shard {i}/{n}: expected 0 <= i < n");
        }
        all = all
            .into_iter()
            .enumerate()
            .filter(|(k, _)| k % n == i)
            .map(|(_, j)| j)
            .collect();
    }
    // Check every method's parameters before spending any compute.
    for bench in &spec.benchmarks {
        let loaded = benches.get(&bench.key())?;
        for m in &spec.methods {
            let info = BuildInfo {
                space: loaded.space.name().to_string(),
                budget: spec.budget,
            };
            registry
                .build(&m.method, &m.params, &info)
                .with_context(|| format!("method {:?} of spec {}", m.name, spec.name))?;
        }
        if loaded.open.is_some() {
            continue;
        }
        resolve(
            &loaded.store,
            &bench.contract,
            spec.budget,
            rng::stream("check", 0, "noise"),
        )
        .with_context(|| {
            format!(
                "benchmark {} / dataset {} of spec {}",
                bench.benchmark, bench.contract.dataset, spec.name
            )
        })?;
    }
    let mut todo = Vec::new();
    let mut summary = RunSummary {
        total: all.len(),
        ..Default::default()
    };
    for j in all {
        if !opts.force && sink.is_done(&j.run_id)? {
            summary.skipped += 1;
        } else {
            todo.push(j);
        }
    }

    let bar = if opts.progress {
        let b = indicatif::ProgressBar::new(todo.len() as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} runs  {elapsed_precise} (ETA {eta}) {msg}",
            )
            .expect("template"),
        );
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let jobs = opts.jobs.max(1);
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let threads = match opts.threads {
        Some(t) => Threads(t.max(1)),
        None if jobs == 1 => Threads(cores),
        None => Threads((cores / jobs).max(1)),
    };
    tracing::info!(
        spec = %spec.name,
        total = summary.total,
        skipped = summary.skipped,
        todo = todo.len(),
        jobs,
        threads = threads.0,
        "running"
    );
    let pools = command_pools(spec, benches, opts)?;
    let exec = |j: &Job| -> (Job, Result<()>) {
        let log = sink.log_path(&j.run_id);
        let ckpt = opts
            .checkpoints
            .as_ref()
            .and_then(|p| Some((sink.checkpoint_path(&j.run_id)?, p.clone())));
        let r = run_job_with(
            spec,
            registry,
            benches,
            j,
            threads,
            opts,
            &pools,
            log,
            ckpt.clone(),
        )
        .and_then(|t| sink.write(&t))
        .and_then(|()| match &ckpt {
            // Written: the checkpoint has served.
            Some((path, _)) => Checkpoints::remove(path),
            None => Ok(()),
        });
        bar.inc(1);
        (j.clone(), r)
    };
    let results: Vec<(Job, Result<()>)> = if jobs == 1 {
        todo.iter().map(exec).collect()
    } else {
        run_concurrently(&todo, jobs, &exec)
    };
    bar.finish_and_clear();
    for (j, r) in results {
        match r {
            Ok(()) => summary.ran += 1,
            Err(e) => {
                tracing::error!(run = %j.run_id, method = %j.method.name, seed = j.seed, "run failed: {e:#}");
                summary
                    .failed
                    .push((j.run_id, j.method.name, j.seed, format!("{e:#}")));
            }
        }
    }
    Ok(summary)
}

/// Runs `exec` over `todo` on `jobs` plain threads pulling from a shared queue, results in
/// `todo` order. Not a rayon pool on purpose: a rayon worker that waits for another pool
/// (polars encodes Parquet on its own pool while a run is being written) steals more runs
/// from its own pool meanwhile, so finished runs would sit half-written until the stolen
/// ones end — and a killed invocation would lose them.
fn run_concurrently<T: Sync, R: Send>(
    todo: &[T],
    jobs: usize,
    exec: &(dyn Fn(&T) -> R + Sync),
) -> Vec<R> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let done = std::sync::Mutex::new(Vec::with_capacity(todo.len()));
    std::thread::scope(|s| {
        for _ in 0..jobs.min(todo.len()) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(t) = todo.get(i) else { break };
                let r = exec(t);
                done.lock()
                    .expect("no panic while holding the lock")
                    .push((i, r));
            });
        }
    });
    let mut done = done.into_inner().expect("no panic while holding the lock");
    done.sort_by_key(|d| d.0);
    done.into_iter().map(|d| d.1).collect()
}

/// The shared command pools (journal, concurrency limit) of a spec's open-domain entries.
pub fn command_pools(
    spec: &Spec,
    benches: &BenchmarkSet,
    opts: &RunOptions,
) -> Result<BTreeMap<String, Arc<CommandPool>>> {
    let mut pools = BTreeMap::new();
    for b in &spec.benchmarks {
        let loaded = benches.get(&b.key())?;
        let Some(open) = &loaded.open else { continue };
        if pools.contains_key(&b.key()) {
            continue;
        }
        let root = opts
            .evaluations
            .clone()
            .unwrap_or_else(|| crate::home::weaknas_home().join("evaluations"));
        let pool = CommandPool::new(
            open.evaluator.clone(),
            &b.contract.search,
            &b.contract.report,
            Arc::new(PoolCandidates(open.pool.clone())),
            &root.join(b.key()),
        )
        .with_context(|| format!("benchmark {}", b.key()))?;
        pools.insert(b.key(), Arc::new(pool));
    }
    Ok(pools)
}

/// Executes one run and returns its trace (not yet written).
pub fn run_job(
    spec: &Spec,
    registry: &Registry,
    benches: &BenchmarkSet,
    job: &Job,
    threads: Threads,
    opts: &RunOptions,
) -> Result<RunTrace> {
    let pools = command_pools(spec, benches, opts)?;
    run_job_with(
        spec, registry, benches, job, threads, opts, &pools, None, None,
    )
}

#[allow(clippy::too_many_arguments)]
fn run_job_with(
    spec: &Spec,
    registry: &Registry,
    benches: &BenchmarkSet,
    job: &Job,
    threads: Threads,
    opts: &RunOptions,
    pools: &BTreeMap<String, Arc<CommandPool>>,
    log_path: Option<std::path::PathBuf>,
    checkpoint: Option<(std::path::PathBuf, CheckpointPolicy)>,
) -> Result<RunTrace> {
    // Every log line of the run (e.g. the oracle's "still running") names it.
    let _span = tracing::info_span!(
        "run",
        method = %job.method.name,
        dataset = %job.bench.contract.dataset,
        seed = job.seed
    )
    .entered();
    let start = Instant::now();
    let loaded = benches.get(&job.bench.key())?;
    let contract = &job.bench.contract;
    let command_pool = pools.get(&job.bench.key()).cloned();
    let make_oracle = || -> Result<(SearchOracle, ReportView)> {
        Ok(match (&loaded.open, &command_pool) {
            (Some(_), Some(pool)) => {
                let n = loaded.space.num_cells();
                let oracle = SearchOracle::with_evaluator(
                    Box::new(CommandEvaluator::new(pool.clone(), job.seed)),
                    spec.budget,
                )?;
                // No truth in open domain: report values come from the journal after the run.
                let view = ReportView {
                    contract: contract.clone(),
                    search: Arc::new(crate::store::Column::missing(&contract.search, n, 1)),
                    search_mean: vec![f64::NAN; n],
                    report_mean: vec![f64::NAN; n],
                };
                (oracle, view)
            }
            (Some(_), None) => bail!("benchmark {}: no command pool", job.bench.key()),
            (None, _) => resolve(
                &loaded.store,
                contract,
                spec.budget,
                rng::stream(&job.entry, job.seed, "noise"),
            )?,
        })
    };
    let (mut oracle, view) = make_oracle()?;
    let open = loaded.open.is_some();
    let ties = |v: &[f64], best: f64| -> Vec<CellId> {
        (0..v.len() as CellId)
            .filter(|&c| v[c as usize] == best)
            .collect()
    };
    let (search_opt_cells, report_opt_cells) = if open {
        (Vec::new(), Vec::new())
    } else {
        (
            ties(&view.search_mean, view.search_optimum().1),
            ties(&view.report_mean, view.report_optimum().1),
        )
    };
    let apply_stop = |oracle: &mut SearchOracle| match spec.stop {
        StopRule::Budget => {}
        StopRule::SearchOptimum => oracle.stop_when_queried(&search_opt_cells),
        StopRule::ReportOptimum => oracle.stop_when_queried(&report_opt_cells),
    };
    apply_stop(&mut oracle);
    let space_size = (0..loaded.space.num_cells() as CellId)
        .filter(|&c| oracle.has_value(c))
        .count();
    let diagnostics = opts.diagnostics && !open;
    let info = BuildInfo {
        space: loaded.space.name().to_string(),
        budget: spec.budget,
    };
    let mut searcher = registry.build(&job.method.method, &job.method.params, &info)?;
    // Forget kernels noted by earlier work on this thread; the searcher fits on it.
    crate::predictor::take_kernels();
    searcher.bind_run(&crate::searcher::RunInfo {
        run_id: job.run_id.clone(),
        method: job.method.name.clone(),
        benchmark: job.bench.benchmark.clone(),
        dataset: contract.dataset.clone(),
        search_metric: contract.search.clone(),
        seed: job.seed,
        log_path,
    });
    let make_rng = || rng::stream(&job.entry, job.seed, "search");
    let make_observer = || {
        DiagnosticsObserver::new(&view.search_mean, diagnostics).record(
            opts.record_rankings,
            if opts.record_rankings > 0 && !open {
                300
            } else {
                0
            },
        )
    };
    let mut search_rng = make_rng();
    let mut observer = make_observer();
    // Checkpoints: tabular runs only (an open-domain run's evaluations are journaled).
    let mut checkpoints = checkpoint
        .filter(|_| !open)
        .map(|(path, policy)| Checkpoints::new(path, &job.run_id, &opts.code_fingerprint, policy));
    let mut resume = None;
    let mut wall_before = 0.0;
    if let Some(ck) = checkpoints.as_mut() {
        if opts.force {
            Checkpoints::remove(ck.path())?;
        } else if let Some(saved) = ck.load() {
            match ck.restore(&saved, &mut oracle, &mut search_rng, &mut observer) {
                Ok(state) => {
                    resume = Some(state);
                    wall_before = saved.elapsed_s;
                }
                Err(e) => {
                    ck.set_aside(&format!("{e:#}"));
                    oracle = make_oracle()?.0;
                    apply_stop(&mut oracle);
                    search_rng = make_rng();
                    observer = make_observer();
                    crate::predictor::take_kernels();
                }
            }
        }
    }
    {
        let mut ctx = SearchContext {
            space: loaded.space.as_ref(),
            features: &loaded.features,
            oracle: &mut oracle,
            rng: &mut search_rng,
            observer: &mut observer,
            threads,
            resume,
            checkpoints: checkpoints.as_mut(),
        };
        searcher
            .run(&mut ctx)
            .with_context(|| format!("method {} seed {}", job.method.name, job.seed))?;
        if ctx.resume.is_some() {
            // It searched from a restored oracle without its own state: not a valid run.
            let why = "the method did not take the state it saved";
            if let Some(ck) = checkpoints.as_ref() {
                ck.set_aside(why);
            }
            bail!(
                "method {} seed {}: {why} in its checkpoint; run it again",
                job.method.name,
                job.seed
            );
        }
    }
    let repeats = oracle.repeats();
    let events = oracle.into_events();
    // Open domain: the runner (never the searcher) reads the values from the journal.
    let journaled = |cell: CellId| command_pool.as_ref().and_then(|p| p.record(cell, job.seed));
    let search_mean_of = |cell: CellId| match &journaled(cell) {
        Some(r) => r.search.unwrap_or(f64::NAN),
        None => view.search_mean[cell as usize],
    };
    let report_of = |cell: CellId| match &journaled(cell) {
        Some(r) => r.report.unwrap_or(f64::NAN),
        None => view.report(cell),
    };
    let mut queries = Vec::with_capacity(events.len());
    let mut q = 0;
    for e in &events {
        if e.charged {
            q += 1;
        }
        queries.push(QueryRow {
            query_index: q,
            iteration: e.iteration,
            cell: e.cell,
            search_value: e.value,
            search_mean: search_mean_of(e.cell),
            report_value: report_of(e.cell),
            charged: e.charged,
            wall_s: e.wall_s,
        });
    }
    let truth_rank = crate::weaknas::rank_desc(
        &view
            .search_mean
            .iter()
            .map(|&v| v as f32)
            .collect::<Vec<_>>(),
    );
    let mut true_pos = vec![u32::MAX; view.search_mean.len()];
    for (r, &c) in truth_rank.iter().enumerate() {
        true_pos[c as usize] = r as u32;
    }
    let charged: Vec<&QueryRow> = queries.iter().filter(|q| q.charged).collect();
    let iterations = observer
        .records
        .iter()
        .map(|r| {
            let next: Vec<&&QueryRow> = charged
                .iter()
                .filter(|q| q.iteration == r.iteration + 1)
                .collect();
            let hit = |k: u32| {
                if next.is_empty() || open {
                    f64::NAN
                } else {
                    next.iter()
                        .filter(|q| true_pos[q.cell as usize] < k)
                        .count() as f64
                        / next.len() as f64
                }
            };
            let best_queried = charged[..r.num_queried]
                .iter()
                .map(|q| q.report_value)
                .fold(f64::NEG_INFINITY, f64::max);
            IterationRow {
                iteration: r.iteration,
                num_queried: r.num_queried,
                kendall_top50: r.kendall[0],
                kendall_top100: r.kendall[1],
                kendall_all: r.kendall[2],
                hit_rate_top50: hit(50),
                hit_rate_top100: hit(100),
                top1_true_rank: r.top1_true_rank,
                paper_best_peek: best_queried.max(report_of(r.top1)),
                top1_search: search_mean_of(r.top1),
                top1_report: report_of(r.top1),
            }
        })
        .collect();
    let meta = RunMeta {
        run_id: job.run_id.clone(),
        spec: spec.name.clone(),
        method: job.method.name.clone(),
        method_kind: job.method.method.clone(),
        method_params: serde_json::to_string(&job.method.params)?,
        benchmark: job.bench.benchmark.clone(),
        dataset: contract.dataset.clone(),
        search_metric: contract.search.clone(),
        report_metric: contract.report.clone(),
        noise: serde_json::to_value(contract.noise)?
            .as_str()
            .unwrap_or("")
            .to_string(),
        seed: job.seed,
        budget: spec.budget,
        data_sha256: loaded.sha256.clone(),
        harness_version: crate::HARNESS_VERSION.to_string(),
        // Unknown in open domain (only the evaluated cells have values).
        search_optimum: if open {
            f64::NAN
        } else {
            view.search_optimum().1
        },
        report_optimum: if open {
            f64::NAN
        } else {
            view.report_optimum().1
        },
        wall_s: wall_before + start.elapsed().as_secs_f64(),
        repeats,
        stop: spec.stop.name().to_string(),
        space_size: if open { 0 } else { space_size },
        search_optimum_cells: search_opt_cells.len(),
        report_optimum_cells: report_opt_cells.len(),
        code_fingerprint: checkpoints.as_ref().map_or_else(
            || opts.code_fingerprint.clone(),
            |c| c.fingerprint_for_meta(),
        ),
        predictor_kernel: crate::predictor::take_kernels(),
    };
    Ok(RunTrace {
        meta,
        queries,
        iterations,
        rankings: observer.ranked,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn concurrent_runs_each_once_in_order() {
        let todo: Vec<u64> = (0..50).collect();
        let calls = std::sync::atomic::AtomicUsize::new(0);
        let out = super::run_concurrently(&todo, 3, &|&x: &u64| {
            calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            std::thread::sleep(std::time::Duration::from_micros(50 * (x % 7)));
            x * x
        });
        assert_eq!(calls.into_inner(), 50);
        assert_eq!(out, todo.iter().map(|x| x * x).collect::<Vec<_>>());
        assert!(super::run_concurrently(&Vec::<u64>::new(), 4, &|x: &u64| *x).is_empty());
    }
}
