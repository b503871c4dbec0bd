//! Formulas: the one-line language in which users write a loss or a vector field.
//!
//! One parse, two back ends. The text is parsed ([`parse`]) and lowered onto a hash-consed
//! expression graph ([`graph`]) with its names resolved and its constants checked; the gradient
//! of a loss and the Jacobian for stability are derived symbolically on that graph ([`diff`]).
//! The same graph is printed as WGSL for the GPU engine ([`print`]) and compiled to a register
//! program for the CPU engine ([`tape`]), so both evaluate the same operations in the same order.

pub mod diff;
pub mod graph;
pub mod parse;
pub mod print;
pub mod tape;

use crate::diagnostic::Diagnostic;
use graph::{Func, Func2, Graph, Node, NodeId};
use parse::{BinOp, Expr, ExprKind, Span};
use print::{Names, Returns};
use tape::Tape;

/// A piece of user text and where it came from (for error messages).
#[derive(Clone, Debug, PartialEq)]
pub struct Source {
    pub origin: String,
    pub text: String,
}

impl Source {
    pub fn new(origin: impl Into<String>, text: impl Into<String>) -> Source {
        Source { origin: origin.into(), text: text.into() }
    }
    fn error(&self, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic::at(&self.origin, &self.text, span, message)
    }
}

/// Names a formula may not use for variables: its functions and constants.
pub fn is_builtin_name(name: &str) -> bool {
    name == "pi" || name == "pow" || Func::ALL.iter().any(|f| f.name() == name) || Func2::ALL.iter().any(|f| f.name() == name)
}

/// The functions a formula can call, with their arity, for messages and the README.
pub fn function_list() -> String {
    let mut v: Vec<String> = Func::ALL.iter().map(|f| f.name().to_string()).collect();
    v.extend(["min".into(), "max".into(), "pow".into()]);
    v.join(", ")
}

/// The variables a formula can name.
#[derive(Clone, Copy, Debug)]
pub struct Scope<'a> {
    pub state: &'a [String],
    pub params: &'a [String],
}

impl Scope<'_> {
    fn known(&self) -> String {
        let list = |v: &[String]| if v.is_empty() { "none".to_string() } else { v.join(", ") };
        format!("state: {}; parameters: {}", list(self.state), list(self.params))
    }
}

/// The value of a formula without variables (`2*pi/1.4`), folded as the compiler folds
/// constants; `None` where it names a variable, does not parse or is not a number.
pub fn constant_value(text: &str) -> Option<f64> {
    let src = Source::new("constant", text);
    let e = parse::parse(text).ok()?;
    let mut g = Graph::new();
    let id = lower(&mut g, &e, Scope { state: &[], params: &[] }, &src, &mut []).ok()?;
    g.constant(id)
}

