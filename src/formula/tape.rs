//! The CPU back end: a graph compiled to a straight-line program over a few registers, run by
//! a small interpreter in any [`Lane`] (f32 mirrors the GPU, f64 serves the analysis, a pack of
//! lanes serves the CPU engine: each instruction then runs N trajectories).
//!
//! Instructions follow the graph's topological order, which is also the order the WGSL back end
//! binds its temporaries in; each operation is the same IEEE operation on both sides. Registers
//! are reused once a value's last use is past, so most formulas need fewer than 16.

use super::graph::{select, Func, Graph, Node, NodeId};
use crate::lanes::{self, Lane};
use std::collections::HashMap;

type Reg = u32;

#[derive(Clone, Copy, Debug)]
enum Op {
    Const(f64),
    State(u32),
    Param(u32),
    Neg(Reg),
    Add(Reg, Reg),
    Sub(Reg, Reg),
    Mul(Reg, Reg),
    Div(Reg, Reg),
    Pow(Reg, Reg),
    Call(Func, Reg),
    Select(Reg, Reg, Reg),
}

/// A compiled program computing several outputs at once.
#[derive(Clone, Debug)]
pub struct Tape {
    ops: Vec<(Reg, Op)>,
    outputs: Vec<Reg>,
    n_regs: usize,
}

/// Registers kept on the stack; larger programs use the heap.
const STACK_REGS: usize = 32;

impl Tape {
    /// Compiles `roots` (whose integer powers must already be expanded).
    pub fn compile(g: &Graph, roots: &[NodeId]) -> Tape {
        let order = g.reachable(roots);
        // The last instruction that reads each node; outputs live to the end.
        let mut last_use: HashMap<NodeId, usize> = HashMap::new();
        for (k, &id) in order.iter().enumerate() {
            for o in g.node(id).operands() {
                last_use.insert(o, k);
            }
        }
        for &r in roots {
            last_use.insert(r, usize::MAX);
        }
        let mut reg_of: HashMap<NodeId, Reg> = HashMap::new();
        let mut free: Vec<Reg> = Vec::new();
        let mut n_regs = 0usize;
        let mut ops = Vec::with_capacity(order.len());
        for (k, &id) in order.iter().enumerate() {
            let r = |n: NodeId| reg_of[&n];
            let op = match g.node(id) {
                Node::Const(b) => Op::Const(f64::from_bits(b)),
                Node::State(i) => Op::State(i),
                Node::Param(i) => Op::Param(i),
                Node::Neg(a) => Op::Neg(r(a)),
                Node::Add(a, b) => Op::Add(r(a), r(b)),
                Node::Sub(a, b) => Op::Sub(r(a), r(b)),
                Node::Mul(a, b) => Op::Mul(r(a), r(b)),
                Node::Div(a, b) => Op::Div(r(a), r(b)),
                Node::Pow(a, b) => Op::Pow(r(a), r(b)),
                Node::Call(f, a) => Op::Call(f, r(a)),
                Node::Select(c, a, b) => Op::Select(r(c), r(a), r(b)),
                Node::Powi(..) => unreachable!("Tape::compile needs expanded powers"),
            };
            // Operands whose last use is this instruction free their registers first, so the
            // result may take one of them (the interpreter reads operands before writing).
            let mut operands: Vec<NodeId> = g.node(id).operands().collect();
            operands.sort_unstable();
            operands.dedup();
            for o in operands {
                if last_use.get(&o) == Some(&k) {
                    free.push(reg_of[&o]);
                }
            }
            let dst = free.pop().unwrap_or_else(|| {
                n_regs += 1;
                (n_regs - 1) as Reg
            });
            reg_of.insert(id, dst);
            ops.push((dst, op));
        }
        let outputs = roots.iter().map(|r| reg_of[r]).collect();
        Tape { ops, outputs, n_regs }
    }

    pub fn n_outputs(&self) -> usize {
        self.outputs.len()
    }

    /// Evaluates every output at parameters `p` and state `x` into `out`.
    #[inline(always)]
    pub fn eval<T: Lane>(&self, p: &[T], x: &[T], out: &mut [T]) {
        if self.n_regs <= STACK_REGS {
            let mut regs = [T::zero(); STACK_REGS];
            self.run(&mut regs, p, x, out);
        } else {
            let mut regs = vec![T::zero(); self.n_regs];
            self.run(&mut regs, p, x, out);
        }
    }

    #[inline(always)]
    fn run<T: Lane>(&self, regs: &mut [T], p: &[T], x: &[T], out: &mut [T]) {
        for &(dst, op) in &self.ops {
            let g = |r: Reg| regs[r as usize];
            let v = match op {
                Op::Const(c) => T::of(c),
                Op::State(i) => x[i as usize],
                Op::Param(i) => p[i as usize],
                Op::Neg(a) => -g(a),
                Op::Add(a, b) => g(a) + g(b),
                Op::Sub(a, b) => g(a) - g(b),
                Op::Mul(a, b) => g(a) * g(b),
                Op::Div(a, b) => g(a) / g(b),
                Op::Pow(a, b) => lanes::powf(g(a), g(b)),
                Op::Call(f, a) => f.apply(g(a)),
                Op::Select(c, a, b) => select(g(c), g(a), g(b)),
            };
            regs[dst as usize] = v;
        }
        for (o, &r) in out.iter_mut().zip(&self.outputs) {
            *o = regs[r as usize];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_graph_evaluation_with_few_registers() {
        let mut g = Graph::new();
        let (x, y, a) = (g.state(0), g.state(1), g.param(0));
        let xy = g.mul(x, y);
        let e = g.call(Func::Exp, xy);
        let s = g.call(Func::Sin, x);
        let p = g.powi(y, 5);
        let t = g.add(e, s);
        let u = g.mul(a, p);
        let f = g.sub(t, u);
        let h = g.div(xy, f);
        let roots = g.expand_powers(&[f, h]);
        let tape = Tape::compile(&g, &roots);
        let mut out = [0.0f64; 2];
        for (xv, yv) in [(0.3, -0.7), (1.1, 0.4)] {
            tape.eval(&[0.5], &[xv, yv], &mut out);
            assert_eq!(out[0], g.eval(roots[0], &[0.5], &[xv, yv]));
            assert_eq!(out[1], g.eval(roots[1], &[0.5], &[xv, yv]));
        }
        assert!(tape.n_regs <= 6, "{} registers", tape.n_regs);
    }
}
