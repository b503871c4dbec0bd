//! Helpers shared by the integration tests.
#![allow(dead_code)]

use basinmap::classify::Classification;
use basinmap::engine::{cpu::CpuEngine, gpu::GpuEngine, Engine, Outcomes};
use basinmap::plan::Plan;
use basinmap::scenario::Scenario;

/// The GPU engine on any adapter (llvmpipe in CI). A missing adapter fails the test: CI installs
/// mesa-vulkan-drivers so that the WGSL really runs. Set BASINMAP_ALLOW_NO_GPU=1 to skip the GPU
/// half of the tests on a machine without any Vulkan driver; the skip is printed.
pub fn gpu() -> Option<GpuEngine> {
    // Mesa's device-select layer prints XDG_RUNTIME_DIR noise on headless machines (see main.rs).
    static QUIET: std::sync::Once = std::sync::Once::new();
    QUIET.call_once(|| std::env::set_var("NODEVICE_SELECT", "1"));
    match GpuEngine::new(true).expect("opening the adapter") {
        Some(g) => Some(g),
        None if std::env::var_os("BASINMAP_ALLOW_NO_GPU").is_some() => {
            eprintln!("SKIPPED: no wgpu adapter and BASINMAP_ALLOW_NO_GPU is set");
            None
        }
        None => panic!("no wgpu adapter: install mesa-vulkan-drivers (or set BASINMAP_ALLOW_NO_GPU=1 to skip GPU tests)"),
    }
}

/// The engines to check: the CPU engine, and the GPU engine when there is an adapter.
pub fn engines() -> Vec<(&'static str, Box<dyn Engine>)> {
    let mut v: Vec<(&'static str, Box<dyn Engine>)> = vec![("cpu", Box::new(CpuEngine::new()))];
    if let Some(g) = gpu() {
        v.push(("gpu", Box::new(g)));
    }
    v
}

pub fn plan(toml: &str) -> Plan {
    Plan::new(&Scenario::from_toml(toml).expect("valid scenario")).expect("valid plan")
}

/// Runs `plan` on `engine` and labels it.
pub fn run(engine: &dyn Engine, plan: &Plan) -> (Outcomes, Classification) {
    let mut outcomes = engine.run(plan, &|_, _| {}).expect("engine run");
    // As `basinmap run` does: undecided trajectories of gd tested for cycles.
    basinmap::classify::cycles::settle_undecided(plan, &mut outcomes, 0);
    // And those of a WGSL map, on the engine.
    basinmap::classify::continued::settle_on_engine(plan, engine, &mut outcomes, 0).expect("continued on the engine");
    let c = basinmap::classify::label(plan, &outcomes);
    (outcomes, c)
}
