//! End-to-end tests of open-domain search (`[benchmark.evaluator]`): a DARTS-space pool
//! evaluated by a stand-in training command (a shell script whose "accuracy" is a synthetic
//! function of the genotype file — named synthetic, used only to test the machinery), run
//! through `weaknas run`, killed and resumed, sharded and merged, and submitted through
//! stand-ins of Slurm's `sbatch --wait` and of ssh under GNU parallel on loopback.

use assert_cmd::Command;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Synthetic stand-in trainer: `train.sh GENOTYPE RESULT SEED`. Logs each launch's key to
/// $LAUNCHES; sleeps $SLEEP; fails when the genotype's checksum is divisible by $FAIL_MOD.
const TRAIN_SH: &str = r#"#!/bin/sh
g="$1"; r="$2"; s="$3"
echo "$WEAKNAS_KEY" >> "$LAUNCHES"
if [ -n "$SLEEP" ]; then sleep "$SLEEP"; fi
h=$(cksum < "$g" | cut -d' ' -f1)
if [ -n "$FAIL_MOD" ] && [ $((h % FAIL_MOD)) -eq 0 ]; then echo "synthetic failure" >&2; exit 1; fi
n=$(grep -o 'sep_conv' "$g" | wc -l)
v=$((n * 3 + h % 5 + s))
printf '{"valid": %d, "test": %d, "secs": 0.01}\n' "$v" $((v - 1)) > "$r"
"#;

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let t = dir.path().join("train.sh");
        std::fs::write(&t, TRAIN_SH).unwrap();
        chmod_x(&t);
        Self { dir }
    }
    fn path(&self) -> &Path {
        self.dir.path()
    }
    fn launches(&self) -> Vec<String> {
        std::fs::read_to_string(self.path().join("launches.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }
    /// Writes a spec with this evaluator command (`TRAIN` = the stand-in trainer's path).
    fn spec(&self, name: &str, budget: usize, seeds: &str, command: &str, extra: &str) -> PathBuf {
        let cmd = command.replace("TRAIN", &self.path().join("train.sh").display().to_string());
        let conc = if extra.contains("concurrency") {
            ""
        } else {
            "concurrency = 2,"
        };
        let text = format!(
            r#"
name = "{name}"
seeds = "{seeds}"
budget = {budget}
[[benchmark]]
benchmark = "darts"
dataset = "standin"
search = "valid"
report = "test"
pool = {{ size = 400, seed = 1 }}
evaluator = {{ command = {cmd:?}, {conc} timeout_s = 60, retries = 1, cost = "secs" {extra} }}
[[method]]
name = "WeakNAS"
method = "weaknas"
params = {{ init = 10, per_iter = 5, top_n = 40, normalize = "queried", predictor = {{ type = "mlp", hidden = [16, 16], max_iter = 30 }} }}
[[method]]
name = "Random search"
method = "random"
[[method]]
name = "Regularized evolution"
method = "evolution"
params = {{ population_size = 8, sample_size = 3 }}
"#
        );
        let p = self.path().join(format!("{name}.toml"));
        std::fs::write(&p, text).unwrap();
        p
    }
    /// Starts `weaknas run SPEC --out OUT` in the background (to kill or interrupt it).
    fn spawn_run(&self, spec: &Path, out: &Path, vars: &[(&str, &str)]) -> std::process::Child {
        std::process::Command::new(env!("CARGO_BIN_EXE_weaknas"))
            .args(["run", "--quiet"])
            .arg(spec)
            .arg("--out")
            .arg(out)
            .env("WEAKNAS_HOME", self.path().join("home"))
            .env("WEAKNAS_LOG", "warn")
            .env("LAUNCHES", self.path().join("launches.log"))
            .envs(vars.iter().copied())
            .spawn()
            .unwrap()
    }
    /// `weaknas run SPEC --out OUT` with extra environment variables; it must succeed.
    fn run_ok(&self, spec: &Path, out: &Path, vars: &[(&str, &str)]) {
        self.weaknas()
            .envs(vars.iter().copied())
            .args(["run"])
            .arg(spec)
            .arg("--out")
            .arg(out)
            .assert()
            .success();
    }
    fn weaknas(&self) -> Command {
        let mut c = Command::cargo_bin("weaknas").unwrap();
        c.env("WEAKNAS_HOME", self.path().join("home"))
            .env("WEAKNAS_LOG", "warn")
            .env("LAUNCHES", self.path().join("launches.log"));
        c
    }
}

fn chmod_x(p: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// (run id -> charged (cell, search, report)) of a result directory.
fn results(out: &Path) -> BTreeMap<String, Vec<(u32, u64, u64)>> {
    weaknas_results::load_traces(out)
        .unwrap()
        .into_iter()
        .map(|t| {
            let q = t
                .queries
                .iter()
                .filter(|q| q.charged)
                .map(|q| (q.cell, q.search_value.to_bits(), q.report_value.to_bits()))
                .collect();
            (t.meta.run_id, q)
        })
        .collect()
}

fn journal_lines(out: &Path) -> Vec<serde_json::Value> {
    let p = out.join("evaluations/darts-standin/journal.jsonl");
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

const LOCAL: &str = "TRAIN {genotype} {result} {seed}";

#[test]
fn open_domain_search_runs_and_is_never_retrained() {
    let env = Env::new();
    let spec = env.spec("od", 20, "0..2", LOCAL, "");
    let out = env.path().join("out");
    env.run_ok(&spec, &out, &[]);
    let runs = weaknas_results::load_traces(&out).unwrap();
    assert_eq!(runs.len(), 6, "3 methods x 2 seeds");
    let journal = journal_lines(&out);
    for t in &runs {
        let charged: Vec<_> = t.queries.iter().filter(|q| q.charged).collect();
        assert_eq!(charged.len(), 20, "{}: exact budget", t.meta.method);
        for q in charged {
            // The runner took the report metric from the command's result (test = valid - 1).
            assert_eq!(q.report_value, q.search_value - 1.0);
            assert!(q.search_value.is_finite());
        }
        assert!(
            t.meta.report_optimum.is_nan(),
            "no optimum is known in open domain"
        );
    }
    // Every launch is a distinct evaluation, and each is journaled exactly once.
    let launches = env.launches();
    let mut uniq = launches.clone();
    uniq.sort();
    uniq.dedup();
    assert_eq!(uniq.len(), launches.len(), "no evaluation ran twice");
    assert_eq!(journal.len(), launches.len());
    // The genotype file the command read is the DARTS JSON form.
    let key = journal[0]["key"].as_str().unwrap();
    let g: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            out.join("evaluations/darts-standin/work")
                .join(key)
                .join("genotype.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(g["space"], "darts");
    assert_eq!(g["normal"].as_array().unwrap().len(), 8);
    assert!(g["text"].as_str().unwrap().starts_with("Genotype(normal=["));
    // A second invocation does nothing: runs are done, nothing is trained again.
    env.run_ok(&spec, &out, &[]);
    assert_eq!(env.launches().len(), launches.len());
    // --force redoes the runs from the journal, still without training anything.
    let before = results(&out);
    env.weaknas()
        .args(["run", "--force"])
        .arg(&spec)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    assert_eq!(env.launches().len(), launches.len());
    assert_eq!(results(&out), before, "replayed runs are identical");
    // reproduce renders the results: the architectures found, no optimum-based tables.
    env.weaknas()
        .args(["reproduce"])
        .arg(&spec)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let index = std::fs::read_to_string(out.join("index.md")).unwrap();
    assert!(
        index.contains("Architectures found") && index.contains("`Genotype(normal=[("),
        "{index}"
    );
    assert!(
        !index.contains("Regret of the incumbent"),
        "no optimum is known in open domain"
    );
    assert!(out.join("figures/curve_darts_standin.png").is_file());
    assert_eq!(
        env.launches().len(),
        launches.len(),
        "rendering trains nothing"
    );
}

#[test]
fn killed_search_resumes_without_retraining() {
    let env = Env::new();
    let spec = env.spec("kill", 24, "0..1", LOCAL, "");
    let out = env.path().join("out");
    let mut child = env.spawn_run(&spec, &out, &[("SLEEP", "0.05")]);
    let t0 = Instant::now();
    while journal_lines(&out).len() < 30 {
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "search made no progress"
        );
        if let Some(s) = child.try_wait().unwrap() {
            panic!("finished before it could be killed ({s}); make the search longer");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let finished: Vec<String> = journal_lines(&out)
        .iter()
        .map(|r| r["key"].as_str().unwrap().to_string())
        .collect();
    assert!(
        weaknas_results::list_runs(&out).unwrap().len() < 3,
        "killed mid-spec"
    );
    env.run_ok(&spec, &out, &[]);
    let launches = env.launches();
    for k in &finished {
        assert_eq!(
            launches.iter().filter(|l| *l == k).count(),
            1,
            "evaluation {k} finished before the kill and was trained again"
        );
    }
    // The resumed result equals an uninterrupted search.
    let clean = env.path().join("clean");
    env.run_ok(&spec, &clean, &[]);
    assert_eq!(results(&out), results(&clean));
}

#[test]
fn a_second_process_on_the_same_output_is_refused() {
    let env = Env::new();
    let spec = env.spec("lock", 24, "0..1", LOCAL, "");
    let out = env.path().join("out");
    let mut first = env.spawn_run(&spec, &out, &[("SLEEP", "0.05")]);
    let t0 = Instant::now();
    while journal_lines(&out).is_empty() {
        assert!(t0.elapsed() < Duration::from_secs(120), "no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    // While the first search trains, a second one on the same directory stops at once with
    // the owner's pid (it would train the same cells and append to the same journal).
    env.weaknas()
        .args(["run"])
        .arg(&spec)
        .arg("--out")
        .arg(&out)
        .assert()
        .failure()
        .stderr(predicates::str::contains(format!(
            "in use by another weaknas process (pid {})",
            first.id()
        )));
    assert!(first.wait().unwrap().success());
    assert_eq!(weaknas_results::list_runs(&out).unwrap().len(), 3);
    // Released at exit: the same command now finds everything done.
    env.run_ok(&spec, &out, &[]);
}

#[test]
fn failed_evaluations_are_retried_recorded_and_the_search_goes_on() {
    let env = Env::new();
    let spec = env.spec("fail", 20, "0..1", LOCAL, "");
    let out = env.path().join("out");
    env.run_ok(&spec, &out, &[("FAIL_MOD", "4")]);
    let journal = journal_lines(&out);
    let failed: Vec<_> = journal.iter().filter(|r| r["status"] == "failed").collect();
    assert!(!failed.is_empty(), "some synthetic failures expected");
    for r in &failed {
        assert_eq!(r["attempts"], 2, "retried once");
        assert!(
            r["error"].as_str().unwrap().contains("synthetic failure"),
            "{r}"
        );
    }
    for t in weaknas_results::load_traces(&out).unwrap() {
        let charged: Vec<_> = t.queries.iter().filter(|q| q.charged).collect();
        assert_eq!(
            charged.len(),
            20,
            "failures are charged; the budget is still spent exactly"
        );
        assert!(
            charged.iter().any(|q| q.search_value.is_nan()) || t.meta.method != "Random search"
        );
    }
}

#[test]
fn shards_merge_into_the_unsharded_result() {
    let env = Env::new();
    let spec = env.spec("shard", 12, "0..2", LOCAL, "");
    let whole = env.path().join("whole");
    env.run_ok(&spec, &whole, &[]);
    let mut parts = Vec::new();
    for i in 1..=3 {
        let o = env.path().join(format!("part{i}"));
        env.weaknas()
            .args(["run", "--shard", &format!("{i}/3")])
            .arg(&spec)
            .arg("--out")
            .arg(&o)
            .assert()
            .success();
        assert_eq!(
            weaknas_results::list_runs(&o).unwrap().len(),
            2,
            "6 runs / 3 shards"
        );
        parts.push(o);
    }
    let merged = env.path().join("merged");
    env.weaknas()
        .args(["merge", "--into"])
        .arg(&merged)
        .args(&parts)
        .assert()
        .success();
    assert_eq!(results(&merged), results(&whole));
    // Merging again adds nothing and changes nothing.
    let out = env
        .weaknas()
        .args(["merge", "--into"])
        .arg(&merged)
        .args(&parts)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("0 runs added, 2 already there"));
    assert_eq!(results(&merged), results(&whole));
    // Bad shard arguments are refused.
    for bad in ["0/3", "4/3", "x", "1/0"] {
        env.weaknas()
            .args(["run", "--shard", bad])
            .arg(&spec)
            .assert()
            .failure()
            .stderr(predicates::str::contains("--shard"));
    }
}

/// Writes a stand-in program into `bin/` (on PATH for the test's runs).
fn stand_in(env: &Env, name: &str, body: &str) -> PathBuf {
    let bin = env.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let p = bin.join(name);
    std::fs::write(&p, body).unwrap();
    chmod_x(&p);
    bin
}

/// Runs a 10-query spec (3 methods, 1 seed) whose evaluator command goes through the
/// stand-ins in `bin`; checks every run finished with every evaluation ok, and returns the
/// lines the stand-in logged to `launches.log.<log>`.
fn run_through_stand_in(
    env: &Env,
    bin: &Path,
    name: &str,
    command: &str,
    log: &str,
) -> Vec<String> {
    let spec = env.spec(name, 10, "0..1", command, "");
    let out = env.path().join("out");
    env.run_ok(&spec, &out, &[("PATH", &path_with(bin))]);
    assert_eq!(weaknas_results::list_runs(&out).unwrap().len(), 3);
    assert!(journal_lines(&out).iter().all(|r| r["status"] == "ok"));
    std::fs::read_to_string(format!(
        "{}.{log}",
        env.path().join("launches.log").display()
    ))
    .unwrap()
    .lines()
    .map(str::to_string)
    .collect()
}

fn path_with(bin: &Path) -> String {
    format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

#[test]
fn slurm_sbatch_wait_template_with_a_stand_in_sbatch() {
    let env = Env::new();
    // Stand-in for Slurm's sbatch: accepts the options the README's template uses, runs the
    // --wrap command as a job would (here, on this machine), writes --output, and with --wait
    // exits with the job's exit code.
    let bin = stand_in(
        &env,
        "sbatch",
        r#"#!/bin/sh
wait=0; out=/dev/null; wrap=""
while [ $# -gt 0 ]; do
  case "$1" in
    --wait|-W) wait=1;;
    --output=*) out="${1#--output=}";;
    --output|-o) shift; out="$1";;
    --wrap=*) wrap="${1#--wrap=}";;
    --wrap) shift; wrap="$1";;
    --*) ;;
  esac
  shift
done
[ "$wait" = 1 ] || { echo "this stand-in only supports --wait" >&2; exit 2; }
echo "Submitted batch job 42"
echo sbatch >> "$LAUNCHES.sbatch"
sh -c "$wrap" > "$(echo "$out" | sed 's/%j/42/')" 2>&1
"#,
    );
    let sbatch = run_through_stand_in(
        &env,
        &bin,
        "slurm",
        r#"sbatch --wait --quiet --job-name=weaknas-{key} --output={workdir}/slurm-%j.out --gres=gpu:1 --wrap "TRAIN {genotype} {result} {seed}""#,
        "sbatch",
    );
    assert_eq!(
        sbatch.len(),
        env.launches().len(),
        "every evaluation went through sbatch"
    );
}

#[test]
fn gnu_parallel_over_ssh_template_on_loopback() {
    if std::process::Command::new("parallel")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "GNU parallel is missing on CI (.ci/run installs it)"
        );
        eprintln!("skipping: GNU parallel is not installed");
        return;
    }
    let env = Env::new();
    // Stand-in for ssh: skips ssh's options, logs the host, runs the command on this machine
    // (loopback) — GNU parallel itself is real.
    let bin = stand_in(
        &env,
        "fake-ssh",
        r#"#!/bin/sh
while [ $# -gt 0 ]; do
  case "$1" in
    -l|-p|-i|-o|-F) shift 2;;
    --) shift; break;;
    -*) shift;;
    *) host="$1"; shift; [ "${1:-}" = "--" ] && shift; break;;
  esac
