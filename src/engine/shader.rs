//! Composes the WGSL of one run: a generated prelude (sizes and parameter offsets), then
//! shaders/common.wgsl, shaders/rng.wgsl, the system, the step rule, shaders/trajectory.wgsl and
//! the kernel (shaders/kernel.wgsl, one invocation per trajectory, or shaders/coop.wgsl, one
//! workgroup per trajectory, for systems written for it), and with `--observe sharpness`
//! shaders/lanczos.wgsl and the kernel's sharpness file; and checks WGSL with naga, reporting
//! errors in a user's own text where the fault lies there.

use crate::diagnostic::Diagnostic;
use crate::dynamics::{Method, Setting};
use crate::plan::Plan;
use crate::system::System;
use crate::{Error, Result};
use std::fmt::Write;
use std::ops::Range;

use crate::engine::returns::{self, Rule};

pub const COMMON: &str = include_str!("../../shaders/common.wgsl");
pub const KERNEL: &str = include_str!("../../shaders/kernel.wgsl");
pub const RNG: &str = include_str!("../../shaders/rng.wgsl");
pub const TRAJECTORY: &str = include_str!("../../shaders/trajectory.wgsl");
pub const COOP_KERNEL: &str = include_str!("../../shaders/coop.wgsl");
pub const SHARPNESS: &str = include_str!("../../shaders/sharpness.wgsl");
pub const SHARPNESS_COOP: &str = include_str!("../../shaders/sharpness-coop.wgsl");
pub const LANCZOS: &str = include_str!("../../shaders/lanczos.wgsl");

/// The sizes a composition depends on.
#[derive(Clone, Debug)]
pub struct Shape {
    pub system: System,
    pub method: Method,
    /// (name, offset) of every parameter slot.
    pub params: Vec<(String, usize)>,
    pub n_params: usize,
    pub n_state: usize,
    pub n_obs: usize,
    /// Values of the step rule's memory written after each trajectory's observables
    /// ([`Plan::kept_memory`]).
    pub n_memory: usize,
    pub vec_len: usize,
    /// Slot of init_scale for a random start.
    pub init_scale: Option<usize>,
    /// The random start's blocks: (end component, slot of the block's factor).
    pub init_blocks: Vec<(usize, usize)>,
    /// The step's blocks: (end component, slot of the block's factor).
    pub step_blocks: Vec<(usize, usize)>,
    /// Every grid point draws the same random start.
    pub shared_init: bool,
    /// The kernel computes in f64 (`real` is f64; the adapter needs SHADER_F64).
    pub f64: bool,
    /// Fixed-step runs may step by the system's gradient-descent map (`sys_gd_map`), as the
    /// CPU engine does ([`crate::engine::cpu::Stepper::maps`]): gd, no loss record, no weight
    /// decay, and a system that has one. Whether a run is fixed-step (tol ≤ 0) is the kernel's test.
    pub gd_map: bool,
    /// Each trajectory computes its noise scale (an axis sets the step or the temperature).
    pub noise_varies: bool,
    /// Weight decay is added to the field (a coupled method whose decay is not 0 or is an axis).
    pub decay: bool,
    /// The kernels compute the sharpness observables at each end state (shaders/sharpness.wgsl).
    pub sharpness: bool,
    /// A forced flow's steps per forcing period ([`Plan::steps_per_period`]; 0: none).
    pub steps_per_period: u32,
    /// The return probe that stops trajectories early on a cycle ([`crate::engine::returns`]).
    pub returns: Option<Rule>,
}

impl Shape {
    pub fn of(plan: &Plan) -> Shape {
        let decay = plan.coupled_decay();
        Shape {
            system: plan.system.clone(),
            method: plan.dynamics.method,
            params: plan.slots.iter().filter(|s| !s.is_state).map(|s| (s.name.clone(), s.offset)).collect(),
            n_params: plan.n_params,
            n_state: plan.n_state(),
            n_obs: plan.n_obs(),
            n_memory: plan.kept_memory(),
            vec_len: plan.vec_len,
            init_scale: plan.init_scale_slot(),
            init_blocks: plan.init_blocks().to_vec(),
            step_blocks: plan.step_blocks().to_vec(),
            shared_init: plan.shared_init,
            f64: plan.dynamics.precision == crate::dynamics::Precision::F64,
            gd_map: plan.dynamics.method == Method::Gd && !decay && !plan.system.spec().loss_record && plan.system.has_gd_map(),
            noise_varies: plan.host_noise().is_none(),
            decay,
            sharpness: plan.sharpness,
            steps_per_period: plan.steps_per_period(),
            returns: Rule::of_plan(plan),
        }
    }
}

