//! The expression graph: a hash-consed DAG, so equal subexpressions are one node (common
//! subexpressions are shared by construction), with constant folding and the algebraic
//! identities that keep derivatives small (0·x = 0, 1·x = x, x + 0 = x, …).
//!
//! Node ids are topologically ordered: a node's operands always have smaller ids.
//! The rewrites are exact in IEEE arithmetic for finite values (commuting, negating, x + x = 2x,
//! a product of constants with a power of two), and keep the association the user wrote. Like
//! any computer algebra they also use 0·x = 0, x − x = 0 and 0/x = 0, which drop a NaN or an
//! infinity of x, and (x^m)^n = x^(mn) for integer powers.
//!
//! `min`, `max`, `sign` and `step` become [`Node::Select`] (`c ≥ 0 ? a : b`), whose WGSL `select`
//! and Rust `if` agree on every input, NaN included (NaN ≥ 0 is false in both); their
//! derivatives are selects of derivatives.

use crate::lanes::{self, Lane};
use std::collections::HashMap;

pub type NodeId = u32;

/// A one-argument function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Func {
    Exp,
    Log,
    Sqrt,
    Sin,
    Cos,
    Tan,
    Asin,
    Acos,
    Atan,
    Sinh,
    Cosh,
    Tanh,
    Abs,
    Sign,
    /// Heaviside step: 1 for x ≥ 0, else 0 (built as a select).
    Step,
}

/// A two-argument function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Func2 {
    Min,
    Max,
}

impl Func {
    pub const ALL: [Func; 15] = [
        Func::Exp,
        Func::Log,
        Func::Sqrt,
        Func::Sin,
        Func::Cos,
        Func::Tan,
        Func::Asin,
        Func::Acos,
        Func::Atan,
        Func::Sinh,
        Func::Cosh,
        Func::Tanh,
        Func::Abs,
        Func::Sign,
        Func::Step,
    ];

    /// The name in formulas and (except `step`) in WGSL.
    pub fn name(self) -> &'static str {
        match self {
            Func::Exp => "exp",
            Func::Log => "log",
            Func::Sqrt => "sqrt",
            Func::Sin => "sin",
            Func::Cos => "cos",
            Func::Tan => "tan",
            Func::Asin => "asin",
            Func::Acos => "acos",
            Func::Atan => "atan",
            Func::Sinh => "sinh",
            Func::Cosh => "cosh",
            Func::Tanh => "tanh",
            Func::Abs => "abs",
            Func::Sign => "sign",
            Func::Step => "step",
        }
    }

    /// The value in f64 (constant folding), and per lane in the CPU back end.
    #[inline(always)]
    pub fn apply<T: Lane>(self, a: T) -> T {
        match self {
            Func::Exp => lanes::exp(a),
            Func::Log => lanes::ln(a),
            Func::Sqrt => lanes::sqrt(a),
            Func::Sin => a.lanes_map(f32::sin, f64::sin),
            Func::Cos => a.lanes_map(f32::cos, f64::cos),
            Func::Tan => a.lanes_map(f32::tan, f64::tan),
            Func::Asin => a.lanes_map(f32::asin, f64::asin),
            Func::Acos => a.lanes_map(f32::acos, f64::acos),
            Func::Atan => a.lanes_map(f32::atan, f64::atan),
            Func::Sinh => a.lanes_map(f32::sinh, f64::sinh),
            Func::Cosh => a.lanes_map(f32::cosh, f64::cosh),
            Func::Tanh => lanes::tanh(a),
            Func::Abs => lanes::abs(a),
            // As the selects they are built as (NaN: -1 and 0).
            Func::Sign => select(a, select(-a, T::zero(), T::one()), -T::one()),
            Func::Step => select(a, T::one(), T::zero()),
        }
    }
}

impl Func2 {
    pub const ALL: [Func2; 2] = [Func2::Min, Func2::Max];

    pub fn name(self) -> &'static str {
        match self {
            Func2::Min => "min",
            Func2::Max => "max",
        }
    }
}

