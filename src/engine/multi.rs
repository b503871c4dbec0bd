//! Several engines on one map (`--devices all`): the plan's trajectories are cut into parts,
//! and each engine takes the next part as soon as it is free, so a faster device does more.
//! Outcomes depend only on trajectory indices, so the result equals one engine's run of the
//! whole map (on identical devices).

use super::{Continuer, Engine, EngineInfo, Outcomes, Progress};
use crate::plan::Plan;
use crate::{Error, Result};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

/// Parts per engine: enough to balance devices of different speed, few enough that each part
/// fills a device.
const PARTS_PER_ENGINE: usize = 4;

/// Engines that share a map.
pub struct MultiEngine {
    engines: Vec<Box<dyn Engine + Send + Sync>>,
}

impl MultiEngine {
    /// An error when `engines` is empty.
    pub fn new(engines: Vec<Box<dyn Engine + Send + Sync>>) -> Result<MultiEngine> {
        if engines.is_empty() {
            return Err(Error::NoAdapter("--devices all: no device to run on".into()));
        }
        Ok(MultiEngine { engines })
    }

    pub fn len(&self) -> usize {
        self.engines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.engines.is_empty()
    }
}

impl Engine for MultiEngine {
    fn info(&self) -> EngineInfo {
        let infos: Vec<EngineInfo> = self.engines.iter().map(|e| e.info()).collect();
        EngineInfo {
            kind: infos[0].kind,
            device: infos.iter().map(|i| i.device.as_str()).collect::<Vec<_>>().join(" + "),
            detail: format!("{} devices; {}", infos.len(), infos[0].detail),
        }
    }

    /// The first device continues rows (they are few: the undecided of a map).
    fn continuer<'a>(&'a self, plan: &'a Plan, rows: usize) -> Result<Option<Box<dyn Continuer + 'a>>> {
        self.engines[0].continuer(plan, rows)
    }

    fn run(&self, plan: &Plan, progress: Progress<'_>) -> Result<Outcomes> {
        let range = plan.range();
        let n_parts = (self.engines.len() * PARTS_PER_ENGINE).min(range.len()).max(1);
        let bound = |j: usize| range.start + (range.len() as u128 * j as u128 / n_parts as u128) as usize;
        let next = AtomicUsize::new(0);
        let settled = AtomicU64::new(0);
        let total = range.len() as u64;
        let results: Mutex<Vec<Option<Outcomes>>> = Mutex::new(vec![None; n_parts]);
        let first_error: Mutex<Option<Error>> = Mutex::new(None);
        std::thread::scope(|s| {
            for engine in &self.engines {
                let (next, settled, results, first_error) = (&next, &settled, &results, &first_error);
                s.spawn(move || loop {
                    let j = next.fetch_add(1, Ordering::Relaxed);
                    if j >= n_parts || first_error.lock().map(|e| e.is_some()).unwrap_or(true) {
                        return;
                    }
                    let mut part = plan.clone();
                    part.part = Some(bound(j)..bound(j + 1));
                    let before = settled.load(Ordering::Relaxed);
                    match engine.run(&part, &|d, _| progress(before + d, total)) {
                        Ok(o) => {
                            settled.fetch_add(o.len() as u64, Ordering::Relaxed);
                            results.lock().unwrap_or_else(|p| p.into_inner())[j] = Some(o);
                        }
                        Err(e) => {
                            first_error.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(e);
                            return;
                        }
                    }
                });
            }
        });
        if let Some(e) = first_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
            return Err(e);
        }
        let mut out = Outcomes::zeroed(0, plan.n_obs());
        for o in results.into_inner().unwrap_or_else(|p| p.into_inner()) {
            out.append(&o.expect("every part ran"));
        }
        progress(total, total);
        Ok(out)
    }
}
