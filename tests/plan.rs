//! `weaknas run SPEC --plan` on the real NAS-Bench-201 data (imported from ../shared/data into
//! a temporary $WEAKNAS_HOME): the printed plan, and the Slurm job-array script it writes, run
//! through a stand-in `sbatch` (array tasks one after another on this machine, then the merge
//! job), after which the merged directory holds every run of the spec.

mod common;

use common::{ok, weaknas};

const SPEC: &str = r#"
name = "plan"
seeds = "0..2"
budget = 20
[[benchmark]]
benchmark = "nb201"
dataset = "cifar10"
search = "cifar10-valid/x-valid@200"
report = "cifar10/ori-test@200"
[[method]]
name = "WeakNAS"
method = "weaknas"
params = { predictor = { type = "mlp", hidden = [16], max_iter = 20 } }
[[method]]
name = "Random search"
method = "random"
"#;

/// Stand-in for Slurm's sbatch: logs its arguments to $SBATCH_LOG; `--wrap CMD` runs CMD;
/// a script runs once per task of its `#SBATCH --array=A-B` line with SLURM_ARRAY_TASK_ID set
/// (one after another, so a later dependent job finds them done); prints only a job id, as
/// `sbatch --parsable` does (the jobs' own output goes to stderr here, to files under Slurm).
const SBATCH: &str = r#"#!/bin/sh
echo "$*" >> "$SBATCH_LOG"
wrap=""; script=""
while [ $# -gt 0 ]; do
  case "$1" in
    --wrap) shift; wrap="$1";;
    --wrap=*) wrap="${1#--wrap=}";;
    --*) ;;
    *) script="$1";;
  esac
  shift
done
if [ -n "$wrap" ]; then sh -c "$wrap" >&2 || exit 1; echo 43; exit 0; fi
range=$(sed -n 's/^#SBATCH --array=//p' "$script")
i=${range%-*}; last=${range#*-}
while [ "$i" -le "$last" ]; do
  SLURM_ARRAY_TASK_ID=$i sh "$script" >&2 || exit 1
  i=$((i + 1))
done
echo 42
"#;

#[test]
fn plan_prints_estimates_and_its_slurm_script_runs_and_merges() {
    let Some(home) = common::home_with_nb201() else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let spec = work.path().join("plan.toml");
    std::fs::write(&spec, SPEC).unwrap();
    let out = work.path().join("out");
    let script = work.path().join("array.sh");

    // A target no run fits in: one run per shard (4 shards).
    let text = ok(weaknas(home.path())
        .arg("run")
        .arg(&spec)
        .args(["--plan", "--plan-wall", "0.001s", "--plan-cores", "1"])
        .arg("--out")
        .arg(&out)
        .arg("--slurm-script")
        .arg(&script));
    assert!(text.contains("4 runs, 0 already finished"), "{text}");
    assert!(text.contains("left to run: 4 runs"), "{text}");
    assert!(text.contains("MLP model: 2 fits"), "{text}");
    assert!(text.contains("(measured, early stopping; bound"), "{text}");
    assert!(text.contains("one real run timed"), "{text}");
    assert!(text.contains("--shard I/4"), "{text}");
    assert!(!out.exists(), "--plan runs nothing");
    let body = std::fs::read_to_string(&script).unwrap();
    assert!(body.contains("#SBATCH --array=1-4"), "{body}");
    assert!(
        body.contains("--shard \"$SLURM_ARRAY_TASK_ID/4\""),
        "{body}"
    );

    // A generous target: one shard.
    let text =
        ok(weaknas(home.path())
            .arg("run")
            .arg(&spec)
            .args(["--plan", "--plan-wall", "100h"]));
    assert!(text.contains("--shard I/1"), "{text}");

    // Under a stop rule the MLP estimate counts the whole budget and says it is a bound.
    let opt = work.path().join("opt.toml");
    std::fs::write(
        &opt,
        SPEC.replace("budget = 20", "budget = 15625\nstop = \"optimum\""),
    )
    .unwrap();
    let text =
        ok(weaknas(home.path())
            .arg("run")
            .arg(&opt)
            .args(["--plan", "--methods", "WeakNAS"]));
    assert!(
        text.contains("1563 fits") && text.contains("an upper bound: runs stop at the optimum"),
        "{text}"
    );

    // --methods (and --datasets) plan and script only those methods (datasets).
    let only = work.path().join("only.sh");
    let text = ok(weaknas(home.path())
        .arg("run")
        .arg(&spec)
        .args(["--plan", "--methods", "Random search"])
        .args(["--datasets", "cifar10", "--slurm-script"])
        .arg(&only));
    assert!(
        text.contains("2 runs") && !text.contains("MLP model"),
        "{text}"
    );
    let body = std::fs::read_to_string(&only).unwrap();
    assert!(
        body.contains("--methods 'Random search'") && body.contains("--datasets 'cifar10'"),
        "{body}"
    );

    // Submit through the stand-in: 4 array tasks, then the merge.
    let bin = work.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let sbatch = bin.join("sbatch");
    std::fs::write(&sbatch, SBATCH).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&sbatch, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let log = work.path().join("sbatch.log");
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    ok(std::process::Command::new("sh")
        .arg(&script)
        .env("PATH", path)
        .env("SBATCH_LOG", &log)
        .env("WEAKNAS_HOME", home.path())
        .env("WEAKNAS_LOG", "warn"));
    let calls = std::fs::read_to_string(&log).unwrap();
    assert_eq!(calls.lines().count(), 2, "{calls}");
    assert!(calls
        .lines()
        .nth(1)
        .unwrap()
        .contains("--dependency=afterok:42"));
    for i in 1..=4 {
        assert!(out.join(format!("shard-{i}")).is_dir(), "shard {i} ran");
    }
    // The merged directory holds every run: running the spec there does nothing.
    let text = ok(weaknas(home.path())
        .arg("run")
        .arg(&spec)
        .arg("--out")
        .arg(&out));
    assert!(text.contains("4 runs, 4 already done, 0 ran"), "{text}");
    // The plan counts what the directory holds: with a third seed, 2 of 6 runs are left, one
    // per method, and the shards (empty directories) would still make all 6.
    let text = ok(weaknas(home.path())
        .arg("run")
        .arg(&spec)
        .args(["--plan", "--seeds", "0..3", "--out"])
        .arg(&out));
    assert!(text.contains("6 runs, 4 already finished in"), "{text}");
    assert!(text.contains("left to run: 2 runs"), "{text}");
    assert!(
        text.contains("the shards make all 6 runs, finished ones included"),
        "{text}"
    );
    let row = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} row: {text}"))
            .split_whitespace()
            .skip(name.split_whitespace().count() + 1)
            .take(2)
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(row("WeakNAS"), "3 1", "runs and left: {text}");
    assert_eq!(row("Random search"), "3 1", "runs and left: {text}");
}
