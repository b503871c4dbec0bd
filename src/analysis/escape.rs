//! Metastability under noise: escape times of Langevin runs and the Arrhenius/Kramers fit.
//!
//! A run with `--temperature T --escape R` stops each trajectory the first time it is farther
//! than R from its start (`escaped`, its step count the escape time). Runs that do not escape
//! within the step budget are right-censored; for the exponential escape-time law of a
//! metastable state the maximum-likelihood mean is (Σ escape times + censored · budget) / escaped.
//! Kramers: the mean escape time grows as τ ≈ A·exp(ΔE/T), so ln τ against 1/T is a line whose
//! slope is the barrier ΔE.

use super::fixed_points::{settle, Quantities};
use crate::engine::{Outcomes, Status};
use crate::plan::Plan;
use crate::system::{Model, ModelVisitor};
use crate::{Error, Result};
use serde::Serialize;

/// Escape times of one noise run, in units of time (steps × lr).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct EscapeStats {
    pub temperature: f64,
    pub radius: f64,
    pub trajectories: u64,
    pub escaped: u64,
    /// Still inside after the whole budget (right-censored).
    pub censored: u64,
    /// Mean over the escaped trajectories only (biased low when some are censored).
    pub mean_escaped: Option<f64>,
    pub median_escaped: Option<f64>,
    /// The maximum-likelihood mean escape time of an exponential law, censoring included.
    pub mean: Option<f64>,
    /// Its standard error, mean/sqrt(escaped).
    pub mean_stderr: Option<f64>,
}

/// The escape times (time units; NaN for trajectories that did not escape) and their statistics.
pub fn escape_times(plan: &Plan, outcomes: &Outcomes) -> (Vec<f32>, EscapeStats) {
    let d = &plan.dynamics;
    let h = d.step_size();
    let budget = d.steps as f64 * h;
    let mut times = Vec::with_capacity(outcomes.len());
    let mut escaped = Vec::new();
    let mut censored = 0u64;
    for (&s, &n) in outcomes.status.iter().zip(&outcomes.steps) {
        match Status::from_code(s) {
            Status::Escaped | Status::DivergedPos | Status::DivergedNeg => {
                let t = n as f64 * h;
                escaped.push(t);
                times.push(t as f32);
            }
            Status::Undecided | Status::Running => {
                censored += 1;
                times.push(f32::NAN);
            }
            _ => times.push(f32::NAN),
        }
    }
    escaped.sort_by(f64::total_cmp);
    let k = escaped.len() as f64;
    let sum: f64 = escaped.iter().sum();
    let mean = (k > 0.0).then(|| (sum + censored as f64 * budget) / k);
    let stats = EscapeStats {
        temperature: d.temperature,
        radius: d.escape,
        trajectories: outcomes.len() as u64,
        escaped: escaped.len() as u64,
        censored,
        mean_escaped: (k > 0.0).then(|| sum / k),
        median_escaped: escaped.get(escaped.len() / 2).copied(),
        mean,
        mean_stderr: mean.map(|m| m / k.sqrt()),
    };
    (times, stats)
}

/// The Arrhenius/Kramers fit of ln τ against 1/T.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct KramersFit {
    /// The fitted barrier ΔE (the slope).
    pub barrier: f64,
    pub barrier_stderr: f64,
    /// The prefactor A of τ = A·exp(ΔE/T).
    pub prefactor: f64,
    /// Temperatures used (those with at least [`MIN_ESCAPES`] escapes).
    pub temperatures: Vec<f64>,
    /// The barrier the landscape gives (1-D systems): the loss at the lowest crossing of the
    /// escape sphere's inside minus the loss at the minimum the start flows to.
    pub true_barrier: Option<f64>,
}

/// Fewest escapes for a temperature to enter the fit.
pub const MIN_ESCAPES: u64 = 10;

