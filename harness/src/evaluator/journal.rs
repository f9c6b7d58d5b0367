//! The evaluation journal: every finished open-domain evaluation, persisted before the
//! search moves on, so a search killed at any point resumes without re-training anything.
//!
//! One JSON object per line, appended and `fsync`ed under a lock. On opening, a last line
//! cut short by a kill (no newline, not valid JSON) is dropped with a warning and the file is
//! truncated to its last complete line; any other malformed line is an error naming the file
//! and line number — never silently skipped.

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Outcome of one evaluation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EvalStatus {
    /// The command succeeded and its result had every field.
    Ok,
    /// Every attempt failed; `error` says why.
    Failed,
}

/// One finished evaluation, as persisted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvalRecord {
    /// Content key: hash of (space, genotype, seed, command, metric fields).
    pub key: String,
    /// Space name (`nasnet`, `darts`, ...).
    pub space: String,
    /// The candidate's text form (for a genotype: the DARTS `Genotype(...)` repr).
    pub genotype: String,
    /// Seed passed to the command.
    pub seed: u64,
    /// Outcome.
    pub status: EvalStatus,
    /// Search-metric value (the searcher sees this one only).
    #[serde(default)]
    pub search: Option<f64>,
    /// Report-metric value (read by the runner, never by a searcher).
    #[serde(default)]
    pub report: Option<f64>,
    /// Cost reported by the command (e.g. training seconds), if configured.
    #[serde(default)]
    pub cost: Option<f64>,
    /// Attempts made.
    pub attempts: u32,
    /// Why it failed (last attempt), for failed evaluations.
    #[serde(default)]
    pub error: Option<String>,
    /// The command's whole result object (successful evaluations).
    #[serde(default)]
    pub result: Option<serde_json::Value>,
    /// Wall-clock seconds of all attempts.
    pub wall_s: f64,
}

/// An append-only, crash-safe journal of evaluations, keyed by [`EvalRecord::key`].
pub struct EvalJournal {
    path: PathBuf,
    file: Mutex<File>,
    records: Mutex<HashMap<String, EvalRecord>>,
}

impl EvalJournal {
    /// Opens (or creates) the journal at `path`, loading what it holds.
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let mut records = HashMap::new();
        let mut keep = bytes.len();
        let mut line_start = 0usize;
        let mut line_no = 0usize;
        while line_start < bytes.len() {
            line_no += 1;
            let (line, complete, next) = match bytes[line_start..].iter().position(|&b| b == b'\n')
            {
                Some(i) => (&bytes[line_start..line_start + i], true, line_start + i + 1),
                None => (&bytes[line_start..], false, bytes.len()),
            };
            if line.iter().all(u8::is_ascii_whitespace) {
                line_start = next;
                continue;
            }
            match serde_json::from_slice::<EvalRecord>(line) {
                Ok(r) => {
                    records.entry(r.key.clone()).or_insert(r);
                }
                Err(_) if !complete => {
                    tracing::warn!(
                        "{}: line {line_no} was cut short (an interrupted write); dropping it",
                        path.display()
                    );
                    keep = line_start;
                }
                Err(e) => bail!(
                    "{}: line {line_no} is not a valid evaluation record: {e}",
                    path.display()
                ),
            }
            line_start = next;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("opening {} for appending", path.display()))?;
        if keep < bytes.len() {
            file.set_len(keep as u64)
                .with_context(|| format!("truncating {}", path.display()))?;
        } else if !bytes.is_empty() && bytes.last() != Some(&b'\n') {
            // A complete record without its newline: finish the line before appending.
            (&file)
                .write_all(b"\n")
                .with_context(|| format!("writing {}", path.display()))?;
        }
        Ok(Self {
            path: path.to_path_buf(),
            file: Mutex::new(file),
            records: Mutex::new(records),
        })
    }

    /// Where the journal lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The record of a key, if finished.
    pub fn get(&self, key: &str) -> Option<EvalRecord> {
        self.records.lock().expect("journal lock").get(key).cloned()
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.records.lock().expect("journal lock").len()
    }

    /// Whether the journal is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every record (unordered).
    pub fn records(&self) -> Vec<EvalRecord> {
        self.records
            .lock()
            .expect("journal lock")
            .values()
            .cloned()
            .collect()
    }

    /// Appends a record and syncs it to disk before returning.
    pub fn append(&self, rec: &EvalRecord) -> Result<()> {
        let mut line = serde_json::to_vec(rec)?;
        line.push(b'\n');
        let mut f = self.file.lock().expect("journal lock");
        f.write_all(&line)
            .and_then(|_| f.sync_data())
            .with_context(|| format!("appending to {}", self.path.display()))?;
        self.records
            .lock()
            .expect("journal lock")
            .entry(rec.key.clone())
            .or_insert_with(|| rec.clone());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(key: &str, v: f64) -> EvalRecord {
        EvalRecord {
            key: key.into(),
            space: "darts".into(),
            genotype: "G".into(),
            seed: 0,
            status: EvalStatus::Ok,
            search: Some(v),
            report: Some(v - 1.0),
            cost: None,
            attempts: 1,
            error: None,
            result: None,
            wall_s: 0.5,
        }
    }

    #[test]
    fn round_trip_and_reopen() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("e/journal.jsonl");
        let j = EvalJournal::open(&p).unwrap();
        j.append(&rec("a", 1.0)).unwrap();
        j.append(&rec("b", 2.0)).unwrap();
        drop(j);
        let j = EvalJournal::open(&p).unwrap();
        assert_eq!(j.len(), 2);
        assert_eq!(j.get("b").unwrap().search, Some(2.0));
    }

    #[test]
    fn cut_short_last_line_is_dropped_and_the_file_repaired() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("j.jsonl");
        let j = EvalJournal::open(&p).unwrap();
        j.append(&rec("a", 1.0)).unwrap();
        drop(j);
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(br#"{"key":"b","spa"#).unwrap();
        drop(f);
        let j = EvalJournal::open(&p).unwrap();
        assert_eq!(j.len(), 1);
        j.append(&rec("c", 3.0)).unwrap();
        drop(j);
        let j = EvalJournal::open(&p).unwrap();
        assert_eq!(j.len(), 2, "the repaired file takes new records");
        assert!(j.get("c").is_some());
    }

    #[test]
    fn corrupt_middle_line_names_file_and_line() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("j.jsonl");
        let good = serde_json::to_string(&rec("a", 1.0)).unwrap();
        std::fs::write(&p, format!("{good}\nnot json\n{good}\n")).unwrap();
        let e = EvalJournal::open(&p).err().unwrap().to_string();
        assert!(e.contains("j.jsonl") && e.contains("line 2"), "{e}");
    }
}
