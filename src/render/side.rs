//! The column beside a plot: legend rows (a swatch, line or dot and its words), keys to a
//! shading (a light-to-dark strip), and a colour bar whose ends line up with the plot's frame,
//! with a key for missing values under it. The column is as wide as its widest text; words
//! too long for the widest column a figure allows wrap onto a second line, never cut.

use super::{fonts, numbers, palette};
use crate::scenario::ColourMap;
use crate::{Error, Result};
use plotters::coord::Shift;
use plotters::prelude::*;

/// The legend's font size (plotters' units).
pub const FONT: u32 = 14;
/// Height of one legend row.
const ROW: i32 = 22;
/// Where a row's words start, right of its glyph.
const TEXT_X: i32 = 40;
/// The colour bar's width.
const BAR_WIDTH: i32 = 22;

/// How a legend row shows its colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Glyph {
    /// A filled square: a region of a map.
    Swatch,
    Line,
    Dashed,
    Dot,
}

#[derive(Clone, Debug)]
pub struct Row {
    pub glyph: Glyph,
    pub colour: [u8; 3],
    pub text: String,
}

/// A shading explained: a strip from `light` to `dark` and what darker means.
#[derive(Clone, Debug)]
pub struct ShadeKey {
    pub light: [u8; 3],
    pub dark: [u8; 3],
    pub text: String,
}

/// A colour scale for continuous values from `lo` to `hi` (log10 of the quantity where `log`,
/// its decades labelled 10ᵏ).
#[derive(Clone, Debug)]
pub struct ColourBar {
    pub label: String,
    pub lo: f64,
    pub hi: f64,
    pub log: bool,
    pub map: ColourMap,
    /// Some pixels have no value (grey): said under the bar.
    pub missing: bool,
}

impl ColourBar {
    /// A bar over the finite values of a quantity (their log10 on a log bar; non-positive
    /// values left out there), widened to one unit when they are all equal. None when no value
    /// is usable.
    pub fn spanning(label: impl Into<String>, values: impl IntoIterator<Item = f64>, log: bool, map: ColourMap) -> Option<Self> {
        let coords = values.into_iter().filter(|v| v.is_finite() && (!log || *v > 0.0)).map(|v| if log { v.log10() } else { v });
        let (lo, hi) = coords.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
        lo.is_finite().then(|| ColourBar { label: label.into(), lo, hi: if hi > lo { hi } else { lo + 1.0 }, log, map, missing: false })
    }

    /// The colour of the quantity's value `q` (its log10 taken on a log bar).
    pub fn colour_of(&self, q: f64) -> [u8; 3] {
        self.colour(if self.log { q.log10() } else { q })
    }

    /// The colour of value `v` (log10 of the quantity on a log bar).
    pub fn colour(&self, v: f64) -> [u8; 3] {
        let span = self.hi - self.lo;
        palette::continuous(self.map, if span > 0.0 { (v - self.lo) / span } else { 0.5 })
    }
}

/// The grey of a pixel with no value.
pub const MISSING: [u8; 3] = [0x99, 0x99, 0x99];

/// Everything the column holds, top to bottom.
#[derive(Clone, Debug, Default)]
pub struct Side {
    pub rows: Vec<Row>,
    pub shades: Vec<ShadeKey>,
    pub bar: Option<ColourBar>,
}

pub(crate) fn plot_error<E: std::fmt::Debug>(e: E) -> Error {
    Error::Io(std::io::Error::other(format!("drawing a figure: {e:?}")))
}

fn font() -> TextStyle<'static> {
    ("sans-serif", FONT).into_font().into()
}

/// The width `text` takes in the legend's font.
fn text_width<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, text: &str) -> i32 {
    area.estimate_text_size(text, &font()).map_or(8 * text.chars().count() as i32, |(w, _)| w as i32)
}

/// `text` in lines no wider than `width` (a word wider than that gets a line of its own).
fn wrapped<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, text: &str, width: i32) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split(' ') {
        match lines.last_mut() {
            Some(line) if text_width(area, &format!("{line} {word}")) <= width => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    lines
}

/// Draws a row's words from `y`, wrapped to `width`; returns where the next row starts.
fn draw_words<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, text: &str, width: i32, y: i32) -> Result<i32> {
    let lines = wrapped(area, text, width);
    for (k, line) in lines.iter().enumerate() {
        area.draw(&Text::new(line.as_str(), (TEXT_X, y + 1 + k as i32 * (ROW - 4)), font())).map_err(plot_error)?;
    }
    Ok(y + ROW + (lines.len().max(1) as i32 - 1) * (ROW - 4))
}

