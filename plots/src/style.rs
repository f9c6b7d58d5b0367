//! The one visual style shared by every figure: palette, fixed colour per method name,
//! sequential colours for ordered curves, and font / stroke sizes that scale with the canvas.

use crate::font::FAMILY;
use plotters::style::{FontDesc, FontFamily, FontStyle, RGBColor, TextStyle};

/// Background of every figure.
pub const BACKGROUND: RGBColor = RGBColor(255, 255, 255);
/// Text and axis colour.
pub const INK: RGBColor = RGBColor(30, 30, 30);
/// Grid line colour (drawn with transparency).
pub const GRID: RGBColor = RGBColor(0, 0, 0);
/// Reference lines (global optimum, thresholds).
pub const REFERENCE: RGBColor = RGBColor(70, 70, 70);
/// Ordinary points of a scatter panel.
pub const POINT: RGBColor = RGBColor(31, 119, 180);
/// Highlighted points of a scatter panel (e.g. the true top-k).
pub const HIGHLIGHT: RGBColor = RGBColor(214, 39, 40);

/// Methods with a reserved colour. Keys are normalised names (see [`normalise_method`]).
const METHOD_COLOURS: &[(&str, RGBColor)] = &[
    ("weaknas", RGBColor(214, 39, 40)), // red: the paper's method
    ("randomsearch", RGBColor(127, 127, 127)), // grey
    ("random", RGBColor(127, 127, 127)), //
    ("rs", RGBColor(127, 127, 127)),    //
    ("rea", RGBColor(31, 119, 180)),    // blue
    ("regularizedevolution", RGBColor(31, 119, 180)),
    ("regularisedevolution", RGBColor(31, 119, 180)),
    ("evolution", RGBColor(31, 119, 180)),
    ("bananas", RGBColor(255, 127, 14)),      // orange
    ("npenas", RGBColor(44, 160, 44)),        // green
    ("localsearch", RGBColor(148, 103, 189)), // purple
    ("ls", RGBColor(148, 103, 189)),
    ("singlepredictor", RGBColor(140, 86, 75)), // brown: the Figure 1 opponent
    ("strongpredictor", RGBColor(140, 86, 75)),
    ("singlestrongpredictor", RGBColor(140, 86, 75)),
    ("bohb", RGBColor(227, 119, 194)), // pink
    ("hebo", RGBColor(188, 189, 34)),  // olive
    ("lamoo", RGBColor(23, 190, 207)), // cyan
    ("lanas", RGBColor(23, 190, 207)),
];

/// Colours for method names without a reserved colour, picked to differ from the reserved
/// (matplotlib tab10) hues (from Sasha Trubetskoy's 20 distinct colours). A name always hashes
/// to the same entry.
const EXTRA_COLOURS: &[RGBColor] = &[
    RGBColor(0, 0, 0),      // black
    RGBColor(0, 0, 117),    // navy
    RGBColor(70, 153, 144), // teal
    RGBColor(128, 0, 0),    // maroon
    RGBColor(128, 128, 0),  // dark olive
    RGBColor(240, 50, 230), // magenta
    RGBColor(218, 165, 32), // goldenrod
];

/// Normalises a method name for colour lookup: lower case, ASCII letters and digits only
/// ("Random Search", "random_search" and "random-search" are the same method).
pub fn normalise_method(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The fixed colour of a method name: reserved colours for the paper's methods and the common
/// baselines, otherwise a stable hash (FNV-1a) of the normalised name into a second palette.
/// The same name gets the same colour in every figure.
pub fn method_color(name: &str) -> RGBColor {
    let key = normalise_method(name);
    if let Some((_, c)) = METHOD_COLOURS.iter().find(|(k, _)| *k == key) {
        return *c;
    }
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    EXTRA_COLOURS[(h % EXTRA_COLOURS.len() as u64) as usize]
}

/// Colours for the series of one figure, by method name. Two different names that map to the
/// same colour (a hash collision, or aliases such as "REA" and "evolution" used together) would
/// be indistinguishable, so a later clashing name takes a palette colour that no name of this
/// figure uses; the same name twice keeps one colour.
pub fn method_colors<S: AsRef<str>>(names: &[S]) -> Vec<RGBColor> {
    let keys: Vec<String> = names.iter().map(|n| normalise_method(n.as_ref())).collect();
    let natural: Vec<RGBColor> = names.iter().map(|n| method_color(n.as_ref())).collect();
    let mut out: Vec<Option<RGBColor>> = vec![None; names.len()];
    let mut claimed: Vec<(&str, RGBColor)> = Vec::new();
    for (i, (k, c)) in keys.iter().zip(&natural).enumerate() {
        match claimed.iter().find(|(_, cc)| cc == c) {
            Some((owner, _)) if owner != k => {}
            _ => {
                claimed.push((k, *c));
                out[i] = Some(*c);
            }
        }
    }
    let pool = METHOD_COLOURS
        .iter()
        .map(|(_, c)| *c)
        .chain(EXTRA_COLOURS.iter().copied());
    let mut free = pool.filter(|c| !natural.contains(c));
    let mut reassigned: Vec<(&str, RGBColor)> = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        if out[i].is_none() {
            let c = match reassigned.iter().find(|(kk, _)| kk == k) {
                Some((_, c)) => *c,
                // Palette exhausted: keep the clash rather than fail.
                None => free
                    .find(|c| !out.contains(&Some(*c)))
                    .unwrap_or(natural[i]),
            };
            reassigned.push((k, c));
            out[i] = Some(c);
        }
    }
    out.into_iter()
        .map(|c| c.expect("every name assigned"))
        .collect()
}

