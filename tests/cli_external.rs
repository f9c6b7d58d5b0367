//! End to end through the `weaknas` binary on the real NAS-Bench-201 data (skipped without
//! it): a Python searcher (`python/examples/random_search.py`) runs under `reproduce` beside
//! built-in methods and appears in its tables; `export-results` writes the tidy per-query
//! table (read back with Python's csv module); run files keep their three kinds apart; a
//! result directory in the legacy layout is resumed, rendered, merged and migrated without
//! loss.

mod common;

use common::{ok, weaknas};
use std::path::Path;

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
    let Some(home) = common::home_with_nb201() else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
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
    let printed = ok(std::process::Command::new("python3")
        .arg(&check)
        .arg(&csv_path));
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

/// The text between `start` (a heredoc line of the README) and the line `end`.
fn heredoc<'a>(readme: &'a str, start: &str, end: &str) -> &'a str {
    let from = readme
        .find(start)
        .unwrap_or_else(|| panic!("README: no line {start:?}"))
        + start.len()
        + 1;
    let len = readme[from..]
        .find(&format!("\n{end}\n"))
        .unwrap_or_else(|| panic!("README: heredoc {start:?} has no end {end:?}"));
    &readme[from..from + len + 1]
}

/// The README's "Benchmark your own method in Python" example, its Python script and its
/// `[[method]]` block taken verbatim from README.md, run as the README runs it (from a
/// directory holding `python/`), on a smaller spec (2 seeds, 40 queries, beside random
/// search): the searcher runs, its table row, figure, logs and tidy export are where the
/// README says.
#[test]
fn readme_python_example_runs_verbatim() {
    let Some(home) = common::home_with_nb201() else {
        return;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let section = &readme[readme
        .find("## Benchmark your own method in Python")
        .expect("README section")..];
    let script = heredoc(section, "cat > my_search.py <<'PY'", "PY");
    let method = heredoc(section, "cat >> my-study.toml <<'TOML'", "TOML");
    assert!(
        section.contains(r#"sed 's/^name = "nb201-quick"/name = "my-study"/' experiments/nb201-quick.toml > my-study.toml"#),
        "the README derives its spec from nb201-quick.toml as this test does"
    );
    let work = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(root.join("python"), work.path().join("python")).unwrap();
    std::fs::write(work.path().join("my_search.py"), script).unwrap();
    // nb201-quick.toml's header and benchmark, renamed as the README does, scaled down.
    let quick = std::fs::read_to_string(root.join("experiments/nb201-quick.toml")).unwrap();
    let head = &quick[..quick.find("[[method]]").expect("a method in nb201-quick")];
    let mut spec = String::new();
    for line in head.lines() {
        let line = match line {
            l if l.starts_with("name = \"nb201-quick\"") => "name = \"my-study\"",
            l if l.starts_with("seeds =") => "seeds = \"0..2\"",
            l if l.starts_with("budget =") => "budget = 40",
            l if l.starts_with("report_budgets =") => "report_budgets = [20, 40]",
            l => l,
        };
        spec.push_str(line);
        spec.push('\n');
    }
    spec.push_str("[[method]]\nname = \"Random search\"\nmethod = \"random\"\n");
    spec.push_str(method);
    std::fs::write(work.path().join("my-study.toml"), &spec).unwrap();
    let stdout = ok(weaknas(home.path())
        .current_dir(work.path())
        .args(["reproduce", "my-study.toml"]));
    assert!(
        stdout.contains("4 runs, 0 already done, 4 ran, 0 failed"),
        "{stdout}"
    );
    let out = work.path().join("runs/my-study");
    let table = std::fs::read_to_string(out.join("tables/results.md")).unwrap();
    assert!(table.contains("My search"), "{table}");
    assert!(out.join("figures/curve_nb201_cifar10_valid.png").is_file());
    assert!(
        section.contains("runs/my-study/figures/curve_nb201_cifar10_valid.png"),
        "the README names the figure this run wrote"
    );
    assert_eq!(std::fs::read_dir(out.join("logs")).unwrap().count(), 2);
    let said = ok(weaknas(home.path()).current_dir(work.path()).args([
        "export-results",
        "runs/my-study",
        "my-study.csv",
    ]));
    assert!(said.contains("160 queries"), "{said}");
}