/// Reals of the return probe per trajectory in the kernel's `state`, after the state and the
/// step rule's memory: its checkpoint, normal, previous state and field, then tol, reach and the
/// time of its first return (its counters follow the step counts in `steps`).
pub fn probe_len(rule: Option<&Rule>, n_state: usize) -> usize {
    if rule.is_some() {
        4 * n_state + 3
    } else {
        0
    }
}

/// A composed shader and where the system's WGSL sits in it.
#[derive(Clone, Debug)]
pub struct Composition {
    pub source: String,
    /// Byte range of the system's WGSL within `source`.
    pub system: Range<usize>,
}

/// The full WGSL source for `shape`.
pub fn compose(shape: &Shape) -> Composition {
    let spec = shape.system.spec();
    let mut s = String::new();
    let _ = writeln!(s, "// generated by basinmap: {} / {}", spec.name, shape.method.as_str());
    // The type of the state, parameters and settings; observables are stored in f32 either way.
    let _ = writeln!(s, "alias real = {};", if shape.f64 { "f64" } else { "f32" });
    let _ = writeln!(s, "const STATE_DIM: u32 = {}u;", shape.n_state);
    let _ = writeln!(s, "const N_PARAMS: u32 = {}u;", shape.n_params);
    let _ = writeln!(s, "const N_INPUTS: u32 = {}u;", shape.n_params + shape.n_state);
    let _ = writeln!(s, "const N_OBS: u32 = {}u;", shape.n_obs);
    // Each trajectory's outcome: its observables, then the memory the host continues from.
    let _ = writeln!(s, "const N_MEMORY: u32 = {}u;", shape.n_memory);
    let _ = writeln!(s, "const N_OUT: u32 = {}u;", shape.n_obs + shape.n_memory);
    // The step rule's settings after the inputs in P (Setting::ALL's order), and its memory
    // after the state in `state`.
    let _ = writeln!(s, "const N_HYPER: u32 = {}u;", Setting::ALL.len());
    for setting in Setting::ALL {
        let _ = writeln!(s, "const H_{}: u32 = {}u;", setting.name().to_uppercase(), setting.index());
    }
    let step = if shape.method.uses_lr() { Setting::Lr } else { Setting::Dt };
    let _ = writeln!(s, "const H_STEP: u32 = {}u;", step.index());
    let memory = shape.method.memory().len(shape.n_state);
    let _ = writeln!(s, "const STATE_STRIDE: u32 = {}u;", shape.n_state + memory + probe_len(shape.returns.as_ref(), shape.n_state));
    let _ = writeln!(s, "const NOISE_VARIES: bool = {};", shape.noise_varies);
    let _ = writeln!(s, "const DECAY: bool = {};", shape.decay);
    let _ = writeln!(s, "const NESTEROV: bool = {};", shape.method == Method::Nesterov);
    let _ = writeln!(s, "const DECOUPLED: bool = {};", shape.method == Method::AdamW);
    let _ = writeln!(s, "const VEC_LEN: u32 = {}u;", shape.vec_len);
    for (name, offset) in &shape.params {
        let _ = writeln!(s, "const P_{name}: u32 = {offset}u;");
    }
    // The slot must index P even when unused: naga checks constant indices.
    let _ = writeln!(s, "const RANDOM_INIT: bool = {};", shape.init_scale.is_some());
    let _ = writeln!(s, "const INIT_SCALE: u32 = {}u;", shape.init_scale.unwrap_or(0));
    let _ = writeln!(s, "const SHARED_INIT: bool = {};", shape.shared_init);
    // init_scale times component j's block factor (Plan::add_init_noise).
    let _ = writeln!(s, "fn init_scale_of(j: u32) -> real {{");
    for (end, factor) in &shape.init_blocks {
        let _ = writeln!(s, "    if (j < {end}u) {{ return P[INIT_SCALE] * P[{factor}u]; }}");
    }
    let _ = writeln!(s, "    return P[INIT_SCALE];\n}}");
    // Component j's step factor (an mlp's lr_l; 1 where no block sets one), which scales the
    // field, or Adam's step (Stepper::scale_field, optimizer::delta).
    let _ = writeln!(s, "fn step_factor_of(j: u32) -> real {{");
    for (end, factor) in &shape.step_blocks {
        let _ = writeln!(s, "    if (j < {end}u) {{ return P[{factor}u]; }}");
    }
    let _ = writeln!(s, "    return 1.0;\n}}");
    // The angles taken modulo their periods at the end of each step (Stepper::wrap_angles:
    // the same product by the inverse period and floor).
    let _ = writeln!(s, "fn wrap_angles(x: State) -> State {{\n    var y = x;");
    for (i, period) in spec.angles() {
        let (p, inv) = if shape.f64 { (format!("{period:?}"), format!("{:?}", 1.0 / period)) } else { (format!("{:?}", period as f32), format!("{:?}", (1.0 / period) as f32)) };
        let _ = writeln!(s, "    y[{i}] = y[{i}] - real({p}) * floor(y[{i}] * real({inv}) + 0.5);");
    }
    let _ = writeln!(s, "    return y;\n}}");
    let scale_field = !shape.step_blocks.is_empty() && shape.method.memory() != crate::dynamics::Memory::Moments;
    let _ = writeln!(s, "const SCALE_FIELD: bool = {scale_field};");
    let _ = writeln!(s, "const LOSS_RECORD: bool = {};", spec.loss_record);
    let _ = writeln!(s, "const RECORD_CAP: f32 = {:?};", crate::dynamics::RECORD_CAP as f32);
    let _ = writeln!(s, "const RECORD_WINDOW: u32 = {}u;", crate::dynamics::RECORD_WINDOW);
    if !spec.loss_record {
        // The kernel names it in code that LOSS_RECORD switches off.
        let _ = writeln!(s, "fn sys_last_loss() -> f32 {{ return 0.0; }}");
    }
    let moments = shape.method.memory() == crate::dynamics::Memory::Moments;
    let _ = writeln!(s, "const RULE_MOMENTS: bool = {moments};");
    if !moments {
        // The sharpness names it in code that RULE_MOMENTS switches off.
        let _ = writeln!(s, "fn rule_preconditioner(k: u32) -> real {{ return 1.0; }}");
    }
    let _ = writeln!(s, "const SHARPNESS: bool = {};", shape.sharpness);
    let n_sharp = if shape.sharpness { crate::engine::sharpness::names(shape.method.memory()).len() } else { 0 };
    let _ = writeln!(s, "const N_SHARP: u32 = {n_sharp}u;");
    let _ = writeln!(s, "const SHARP_ITERATIONS: u32 = {}u;", crate::engine::sharpness::ITERATIONS);
    let sharp_step = if shape.f64 { crate::engine::sharpness::difference_step::<f64>() } else { crate::engine::sharpness::difference_step::<f32>() as f64 };
    let _ = writeln!(s, "const SHARP_STEP: real = real({sharp_step:?});");
    let _ = writeln!(s, "const SHARP_ROOTS: bool = {};", !shape.step_blocks.is_empty());
    let _ = writeln!(s, "const SHARP_BISECTIONS: u32 = {}u;", crate::engine::sharpness::BISECTIONS);
    let breakdown = if shape.f64 { crate::engine::sharpness::breakdown::<f64>() } else { crate::engine::sharpness::breakdown::<f32>() as f64 };
    let _ = writeln!(s, "const SHARP_BREAKDOWN: real = real({breakdown:?});");
    let _ = writeln!(s, "const REAL_MIN_POSITIVE: real = real({:?});", if shape.f64 { f64::MIN_POSITIVE } else { f32::MIN_POSITIVE as f64 });
    if !shape.sharpness {
        // The kernels name them in code that SHARPNESS switches off.
        let _ = writeln!(s, "fn sharp_finish(i: u32, x: State) {{}}");
        let _ = writeln!(s, "fn sharp_finish_coop(lid: u32, i: u32) {{}}");
    }
    let _ = writeln!(s, "const GD_MAP: bool = {};", shape.gd_map);
    // A forced flow's time: the parameter the field reads it from, and the steps per period.
    let clock = spec.clock;
    let _ = writeln!(s, "const TIMED: bool = {};", clock.is_some());
    let _ = writeln!(s, "const TIME_SLOT: u32 = {}u;", clock.map_or(0, |c| c.slot));
    let _ = writeln!(s, "const STEPS_PER_PERIOD: u32 = {}u;", shape.steps_per_period);
    // The return probe (kernel.wgsl, src/engine/returns.rs): its rule, and where its reals sit.
    let (probe, stride, max_period, first, dt) = match shape.returns {
        None => (0, 1, 0, 0, 0.0),
        Some(Rule::Samples { stride, max_period, first }) => (1, stride, max_period, first * stride, 0.0),
        Some(Rule::Section { first, dt }) => (2, 1, 0, first, dt),
    };
    let u32_of = |v: u64| v.min(u32::MAX as u64);
    let _ = writeln!(s, "const PROBE: u32 = {probe}u;");
    let _ = writeln!(s, "const PROBE_STRIDE: u32 = {}u;", u32_of(stride));
    let _ = writeln!(s, "const PROBE_MAX_PERIOD: u32 = {}u;", u32_of(max_period));
    let _ = writeln!(s, "const PROBE_FIRST: u32 = {}u;", u32_of(first));
    let _ = writeln!(s, "const PROBE_OFFSET: u32 = {}u;", shape.n_state + memory);
    let (dt, samples_tol, section_tol, moving) = if shape.f64 {
        (format!("{dt:?}"), format!("{:?}", returns::samples_tol::<f64>()), format!("{:?}", returns::SECTION_TOL), format!("{:?}", returns::SECTION_MOVING))
    } else {
        (format!("{:?}", dt as f32), format!("{:?}", returns::samples_tol::<f32>()), format!("{:?}", returns::SECTION_TOL as f32), format!("{:?}", returns::SECTION_MOVING as f32))
    };
    let _ = writeln!(s, "const PROBE_DT: real = real({dt});");
    let _ = writeln!(s, "const SAMPLES_TOL: real = real({samples_tol});");
    let _ = writeln!(s, "const SECTION_TOL: real = real({section_tol});");
    let _ = writeln!(s, "const SECTION_MOVING: real = real({moving});");
    // The largest finite `real`: the map's reduced form needs squares within the bound finite.
    let _ = writeln!(s, "const REAL_MAX: real = real({:?});", if shape.f64 { f64::MAX } else { f32::MAX as f64 });
    if !shape.system.has_gd_map() {
        // The kernel names them in code that GD_MAP switches off.
        let _ = writeln!(s, "fn sys_gd_map_coefficients(lr: real, bound: real) -> bool {{ return false; }}");
        let _ = writeln!(s, "fn sys_gd_map(x: State, reduced: bool) -> State {{ return x; }}");
    }
    s.push('\n');
    s.push_str(COMMON);
    s.push('\n');
    s.push_str(RNG);
    s.push('\n');
    let start = s.len();
    s.push_str(&spec.wgsl);
    let system = start..s.len();
    let (step, kernel, sharp) = if spec.cooperative { (shape.method.coop_wgsl(), COOP_KERNEL, SHARPNESS_COOP) } else { (shape.method.wgsl(), KERNEL, SHARPNESS) };
    for part in [step, TRAJECTORY, kernel] {
        s.push('\n');
        s.push_str(part);
    }
    if shape.sharpness {
        for part in [LANCZOS, sharp] {
            s.push('\n');
            s.push_str(part);
        }
    }
    Composition { source: s, system }
}

