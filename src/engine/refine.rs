//! Boundary-adaptive refinement (`basinmap run --refine`): a 2-D map integrated at full
//! resolution only where its ends change, filled in everywhere else.
//!
//! A coarse lattice of starts is integrated first: every `S`-th pixel along each refined axis,
//! and the last. Each cell of the lattice, its corners and its centre (the probe that finds an
//! island between agreeing corners), either agrees, every point having ended the same way (the
//! same status and, where it came to rest, the same period and features within twice the
//! labeller's `cluster_tol · (1 + |x|)`) in about as many steps, or is split in two along each refined axis at the next
//! level, its neighbours with it, so that a boundary crossing an edge between agreeing corners is
//! caught a level down. Splitting goes on down to single pixels. A cell that agrees and is not
//! split is filled: each of its pixels takes the outcome of the nearest of the cell's computed
//! points. An island found by no probe is missed, so islands narrower than the coarse spacing
//! may be; `--refine=S` sets a finer one.
//!
//! The filled map is then labelled as a computed one ([`crate::outputs::label_map`]): labels,
//! counts and attractor ids come from the same labeller, so they are the full run's wherever the
//! refinement missed nothing. Steps, end states and observables of filled pixels are their
//! donor's (the nearest computed start of their cell), not their own.
//!
//! A filled pixel takes an end state of its own parameter point, or the labeller would find two
//! clusters of one branch at that point: where one axis sets a parameter and the other a start,
//! the parameter axis is integrated at every value and only the start axis is refined (cells are
//! segments of one column or row); where both set parameters, every pixel is a point of its own;
//! where both set starts, there is one point.
//!
//! Where the boundary fills the map (a fractal one), refinement saves nothing: once the next
//! level would take the integrated starts past half of the map, every start left is integrated,
//! the full computation ([`RefineStats::fell_back`]).
//!
//! A structure finer than the spacing (stripes that alternate faster than the lattice samples
//! them) would be filled over unseen, so refinement checks itself: a sample of the filled pixels
//! (1 in [`CHECK_ONE_IN`], at least [`CHECK_AT_LEAST`] and at most every other one; chosen by a
//! hash of the index, the same every run) is integrated and compared with what it was filled
//! with. One that ended elsewhere means the fill cannot be trusted, and every start left is
//! integrated too. A map filled wrong in a fraction f of its pixels passes the check with
//! probability (1 − f)^checked.

use super::{Engine, Outcomes, Status};
use crate::dynamics::Setting;
use crate::plan::{GridAxis, Plan};
use crate::{Error, Result};
use serde::Serialize;
use std::ops::Range;

/// The widest coarse spacing chosen when none is asked for: along the start axis of a map over
/// a parameter and a start (its cells are segments, cheap to split), and along both axes of
/// other maps. The spacing is also at most 1/32 of the axis, so that the islands a lattice
/// point always falls in are as wide a share of the axis at every size up to the widest (on
/// the default map at 8192², spacing 256 integrates 1.8x fewer starts than 64: the coarse
/// lattice was two thirds of them).
pub const AUTO_SPACING_SEGMENTS: usize = 1024;
pub const AUTO_SPACING_CELLS: usize = 32;

/// Once the integrated starts would pass this fraction of the map, every start is integrated.
pub const FALL_BACK_ABOVE: f64 = 0.5;

/// The check integrates one filled pixel in this many, at least [`CHECK_AT_LEAST`] (but at most
/// every other one).
pub const CHECK_ONE_IN: u64 = 256;
pub const CHECK_AT_LEAST: u64 = 512;

/// What a refined run integrated (run.json's `refine`).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct RefineStats {
    /// Trajectories integrated, of `trajectories` in the map.
    pub computed: u64,
    pub trajectories: u64,
    /// The coarse lattice's spacing in pixels along x and y (1: every value integrated).
    pub spacing: [usize; 2],
    /// Levels integrated: the coarse lattice and the splits after it.
    pub levels: u32,
    /// Filled pixels integrated to check the fill, and how many of them ended elsewhere.
    pub checked: u64,
    pub mismatched: u64,
    /// Every start was integrated: the boundary filled so much of the map, or the check found a
    /// pixel filled wrong.
    pub fell_back: bool,
    /// Steps of the integrated trajectories (the rate's numerator).
    pub steps: u64,
}

