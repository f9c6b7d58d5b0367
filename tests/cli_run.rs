//! End-to-end tests of `weaknas run`, `reproduce`, `compare` and `methods` on the real
//! NAS-Bench-201 data (imported from ../shared/data into a temporary $WEAKNAS_HOME).

mod common;

use common::{ok, weaknas};

const SPEC: &str = r#"
name = "e2e"
seeds = "0..4"
budget = 40
report_budgets = [20, 40]
[outputs]
record_rankings = 20
[[benchmark]]
benchmark = "nb201"
dataset = "cifar10"
search = "cifar10-valid/x-valid@200"
report = "cifar10/ori-test@200"
[[method]]
name = "WeakNAS"
method = "weaknas"
params = { predictor = { type = "mlp", hidden = [32, 32], max_iter = 50 } }
[[method]]
name = "Random search"
method = "random"
[[method]]
name = "Regularized evolution"
method = "evolution"
"#;

#[test]
#[cfg_attr(
    not(weaknas_shared_data),
    ignore = "needs the real NAS-Bench-201 data in ../shared/data"
)]
fn reproduce_resume_force_and_compare() {
    let Some(home) = common::home_with_nb201() else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let spec = work.path().join("e2e.toml");
    std::fs::write(&spec, SPEC).unwrap();
    let out = work.path().join("out");

    let stdout = ok(weaknas(home.path())
        .arg("reproduce")
        .arg(&spec)
        .arg("--out")
        .arg(&out)
        .arg("--jobs")
        .arg("2"));
    assert!(
        stdout.contains("12 runs, 0 already done, 12 ran, 0 failed"),
        "{stdout}"
    );
    for f in [
        "index.md",
        "tables/results.md",
        "tables/results.csv",
        "tables/results.tex",
        "tables/optimum.md",
        "tables/ranking.md",
        "tables/significance.md",
    ] {
        assert!(out.join(f).exists(), "missing {f}");
    }
    let index = std::fs::read_to_string(out.join("index.md")).unwrap();
    assert!(
        index.contains("WeakNAS")
            && index.contains("paper_best_peek")
            && index.contains("figures/curve_nb201_cifar10.png"),
        "{index}"
    );
    for f in [
        "curve_nb201_cifar10",
        "dynamics_hit_rate_top50_nb201_cifar10",
        "scatter_weaknas_nb201_cifar10",
    ] {
        for ext in ["png", "svg", "provenance.json"] {
            assert!(
                out.join("figures").join(format!("{f}.{ext}")).exists(),
                "missing figure {f}.{ext}"
            );
        }
    }
    let sig = std::fs::read_to_string(out.join("tables/significance.md")).unwrap();
    assert!(
        sig.contains("Random search") && sig.contains("Holm") && sig.contains("Wilcoxon"),
        "{sig}"
    );
    let results_csv = std::fs::read_to_string(out.join("tables/results.csv")).unwrap();
    assert!(results_csv.contains("Random search") && results_csv.contains("Regularized evolution"));

    // Resume: nothing to redo; --force redoes everything with identical results.
    let o = weaknas(home.path())
        .arg("run")
        .arg(&spec)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&o.stdout).contains("12 already done, 0 ran"));
    let before = std::fs::read_to_string(out.join("tables/results.csv")).unwrap();
    let o = weaknas(home.path())
        .arg("reproduce")
        .arg(&spec)
        .arg("--out")
        .arg(&out)
        .arg("--force")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&o.stdout).contains("0 already done, 12 ran"));
    assert_eq!(
        before,
        std::fs::read_to_string(out.join("tables/results.csv")).unwrap(),
        "forced rerun changed results"
    );

    // A run directory compared with itself: no regression, exit 0.
    let said = ok(weaknas(home.path()).arg("compare").arg(&out).arg(&out));
    assert!(said.contains("0 worse"), "{said}");
}

#[test]
fn methods_lists_every_registered_method() {
    let home = tempfile::tempdir().unwrap();
    let o = weaknas(home.path()).arg("methods").output().unwrap();
    let s = String::from_utf8_lossy(&o.stdout);
    for m in [
        "weaknas",
        "weaknas-ei",
        "random",
        "evolution",
        "strong-predictor",
        "local-search",
    ] {
        assert!(
            s.lines().any(|l| l.starts_with(m)),
            "{m} missing from:\n{s}"
        );
    }
}

#[test]
#[cfg_attr(
    not(weaknas_shared_data),
    ignore = "needs the real NAS-Bench-201 data in ../shared/data"
)]
fn data_export_writes_csv_and_parquet() {
    let Some(home) = common::home_with_nb201() else {
        return;
    };
    let csv = home.path().join("nb201.csv");
    weaknas(home.path())
        .args(["data", "export"])
        .arg(&csv)
        .assert()
        .success();
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    assert!(
        header.contains("cifar10/ori-test@200") && header.contains("official_index"),
        "{header}"
    );
    assert_eq!(lines.count(), 15_625);
    let pq = home.path().join("nb201.parquet");
    weaknas(home.path())
        .args(["data", "export"])
        .arg(&pq)
        .assert()
        .success();
    assert_eq!(&std::fs::read(&pq).unwrap()[..4], b"PAR1");
    let o = weaknas(home.path())
        .args(["data", "export"])
        .arg(home.path().join("x.txt"))
        .output()
        .unwrap();
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains(".parquet or .csv"));
}

