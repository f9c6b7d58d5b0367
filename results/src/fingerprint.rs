//! Which code produced stored runs. Runs are content-addressed by spec entry, seed, data and
//! harness version, not by the code, so a result directory could hold runs of an older
//! build under the same ids; every run records its code fingerprint
//! ([`RunMeta::code_fingerprint`](weaknas_harness::trace::RunMeta)) and these helpers find the
//! runs of other code (runs stored before fingerprints existed count as "unknown
//! fingerprint").

use crate::sink::{list_runs, load_meta};
use anyhow::Result;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Stored runs of other code: fingerprint label -> run ids.
pub type StaleRuns = BTreeMap<String, Vec<String>>;

/// The runs among `run_ids` stored in `dir` whose fingerprint differs from `current`, by
/// fingerprint label (runs not stored are ignored). Errors name an unreadable run file.
pub fn stale_runs(dir: &Path, run_ids: &[String], current: &str) -> Result<StaleRuns> {
    let stored: BTreeSet<String> = list_runs(dir)?.into_iter().collect();
    let mut out = StaleRuns::new();
    for id in run_ids.iter().filter(|id| stored.contains(*id)) {
        let meta = load_meta(dir, id)?;
        if meta.code_fingerprint != current {
            out.entry(meta.fingerprint_label().to_string())
                .or_default()
                .push(id.clone());
        }
    }
    Ok(out)
}

/// One line describing stale runs: `N runs from other code: <fp> (n), <fp> (m)`.
pub fn describe_stale(stale: &StaleRuns) -> String {
    let n: usize = stale.values().map(Vec::len).sum();
    let parts: Vec<String> = stale
        .iter()
        .map(|(fp, ids)| format!("{fp} ({} runs)", ids.len()))
        .collect();
    format!(
        "{n} run{} from other code: {}",
        if n == 1 { "" } else { "s" },
        parts.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::curves::synthetic::{trace, values};
    use crate::sink::ParquetTraceSink;
    use weaknas_harness::trace::TraceSink;

    #[test]
    fn finds_runs_of_other_code_and_runs_without_a_fingerprint() {
        let d = tempfile::tempdir().unwrap();
        let sink = ParquetTraceSink::new(d.path());
        let mut ids = Vec::new();
        for (seed, fp) in [(0, "git:aaa"), (1, "git:bbb"), (2, ""), (3, "git:aaa")] {
            let mut t = trace("m", "d1", seed, &values(seed, 10, 80.0, 90.0));
            t.meta.code_fingerprint = fp.into();
            sink.write(&t).unwrap();
            ids.push(t.meta.run_id.clone());
        }
        ids.push("not-stored".into());
        assert!(stale_runs(d.path(), &ids[..1], "git:aaa")
            .unwrap()
            .is_empty());
        let s = stale_runs(d.path(), &ids, "git:aaa").unwrap();
        assert_eq!(s.len(), 2, "{s:?}");
        assert_eq!(s["git:bbb"], vec![ids[1].clone()]);
        assert_eq!(s["unknown fingerprint"], vec![ids[2].clone()]);
        assert_eq!(
            describe_stale(&s),
            "2 runs from other code: git:bbb (1 runs), unknown fingerprint (1 runs)"
        );
        // A run written before the field existed (no key in its meta) reads as unknown.
        let json = serde_json::to_value(&trace("m", "d1", 9, &[1.0]).meta).unwrap();
        let mut obj = json.as_object().unwrap().clone();
        obj.remove("code_fingerprint");
        let old: weaknas_harness::trace::RunMeta =
            serde_json::from_value(serde_json::Value::Object(obj)).unwrap();
        assert_eq!(old.fingerprint_label(), "unknown fingerprint");
    }
}
