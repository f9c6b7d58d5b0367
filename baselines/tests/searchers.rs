//! Behaviour of every baseline on SYNTHETIC stores over the NAS-Bench-201 cell space (no real
//! benchmark data): budget accounting, no repeats, determinism, registry and parameter errors,
//! and an honest quality check (evolution and local search against random search on a smooth
//! synthetic function).

use rand::Rng;
use weaknas_baselines::{registry, ITERATION_BLOCK};
use weaknas_harness::matrix::Matrix;
use weaknas_harness::oracle::{resolve, MetricContract, NoiseModel, SearchOracle};
use weaknas_harness::predictor::Threads;
use weaknas_harness::rng::stream;
use weaknas_harness::searcher::{BuildInfo, NoObserver, SearchContext, SearchObserver};
use weaknas_harness::space::nb201::{Nb201Cell, Nb201Space, EDGES, NUM_CELLS};
use weaknas_harness::space::{CellId, SearchSpace};
use weaknas_harness::store::{BenchmarkStore, Column};

const SEARCH: &str = "d/x-valid@200";
const REPORT: &str = "d/x-test@200";

/// A smooth synthetic objective: per-edge op weights, two weak edge-pair interactions and small
/// per-cell noise, all drawn from a fixed stream. Cells outside `present` get no value.
fn synthetic_store(present: impl Fn(CellId) -> bool) -> BenchmarkStore {
    let mut r = stream("synthetic-test", 0, "objective");
    let w: Vec<[f64; 5]> = (0..EDGES)
        .map(|_| std::array::from_fn(|_| r.random_range(0.0..3.0)))
        .collect();
    let pair: Vec<[[f64; 5]; 5]> = (0..2)
        .map(|_| std::array::from_fn(|_| std::array::from_fn(|_| r.random_range(0.0..0.5))))
        .collect();
    let mut search = Column::missing(SEARCH, NUM_CELLS, 1);
    let mut report = Column::missing(REPORT, NUM_CELLS, 1);
    for id in 0..NUM_CELLS as CellId {
        let ops = Nb201Cell::from_id(id).0.map(|o| o as usize);
        let additive: f64 = (0..EDGES).map(|e| w[e][ops[e]]).sum();
        let inter = pair[0][ops[0]][ops[5]] + pair[1][ops[2]][ops[3]];
        let noise = r.random_range(-0.1..0.1);
        let v = 70.0 + additive + inter + noise;
        if present(id) {
            search.values[id as usize] = v;
            report.values[id as usize] = v - 1.0 + r.random_range(-0.2..0.2);
        }
    }
    let mut s = BenchmarkStore::new("synthetic-test", NUM_CELLS);
    s.add_column(search).unwrap();
    s.add_column(report).unwrap();
    s
}

fn contract() -> MetricContract {
    MetricContract {
        dataset: "d".into(),
        search: SEARCH.into(),
        report: REPORT.into(),
        noise: NoiseModel::Mean,
    }
}

fn table(s: &str) -> toml::Table {
    toml::from_str(s).unwrap()
}

/// Records every ranking it is given.
#[derive(Default)]
struct Recorder {
    rankings: Vec<(u32, usize, Vec<f32>)>,
}

impl SearchObserver for Recorder {
    fn on_ranking(&mut self, iteration: u32, num_queried: usize, scores: &[f32]) {
        self.rankings
            .push((iteration, num_queried, scores.to_vec()));
    }
}

/// Runs one method to completion and gives back the oracle.
fn run_with(
    store: &BenchmarkStore,
    features: &Matrix,
    kind: &str,
    params: &toml::Table,
    budget: usize,
    seed: u64,
    observer: &mut dyn SearchObserver,
) -> SearchOracle {
    let info = BuildInfo {
        space: "nb201".into(),
        budget,
    };
    let mut searcher = registry().build(kind, params, &info).unwrap();
    let (mut oracle, _view) =
        resolve(store, &contract(), budget, stream(kind, seed, "noise")).unwrap();
    let mut rng = stream(kind, seed, "search");
    let mut ctx = SearchContext {
        space: &Nb201Space,
        features,
        oracle: &mut oracle,
        rng: &mut rng,
        observer,
        threads: Threads::ONE,
        resume: None,
        checkpoints: None,
    };
    searcher.run(&mut ctx).unwrap();
    oracle
}

