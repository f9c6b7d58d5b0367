//! Tests of the importer on small files written with the project's own TFRecord writer.

use super::import::{import_and_save, import_tfrecord_with, ImportOptions};
use super::metrics::ModelMetrics;
use super::space::test_space;
use super::synthetic::{record_payload, synthetic_metrics, synthetic_store, SyntheticGenerator};
use super::tfrecord::TfRecordWriter;
use super::{Nb101Space, KEY_PARAMS};
use crate::space::CellId;
use std::path::{Path, PathBuf};

/// Metrics of a made-up "real-looking" run (no synthetic marker).
fn metrics(cell: CellId, repeat: usize) -> ModelMetrics {
    let run = super::synthetic::SyntheticRun {
        validation: 0.5 + cell as f64 * 1e-6 + repeat as f64 * 0.01,
        test: 0.4 + repeat as f64 * 0.01,
        train: 0.9,
        training_time: 1000.0 + repeat as f64,
        params: 1000 + cell as i32,
    };
    let mut m = synthetic_metrics(108, repeat, &run);
    for e in &mut m.evaluation_data {
        e.checkpoint_path = Some(format!("gs://bucket/{cell}/{repeat}/model.ckpt"));
    }
    m
}

fn payload(cell: CellId, epochs: u32, repeat: usize) -> Vec<u8> {
    let s = test_space();
    record_payload(&s.spec(cell), &s.hash(cell), epochs, &metrics(cell, repeat))
}

/// Writes payloads as a TFRecord file; returns its path and each record's byte offset.
fn write(dir: &Path, name: &str, payloads: &[Vec<u8>]) -> (PathBuf, Vec<u64>) {
    let mut w = TfRecordWriter::new(Vec::new());
    let mut offsets = Vec::new();
    let mut off = 0u64;
    for p in payloads {
        offsets.push(off);
        w.write_record(p).unwrap();
        off += 16 + p.len() as u64;
    }
    let path = dir.join(name);
    std::fs::write(&path, w.finish().unwrap()).unwrap();
    (path, offsets)
}

const CELLS: [CellId; 3] = [5, 200_000, 423_623];

fn good_payloads() -> Vec<Vec<u8>> {
    CELLS
        .iter()
        .flat_map(|&c| (0..3).map(move |r| payload(c, 108, r)))
        .collect()
}

fn partial() -> ImportOptions {
    ImportOptions {
        allow_partial: true,
        ..Default::default()
    }
}

fn import_err(path: &Path) -> String {
    format!(
        "{:#}",
        import_tfrecord_with(path, &partial(), test_space()).unwrap_err()
    )
}

#[test]
fn small_file_round_trips_with_partial_flag() {
    let d = tempfile::tempdir().unwrap();
    let (path, _) = write(d.path(), "small.tfrecord", &good_payloads());
    let (store, sources, stats) = import_tfrecord_with(&path, &partial(), test_space()).unwrap();
    assert_eq!(store.benchmark, "nb101");
    assert_eq!(store.num_cells, 423_624);
    assert_eq!(stats.records, 9);
    assert_eq!(stats.cells, 3);
    assert_eq!(stats.epochs, vec![108]);
    assert_eq!(stats.representative_mismatches, 0);
    assert!(!stats.synthetic);
    assert_eq!(
        store.keys(),
        vec![
            "cifar10/ori-test@108",
            "cifar10/params",
            "cifar10/train@108",
            "cifar10/train_time_s@108",
            "cifar10/x-valid@108"
        ]
    );
    let v = store.column("cifar10/x-valid@108").unwrap();
    for &c in &CELLS {
        for r in 0..3 {
            let m = metrics(c, r).final_result().unwrap();
            assert_eq!(v.cell(c as usize)[r], m.validation_accuracy * 100.0);
            assert_eq!(
                store
                    .column("cifar10/ori-test@108")
                    .unwrap()
                    .cell(c as usize)[r],
                m.test_accuracy * 100.0
            );
            assert_eq!(
                store
                    .column("cifar10/train_time_s@108")
                    .unwrap()
                    .cell(c as usize)[r],
                m.training_time
            );
        }
        assert_eq!(
            store.column(KEY_PARAMS).unwrap().cell(c as usize),
            &[1000.0 + c as f64]
        );
    }
    assert!(v.cell(6).iter().all(|x| x.is_nan()));
    assert_eq!(sources.len(), 1);
    assert_eq!(sources[0].importer, "nb101-tfrecord");
    assert_eq!(
        sources[0].sha256,
        crate::fsutil::sha256_file(&path).unwrap()
    );
    assert_eq!(sources[0].bytes, std::fs::metadata(&path).unwrap().len());
    // Without the partial flag the same file is refused.
    let e = format!(
        "{:#}",
        import_tfrecord_with(&path, &ImportOptions::default(), test_space()).unwrap_err()
    );
    assert!(e.contains("incomplete") && e.contains("3 of 423624"), "{e}");
}