/// Where a user's text sits inside a larger WGSL source, to report errors against it.
#[derive(Clone, Copy, Debug)]
pub struct UserText<'a> {
    /// Byte offset of the user's text in the checked source.
    pub offset: usize,
    pub origin: &'a str,
    pub text: &'a str,
}

impl UserText<'_> {
    /// The user's span for a span of the whole source, if it falls in the user's text.
    fn map(&self, span: naga::Span) -> Option<Range<usize>> {
        let r = span.to_range()?;
        let end = self.offset + self.text.len();
        (r.start >= self.offset && r.start <= end).then(|| r.start - self.offset..r.end.min(end) - self.offset)
    }
}

/// The most specific message of an error's chain of causes (naga's outer ones only say which
/// function and expression, which the caret shows).
fn innermost(e: &dyn std::error::Error) -> String {
    let mut cur = e;
    while let Some(c) = cur.source() {
        cur = c;
    }
    cur.to_string()
}

/// Parses and validates `source` with naga. An error located in `user`'s text is reported
/// there, with a caret; any other is reported as a fault of the generated code (`what`).
pub fn check(source: &str, user: Option<UserText>, what: &str) -> Result<naga::Module> {
    let fail = |spans: Vec<naga::Span>, message: String| -> Error {
        if let Some(u) = user {
            // The narrowest span in the user's text: the expression rather than its function.
            if let Some(r) = spans.iter().filter_map(|s| u.map(*s)).min_by_key(|r| r.len()) {
                return Error::Source(Box::new(Diagnostic::at(u.origin, u.text, r, message)));
            }
        }
        let at = spans.first().and_then(|s| s.to_range()).map(|r| {
            let d = Diagnostic::at(what, source, r, "");
            format!(" at {}:{} (`{}`)", d.line, d.column, d.line_text.trim())
        });
        Error::input(format!("{what}: {message}{}", at.unwrap_or_default()))
    };
    let module = naga::front::wgsl::parse_str(source).map_err(|e| {
        let mut spans: Vec<naga::Span> = e.labels().map(|(s, _)| s).collect();
        let labels: Vec<&str> = e.labels().map(|(_, l)| l).filter(|l| !l.is_empty() && !e.message().contains(l)).collect();
        let message = if labels.is_empty() { plain_message(e.message()) } else { format!("{} ({})", e.message(), labels.join("; ")) };
        if spans.is_empty() {
            spans.extend(user.and_then(|u| first_failing_line(source, u, e.message())));
        }
        fail(spans, message)
    })?;
    // f64 is allowed here; whether the adapter computes it is the engine's check (SHADER_F64).
    naga::valid::Validator::new(naga::valid::ValidationFlags::all(), naga::valid::Capabilities::FLOAT64)
        .validate(&module)
        .map_err(|e| {
            let mut spans: Vec<naga::Span> = e.spans().map(|(s, _)| *s).collect();
            spans.extend(located_in(&module, e.as_inner()));
            fail(spans, innermost(e.as_inner()))
        })?;
    Ok(module)
}

