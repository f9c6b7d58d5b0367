//! Within-run checkpoints: a run that is stopped part-way (a session ends, the machine
//! reboots, the process is killed) continues from its last checkpoint instead of starting
//! over, and ends bit-identical to a run that was never stopped.
//!
//! A run until the optimum costs about the square of its queries, and one can outlive the
//! session it started in; without checkpoints it would start from nothing every time.
//!
//! A searcher that can continue (WeakNAS and WeakNAS-EI) calls
//! [`SearchContext::checkpoint`](crate::searcher::SearchContext::checkpoint) at its iteration
//! boundaries with its own state. When one is due (every `--checkpoint-every` seconds), the
//! run's state is written atomically to `<out>/checkpoints/<run id>.json`:
//! - the searcher's state (for WeakNAS: the iteration and its training set),
//! - the position of the searcher's random stream,
//! - every query so far (cell, iteration, charge, value bits, wall time),
//! - the observer's diagnostics and recorded rankings so far,
//! - the GEMM kernels noted so far and the code that wrote it.
//!
//! A later invocation, before the searcher starts, replays the queries into a fresh oracle
//! (checking each value bit for bit), restores the stream and the observer, and hands the
//! searcher its state ([`SearchContext::resume`](crate::searcher::SearchContext)). A checkpoint
//! that cannot be read or replayed is set aside with a warning and the run starts over;
//! the file is removed once the run is written. Floats are saved as their bits: JSON has no
//! NaN and need not read a decimal back to the same double.

use crate::oracle::{QueryEvent, SearchOracle};
use crate::rng::SeedRng;
use crate::searcher::SearchObserver;
use crate::space::CellId;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Version of the checkpoint file format.
pub const FORMAT: u32 = 1;

/// Where the checkpoint of run `run_id` is kept in result directory `dir`.
pub fn path_in(dir: &Path, run_id: &str) -> PathBuf {
    dir.join("checkpoints").join(format!("{run_id}.json"))
}

/// One query as saved: cell, iteration, charged, bits of the value, wall seconds.
type SavedQuery = (CellId, u32, bool, u64, f64);

/// Everything a run needs to continue where it was saved.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// [`FORMAT`] of the writer.
    pub format: u32,
    /// The run's content address.
    pub run_id: String,
    /// Fingerprint of the code that wrote it.
    pub code_fingerprint: String,
    /// Fingerprints of the code that ran the run's earlier pieces (oldest first).
    pub earlier_code: Vec<String>,
    /// Seconds the run had been running (over all its pieces).
    pub elapsed_s: f64,
    /// The searcher's random stream: its seed (hex), stream and word position.
    pub rng_seed: String,
    /// ChaCha stream number.
    pub rng_stream: u64,
    /// ChaCha word position (decimal: it is a u128).
    pub rng_word_pos: String,
    /// The oracle's current iteration label.
    pub iteration: u32,
    /// Every query so far, in order.
    pub queries: Vec<SavedQuery>,
    /// The observer's state ([`SearchObserver::save_state`]).
    pub observer: serde_json::Value,
    /// GEMM kernels noted so far (`"; "`-joined).
    pub kernels: String,
    /// The searcher's own state.
    pub searcher: serde_json::Value,
}

impl Checkpoint {
    /// Charged queries in the checkpoint.
    pub fn charged(&self) -> usize {
        self.queries.iter().filter(|q| q.2).count()
    }
    /// The saved queries as oracle events.
    fn events(&self) -> Vec<QueryEvent> {
        self.queries
            .iter()
            .map(|&(cell, iteration, charged, bits, wall_s)| QueryEvent {
                cell,
                iteration,
                charged,
                value: f64::from_bits(bits),
                wall_s,
            })
            .collect()
    }
}

/// How an invocation uses checkpoints (from [`crate::runner::RunOptions`]).
#[derive(Clone, Debug)]
pub struct CheckpointPolicy {
    /// Least time between two checkpoints of a run (zero: at every iteration boundary).
    pub every: Duration,
    /// Continue a checkpoint written by other code (the meta then names both).
    pub accept_other_code: bool,
    /// End the run with an error right after this many checkpoints (drills and tests of
    /// resumption; never set in normal use).
    pub interrupt_after: Option<usize>,
}

/// The error a run ends with when [`CheckpointPolicy::interrupt_after`] stops it.
#[derive(Debug, thiserror::Error)]
#[error("interrupted on purpose after {0} checkpoint(s) (--interrupt-after-checkpoints)")]
pub struct Interrupted(pub usize);

/// One run's checkpoints: where they go, when the next is due, what the run continued from.
#[derive(Debug)]
pub struct Checkpoints {
    path: PathBuf,
    run_id: String,
    fingerprint: String,
    policy: CheckpointPolicy,
    last: Instant,
    saved: usize,
    earlier_code: Vec<String>,
    elapsed_before: f64,
    started: Instant,
}

impl Checkpoints {
    /// Checkpoints of run `run_id` at `path`, written by code `fingerprint`.
    pub fn new(path: PathBuf, run_id: &str, fingerprint: &str, policy: CheckpointPolicy) -> Self {
        Self {
            path,
            run_id: run_id.to_string(),
            fingerprint: fingerprint.to_string(),
            policy,
            last: Instant::now(),
            saved: 0,
            earlier_code: Vec::new(),
            elapsed_before: 0.0,
            started: Instant::now(),
        }
    }

