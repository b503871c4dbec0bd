//! Phase transitions on a sweep, classified by Ehrenfest order: where L (order 0), its first
//! derivative (order 1: the order parameter jumps; the jump of L' is the paper's latent heat) or
//! its second derivative (order 2: the order parameter is continuous) jumps.
//!
//! Detection compares one-sided fits: for every interval between neighbouring values, a
//! quadratic is fitted to L over the `window` values on each side, and the two fits' value,
//! slope and curvature are compared at the interval. A smooth L gives differences of the
//! order of the fits' bias everywhere; a jump stands far above their median and above the
//! fits' own standard errors. The order is the lowest derivative that jumps by more than the
//! next one can explain (an L' jump of J inside an interval of width h moves the one-sided
//! values apart by at most J·h/2).
//!
//! The critical value is bracketed to the sweep's resolution and refined by bisection, each
//! step a fresh run of all the sweep's starts at the midpoint. Near a continuous transition the
//! order-parameter exponent β of |b| ∝ |p − p*|^β is fitted on the ordered side.

use super::boundary::linear_fit;
use super::fixed_points::Quantities;
use super::sweep::{lowest, point_with_neighbours, SweepPoint};
use crate::engine::Engine;
use crate::plan::Plan;
use crate::Result;
use serde::Serialize;

/// Detection thresholds.
#[derive(Clone, Debug)]
pub struct Detection {
    /// Values on each side of an interval that its one-sided fits use.
    pub window: usize,
    /// A jump must exceed this many standard errors of the fits…
    pub sigmas: f64,
    /// …and this many times the median difference over the nearby intervals (the fits' smooth bias).
    pub over_median: f64,
}

impl Detection {
    pub fn for_len(n: usize) -> Detection {
        Detection { window: (n / 40).clamp(4, 12), sigmas: 8.0, over_median: 25.0 }
    }
}

/// The one-sided fits' differences (right − left) of L, L', L'' at a point.
#[derive(Clone, Copy, Debug, Serialize, Default, PartialEq)]
pub struct Jumps {
    pub loss: f64,
    pub d1: f64,
    pub d2: f64,
}

/// A fitted critical exponent.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ExponentFit {
    pub beta: f64,
    /// The slope's standard error combined with its change when the fit range is halved.
    pub uncertainty: f64,
    pub amplitude: f64,
    /// |p − p*| range of the fit.
    pub fit_range: [f64; 2],
    pub points: usize,
}

/// One transition.
#[derive(Clone, Debug, Serialize)]
pub struct Transition {
    /// Ehrenfest order: 0 (L jumps), 1 (L' jumps), 2 (L'' jumps).
    pub order: u8,
    /// The critical value: the middle of `bracket`.
    pub critical: f64,
    /// Neighbouring sweep values around the transition.
    pub grid_bracket: [f64; 2],
    /// The bracket after bisection.
    pub bracket: [f64; 2],
    pub bisection_steps: u32,
    /// Jumps of L, L' and L'' at `critical`, from the one-sided fits.
    pub jumps: Jumps,
    /// For order 1: the jump of L' (the latent heat of the paper).
    pub latent_heat: Option<f64>,
    /// |order parameter| on the right of the bracket minus on its left.
    pub order_parameter_jump: f64,
    /// For order 2: the fitted β.
    pub exponent: Option<ExponentFit>,
    /// How far each jump stands above its threshold (jump / threshold, for L, L', L'').
    pub significance: [f64; 3],
}

/// Quadratic least squares of `f` against `t` (scaled by `s` for conditioning): the value, first
/// and second derivative at t = at, their variances, and the residual sum of squares.
fn quad_fit(t: &[f64], f: &[f64], s: f64, at: f64) -> ([f64; 3], [f64; 3], f64) {
    use nalgebra::{Matrix3, Vector3};
    let mut ata = Matrix3::<f64>::zeros();
    let mut atb = Vector3::<f64>::zeros();
    for (&ti, &fi) in t.iter().zip(f) {
        let u = ti / s;
        let row = Vector3::new(1.0, u, u * u);
        ata += row * row.transpose();
        atb += row * fi;
    }
    let Some(inv) = ata.try_inverse() else {
        return ([f64::NAN; 3], [f64::INFINITY; 3], f64::INFINITY);
    };
    let c = inv * atb;
    let rss: f64 = t.iter().zip(f).map(|(&ti, &fi)| {
        let u = ti / s;
        (fi - c[0] - c[1] * u - c[2] * u * u).powi(2)
    }).sum();
    let dof = (t.len() as f64 - 3.0).max(1.0);
    let var = rss / dof;
    // Value, slope and curvature at u0 = at/s are linear in c: g·c with these gradients.
    let u0 = at / s;
    let grads = [Vector3::new(1.0, u0, u0 * u0), Vector3::new(0.0, 1.0 / s, 2.0 * u0 / s), Vector3::new(0.0, 0.0, 2.0 / (s * s))];
    let est = grads.map(|g| g.dot(&c));
    let vars = grads.map(|g| var * (g.transpose() * inv * g)[0]);
    (est, vars, rss)
}