/// Viridis anchor points (matplotlib), used up to 0.9 so the last colour stays visible on white.
const VIRIDIS: &[(f64, f64, f64)] = &[
    (0.267, 0.005, 0.329),
    (0.283, 0.141, 0.458),
    (0.254, 0.265, 0.530),
    (0.207, 0.372, 0.553),
    (0.164, 0.471, 0.558),
    (0.128, 0.567, 0.551),
    (0.135, 0.659, 0.518),
    (0.267, 0.749, 0.441),
    (0.478, 0.821, 0.319),
    (0.741, 0.873, 0.150),
    (0.993, 0.906, 0.144),
];

/// Colour `i` of `n` ordered curves (e.g. search iterations), dark purple to green (viridis).
pub fn sequential_color(i: usize, n: usize) -> RGBColor {
    let t = if n <= 1 {
        0.0
    } else {
        0.9 * i as f64 / (n - 1) as f64
    };
    let pos = t * (VIRIDIS.len() - 1) as f64;
    let lo = (pos.floor() as usize).min(VIRIDIS.len() - 2);
    let f = pos - lo as f64;
    let (a, b) = (VIRIDIS[lo], VIRIDIS[lo + 1]);
    let mix = |x: f64, y: f64| ((x + (y - x) * f) * 255.0).round().clamp(0.0, 255.0) as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Sizes for one canvas: everything is specified for the figure's default size and multiplied
/// by `scale` (so a 2x canvas, or the 2x supersampled PNG, looks the same, only sharper).
/// Text shrinks more slowly than the canvas (square root of the scale below 1), so labels
/// stay readable on small figures.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Style {
    /// Multiplier for strokes, markers and spacing.
    pub scale: f64,
    /// Multiplier for fonts and the space reserved for text.
    pub text: f64,
}

impl Style {
    /// Style for an output canvas of `size` pixels whose layout was designed at `design`
    /// pixels, drawn `supersample` times larger (the PNG path).
    pub fn new(size: (u32, u32), design: (u32, u32), supersample: u32) -> Self {
        let sx = f64::from(size.0) / f64::from(design.0);
        let sy = f64::from(size.1) / f64::from(design.1);
        let base = sx.min(sy).max(0.2);
        let text = if base < 1.0 { base.sqrt() } else { base };
        let ss = f64::from(supersample);
        Style {
            scale: base * ss,
            text: text * ss,
        }
    }

    /// A length in pixels at this scale (at least 1).
    pub fn px(&self, v: f64) -> i32 {
        ((v * self.scale).round() as i32).max(1)
    }

    /// A text-related length (label areas, title bands, legend metrics) in pixels.
    pub fn tpx(&self, v: f64) -> i32 {
        ((v * self.text).round() as i32).max(1)
    }

    /// A length in pixels at this scale, unsigned.
    pub fn upx(&self, v: f64) -> u32 {
        self.px(v) as u32
    }

    fn font(&self, size: f64, style: FontStyle) -> TextStyle<'static> {
        TextStyle::from(FontDesc::new(
            FontFamily::Name(FAMILY),
            size * self.text,
            style,
        ))
        .color(&INK)
    }

    /// Figure title.
    pub fn title(&self) -> TextStyle<'static> {
        self.font(26.0, FontStyle::Bold)
    }
    /// Axis descriptions ("queries", "test accuracy (%)").
    pub fn axis_desc(&self) -> TextStyle<'static> {
        self.font(21.0, FontStyle::Normal)
    }
    /// Tick labels.
    pub fn tick(&self) -> TextStyle<'static> {
        self.font(17.0, FontStyle::Normal)
    }
    /// Legend entries.
    pub fn legend(&self) -> TextStyle<'static> {
        self.font(18.0, FontStyle::Normal)
    }
    /// Panel titles of small multiples.
    pub fn panel_title(&self) -> TextStyle<'static> {
        self.font(19.0, FontStyle::Bold)
    }
    /// Width of data lines.
    pub fn line_width(&self) -> u32 {
        self.upx(2.5)
    }
    /// Width of reference lines and axes.
    pub fn thin_width(&self) -> u32 {
        self.upx(1.5)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_colour_is_fixed_and_name_insensitive() {
        assert_eq!(method_color("WeakNAS"), method_color("weaknas"));
        assert_eq!(method_color("Random Search"), method_color("random_search"));
        assert_ne!(method_color("WeakNAS"), method_color("Random Search"));
        assert_eq!(method_color("my-new-method"), method_color("My New Method"));
    }

    #[test]
    fn aliases_in_one_figure_get_distinct_colours() {
        let c = method_colors(&["REA", "evolution", "WeakNAS", "Random Search", "evolution"]);
        assert_eq!(c[0], method_color("REA"));
        assert_eq!(c[2], method_color("WeakNAS"));
        assert_eq!(c[3], method_color("Random Search"));
        assert_eq!(c[1], c[4]);
        for (i, a) in c[..4].iter().enumerate() {
            assert!(!c[..4].iter().skip(i + 1).any(|b| b == a), "{c:?}");
        }
    }

    #[test]
    fn sequential_colours_are_ordered_and_distinct() {
        let c: Vec<_> = (0..5).map(|i| sequential_color(i, 5)).collect();
        for w in c.windows(2) {
            assert_ne!(w[0], w[1]);
        }
        assert_eq!(sequential_color(0, 1), sequential_color(0, 5));
    }
}