/// `--methods` and `--datasets` run part of a spec; the runs are the whole spec's (same run
/// ids), so a later run of the whole spec skips them.
#[test]
#[cfg_attr(
    not(weaknas_shared_data),
    ignore = "needs the real NAS-Bench-201 data in ../shared/data"
)]
fn methods_and_datasets_run_part_of_a_spec() {
    let Some(home) = common::home_with_nb201() else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let spec = work.path().join("part.toml");
    let text = format!(
        "name = \"part\"\nseeds = \"0..2\"\nbudget = 20\n{}{}{}",
        common::NB201_C10,
        common::NB201_C100_VALID,
        common::RS_AND_RE
    );
    std::fs::write(&spec, text).unwrap();
    let out = work.path().join("out");
    let run = |extra: &[&str]| {
        let mut c = weaknas(home.path());
        c.arg("run").arg(&spec).arg("--out").arg(&out).args(extra);
        c
    };
    let said = ok(&mut run(&[
        "--datasets",
        "cifar100 (validation)",
        "--methods",
        "Random search",
    ]));
    assert!(said.contains("2 runs, 0 already done, 2 ran"), "{said}");
    let said = ok(&mut run(&["--datasets", "cifar10"]));
    assert!(said.contains("4 runs, 0 already done, 4 ran"), "{said}");
    let said = ok(&mut run(&[]));
    assert!(said.contains("8 runs, 6 already done, 2 ran"), "{said}");

    // An unknown dataset names the spec and lists its datasets; nothing is run.
    let o = run(&["--datasets", "cifar-100"]).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{err}");
    assert!(
        err.contains("part.toml")
            && err.contains("no dataset \"cifar-100\"")
            && err.contains("\"cifar10\", \"cifar100 (validation)\""),
        "{err}"
    );
}

#[test]
#[cfg_attr(
    not(weaknas_shared_data),
    ignore = "needs the real NAS-Bench-201 data in ../shared/data"
)]
fn interrupted_runs_continue_from_their_checkpoints() {
    let Some(home) = common::home_with_nb201() else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let spec = work.path().join("e2e.toml");
    std::fs::write(&spec, SPEC).unwrap();
    let run = |out: &str, extra: &[&str]| {
        let mut c = weaknas(home.path());
        c.arg("run")
            .arg(&spec)
            .arg("--out")
            .arg(work.path().join(out))
            .args(["--methods", "WeakNAS", "--seeds", "0..2"])
            .args(extra);
        c
    };
    ok(&mut run("whole", &[]));
    // Stopped after two checkpoints (saved at every iteration boundary): no run is written,
    // each keeps its checkpoint, and the invocation fails naming why.
    let o = run(
        "pieces",
        &[
            "--checkpoint-every",
            "0",
            "--interrupt-after-checkpoints",
            "2",
        ],
    )
    .output()
    .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("interrupted on purpose"),
        "{err}"
    );
    let ckpts = work.path().join("pieces/checkpoints");
    assert_eq!(std::fs::read_dir(&ckpts).unwrap().count(), 2);
    // Continued with one predictor thread per run (results are the same for any count).
    let o = run("pieces", &["--threads", "1"])
        .env("WEAKNAS_LOG", "info")
        .output()
        .unwrap();
    // The log without its colour codes.
    let mut log = String::new();
    let mut in_code = false;
    for c in String::from_utf8_lossy(&o.stderr).chars() {
        match (in_code, c) {
            (false, '\x1b') => in_code = true,
            (false, c) => log.push(c),
            (true, 'm') => in_code = false,
            (true, _) => {}
        }
    }
    let said = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{said}\n{log}");
    assert!(
        said.contains("2 runs, 0 already done, 2 ran, 0 failed"),
        "{said}"
    );
    assert!(log.contains("jobs=1 threads=1"), "{log}");
    assert_eq!(
        log.matches("continuing from its checkpoint").count(),
        2,
        "{log}"
    );
    assert_eq!(std::fs::read_dir(&ckpts).unwrap().count(), 0);
    // Rendered, the continued runs give the same table as the uninterrupted ones.
    let table = |out: &str| {
        let mut c = weaknas(home.path());
        ok(c.arg("reproduce")
            .arg(&spec)
            .arg("--out")
            .arg(work.path().join(out))
            .args(["--methods", "WeakNAS", "--seeds", "0..2"]));
        std::fs::read_to_string(work.path().join(out).join("tables/results.csv")).unwrap()
    };
    assert_eq!(table("whole"), table("pieces"));
}
