//! End-to-end tests of the `weaknas` binary that need no real data: every one runs on a
//! SYNTHETIC store over the NAS-Bench-201 space (an accuracy-like function of the cell's
//! operations, written here), so they run everywhere, unconditionally. Covered: the
//! `reproduce` pipeline, resuming, the stale-run check (code fingerprints), a damaged store,
//! parameters refused before any run, and `compare`'s exit codes.

mod common;

use common::weaknas_without_fingerprint as weaknas;
use std::path::{Path, PathBuf};
use weaknas_harness::space::nb201::Nb201Space;
use weaknas_harness::space::SearchSpace;
use weaknas_harness::store::{save_store, BenchmarkStore, Column};

/// Writes a SYNTHETIC store over the NB201 space into `dir`: search and report metrics are a
/// weighted count of the cell's operations plus a deterministic per-cell perturbation.
fn synthetic_store(dir: &Path) -> PathBuf {
    let space = Nb201Space;
    let n = space.num_cells();
    let feats = space.features();
    let mut store = BenchmarkStore::new("synthetic-nb201", n);
    let mut search = Column::missing("cifar10-valid/x-valid@200", n, 1);
    let mut report = Column::missing("cifar10/ori-test@200", n, 1);
    let mut s: u64 = 0x9e3779b97f4a7c15;
    for c in 0..n {
        let row = feats.row(c);
        let v: f64 = row
            .iter()
            .enumerate()
            .map(|(j, &x)| x as f64 * ((j * 7) % 5) as f64)
            .sum();
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let noise = (s >> 11) as f64 / (1u64 << 53) as f64;
        search.values[c] = 60.0 + v + noise;
        report.values[c] = 59.0 + v + 0.8 * noise;
    }
    store.add_column(search).unwrap();
    store.add_column(report).unwrap();
    save_store(&store, dir, vec![]).unwrap();
    dir.to_path_buf()
}

fn spec(store: &Path, methods: &str) -> String {
    format!(
        r#"
name = "synthetic-e2e"
seeds = "0..3"
budget = 30
report_budgets = [15, 30]
[outputs]
record_rankings = 10
[[benchmark]]
benchmark = "nb201"
dataset = "cifar10"
search = "cifar10-valid/x-valid@200"
report = "cifar10/ori-test@200"
store = "{}"
{methods}
"#,
        store.display()
    )
}

const METHODS: &str = r#"
[[method]]
name = "WeakNAS"
method = "weaknas"
params = { predictor = { type = "ridge" } }
[[method]]
name = "Random search"
method = "random"
[[method]]
name = "Regularized evolution"
method = "evolution"
"#;

struct Setup {
    home: tempfile::TempDir,
    work: tempfile::TempDir,
    store: PathBuf,
}

fn setup() -> Setup {
    let home = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let store = synthetic_store(&work.path().join("store"));
    Setup { home, work, store }
}

impl Setup {
    fn spec_file(&self, name: &str, methods: &str) -> PathBuf {
        let p = self.work.path().join(name);
        std::fs::write(&p, spec(&self.store, methods)).unwrap();
        p
    }
    fn cmd(&self, args: &[&str], fingerprint: Option<&str>) -> std::process::Output {
        let mut c = weaknas(self.home.path());
        if let Some(f) = fingerprint {
            c.env("WEAKNAS_CODE_FINGERPRINT", f);
        }
        c.args(args).output().unwrap()
    }
}

impl Setup {
    /// `weaknas run SPEC --out <work>/o`, which must fail without creating `o`; its output.
    fn refused(&self, spec: &Path, what: &str) -> String {
        let out = self.work.path().join("o");
        let o = self.cmd(
            &[
                "run",
                spec.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
            ],
            None,
        );
        assert!(!o.status.success(), "{what}: accepted");
        // A refused spec leaves no trace: not even the output directory.
        assert!(!out.exists(), "{what}: output directory left");
        text(&o)
    }
}

