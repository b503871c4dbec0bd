//! attractors.csv: one row per attractor.
//!
//! Columns: id, kind, stability, period (1: a fixed point, p: a p-cycle, 0: the other kinds; a
//! flow's limit cycle: its loops), cycle_time (a flow's limit cycle: its period in time; empty
//! for the other kinds), phase (networks: trivial, learning), count, fraction, fraction_se (a
//! sampled run's standard error of the fraction; empty on a grid), colour, then for each observable NAME
//! the value at the attractor's largest cluster (NAME; a cycle's at its point with the smallest
//! first component) and its range over the map (NAME_min, NAME_max). Attractors without a place
//! (±∞, undecided, …) leave the observable columns empty.

use crate::classify::Attractor;
use crate::render::palette::hex;

/// The CSV text for `attractors`, with `observables` naming the observable columns.
pub fn attractors_csv(attractors: &[Attractor], observables: &[&str], colours: &[[u8; 3]]) -> String {
    let mut s = String::from("id,kind,stability,period,cycle_time,phase,count,fraction,fraction_se,colour");
    for name in observables {
        s += &format!(",{name},{name}_min,{name}_max");
    }
    s.push('\n');
    for (a, colour) in attractors.iter().zip(colours) {
        let phase = a.phase.map_or("", |p| p.as_str());
        let time = if a.cycle_time > 0.0 { a.cycle_time.to_string() } else { String::new() };
        let se = a.fraction_se.map_or(String::new(), |se| format!("{se:.6}"));
        s += &format!("{},{},{},{},{time},{phase},{},{:.6},{se},{}", a.id, a.kind.as_str(), a.stability_str(), a.period, a.count, a.fraction, hex(*colour));
        for k in 0..observables.len() {
            match a.observables.get(k) {
                Some(o) => s += &format!(",{},{},{}", o.value, o.min, o.max),
                None => s += ",,,",
            }
        }
        s.push('\n');
    }
    s
}
