//! Printing graphs back as text: as a formula (`basinmap systems --show`) and as WGSL (the GPU
//! back end, and `--emit-wgsl`). Parentheses are placed so that the text keeps exactly the
//! graph's association, which matters in floating point: `a + (b - c)` stays so. Selects other
//! than `step` show as `(c >= 0 ? a : b)` in formulas, which is for reading only.

use super::graph::{Graph, Node, NodeId};
use std::collections::HashMap;
use std::fmt::Write;

/// Which text to produce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Syntax {
    Formula,
    Wgsl,
}

/// The names of the state variables and parameters, by index.
#[derive(Clone, Debug)]
pub struct Names<'a> {
    pub state: &'a [String],
    pub params: &'a [String],
}

// Precedence of what a text is: how tightly it binds.
const ADD: u8 = 1;
const MUL: u8 = 2;
const UNARY: u8 = 3;
const POW: u8 = 4;
const ATOM: u8 = 5;

struct Printer<'a> {
    g: &'a Graph,
    names: &'a Names<'a>,
    syntax: Syntax,
    /// Nodes bound to a WGSL `let`.
    temps: HashMap<NodeId, String>,
}

impl Printer<'_> {
    fn constant(&self, v: f64) -> (String, u8) {
        let text = match self.syntax {
            Syntax::Formula => format!("{v:?}"),
            // The f64 value as an abstract float, converted to the kernel's `real`: exactly v in
            // f64, and v rounded once to f32 (as the CPU engine rounds it) in f32.
            Syntax::Wgsl => format!("real({v:?})"),
        };
        let prec = if text.starts_with('-') { UNARY } else { ATOM };
        (text, prec)
    }

    fn wrap(&self, id: NodeId, min: u8) -> String {
        let (t, p) = self.text(id);
        if p < min {
            format!("({t})")
        } else {
            t
        }
    }

    fn text(&self, id: NodeId) -> (String, u8) {
        if let Some(name) = self.temps.get(&id) {
            return (name.clone(), ATOM);
        }
        match self.g.node(id) {
            Node::Const(b) => self.constant(f64::from_bits(b)),
            Node::State(i) => (self.names.state[i as usize].clone(), ATOM),
            Node::Param(i) => (self.names.params[i as usize].clone(), ATOM),
            Node::Neg(a) => (format!("-{}", self.wrap(a, UNARY)), UNARY),
            Node::Add(a, b) => (format!("{} + {}", self.wrap(a, ADD), self.wrap(b, MUL)), ADD),
            Node::Sub(a, b) => (format!("{} - {}", self.wrap(a, ADD), self.wrap(b, MUL)), ADD),
            Node::Mul(a, b) => (format!("{} * {}", self.wrap(a, MUL), self.wrap(b, UNARY)), MUL),
            Node::Div(a, b) => (format!("{} / {}", self.wrap(a, MUL), self.wrap(b, UNARY)), MUL),
            Node::Powi(a, n) => match self.syntax {
                Syntax::Formula => (format!("{}^{n}", self.wrap(a, ATOM)), POW),
                Syntax::Wgsl => unreachable!("WGSL is printed from graphs with expanded powers"),
            },
            Node::Pow(a, b) => match self.syntax {
                Syntax::Formula => (format!("{}^{}", self.wrap(a, ATOM), self.wrap(b, UNARY)), POW),
                Syntax::Wgsl => (format!("pow({}, {})", self.text(a).0, self.text(b).0), ATOM),
            },
            Node::Call(f, a) => (format!("{}({})", f.name(), self.text(a).0), ATOM),
            Node::Select(c, a, b) => match self.syntax {
                Syntax::Formula if self.g.constant(a) == Some(1.0) && self.g.constant(b) == Some(0.0) => {
                    (format!("step({})", self.text(c).0), ATOM)
                }
                Syntax::Formula => (format!("({} >= 0 ? {} : {})", self.text(c).0, self.text(a).0, self.text(b).0), ATOM),
                Syntax::Wgsl => (format!("select({}, {}, {} >= 0.0)", self.text(b).0, self.text(a).0, self.wrap(c, ADD)), ATOM),
            },
        }
    }
}

/// `root` as a formula in the input language (parses back to the same graph).
pub fn formula(g: &Graph, root: NodeId, names: &Names) -> String {
    Printer { g, names, syntax: Syntax::Formula, temps: HashMap::new() }.text(root).0
}

/// What a generated WGSL function returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Returns {
    /// One `real` (the loss).
    Scalar,
    /// A `State` with one root per component (the field).
    State,
}