fn text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn reproduce_resume_and_stale_runs() {
    let s = setup();
    let spec = s.spec_file("e2e.toml", METHODS);
    let spec = spec.to_str().unwrap();
    let out = s.work.path().join("out");
    let outs = out.to_str().unwrap();
    let o = s.cmd(&["reproduce", spec, "--out", outs], Some("git:aaaa"));
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("9 runs, 0 already done, 9 ran, 0 failed"),
        "{}",
        text(&o)
    );
    for f in [
        "index.md",
        "tables/results.md",
        "tables/regret.md",
        "tables/optimum.md",
        "tables/significance.md",
        "tables/ranking.md",
        "figures/curve_nb201_cifar10.png",
        "figures/scatter_weaknas_nb201_cifar10.svg",
    ] {
        assert!(out.join(f).is_file(), "missing {f}");
    }
    let index = std::fs::read_to_string(out.join("index.md")).unwrap();
    assert!(!index.contains("STALE"), "{index}");

    // The same code resumes.
    let o = s.cmd(&["run", spec, "--out", outs], Some("git:aaaa"));
    assert!(text(&o).contains("9 already done, 0 ran"), "{}", text(&o));

    // Other code stops, naming the fingerprints; nothing is rerun or changed.
    let before = std::fs::read_to_string(out.join("tables/results.csv")).unwrap();
    let o = s.cmd(&["reproduce", spec, "--out", outs], Some("git:bbbb"));
    assert!(!o.status.success());
    let e = text(&o);
    assert!(
        e.contains("9 runs from other code: git:aaaa (9 runs)")
            && e.contains("this build is git:bbbb")
            && e.contains("--force")
            && e.contains("--keep-stale"),
        "{e}"
    );
    // --keep-stale keeps them, and the report says so.
    let o = s.cmd(
        &["reproduce", spec, "--out", outs, "--keep-stale"],
        Some("git:bbbb"),
    );
    assert!(o.status.success(), "{}", text(&o));
    let index = std::fs::read_to_string(out.join("index.md")).unwrap();
    assert!(
        index.contains("STALE RUNS KEPT: 9 of 9 runs") && index.contains("`git:aaaa` (9)"),
        "{index}"
    );
    assert_eq!(
        before.lines().next(),
        std::fs::read_to_string(out.join("tables/results.csv"))
            .unwrap()
            .lines()
            .next()
    );
    // --force redoes them with this code (same results: the code did not change).
    let o = s.cmd(
        &["reproduce", spec, "--out", outs, "--force"],
        Some("git:bbbb"),
    );
    assert!(text(&o).contains("0 already done, 9 ran"), "{}", text(&o));
    let index = std::fs::read_to_string(out.join("index.md")).unwrap();
    assert!(!index.contains("STALE"), "{index}");
    assert_eq!(
        before,
        std::fs::read_to_string(out.join("tables/results.csv")).unwrap()
    );
    // A run recorded without a fingerprint (written before they existed) is "unknown".
    let id = weaknas_results::list_runs(&out).unwrap()[0].clone();
    let mut t = weaknas_results::load_trace(&out, &id).unwrap();
    t.meta.code_fingerprint = String::new();
    weaknas_harness::trace::TraceSink::write(&weaknas_results::ParquetTraceSink::new(&out), &t)
        .unwrap();
    let o = s.cmd(&["run", spec, "--out", outs], Some("git:bbbb"));
    assert!(!o.status.success());
    assert!(
        text(&o).contains("1 run from other code: unknown fingerprint (1 runs)"),
        "{}",
        text(&o)
    );
}

#[test]
fn a_damaged_store_is_refused_by_run() {
    let s = setup();
    let spec = s.spec_file("e2e.toml", METHODS);
    let bin = s.store.join("store.bin");
    let mut bytes = std::fs::read(&bin).unwrap();
    // Flip a few bytes in the values region (columns are sorted by key, so the last one in
    // the file is the report metric, cifar10/ori-test@200, whose values end it); header
    // intact.
    let at = bytes.len() - 800;
    for b in &mut bytes[at..at + 3] {
        *b ^= 0xa5;
    }
    std::fs::write(&bin, &bytes).unwrap();
    let e = s.refused(&spec, "damaged store");
    assert!(
        e.contains("store.bin")
            && e.contains("content does not match")
            && e.contains("damaged: column cifar10/ori-test@200"),
        "{e}"
    );
}