fn run(
    store: &BenchmarkStore,
    features: &Matrix,
    kind: &str,
    params: &str,
    budget: usize,
    seed: u64,
) -> SearchOracle {
    run_with(
        store,
        features,
        kind,
        &table(params),
        budget,
        seed,
        &mut NoObserver,
    )
}

/// Every method that never repeats a query, with parameters cheap enough for tests (the
/// strong predictor uses ridge; evolution's default charges duplicate children, tested apart).
fn methods(init: usize) -> Vec<(&'static str, String)> {
    vec![
        ("random", String::new()),
        ("evolution", "duplicates = \"re-mutate\"".into()),
        ("local-search", String::new()),
        ("local-search", "query_full_nbhd = true".into()),
        (
            "strong-predictor",
            format!("init = {init}\npredictor = {{ type = \"ridge\" }}"),
        ),
    ]
}

fn assert_spent_exactly(o: &SearchOracle, budget: usize, what: &str) {
    assert_eq!(o.used(), budget, "{what}: charged queries");
    assert_eq!(o.remaining(), 0, "{what}");
    assert_eq!(o.repeats(), 0, "{what}: repeat queries");
    assert_eq!(o.events().len(), budget, "{what}: every event is charged");
    let mut cells = o.queried().to_vec();
    cells.sort_unstable();
    cells.dedup();
    assert_eq!(cells.len(), budget, "{what}: distinct cells");
    assert!(cells.iter().all(|&c| o.has_value(c)), "{what}");
}

#[test]
fn every_method_spends_exactly_its_budget_without_repeats() {
    let store = synthetic_store(|_| true);
    let f = Nb201Space.features();
    for (kind, params) in methods(30) {
        for (budget, seed) in [(100, 0), (100, 1), (37, 2), (1000, 3)] {
            let o = run(&store, &f, kind, &params, budget, seed);
            assert_spent_exactly(&o, budget, &format!("{kind} {params:?} budget {budget}"));
        }
    }
}

#[test]
fn evolution_charges_duplicate_children_by_default() {
    let store = synthetic_store(|_| true);
    let f = Nb201Space.features();
    let mut repeated_runs = 0;
    for seed in 0..5 {
        let o = run(&store, &f, "evolution", "", 600, seed);
        assert_eq!((o.used(), o.remaining()), (600, 0), "seed {seed}");
        assert_eq!(o.repeats(), 0, "no free repeat: every query is charged");
        assert!(o.events().iter().all(|e| e.charged));
        let mut first = std::collections::HashMap::new();
        let mut dups = 0;
        for e in o.events() {
            if let Some(v) = first.insert(e.cell, e.value) {
                dups += 1;
                assert_eq!(v.to_bits(), e.value.to_bits(), "a re-query of a known cell");
            }
        }
        let distinct = first.len();
        assert_eq!(distinct + dups, 600);
        if dups > 0 {
            repeated_runs += 1;
        }
        // The same seed with re-mutation never repeats a cell.
        let r = run(
            &store,
            &f,
            "evolution",
            "duplicates = \"re-mutate\"",
            600,
            seed,
        );
        assert_spent_exactly(&r, 600, "re-mutate");
    }
    // A population of 30 climbing a smooth objective mutates into known cells often.
    assert!(
        repeated_runs >= 4,
        "duplicates charged in {repeated_runs} of 5 runs"
    );
}

#[test]
fn every_method_stops_cleanly_at_a_stop_cell() {
    // The `optimum` stop rule: the oracle ends the run when a stop cell is charged, often in
    // the middle of a batch (initial samples, a block of ten). Every searcher must end
    // without an error, at the first stop cell it queries.
    let store = synthetic_store(|_| true);
    let f = Nb201Space.features();
    let stops: Vec<CellId> = (0..NUM_CELLS as CellId).filter(|c| c % 37 == 5).collect();
    let mut all = methods(30);
    all.push(("evolution", String::new()));
    for (kind, params) in all {
        for seed in 0..4 {
            let info = BuildInfo {
                space: "nb201".into(),
                budget: NUM_CELLS,
            };
            let mut searcher = registry().build(kind, &table(&params), &info).unwrap();
            let (mut oracle, _) =
                resolve(&store, &contract(), NUM_CELLS, stream(kind, seed, "noise")).unwrap();
            oracle.stop_when_queried(&stops);
            let mut rng = stream(kind, seed, "search");
            let mut ctx = SearchContext {
                space: &Nb201Space,
                features: &f,
                oracle: &mut oracle,
                rng: &mut rng,
                observer: &mut NoObserver,
                threads: Threads::ONE,
                resume: None,
                checkpoints: None,
            };
            searcher
                .run(&mut ctx)
                .unwrap_or_else(|e| panic!("{kind} {params:?} seed {seed}: {e:#}"));
            let q = oracle.queried();
            assert_eq!(
                oracle.stopped_at(),
                Some(q.len()),
                "{kind} {params:?} seed {seed}"
            );
            assert!(
                stops.contains(q.last().unwrap()),
                "{kind}: ends at a stop cell"
            );
            assert!(
                q[..q.len() - 1].iter().all(|c| !stops.contains(c)),
                "{kind}: ends at the FIRST stop cell"
            );
        }
    }
}