    /// The checkpoint file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The saved checkpoint of this run, if there is one this invocation may continue. One
    /// that cannot be read, belongs to another run or format, or (unless the policy accepts
    /// it) was written by other code is set aside (renamed `*.discarded`) with a log line.
    pub fn load(&self) -> Option<Checkpoint> {
        if !self.path.is_file() {
            return None;
        }
        let read = || -> Result<Checkpoint> {
            let bytes = std::fs::read(&self.path)?;
            let c: Checkpoint = serde_json::from_slice(&bytes).context("not a checkpoint")?;
            if c.format != FORMAT {
                bail!("format {} (this build reads {FORMAT})", c.format);
            }
            if c.run_id != self.run_id {
                bail!("it belongs to run {}", c.run_id);
            }
            if c.code_fingerprint != self.fingerprint && !self.policy.accept_other_code {
                bail!(
                    "it was written by {} and this build is {} (--keep-stale continues it)",
                    c.code_fingerprint,
                    self.fingerprint
                );
            }
            Ok(c)
        };
        match read() {
            Ok(c) => Some(c),
            Err(e) => {
                self.set_aside(&format!("{e:#}"));
                None
            }
        }
    }

    /// Moves the checkpoint out of the way (to `*.discarded`, kept for inspection) and logs
    /// why; the run starts over.
    pub fn set_aside(&self, why: &str) {
        let to = self.path.with_extension("json.discarded");
        let moved = std::fs::rename(&self.path, &to);
        tracing::warn!(
            "{}: checkpoint not used ({why}); the run starts over{}",
            self.path.display(),
            match moved {
                Ok(()) => format!(" (file kept as {})", to.display()),
                Err(_) => String::new(),
            }
        );
    }

    /// Restores `oracle` (fresh), `rng` (as derived for the run) and `observer` (fresh) to
    /// the checkpoint and returns the searcher's state. On error the three may be half
    /// restored: build them anew.
    pub fn restore(
        &mut self,
        c: &Checkpoint,
        oracle: &mut SearchOracle,
        rng: &mut SeedRng,
        observer: &mut dyn SearchObserver,
    ) -> Result<serde_json::Value> {
        if hex::encode(rng.get_seed()) != c.rng_seed || rng.get_stream() != c.rng_stream {
            bail!("its random stream is not the one this run derives");
        }
        let pos: u128 = c.rng_word_pos.parse().context("random stream position")?;
        observer.restore_state(&c.observer).context("diagnostics")?;
        oracle
            .replay(&c.events(), c.iteration, c.elapsed_s)
            .context("replaying its queries")?;
        rng.set_word_pos(pos);
        for k in c.kernels.split("; ").filter(|k| !k.is_empty()) {
            crate::predictor::record_kernel(k.to_string());
        }
        self.earlier_code = c.earlier_code.clone();
        if self.earlier_code.last() != Some(&c.code_fingerprint) {
            self.earlier_code.push(c.code_fingerprint.clone());
        }
        self.elapsed_before = c.elapsed_s;
        self.started = Instant::now();
        self.last = Instant::now();
        tracing::info!(
            "continuing from its checkpoint: {} queries charged, iteration {}, {:.1} min so far",
            c.charged(),
            c.iteration,
            c.elapsed_s / 60.0
        );
        Ok(c.searcher.clone())
    }

    /// Seconds the run has been running, over all its pieces.
    pub fn elapsed_s(&self) -> f64 {
        self.elapsed_before + self.started.elapsed().as_secs_f64()
    }

    /// The code fingerprint for the run's meta: this build's, followed by the code of any
    /// earlier piece that differs (`git:b (continued from a checkpoint of git:a)`).
    pub fn fingerprint_for_meta(&self) -> String {
        let other: Vec<&str> = self
            .earlier_code
            .iter()
            .filter(|f| **f != self.fingerprint)
            .map(String::as_str)
            .collect();
        if other.is_empty() {
            self.fingerprint.clone()
        } else {
            format!(
                "{} (continued from a checkpoint of {})",
                self.fingerprint,
                other.join(", ")
            )
        }
    }

    /// Saves a checkpoint if one is due; after the policy's `interrupt_after`-th it returns
    /// [`Interrupted`].
    pub(crate) fn save_if_due(
        &mut self,
        oracle: &SearchOracle,
        rng: &SeedRng,
        observer: &dyn SearchObserver,
        searcher: impl FnOnce() -> serde_json::Value,
    ) -> Result<()> {
        if self.last.elapsed() < self.policy.every {
            return Ok(());
        }
        let c = Checkpoint {
            format: FORMAT,
            run_id: self.run_id.clone(),
            code_fingerprint: self.fingerprint.clone(),
            earlier_code: self.earlier_code.clone(),
            elapsed_s: self.elapsed_s(),
            rng_seed: hex::encode(rng.get_seed()),
            rng_stream: rng.get_stream(),
            rng_word_pos: rng.get_word_pos().to_string(),
            iteration: oracle.iteration(),
            queries: oracle
                .events()
                .iter()
                .map(|e| (e.cell, e.iteration, e.charged, e.value.to_bits(), e.wall_s))
                .collect(),
            observer: observer.save_state(),
            kernels: crate::predictor::peek_kernels(),
            searcher: searcher(),
        };
        let bytes = serde_json::to_vec(&c)?;
        crate::fsutil::atomic_write(&self.path, &bytes)
            .with_context(|| format!("writing checkpoint {}", self.path.display()))?;
        self.saved += 1;
        self.last = Instant::now();
        if self.policy.interrupt_after.is_some_and(|n| self.saved >= n) {
            return Err(Interrupted(self.saved).into());
        }
        Ok(())
    }

    /// Removes the checkpoint (the run is written); a missing file is fine.
    pub fn remove(path: &Path) -> Result<()> {
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(e).with_context(|| format!("removing checkpoint {}", path.display()))
            }
            _ => Ok(()),
        }
    }
}
