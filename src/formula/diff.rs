//! Symbolic differentiation on the graph: forward over the nodes a root depends on, in
//! topological order, each derivative built from its operands' derivatives with the graph's
//! simplifying constructors (so d/dx of r·x² is 2·r·x, not 0·x² + r·(1·x + x·1)).

use super::graph::{Func, Graph, Node, NodeId};
use std::collections::HashMap;

/// ∂root/∂(state variable `var`).
pub fn derivative(g: &mut Graph, root: NodeId, var: usize) -> NodeId {
    let mut d: HashMap<NodeId, NodeId> = HashMap::new();
    for id in g.reachable(&[root]) {
        let dn = rule(g, id, var, &d);
        d.insert(id, dn);
    }
    d[&root]
}

/// The gradient of `root` over `n` state variables.
pub fn gradient(g: &mut Graph, root: NodeId, n: usize) -> Vec<NodeId> {
    (0..n).map(|i| derivative(g, root, i)).collect()
}

/// The Jacobian ∂f_i/∂x_j of the vector `f`, row-major.
pub fn jacobian(g: &mut Graph, f: &[NodeId], n: usize) -> Vec<NodeId> {
    f.iter().flat_map(|&fi| (0..n).map(|j| (fi, j)).collect::<Vec<_>>()).map(|(fi, j)| derivative(g, fi, j)).collect()
}

fn rule(g: &mut Graph, id: NodeId, var: usize, d: &HashMap<NodeId, NodeId>) -> NodeId {
    let zero = g.konst(0.0);
    let one = g.konst(1.0);
    match g.node(id) {
        Node::Const(_) | Node::Param(_) => zero,
        Node::State(i) => {
            if i as usize == var {
                one
            } else {
                zero
            }
        }
        Node::Neg(a) => g.neg(d[&a]),
        Node::Add(a, b) => g.add(d[&a], d[&b]),
        Node::Sub(a, b) => g.sub(d[&a], d[&b]),
        Node::Mul(a, b) => {
            let l = g.mul(d[&a], b);
            let r = g.mul(a, d[&b]);
            g.add(l, r)
        }
        Node::Div(a, b) => {
            // (a/b)' = (a' − (a/b)·b') / b, reusing the node a/b itself.
            let t = g.mul(id, d[&b]);
            let num = g.sub(d[&a], t);
            g.div(num, b)
        }
        Node::Powi(a, n) => {
            let c = g.konst(n as f64);
            let p = g.powi(a, n - 1);
            let cp = g.mul(c, p);
            g.mul(cp, d[&a])
        }
        Node::Pow(a, b) => {
            // (a^b)' = a^b · (b'·log a + b·a'/a); with b constant only the second term remains,
            // written b·a^(b−1)·a' so that it stays finite at a = 0 when b ≥ 1.
            if let Some(e) = g.constant(b) {
                let em1 = g.konst(e - 1.0);
                let p = g.pow(a, em1);
                let c = g.mul(b, p);
                return g.mul(c, d[&a]);
            }
            let log_a = g.call(Func::Log, a);
            let t1 = g.mul(d[&b], log_a);
            let ratio = g.div(d[&a], a);
            let t2 = g.mul(b, ratio);
            let s = g.add(t1, t2);
            g.mul(id, s)
        }
        Node::Call(f, a) => {
            let da = d[&a];
            if da == zero {
                return zero;
            }
            let outer = match f {
                Func::Exp => id,
                Func::Log => g.div(one, a),
                Func::Sqrt => {
                    let two = g.konst(2.0);
                    let two_s = g.mul(two, id);
                    g.div(one, two_s)
                }
                Func::Sin => g.call(Func::Cos, a),
                Func::Cos => {
                    let s = g.call(Func::Sin, a);
                    g.neg(s)
                }
                Func::Tan => {
                    let t2 = g.powi(id, 2);
                    g.add(one, t2)
                }
                Func::Asin | Func::Acos => {
                    let a2 = g.powi(a, 2);
                    let r = g.sub(one, a2);
                    let s = g.call(Func::Sqrt, r);
                    let inv = g.div(one, s);
                    if f == Func::Acos {
                        g.neg(inv)
                    } else {
                        inv
                    }
                }
                Func::Atan => {
                    let a2 = g.powi(a, 2);
                    let r = g.add(one, a2);
                    g.div(one, r)
                }
                Func::Sinh => g.call(Func::Cosh, a),
                Func::Cosh => g.call(Func::Sinh, a),
                Func::Tanh => {
                    let t2 = g.powi(id, 2);
                    g.sub(one, t2)
                }
                Func::Abs => g.call(Func::Sign, a),
                // Built as selects, never calls.
                Func::Sign | Func::Step => return zero,
            };
            g.mul(outer, da)
        }
        // A select of derivatives: the branch taken is differentiated, the other never evaluated
        // into it (min, max, sign and step are selects).
        Node::Select(c, a, b) => g.select(c, d[&a], d[&b]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn landau_gradient_is_compact() {
        // F = r·m² + u·m⁴: F' = 2·r·m + 4·u·m³.
        let mut g = Graph::new();
        let (m, r, u) = (g.state(0), g.param(0), g.param(1));
        let m2 = g.powi(m, 2);
        let m4 = g.powi(m, 4);
        let a = g.mul(r, m2);
        let b = g.mul(u, m4);
        let f = g.add(a, b);
        let df = derivative(&mut g, f, 0);
        for (mv, rv, uv) in [(0.3, -1.0, 1.0), (-1.2, 0.5, 2.0)] {
            let want = 2.0 * rv * mv + 4.0 * uv * mv * mv * mv;
            assert!((g.eval(df, &[rv, uv], &[mv]) - want).abs() < 1e-12);
        }
        // 2·r·m + 4·u·m³ needs few nodes: no zero or one survives.
        let nodes = g.reachable(&[df]);
        assert!(nodes.iter().all(|&i| !matches!(g.constant(i), Some(v) if v == 0.0 || v == 1.0)));
        assert!(nodes.len() <= 11, "{} nodes", nodes.len());
    }
}
