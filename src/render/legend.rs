//! The words of a legend: an attractor's row (id, kind, phase, stability, share, where it is)
//! and shares as percentages. Every figure and table that names attractors uses these.

use crate::classify::{Attractor, Kind};
use crate::plan::Plan;

/// An attractor's id, kind, and (where it has them) pooled, phase and stability.
pub fn attractor_label(a: &Attractor) -> String {
    let mut words = vec![a.id.to_string(), a.kind.as_str().to_string()];
    if a.pooled {
        words.push("pooled".to_string());
    }
    if let Some(p) = a.phase {
        words.push(p.as_str().to_string());
    }
    if let Some(s) = a.stability {
        words.push(s.as_str().to_string());
    }
    words.join(" ")
}

pub fn plan_title(plan: &Plan) -> String {
    format!("{}: final state against {}", plan.system.spec().name, plan.x.name)
}

/// The legend line of an attractor on a map: id, kind, phase, stability, its share, then where
/// it is for a fixed point (the first observables' representative values). The share comes
/// before the location so that a label cut to the legend's width loses location digits, not it.
pub fn legend_label(a: &Attractor, names: &[&str]) -> String {
    let mut words = attractor_label(a) + &format!(" ({})", percent(a.fraction, 1));
    if a.kind == Kind::Fixed && !a.pooled {
        let at: Vec<String> = a.observables.iter().zip(names).take(2).map(|(o, n)| format!("{n}={}", crate::trace::fmt_value(o.value))).collect();
        words += &format!(": {}", at.join(" "));
    } else if let Some(what) = kind_meaning(a.kind) {
        words += &format!(": {what}");
    }
    words
}

/// What an attractor that is not a fixed point means, in a word or two (a legend row must fit
/// its box).
fn kind_meaning(kind: Kind) -> Option<&'static str> {
    Some(match kind {
        Kind::PosInf | Kind::NegInf | Kind::Inf => "diverged",
        Kind::Undecided => "still moving",
        Kind::Nonfinite => "reached NaN",
        Kind::Escaped => "left the ball",
        Kind::Stalled => "at an unstable point",
        Kind::Fixed => return None,
    })
}

/// A share as a percentage for a legend or a table: `decimals` decimals, or two significant
/// digits below 0.1 %, so that an attractor a few trajectories reach reads 0.00038 %, not 0.0 %.
pub fn percent(fraction: f64, decimals: usize) -> String {
    let p = 100.0 * fraction;
    if p >= 0.1 || p <= 0.0 || !p.is_finite() {
        return format!("{p:.decimals$}%");
    }
    let decimals = (1.0 - p.log10().floor()) as usize;
    format!("{p:.decimals$}%")
}

#[cfg(test)]
mod tests {
    use super::{legend_label, percent};
    use crate::classify::{Attractor, Kind, ObservableSummary};

    #[test]
    fn a_pooled_attractor_says_so_and_gives_no_location() {
        let o = ObservableSummary { value: 0.5, min: 0.0, max: 1.0 };
        let a = Attractor { id: 31, kind: Kind::Fixed, stability: None, pooled: true, count: 3, fraction: 0.25, representative: 0, observables: vec![o], phase: None };
        assert_eq!(legend_label(&a, &["x"]), "31 fixed pooled (25.0%)");
        let u = Attractor { id: 2, kind: Kind::Undecided, pooled: false, observables: Vec::new(), ..a };
        assert_eq!(legend_label(&u, &["x"]), "2 undecided (25.0%): still moving");
    }

    #[test]
    fn small_shares_keep_two_significant_digits() {
        assert_eq!(percent(0.3432, 2), "34.32%");
        assert_eq!(percent(0.3432, 1), "34.3%");
        assert_eq!(percent(0.001, 2), "0.10%");
        assert_eq!(percent(0.0005, 1), "0.050%");
        assert_eq!(percent(1.0 / 262_144.0, 2), "0.00038%");
        assert_eq!(percent(0.0, 1), "0.0%");
    }
}
