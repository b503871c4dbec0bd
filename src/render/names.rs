//! Names as a reader writes them: a scenario's `gamma`, `sigma2`, `lr1`, `dL` become γ, σ², η₁, L′
//! in titles, axes and legends, and a state variable on an axis is its start value (m₀). Names
//! not listed here are shown as written, an index `a[1]` as a subscript.

use crate::plan::GridAxis;

/// Symbols of the built-in systems' parameters, the step rules' settings and the sweeps'
/// quantities.
const SYMBOLS: &[(&str, &str)] = &[
    ("gamma", "γ"),
    ("sigma2", "σ²"),
    ("sigma", "σ"),
    ("ey2", "E[y²]"),
    ("exy", "E[xy]"),
    ("d0", "d₀"),
    ("init_scale", "init scale"),
    ("reg_power", "p"),
    ("lr", "η"),
    ("dt", "Δt"),
    ("momentum", "μ"),
    ("beta1", "β₁"),
    ("beta2", "β₂"),
    ("eps", "ε"),
    ("weight_decay", "λ"),
    ("temperature", "T"),
    ("dL", "L′"),
    ("d2L", "L″"),
    ("loss0", "L₀"),
    ("grad_norm", "|∇L|"),
    ("e2e_norm", "end-to-end norm"),
    ("out_rms", "output rms"),
    ("alpha", "α"),
    ("beta", "β"),
    ("delta", "δ"),
    ("omega", "ω"),
    ("lambda", "λ"),
    ("mu", "μ"),
    ("theta", "θ"),
    ("epsilon", "ε"),
    ("phi", "φ"),
    ("psi", "ψ"),
    ("rho", "ρ"),
];

fn subscript(digits: &str) -> String {
    digits.chars().map(|c| c.to_digit(10).map_or(c, |d| ['₀', '₁', '₂', '₃', '₄', '₅', '₆', '₇', '₈', '₉'][d as usize])).collect()
}

/// The symbol of a parameter, setting or observable: from [`SYMBOLS`], with a trailing layer
/// number or `[i]` index as a subscript (`lr2` → η₂, `a[1]` → a₁); else the name itself.
pub fn symbol(name: &str) -> String {
    if let Some((_, s)) = SYMBOLS.iter().find(|(n, _)| *n == name) {
        return s.to_string();
    }
    if let Some(base) = name.strip_suffix(']') {
        if let Some((stem, index)) = base.split_once('[') {
            if !index.is_empty() && index.chars().all(|c| c.is_ascii_digit()) {
                return format!("{}{}", symbol(stem), subscript(index));
            }
        }
    }
    let stem = name.trim_end_matches(|c: char| c.is_ascii_digit());
    if stem.len() < name.len() && !stem.is_empty() {
        if let Some((_, s)) = SYMBOLS.iter().find(|(n, _)| *n == stem) {
            return format!("{s}{}", subscript(&name[stem.len()..]));
        }
    }
    name.to_string()
}

/// An axis's name on a figure: the parameter's symbol, or a state variable's start value
/// (`m` → m₀, `w[2]` → w₂(0)).
pub fn axis(axis: &GridAxis) -> String {
    let s = symbol(&axis.name);
    if !axis.is_state {
        return s;
    }
    if axis.name.chars().all(|c| c.is_alphabetic()) {
        format!("{s}₀")
    } else {
        format!("{s}(0)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_symbols() {
        assert_eq!(symbol("gamma"), "γ");
        assert_eq!(symbol("sigma2"), "σ²");
        assert_eq!(symbol("lr2"), "η₂");
        assert_eq!(symbol("beta1"), "β₁");
        assert_eq!(symbol("a[1]"), "a₁");
        assert_eq!(symbol("dL"), "L′");
        assert_eq!(symbol("d2L"), "L″");
        assert_eq!(symbol("r"), "r");
        assert_eq!(symbol("x2"), "x2");
        assert_eq!(symbol("W1[3]"), "W1₃");
        let state = |name: &str| GridAxis { name: name.into(), target: 0, values: vec![0.0], log: false, is_state: true };
        assert_eq!(axis(&state("m")), "m₀");
        assert_eq!(axis(&state("w[2]")), "w₂(0)");
        assert_eq!(axis(&GridAxis { is_state: false, ..state("gamma") }), "γ");
    }
}