/// The one-sided fits around interval `k` (between values k and k+1), evaluated at `at`:
/// the jumps, their standard errors, and the two fits' residual sum of squares.
fn jumps_at(x: &[f64], f: &[f64], k: usize, w: usize, at: f64) -> (Jumps, [f64; 3], f64) {
    let s = (x[k + 1] - x[k]) * w as f64;
    let left: Vec<f64> = x[k + 1 - w..=k].iter().map(|v| v - at).collect();
    let right: Vec<f64> = x[k + 1..=k + w].iter().map(|v| v - at).collect();
    let (l, lv, l_rss) = quad_fit(&left, &f[k + 1 - w..=k], s, 0.0);
    let (r, rv, r_rss) = quad_fit(&right, &f[k + 1..=k + w], s, 0.0);
    let d = [r[0] - l[0], r[1] - l[1], r[2] - l[2]];
    let se = [0, 1, 2].map(|j| (lv[j] + rv[j]).sqrt());
    (Jumps { loss: d[0], d1: d[1], d2: d[2] }, se, l_rss + r_rss)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// A candidate found on the grid: the interval index, order and significances.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    pub interval: usize,
    pub order: u8,
    pub significance: [f64; 3],
    /// Residual sum of squares of the interval's two one-sided fits.
    pub rss: f64,
}