/// Resolves names and builds the graph of `e`, checking everything that can be checked before
/// a run: unknown names and functions, arities, constants that are not finite in f32.
fn lower(g: &mut Graph, e: &Expr, scope: Scope, src: &Source, used: &mut [bool]) -> Result<NodeId, Diagnostic> {
    let id = match &e.kind {
        ExprKind::Number(v) => g.konst(*v),
        ExprKind::Name(n) => {
            if let Some(i) = scope.state.iter().position(|s| s == n) {
                g.state(i)
            } else if let Some(i) = scope.params.iter().position(|s| s == n) {
                used[i] = true;
                g.param(i)
            } else if n == "pi" {
                g.konst(std::f64::consts::PI)
            } else if is_builtin_name(n) {
                return Err(src.error(e.span.clone(), format!("'{n}' is a function: call it as {n}(...)")));
            } else {
                return Err(src.error(e.span.clone(), format!("unknown name '{n}' ({})", scope.known())));
            }
        }
        ExprKind::Neg(a) => {
            let a = lower(g, a, scope, src, used)?;
            g.neg(a)
        }
        ExprKind::Binary(op, a, b) => {
            let base_span = a.span.clone();
            let a = lower(g, a, scope, src, used)?;
            let b = lower(g, b, scope, src, used)?;
            if *op == BinOp::Pow {
                if let (Some(x), Some(y)) = (g.constant(a), g.constant(b)) {
                    let why = if x == 0.0 && y <= 0.0 {
                        Some(format!("0^{y} is undefined"))
                    } else if x < 0.0 && y.fract() != 0.0 {
                        Some(format!("a negative number to the non-integer power {y} is undefined"))
                    } else {
                        None
                    };
                    if let Some(why) = why {
                        return Err(src.error(e.span.clone(), why));
                    }
                }
                if let Some(x) = g.constant(a).filter(|x| *x <= 0.0) {
                    if g.constant(b).is_none() {
                        return Err(src.error(
                            base_span,
                            format!("{x}^(...) with a variable exponent is undefined (a real power needs a positive base)"),
                        ));
                    }
                }
            }
            match op {
                BinOp::Add => g.add(a, b),
                BinOp::Sub => g.sub(a, b),
                BinOp::Mul => g.mul(a, b),
                BinOp::Div => g.div(a, b),
                BinOp::Pow => g.pow(a, b),
            }
        }
        ExprKind::Call { name, name_span, args } => {
            let arity = |want: usize| -> Result<(), Diagnostic> {
                if args.len() == want {
                    Ok(())
                } else {
                    let s = if want == 1 { "" } else { "s" };
                    Err(src.error(e.span.clone(), format!("{name}() takes {want} argument{s}, not {}", args.len())))
                }
            };
            if let Some(f) = Func::ALL.into_iter().find(|f| f.name() == name) {
                arity(1)?;
                let a = lower(g, &args[0], scope, src, used)?;
                g.call(f, a)
            } else if let Some(f) = Func2::ALL.into_iter().find(|f| f.name() == name) {
                arity(2)?;
                let a = lower(g, &args[0], scope, src, used)?;
                let b = lower(g, &args[1], scope, src, used)?;
                g.call2(f, a, b)
            } else if name == "pow" {
                arity(2)?;
                let pow = Expr {
                    kind: ExprKind::Binary(BinOp::Pow, Box::new(args[0].clone()), Box::new(args[1].clone())),
                    span: e.span.clone(),
                    depth: e.depth,
                };
                lower(g, &pow, scope, src, used)?
            } else if scope.state.contains(name) || scope.params.contains(name) {
                return Err(src.error(name_span.clone(), format!("'{name}' is a variable, not a function (write {name} * (...) to multiply)")));
            } else {
                return Err(src.error(name_span.clone(), format!("unknown function '{name}' (known: {})", function_list())));
            }
        }
    };
    if let Some(v) = g.constant(id) {
        if !v.is_finite() {
            return Err(src.error(e.span.clone(), format!("this evaluates to {v}")));
        }
        if (v as f32).is_infinite() {
            return Err(src.error(e.span.clone(), format!("{v} is beyond the range of f32 (about 3.4e38)")));
        }
    }
    Ok(id)
}

/// What the user wrote a system as.
#[derive(Clone, Debug, PartialEq)]
pub enum Definition {
    /// A loss; the flow is its negative gradient.
    Loss(Source),
    /// The components of a vector field, in state order: one source may hold several, `;`-separated.
    Field(Vec<Source>),
    /// The components of a map x ← f(x), written like a field's; the system's field is then
    /// f(x) − x (zero at the map's fixed points), and gd with lr = 1 iterates the map.
    Map(Vec<Source>),
}

/// A formula system compiled for both back ends.
#[derive(Clone, Debug)]
pub struct Compiled {
    pub graph: Graph,
    pub state: Vec<String>,
    pub params: Vec<String>,
    /// The loss, for gradient systems (as written, powers not expanded: for display).
    pub loss: Option<NodeId>,
    /// dx/dt, one node per state variable (for a map, f(x) − x).
    pub field: Vec<NodeId>,
    /// A map's image f(x), one node per state variable.
    pub map: Option<Vec<NodeId>>,
    /// ∂field_i/∂x_j, row-major.
    pub jacobian: Vec<NodeId>,
    loss_tape: Option<Tape>,
    field_tape: Tape,
    jacobian_tape: Tape,
    wgsl: String,
    /// The first operation of the executed field or loss that WGSL's targets have only in f32
    /// (exp, log, trigonometric and hyperbolic functions, real powers): such a formula runs in
    /// f64 on the CPU engine only.
    pub f32_only: Option<&'static str>,
    /// Whether the formula names each parameter (all do but optional ones).
    pub params_used: Vec<bool>,
}

