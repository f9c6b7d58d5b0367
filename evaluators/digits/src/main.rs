//! `weaknas-digits-eval`: trains the network of one cell genotype on the 8x8 digits and
//! writes its accuracy as JSON; `weaknas-digits-eval fetch` downloads the data.

use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use std::process::ExitCode;
use weaknas_digits::{data, fetch, train, Genotype, TrainConfig};

const USAGE: &str = "\
usage: weaknas-digits-eval --genotype G.json --out R.json [--seed N] [--epochs E] [--channels C] [--data PATH]
       weaknas-digits-eval fetch

Trains a DARTS-style network built from the cell genotype G.json on the 8x8 digits (one CPU
thread) and writes {\"valid_accuracy\", \"test_accuracy\", \"train_seconds\", \"params\", \"epochs\",
\"seed\", \"genotype\"} to R.json atomically.
  --seed N       seeds initialisation and minibatch order (default 0)
  --epochs E     training epochs (default 3)
  --channels C   width of the first cell, even (default 8)
  --data PATH    digits.csv.gz (default $WEAKNAS_HOME/datasets/digits/digits.csv.gz)
`fetch` downloads scikit-learn's wheel with pip and extracts the checked digits file.";

struct Args {
    genotype: PathBuf,
    out: PathBuf,
    data: PathBuf,
    cfg: TrainConfig,
}

enum Cmd {
    Eval(Args),
    Fetch,
    Help,
}

fn parse_args(args: &[String]) -> Result<Cmd> {
    match args.first().map(String::as_str) {
        Some("fetch") if args.len() == 1 => return Ok(Cmd::Fetch),
        Some("fetch") => bail!("`fetch` takes no arguments"),
        Some("-h" | "--help") => return Ok(Cmd::Help),
        _ => {}
    }
    let (mut genotype, mut out, mut data) = (None, None, None);
    let mut cfg = TrainConfig::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (a.as_str(), None),
        };
        if !matches!(
            flag,
            "--genotype" | "--out" | "--seed" | "--epochs" | "--channels" | "--data"
        ) {
            bail!("unknown argument {a:?}");
        }
        let value = match inline {
            Some(v) => v,
            None => it
                .next()
                .cloned()
                .with_context(|| format!("{flag} needs a value"))?,
        };
        let number = |v: &str| -> Result<u64> {
            v.parse()
                .with_context(|| format!("{flag}: {v:?} is not a non-negative integer"))
        };
        match flag {
            "--genotype" => genotype = Some(PathBuf::from(value)),
            "--out" => out = Some(PathBuf::from(value)),
            "--data" => data = Some(PathBuf::from(value)),
            "--seed" => cfg.seed = number(&value)?,
            "--epochs" => cfg.epochs = number(&value)? as usize,
            "--channels" => cfg.channels = number(&value)? as usize,
            _ => unreachable!(),
        }
    }
    Ok(Cmd::Eval(Args {
        genotype: genotype.context("--genotype G.json is required")?,
        out: out.context("--out R.json is required")?,
        data: data.unwrap_or_else(data::default_path),
        cfg,
    }))
}

fn run(args: &Args) -> Result<()> {
    let genotype = Genotype::from_file(&args.genotype)?;
    let split = data::split(&data::load(&args.data)?)?;
    let result = train::evaluate(&genotype, &split, &args.cfg)?;
    let mut json = serde_json::to_vec(&result)?;
    json.push(b'\n');
    weaknas_harness::fsutil::atomic_write(&args.out, &json)
        .with_context(|| format!("writing the result {}", args.out.display()))?;
    Ok(())
}

fn main() -> ExitCode {
    weaknas_digits::single_thread();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match parse_args(&args) {
        Ok(Cmd::Help) => {
            println!("{USAGE}");
            Ok(())
        }
        Ok(Cmd::Fetch) => fetch::fetch(&fetch::FetchOptions::default()).map(|_| ()),
        Ok(Cmd::Eval(a)) => run(&a),
        Err(e) => {
            eprintln!("weaknas-digits-eval: {e:#}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("weaknas-digits-eval: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
