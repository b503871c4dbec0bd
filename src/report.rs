//! What a run reports and how it is carried out: run.json's record ([`Report`], with its
//! [`Counts`] and [`Timings`]), the hooks a front end listens on ([`Observer`]) and the options
//! that say how, not what, to compute ([`RunOptions`]). Shared by every way of running a map
//! (in memory, in parts, sharded, streamed), so none of them depends on another.

use crate::classify::Attractor;
use crate::engine::{EngineInfo, Outcomes, Status};
use crate::plan::Plan;
use crate::render::legend::percent;
use crate::scenario::Scenario;
use serde::Serialize;

/// Wall-clock seconds of each stage.
#[derive(Clone, Debug, Serialize)]
pub struct Timings {
    pub setup: f64,
    pub integrate: f64,
    pub classify: f64,
    pub write: f64,
}

/// How many trajectories ended each way.
#[derive(Clone, Debug, Default, Serialize, serde::Deserialize, PartialEq)]
pub struct Counts {
    pub trajectories: u64,
    pub converged: u64,
    pub diverged: u64,
    pub undecided: u64,
    pub nonfinite: u64,
    /// Left the ball of radius `escape` around their start (noise runs).
    pub escaped: u64,
    /// Rest at an unstable fixed point that pushes could not make them leave (see
    /// [`crate::classify::stalls`]).
    #[serde(default)]
    pub stalled: u64,
    /// Settled on a cycle (see [`crate::classify::cycles`]).
    #[serde(default)]
    pub cycle: u64,
    /// Found chaotic (see [`crate::classify::chaos`]).
    #[serde(default)]
    pub chaotic: u64,
    /// Training runs (systems with a loss record): runs whose loss came down (`converged` = 1
    /// in converged.npy, the trainability map's blue). Not the same as `converged`: a training
    /// run is judged by its loss curve, not by reaching a fixed point.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trained: Option<u64>,
    /// Steps taken by all trajectories together.
    pub total_steps: u64,
}

impl Counts {
    pub fn of(outcomes: &Outcomes) -> Counts {
        let mut c = Counts { trajectories: outcomes.len() as u64, ..Default::default() };
        for (&s, &n) in outcomes.status.iter().zip(&outcomes.steps) {
            match Status::from_code(s) {
                Status::Converged => c.converged += 1,
                Status::DivergedPos | Status::DivergedNeg => c.diverged += 1,
                Status::Nonfinite => c.nonfinite += 1,
                Status::Escaped => c.escaped += 1,
                Status::Stalled => c.stalled += 1,
                Status::Cycle => c.cycle += 1,
                Status::Chaotic => c.chaotic += 1,
                _ => c.undecided += 1,
            }
            c.total_steps += n as u64;
        }
        c
    }

    /// [`Counts::of`], with the trained runs counted for a system with a loss record.
    pub fn of_plan(plan: &Plan, outcomes: &Outcomes) -> Counts {
        let mut c = Counts::of(outcomes);
        if plan.system.spec().loss_record {
            let names = plan.observable_names();
            c.trained = names.iter().position(|&n| n == "converged").map(|k| outcomes.column(k).iter().filter(|&&v| v > 0.5).count() as u64);
        }
        c
    }

