//! Every shipped experiment spec parses, and every method in it builds with its parameters.

mod common;

use weaknas_harness::runner::Spec;
use weaknas_harness::searcher::BuildInfo;

#[test]
fn shipped_specs_parse_and_build() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments");
    let reg = weaknas_baselines::registry();
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_none_or(|x| x != "toml") {
            continue;
        }
        let spec = Spec::load(&p).unwrap_or_else(|e| panic!("{}: {e:#}", p.display()));
        for b in &spec.benchmarks {
            for m in &spec.methods {
                let info = BuildInfo {
                    space: b.benchmark.clone(),
                    budget: spec.budget,
                };
                reg.build(&m.method, &m.params, &info)
                    .unwrap_or_else(|e| panic!("{}: method {}: {e:#}", p.display(), m.name));
            }
        }
        n += 1;
    }
    assert!(n >= 10, "expected the shipped specs, found {n}");
}

#[test]
fn malformed_specs_are_rejected_with_the_file_name() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("bad.toml");
    std::fs::write(&p, "name = \"x\"\nbudget = \"many\"\n").unwrap();
    let e = format!("{:#}", Spec::load(&p).unwrap_err());
    assert!(e.contains("bad.toml") && e.contains("budget"), "{e}");
}