#[test]
fn every_method_exhausts_a_sparse_store() {
    // Only 150 of 15,625 cells have a value: mutations and neighbours mostly miss, pools run
    // dry. Every method must still spend exactly the budget on the 150 present cells.
    let present = |c: CellId| c % 104 == 7;
    let store = synthetic_store(present);
    let n = (0..NUM_CELLS as CellId).filter(|&c| present(c)).count();
    assert_eq!(n, 151);
    let f = Nb201Space.features();
    for (kind, params) in methods(50) {
        for budget in [n, 120] {
            let o = run(&store, &f, kind, &params, budget, 5);
            assert_spent_exactly(&o, budget, &format!("{kind} {params:?} sparse {budget}"));
        }
    }
}

/// Everything of a run's queries except wall times.
fn trace(o: &SearchOracle) -> Vec<(CellId, u32, bool, u64)> {
    o.events()
        .iter()
        .map(|e| (e.cell, e.iteration, e.charged, e.value.to_bits()))
        .collect()
}

#[test]
fn searches_are_deterministic_for_a_fixed_stream() {
    let store = synthetic_store(|_| true);
    let f = Nb201Space.features();
    for (kind, params) in methods(30) {
        let a = run(&store, &f, kind, &params, 100, 7);
        let b = run(&store, &f, kind, &params, 100, 7);
        let c = run(&store, &f, kind, &params, 100, 8);
        assert_eq!(trace(&a), trace(&b), "{kind}: same stream, same queries");
        assert_ne!(
            a.queried(),
            c.queried(),
            "{kind}: another seed, other queries"
        );
    }
}

#[test]
fn iteration_labels_come_in_blocks_of_ten() {
    let store = synthetic_store(|_| true);
    let f = Nb201Space.features();
    for kind in ["random", "evolution", "local-search"] {
        let o = run(&store, &f, kind, "", 95, 0);
        for (q, e) in o.events().iter().enumerate() {
            assert_eq!(
                e.iteration as usize,
                q / ITERATION_BLOCK,
                "{kind} query {q}"
            );
        }
    }
}

#[test]
fn strong_predictor_fits_once_and_queries_its_ranking() {
    let store = synthetic_store(|_| true);
    let f = Nb201Space.features();
    let mut rec = Recorder::default();
    let params = table("init = 40\npredictor = { type = \"ridge\" }\nnormalize = \"queried\"");
    let o = run_with(&store, &f, "strong-predictor", &params, 100, 3, &mut rec);
    assert_eq!(rec.rankings.len(), 1, "one fit, one ranking");
    let (it, nq, scores) = &rec.rankings[0];
    assert_eq!((*it, *nq, scores.len()), (0, 40, NUM_CELLS));
    let ev = o.events();
    assert!(ev[..40].iter().all(|e| e.iteration == 0));
    assert!(ev[40..].iter().all(|e| e.iteration == 1));
    // The last 60 queries are the 60 best-scored cells outside the uniform sample.
    let init: std::collections::HashSet<CellId> = ev[..40].iter().map(|e| e.cell).collect();
    let mut order: Vec<CellId> = (0..NUM_CELLS as CellId)
        .filter(|c| !init.contains(c))
        .collect();
    order.sort_by(|&a, &b| {
        scores[b as usize]
            .total_cmp(&scores[a as usize])
            .then(a.cmp(&b))
    });
    let picked: Vec<CellId> = ev[40..].iter().map(|e| e.cell).collect();
    assert_eq!(picked, order[..60]);
    // On this near-additive objective a linear model on the one-hot encoding ranks well: its
    // picks beat the uniform sample it was fitted on.
    let mean = |e: &[weaknas_harness::oracle::QueryEvent]| {
        e.iter().map(|e| e.value).sum::<f64>() / e.len() as f64
    };
    assert!(
        mean(&ev[40..]) > mean(&ev[..40]) + 3.0,
        "{} vs {}",
        mean(&ev[40..]),
        mean(&ev[..40])
    );
}