/// `c ≥ 0 ? a : b`, the semantics of [`Node::Select`] on both back ends.
#[inline(always)]
pub fn select<T: Lane>(c: T, a: T, b: T) -> T {
    lanes::select(lanes::ge(c, T::zero()), a, b)
}

/// One node of the graph. Constants are stored as f64 bits so nodes can be hashed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Node {
    Const(u64),
    /// State variable by index.
    State(u32),
    /// Parameter by index.
    Param(u32),
    Neg(NodeId),
    Add(NodeId, NodeId),
    Sub(NodeId, NodeId),
    Mul(NodeId, NodeId),
    Div(NodeId, NodeId),
    /// An integer power (expanded into multiplications by [`Graph::expand_powers`]).
    Powi(NodeId, i32),
    /// A real power a^b = exp(b·log a), defined for a > 0 (a ≥ 0 when b is a constant > 0).
    Pow(NodeId, NodeId),
    Call(Func, NodeId),
    /// `c ≥ 0 ? a : b` (operands c, a, b).
    Select(NodeId, NodeId, NodeId),
}

impl Node {
    /// The operands, in order.
    pub fn operands(&self) -> impl Iterator<Item = NodeId> {
        let (a, b, c) = match *self {
            Node::Const(_) | Node::State(_) | Node::Param(_) => (None, None, None),
            Node::Neg(a) | Node::Powi(a, _) | Node::Call(_, a) => (Some(a), None, None),
            Node::Add(a, b) | Node::Sub(a, b) | Node::Mul(a, b) | Node::Div(a, b) | Node::Pow(a, b) => (Some(a), Some(b), None),
            Node::Select(c, a, b) => (Some(c), Some(a), Some(b)),
        };
        a.into_iter().chain(b).chain(c)
    }

    /// True for nodes that are names or numbers, never worth a temporary.
    pub fn is_leaf(&self) -> bool {
        matches!(self, Node::Const(_) | Node::State(_) | Node::Param(_))
    }
}

/// Whether c·(d·x) = (c·d)·x for every finite x: one factor a power of two (scaling by it is
/// exact) and c·d a normal f32.
fn exact_product(c: f64, d: f64) -> bool {
    let pow2 = |v: f64| v != 0.0 && v.abs().log2().fract() == 0.0;
    let p = (c * d).abs();
    (pow2(c) || pow2(d)) && p >= f32::MIN_POSITIVE as f64 && p <= f32::MAX as f64
}

/// The DAG.
#[derive(Clone, Debug, Default)]
pub struct Graph {
    nodes: Vec<Node>,
    index: HashMap<Node, NodeId>,
}

impl Graph {
    pub fn new() -> Graph {
        Graph::default()
    }