done
echo "$host" >> "$LAUNCHES.hosts"
# Like sshd, start the remote command with the login shell in SHELL: GNU parallel's remote
# wrapper runs the job with $SHELL, and CI's environment has no SHELL of its own.
SHELL=/bin/sh; export SHELL
exec sh -c "$*"
"#,
    );
    let mut seen = run_through_stand_in(
        &env,
        &bin,
        "parallel",
        r#"parallel --will-cite -N0 --ssh fake-ssh -S 1/gpu-node{slot} --workdir . "TRAIN {genotype} {result} {seed}" ::: 1"#,
        "hosts",
    );
    assert_eq!(
        seen.len(),
        env.launches().len(),
        "every evaluation went through ssh"
    );
    seen.sort();
    seen.dedup();
    assert!(
        seen.iter().all(|h| h == "gpu-node1" || h == "gpu-node2"),
        "hosts come from {{slot}} (concurrency 2): {seen:?}"
    );
}

#[test]
fn bad_open_domain_specs_are_refused_with_clear_errors() {
    let env = Env::new();
    let cases = [
        (
            "TRAIN {genome} {result}",
            "",
            "unknown placeholder {genome}",
        ),
        ("TRAIN {genotype}", "", "{result}"),
        (LOCAL, ", concurrency = 0", "concurrency"),
    ];
    for (cmd, extra, want) in cases {
        let spec = env.spec("bad", 10, "0..1", cmd, extra);
        env.weaknas()
            .args(["run"])
            .arg(&spec)
            .assert()
            .failure()
            .stderr(predicates::str::contains(want));
    }
    // A budget larger than the pool.
    let spec = env.spec("big", 500, "0..1", LOCAL, "");
    env.weaknas()
        .args(["run"])
        .arg(&spec)
        .assert()
        .failure()
        .stderr(predicates::str::contains("larger than the pool"));
}