#[test]
fn all_four_budgets_give_four_key_sets() {
    let d = tempfile::tempdir().unwrap();
    let p: Vec<Vec<u8>> = [4, 12, 36, 108]
        .iter()
        .flat_map(|&e| (0..3).map(move |r| payload(7, e, r)))
        .collect();
    let (path, _) = write(d.path(), "full.tfrecord", &p);
    let (store, _, stats) = import_tfrecord_with(&path, &partial(), test_space()).unwrap();
    assert_eq!(stats.epochs, vec![4, 12, 36, 108]);
    assert_eq!(store.columns.len(), 17);
    assert_eq!(store.column("cifar10/x-valid@4").unwrap().present(7), 3);
}

#[test]
fn bad_crc_names_record_and_offset() {
    let d = tempfile::tempdir().unwrap();
    let (path, off) = write(d.path(), "x.tfrecord", &good_payloads());
    let mut b = std::fs::read(&path).unwrap();
    b[off[4] as usize + 20] ^= 0x20;
    std::fs::write(&path, &b).unwrap();
    let e = import_err(&path);
    assert!(
        e.contains(&format!("record 4 at byte offset {}", off[4])),
        "{e}"
    );
    assert!(e.contains("data CRC") && e.contains("x.tfrecord"), "{e}");
    b[off[4] as usize + 20] ^= 0x20;
    b[off[2] as usize + 1] ^= 0x01;
    std::fs::write(&path, &b).unwrap();
    let e = import_err(&path);
    assert!(
        e.contains(&format!("record 2 at byte offset {}", off[2])) && e.contains("length CRC"),
        "{e}"
    );
}

#[test]
fn truncated_file_names_record_and_offset() {
    let d = tempfile::tempdir().unwrap();
    let (path, off) = write(d.path(), "x.tfrecord", &good_payloads());
    let b = std::fs::read(&path).unwrap();
    std::fs::write(&path, &b[..b.len() - 7]).unwrap();
    let e = import_err(&path);
    assert!(
        e.contains(&format!("record 8 at byte offset {}", off[8])) && e.contains("truncated"),
        "{e}"
    );
}

fn with_bad(index: usize, bad: Vec<u8>) -> (tempfile::TempDir, PathBuf, u64) {
    let d = tempfile::tempdir().unwrap();
    let mut p = good_payloads();
    p[index] = bad;
    let (path, off) = write(d.path(), "x.tfrecord", &p);
    (d, path, off[index])
}

#[test]
fn invalid_json_is_reported() {
    let (_d, path, off) = with_bad(3, b"[\"abc\", 108, ".to_vec());
    let e = import_err(&path);
    assert!(
        e.contains(&format!("record 3 at byte offset {off}")) && e.contains("JSON"),
        "{e}"
    );
}

