//! The `external` method through the real protocol (`docs/protocol.md`), driven by python3
//! on a SYNTHETIC store over the NB201 space (no benchmark data): every error a user can make
//! fails its run only, with a message naming the run and quoting the line; parameters are
//! checked before any run; runs are deterministic at any `--jobs`, resumable and
//! content-addressed (script included). The statistical checks against the real data are in
//! the root package's `tests/external.rs`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use weaknas_baselines::registry;
use weaknas_harness::runner::{jobs, run_spec, BenchmarkSet, LoadedBenchmark, RunOptions, Spec};
use weaknas_harness::space::nb201::{Nb201Space, NUM_CELLS};
use weaknas_harness::store::{BenchmarkStore, Column};
use weaknas_harness::trace::{JsonTraceSink, RunTrace, TraceSink};

/// A spec over the synthetic benchmark with the given methods (TOML).
fn spec(name: &str, seeds: &str, budget: usize, methods: &str) -> Spec {
    Spec::parse(&format!(
        "name = \"{name}\"\nseeds = \"{seeds}\"\nbudget = {budget}\n[[benchmark]]\nbenchmark = \"nb201\"\n\
         dataset = \"cifar10\"\nsearch = \"cifar10-valid/x-valid@200\"\nreport = \"cifar10/ori-test@200\"\n{methods}"
    ))
    .unwrap()
}

fn python_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../python")
}

fn example(name: &str) -> String {
    python_dir()
        .join("examples")
        .join(name)
        .display()
        .to_string()
}

/// A SYNTHETIC benchmark over the NB201 space under the real metric names (tests only).
fn synthetic_nb201() -> &'static BenchmarkSet {
    static SET: std::sync::OnceLock<BenchmarkSet> = std::sync::OnceLock::new();
    SET.get_or_init(|| {
        // splitmix64: a fixed, documented stream of uniform numbers in [0, 1).
        let mut x: u64 = 0x5EED;
        let mut uniform = move || {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            (z ^ (z >> 31)) as f64 / 2f64.powi(64)
        };
        let mut search = Column::missing("cifar10-valid/x-valid@200", NUM_CELLS, 1);
        let mut report = Column::missing("cifar10/ori-test@200", NUM_CELLS, 1);
        for i in 0..NUM_CELLS {
            let v = 10.0 + 80.0 * uniform();
            search.values[i] = v;
            report.values[i] = v - 1.0 + 2.0 * uniform();
        }
        let mut store = BenchmarkStore::new("synthetic-external-test", NUM_CELLS);
        store.add_column(search).unwrap();
        store.add_column(report).unwrap();
        let mut set = BenchmarkSet::new();
        let b = LoadedBenchmark::new(store, "synthetic-sha".into(), Arc::new(Nb201Space));
        set.insert("nb201", b.unwrap());
        set
    })
}

fn external(name: &str, command: &str, timeout_s: f64) -> String {
    format!(
        "[[method]]\nname = \"{name}\"\nmethod = \"external\"\nparams = {{ command = {command:?}, timeout_s = {timeout_s} }}\n"
    )
}

/// Writes a broken searcher: the client's hello, then `body`.
fn broken(dir: &Path, name: &str, body: &str) -> String {
    let p = dir.join(format!("{name}.py"));
    let text = format!(
        "import sys, time\nsys.path.insert(0, {:?})\nfrom weaknas_search import connect\ns = connect()\n{body}\n",
        python_dir().display().to_string()
    );
    std::fs::write(&p, text).unwrap();
    format!("python3 {}", p.display())
}

fn strip_wall(mut t: RunTrace) -> RunTrace {
    t.meta.wall_s = 0.0;
    for q in &mut t.queries {
        q.wall_s = 0.0;
    }
    t
}

