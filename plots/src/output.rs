//! Rendering a figure to `name.png`, `name.svg` and `name.provenance.json`, each written
//! atomically (temporary file in the same directory, fsync, rename).

use crate::figure::{Figure, Skipped};
use crate::font::ensure_fonts;
use crate::provenance::{Generator, Provenance, Sidecar, WrittenFile, SIDECAR_SCHEMA};
use crate::style::Style;
use crate::xy::XyPlot;
use crate::{ecdf, line, scatter, xy};
use anyhow::{anyhow, bail, Context, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use weaknas_harness::fsutil::atomic_write;

/// Options for [`render_with`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RenderOptions {
    /// Canvas size in pixels (width, height); `None` uses [`Figure::default_size`]. Fonts and
    /// strokes scale with the size, so a larger canvas is the same figure at higher resolution.
    pub size: Option<(u32, u32)>,
}

/// PNGs are drawn at this factor and box-filtered down, since plotters' bitmap lines are not
/// anti-aliased.
const SUPERSAMPLE: u32 = 2;
const MIN_SIDE: u32 = 100;
const MAX_SIDE: u32 = 8000;

/// Renders `fig` at its default size; see [`render_with`].
pub fn render(
    fig: &Figure,
    out_dir: &Path,
    name: &str,
    provenance: &Provenance,
) -> Result<Vec<PathBuf>> {
    render_with(fig, out_dir, name, provenance, &RenderOptions::default())
}

/// Renders `fig` into `out_dir` as `name.png`, `name.svg` and the sidecar
/// `name.provenance.json` (which records `provenance`, checksums of the two images and of the
/// plotted data, and what was skipped). Returns the three paths in that order.
///
/// Errors (before anything is written) for an invalid name or size, mismatched vector lengths
/// and a figure with no finite data at all; non-finite points and empty series are skipped.
pub fn render_with(
    fig: &Figure,
    out_dir: &Path,
    name: &str,
    provenance: &Provenance,
    opts: &RenderOptions,
) -> Result<Vec<PathBuf>> {
    check_name(name)?;
    ensure_fonts()?;
    let design = fig.default_size();
    let (w, h) = opts.size.unwrap_or(design);
    if !(MIN_SIDE..=MAX_SIDE).contains(&w) || !(MIN_SIDE..=MAX_SIDE).contains(&h) {
        bail!("figure {name:?}: size {w}x{h} px is outside {MIN_SIDE}..={MAX_SIDE} px per side");
    }
    let prepared = prepare(fig).with_context(|| format!("figure {name:?}"))?;

    let png =
        render_png(&prepared, (w, h), design).with_context(|| format!("figure {name:?}: PNG"))?;
    let svg =
        render_svg(&prepared, (w, h), design).with_context(|| format!("figure {name:?}: SVG"))?;

    std::fs::create_dir_all(out_dir)
        .with_context(|| format!("creating directory {}", out_dir.display()))?;
    let mut files = Vec::new();
    let mut paths = Vec::new();
    for (ext, bytes) in [("png", png.as_slice()), ("svg", svg.as_bytes())] {
        let file = format!("{name}.{ext}");
        let path = out_dir.join(&file);
        atomic_write(&path, bytes)?;
        files.push(WrittenFile {
            file,
            sha256: sha256_hex(bytes),
            bytes: bytes.len() as u64,
        });
        paths.push(path);
    }
    let data = serde_json::to_vec(fig).context("serialising figure data")?;
    let sidecar = Sidecar {
        schema: SIDECAR_SCHEMA.to_string(),
        figure: name.to_string(),
        kind: fig.kind().to_string(),
        title: fig.title().to_string(),
        generator: Generator {
            krate: env!("CARGO_PKG_NAME").to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        },
        size_px: (w, h),
        png_supersampling: SUPERSAMPLE,
        provenance: provenance.clone(),
        plotted_data_sha256: sha256_hex(&data),
        skipped: prepared.skipped().clone(),
        files,
    };
    let mut json = serde_json::to_vec_pretty(&sidecar).context("serialising sidecar")?;
    json.push(b'\n');
    let side = out_dir.join(format!("{name}.provenance.json"));
    atomic_write(&side, &json)?;
    paths.push(side);
    tracing::info!(figure = name, dir = %out_dir.display(), "figure written");
    Ok(paths)
}