#[test]
fn unknown_op_is_reported() {
    let s = test_space();
    let c = CELLS[1];
    let ops = s
        .spec(c)
        .raw_operations()
        .replacen("conv3x3-bn-relu", "conv5x5", 1);
    let ops = if ops.contains("conv5x5") {
        ops
    } else {
        ops.replacen("maxpool3x3", "conv5x5", 1)
            .replacen("conv1x1-bn-relu", "conv5x5", 1)
    };
    let bad = serde_json::to_vec(&(
        s.hash(c),
        108,
        s.spec(c).raw_adjacency(),
        ops,
        metrics(c, 0).to_base64(),
    ))
    .unwrap();
    let (_d, path, off) = with_bad(3, bad);
    let e = import_err(&path);
    assert!(
        e.contains(&format!("record 3 at byte offset {off}"))
            && e.contains("unknown op \"conv5x5\""),
        "{e}"
    );
}

#[test]
fn hash_mismatch_is_reported() {
    let s = test_space();
    let (a, b) = (CELLS[0], CELLS[1]);
    // The graph of cell a with the hash of cell b.
    let bad = record_payload(&s.spec(a), &s.hash(b), 108, &metrics(a, 0));
    let (_d, path, off) = with_bad(5, bad);
    let e = import_err(&path);
    assert!(
        e.contains(&format!("record 5 at byte offset {off}"))
            && e.contains("does not match its graph")
            && e.contains(&s.hash(a)),
        "{e}"
    );
}

#[test]
fn duplicate_record_is_reported() {
    let d = tempfile::tempdir().unwrap();
    let mut p = good_payloads();
    p.push(payload(CELLS[0], 108, 0));
    let (path, off) = write(d.path(), "x.tfrecord", &p);
    let e = import_err(&path);
    assert!(
        e.contains(&format!("record 9 at byte offset {}", off[9])) && e.contains("duplicate"),
        "{e}"
    );
}

#[test]
fn other_bad_payloads_are_reported() {
    let s = test_space();
    let c = CELLS[0];
    let spec = s.spec(c);
    // Disconnected graph (output unreachable) with a well-formed hash.
    let n = spec.num_vertices();
    let adj = "0".repeat(n * n);
    let bad = serde_json::to_vec(&(
        s.hash(c),
        108,
        adj,
        spec.raw_operations(),
        metrics(c, 0).to_base64(),
    ))
    .unwrap();
    let (_d, path, _) = with_bad(0, bad);
    let e = import_err(&path);
    assert!(
        e.contains("record 0 at byte offset 0") && e.contains("not connected"),
        "{e}"
    );
    // Epoch budget not in the files.
    let (_d, path, _) = with_bad(1, payload(c, 200, 1));
    let e = import_err(&path);
    assert!(e.contains("record 1") && e.contains("epochs 200"), "{e}");
    // Base64 that is not a protobuf of the right shape.
    let bad = serde_json::to_vec(&(
        s.hash(c),
        108,
        spec.raw_adjacency(),
        spec.raw_operations(),
        "AAAA",
    ))
    .unwrap();
    let (_d, path, _) = with_bad(2, bad);
    let e = import_err(&path);
    assert!(e.contains("record 2") && e.contains("ModelMetrics"), "{e}");
    // Empty file.
    let d = tempfile::tempdir().unwrap();
    let (path, _) = write(d.path(), "empty.tfrecord", &[]);
    assert!(import_err(&path).contains("no records"));
}

#[test]
fn failed_import_leaves_no_store() {
    let d = tempfile::tempdir().unwrap();
    let (path, off) = write(d.path(), "x.tfrecord", &good_payloads());
    let mut b = std::fs::read(&path).unwrap();
    b[off[7] as usize + 30] ^= 1;
    std::fs::write(&path, &b).unwrap();
    let store_dir = d.path().join("stores/nb101");
    let r = import_and_save(&path, &partial(), test_space(), &store_dir);
    assert!(r.is_err());
    assert!(!store_dir.join("store.bin").exists());
    assert!(!store_dir.join("manifest.json").exists());
    assert!(crate::store::load_store(&store_dir).is_err());
    // The intact file saves a loadable store.
    b[off[7] as usize + 30] ^= 1;
    std::fs::write(&path, &b).unwrap();
    let (m, _) = import_and_save(&path, &partial(), test_space(), &store_dir).unwrap();
    assert_eq!(m.benchmark, "nb101");
    let l = crate::store::load_store(&store_dir).unwrap();
    assert_eq!(l.column("cifar10/x-valid@108").unwrap().present(5), 3);
}