impl RefineStats {
    /// One line for the summary and the README: how much integration refinement saved.
    pub fn summary(&self) -> String {
        let share = self.computed as f64 / self.trajectories.max(1) as f64;
        if self.mismatched > 0 {
            format!(
                "--refine saved nothing here: {} of {} filled pixels checked ended elsewhere than their cell's points (a structure finer than the spacing {}x{}), so all {} starts were integrated",
                self.mismatched, self.checked, self.spacing[0], self.spacing[1], self.trajectories
            )
        } else if self.fell_back {
            format!(
                "--refine saved nothing here: the cells to integrate would have been over half of the map (the coarse lattice on a small map, or a boundary everywhere, a fractal one), so all {} starts were integrated",
                self.trajectories
            )
        } else {
            format!(
                "refined: integrated {} of {} starts ({:.2}%, {:.1}x fewer; coarse spacing {}x{}, {} levels), the rest filled from their cells; {} of them integrated as a check ended as filled",
                self.computed,
                self.trajectories,
                100.0 * share,
                1.0 / share.max(1e-12),
                self.spacing[0],
                self.spacing[1],
                self.levels,
                self.checked
            )
        }
    }
}

/// Why `plan` cannot be refined: a filled pixel copies a neighbour's outcome, so each pixel's
/// outcome must depend on its start and parameters alone, not on its index.
pub fn check(plan: &Plan) -> Result<()> {
    let why = if plan.sampled.is_some() || plan.y.is_none() {
        Some("a 2-D grid (this map has no cells: a scan or sampled starts)".to_string())
    } else if plan.samples > 1 {
        Some(format!("one start per pixel (this map has {} samples)", plan.samples))
    } else if plan.init_scale_slot().is_some() && !plan.shared_init {
        Some(format!("starts that are not drawn per pixel ({} starts at random: --shared-init draws one start for all)", plan.system.spec().name))
    } else if plan.dynamics.temperature > 0.0 || plan.varies(Setting::Temperature) {
        Some("dynamics without noise (this map has a temperature)".to_string())
    } else if plan.system.draws() {
        Some("full-batch training (this network draws minibatches)".to_string())
    } else if plan.part.is_some() {
        Some("the whole map (not a shard)".to_string())
    } else {
        None
    };
    match why {
        Some(why) => Err(Error::input(format!("--refine fills pixels from their neighbours' outcomes, so it needs {why}"))),
        None => Ok(()),
    }
}

/// The spacing of the coarse lattice along x and y: `asked` (a power of two) along each refined
/// axis, or the automatic one; 1 along an axis integrated at every value. Refuses a plan that
/// cannot be refined ([`check`]).
pub fn spacing(plan: &Plan, asked: Option<usize>) -> Result<[usize; 2]> {
    check(plan)?;
    if let Some(s) = asked {
        if !s.is_power_of_two() || !(2..=1024).contains(&s) {
            return Err(Error::input(format!("--refine={s}: the coarse spacing is a power of two from 2 to 1024")));
        }
    }
    let (rx, ry) = refined_axes(plan);
    let segments = rx != ry;
    let auto = |n: usize| {
        let widest = if segments { AUTO_SPACING_SEGMENTS } else { AUTO_SPACING_CELLS };
        let fit = (n / 32).max(2);
        (1usize << fit.ilog2()).min(widest)
    };
    let one = |refined: bool, n: usize| if refined && n >= 3 { asked.unwrap_or_else(|| auto(n)).min((n - 1).next_power_of_two()) } else { 1 };
    Ok([one(rx, plan.nx()), one(ry, plan.ny())])
}