#[test]
fn every_searcher_error_fails_its_run_only_and_names_it() {
    let set = synthetic_nb201();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cases: Vec<(&str, String, f64, Vec<&str>)> = vec![
        (
            "malformed",
            broken(
                d,
                "malformed",
                "s._out.write('{not json\\n'); s._out.flush(); sys.stdin.readline()",
            ),
            30.0,
            vec!["malformed JSON", "its message 1: {not json"],
        ),
        (
            "unknown",
            broken(d, "unknown", "s._send({'type': 'ask', 'n': 1}); s._read()"),
            30.0,
            vec![
                "unknown message type \"ask\"",
                "its message 1: {\"type\":\"ask\",\"n\":1}",
            ],
        ),
        (
            "invalid-cell",
            broken(
                d,
                "invalid",
                "s.query(['|conv_9x9~0|+|none~0|none~1|+|none~0|none~1|none~2|'])",
            ),
            30.0,
            vec![
                "cell 0 of the batch",
                "is not a cell of the nb201 space (nb201-arch-str)",
                "conv_9x9",
            ],
        ),
        (
            "past-budget",
            broken(d, "past", "c = s.space(); s.query(c[:s.budget + 1])"),
            30.0,
            vec![
                "batch past the budget: 21 new cells asked, 20 of the budget of 20 left",
                "its message 2: {\"type\":\"query\"",
            ],
        ),
        (
            "past-budget-repeats",
            broken(
                d,
                "past_repeats",
                "c = s.space(); s.query(c[:s.budget]); s.query(c[:1], charge_repeats=True)",
            ),
            30.0,
            vec![
                "batch past the budget: 1 cells asked with repeats charged, 0 of the budget of 20 left",
                "\"repeats\":\"charge\"",
            ],
        ),
        (
            "crash",
            broken(
                d,
                "crash",
                "s.query(s.space()[:3]); print('Traceback: boom', file=sys.stderr); sys.exit(3)",
            ),
            30.0,
            vec!["crashed (exit status: 3)", "Traceback: boom", "whole log:"],
        ),
        (
            "silent",
            broken(d, "silent", "time.sleep(60)"),
            1.0,
            vec!["sent nothing for 1 s (timeout_s); stopped"],
        ),
        (
            "early-exit",
            broken(d, "early", "s.query(s.space()[:5])"),
            30.0,
            vec!["exited before the budget was spent (5 of 20 queries used"],
        ),
        (
            "early-done",
            broken(d, "done", "s.query(s.space()[:5]); s.done()"),
            30.0,
            vec![
                "said \"done\" before the budget was spent (5 of 20 queries used)",
                "{\"type\":\"done\"}",
            ],
        ),
    ];
    let mut methods = external(
        "good",
        &format!("python3 {}", example("random_search.py")),
        30.0,
    );
    for (name, cmd, t, _) in &cases {
        methods.push_str(&external(name, cmd, *t));
    }
    let spec = spec("errors", "0..1", 20, &methods);
    let out = tempfile::tempdir().unwrap();
    let sink = JsonTraceSink::new(out.path());
    let opts = RunOptions {
        jobs: 2,
        ..RunOptions::default()
    };
    let s = run_spec(&spec, &registry(), set, &sink, &opts).unwrap();
    assert_eq!(
        (s.total, s.ran, s.failed.len()),
        (10, 1, 9),
        "{:#?}",
        s.failed
    );
    let ids = jobs(&spec, set, &[0]).unwrap();
    for (name, _, _, want) in &cases {
        let (id, _, _, err) = s.failed.iter().find(|f| f.1 == *name).unwrap();
        eprintln!("{name}: {err}\n");
        let job = ids.iter().find(|j| j.method.name == *name).unwrap();
        assert_eq!(id, &job.run_id);
        assert!(
            err.contains(&format!("run {id} ({name} on nb201/cifar10, seed 0)")),
            "{name}: {err}"
        );
        for w in want {
            assert!(err.contains(w), "{name}: {w:?} not in\n{err}");
        }
    }
    // The good run is stored, with its searcher's log; the crash's stderr is kept too.
    let runs = JsonTraceSink::new(out.path()).read_all().unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].meta.method, "good");
    assert_eq!(runs[0].queries.iter().filter(|q| q.charged).count(), 20);
    let crash = ids.iter().find(|j| j.method.name == "crash").unwrap();
    let log = std::fs::read_to_string(sink.log_path(&crash.run_id).unwrap()).unwrap();
    assert!(log.contains("Traceback: boom"), "{log}");
    // Again: the finished run stays and is skipped; the broken ones fail again.
    let again = run_spec(&spec, &registry(), set, &sink, &opts).unwrap();
    assert_eq!((again.skipped, again.ran, again.failed.len()), (1, 0, 9));
}

