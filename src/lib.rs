//! basinmap maps the phases of parametric families of dynamical systems.
//!
//! One run flows one way:
//!
//! ```text
//! Scenario (scenario.rs) → Plan (plan.rs) → Engine (engine/) → Outcomes
//!        → Classify (classify.rs) → Outputs (render/, io/)
//! ```
//!
//! Systems are built in (system/) or defined by the user as a formula (formula/, compiled to
//! both engines from one graph) or a WGSL file (system/custom.rs).
//!
//! [`run::execute`] drives the whole flow; each stage can also be used on its own. Maps too large
//! for memory take the same flow tile by tile ([`stream`]).
//!
//! ```no_run
//! let scenario = basinmap::scenario::Scenario::default_map();
//! let report = basinmap::run::execute(&scenario, std::path::Path::new("out")).unwrap();
//! println!("{} attractors", report.attractors.len());
//! ```

pub mod analysis;
pub mod bench;
pub mod classify;
pub mod cli;
pub mod diagnostic;
pub mod dynamics;
pub mod engine;
pub mod error;
pub mod formula;
pub mod io;
pub mod lanes;
pub mod landscape;
pub mod minibatch;
pub mod outputs;
pub mod plan;
pub mod real;
pub mod render;
pub mod report;
pub mod rng;
pub mod run;
pub mod scenario;
pub mod serve;
pub mod shard;
pub mod starts;
pub mod stream;
pub mod system;
pub mod trace;

pub use error::{Error, Result};