/// Which axes are refined: both where they set the same kind of thing (two starts: one
/// parameter point; two parameters: a point per pixel), else the start axis only.
fn refined_axes(plan: &Plan) -> (bool, bool) {
    let layout = crate::classify::label::layout(plan);
    match (layout.x_param, layout.y_param) {
        (true, false) => (false, true),
        (false, true) => (true, false),
        _ => (true, true),
    }
}

/// One axis of the lattice: `n` pixels; refined or integrated at every value.
#[derive(Clone, Copy, Debug)]
struct Lattice {
    n: usize,
    refined: bool,
}

impl Lattice {
    fn of(n: usize, spacing: usize) -> Lattice {
        Lattice { n, refined: spacing > 1 }
    }
    /// Cells along the axis at spacing `s`.
    fn cells(&self, s: usize) -> usize {
        if self.refined {
            (self.n - 1).div_ceil(s)
        } else {
            self.n
        }
    }
    /// The first and last pixel of cell `c` at spacing `s` (a cell of an axis integrated at
    /// every value is one pixel wide).
    fn span(&self, s: usize, c: usize) -> (usize, usize) {
        if self.refined {
            (c * s, ((c + 1) * s).min(self.n - 1))
        } else {
            (c, c)
        }
    }
    /// The cell at spacing `2s` that cell `c` at spacing `s` is part of.
    fn parent(&self, c: usize) -> usize {
        if self.refined {
            c / 2
        } else {
            c
        }
    }
    /// The cells at spacing `s / 2` that make up cell `c` at spacing `s`.
    fn children(&self, s: usize, c: usize) -> Range<usize> {
        if self.refined {
            2 * c..(2 * c + 2).min(self.cells(s / 2))
        } else {
            c..c + 1
        }
    }
}

/// The pixels a cell is judged by: its corners and its centre (some may coincide).
fn probes((x0, x1): (usize, usize), (y0, y1): (usize, usize)) -> [(usize, usize); 5] {
    [(x0, y0), (x1, y0), (x0, y1), (x1, y1), ((x0 + x1) / 2, (y0 + y1) / 2)]
}

/// Whether trajectory `a` of `oa` and `b` of `ob` ended the same way, as far as the engine's
/// outcomes tell: the same status; at rest, the same period and features within twice the
/// clustering tolerance. Undecided ones may still end anywhere (the host continues them): never.
fn agree((oa, a): (&Outcomes, usize), (ob, b): (&Outcomes, usize), features: &[usize], tol: f64) -> bool {
    if oa.status[a] != ob.status[b] {
        return false;
    }
    match Status::from_code(oa.status[a]) {
        Status::Converged | Status::Cycle => {
            let (fa, fb) = (oa.obs(a), ob.obs(b));
            oa.period_of(a) == ob.period_of(b)
                && features.iter().all(|&j| {
                    let (u, v) = (fa[j] as f64, fb[j] as f64);
                    (u - v).abs() <= 2.0 * tol * (1.0 + u.abs().max(v.abs()))
                })
        }
        Status::Running | Status::Undecided => false,
        // Diverged, non-finite, escaped: by the status alone.
        _ => true,
    }
}

/// Steps of two points of a cell differ by at most this share of the larger (and
/// [`STEPS_SLACK`]) for the cell to agree: trajectories slow down near a boundary (the stable
/// manifold of a saddle) and near a degenerate fixed point, where thin stripes of other ends
/// hide; such cells are split even where their points ended alike.
pub const STEPS_SHARE: f64 = 0.25;
pub const STEPS_SLACK: u32 = 8;

fn similar_steps(o: &Outcomes, a: usize, b: usize) -> bool {
    let (sa, sb) = (o.steps[a], o.steps[b]);
    sa.abs_diff(sb) as f64 <= STEPS_SHARE * sa.max(sb) as f64 + STEPS_SLACK as f64
}