#[test]
fn bad_parameters_are_refused_before_any_run() {
    let set = synthetic_nb201();
    for (params, want) in [
        ("command = \"\"", "command is empty"),
        ("command = \"no-such-program-xyz --a\"", "not found on PATH"),
        ("command = \"python3 'x\"", "unbalanced quotes"),
        (
            "command = \"python3\", timeout_s = 0",
            "timeout_s must be a positive",
        ),
        ("command = \"python3\", timeot_s = 3", "unknown field"),
    ] {
        let methods = format!(
            "[[method]]\nname = \"rs\"\nmethod = \"random\"\n[[method]]\nname = \"x\"\nmethod = \"external\"\nparams = {{ {params} }}\n"
        );
        let spec = spec("bad", "0..2", 10, &methods);
        let out = tempfile::tempdir().unwrap();
        let sink = JsonTraceSink::new(out.path());
        let e = run_spec(&spec, &registry(), set, &sink, &RunOptions::default()).unwrap_err();
        let e = format!("{e:#}");
        assert!(
            e.contains(want) && e.contains("method \"x\""),
            "{params}: {e}"
        );
        assert!(
            JsonTraceSink::new(out.path())
                .read_all()
                .unwrap()
                .is_empty(),
            "no run started"
        );
    }
}

#[test]
fn external_runs_are_deterministic_resumable_and_content_addressed() {
    let set = synthetic_nb201();
    let scripts = tempfile::tempdir().unwrap();
    let script = scripts.path().join("re.py");
    let text = std::fs::read_to_string(example("regularized_evolution.py"))
        .unwrap()
        .replace(
            "os.path.join(os.path.dirname(os.path.abspath(__file__)), \"..\")",
            &format!("{:?}", python_dir().display().to_string()),
        );
    std::fs::write(&script, &text).unwrap();
    let methods = external("py-re", &format!("python3 {}", script.display()), 30.0);
    let det = spec("det", "0..3", 60, &methods);
    let mut out = Vec::new();
    for j in [1usize, 2] {
        let dir = tempfile::tempdir().unwrap();
        let sink = JsonTraceSink::new(dir.path());
        let opts = RunOptions {
            jobs: j,
            ..RunOptions::default()
        };
        let s = run_spec(&det, &registry(), set, &sink, &opts).unwrap();
        assert_eq!((s.ran, s.failed.len()), (3, 0), "{:?}", s.failed);
        let again = run_spec(&det, &registry(), set, &sink, &opts).unwrap();
        assert_eq!((again.ran, again.skipped), (0, 3));
        let t: Vec<RunTrace> = sink
            .read_all()
            .unwrap()
            .into_iter()
            .map(strip_wall)
            .collect();
        for r in &t {
            let cells: Vec<u32> = r
                .queries
                .iter()
                .filter(|q| q.charged)
                .map(|q| q.cell)
                .collect();
            assert_eq!(cells.len(), 60);
            // The initial population (30 distinct cells); later a duplicate child may be
            // charged again (the example's default rule, tested in tests/external.rs).
            let mut init = cells[..30].to_vec();
            init.sort_unstable();
            init.dedup();
            assert_eq!(init.len(), 30, "the initial population repeats a cell");
            let log = std::fs::metadata(sink.log_path(&r.meta.run_id).unwrap());
            assert!(log.is_ok(), "stderr log kept");
        }
        out.push(serde_json::to_string(&t).unwrap());
    }
    assert!(out[0] == out[1], "traces differ between --jobs 1 and 2");
    // Content address: the script's content and the command line are part of the run id.
    let ids = |s: &Spec| -> Vec<String> {
        jobs(s, set, &[0, 1, 2])
            .unwrap()
            .into_iter()
            .map(|j| j.run_id)
            .collect()
    };
    let before = ids(&det);
    std::fs::write(&script, format!("{text}\n# edited\n")).unwrap();
    let edited = ids(&det);
    let flagged = ids(&spec(
        "det",
        "0..3",
        60,
        &external("py-re", &format!("python3 {} --x", script.display()), 30.0),
    ));
    assert!(
        before.iter().zip(&edited).all(|(a, b)| a != b),
        "script edit"
    );
    assert!(
        edited.iter().zip(&flagged).all(|(a, b)| a != b),
        "command line"
    );
}