/// Intervals where L or a derivative jumps, one per transition, with their Ehrenfest order.
pub fn detect(points: &[SweepPoint], det: &Detection) -> Vec<Candidate> {
    let n = points.len();
    let w = det.window;
    if n < 2 * w + 1 {
        return Vec::new();
    }
    let x: Vec<f64> = points.iter().map(|p| p.value).collect();
    let f: Vec<f64> = points.iter().map(|p| p.loss).collect();
    let scale = f.iter().filter(|v| v.is_finite()).fold(0.0f64, |m, v| m.max(v.abs())).max(1e-300);
    let width = (x[n - 1] - x[0]).abs().max(1e-300);
    let floor = [scale * 1e-9, scale * 1e-9 / width, scale * 1e-9 / (width * width)];
    let intervals: Vec<usize> = (w - 1..n - w).filter(|&k| f[k + 1 - w..=k + w].iter().all(|v| v.is_finite())).collect();
    let stats: Vec<(Jumps, [f64; 3], f64)> = intervals.iter().map(|&k| jumps_at(&x, &f, k, w, 0.5 * (x[k] + x[k + 1]))).collect();
    let abs = |j: &Jumps| [j.loss.abs(), j.d1.abs(), j.d2.abs()];
    // The fits' smooth bias varies along the sweep (a flat phase has none): its local median.
    let reach = 4 * w;
    let mut candidates: Vec<Candidate> = Vec::new();
    for (n, (&k, (j, se, rss))) in intervals.iter().zip(&stats).enumerate() {
        let a = abs(j);
        let h = x[k + 1] - x[k];
        let around = n.saturating_sub(reach)..(n + reach + 1).min(stats.len());
        let background: [f64; 3] = [0, 1, 2].map(|d| median(stats[around.clone()].iter().map(|(j, _, _)| abs(j)[d]).collect()));
        let sig: [f64; 3] = [0, 1, 2].map(|d| a[d] / (det.sigmas * se[d]).max(det.over_median * background[d]).max(floor[d]));
        // The lowest derivative that jumps by more than the next one's jump can explain.
        let order = (0..3).find(|&d| sig[d] > 1.0 && (d == 2 || a[d] > h * a[d + 1]));
        if let Some(order) = order {
            candidates.push(Candidate { interval: k, order: order as u8, significance: sig, rss: *rss });
        }
    }
    // Neighbouring intervals see the same transition; the one whose windows do not straddle
    // it is where the two fits leave the least residual (the least-squares change point).
    let mut out: Vec<Candidate> = Vec::new();
    let mut last_seen = 0;
    for c in candidates {
        let joins = !out.is_empty() && c.interval <= last_seen + w;
        last_seen = c.interval;
        match out.last_mut() {
            Some(last) if joins => {
                if c.rss < last.rss {
                    *last = c;
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// Locates, classifies and refines every transition of a sweep. `refine` bisection steps run
/// the sweep's starts again at each midpoint through `engine`.
pub fn analyse(plan: &Plan, engine: &dyn Engine, q: &Quantities, points: &[SweepPoint], refine: u32) -> Result<Vec<Transition>> {
    // Values where no minimum was found (every start diverged, or only a saddle was reached)
    // are left out rather than breaking the fits around them.
    let kept: Vec<SweepPoint> = points.iter().filter(|p| p.loss.is_finite()).cloned().collect();
    let points = &kept[..];
    let det = Detection::for_len(points.len());
    let x: Vec<f64> = points.iter().map(|p| p.value).collect();
    let f: Vec<f64> = points.iter().map(|p| p.loss).collect();
    let b: Vec<f64> = points.iter().map(|p| p.order.abs()).collect();
    let b_max = b.iter().filter(|v| v.is_finite()).fold(0.0f64, |m, v| m.max(*v));
    let zero = 1e-6 * b_max.max(1e-300);
    let mut out = Vec::new();
    for c in detect(points, &det) {
        let w = det.window;
        let near = c.interval.saturating_sub(w)..(c.interval + w + 1).min(points.len() - 1);
        // The bracket from the order parameter where it tells: its largest jump (order 0/1), or
        // where it leaves zero (order 2); else the interval the fits found.
        let k = match c.order {
            2 => near.clone().filter(|&i| (b[i] <= zero) != (b[i + 1] <= zero)).min_by_key(|&i| i.abs_diff(c.interval)),
            _ => near.clone().max_by(|&i, &j| (b[i + 1] - b[i]).abs().total_cmp(&(b[j + 1] - b[j]).abs())),
        }
        .unwrap_or(c.interval);
        let (mut lo, mut hi) = (x[k], x[k + 1]);
        let (b_lo, b_hi) = (b[k], b[k + 1]);
        let mut steps = 0;
        // Which side a midpoint's global minimum is on: by |order| nearer the left or right
        // end's (order 0/1), or by ordered vs disordered (order 2).
        let bisectable = match c.order {
            2 => (b_lo <= zero) != (b_hi <= zero),
            _ => (b_hi - b_lo).abs() > 1e-6 * (1.0 + b_max),
        };
        let (mut last_lo, mut last_hi) = (b_lo, b_hi);
        // The minima at the two ends, continued to each midpoint beside what its starts reach.
        let ends: Vec<_> = [lowest(&points[k]), lowest(&points[k + 1])].into_iter().flatten().cloned().collect();
        let ends: Vec<&_> = ends.iter().collect();
        if bisectable {
            for _ in 0..refine {
                let mid = 0.5 * (lo + hi);
                if mid <= lo || mid >= hi {
                    break;
                }
                let pm = point_with_neighbours(plan, engine, q, mid, &ends)?;
                let bm = pm.order.abs();
                if !bm.is_finite() {
                    break;
                }
                let right_side = match c.order {
                    2 => (bm <= zero) == (b_hi <= zero),
                    _ => (bm - b_hi).abs() < (bm - b_lo).abs(),
                };
                if right_side {
                    hi = mid;
                    last_hi = bm;
                } else {
                    lo = mid;
                    last_lo = bm;
                }
                steps += 1;
            }
        }
        let critical = 0.5 * (lo + hi);
        let fit_k = k.clamp(det.window - 1, points.len() - det.window - 1);
        let (jumps, _, _) = jumps_at(&x, &f, fit_k, det.window, critical);
        let exponent = if c.order == 2 { fit_exponent(&x, &b, critical, k, b_lo > b_hi, zero) } else { None };
        out.push(Transition {
            order: c.order,
            critical,
            grid_bracket: [x[k], x[k + 1]],
            bracket: [lo, hi],
            bisection_steps: steps,
            jumps,
            latent_heat: (c.order == 1).then_some(jumps.d1),
            order_parameter_jump: last_hi - last_lo,
            exponent,
            significance: c.significance,
        });
    }
    Ok(out)
}

/// Fits log|b| = log A + β log|p − p*| on the ordered side (left of interval k when
/// `ordered_left`), from 2 spacings away from p* out to 5 % of the sweep (at least 20 spacings).
pub fn fit_exponent(x: &[f64], b: &[f64], critical: f64, k: usize, ordered_left: bool, zero: f64) -> Option<ExponentFit> {
    let h = (x[k + 1] - x[k]).abs();
    let width = (x[x.len() - 1] - x[0]).abs();
    let (d_lo, d_hi) = (2.0 * h, (0.05 * width).max(20.0 * h));
    let side = |i: usize| if ordered_left { x[i] < critical } else { x[i] > critical };
    let pts = |hi: f64| -> Vec<(f64, f64)> {
        (0..x.len())
            .filter(|&i| side(i) && b[i] > zero && b[i].is_finite())
            .map(|i| ((x[i] - critical).abs(), b[i]))
            .filter(|&(d, _)| d >= d_lo && d <= hi)
            .map(|(d, v)| (d.ln(), v.ln()))
            .collect()
    };
    let all = pts(d_hi);
    if all.len() < 5 {
        return None;
    }
    let (beta, se) = linear_fit(&all);
    let half = pts(0.5 * (d_lo + d_hi));
    let systematic = if half.len() >= 5 { (linear_fit(&half).0 - beta).abs() } else { 0.0 };
    let (mx, my) = (all.iter().map(|p| p.0).sum::<f64>() / all.len() as f64, all.iter().map(|p| p.1).sum::<f64>() / all.len() as f64);
    Some(ExponentFit {
        beta,
        uncertainty: (se * se + systematic * systematic).sqrt(),
        amplitude: (my - beta * mx).exp(),
        fit_range: [d_lo, all.iter().map(|p| p.0.exp()).fold(0.0, f64::max)],
        points: all.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sweep_of(n: usize, f: impl Fn(f64) -> f64) -> Vec<SweepPoint> {
        (0..n)
            .map(|i| {
                let v = -1.0 + 2.0 * i as f64 / (n - 1) as f64 + 1e-4;
                SweepPoint { value: v, fixed_points: vec![], orbits: vec![], loss: f(v), order: 0.0, d1: 0.0, d2: 0.0, threshold: f64::NAN, ends: vec![] }
            })
            .collect()
    }

    fn orders(points: &[SweepPoint]) -> Vec<(u8, f64)> {
        detect(points, &Detection::for_len(points.len())).iter().map(|c| (c.order, points[c.interval].value)).collect()
    }

    #[test]
    fn a_smooth_loss_has_no_transition() {
        assert_eq!(orders(&sweep_of(801, |v| (2.0 * v).sin() + v.powi(4) / 3.0)), vec![]);
        assert_eq!(orders(&sweep_of(801, |v| -v * v / (1.0 + v * v))), vec![]);
    }

    #[test]
    fn jumps_of_l_and_its_derivatives_are_told_apart() {
        let o = orders(&sweep_of(801, |v| if v < 0.3 { v * v } else { v * v + 0.2 }));
        assert_eq!(o.len(), 1);
        assert_eq!(o[0].0, 0);
        assert!((o[0].1 - 0.3).abs() < 0.003, "{o:?}");
        let o = orders(&sweep_of(801, |v| if v < 0.3 { 0.09 - 0.5 * (v - 0.3) } else { 0.09 + (v - 0.3) } + v.sin()));
        assert_eq!(o.iter().map(|c| c.0).collect::<Vec<_>>(), vec![1], "{o:?}");
        let o = orders(&sweep_of(801, |v| if v < -0.2 { (v + 0.2).powi(2) } else { 0.0 } + 0.3 * v.cos()));
        assert_eq!(o.iter().map(|c| c.0).collect::<Vec<_>>(), vec![2], "{o:?}");
        assert!((o[0].1 + 0.2).abs() < 0.003);
    }

    #[test]
    fn exponent_of_a_square_root_is_one_half() {
        let x: Vec<f64> = (0..1001).map(|i| -0.5 + i as f64 * 1e-3).collect();
        let b: Vec<f64> = x.iter().map(|&v| if v < 0.1 { 2.0 * (0.1 - v).sqrt() } else { 0.0 }).collect();
        let k = x.iter().position(|&v| v >= 0.1).unwrap() - 1;
        let fit = fit_exponent(&x, &b, 0.1, k, true, 1e-9).unwrap();
        assert!((fit.beta - 0.5).abs() < 1e-9 && (fit.amplitude - 2.0).abs() < 1e-6, "{fit:?}");
    }
}