#[test]
fn synthetic_file_imports_as_synthetic_and_matches_synthetic_store() {
    let s: &Nb101Space = test_space();
    let d = tempfile::tempdir().unwrap();
    let k = 500;
    let mut g = SyntheticGenerator::new(s, 3);
    let mut p = Vec::new();
    for c in 0..k as CellId {
        for (r, run) in g.runs(c, 108).iter().enumerate() {
            let m = synthetic_metrics(108, r, run);
            p.push(record_payload(&s.spec(c), &s.hash(c), 108, &m));
        }
    }
    let (path, _) = write(d.path(), "synthetic.tfrecord", &p);
    let (store, _, stats) = import_tfrecord_with(&path, &partial(), s).unwrap();
    assert!(stats.synthetic);
    assert_eq!(store.benchmark, "nb101-synthetic");
    let full = synthetic_store(s, 3);
    for key in store.keys() {
        let (a, b) = (store.column(key).unwrap(), full.column(key).unwrap());
        let t = a.trials;
        for i in 0..k * t {
            assert_eq!(a.values[i].to_bits(), b.values[i].to_bits(), "{key} {i}");
        }
        assert!(a.values[k * t..].iter().all(|v| v.is_nan()));
    }
    // A real record among synthetic ones is refused.
    p.push(payload(423_000, 108, 0));
    let (path, _) = write(d.path(), "mixed.tfrecord", &p);
    assert!(import_err(&path).contains("mix of synthetic and real"));
}

#[test]
fn isomorphic_variant_is_hashed_and_accepted() {
    let s = test_space();
    // Two parallel branches: (conv3x3, conv1x1) is the representative, (conv1x1, conv3x3) an
    // isomorphic variant with the same hash.
    let rep = super::ModelSpec::from_raw(
        "0110000100010000",
        "input,conv3x3-bn-relu,conv1x1-bn-relu,output",
    )
    .unwrap();
    let variant = super::ModelSpec::from_raw(
        "0110000100010000",
        "input,conv1x1-bn-relu,conv3x3-bn-relu,output",
    )
    .unwrap();
    let id = s.id_of_spec(&rep).unwrap();
    assert_eq!(s.spec(id), rep);
    assert_eq!(variant.hash(), rep.hash());
    let p: Vec<Vec<u8>> = (0..3)
        .map(|r| record_payload(&variant, &s.hash(id), 108, &metrics(id, r)))
        .collect();
    let d = tempfile::tempdir().unwrap();
    let (path, _) = write(d.path(), "variant.tfrecord", &p);
    for recompute in [false, true] {
        let opts = ImportOptions {
            allow_partial: true,
            recompute_all_hashes: recompute,
            ..Default::default()
        };
        let (store, _, stats) = import_tfrecord_with(&path, &opts, s).unwrap();
        assert_eq!(stats.representative_mismatches, 1);
        assert_eq!(
            store
                .column("cifar10/x-valid@108")
                .unwrap()
                .present(id as usize),
            3
        );
    }
    // Recomputing every hash gives the same store on the regular file.
    let (path, _) = write(d.path(), "good.tfrecord", &good_payloads());
    let a = import_tfrecord_with(&path, &partial(), s).unwrap().0;
    let opts = ImportOptions {
        allow_partial: true,
        recompute_all_hashes: true,
        ..Default::default()
    };
    let b = import_tfrecord_with(&path, &opts, s).unwrap().0;
    assert_eq!(a.keys(), b.keys());
    for (x, y) in a.columns.iter().zip(&b.columns) {
        assert!(x
            .values
            .iter()
            .zip(&y.values)
            .all(|(p, q)| p.to_bits() == q.to_bits()));
    }
}