/// The plan that integrates exactly the pixels `points` (grid indices, in any order) of `plan`:
/// x and y stepped together along one axis, each trajectory with its pixel's values. Its
/// trajectories' bits are those of the pixels (their inputs are; their index enters nothing:
/// see [`check`]).
fn plan_of_points(plan: &Plan, points: &[u32]) -> Plan {
    let nx = plan.nx();
    let y = plan.y.as_ref().expect("refined maps are 2-D");
    let mut sub = plan.clone();
    sub.x = GridAxis { values: points.iter().map(|&i| plan.x.values[i as usize % nx]).collect(), ..plan.x.clone() };
    sub.zipped = vec![GridAxis { values: points.iter().map(|&i| y.values[i as usize / nx]).collect(), ..y.clone() }];
    sub.y = None;
    sub.part = None;
    sub
}

/// Copies trajectory `from` of `src` to trajectory `to` of `dst` (the optional arrays grown
/// where `src` has them).
fn put(dst: &mut Outcomes, to: usize, src: &Outcomes, from: usize) {
    let n = dst.len();
    dst.status[to] = src.status[from];
    dst.steps[to] = src.steps[from];
    let k = dst.n_obs;
    dst.observables[to * k..(to + 1) * k].copy_from_slice(&src.observables[from * k..(from + 1) * k]);
    if !src.period.is_empty() {
        dst.period.resize(n, 0);
        dst.period[to] = src.period[from];
    }
    if !src.lyapunov.is_empty() {
        dst.lyapunov.resize(n, f32::NAN);
        dst.lyapunov[to] = src.lyapunov[from];
    }
    if !src.cycle_time.is_empty() {
        dst.cycle_time.resize(n, 0.0);
        dst.cycle_time[to] = src.cycle_time[from];
    }
    if !src.memory.is_empty() {
        let m = src.memory.len() / src.len().max(1);
        dst.memory.resize(n * m, 0.0);
        dst.memory[to * m..(to + 1) * m].copy_from_slice(&src.memory[from * m..(from + 1) * m]);
    }
}

/// Copies trajectory `from` of `o` over trajectory `to`.
fn copy_within(o: &mut Outcomes, from: usize, to: usize) {
    o.status[to] = o.status[from];
    o.steps[to] = o.steps[from];
    let k = o.n_obs;
    o.observables.copy_within(from * k..(from + 1) * k, to * k);
    if !o.period.is_empty() {
        o.period[to] = o.period[from];
    }
    for v in [&mut o.lyapunov, &mut o.cycle_time] {
        if !v.is_empty() {
            v[to] = v[from];
        }
    }
    if !o.memory.is_empty() {
        let m = o.memory.len() / o.len().max(1);
        o.memory.copy_within(from * m..(from + 1) * m, to * m);
    }
}