#[test]
fn space_neighbours_mutation_statistics_rankings_and_repeats_reach_the_searcher() {
    let set = synthetic_nb201();
    let col = set
        .get("nb201")
        .unwrap()
        .store
        .column("cifar10-valid/x-valid@200")
        .unwrap();
    let means = col.means();
    let mean = means.iter().sum::<f64>() / means.len() as f64;
    let dir = tempfile::tempdir().unwrap();
    let body = format!(
        r#"
cells, enc = s.space(encodings=True)
assert len(cells) == s.space_size == 15625 and len(enc) == 15625, len(cells)
assert len(enc[0]) == s.encoding_dim == 30 and sum(enc[0]) == 6
assert s.cell_format == "nb201-arch-str" and cells[0].startswith("|none~0|")
n = s.neighbours(cells[7])
assert len(n) == 24 and cells[7] not in n
assert s.mutate(cells[7]) in n
mean, std, label = s.statistics()
assert abs(mean - {mean}) < 1e-9 and std > 0 and "whole-space" in label, (mean, label)
s.report_ranking(0, [float(-i) for i in range(len(cells))])
vals = s.query(cells[:10], iteration=1)
assert s.query(cells[:3], iteration=1) == vals[:3] and s.used == 10
assert s.query([cells[0], cells[0]], iteration=2, charge_repeats=True) == [vals[0]] * 2
assert s.used == 12
s.query(cells[10:s.budget - 2], iteration=2)
assert s.remaining == 0
s.done()
"#
    );
    let cmd = broken(dir.path(), "tour", &body);
    let spec = spec("tour", "0..1", 25, &external("tour", &cmd, 30.0));
    let out = tempfile::tempdir().unwrap();
    let sink = JsonTraceSink::new(out.path());
    let s = run_spec(&spec, &registry(), set, &sink, &RunOptions::default()).unwrap();
    assert_eq!((s.ran, s.failed.len()), (1, 0), "{:#?}", s.failed);
    let t = &sink.read_all().unwrap()[0];
    // Free repeats (the charged ones count as queries).
    assert_eq!(t.meta.repeats, 3);
    let labels: Vec<(u32, bool)> = t.queries.iter().map(|q| (q.iteration, q.charged)).collect();
    let mut want = vec![(1, true); 10];
    want.extend([(1, false); 3]);
    // `repeats = charge`: two charged repeats of a queried cell.
    want.extend([(2, true); 2]);
    want.extend([(2, true); 13]);
    assert_eq!(labels, want);
    // The reported ranking became a diagnostics row, scored against the truth.
    assert_eq!(t.iterations.len(), 1);
    let it = &t.iterations[0];
    assert_eq!((it.iteration, it.num_queried), (0, 0));
    assert!(
        it.kendall_all.is_finite() && it.kendall_all.abs() < 0.1,
        "{it:?}"
    );
    assert_eq!(
        it.hit_rate_top50, 0.0,
        "none of cells 0..10 is in the synthetic top-50"
    );
}