/// A WGSL function `fn NAME(_x: State, _p: Params) -> …` computing `roots` (powers expanded).
/// Values used more than once are bound to a `let` once, in the graph's topological order.
pub fn wgsl_function(g: &Graph, name: &str, returns: Returns, roots: &[NodeId], names: &Names) -> String {
    let order = g.reachable(roots);
    let mut uses: HashMap<NodeId, usize> = HashMap::new();
    for &id in &order {
        for o in g.node(id).operands() {
            *uses.entry(o).or_default() += 1;
        }
    }
    for &r in roots {
        *uses.entry(r).or_default() += 1;
    }
    let mut s = String::new();
    let ret = match returns {
        Returns::Scalar => "real",
        Returns::State => "State",
    };
    let _ = writeln!(s, "fn {name}(_x: State, _p: Params) -> {ret} {{");
    // Names first: the state in order, then the parameters.
    let mut leaves: Vec<(u8, u32)> = order
        .iter()
        .filter_map(|&id| match g.node(id) {
            Node::State(i) => Some((0, i)),
            Node::Param(i) => Some((1, i)),
            _ => None,
        })
        .collect();
    leaves.sort_unstable();
    for (kind, i) in leaves {
        if kind == 0 {
            let _ = writeln!(s, "    let {} = _x[{i}];", names.state[i as usize]);
        } else {
            let n = &names.params[i as usize];
            let _ = writeln!(s, "    let {n} = _p.{n};");
        }
    }
    let mut p = Printer { g, names, syntax: Syntax::Wgsl, temps: HashMap::new() };
    // How deep each value's inline text nests; deeper than this it gets a `let` too (naga
    // refuses expressions nested about 200 deep).
    const MAX_INLINE_DEPTH: usize = 24;
    let mut depth: HashMap<NodeId, usize> = HashMap::new();
    for &id in &order {
        let node = g.node(id);
        let d = if node.is_leaf() { 0 } else { 1 + node.operands().map(|o| depth[&o]).max().unwrap_or(0) };
        let bind = !node.is_leaf() && (uses[&id] > 1 || d > MAX_INLINE_DEPTH);
        depth.insert(id, if bind { 0 } else { d });
        if bind {
            let text = p.text(id).0;
            let t = format!("_{}", p.temps.len());
            let _ = writeln!(s, "    let {t} = {text};");
            p.temps.insert(id, t);
        }
    }
    match returns {
        Returns::Scalar => {
            let _ = writeln!(s, "    return {};", p.text(roots[0]).0);
        }
        Returns::State => {
            let _ = writeln!(s, "    var _v: State;");
            for (i, &r) in roots.iter().enumerate() {
                let _ = writeln!(s, "    _v[{i}] = {};", p.text(r).0);
            }
            let _ = writeln!(s, "    return _v;");
        }
    }
    s.push_str("}\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formula::parse::parse;

    fn names() -> (Vec<String>, Vec<String>) {
        (vec!["x".into(), "y".into()], vec!["a".into()])
    }

    #[test]
    fn formula_text_keeps_association() {
        let (s, p) = names();
        let n = Names { state: &s, params: &p };
        let mut g = Graph::new();
        let (x, y, a) = (g.state(0), g.state(1), g.param(0));
        let ymx = g.sub(y, x);
        let sum = g.add(a, ymx);
        assert_eq!(formula(&g, sum, &n), "a + (y - x)");
        let x2 = g.powi(x, 2);
        let neg = g.neg(x2);
        assert_eq!(formula(&g, neg, &n), "-x^2");
        let q = g.div(a, sum);
        let m = g.mul(q, y);
        assert_eq!(formula(&g, m, &n), "y * (a / (a + (y - x)))");
        assert!(parse(&formula(&g, m, &n)).is_ok());
    }

    #[test]
    fn wgsl_binds_shared_values_once() {
        let (s, p) = names();
        let n = Names { state: &s, params: &p };
        let mut g = Graph::new();
        let (x, a) = (g.state(0), g.param(0));
        let x4 = g.powi(x, 4);
        let f = g.mul(a, x4);
        let roots = g.expand_powers(&[f]);
        let text = wgsl_function(&g, "loss", Returns::Scalar, &roots, &n);
        assert!(text.contains("let x = _x[0];"), "{text}");
        assert!(text.contains("let a = _p.a;"), "{text}");
        assert!(text.contains("let _0 = x * x;"), "{text}");
        assert!(text.contains("return a * (_0 * _0);"), "{text}");
        assert!(!text.contains("let y"), "unused state is not bound: {text}");
    }
}
