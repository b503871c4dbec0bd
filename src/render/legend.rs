//! The words of a legend: an attractor's row (id, kind, phase, stability, share, where it is)
//! and shares as percentages. Every figure and table that names attractors uses these.

use crate::classify::{Attractor, Kind};
use crate::plan::Plan;

/// An attractor's id, kind (a cycle with its period: "2-cycle"), and (where it has them)
/// pooled, phase and stability.
pub fn attractor_label(a: &Attractor) -> String {
    let mut words = vec![a.id.to_string(), kind_label(a)];
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

/// An attractor's kind in words: "2-cycle" for a map's cycle, "limit cycle T=6.663" for a
/// flow's (with its loops where it crosses its section more than once per period), "period-3
/// response T=18.85" for a forced flow's (3 forcing periods).
pub fn kind_label(a: &Attractor) -> String {
    match a.kind {
        Kind::Cycle if a.forcing_period > 0.0 => format!("period-{} response T={}", a.period, super::numbers::value(a.cycle_time)),
        Kind::Cycle if a.cycle_time > 0.0 => {
            let loops = if a.period > 1 { format!(" of {} loops", a.period) } else { String::new() };
            format!("limit cycle{loops} T={}", super::numbers::value(a.cycle_time))
        }
        Kind::Cycle => format!("{}-cycle", a.period),
        other => other.as_str().to_string(),
    }
}

/// The title of a 1-D scan.
pub fn plan_title(plan: &Plan) -> String {
    format!("{}: final state against {}", plan.system.spec().name, super::names::axis(&plan.x))
}

/// The legend line of an attractor on a map: id, kind, phase, stability, its share, then where
/// it is for a fixed point (the first observables' representative values), a cycle (those of
/// its point with the smallest first component) or a chaotic attractor (the middles of
/// their ranges, "mid x=…"). The share comes
/// before the location so that a label cut to the legend's width loses location digits, not it.
/// `scales`: each observable's largest |value| over the map's attractors ([`scales`]): a value
/// under a millionth of it is rounding noise around 0 (φ = −1.2×10⁻¹⁷) and reads 0.
pub fn legend_label(a: &Attractor, names: &[&str], scales: &[f64]) -> String {
    let mut words = attractor_label(a) + &format!(" ({})", share(a, 1));
    if a.kind.is_located() && !a.pooled {
        let at: Vec<String> = a
            .observables
            .iter()
            .zip(names)
            .enumerate()
            .take(2)
            .map(|(k, (o, n))| {
                let noise = scales.get(k).is_some_and(|s| o.value.abs() < 1e-6 * s);
                format!("{}={}", super::names::symbol(n), super::numbers::value(if noise { 0.0 } else { o.value }))
            })
            .collect();
        // A chaotic attractor is placed by the middles of its ranges.
        let mid = if a.kind == Kind::Chaotic { "mid " } else { "" };
        words += &format!(": {mid}{}", at.join(" "));
    } else if let Some(what) = kind_meaning(a.kind) {
        words += &format!(": {what}");
    }
    words
}

/// Each observable's largest finite |value| over the located attractors: the scale against which
/// [`legend_label`] reads a value as 0.
pub fn scales(attractors: &[Attractor]) -> Vec<f64> {
    let mut s: Vec<f64> = Vec::new();
    for a in attractors.iter().filter(|a| a.kind.is_located()) {
        s.resize(s.len().max(a.observables.len()), 0.0);
        for (k, o) in a.observables.iter().enumerate().filter(|(_, o)| o.value.is_finite()) {
            s[k] = s[k].max(o.value.abs());
        }
    }
    s
}

/// Most rows a map's legend lists; the smallest fixed points past them are gathered.
pub const MAX_ROWS: usize = 16;
/// Fixed points with a smaller share than this are gathered into the "other" row when the
/// legend has more than [`FEW`] rows.
pub const SMALL_SHARE: f64 = 0.005;
/// A legend this short lists every attractor, however small.
pub const FEW: usize = 8;
/// The swatch of the gathered row.
pub const OTHER: [u8; 3] = [0xBB, 0xBB, 0xBB];

/// The legend rows of a map's attractors (`colours[id]` each): every attractor that is not a
/// fixed point (diverged, undecided: a reader must see those however rare), and the fixed points
/// by share; with more than [`FEW`] rows the fixed points under [`SMALL_SHARE`], and any past
/// [`MAX_ROWS`], are one row "other (N attractors, x %)".
pub fn gathered(attractors: &[Attractor], colours: &[[u8; 3]], names: &[&str]) -> Vec<([u8; 3], String)> {
    let scales = scales(attractors);
    let row = |a: &Attractor| (colours[a.id as usize], legend_label(a, names, &scales));
    if attractors.len() <= FEW {
        return attractors.iter().map(row).collect();
    }
    let mut fixed: Vec<&Attractor> = attractors.iter().filter(|a| a.kind.is_located()).collect();
    fixed.sort_by(|a, b| b.fraction.total_cmp(&a.fraction));
    let others = attractors.len() - fixed.len();
    let room = MAX_ROWS.saturating_sub(others + 1).max(1);
    let kept: Vec<u32> = fixed.iter().take(room).filter(|a| a.fraction >= SMALL_SHARE).map(|a| a.id).collect();
    let mut rows: Vec<([u8; 3], String)> = attractors.iter().filter(|a| !a.kind.is_located() || kept.contains(&a.id)).map(row).collect();
    let rest: Vec<&Attractor> = fixed.into_iter().filter(|a| !kept.contains(&a.id)).collect();
    if !rest.is_empty() {
        let share: f64 = rest.iter().map(|a| a.fraction).sum();
        rows.push((OTHER, format!("other ({} attractors, {}; attractors.csv)", rest.len(), percent(share, 1))));
    }
    rows
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
        Kind::Fixed | Kind::Cycle | Kind::Chaotic => return None,
    })
}

