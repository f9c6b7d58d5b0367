//! The 8x8 handwritten digits (1,797 images, 10 classes; the UCI optdigits test set as
//! bundled with scikit-learn): reading `digits.csv.gz` and the fixed train/valid/test split.

use anyhow::{bail, Context, Result};
use rand::seq::SliceRandom;
use rand::Rng;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Number of images in the file.
pub const N_IMAGES: usize = 1797;
/// Pixels per image (8x8).
pub const PIXELS: usize = 64;
/// Number of classes.
pub const CLASSES: usize = 10;
/// Images in the training split.
pub const N_TRAIN: usize = 1000;
/// Images in the validation split.
pub const N_VALID: usize = 397;
/// Images in the test split.
pub const N_TEST: usize = 400;

/// Where `weaknas-digits-eval fetch` puts the data: `$WEAKNAS_HOME/datasets/digits/digits.csv.gz`.
pub fn default_path() -> PathBuf {
    weaknas_harness::home::weaknas_home()
        .join("datasets")
        .join("digits")
        .join("digits.csv.gz")
}

/// Images (pixel values scaled to `[0, 1]`, row-major 8x8) and their labels.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Digits {
    /// `len() * 64` pixel values.
    pub pixels: Vec<f32>,
    /// One label in `0..10` per image.
    pub labels: Vec<u32>,
}

impl Digits {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The images at `idx`, in that order.
    pub fn select(&self, idx: &[usize]) -> Digits {
        let mut out = Digits {
            pixels: Vec::with_capacity(idx.len() * PIXELS),
            labels: Vec::with_capacity(idx.len()),
        };
        for &i in idx {
            out.pixels
                .extend_from_slice(&self.pixels[i * PIXELS..(i + 1) * PIXELS]);
            out.labels.push(self.labels[i]);
        }
        out
    }

    /// A SYNTHETIC set of `n` random images with random labels (for tests only; nothing can
    /// be learnt from it).
    pub fn synthetic(n: usize, rng: &mut impl Rng) -> Digits {
        Digits {
            pixels: (0..n * PIXELS).map(|_| rng.random::<f32>()).collect(),
            labels: (0..n)
                .map(|_| rng.random_range(0..CLASSES as u32))
                .collect(),
        }
    }
}

/// The three splits.
#[derive(Clone, Debug, PartialEq)]
pub struct Split {
    /// Training images.
    pub train: Digits,
    /// Validation images.
    pub valid: Digits,
    /// Test images.
    pub test: Digits,
}

/// The fixed split: the images shuffled with the ChaCha stream `("digits", 0, "split")`
/// (independent of `--seed`), then 1,000 train, 397 validation and 400 test images.
pub fn split(all: &Digits) -> Result<Split> {
    if all.len() != N_IMAGES {
        bail!("expected {N_IMAGES} images to split, got {}", all.len());
    }
    let mut idx: Vec<usize> = (0..N_IMAGES).collect();
    idx.shuffle(&mut weaknas_harness::rng::stream("digits", 0, "split"));
    Ok(Split {
        train: all.select(&idx[..N_TRAIN]),
        valid: all.select(&idx[N_TRAIN..N_TRAIN + N_VALID]),
        test: all.select(&idx[N_TRAIN + N_VALID..]),
    })
}

/// Reads `digits.csv.gz`; a missing file is an error that says how to fetch it.
pub fn load(path: &Path) -> Result<Digits> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "digits data not found at {}: run `weaknas-digits-eval fetch` first (or pass --data)",
            path.display()
        ),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let mut text = String::new();
    flate2::read::GzDecoder::new(bytes.as_slice())
        .read_to_string(&mut text)
        .with_context(|| format!("{}: not a gzip-compressed text file", path.display()))?;
    parse_csv(&text).with_context(|| format!("invalid digits file {}", path.display()))
}

/// Parses the CSV text: one image per line, 64 pixel values in `0..=16`, then the label.
pub fn parse_csv(text: &str) -> Result<Digits> {
    let mut d = Digits::default();
    for (ln, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != PIXELS + 1 {
            bail!(
                "line {}: {} fields, expected {}",
                ln + 1,
                fields.len(),
                PIXELS + 1
            );
        }
        for (j, f) in fields.iter().enumerate() {
            let v: f64 = f.trim().parse().with_context(|| {
                format!("line {}, field {}: {f:?} is not a number", ln + 1, j + 1)
            })?;
            if j < PIXELS {
                if !(0.0..=16.0).contains(&v) {
                    bail!("line {}, field {}: pixel {v} outside 0..=16", ln + 1, j + 1);
                }
                d.pixels.push((v / 16.0) as f32);
            } else {
                if v.fract() != 0.0 || !(0.0..CLASSES as f64).contains(&v) {
                    bail!("line {}: label {v} is not in 0..=9", ln + 1);
                }
                d.labels.push(v as u32);
            }
        }
    }
    if d.len() != N_IMAGES {
        bail!("{} images, expected {N_IMAGES}", d.len());
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn csv(rows: usize) -> String {
        let mut s = String::new();
        for r in 0..rows {
            let px: Vec<String> = (0..PIXELS).map(|j| ((r + j) % 17).to_string()).collect();
            s += &format!("{},{}\n", px.join(","), r % 10);
        }
        s
    }

    #[test]
    fn parses_and_scales() {
        let d = parse_csv(&csv(N_IMAGES)).unwrap();
        assert_eq!(d.len(), N_IMAGES);
        assert_eq!(d.pixels.len(), N_IMAGES * PIXELS);
        assert_eq!(d.pixels[16], 1.0);
        assert_eq!(d.pixels[1], 1.0 / 16.0);
        assert_eq!(d.labels[13], 3);
    }

    #[test]
    fn rejects_bad_rows() {
        let e = |s: &str| format!("{:#}", parse_csv(s).unwrap_err());
        assert!(e(&csv(10)).contains("10 images, expected 1797"));
        assert!(e("1,2,3\n").contains("line 1: 3 fields"));
        let bad = csv(2).replacen("0,", "x,", 1);
        assert!(e(&bad).contains("is not a number"));
        let bad = csv(2).replacen("0,", "17,", 1);
        assert!(e(&bad).contains("outside 0..=16"));
        let mut bad = csv(1);
        bad.truncate(bad.len() - 2);
        bad += "12\n";
        assert!(e(&bad).contains("label 12"));
    }

    #[test]
    fn missing_file_says_to_fetch() {
        let e = format!(
            "{:#}",
            load(Path::new("/nonexistent/digits.csv.gz")).unwrap_err()
        );
        assert!(
            e.contains("weaknas-digits-eval fetch") && e.contains("/nonexistent"),
            "{e}"
        );
    }

    #[test]
    fn split_is_fixed_and_disjoint() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let mut all = Digits::synthetic(N_IMAGES, &mut rng);
        // Tag every image with its index so the split can be checked.
        for i in 0..N_IMAGES {
            all.pixels[i * PIXELS] = i as f32;
        }
        let s = split(&all).unwrap();
        assert_eq!(
            (s.train.len(), s.valid.len(), s.test.len()),
            (1000, 397, 400)
        );
        let mut ids: Vec<usize> = [&s.train, &s.valid, &s.test]
            .iter()
            .flat_map(|d| (0..d.len()).map(|i| d.pixels[i * PIXELS] as usize))
            .collect();
        assert_ne!(ids[..10], (0..10).collect::<Vec<_>>()[..]);
        ids.sort();
        assert_eq!(ids, (0..N_IMAGES).collect::<Vec<_>>());
        assert_eq!(split(&all).unwrap(), s);
    }
}