/// A validated figure ready to draw.
enum Prepared<'a> {
    Xy(XyPlot, Skipped),
    Scatter(&'a crate::figure::ScatterFigure, Skipped),
}

impl Prepared<'_> {
    fn skipped(&self) -> &Skipped {
        match self {
            Prepared::Xy(_, s) | Prepared::Scatter(_, s) => s,
        }
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, st: &Style) -> Result<()> {
        match self {
            Prepared::Xy(p, _) => xy::draw_xy(root, p, st),
            Prepared::Scatter(f, _) => scatter::draw(root, f, st),
        }
    }
}

fn prepare(fig: &Figure) -> Result<Prepared<'_>> {
    Ok(match fig {
        Figure::Line(f) => {
            let (p, s) = line::prepare(f)?;
            Prepared::Xy(p, s)
        }
        Figure::Ecdf(f) => {
            let (p, s) = ecdf::prepare(f)?;
            Prepared::Xy(p, s)
        }
        Figure::Scatter(f) => Prepared::Scatter(f, scatter::check(f)?),
    })
}

fn render_png(p: &Prepared<'_>, (w, h): (u32, u32), design: (u32, u32)) -> Result<Vec<u8>> {
    let (bw, bh) = (w * SUPERSAMPLE, h * SUPERSAMPLE);
    let mut big = vec![255u8; (bw as usize) * (bh as usize) * 3];
    {
        let root = BitMapBackend::with_buffer(&mut big, (bw, bh)).into_drawing_area();
        p.draw(&root, &Style::new((w, h), design, SUPERSAMPLE))?;
        root.present()
            .map_err(|e| anyhow!("finishing bitmap: {e}"))?;
    }
    let small = downsample(&big, (bw, bh), SUPERSAMPLE);
    let mut out = Vec::new();
    {
        use image::ImageEncoder;
        image::codecs::png::PngEncoder::new(&mut out)
            .write_image(&small, w, h, image::ColorType::Rgb8)
            .context("encoding PNG")?;
    }
    Ok(out)
}

fn render_svg(p: &Prepared<'_>, size: (u32, u32), design: (u32, u32)) -> Result<String> {
    let mut s = String::new();
    {
        let root = SVGBackend::with_string(&mut s, size).into_drawing_area();
        p.draw(&root, &Style::new(size, design, 1))?;
        root.present().map_err(|e| anyhow!("finishing SVG: {e}"))?;
    }
    Ok(s)
}

/// Box-filters an RGB image down by an integer factor.
fn downsample(src: &[u8], (w, h): (u32, u32), f: u32) -> Vec<u8> {
    let (ow, oh) = ((w / f) as usize, (h / f) as usize);
    let (w, f) = (w as usize, f as usize);
    let n = (f * f) as u32;
    let mut out = vec![0u8; ow * oh * 3];
    for oy in 0..oh {
        for ox in 0..ow {
            for c in 0..3 {
                let mut sum = 0u32;
                for dy in 0..f {
                    let row = (oy * f + dy) * w;
                    for dx in 0..f {
                        sum += u32::from(src[(row + ox * f + dx) * 3 + c]);
                    }
                }
                out[(oy * ow + ox) * 3 + c] = ((sum + n / 2) / n) as u8;
            }
        }
    }
    out
}

fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !ok {
        bail!("invalid figure name {name:?}: use letters, digits, '-', '_' and '.', not starting with '.'");
    }
    Ok(())
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downsample_averages_blocks() {
        // 2x2 image: one white, three black pixels -> one pixel at 64.
        let src = [255, 255, 255, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(downsample(&src, (2, 2), 2), vec![64, 64, 64]);
    }

    #[test]
    fn names_are_checked() {
        assert!(check_name("fig1_nb201-cifar10").is_ok());
        for bad in ["", "../x", "a/b", ".hidden", "a b"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
