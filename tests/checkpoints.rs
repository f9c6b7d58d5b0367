//! Within-run checkpoints on the real NAS-Bench-201 data: runs stopped part-way (once, or
//! several times) continue from their checkpoints and end bit-identical to runs that were
//! never stopped; unusable checkpoints are set aside and the run starts over.

mod common;

use std::path::Path;
use std::time::Duration;
use weaknas_harness::checkpoint::CheckpointPolicy;
use weaknas_harness::runner::{run_spec, RunOptions, RunSummary, Spec};
use weaknas_harness::trace::{JsonTraceSink, RunTrace};

const METHODS: &str = r#"
[[method]]
name = "WeakNAS"
method = "weaknas"
params = { predictor = { type = "mlp", hidden = [64, 64], max_iter = 60 } }
[[method]]
name = "WeakNAS-EI"
method = "weaknas-ei"
params = { predictor = { type = "mlp", hidden = [64, 64], max_iter = 60 }, ensemble = 3 }
[[method]]
name = "Random search"
method = "random"
"#;

fn spec() -> Spec {
    common::spec("ckpt", "0..2", 60, METHODS)
}

/// Every iteration boundary saves; `interrupt_after` stops each run after that many saves.
fn policy(interrupt_after: Option<usize>, accept_other_code: bool) -> CheckpointPolicy {
    CheckpointPolicy {
        every: Duration::ZERO,
        accept_other_code,
        interrupt_after,
    }
}

fn run(dir: &Path, fingerprint: &str, checkpoints: Option<CheckpointPolicy>) -> RunSummary {
    let set = common::nb201().expect("data checked by the caller");
    let opts = RunOptions {
        record_rankings: 10,
        code_fingerprint: fingerprint.to_string(),
        checkpoints,
        ..RunOptions::default()
    };
    let sink = JsonTraceSink::new(dir);
    run_spec(&spec(), &weaknas_baselines::registry(), set, &sink, &opts).unwrap()
}

/// The runs of `dir` without wall times and code fingerprints, serialised (NaN diagnostics
/// compare unequal).
fn traces(dir: &Path) -> String {
    let mut all: Vec<RunTrace> = JsonTraceSink::new(dir).read_all().unwrap();
    all.sort_by(|a, b| a.meta.run_id.cmp(&b.meta.run_id));
    for t in &mut all {
        t.meta.wall_s = 0.0;
        t.meta.code_fingerprint.clear();
        for q in &mut t.queries {
            q.wall_s = 0.0;
        }
    }
    assert_eq!(all.len(), 6);
    serde_json::to_string(&all).unwrap()
}

fn checkpoint_files(dir: &Path, ext: &str) -> usize {
    match std::fs::read_dir(dir.join("checkpoints")) {
        Ok(d) => d
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(ext)
            })
            .count(),
        Err(_) => 0,
    }
}

#[test]
#[cfg_attr(
    not(weaknas_shared_data),
    ignore = "needs the real NAS-Bench-201 data in ../shared/data"
)]
fn stopped_runs_continue_bit_identical_to_uninterrupted_ones() {
    if common::nb201().is_none() {
        return;
    }
    let reference = tempfile::tempdir().unwrap();
    let s = run(reference.path(), "git:a", None);
    assert_eq!((s.ran, s.failed.len()), (6, 0));
    let reference = traces(reference.path());

    let dir = tempfile::tempdir().unwrap();
    // First piece: every WeakNAS run stops after 2 checkpoints; random search never saves
    // one and finishes.
    let s = run(dir.path(), "git:a", Some(policy(Some(2), false)));
    assert_eq!((s.ran, s.failed.len()), (2, 4), "{:?}", s.failed);
    assert!(s
        .failed
        .iter()
        .all(|f| f.3.contains("interrupted on purpose")));
    assert_eq!(checkpoint_files(dir.path(), ".json"), 4);
    // Second piece: continued, stopped again 3 checkpoints later.
    let s = run(dir.path(), "git:a", Some(policy(Some(3), false)));
    assert_eq!((s.skipped, s.failed.len()), (2, 4));
    // Last piece: to the end; the checkpoints are gone once the runs are written.
    let s = run(dir.path(), "git:a", Some(policy(None, false)));
    assert_eq!((s.skipped, s.ran, s.failed.len()), (2, 4, 0));
    assert_eq!(checkpoint_files(dir.path(), ".json"), 0);
    assert!(
        traces(dir.path()) == reference,
        "runs continued from checkpoints differ from uninterrupted runs"
    );
}