/// An attractor's share as a percentage ([`percent`]), with its standard error in a sampled
/// run: "15.2 ± 0.4%".
pub fn share(a: &Attractor, decimals: usize) -> String {
    match a.fraction_se {
        Some(se) => {
            let p = percent(a.fraction, decimals);
            format!("{} ± {}", p.trim_end_matches('%'), percent(se, decimals))
        }
        None => percent(a.fraction, decimals),
    }
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
    use super::{gathered, legend_label, percent};
    use crate::classify::{Attractor, Kind, ObservableSummary};

    #[test]
    fn a_pooled_attractor_says_so_and_gives_no_location() {
        let o = ObservableSummary { value: 0.5, min: 0.0, max: 1.0 };
        let a = Attractor { id: 31, kind: Kind::Fixed, stability: None, period: 0, cycle_time: 0.0, forcing_period: 0.0, pooled: true, count: 3, fraction: 0.25, fraction_se: None, representative: 0, observables: vec![o], phase: None };
        assert_eq!(legend_label(&a, &["x"], &[]), "31 fixed pooled (25.0%)");
        let u = Attractor { id: 2, kind: Kind::Undecided, pooled: false, observables: Vec::new(), ..a };
        assert_eq!(legend_label(&u, &["x"], &[]), "2 undecided (25.0%): still moving");
    }

    #[test]
    fn many_small_attractors_are_gathered_into_one_row() {
        let o = ObservableSummary { value: -0.5, min: -1.0, max: 0.0 };
        let fixed = |id: u32, fraction: f64| Attractor { id, kind: Kind::Fixed, stability: None, period: 1, cycle_time: 0.0, forcing_period: 0.0, pooled: false, count: 1, fraction, fraction_se: None, representative: 0, observables: vec![o.clone()], phase: None };
        // Two big basins, 20 tiny ones, and a rare undecided trajectory.
        let mut all = vec![fixed(0, 0.5), fixed(1, 0.4)];
        all.extend((2..22).map(|id| fixed(id, 0.0045)));
        all.push(Attractor { id: 22, kind: Kind::Undecided, observables: Vec::new(), ..fixed(22, 0.01) });
        let colours = vec![[0u8; 3]; 23];
        let rows = gathered(&all, &colours, &["m"]);
        assert_eq!(rows.len(), 4, "{rows:?}");
        assert_eq!(rows[0].1, "0 fixed (50.0%): m=−0.5");
        assert!(rows.iter().any(|r| r.1.starts_with("22 undecided")));
        assert_eq!(rows[3].1, "other (20 attractors, 9.0%; attractors.csv)");
        // A short legend lists everything.
        assert_eq!(gathered(&all[..5], &colours, &["m"]).len(), 5);
    }

    #[test]
    fn rounding_noise_around_zero_reads_zero_and_shares_carry_their_errors() {
        let at = |v: f64| ObservableSummary { value: v, min: v, max: v };
        let mut a = Attractor { id: 0, kind: Kind::Fixed, stability: None, period: 1, cycle_time: 0.0, forcing_period: 0.0, pooled: false, count: 1, fraction: 0.1536, fraction_se: None, representative: 0, observables: vec![at(-1.2e-17), at(5.198)], phase: None };
        let b = Attractor { id: 1, observables: vec![at(0.5236), at(-1.3e-7)], ..a.clone() };
        let all = [a.clone(), b.clone()];
        assert_eq!(super::scales(&all), vec![0.5236, 5.198]);
        assert_eq!(legend_label(&a, &["phi", "omega"], &super::scales(&all)), "0 fixed (15.4%): φ=0 ω=5.198");
        assert_eq!(legend_label(&b, &["phi", "omega"], &super::scales(&all)), "1 fixed (15.4%): φ=0.5236 ω=0");
        // Alone, a small value is the attractor's own scale, and stays.
        assert_eq!(legend_label(&b, &["phi", "omega"], &super::scales(&[b.clone()])), "1 fixed (15.4%): φ=0.5236 ω=−1.3×10⁻⁷");
        a.set_standard_error(10_000);
        assert_eq!(super::share(&a, 2), "15.36 ± 0.36%");
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