/// Integrates `plan` (see [`check`]) by refinement, `spacing` from [`spacing`]: the outcomes of
/// every pixel, integrated or filled, in grid order, and what was integrated. `tile`,
/// `progress` (integrated starts out of the map's) and `should_stop` as for
/// [`super::run_in_tiles`].
pub fn run(engine: &dyn Engine, plan: &Plan, spacing: [usize; 2], tile: usize, progress: super::Progress<'_>, should_stop: &dyn Fn() -> bool) -> Result<(Outcomes, RefineStats)> {
    check(plan)?;
    let (nx, ny) = (plan.nx(), plan.ny());
    let total = nx * ny;
    let features = crate::classify::label::features(plan);
    let tol = plan.classify.cluster_tol;
    let (ax, ay) = (Lattice::of(nx, spacing[0]), Lattice::of(ny, spacing[1]));
    let top = spacing[0].max(spacing[1]);
    let mut outcomes = Outcomes::zeroed(total, plan.n_obs());
    let mut computed = vec![false; total];
    let mut n_computed = 0usize;
    let mut stats = RefineStats { computed: 0, trajectories: total as u64, spacing, levels: 0, checked: 0, mismatched: 0, fell_back: false, steps: 0 };
    // Integrates the pixels `points` into `outcomes`.
    let mut steps = 0u64;
    let mut integrate = |points: Vec<u32>, outcomes: &mut Outcomes, computed: &mut Vec<bool>, n_computed: &mut usize| -> Result<()> {
        if points.is_empty() {
            return Ok(());
        }
        let sub = plan_of_points(plan, &points);
        let done = *n_computed as u64;
        let got = super::run_in_tiles(engine, &sub, tile, &|d, _| progress(done + d, total as u64), should_stop)?;
        for (k, &i) in points.iter().enumerate() {
            put(outcomes, i as usize, &got, k);
            computed[i as usize] = true;
        }
        *n_computed += points.len();
        steps += got.steps.iter().map(|&s| s as u64).sum::<u64>();
        Ok(())
    };

    // The open cells of the level, as sorted indices: near a boundary only, so that a level's
    // bookkeeping is over the cells refined, not over every cell of the map (at 8192² the
    // finest level has 67M cells, some tens of thousands of them open).
    let mut s = top;
    let mut open: Vec<u32> = (0..(ax.cells(s) * ay.cells(s)) as u32).collect();
    loop {
        stats.levels += 1;
        let (cx, cy) = (ax.cells(s), ay.cells(s));
        let cell = |c: u32| (c as usize % cx, c as usize / cx);
        // The corners and centres of the open cells not integrated yet, each with the steps
        // its cell's parent's points took (they have an outcome, integrated or filled).
        let mut points: Vec<(u32, u32)> = Vec::new();
        for &c in &open {
            let (i, j) = cell(c);
            let parent = (s < top).then(|| probes(ax.span(2 * s, ax.parent(i)), ay.span(2 * s, ay.parent(j))).map(|(x, y)| outcomes.steps[y * nx + x]).into_iter().max().unwrap_or(0));
            for (x, y) in probes(ax.span(s, i), ay.span(s, j)) {
                let p = y * nx + x;
                if !computed[p] {
                    points.push((p as u32, parent.unwrap_or(0)));
                }
            }
        }
        let points = slowest_first(points);
        if (n_computed + points.len()) as f64 > FALL_BACK_ABOVE * total as f64 {
            // The boundary is everywhere: integrate every start left.
            stats.fell_back = true;
            let rest: Vec<u32> = (0..total as u32).filter(|&p| !computed[p as usize]).collect();
            integrate(rest, &mut outcomes, &mut computed, &mut n_computed)?;
            break;
        }
        integrate(points, &mut outcomes, &mut computed, &mut n_computed)?;
        if s == 1 {
            // Cells of two pixels a side: every pixel of an open cell is a corner. Then the
            // check: a sample of the filled pixels integrated and compared with their fill (at
            // most every other one, so that a small map is not integrated whole in the check).
            let filled = (total - n_computed) as u64;
            let one_in = (filled / CHECK_AT_LEAST).clamp(2, CHECK_ONE_IN);
            // Each expected to take about its fill's steps.
            let sample = slowest_first((0..total as u32).filter(|&p| !computed[p as usize] && splitmix(p as u64) % one_in == 0).map(|p| (p, outcomes.steps[p as usize])).collect());
            let fills: Vec<usize> = sample.iter().map(|&p| p as usize).collect();
            let mut filled_as = Outcomes::zeroed(fills.len(), outcomes.n_obs);
            for (k, &p) in fills.iter().enumerate() {
                put(&mut filled_as, k, &outcomes, p);
            }
            integrate(sample, &mut outcomes, &mut computed, &mut n_computed)?;
            stats.checked = fills.len() as u64;
            stats.mismatched = fills.iter().enumerate().filter(|&(k, &p)| !agree((&filled_as, k), (&outcomes, p), &features, tol)).count() as u64;
            if stats.mismatched > 0 {
                stats.fell_back = true;
                let rest: Vec<u32> = (0..total as u32).filter(|&p| !computed[p as usize]).collect();
                integrate(rest, &mut outcomes, &mut computed, &mut n_computed)?;
            }
            break;
        }
        // Open cells whose points disagree (sorted, as `open` is).
        let disagree: Vec<u32> = open
            .iter()
            .copied()
            .filter(|&c| {
                let (i, j) = cell(c);
                let pts = probes(ax.span(s, i), ay.span(s, j)).map(|(x, y)| y * nx + x);
                !pts[1..].iter().all(|&p| agree((&outcomes, pts[0]), (&outcomes, p), &features, tol) && similar_steps(&outcomes, pts[0], p))
            })
            .collect();
        // They and their neighbours are split at the next level: the next level's open cells.
        // The split cells are listed once before their children are (children of distinct
        // cells are distinct), so that where the boundary is everywhere the lists stay within
        // a few bytes a cell.
        let mut split_cells: Vec<u32> = Vec::with_capacity(5 * disagree.len());
        for &c in &disagree {
            let (i, j) = cell(c);
            let neighbours = [(i, j), (i.wrapping_sub(1), j), (i + 1, j), (i, j.wrapping_sub(1)), (i, j + 1)];
            split_cells.extend(neighbours.into_iter().filter(|&(a, b)| a < cx && b < cy).map(|(a, b)| (b * cx + a) as u32));
        }
        split_cells.sort_unstable();
        split_cells.dedup();
        let h = s / 2;
        let hx = ax.cells(h);
        let mut next: Vec<u32> = Vec::with_capacity(4 * split_cells.len());
        for &c in &split_cells {
            let (a, b) = cell(c);
            for cj in ay.children(s, b) {
                for ci in ax.children(s, a) {
                    next.push((cj * hx + ci) as u32);
                }
            }
        }
        next.sort_unstable();
        // Open cells that agree are filled where they are not split (in the order of their
        // index, as a pixel on the edge of two cells takes the last one's fill).
        let mut split = disagree.iter().peekable();
        for &c in &open {
            if split.next_if_eq(&&c).is_some() {
                continue;
            }
            let (i, j) = cell(c);
            let donors = probes(ax.span(s, i), ay.span(s, j));
            for cj in ay.children(s, j) {
                for ci in ax.children(s, i) {
                    if next.binary_search(&((cj * hx + ci) as u32)).is_ok() {
                        continue;
                    }
                    let ((x0, x1), (y0, y1)) = (ax.span(h, ci), ay.span(h, cj));
                    for y in y0..=y1 {
                        for x in x0..=x1 {
                            let p = y * nx + x;
                            if computed[p] {
                                continue;
                            }
                            let d2 = |&(u, v): &(usize, usize)| (u.abs_diff(x).pow(2) + v.abs_diff(y).pow(2), v * nx + u);
                            let (_, from) = donors.iter().map(d2).min().expect("five donors");
                            copy_within(&mut outcomes, from, p);
                        }
                    }
                }
            }
        }
        open = next;
        s = h;
    }
    stats.computed = n_computed as u64;
    stats.steps = steps;
    progress(total as u64, total as u64);
    Ok((outcomes, stats))
}

/// `points` (pixels, each with the steps it is expected to take) in the order to integrate
/// them: the slowest first, in index order among equals. The engine's workers each work a pack
/// of lanes through a chunk of consecutive trajectories, refilling a lane as its trajectory
/// stops; a chunk of about equally slow ones drains at once, where one slow trajectory among
/// fast ones leaves the pack nearly idle until it stops. Near a boundary (the points of the
/// later levels) stopping times differ by orders of magnitude: in index order the engine ran at
/// about half its rate. A trajectory's outcome does not depend on its place in the order.
fn slowest_first(mut points: Vec<(u32, u32)>) -> Vec<u32> {
    // A pixel listed twice (a point of two cells) keeps its larger expectation.
    points.sort_unstable_by_key(|&(p, steps)| (p, std::cmp::Reverse(steps)));
    points.dedup_by_key(|&mut (p, _)| p);
    points.sort_unstable_by_key(|&(p, steps)| (std::cmp::Reverse(steps), p));
    points.into_iter().map(|(p, _)| p).collect()
}

/// A well-mixed hash of `x` (splitmix64's finaliser): which filled pixels the check takes.
fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