impl Side {
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty() && self.shades.is_empty() && self.bar.is_none()
    }

    /// The column's width for its texts, at most `max`.
    pub fn width<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>, max: i32) -> i32 {
        if self.is_empty() {
            return 0;
        }
        let mut widest = 0;
        for text in self.rows.iter().map(|r| &r.text).chain(self.shades.iter().map(|s| &s.text)) {
            widest = widest.max(TEXT_X + text_width(area, text));
        }
        if let Some(bar) = &self.bar {
            widest = widest.max(text_width(area, &bar.label) + 8);
            widest = widest.max(BAR_WIDTH + 14 + self.bar_ticks(bar).iter().map(|(_, t)| text_width(area, t)).max().unwrap_or(0));
            if bar.missing {
                widest = widest.max(TEXT_X + text_width(area, "no value"));
            }
        }
        (widest + 20).min(max)
    }

    fn bar_ticks(&self, bar: &ColourBar) -> Vec<(f64, String)> {
        let span = bar.hi - bar.lo;
        if bar.log {
            let decades: Vec<f64> = numbers::decades(bar.lo, bar.hi);
            if decades.len() >= 2 {
                return decades.into_iter().map(|k| (k, numbers::log_tick(k, span))).collect();
            }
            // Less than a decade: round values of the quantity itself.
            let (a, b) = (10f64.powf(bar.lo), 10f64.powf(bar.hi));
            return numbers::nice_ticks(a, b, 5).into_iter().filter(|v| *v > 0.0).map(|v| (v.log10(), numbers::tick(v, b - a))).collect();
        }
        numbers::nice_ticks(bar.lo, bar.hi, 5).into_iter().map(|v| (v, numbers::tick(v, span))).collect()
    }

    /// Draws the column into `area` (its left edge at x = 0). Rows start at `top`; a colour bar
    /// ends at `bottom` (the plot frame's bottom, in the area's coordinates) and starts at `top`
    /// when nothing is above it.
    pub fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>, top: i32, bottom: i32) -> Result<()> {
        fonts::load()?;
        let width = area.dim_in_pixel().0 as i32;
        let text_room = (width - TEXT_X - 4).max(40);
        let mut y = top;
        let rgb = |c: [u8; 3]| RGBColor(c[0], c[1], c[2]);
        for row in &self.rows {
            let colour = rgb(row.colour);
            let mid = y + ROW / 2 - 2;
            match row.glyph {
                Glyph::Swatch => {
                    area.draw(&Rectangle::new([(8, y), (30, y + 16)], colour.filled())).map_err(plot_error)?;
                    area.draw(&Rectangle::new([(8, y), (30, y + 16)], BLACK.stroke_width(1))).map_err(plot_error)?;
                }
                Glyph::Line => area.draw(&PathElement::new(vec![(6, mid), (32, mid)], colour.stroke_width(3))).map_err(plot_error)?,
                Glyph::Dashed => {
                    for x in [6, 16, 26] {
                        area.draw(&PathElement::new(vec![(x, mid), (x + 6, mid)], colour.stroke_width(2))).map_err(plot_error)?;
                    }
                }
                Glyph::Dot => area.draw(&Circle::new((19, mid), 4, colour.filled())).map_err(plot_error)?,
            }
            y = draw_words(area, &row.text, text_room, y)?;
        }
        for key in &self.shades {
            y += 4;
            let steps = 24;
            for k in 0..steps {
                let t = k as f64 / (steps - 1) as f64;
                let c: [u8; 3] = std::array::from_fn(|i| (key.light[i] as f64 * (1.0 - t) + key.dark[i] as f64 * t).round() as u8);
                area.draw(&Rectangle::new([(6 + k, y), (7 + k, y + 16)], rgb(c).filled())).map_err(plot_error)?;
            }
            area.draw(&Rectangle::new([(6, y), (6 + steps, y + 16)], BLACK.stroke_width(1))).map_err(plot_error)?;
            y = draw_words(area, &key.text, text_room, y)?;
        }
        if let Some(bar) = &self.bar {
            // The bar's title above it; the bar down to the frame's bottom (less the missing-value
            // key's row), from the frame's top when nothing is above it (figures leave the
            // title's room above their frame).
            let bar_top = if y > top { y + 12 + ROW } else { top };
            area.draw(&Text::new(bar.label.clone(), (8, bar_top - ROW + 2), font())).map_err(plot_error)?;
            let bar_bottom = if bar.missing { bottom - ROW - 8 } else { bottom }.max(bar_top + 40);
            let steps = (bar_bottom - bar_top).max(1);
            for k in 0..steps {
                let v = bar.hi - (k as f64 + 0.5) / steps as f64 * (bar.hi - bar.lo);
                area.draw(&Rectangle::new([(8, bar_top + k), (8 + BAR_WIDTH, bar_top + k + 1)], rgb(bar.colour(v)).filled())).map_err(plot_error)?;
            }
            area.draw(&Rectangle::new([(8, bar_top), (8 + BAR_WIDTH, bar_bottom)], BLACK.stroke_width(1))).map_err(plot_error)?;
            let span = bar.hi - bar.lo;
            for (v, label) in self.bar_ticks(bar) {
                let t = if span > 0.0 { (v - bar.lo) / span } else { 0.5 };
                if !(-1e-9..=1.0 + 1e-9).contains(&t) {
                    continue;
                }
                let yy = bar_bottom - (t * steps as f64).round() as i32;
                area.draw(&PathElement::new(vec![(8 + BAR_WIDTH, yy), (14 + BAR_WIDTH, yy)], BLACK)).map_err(plot_error)?;
                area.draw(&Text::new(label, (18 + BAR_WIDTH, yy - 7), font())).map_err(plot_error)?;
            }
            if bar.missing {
                let yy = bar_bottom + 8;
                area.draw(&Rectangle::new([(8, yy), (8 + BAR_WIDTH, yy + 16)], rgb(MISSING).filled())).map_err(plot_error)?;
                area.draw(&Rectangle::new([(8, yy), (8 + BAR_WIDTH, yy + 16)], BLACK.stroke_width(1))).map_err(plot_error)?;
                area.draw(&Text::new("no value", (TEXT_X, yy + 1), font())).map_err(plot_error)?;
            }
        }
        Ok(())
    }
}