#[test]
fn interrupting_the_search_stops_its_training_commands() {
    let env = Env::new();
    // A "training" that records its pid and runs for a minute unless stopped.
    let spec = env.spec(
        "int",
        10,
        "0..1",
        "echo $$ >> {workdir}/../../pids; sleep 60; TRAIN {genotype} {result} {seed}",
        "",
    );
    let out = env.path().join("out");
    let mut child = env.spawn_run(&spec, &out, &[]);
    let pids_file = out.join("evaluations/darts-standin/pids");
    let t0 = Instant::now();
    let pids: Vec<i32> = loop {
        let p: Vec<i32> = std::fs::read_to_string(&pids_file)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect();
        if p.len() >= 2 {
            break p;
        }
        assert!(t0.elapsed() < Duration::from_secs(60), "no command started");
        std::thread::sleep(Duration::from_millis(20));
    };
    // SIGINT, as Ctrl-C in a terminal would send to weaknas.
    let ok = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let status = child.wait().unwrap();
    assert!(!status.success(), "an interrupted run exits non-zero");
    assert!(
        journal_lines(&out).is_empty(),
        "an evaluation cut short is not journaled (it must be trained again on resume)"
    );
    let after = std::fs::read_to_string(&pids_file).unwrap().lines().count();
    assert_eq!(after, pids.len(), "nothing was retried after the interrupt");
    let t1 = Instant::now();
    for pid in pids.clone() {
        // The commands' shells are gone (no zombie: they were children of weaknas, now dead).
        loop {
            let alive = std::path::Path::new(&format!("/proc/{pid}")).exists()
                && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
                    .unwrap_or_default()
                    .contains(") Z ");
            if !alive {
                break;
            }
            assert!(
                t1.elapsed() < Duration::from_secs(10),
                "training command {pid} still running after the interrupt"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
