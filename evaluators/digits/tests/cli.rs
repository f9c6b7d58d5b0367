//! End-to-end tests of the `weaknas-digits-eval` binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_weaknas-digits-eval");

const DARTS_V2: &str = r#"{"space":"darts",
  "normal":[["sep_conv_3x3",0],["sep_conv_3x3",1],["sep_conv_3x3",0],["sep_conv_3x3",1],
            ["sep_conv_3x3",1],["skip_connect",0],["skip_connect",0],["dil_conv_3x3",2]],
  "normal_concat":[2,3,4,5],
  "reduce":[["max_pool_3x3",0],["max_pool_3x3",1],["skip_connect",2],["max_pool_3x3",1],
            ["max_pool_3x3",0],["skip_connect",2],["skip_connect",2],["max_pool_3x3",1]],
  "reduce_concat":[2,3,4,5],
  "text":"Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])"}"#;

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("running the binary")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The real data at its default place, or `None` (with a skip notice) when it is absent;
/// absent data fails the test under `CI=true` (CI runs `weaknas-digits-eval fetch` first).
fn real_data_or_skip() -> Option<PathBuf> {
    let p = weaknas_harness::home::weaknas_home().join("datasets/digits/digits.csv.gz");
    if p.is_file() {
        return Some(p);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "digits data missing at {} (required under CI=true; run `weaknas-digits-eval fetch`)",
            p.display()
        );
    }
    eprintln!(
        "skipping: digits data not found at {} (run `weaknas-digits-eval fetch`)",
        p.display()
    );
    None
}

#[test]
fn bad_genotype_fails_without_output() {
    let d = tempfile::tempdir().unwrap();
    let g = d.path().join("bad.json");
    let out = d.path().join("r.json");
    std::fs::write(&g, DARTS_V2.replace("sep_conv_3x3", "sep_conv_9x9")).unwrap();
    let o = run(&[
        "--genotype",
        s(&g),
        "--out",
        s(&out),
        "--data",
        "/nonexistent.csv.gz",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("bad.json") && err.contains("unknown operation \"sep_conv_9x9\""),
        "{err}"
    );
    assert!(!out.exists());

    std::fs::write(&g, "{not json").unwrap();
    let o = run(&["--genotype", s(&g), "--out", s(&out)]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("bad JSON"), "{err}");
    assert!(!out.exists());

    let o = run(&[
        "--genotype",
        s(&d.path().join("missing.json")),
        "--out",
        s(&out),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("missing.json"), "{err}");
    assert!(!out.exists());
}

#[test]
fn missing_data_says_to_fetch() {
    let d = tempfile::tempdir().unwrap();
    let g = d.path().join("g.json");
    let out = d.path().join("r.json");
    std::fs::write(&g, DARTS_V2).unwrap();
    let data = d.path().join("nothing/digits.csv.gz");
    let o = run(&["--genotype", s(&g), "--out", s(&out), "--data", s(&data)]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("weaknas-digits-eval fetch") && err.contains("nothing/digits.csv.gz"),
        "{err}"
    );
    assert!(!out.exists());
}

#[test]
fn bad_arguments_are_usage_errors() {
    let o = run(&["--genotype", "g.json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--out R.json is required"));
    let o = run(&["--genotype", "g.json", "--out", "r.json", "--seed", "x"]);
    assert_eq!(o.status.code(), Some(2));
    let o = run(&["--frobnicate"]);
    assert_eq!(o.status.code(), Some(2));
}

/// Trains DARTS_V2 for a few epochs on the real digits: far above chance (10%), and the
/// same seed gives the same result JSON, bit for bit (apart from the timing).
#[test]
fn learns_the_real_digits_reproducibly() {
    let Some(data) = real_data_or_skip() else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let g = d.path().join("g.json");
    std::fs::write(&g, DARTS_V2).unwrap();
    let mut results = Vec::new();
    for (i, seed) in ["3", "3", "4"].iter().enumerate() {
        let out = d.path().join(format!("r{i}.json"));
        let o = run(&[
            "--genotype",
            s(&g),
            "--out",
            s(&out),
            "--data",
            s(&data),
            "--seed",
            seed,
            "--epochs",
            "3",
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let mut v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
        let obj = v.as_object_mut().unwrap();
        for key in [
            "valid_accuracy",
            "test_accuracy",
            "train_seconds",
            "params",
            "epochs",
            "seed",
            "genotype",
        ] {
            assert!(obj.contains_key(key), "{key} missing in {obj:?}");
        }
        assert_eq!(obj.len(), 7);
        assert!(obj["train_seconds"].as_f64().unwrap() > 0.0);
        assert_eq!(obj["epochs"], 3);
        assert!(obj["genotype"]
            .as_str()
            .unwrap()
            .starts_with("Genotype(normal=[('sep_conv_3x3'"));
        obj.remove("train_seconds");
        results.push(v);
    }
    let valid = results[0]["valid_accuracy"].as_f64().unwrap();
    let test = results[0]["test_accuracy"].as_f64().unwrap();
    eprintln!("DARTS_V2, 3 epochs: valid {valid}, test {test}");
    assert!(valid > 0.5 && test > 0.5, "valid {valid}, test {test}");
    assert!(valid <= 1.0 && test <= 1.0);
    assert_eq!(results[0], results[1], "same seed, different results");
    assert_eq!(results[0]["seed"], 3);
    assert_eq!(results[2]["seed"], 4);
}
