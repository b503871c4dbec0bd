//! Colours: a colour-blind-safe categorical palette for fixed-point attractors (Okabe–Ito,
//! then Paul Tol's "muted"), and fixed colours for the kinds that are not fixed points.

use crate::classify::{Attractor, Kind, Phase};
use crate::scenario::ColourMap;

const CATEGORICAL: [[u8; 3]; 16] = [
    [0x00, 0x72, 0xB2], // blue
    [0xE6, 0x9F, 0x00], // orange
    [0x00, 0x9E, 0x73], // bluish green
    [0xCC, 0x79, 0xA7], // reddish purple
    [0x56, 0xB4, 0xE9], // sky blue
    [0xD5, 0x5E, 0x00], // vermillion
    [0xF0, 0xE4, 0x42], // yellow
    [0x33, 0x22, 0x88], // indigo
    [0x88, 0xCC, 0xEE], // cyan
    [0x44, 0xAA, 0x99], // teal
    [0x11, 0x77, 0x33], // green
    [0x99, 0x99, 0x33], // olive
    [0xDD, 0xCC, 0x77], // sand
    [0xCC, 0x66, 0x77], // rose
    [0x88, 0x22, 0x55], // wine
    [0xAA, 0x44, 0x99], // purple
];

/// The colour of the pooled attractor and of ids past the palette.
const POOLED: [u8; 3] = [0xBB, 0xBB, 0xBB];

/// One colour per attractor, in attractor order. A network's named phases keep one colour in
/// every map (trivial: the first, learning: the second); other fixed points and cycles take the
/// rest in order.
pub fn colours(attractors: &[Attractor]) -> Vec<[u8; 3]> {
    let phased = attractors.iter().any(|a| a.phase.is_some());
    let mut next = if phased { 2 } else { 0 };
    let mut seen_learning = false;
    attractors
        .iter()
        .map(|a| match a.kind {
            Kind::Fixed if a.pooled => POOLED,
            Kind::Fixed if a.phase == Some(Phase::Trivial) => CATEGORICAL[0],
            Kind::Fixed if a.phase == Some(Phase::Learning) && !seen_learning => {
                seen_learning = true;
                CATEGORICAL[1]
            }
            Kind::Fixed | Kind::Cycle | Kind::Chaotic => {
                next += 1;
                *CATEGORICAL.get(next - 1).unwrap_or(&POOLED)
            }
            Kind::PosInf => [0xF4, 0xA5, 0x82],
            Kind::NegInf => [0x92, 0xC5, 0xDE],
            Kind::Inf => [0xE8, 0xE8, 0xE8],
            Kind::Undecided => [0x6E, 0x6E, 0x6E],
            Kind::Nonfinite => [0x00, 0x00, 0x00],
            Kind::Escaped => [0xCC, 0x33, 0x11],
            Kind::Stalled => [0x66, 0x00, 0x66],
        })
        .collect()
}

/// `#rrggbb`.
pub fn hex(c: [u8; 3]) -> String {
    format!("#{:02x}{:02x}{:02x}", c[0], c[1], c[2])
}

/// `n` distinct colours for curves, from the categorical palette (repeating past 16).
pub fn series_colours(n: usize) -> Vec<[u8; 3]> {
    (0..n).map(|k| CATEGORICAL[k % CATEGORICAL.len()]).collect()
}

/// The colour of `t` in [0, 1] on a continuous colour map (matplotlib's, via colorous).
/// NaN (a span of zero, an overflowed range) gets the low end.
pub fn continuous(map: ColourMap, t: f64) -> [u8; 3] {
    let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
    let gradient = match map {
        ColourMap::Viridis => colorous::VIRIDIS,
        ColourMap::Cividis => colorous::CIVIDIS,
        ColourMap::Magma => colorous::MAGMA,
        ColourMap::Inferno => colorous::INFERNO,
        ColourMap::Plasma => colorous::PLASMA,
        ColourMap::Diverging => {
            let c = colorous::RED_BLUE.eval_continuous(1.0 - t);
            return [c.r, c.g, c.b];
        }
    };
    let c = gradient.eval_continuous(t);
    [c.r, c.g, c.b]
}