    pub fn node(&self, id: NodeId) -> Node {
        self.nodes[id as usize]
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    fn intern(&mut self, n: Node) -> NodeId {
        if let Some(&id) = self.index.get(&n) {
            return id;
        }
        let id = self.nodes.len() as NodeId;
        self.nodes.push(n);
        self.index.insert(n, id);
        id
    }

    /// The value of a constant node.
    pub fn constant(&self, id: NodeId) -> Option<f64> {
        match self.node(id) {
            Node::Const(bits) => Some(f64::from_bits(bits)),
            _ => None,
        }
    }

    fn is(&self, id: NodeId, v: f64) -> bool {
        self.constant(id) == Some(v)
    }

    pub fn konst(&mut self, v: f64) -> NodeId {
        // One zero: -0 and +0 behave alike in everything a formula can do but division.
        let v = if v == 0.0 { 0.0 } else { v };
        self.intern(Node::Const(v.to_bits()))
    }
    pub fn state(&mut self, i: usize) -> NodeId {
        self.intern(Node::State(i as u32))
    }
    pub fn param(&mut self, i: usize) -> NodeId {
        self.intern(Node::Param(i as u32))
    }

    pub fn neg(&mut self, a: NodeId) -> NodeId {
        match self.node(a) {
            Node::Const(_) => {
                let v = -self.constant(a).unwrap();
                self.konst(v)
            }
            Node::Neg(x) => x,
            // -(x - y) = y - x exactly.
            Node::Sub(x, y) => self.sub(y, x),
            _ => self.intern(Node::Neg(a)),
        }
    }

    /// Commutative operands: constants first, then by id, so a·b and b·a are one node.
    fn order(&self, a: NodeId, b: NodeId) -> (NodeId, NodeId) {
        match (self.constant(a), self.constant(b)) {
            (None, Some(_)) => (b, a),
            (Some(_), None) => (a, b),
            _ => (a.min(b), a.max(b)),
        }
    }

    pub fn add(&mut self, a: NodeId, b: NodeId) -> NodeId {
        if let (Some(x), Some(y)) = (self.constant(a), self.constant(b)) {
            return self.konst(x + y);
        }
        if self.is(a, 0.0) {
            return b;
        }
        if self.is(b, 0.0) {
            return a;
        }
        if a == b {
            let two = self.konst(2.0);
            return self.mul(two, a);
        }
        if let Node::Neg(y) = self.node(b) {
            return self.sub(a, y);
        }
        if let Node::Neg(x) = self.node(a) {
            return self.sub(b, x);
        }
        if let Some(y) = self.constant(b).filter(|y| *y < 0.0) {
            let c = self.konst(-y);
            return self.sub(a, c);
        }
        let (a, b) = self.order(a, b);
        self.intern(Node::Add(a, b))
    }

    pub fn sub(&mut self, a: NodeId, b: NodeId) -> NodeId {
        if let (Some(x), Some(y)) = (self.constant(a), self.constant(b)) {
            return self.konst(x - y);
        }
        if a == b {
            return self.konst(0.0);
        }
        if self.is(b, 0.0) {
            return a;
        }
        if self.is(a, 0.0) {
            return self.neg(b);
        }
        if let Node::Neg(y) = self.node(b) {
            return self.add(a, y);
        }
        if let Some(y) = self.constant(b).filter(|y| *y < 0.0) {
            let c = self.konst(-y);
            return self.add(a, c);
        }
        self.intern(Node::Sub(a, b))
    }

    pub fn mul(&mut self, a: NodeId, b: NodeId) -> NodeId {
        let (a, b) = self.order(a, b);
        if let (Some(x), Some(y)) = (self.constant(a), self.constant(b)) {
            return self.konst(x * y);
        }
        if let Some(c) = self.constant(a) {
            if c == 0.0 {
                return a;
            }
            if c == 1.0 {
                return b;
            }
            if c == -1.0 {
                return self.neg(b);
            }
            match self.node(b) {
                // c·(d·x) = (c·d)·x folds the constants of chained derivatives; exact when one
                // factor is a power of two and the product a normal f32.
                Node::Mul(d, x) if self.constant(d).is_some_and(|d| exact_product(c, d)) => {
                    let cd = self.konst(c * self.constant(d).unwrap());
                    return self.mul(cd, x);
                }
                Node::Neg(x) => {
                    let nc = self.konst(-c);
                    return self.mul(nc, x);
                }
                _ => {}
            }
        }
        if let Node::Neg(x) = self.node(a) {
            let m = self.mul(x, b);
            return self.neg(m);
        }
        if let Node::Neg(y) = self.node(b) {
            let m = self.mul(a, y);
            return self.neg(m);
        }
        if a == b {
            return self.powi(a, 2);
        }
        self.intern(Node::Mul(a, b))
    }

    pub fn div(&mut self, a: NodeId, b: NodeId) -> NodeId {
        if let (Some(x), Some(y)) = (self.constant(a), self.constant(b)) {
            return self.konst(x / y);
        }
        if self.is(b, 1.0) {
            return a;
        }
        if self.is(b, -1.0) {
            return self.neg(a);
        }
        if self.is(a, 0.0) {
            return a;
        }
        if let Node::Neg(x) = self.node(a) {
            let d = self.div(x, b);
            return self.neg(d);
        }
        self.intern(Node::Div(a, b))
    }

    pub fn powi(&mut self, a: NodeId, n: i32) -> NodeId {
        if let Some(x) = self.constant(a) {
            return self.konst(x.powi(n));
        }
        match n {
            0 => self.konst(1.0),
            1 => a,
            _ => match self.node(a) {
                // (x^m)^n = x^(mn): exact for integer powers of real numbers up to rounding.
                Node::Powi(x, m) if (m as i64 * n as i64).abs() <= i32::MAX as i64 => self.powi(x, m * n),
                _ => self.intern(Node::Powi(a, n)),
            },
        }
    }

    pub fn pow(&mut self, a: NodeId, b: NodeId) -> NodeId {
        if let Some(e) = self.constant(b) {
            if e.fract() == 0.0 && e.abs() <= i32::MAX as f64 {
                return self.powi(a, e as i32);
            }
            if let Some(x) = self.constant(a) {
                return self.konst(x.powf(e));
            }
        }
        self.intern(Node::Pow(a, b))
    }

    pub fn call(&mut self, f: Func, a: NodeId) -> NodeId {
        if let Some(x) = self.constant(a) {
            return self.konst(f.apply(x));
        }
        match f {
            Func::Step => {
                let (one, zero) = (self.konst(1.0), self.konst(0.0));
                return self.select(a, one, zero);
            }
            Func::Sign => {
                let (one, zero, minus) = (self.konst(1.0), self.konst(0.0), self.konst(-1.0));
                let na = self.neg(a);
                let non_negative = self.select(na, zero, one);
                return self.select(a, non_negative, minus);
            }
            _ => {}
        }
        match (f, self.node(a)) {
            (Func::Abs, Node::Neg(x)) => self.call(Func::Abs, x),
            (Func::Abs, Node::Call(Func::Abs, _)) => a,
            _ => self.intern(Node::Call(f, a)),
        }
    }

    /// `min(a, b)` = (b − a ≥ 0 ? a : b), `max(a, b)` = (a − b ≥ 0 ? a : b).
    pub fn call2(&mut self, f: Func2, a: NodeId, b: NodeId) -> NodeId {
        let c = match f {
            Func2::Min => self.sub(b, a),
            Func2::Max => self.sub(a, b),
        };
        self.select(c, a, b)
    }

    /// `c ≥ 0 ? a : b`.
    pub fn select(&mut self, c: NodeId, a: NodeId, b: NodeId) -> NodeId {
        if let Some(v) = self.constant(c) {
            return if v >= 0.0 { a } else { b };
        }
        if a == b {
            return a;
        }
        self.intern(Node::Select(c, a, b))
    }

    /// Rebuilds `roots` with every integer power written as multiplications by repeated squaring
    /// (x^4 = (x·x)·(x·x), x^-3 = 1/(x·x·x)), which both back ends then evaluate identically.
    /// WGSL's `pow` is undefined for negative bases, so it cannot serve here.
    pub fn expand_powers(&mut self, roots: &[NodeId]) -> Vec<NodeId> {
        let mut memo: HashMap<NodeId, NodeId> = HashMap::new();
        let reach = self.reachable(roots);
        for id in reach {
            let m = |i: NodeId| memo[&i];
            let new = match self.node(id) {
                Node::Const(_) | Node::State(_) | Node::Param(_) => id,
                Node::Neg(a) => self.neg(m(a)),
                Node::Add(a, b) => self.add(m(a), m(b)),
                Node::Sub(a, b) => self.sub(m(a), m(b)),
                Node::Mul(a, b) => self.mul_raw(m(a), m(b)),
                Node::Div(a, b) => self.div(m(a), m(b)),
                Node::Powi(a, n) => self.multiply_out(m(a), n),
                Node::Pow(a, b) => self.intern(Node::Pow(m(a), m(b))),
                Node::Call(f, a) => self.call(f, m(a)),
                Node::Select(c, a, b) => self.select(m(c), m(a), m(b)),
            };
            memo.insert(id, new);
        }
        roots.iter().map(|r| memo[r]).collect()
    }

    /// A product that never turns back into a power (used once powers are expanded).
    fn mul_raw(&mut self, a: NodeId, b: NodeId) -> NodeId {
        let (a, b) = self.order(a, b);
        if let (Some(x), Some(y)) = (self.constant(a), self.constant(b)) {
            return self.konst(x * y);
        }
        self.intern(Node::Mul(a, b))
    }

    fn multiply_out(&mut self, a: NodeId, n: i32) -> NodeId {
        let mut e = n.unsigned_abs();
        let mut base = a;
        let mut acc: Option<NodeId> = None;
        while e > 0 {
            if e & 1 == 1 {
                acc = Some(match acc {
                    None => base,
                    Some(x) => self.mul_raw(x, base),
                });
            }
            e >>= 1;
            if e > 0 {
                base = self.mul_raw(base, base);
            }
        }
        let p = acc.unwrap_or_else(|| self.konst(1.0));
        if n < 0 {
            let one = self.konst(1.0);
            self.div(one, p)
        } else {
            p
        }
    }

    /// Every node `roots` depend on, in topological (id) order.
    pub fn reachable(&self, roots: &[NodeId]) -> Vec<NodeId> {
        let mut seen = vec![false; self.nodes.len()];
        let mut stack: Vec<NodeId> = roots.to_vec();
        while let Some(id) = stack.pop() {
            if std::mem::replace(&mut seen[id as usize], true) {
                continue;
            }
            stack.extend(self.node(id).operands());
        }
        (0..self.nodes.len() as NodeId).filter(|&i| seen[i as usize]).collect()
    }

    /// Evaluates `root` in f64 straight from the graph: the tests' oracle for the back ends.
    #[cfg(test)]
    pub fn eval(&self, root: NodeId, p: &[f64], x: &[f64]) -> f64 {
        let mut values: HashMap<NodeId, f64> = HashMap::new();
        for id in self.reachable(&[root]) {
            let v = |i: NodeId| values[&i];
            let r = match self.node(id) {
                Node::Const(b) => f64::from_bits(b),
                Node::State(i) => x[i as usize],
                Node::Param(i) => p[i as usize],
                Node::Neg(a) => -v(a),
                Node::Add(a, b) => v(a) + v(b),
                Node::Sub(a, b) => v(a) - v(b),
                Node::Mul(a, b) => v(a) * v(b),
                Node::Div(a, b) => v(a) / v(b),
                Node::Powi(a, n) => v(a).powi(n),
                Node::Pow(a, b) => v(a).powf(v(b)),
                Node::Call(f, a) => f.apply(v(a)),
                Node::Select(c, a, b) => select(v(c), v(a), v(b)),
            };
            values.insert(id, r);
        }
        values[&root]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_and_folds() {
        let mut g = Graph::new();
        let x = g.state(0);
        let y = g.state(1);
        let a = g.mul(x, y);
        let b = g.mul(y, x);
        assert_eq!(a, b, "commuted products are one node");
        let two = g.konst(2.0);
        let three = g.konst(3.0);
        let six = g.mul(two, three);
        assert_eq!(g.constant(six), Some(6.0));
        let zero = g.konst(0.0);
        assert_eq!(g.mul(zero, x), zero);
        assert_eq!(g.add(x, zero), x);
        let s = g.add(x, x);
        assert_eq!(g.node(s), Node::Mul(two, x));
        let c = g.mul(two, s);
        let four = g.konst(4.0);
        assert_eq!(g.node(c), Node::Mul(four, x));
        let nx = g.neg(x);
        assert_eq!(g.neg(nx), x);
        let d = g.add(y, nx);
        assert_eq!(g.node(d), Node::Sub(y, x));
    }

    #[test]
    fn expanded_powers_keep_values() {
        let mut g = Graph::new();
        let x = g.state(0);
        for n in [-5, -2, -1, 2, 3, 4, 7, 12] {
            let p = g.powi(x, n);
            let e = g.expand_powers(&[p])[0];
            assert!(g.reachable(&[e]).iter().all(|&i| !matches!(g.node(i), Node::Powi(..))));
            for v in [-1.7, 0.3, 2.0] {
                let want = f64::powi(v, n);
                assert!((g.eval(e, &[], &[v]) - want).abs() <= 1e-12 * want.abs(), "x^{n} at {v}");
            }
        }
    }
}