    /// Adds the counts of another part of the map.
    pub fn add(&mut self, other: &Counts) {
        self.trajectories += other.trajectories;
        self.converged += other.converged;
        self.diverged += other.diverged;
        self.undecided += other.undecided;
        self.nonfinite += other.nonfinite;
        self.escaped += other.escaped;
        self.stalled += other.stalled;
        self.cycle += other.cycle;
        self.chaotic += other.chaotic;
        self.trained = match (self.trained, other.trained) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
        };
        self.total_steps += other.total_steps;
    }

    /// The warning for trajectories left resting at an unstable fixed point, if any were.
    pub fn stalled_warning(&self) -> Option<String> {
        (self.stalled > 0).then(|| {
            format!(
                "{} of {} trajectories ({}) rest at an unstable fixed point (a maximum or saddle) that pushes off it could not make them leave within the step budget; they are labelled stalled (raise --steps)",
                self.stalled,
                self.trajectories,
                percent(self.stalled as f64 / self.trajectories.max(1) as f64, 2)
            )
        })
    }

    /// The warning for trajectories that reached a non-finite value, if any did.
    pub fn nonfinite_warning(&self) -> Option<String> {
        (self.nonfinite > 0).then(|| {
            format!(
                "{} of {} trajectories ({:.3}%) reached a non-finite value (NaN: the log or square root of a negative number, 0/0, ...); they are labelled nonfinite",
                self.nonfinite,
                self.trajectories,
                100.0 * self.nonfinite as f64 / self.trajectories.max(1) as f64
            )
        })
    }
}

/// What run.json holds.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub basinmap: &'static str,
    pub scenario: Scenario,
    pub engine: EngineInfo,
    pub grid: [usize; 2],
    /// The names of the observables, in the order of each attractor's `observables`.
    pub observables: Vec<String>,
    pub timings: Timings,
    /// Trajectory-steps per second of the integration stage.
    pub steps_per_second: f64,
    pub counts: Counts,
    pub attractors: Vec<Attractor>,
    /// Boundary measures of a 2-D map (see `basinmap measure`) between attractors, or for a
    /// trainability map between trained and untrained runs; per grid point, the label most of its
    /// samples reached.
    pub boundary: Option<crate::analysis::boundary::BoundaryMeasures>,
    /// Escape-time statistics of a run with an escape radius (see `analysis::escape`).
    pub escape: Option<crate::analysis::escape::EscapeStats>,
    pub warnings: Vec<String>,
    pub files: Vec<String>,
    /// What a run by refinement (`--refine`) integrated; absent from other runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refine: Option<crate::engine::refine::RefineStats>,
}

/// Hooks for the command line (progress bars); the library default does nothing.
pub trait Observer: Sync {
    /// Integration progress: trajectories finished out of the total.
    fn progress(&self, _done: u64, _total: u64) {}
    /// The engine has been chosen.
    fn engine(&self, _info: &EngineInfo) {}
    /// Whether the user asked the run to stop (Ctrl-C): a run saved part by part stops after the
    /// part in hand, and `--resume` continues it.
    fn should_stop(&self) -> bool {
        false
    }
    /// Whether [`Observer::should_stop`] may turn true in the middle of the work (Ctrl-C in the
    /// Python package): maps, shards, sweeps and noise runs are then computed in tiles
    /// ([`crate::engine::run_in_tiles`]) so that a stop comes within one; otherwise in one go.
    fn stops_mid_run(&self) -> bool {
        false
    }
    /// Whether this run saves its parts or tiles as it goes (so that a stop can be resumed);
    /// said once, before the engine starts.
    fn resumable(&self, _saves_parts: bool) {}
}

/// Does nothing.
pub struct Silent;
impl Observer for Silent {}

/// How a run is carried out (not what it computes: that is the scenario).
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Read back the parts an interrupted run of the same scenario saved in the output directory.
    pub resume: bool,
    /// Trajectories per saved part (maps with more are computed and saved part by part).
    pub part_size: usize,
    /// Spread the map over every GPU (`--devices all`).
    pub all_devices: bool,
    /// Stream the map to disk tile by tile (see [`crate::stream`]); maps too large to hold in
    /// memory are streamed without being asked.
    pub stream: bool,
    /// Integrate by boundary-adaptive refinement ([`crate::engine::refine`]), in memory.
    pub refine: bool,
    /// The refinement's coarse spacing in pixels (a power of two); `None`: chosen by the map's size.
    pub refine_spacing: Option<usize>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions { resume: false, part_size: crate::plan::PART_TRAJECTORIES, all_devices: false, stream: false, refine: false, refine_spacing: None }
    }
}