/// Mean over seeds of the best search value found within the budget.
fn mean_best(store: &BenchmarkStore, f: &Matrix, kind: &str, params: &str, seeds: u64) -> f64 {
    (0..seeds)
        .map(|s| {
            let o = run(store, f, kind, params, 100, 100 + s);
            o.events()
                .iter()
                .map(|e| e.value)
                .fold(f64::NEG_INFINITY, f64::max)
        })
        .sum::<f64>()
        / seeds as f64
}

#[test]
fn evolution_and_local_search_beat_random_search_on_a_smooth_objective() {
    let store = synthetic_store(|_| true);
    let f = Nb201Space.features();
    let best = store
        .column(SEARCH)
        .unwrap()
        .means()
        .into_iter()
        .fold(f64::NEG_INFINITY, f64::max);
    let rs = mean_best(&store, &f, "random", "", 20);
    let re = mean_best(&store, &f, "evolution", "", 20);
    let ls = mean_best(&store, &f, "local-search", "", 20);
    let ls_full = mean_best(&store, &f, "local-search", "query_full_nbhd = true", 20);
    eprintln!("optimum {best:.3}: random {rs:.3}, evolution {re:.3}, local search {ls:.3} (full nbhd {ls_full:.3})");
    // Regret against the optimum: both must at least halve random search's mean regret.
    let (rs, re, ls, ls_full) = (best - rs, best - re, best - ls, best - ls_full);
    assert!(re < 0.5 * rs, "evolution regret {re} vs random {rs}");
    assert!(ls < 0.5 * rs, "local search regret {ls} vs random {rs}");
    assert!(
        ls_full < 0.5 * rs,
        "local search (full) regret {ls_full} vs random {rs}"
    );
}

#[test]
fn registry_builds_every_method_and_names_unknown_ones() {
    let reg = registry();
    let kinds: Vec<&str> = reg.entries().iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            "weaknas",
            "weaknas-ei",
            "random",
            "evolution",
            "strong-predictor",
            "local-search",
            "external"
        ]
    );
    let info = BuildInfo {
        space: "nb201".into(),
        budget: 1000,
    };
    // `external` has no default: it needs the searcher's command (tested in tests/external.rs).
    for k in kinds.iter().filter(|k| **k != "external") {
        assert!(
            reg.build(k, &toml::Table::new(), &info).is_ok(),
            "{k} with defaults"
        );
    }
    assert!(reg.build("external", &toml::Table::new(), &info).is_err());
    let err = reg
        .build("bananas", &toml::Table::new(), &info)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("bananas"), "{err}");
    for k in &kinds {
        assert!(err.contains(k), "{err}");
    }
}

#[test]
fn typos_and_bad_values_are_rejected() {
    let reg = registry();
    let info = BuildInfo {
        space: "nb201".into(),
        budget: 100,
    };
    let err = |kind: &str, p: &str| {
        reg.build(kind, &table(p), &info)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    };
    for (kind, p, needle) in [
        ("random", "seed = 3", "seed"),
        ("evolution", "populaton_size = 10", "populaton_size"),
        ("evolution", "population_size = 0", "population_size"),
        ("evolution", "sample_size = \"ten\"", "sample_size"),
        ("local-search", "num_inits = 5", "num_inits"),
        ("local-search", "num_init = 0", "num_init"),
        ("strong-predictor", "int = 10", "int"),
        ("strong-predictor", "init = 100", "budget"),
        ("strong-predictor", "normalize = \"global\"", "global"),
        (
            "strong-predictor",
            "predictor = { type = \"ridge\", alpah = 1.0 }",
            "alpah",
        ),
    ] {
        let e = err(kind, p);
        assert!(
            e.contains(needle) && e.contains(kind),
            "{kind} {p:?}: {e:?}"
        );
    }
    assert!(reg
        .build(
            "evolution",
            &table("population_size = 10\nsample_size = 3"),
            &info
        )
        .is_ok());
}