/// naga's front-end messages that name its internals, said in the user's terms.
fn plain_message(message: &str) -> String {
    if message == "internal WGSL front end error" {
        // The one internal error input can reach: the parser's recursion limit.
        "nested too deeply: naga's WGSL parser stops at 200 levels of nesting".to_string()
    } else if message.starts_with("Invalid access into expression") {
        "indexes a value that cannot be indexed (not an array, vector or matrix)".to_string()
    } else {
        message.to_string()
    }
}

/// The line of `user`'s text where a front-end error without a location (`message`) first
/// occurs: the first prefix of its lines that, with its open braces closed, fails with the same
/// message after the code before it. (Declarations are lowered in the order they depend on one
/// another, so the kernel after the user's text is left out.) Gives up, with no place, once the
/// trials have parsed 4 MiB: a long file's late error is then reported without one.
fn first_failing_line(source: &str, user: UserText, message: &str) -> Option<naga::Span> {
    const BUDGET: usize = 4 << 20;
    let before = &source[..user.offset];
    let (mut end, mut parsed) = (0, 0);
    for line in user.text.split_inclusive('\n') {
        let start = end;
        end += line.len();
        parsed += before.len() + end;
        if parsed > BUDGET {
            return None;
        }
        let prefix = &user.text[..end];
        let open = prefix.matches('{').count().saturating_sub(prefix.matches('}').count());
        let trial = format!("{before}{prefix}\n{}", "}\n".repeat(open));
        if matches!(naga::front::wgsl::parse_str(&trial), Err(e) if e.message() == message && e.labels().next().is_none()) {
            let indent = line.len() - line.trim_start().len();
            let (a, b) = (user.offset + start + indent, user.offset + start + line.trim_end().len());
            return Some(naga::Span::new(a as u32, b.max(a + 1) as u32));
        }
    }
    None
}