impl Compiled {
    /// Parses, checks and differentiates `def` over `state` and `params`. Every parameter must
    /// be used (an unused one is almost always a typo).
    pub fn new(def: &Definition, state: &[String], params: &[String]) -> Result<Compiled, Diagnostic> {
        Compiled::with_optional(def, state, params, 0)
    }

    /// [`Compiled::new`] where the last `optional` parameters may go unused (a forced flow's
    /// time `t`, offered to every field): [`Compiled::params_used`] tells whether they are.
    pub fn with_optional(def: &Definition, state: &[String], params: &[String], optional: usize) -> Result<Compiled, Diagnostic> {
        let scope = Scope { state, params };
        let mut g = Graph::new();
        let mut used = vec![false; params.len()];
        let n = state.len();
        let (loss, field, last) = match def {
            Definition::Loss(src) => {
                let e = parse::parse(&src.text).map_err(|e| src.error(e.span, e.message))?;
                let loss = lower(&mut g, &e, scope, src, &mut used)?;
                let grad = diff::gradient(&mut g, loss, n);
                let field: Vec<NodeId> = grad.into_iter().map(|d| g.neg(d)).collect();
                (Some(loss), field, src)
            }
            Definition::Field(sources) | Definition::Map(sources) => {
                let mut field = Vec::new();
                for src in sources {
                    for e in parse::parse_list(&src.text).map_err(|e| src.error(e.span, e.message))? {
                        if field.len() == n {
                            return Err(src.error(e.span.clone(), format!("one component too many: the state has {n} variable(s)")));
                        }
                        field.push(lower(&mut g, &e, scope, src, &mut used)?);
                    }
                }
                let last = sources.last().expect("a field has at least one source");
                if field.len() < n {
                    let end = last.text.len();
                    return Err(last.error(
                        end..end,
                        format!("{} component(s) given for {n} state variable(s) ({}); separate them with ';'", field.len(), state.join(", ")),
                    ));
                }
                (None, field, last)
            }
        };
        // A map's field is its image less the state: zero at its fixed points, and the step
        // x + 1·(f(x) − x) of gd is the map (exactly where f(x) and x are within a factor two).
        let (map, field) = match def {
            Definition::Map(_) => {
                let delta = field.iter().enumerate().map(|(i, &f)| {
                    let x = g.state(i);
                    g.sub(f, x)
                });
                let delta: Vec<NodeId> = delta.collect();
                (Some(field), delta)
            }
            _ => (None, field),
        };
        let required = params.len().saturating_sub(optional);
        if let Some(i) = used[..required].iter().position(|u| !u) {
            let end = last.text.len();
            return Err(last.error(end..end, format!("parameter '{}' is declared but the formula never uses it", params[i])));
        }
        let jacobian = diff::jacobian(&mut g, &field, n);

        // Expanded copies for execution; the originals stay for display.
        let mut roots: Vec<NodeId> = field.clone();
        roots.extend(loss);
        let expanded = g.expand_powers(&roots);
        // Folding may make a constant the user never wrote (2·3e38 in a derivative): the GPU
        // computes in f32, so it must fit.
        if let Some(v) = g.reachable(&expanded).into_iter().filter_map(|i| g.constant(i)).find(|v| (*v as f32).is_infinite()) {
            return Err(last.error(0..last.text.len(), format!("the derived field needs the constant {v:e}, beyond the range of f32 (about 3.4e38)")));
        }
        let f32_only = g.reachable(&expanded).into_iter().find_map(|i| match g.node(i) {
            Node::Call(Func::Sqrt | Func::Abs | Func::Sign | Func::Step, _) => None,
            Node::Call(f, _) => Some(f.name()),
            Node::Pow(..) => Some("a real power"),
            _ => None,
        });
        let (ex_field, ex_loss) = expanded.split_at(n);
        let ex_jac = g.expand_powers(&jacobian);
        let names = Names { state, params };
        let mut wgsl = String::new();
        if let Some(&l) = ex_loss.first() {
            wgsl.push_str(&print::wgsl_function(&g, "loss", Returns::Scalar, &[l], &names));
            wgsl.push('\n');
        }
        match &map {
            // The kernel's glue subtracts x from `fn map`, as the CPU tape does.
            Some(image) => {
                let ex_map = g.expand_powers(image);
                wgsl.push_str(&print::wgsl_function(&g, "map", Returns::State, &ex_map, &names));
            }
            None => wgsl.push_str(&print::wgsl_function(&g, "field", Returns::State, ex_field, &names)),
        }
        Ok(Compiled {
            loss_tape: ex_loss.first().map(|&l| Tape::compile(&g, &[l])),
            field_tape: Tape::compile(&g, ex_field),
            jacobian_tape: Tape::compile(&g, &ex_jac),
            graph: g,
            state: state.to_vec(),
            params: params.to_vec(),
            loss,
            field,
            map,
            jacobian,
            wgsl,
            f32_only,
            params_used: used,
        })
    }

