//! End to end through the `weaknas` binary on the real NAS-Bench-201 data (skipped without
//! it): a Python searcher (`python/examples/random_search.py`) runs under `reproduce` beside
//! built-in methods and appears in its tables; `export-results` writes the tidy per-query
//! table (read back with Python's csv module); run files keep their three kinds apart; a
//! result directory in the legacy layout is resumed, rendered, merged and migrated without
//! loss.

mod common;

use assert_cmd::Command;
use common::weaknas;
use std::path::Path;
use weaknas_harness::testdata::shared_data_or_skip;

fn ok(c: &mut Command) -> String {
    let o = c.output().unwrap();
    assert!(
        o.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Checks the tidy CSV with Python's csv module; prints the row count.
const CHECK_CSV: &str = r#"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
want = ["run_id", "method", "params_hash", "benchmark", "dataset", "seed", "query_index",
        "iteration", "cell_text", "official_index", "search_value", "report_value",
        "incumbent_search_value", "incumbent_report_value"]
missing = [c for c in want if c not in rows[0]]
assert not missing, missing
runs = {}
for r in rows:
    runs.setdefault(r["run_id"], []).append(r)
for rid, rs in runs.items():
    assert [int(r["query_index"]) for r in rs] == list(range(1, len(rs) + 1)), rid
    inc = [float(r["incumbent_search_value"]) for r in rs]
    assert inc == sorted(inc), rid
    best = max(float(r["search_value"]) for r in rs)
    assert inc[-1] == best, rid
    for r in rs:
        t = r["cell_text"]
        assert t.startswith("|") and t.endswith("|") and t.count("~") == 6, t
        assert 0 <= int(r["official_index"]) < 15625
print(len(rows), len(runs), sorted({r["method"] for r in rows}))
"#;

#[test]
fn python_searcher_beside_built_ins_tidy_export_and_legacy_layout() {
    let Some(data) = shared_data_or_skip("nasbench201") else {
        return;
    };
    let home = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    ok(weaknas(home.path())
        .args(["data", "import", "nb201-csv"])
        .arg(&data));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("python/examples/random_search.py");
    let spec = work.path().join("byo.toml");
    std::fs::write(
        &spec,
        format!(
            r#"
name = "byo"
seeds = "0..3"
budget = 30
report_budgets = [10, 30]
[[benchmark]]
benchmark = "nb201"
dataset = "cifar10"
search = "cifar10-valid/x-valid@200"
report = "cifar10/ori-test@200"
[[method]]
name = "Python RS"
method = "external"
params = {{ command = "python3 {}", timeout_s = 60 }}
[[method]]
name = "Random search"
method = "random"
[[method]]
name = "Regularized evolution"
method = "evolution"
"#,
            script.display()
        ),
    )
    .unwrap();
    let out = work.path().join("out");
    let stdout = ok(weaknas(home.path())
        .arg("reproduce")
        .arg(&spec)
        .arg("--out")
        .arg(&out)
        .args(["--jobs", "2"]));
    assert!(
        stdout.contains("9 runs, 0 already done, 9 ran, 0 failed"),
        "{stdout}"
    );
    let table = std::fs::read_to_string(out.join("tables/results.csv")).unwrap();
    assert!(
        table.contains("Python RS") && table.contains("Random search"),
        "{table}"
    );
    // Three kinds, three directories; one searcher log per external run.
    for kind in ["queries", "iterations", "rankings"] {
        let n = std::fs::read_dir(out.join("runs").join(kind))
            .unwrap()
            .count();
        assert_eq!(n, 9, "{kind}");
    }
    assert_eq!(std::fs::read_dir(out.join("logs")).unwrap().count(), 3);

    // Tidy export, read back with Python's csv module.
    let csv_path = work.path().join("tidy.csv");
    let said = ok(weaknas(home.path())
        .arg("export-results")
        .arg(&out)
        .arg(&csv_path));
    assert!(said.contains("270 queries"), "{said}");
    let check = work.path().join("check.py");
    std::fs::write(&check, CHECK_CSV).unwrap();
    let o = std::process::Command::new("python3")
        .arg(&check)
        .arg(&csv_path)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let printed = String::from_utf8_lossy(&o.stdout);
    assert!(
        printed.starts_with("270 9 ['Python RS', 'Random search', 'Regularized evolution']"),
        "{printed}"
    );
    ok(weaknas(home.path())
        .arg("export-results")
        .arg(&out)
        .arg(work.path().join("tidy.parquet")));
    let before = std::fs::read(&csv_path).unwrap();

    // The legacy layout, as older versions wrote it: resumed, rendered, merged, migrated.
    let runs = out.join("runs");
    let mut ids = Vec::new();
    for e in std::fs::read_dir(runs.join("queries")).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        ids.push(name.trim_end_matches(".parquet").to_string());
    }
    for id in &ids {
        for kind in ["iterations", "rankings", "queries"] {
            std::fs::rename(
                runs.join(kind).join(format!("{id}.parquet")),
                runs.join(format!("{id}.{kind}.parquet")),
            )
            .unwrap();
        }
    }
    std::fs::remove_file(runs.join(format!("{}.queries.parquet", ids[0]))).unwrap();
    let stdout = ok(weaknas(home.path())
        .arg("reproduce")
        .arg(&spec)
        .arg("--out")
        .arg(&out));
    assert!(
        stdout.contains("8 already done, 1 ran, 0 failed"),
        "{stdout}"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("tables/results.csv")).unwrap(),
        table
    );
    let merged = work.path().join("merged");
    let said = ok(weaknas(home.path())
        .arg("merge")
        .arg("--into")
        .arg(&merged)
        .arg(&out));
    assert!(said.contains("9 runs added"), "{said}");
    let said = ok(weaknas(home.path()).arg("migrate-results").arg(&out));
    assert!(said.contains("8 runs moved"), "{said}");
    for dir in [&out, &merged] {
        let again = work.path().join("again.csv");
        ok(weaknas(home.path())
            .arg("export-results")
            .arg(dir)
            .arg(&again));
        assert!(
            std::fs::read(&again).unwrap() == before,
            "{}: export changed",
            dir.display()
        );
        assert_eq!(
            std::fs::read_dir(dir.join("runs/queries")).unwrap().count(),
            9
        );
    }
}