/// Spans naga's validation error does not carry but its handles imply: the offending expression
/// of a function (or the function), and for an operation its stage forbids (`discard` in a
/// compute kernel) the statement that does it.
fn located_in(module: &naga::Module, e: &naga::valid::ValidationError) -> Vec<naga::Span> {
    use naga::valid::{EntryPointError, FunctionError, ValidationError};
    let defined = |s: naga::Span| (s != naga::Span::default()).then_some(s);
    match e {
        ValidationError::Function { handle, source, .. } => {
            let f = &module.functions[*handle];
            let expression = match source {
                FunctionError::Expression { handle, .. } => defined(f.expressions.get_span(*handle)),
                _ => None,
            };
            expression.into_iter().chain(defined(module.functions.get_span(*handle))).collect()
        }
        ValidationError::EntryPoint { source: EntryPointError::ForbiddenStageOperations, .. } => {
            fn kills(block: &naga::Block, out: &mut Vec<naga::Span>) {
                for (statement, span) in block.span_iter() {
                    match statement {
                        naga::Statement::Kill => out.push(*span),
                        naga::Statement::Block(b) => kills(b, out),
                        naga::Statement::If { accept, reject, .. } => {
                            kills(accept, out);
                            kills(reject, out);
                        }
                        naga::Statement::Loop { body, continuing, .. } => {
                            kills(body, out);
                            kills(continuing, out);
                        }
                        naga::Statement::Switch { cases, .. } => cases.iter().for_each(|c| kills(&c.body, out)),
                        _ => {}
                    }
                }
            }
            let mut out = Vec::new();
            module.functions.iter().for_each(|(_, f)| kills(&f.body, &mut out));
            out
        }
        // A type too large to lay out: where it is written, or a variable of it is declared.
        ValidationError::Layouter(e) => {
            let globals = module.global_variables.iter().filter(|(_, g)| g.ty == e.ty).map(|(h, _)| module.global_variables.get_span(h));
            let locals = module.functions.iter().flat_map(|(_, f)| f.local_variables.iter().filter(|(_, v)| v.ty == e.ty).map(|(h, _)| f.local_variables.get_span(h)));
            std::iter::once(module.types.get_span(e.ty)).chain(globals).chain(locals).filter_map(defined).collect()
        }
        _ => Vec::new(),
    }
}