    /// The generated WGSL: `fn loss` (gradient systems) and `fn field`, or a map's `fn map`, in
    /// the `--wgsl` format.
    pub fn wgsl(&self) -> &str {
        &self.wgsl
    }

    fn names(&self) -> Names<'_> {
        Names { state: &self.state, params: &self.params }
    }

    /// The loss as a formula.
    pub fn loss_text(&self) -> Option<String> {
        self.loss.map(|l| print::formula(&self.graph, l, &self.names()))
    }

    /// Each component of the field as a formula (the derived −∇loss for gradient systems).
    pub fn field_text(&self) -> Vec<String> {
        self.field.iter().map(|&f| print::formula(&self.graph, f, &self.names())).collect()
    }

    /// Each component of a map's image f(x) as a formula.
    pub fn map_text(&self) -> Option<Vec<String>> {
        self.map.as_ref().map(|m| m.iter().map(|&f| print::formula(&self.graph, f, &self.names())).collect())
    }

    #[inline(always)]
    pub fn eval_field<T: crate::lanes::Lane>(&self, p: &[T], x: &[T], v: &mut [T]) {
        self.field_tape.eval(p, x, v);
    }

    /// The loss, or NaN for a field that is not a gradient.
    #[inline(always)]
    pub fn eval_loss<T: crate::lanes::Lane>(&self, p: &[T], x: &[T]) -> T {
        match &self.loss_tape {
            Some(t) => {
                let mut out = [T::zero()];
                t.eval(p, x, &mut out);
                out[0]
            }
            None => T::of(f64::NAN),
        }
    }

    /// The exact Jacobian of the field, row-major.
    pub fn eval_jacobian(&self, p: &[f64], x: &[f64], out: &mut [f64]) {
        self.jacobian_tape.eval(p, x, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn loss(text: &str, state: &[&str], params: &[&str]) -> Result<Compiled, Diagnostic> {
        Compiled::new(&Definition::Loss(Source::new("--loss", text)), &names(state), &names(params))
    }

    #[test]
    fn landau_gradient_and_wgsl() {
        let c = loss("r*m^2 - m^4 + m^6", &["m"], &["r"]).unwrap();
        assert_eq!(c.field_text(), vec!["-(r * (2.0 * m) - 4.0 * m^3 + 6.0 * m^5)"]);
        let mut v = [0.0f64];
        c.eval_field(&[0.2], &[0.7], &mut v);
        let m: f64 = 0.7;
        assert!((v[0] + (0.4 * m - 4.0 * m.powi(3) + 6.0 * m.powi(5))).abs() < 1e-12);
        assert!(c.wgsl().contains("fn loss(_x: State, _p: Params) -> real"));
        assert!(c.wgsl().contains("fn field(_x: State, _p: Params) -> State"));
        let mut j = [0.0];
        c.eval_jacobian(&[0.2], &[0.7], &mut j);
        assert!((j[0] + (0.4 - 12.0 * m * m + 30.0 * m.powi(4))).abs() < 1e-12);
    }

    #[test]
    fn f32_only_names_the_first_function_without_an_f64_form() {
        assert_eq!(loss("r*x^2 + abs(x) + sqrt(x*x + 1) + max(x, r)", &["x"], &["r"]).unwrap().f32_only, None);
        assert_eq!(loss("r*x^2 + tanh(x)", &["x"], &["r"]).unwrap().f32_only, Some("tanh"));
        assert_eq!(loss("r*x^2 + x^2.5", &["x"], &["r"]).unwrap().f32_only, Some("a real power"));
    }

    #[test]
    fn checks_before_running() {
        let err = |t: &str| loss(t, &["x"], &["r"]).unwrap_err();
        let e = err("x^2 + r*q");
        assert_eq!((e.column, e.width), (9, 1));
        assert!(e.message.contains("unknown name 'q'"), "{}", e.message);
        assert!(err("exp(x, r)").message.contains("exp() takes 1 argument, not 2"));
        assert!(err("max(x) + r").message.contains("max() takes 2 arguments, not 1"));
        assert_eq!(err("r * foo(x)").column, 5);
        assert!(err("r * x(2)").message.contains("not a function"));
        assert!(err("r*x + 0^-1").message.contains("undefined"));
        assert!(err("r*x + (-8)^(1/3)").message.contains("undefined"));
        assert!(err("r*x + 1/0").message.contains("inf"));
        assert!(err("r*x + exp").message.contains("is a function"));
        assert!(err("x^2").message.contains("parameter 'r' is declared but the formula never uses it"));
        assert!(err("r*x + 1e39").message.contains("f32"));
        // 2·3e38 overflows f32: the derivative keeps the factors apart rather than fold them.
        let big = loss("3e38*x^2 + r", &["x"], &["r"]).unwrap();
        assert!(big.wgsl().contains("real(3e38) * (real(2.0) * x)"), "{}", big.wgsl());
        let deep = format!("r*{}x{}", "(".repeat(300), ")".repeat(300));
        assert!(err(&deep).message.contains("nests"));
        let long = format!("r*x{}", " + x".repeat(5_000));
        assert!(err(&long).message.contains("nests"));
        let longer = format!("r*x{}", " + x".repeat(100_000));
        assert!(err(&longer).message.contains("bytes long"));
    }

    #[test]
    fn a_map_is_the_field_f_minus_x() {
        let m = Compiled::new(&Definition::Map(vec![Source::new("--map", "r*x*(1 - x)")]), &names(&["x"]), &names(&["r"])).unwrap();
        let mut v = [0.0f64];
        m.eval_field(&[3.7], &[0.3], &mut v);
        assert_eq!(0.3 + v[0], 3.7 * 0.3 * (1.0 - 0.3));
        let mut j = [0.0];
        m.eval_jacobian(&[3.7], &[0.3], &mut j);
        assert!((j[0] - (3.7 * (1.0 - 0.6) - 1.0)).abs() < 1e-12);
        assert!(m.wgsl().contains("fn map(_x: State, _p: Params) -> State"), "{}", m.wgsl());
        assert!(!m.wgsl().contains("fn field"));
        assert_eq!(m.map_text().unwrap(), vec!["r * x * (1.0 - x)"]);
    }

    #[test]
    fn field_component_count() {
        let f = |t: &str| Compiled::new(&Definition::Field(vec![Source::new("--field", t)]), &names(&["x", "y"]), &[]);
        assert!(f("-y; x").is_ok());
        assert!(f("-y").unwrap_err().message.contains("1 component(s) given for 2"));
        assert_eq!(f("-y; x; x").unwrap_err().column, 8);
    }
}