#[test]
#[cfg_attr(
    not(weaknas_shared_data),
    ignore = "needs the real NAS-Bench-201 data in ../shared/data"
)]
fn unusable_checkpoints_are_set_aside_and_other_code_is_named() {
    if common::nb201().is_none() {
        return;
    }
    let reference = tempfile::tempdir().unwrap();
    run(reference.path(), "git:b", None);
    let reference = traces(reference.path());

    // Checkpoints written by other code: set aside unless accepted.
    let dir = tempfile::tempdir().unwrap();
    run(dir.path(), "git:a", Some(policy(Some(2), false)));
    let s = run(dir.path(), "git:b", Some(policy(None, false)));
    assert_eq!((s.ran, s.failed.len()), (4, 0));
    assert_eq!(checkpoint_files(dir.path(), ".discarded"), 4);
    assert!(traces(dir.path()) == reference, "started-over runs differ");
    let all = JsonTraceSink::new(dir.path()).read_all().unwrap();
    assert!(all
        .iter()
        .all(|t| !t.meta.code_fingerprint.contains("continued")));

    // Accepted (--keep-stale): continued, and the meta names both builds.
    let dir = tempfile::tempdir().unwrap();
    run(dir.path(), "git:a", Some(policy(Some(2), false)));
    run(dir.path(), "git:b", Some(policy(None, true)));
    let all = JsonTraceSink::new(dir.path()).read_all().unwrap();
    let continued: Vec<&str> = all
        .iter()
        .map(|t| t.meta.code_fingerprint.as_str())
        .filter(|f| *f == "git:b (continued from a checkpoint of git:a)")
        .collect();
    assert_eq!(continued.len(), 4, "{all:?}");

    // A corrupt checkpoint and one of another run: set aside, the runs start over.
    let dir = tempfile::tempdir().unwrap();
    run(dir.path(), "git:b", Some(policy(Some(1), false)));
    let ckpts: Vec<_> = std::fs::read_dir(dir.path().join("checkpoints"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(ckpts.len(), 4);
    std::fs::write(&ckpts[0], b"{\"format\": 1, \"run_id\": ").unwrap();
    std::fs::copy(&ckpts[2], &ckpts[1]).unwrap();
    let s = run(dir.path(), "git:b", Some(policy(None, false)));
    assert_eq!((s.ran, s.failed.len()), (4, 0));
    assert_eq!(checkpoint_files(dir.path(), ".discarded"), 2);
    assert_eq!(checkpoint_files(dir.path(), ".json"), 0);
    assert!(
        traces(dir.path()) == reference,
        "runs differ after set-aside checkpoints"
    );

    // A checkpoint the method cannot use (random search keeps no state): the run fails
    // rather than search on from a restored oracle, and the file is set aside.
    let dir = tempfile::tempdir().unwrap();
    let set = common::nb201().unwrap();
    let job = weaknas_harness::runner::jobs(&spec(), set, &[0])
        .unwrap()
        .into_iter()
        .find(|j| j.method.name == "Random search")
        .unwrap();
    let rng = weaknas_harness::rng::stream(&job.entry, 0, "search");
    let forged = serde_json::json!({
        "format": weaknas_harness::checkpoint::FORMAT, "run_id": job.run_id,
        "code_fingerprint": "git:b", "earlier_code": [], "elapsed_s": 1.0,
        "rng_seed": rng.get_seed().iter().map(|b| format!("{b:02x}")).collect::<String>(), "rng_stream": rng.get_stream(),
        "rng_word_pos": "0", "iteration": 0, "queries": [],
        "observer": { "records": [], "ranked": [] }, "kernels": "", "searcher": { "k": 0 },
    });
    let path = weaknas_harness::checkpoint::path_in(dir.path(), &job.run_id);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, forged.to_string()).unwrap();
    let s = run(dir.path(), "git:b", Some(policy(None, false)));
    assert_eq!(s.failed.len(), 1, "{:?}", s.failed);
    assert!(
        s.failed[0].3.contains("did not take the state"),
        "{:?}",
        s.failed
    );
    assert_eq!(checkpoint_files(dir.path(), ".discarded"), 1);
}