/// Checks the full kernel of a user-defined system before any work starts, so that a clash of
/// names with the kernel or a signature naga rejects is reported against the user's file.
pub fn check_custom(shape: &Shape) -> Result<()> {
    let System::Custom(custom) = &shape.system else {
        return Ok(());
    };
    // A system that computes f64 on the CPU only (a WGSL file is written in f32) is checked in
    // the f32 kernel, where the GPU runs it.
    let mut shape = shape.clone();
    shape.f64 &= custom.f64_obstacle().is_none();
    let comp = compose(&shape);
    let user = custom.user_wgsl();
    let in_kernel = UserText { offset: comp.system.start + user.offset, ..user };
    check(&comp.source, Some(in_kernel), "the generated kernel")?;
    Ok(())
}

/// Bytes of workgroup memory the kernel of `source` declares (the cooperative kernel keeps a
/// trajectory's state there; an adapter allows 16 KiB at least).
pub fn workgroup_bytes(source: &str) -> Result<u64> {
    let module = check(source, None, "the generated kernel")?;
    let mut layouter = naga::proc::Layouter::default();
    layouter.update(module.to_ctx()).map_err(|e| Error::Gpu(format!("laying out the kernel: {e}")))?;
    Ok(module
        .global_variables
        .iter()
        .filter(|(_, g)| g.space == naga::AddressSpace::WorkGroup)
        .map(|(_, g)| layouter[g.ty].size as u64)
        .sum())
}