#[test]
fn bad_parameters_are_refused_before_any_run() {
    let s = setup();
    for (params, expect) in [
        (
            r#"params = { predictor = { type = "mlp", hidden = [0] } }"#,
            "hidden layer widths must be positive",
        ),
        (
            r#"params = { predictor = { type = "gbdt", n_rounds = 0 } }"#,
            "n_rounds",
        ),
        (
            r#"params = { predictor = { type = "ridge", alpha = -1.0 } }"#,
            "alpha",
        ),
    ] {
        for kind in ["weaknas", "strong-predictor"] {
            let methods = format!(
                "[[method]]\nname = \"Random\"\nmethod = \"random\"\n[[method]]\nname = \"Bad\"\nmethod = \"{kind}\"\n{params}\n"
            );
            let spec = s.spec_file("bad.toml", &methods);
            let e = s.refused(&spec, &format!("{kind} {params}"));
            assert!(
                e.contains(expect) && e.contains("\"Bad\""),
                "{kind} {params}: {e}"
            );
        }
    }
}

#[test]
fn compare_exit_codes_missing_and_new() {
    let s = setup();
    let out = |n: &str| s.work.path().join(n);
    let full = s.spec_file("full.toml", METHODS);
    let fewer = s.spec_file(
        "fewer.toml",
        "[[method]]\nname = \"Random search\"\nmethod = \"random\"\n[[method]]\nname = \"Local search\"\nmethod = \"local-search\"\n",
    );
    for (spec, dir) in [(&full, "a"), (&fewer, "b")] {
        let o = s.cmd(
            &[
                "run",
                spec.to_str().unwrap(),
                "--out",
                out(dir).to_str().unwrap(),
            ],
            None,
        );
        assert!(o.status.success(), "{}", text(&o));
    }
    let cmp = |args: &[&str]| {
        let mut a = vec!["compare"];
        a.extend_from_slice(args);
        s.cmd(&a, None)
    };
    let (a, b) = (out("a"), out("b"));
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    // Identical: 0.
    let o = cmp(&[a, a]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // Candidate lacks WeakNAS and evolution: 1, listing what is missing and what is new.
    let o = cmp(&[a, b]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("2 missing") && t.contains("1 new"), "{t}");
    assert!(
        t.contains("missing from the candidate: nb201 / cifar10 / WeakNAS")
            && t.contains("new in the candidate: nb201 / cifar10 / Local search"),
        "{t}"
    );
    // ... unless allowed.
    let o = cmp(&[a, b, "--allow-missing"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // Errors: 2 (missing directory, no runs, bad usage).
    let o = cmp(&[a, "/nonexistent/weaknas-dir"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("/nonexistent/weaknas-dir"));
    let empty = s.work.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let o = cmp(&[a, empty.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = cmp(&[a]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = cmp(&[a, a, "--measure", "nope"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

#[test]
fn bad_specs_give_clear_errors() {
    let s = setup();
    let cases = [
        (
            "method = \"random\"",
            "method = \"randon\"",
            "unknown method \"randon\"",
        ),
        ("budget = 30", "budget = 20000", "larger than the space"),
        (
            "report = \"cifar10/ori-test@200\"",
            "report = \"cifar100/ori-test@200\"",
            "cifar10/ori-test@200",
        ),
        ("seeds = \"0..3\"", "seeds = 4.5", "e2e.toml"),
        (
            "record_rankings = 10",
            "record_ranking = 10",
            "record_ranking",
        ),
    ];
    for (from, to, expect) in cases {
        let spec = s.work.path().join("e2e.toml");
        let text_ = spec_text(&s.store)
            .replace(from, to)
            .replace("report_budgets = [15, 30]", "");
        assert_ne!(
            text_,
            spec_text(&s.store).replace("report_budgets = [15, 30]", ""),
            "{from}"
        );
        std::fs::write(&spec, text_).unwrap();
        let err = s.refused(&spec, to);
        assert!(err.contains(expect), "{to}: {err}");
    }
}

fn spec_text(store: &Path) -> String {
    spec(store, METHODS)
}
