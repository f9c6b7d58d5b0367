//! Tick positions and labels chosen here rather than by plotters: "nice" steps (1, 2, 2.5, 5
//! x 10^k) with one number of decimals per axis ("94", not "94.0"), and 1-2-5 or decade ticks
//! on log axes.

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use std::ops::Range;

/// An axis with explicit bold (labelled) and light (grid only) tick positions.
pub(crate) struct Ticked<R: Ranged<ValueType = f64>> {
    inner: R,
    bold: Vec<f64>,
    light: Vec<f64>,
}

impl<R: Ranged<ValueType = f64>> Ranged for Ticked<R> {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            self.light.clone()
        } else {
            self.bold.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.inner.range()
    }

    fn axis_pixel_range(&self, limit: (i32, i32)) -> Range<i32> {
        self.inner.axis_pixel_range(limit)
    }
}

/// Ticks of one axis plus the label format.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Ticks {
    pub bold: Vec<f64>,
    pub light: Vec<f64>,
    /// Fixed decimals for every label; `None` = shortest form per label (log axes).
    pub decimals: Option<usize>,
}

impl Ticks {
    /// Wraps a coordinate with these ticks.
    pub fn bind<R: Ranged<ValueType = f64>>(&self, inner: R) -> Ticked<R> {
        Ticked {
            inner,
            bold: self.bold.clone(),
            light: self.light.clone(),
        }
    }

    /// Label of a tick value.
    pub fn label(&self, v: f64) -> String {
        let s = match self.decimals {
            Some(d) => format!("{:.*}", d, v),
            None => shortest(v),
        };
        if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
            s[1..].to_string()
        } else {
            s
        }
    }
}

/// Linear ticks: about `target` labelled ticks on a nice step, light lines at half steps.
pub(crate) fn linear(lo: f64, hi: f64, target: usize) -> Ticks {
    let span = hi - lo;
    if !(span.is_finite() && span > 0.0) {
        return Ticks {
            bold: vec![lo],
            light: vec![],
            decimals: None,
        };
    }
    let raw = span / target.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let (mut m, mut step) = (10.0, 10.0 * mag);
    for c in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if span / (c * mag) <= target as f64 {
            (m, step) = (c, c * mag);
            break;
        }
    }
    let at = |k: i64, s: f64| (k as f64) * s;
    let eps = step * 1e-9;
    let ticks = |s: f64| -> Vec<f64> {
        let first = ((lo - eps) / s).ceil() as i64;
        let last = ((hi + eps) / s).floor() as i64;
        (first..=last).map(|k| at(k, s)).collect()
    };
    // As many decimals as the step needs: 25 -> 0, 2.5 -> 1, 0.25 -> 2.
    let mut decimals = (-step.log10().floor()).max(0.0) as usize;
    if m == 2.5 {
        let scaled = step * 10f64.powi(decimals as i32);
        if (scaled - scaled.round()).abs() > 1e-6 * scaled.abs().max(1.0) {
            decimals += 1;
        }
    }
    Ticks {
        bold: ticks(step),
        light: ticks(step / 2.0),
        decimals: Some(decimals),
    }
}

/// Log-axis ticks: decades for wide ranges, 1-2-5 for a few decades, linear within one.
pub(crate) fn log(lo: f64, hi: f64) -> Ticks {
    if !(lo > 0.0 && hi > lo && hi.is_finite()) {
        return linear(lo, hi, 5);
    }
    let decades = (hi / lo).log10();
    let (d0, d1) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    let within = |v: &f64| *v >= lo * (1.0 - 1e-9) && *v <= hi * (1.0 + 1e-9);
    let with = |mults: &[f64], every: i32| -> Vec<f64> {
        (d0..=d1)
            .filter(|k| (k - d0) % every == 0)
            .flat_map(|k| mults.iter().map(move |m| m * 10f64.powi(k)))
            .filter(within)
            .collect()
    };
    let light = with(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0], 1);
    let bold = if decades > 6.0 {
        with(&[1.0], (decades / 6.0).ceil() as i32)
    } else if decades >= 2.5 {
        with(&[1.0], 1)
    } else if decades >= 0.7 {
        with(&[1.0, 2.0, 5.0], 1)
    } else {
        return Ticks {
            light,
            ..linear(lo, hi, 5)
        };
    };
    Ticks {
        bold,
        light,
        decimals: None,
    }
}

/// Shortest readable form: integers plainly, otherwise 3 significant digits, zeros trimmed.
pub(crate) fn shortest(v: f64) -> String {
    if !v.is_finite() || v == 0.0 {
        return format!("{v}");
    }
    if v.abs() >= 1.0 && (v - v.round()).abs() < 1e-9 * v.abs() {
        return format!("{}", v.round() as i64);
    }
    let digits = (2 - v.abs().log10().floor() as i32).max(0) as usize;
    let s = format!("{:.*}", digits, v);
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_ticks_are_nice_and_uniformly_formatted() {
        let t = linear(88.4, 94.6, 7);
        assert_eq!(t.bold, vec![89.0, 90.0, 91.0, 92.0, 93.0, 94.0]);
        assert_eq!(t.label(94.0), "94");
        let t = linear(-0.02, 1.02, 7);
        assert_eq!(t.bold.len(), 6);
        assert_eq!(t.label(t.bold[1]), "0.2");
        assert_eq!(t.label(t.bold[0]), "0.0");
        let t = linear(0.0, 1000.0, 8);
        assert_eq!(t.label(t.bold[1]), "200");
        // Steps of 2.5 x 10^k: decimals only where the step has a fraction.
        let t = linear(10.0, 200.0, 8);
        assert_eq!((t.bold[0], t.label(t.bold[0])), (25.0, "25".to_string()));
        let t = linear(0.0, 20.0, 8);
        assert_eq!(t.label(t.bold[1]), "2.5");
        let t = linear(0.0, 2.0, 8);
        assert_eq!(t.label(t.bold[1]), "0.25");
        let t = linear(-0.6, 0.6, 6);
        assert!(t.bold.iter().all(|v| t.label(*v) != "-0.0"));
    }

    #[test]
    fn log_ticks_pick_decades_or_1_2_5() {
        assert_eq!(
            log(0.9, 16000.0).bold,
            vec![1.0, 10.0, 100.0, 1000.0, 10000.0]
        );
        assert_eq!(
            log(9.0, 1100.0).bold,
            vec![10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0]
        );
        assert_eq!(shortest(0.5), "0.5");
        assert_eq!(shortest(20.0), "20");
        assert_eq!(shortest(0.02), "0.02");
    }
}