/// Fits ln τ = ln A + ΔE/T, each temperature weighted by its escapes (var ln τ ≈ 1/escapes).
pub fn fit(points: &[EscapeStats]) -> Result<KramersFit> {
    let used: Vec<&EscapeStats> = points.iter().filter(|p| p.escaped >= MIN_ESCAPES && p.mean.is_some_and(|m| m > 0.0)).collect();
    if used.len() < 2 {
        return Err(Error::input(format!(
            "the Kramers fit needs at least two temperatures with {MIN_ESCAPES} or more escapes; raise the temperatures, --steps or --samples"
        )));
    }
    let w: Vec<f64> = used.iter().map(|p| p.escaped as f64).collect();
    let x: Vec<f64> = used.iter().map(|p| 1.0 / p.temperature).collect();
    let y: Vec<f64> = used.iter().map(|p| p.mean.expect("filtered").ln()).collect();
    let sw: f64 = w.iter().sum();
    let mx = w.iter().zip(&x).map(|(w, x)| w * x).sum::<f64>() / sw;
    let my = w.iter().zip(&y).map(|(w, y)| w * y).sum::<f64>() / sw;
    let sxx: f64 = w.iter().zip(&x).map(|(w, x)| w * (x - mx).powi(2)).sum();
    let sxy: f64 = w.iter().zip(x.iter().zip(&y)).map(|(w, (x, y))| w * (x - mx) * (y - my)).sum();
    let slope = sxy / sxx;
    let intercept = my - slope * mx;
    // The weights are inverse variances, so the slope's variance is 1/sxx; with more than two
    // points, scaled by the reduced chi-square when the scatter exceeds what counts explain.
    let chi2: f64 = w.iter().zip(x.iter().zip(&y)).map(|(w, (x, y))| w * (y - intercept - slope * x).powi(2)).sum();
    let scale = if used.len() > 2 { (chi2 / (used.len() - 2) as f64).max(1.0) } else { 1.0 };
    Ok(KramersFit {
        barrier: slope,
        barrier_stderr: (scale / sxx).sqrt(),
        prefactor: intercept.exp(),
        temperatures: used.iter().map(|p| p.temperature).collect(),
        true_barrier: None,
    })
}

/// The barrier a 1-D system's landscape gives for escapes from trajectory 0's start: the minimum
/// m the deterministic flow reaches, the escape boundary at start ± R, and on each side the
/// highest loss between m and that boundary; the lower side is the barrier. None for systems
/// with more than one state variable or no loss.
pub fn true_barrier(plan: &Plan) -> Result<Option<f64>> {
    if plan.n_state() != 1 || !plan.system.has_host_model() || plan.dynamics.escape <= 0.0 {
        return Ok(None);
    }
    let Ok(q) = Quantities::of(plan, None) else { return Ok(None) };
    let inputs = plan.inputs_at(0);
    let p = &inputs[..plan.n_params];
    let x0 = plan.start_f32(0)[0] as f64;
    let Some(min) = settle(plan, p, &[x0], true, &q)? else { return Ok(None) };
    struct Barrier<'a>(&'a [f64], f64, f64, f64);
    impl ModelVisitor for Barrier<'_> {
        type Output = f64;
        fn visit<M: Model>(self, m: &M) -> f64 {
            let Barrier(p, xm, x0, r) = self;
            let top = |to: f64| (0..=100_000).map(|k| m.loss(p, &[xm + (to - xm) * k as f64 / 100_000.0])).fold(f64::NEG_INFINITY, f64::max);
            top(x0 + r).min(top(x0 - r)) - m.loss(p, &[xm])
        }
    }
    Ok(Some(plan.system.visit(Barrier(p, min.state[0], x0, plan.dynamics.escape))?))
}

/// S(t): the share of trajectories not escaped by time t, at the escape times (for the figure).
pub fn survival(times: &[f32]) -> Vec<(f64, f64)> {
    let n = times.len() as f64;
    let mut t: Vec<f64> = times.iter().filter(|v| v.is_finite()).map(|&v| v as f64).collect();
    t.sort_by(f64::total_cmp);
    t.iter().enumerate().map(|(k, &ti)| (ti, 1.0 - (k + 1) as f64 / n)).filter(|&(_, s)| s > 0.0).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(t: f64, mean: f64, escaped: u64) -> EscapeStats {
        EscapeStats { temperature: t, radius: 1.0, trajectories: escaped, escaped, censored: 0, mean_escaped: Some(mean), median_escaped: None, mean: Some(mean), mean_stderr: None }
    }

    #[test]
    fn an_exact_arrhenius_law_gives_its_barrier() {
        let pts: Vec<EscapeStats> = [0.1, 0.15, 0.2, 0.3].iter().map(|&t| stats(t, 2.5 * (0.7 / t).exp(), 100)).collect();
        let f = fit(&pts).unwrap();
        assert!((f.barrier - 0.7).abs() < 1e-12 && (f.prefactor - 2.5).abs() < 1e-10, "{f:?}");
        assert!(fit(&pts[..1]).is_err());
    }

    #[test]
    fn survival_counts_censored_runs_as_never_escaping() {
        let s = survival(&[2.0, f32::NAN, 1.0, 3.0]);
        assert_eq!(s, vec![(1.0, 0.75), (2.0, 0.5), (3.0, 0.25)]);
    }
}
