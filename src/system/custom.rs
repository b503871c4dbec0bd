//! User-defined systems: a loss, a vector field or a map written as a formula (`--loss`,
//! `--field`, `--map`), or as WGSL functions in a file (`--wgsl`).
//!
//! A formula is compiled once ([`crate::formula::Compiled`]) into a CPU program and into WGSL of
//! the same shape a user would write in a file; both kinds then reach the kernel through the same
//! glue. A user's WGSL file defines
//!
//! ```wgsl
//! fn field(x: State, p: Params) -> State   // dx/dt (or, for a map, fn map: x ← map(x))
//! fn loss(x: State, p: Params) -> f32      // optional: written as the observable `loss`
//! ```
//!
//! A map's field is map(x) − x: zero at its fixed points, the stop rule's test; gd with lr = 1
//! steps x + (map(x) − x), which is map(x) exactly whenever map(x) and x are within a factor
//! two of each other (Sterbenz), and within an ulp of the larger otherwise.
//!
//! where `State` is `array<f32, STATE_DIM>` in the order of `--state`, and `Params` a struct with
//! one f32 member per parameter, by name. The kernel's glue declares them with its type `real`
//! (f32, or f64 for `--precision f64`), which is also what the WGSL generated from a formula is
//! written in: a formula runs in either precision on the GPU, a user's file in f32 only.

use super::{Model, ObservableSpec, ParamSpec, StateSpec, SystemSpec};
use crate::diagnostic::Diagnostic;
use crate::engine::shader::{self, UserText};
use crate::formula::{self, Compiled, Definition, Source};
use crate::lanes::Lane;
use crate::scenario::{CustomDef, ParamValue};
use crate::{Error, Result};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

/// A formula system as a [`Model`] for the CPU engine and the analysis.
#[derive(Debug)]
pub struct FormulaModel(pub Compiled);

impl Model for FormulaModel {
    #[inline(always)]
    fn field<T: Lane>(&self, p: &[T], x: &[T], v: &mut [T]) {
        self.0.eval_field(p, x, v);
    }
    #[inline(always)]
    fn loss<T: Lane>(&self, p: &[T], x: &[T]) -> T {
        self.0.eval_loss(p, x)
    }
    #[inline(always)]
    fn observables_lanes<T: Lane>(&self, p: &[T], x: &[T], out: &mut [T]) -> bool {
        out[..x.len()].copy_from_slice(x);
        if self.0.loss.is_some() {
            out[x.len()] = self.0.eval_loss(p, x);
        }
        true
    }
    fn is_gradient(&self) -> bool {
        self.0.loss.is_some()
    }
    fn jacobian(&self, p: &[f64], x: &[f64]) -> Option<Vec<f64>> {
        let mut j = vec![0.0; x.len() * x.len()];
        self.0.eval_jacobian(p, x, &mut j);
        Some(j)
    }
}

/// A user-defined system.
#[derive(Debug)]
pub struct CustomSystem {
    spec: SystemSpec,
    formula: Option<FormulaModel>,
    /// Where the user's (or the generated) WGSL sits in `spec.wgsl`.
    user_offset: usize,
    user_origin: String,
    user_text: String,
    /// The dynamics is a map (`--map`, `fn map`), iterated rather than integrated.
    map: bool,
}

/// Names the kernel glue or WGSL itself needs, beyond WGSL's reserved words.
const TAKEN: &[&str] = &[
    "State", "Params", "real", "f32", "f16", "f64", "i32", "u32", "bool", "array", "atomic", "ptr", "vec2", "vec3", "vec4", "mat2x2",
    "mat3x3", "mat4x4", "sampler",
];

/// A state variable or parameter name must be a plain identifier that is not a function of
/// the formula language nor a WGSL keyword (it becomes a WGSL name).
fn check_name(name: &str, what: &str) -> Result<()> {
    let mut chars = name.chars();
    let ok_start = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    if !ok_start || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(Error::input(format!(
            "{what} '{name}': a name is a letter followed by letters, digits or '_'"
        )));
    }
    if formula::is_builtin_name(name) {
        return Err(Error::input(format!("{what} '{name}' is the name of a function or constant of the formula language")));
    }
    if naga::keywords::wgsl::RESERVED.contains(&name) || TAKEN.contains(&name) {
        return Err(Error::input(format!("{what} '{name}' is a reserved word of WGSL; choose another name")));
    }
    Ok(())
}

/// One `--state` entry: `NAME` or `NAME=START`.
fn state_entry(entry: &str) -> Result<(String, f64)> {
    let name = CustomDef::state_name(entry);
    let start = match entry.split_once('=') {
        Some((_, v)) => {
            let v = v.trim();
            v.parse()
                .ok()
                .filter(|s: &f64| s.is_finite())
                .ok_or_else(|| Error::input(format!("state '{entry}': '{v}' is not a finite number")))?
        }
        None => 0.0,
    };
    check_name(name, "state variable")?;
    if let Some(file) = crate::io::RESERVED_STEMS.iter().find(|s| **s == name) {
        return Err(Error::input(format!("state variable '{name}': its end values would be written to {file}.npy, a file basinmap writes for itself; choose another name")));
    }
    // A state variable's end values go to NAME.npy beside labels.npy, steps.npy and loss.npy.
    if ["labels", "steps", "loss"].contains(&name) {
        return Err(Error::input(format!("state variable '{name}' would overwrite {name}.npy among the outputs; choose another name")));
    }
    Ok((name.to_string(), start))
}

/// One `periodic` entry: `NAME` (period 2π) or `NAME=PERIOD`, PERIOD a positive number or a
/// multiple of pi (`2*pi`, `pi`, `360`).
fn periodic_entry(entry: &str) -> Result<(String, f64)> {
    let (name, period) = match entry.split_once('=') {
        None => (entry.trim(), std::f64::consts::TAU),
        Some((name, text)) => match period_value(text) {
            Some(p) => (name.trim(), p),
            None => return Err(Error::input(format!("periodic '{entry}': the period '{}' is not a positive number or a formula of constants (2*pi, 360, 2*pi/1.4)", text.trim()))),
        },
    };
    Ok((name.to_string(), period))
}

/// A period written as a positive number, a multiple of pi (`2*pi`, `pi`, `2pi`) or a formula
/// of constants (`2*pi/1.4`); `None` where it is not one, or so small that its inverse
/// overflows (angles are wrapped as x − P·⌊x·(1/P) + ½⌋).
pub fn period_value(text: &str) -> Option<f64> {
    let text = text.trim();
    let (factor, pi) = match text.strip_suffix("pi") {
        Some(f) => (f.trim().strip_suffix('*').unwrap_or(f).trim(), std::f64::consts::PI),
        None => (text, 1.0),
    };
    let factor = if factor.is_empty() && pi != 1.0 { Some(1.0) } else { factor.parse::<f64>().ok() };
    factor.map(|f| f * pi).or_else(|| formula::constant_value(text)).filter(|p| p.is_finite() && *p > 0.0 && (1.0 / *p).is_finite())
}

/// The name of a forced flow's time in its formulas (and, in a WGSL file, `p.t`).
pub const TIME: &str = "t";

impl CustomSystem {
    /// Builds and checks the system `def` declares. Its parameters are the names given values in
    /// `params` and the names the grid axes set (`axis_names`) that are not state variables.
    pub fn build(def: &CustomDef, params: &BTreeMap<String, ParamValue>, axis_names: &[&str]) -> Result<CustomSystem> {
        let place = |what: &str| match &def.written_in {
            Some(file) => format!("{}: [system] {what}", file.display()),
            None => format!("--{what}"),
        };
        if def.state.iter().all(|s| s.trim().is_empty()) {
            return Err(Error::input("a user-defined system needs its state variables (--state x,y or state = [\"x\", \"y\"])"));
        }
        let mut state: Vec<(String, f64)> = Vec::new();
        for entry in &def.state {
            let (name, start) = state_entry(entry)?;
            if state.iter().any(|(n, _)| *n == name) {
                return Err(Error::input(format!("state variable '{name}' is listed twice")));
            }
            state.push((name, start));
        }
        let names: Vec<String> = state.iter().map(|(n, _)| n.clone()).collect();
        let mut periods = vec![0.0; names.len()];
        for entry in &def.periodic {
            let (name, period) = periodic_entry(entry)?;
            let Some(k) = names.iter().position(|n| *n == name) else {
                return Err(Error::input(format!("periodic '{entry}': '{name}' is not a state variable ({})", names.join(", "))));
            };
            if periods[k] > 0.0 {
                return Err(Error::input(format!("periodic: '{name}' is listed twice")));
            }
            periods[k] = period;
        }

        let mut param_values: BTreeMap<String, f64> = BTreeMap::new();
        for (name, value) in params {
            if names.contains(name) {
                let text = def.state.join(",");
                // The entry itself, not a longer name that contains it.
                let mut at = 0;
                for entry in &def.state {
                    let lead = entry.len() - entry.trim_start().len();
                    if CustomDef::state_name(entry) == name {
                        at += lead;
                        break;
                    }
                    at += entry.len() + 1;
                }
                return Err(Error::Source(Box::new(Diagnostic::at(
                    &place("state"),
                    &text,
                    at..at + name.len(),
                    format!("'{name}' is both a state variable and a parameter; give its start as --state {name}=VALUE"),
                ))));
            }
            check_name(name, "parameter")?;
            match value {
                ParamValue::Scalar(v) => param_values.insert(name.clone(), *v),
                ParamValue::Vector(_) => {
                    return Err(Error::input(format!("parameter '{name}': a user-defined system takes one number per parameter")))
                }
            };
        }
        for a in axis_names {
            if !names.iter().any(|n| n == a) && !param_values.contains_key(*a) {
                check_name(a, "axis")?;
                param_values.insert(a.to_string(), 0.0);
            }
        }
        let mut param_names: Vec<String> = param_values.keys().cloned().collect();
        // A forced flow's time is the parameter `t`, after the user's, unless the user named a
        // parameter or state variable so (then `t` is theirs and the system is autonomous).
        let forcing = match &def.forcing_period {
            None => None,
            Some(text) => Some(period_value(text).ok_or_else(|| {
                Error::input(format!("{}: '{}' is not a positive number or a formula of constants (2*pi, 360, 2*pi/1.4)", place("forcing_period"), text.trim()))
            })?),
        };
        let time_free = !names.iter().any(|n| n == TIME) && !param_values.contains_key(TIME);
        if forcing.is_some() && !time_free {
            return Err(Error::input(format!(
                "{}: a forced flow reads its time as '{TIME}', but '{TIME}' is a parameter or state variable here; rename it",
                place("forcing_period")
            )));
        }
        if time_free {
            param_names.push(TIME.to_string());
        }

        let given = [def.loss.is_some(), def.field.is_some(), def.map.is_some(), def.wgsl.is_some()].iter().filter(|g| **g).count();
        if given != 1 {
            return Err(Error::input(
                "a user-defined system takes exactly one of a loss (--loss), a field (--field), a map (--map) or a WGSL file (--wgsl)",
            ));
        }
        let (formula, user_origin, user_text, has_loss, map, summary) = if let Some(path) = &def.wgsl {
            let origin = path.display().to_string();
            let text = crate::io::read::read_text(path, "--wgsl", crate::io::read::MAX_SOURCE_BYTES)?;
            if time_free && forcing.is_none() {
                // A WGSL file's field reads the time (`p.t`) only when it declares its forcing.
                param_names.pop();
            }
            let found = check_user_wgsl(&origin, &text, names.len(), &param_names)?;
            (None, origin.clone(), text, found.loss, found.map, format!("WGSL from {origin}"))
        } else {
            // A field's or a map's components, one source per string.
            let components = |what: &str, list: &[String]| -> Result<Vec<Source>> {
                if list.is_empty() {
                    return Err(Error::input(format!("{}: the {what} has no components", place(what))));
                }
                let origin = |k: usize| if def.written_in.is_some() && list.len() > 1 { format!("{}[{k}]", place(what)) } else { place(what) };
                Ok(list.iter().enumerate().map(|(k, f)| Source::new(origin(k), f.clone())).collect())
            };
            let (definition, summary) = if let Some(loss) = &def.loss {
                (Definition::Loss(Source::new(place("loss"), loss.clone())), format!("loss = {loss}"))
            } else if let Some(map) = &def.map {
                (Definition::Map(components("map", map)?), format!("map = {}", map.join("; ")))
            } else {
                let field = def.field.as_ref().expect("one of four was given");
                (Definition::Field(components("field", field)?), format!("field = {}", field.join("; ")))
            };
            let optional = usize::from(time_free);
            let mut compiled = Compiled::with_optional(&definition, &names, &param_names, optional).map_err(|d| Error::Source(Box::new(d)))?;
            if time_free && !compiled.params_used.last().copied().unwrap_or(false) {
                // Autonomous: compiled again without the time.
                param_names.pop();
                compiled = Compiled::new(&definition, &names, &param_names).map_err(|d| Error::Source(Box::new(d)))?;
            }
            let text = compiled.wgsl().to_string();
            let has_loss = compiled.loss.is_some();
            let map = compiled.map.is_some();
            (Some(FormulaModel(compiled)), "the WGSL generated from the formula".to_string(), text, has_loss, map, summary)
        };

        let timed = time_free && param_names.last().is_some_and(|n| n == TIME);
        if timed && map {
            return Err(Error::input(format!("a map has no time: '{TIME}' is a forced flow's (write the system as a field, or name the parameter otherwise)")));
        }
        if forcing.is_some() && !timed {
            return Err(Error::input(format!("{}: the field never reads the time '{TIME}', so nothing is forced", place("forcing_period"))));
        }
        let clock = timed.then(|| super::Clock { slot: param_names.len() - 1, period: forcing.unwrap_or(0.0) });
        let (wgsl, user_offset) = glue(&param_names, &user_text, has_loss, map);
        let mut observables: Vec<ObservableSpec> = names
            .iter()
            .map(|n| ObservableSpec { name: Cow::Owned(n.clone()), doc: Cow::Borrowed("final state") })
            .collect();
        if has_loss {
            observables.push(ObservableSpec::new("loss", "the loss at the end state"));
        }
        let x_axis = format!("{}=-1.5:1.5:512", names[0]);
        let y_axis = names.get(1).map_or(String::new(), |n| format!("{n}=-1.5:1.5:512"));
        let spec = SystemSpec {
            name: Cow::Borrowed("custom"),
            summary: Cow::Owned(summary),
            formula: None,
            state: Cow::Owned(
                state
                    .iter()
                    .zip(&periods)
                    .map(|((n, s), &period)| StateSpec {
                        name: Cow::Owned(n.clone()),
                        default: *s,
                        doc: Cow::Borrowed(if period > 0.0 { "user-defined angle" } else { "user-defined" }),
                        period,
                    })
                    .collect(),
            ),
            params: Cow::Owned(
                param_values
                    .iter()
                    .map(|(n, v)| ParamSpec {
                        name: Cow::Owned(n.clone()),
                        default: super::ParamDefault::Scalar(*v),
                        doc: Cow::Borrowed("user-defined"),
                        integer: false,
                    })
                    .chain(clock.map(|_| ParamSpec {
                        name: Cow::Borrowed(TIME),
                        default: super::ParamDefault::Scalar(0.0),
                        doc: Cow::Borrowed("the time of the forced flow, set by the engine at every stage of every step"),
                        integer: false,
                    }))
                    .collect(),
            ),
            observables: Cow::Owned(observables),
            wgsl: Cow::Owned(wgsl),
            default_axes: (Cow::Owned(x_axis), Cow::Owned(y_axis)),
            features: None,
            random_init: false,
            init_blocks: Cow::Borrowed(&[]),
            step_blocks: Cow::Borrowed(&[]),
            loss_record: false,
            cooperative: false,
            clock,
        };
        Ok(CustomSystem { spec, formula, user_offset, user_origin, user_text, map })
    }

    pub fn spec(&self) -> &SystemSpec {
        &self.spec
    }

    /// Whether the dynamics is a map x ← f(x) (its field is f(x) − x).
    pub fn is_map(&self) -> bool {
        self.map
    }

    /// The CPU model, for formula systems.
    pub fn formula(&self) -> Option<&FormulaModel> {
        self.formula.as_ref()
    }

    /// Why the GPU cannot run this system in f64, if it cannot: a WGSL file is written in f32,
    /// and a formula may use a function that WGSL's targets have only in f32.
    pub fn f64_obstacle(&self) -> Option<String> {
        match &self.formula {
            None => Some(format!("{} is written in f32", self.user_origin)),
            Some(f) => f.0.f32_only.map(|op| format!("the formula uses {op}, which WGSL's targets compute in f32 only")),
        }
    }

    /// The user's WGSL (or the WGSL generated from the formula), its offset counted within
    /// `SystemSpec::wgsl`.
    pub fn user_wgsl(&self) -> UserText<'_> {
        UserText { offset: self.user_offset, origin: &self.user_origin, text: &self.user_text }
    }

    /// What `--emit-wgsl` prints: a file in the `--wgsl` format that reproduces this system.
    pub fn emit_wgsl(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "// basinmap --wgsl file for: {}", self.spec.summary);
        let state: Vec<String> = self.spec.state.iter().enumerate().map(|(i, v)| format!("x[{i}] = {}", v.name)).collect();
        let _ = writeln!(s, "// State = array<f32, {}>: {}", state.len(), state.join(", "));
        let params: Vec<String> = self.spec.params.iter().map(|p| format!("p.{}", p.name)).collect();
        let _ = writeln!(s, "// Params: {}", if params.is_empty() { "none".into() } else { params.join(", ") });
        if self.map {
            s.push_str("// fn map is the step x <- map(x); fn loss, if present, is written as the observable `loss`.\n");
        } else {
            s.push_str("// fn field is dx/dt; fn loss, if present, is written as the observable `loss`.\n");
        }
        s.push_str("// `real` is f32 in a --wgsl file (the kernel's type for --precision f32).\n\n");
        s.push_str(&self.user_text);
        s
    }
}

/// The declarations a user's functions see, ahead of the user's text.
fn params_struct(params: &[String]) -> String {
    let members: Vec<String> = if params.is_empty() { vec!["_unused: real".into()] } else { params.iter().map(|p| format!("{p}: real")).collect() };
    format!("struct Params {{ {} }}\n", members.join(", "))
}

/// The system WGSL of a user-defined system: the Params struct and a function that fills it,
/// the user's text, then the kernel's `sys_*` entry points calling the user's functions.
/// Returns it with the byte offset of the user's text.
fn glue(params: &[String], user: &str, has_loss: bool, map: bool) -> (String, usize) {
    let mut s = String::from("// user-defined system: basinmap's glue around the user's functions.\n");
    s.push_str(&params_struct(params));
    let values: Vec<String> = if params.is_empty() { vec!["0.0".into()] } else { params.iter().map(|p| format!("P[P_{p}]")).collect() };
    let _ = writeln!(s, "fn sys_params() -> Params {{ return Params({}); }}\n", values.join(", "));
    let offset = s.len();
    s.push_str(user);
    if map {
        // The map's field: its image less the state (the CPU tape subtracts in the same order).
        s.push_str("\n\nfn sys_field(x: State) -> State {\n    var v = map(x, sys_params());\n");
        s.push_str("    for (var k = 0u; k < STATE_DIM; k++) { v[k] = v[k] - x[k]; }\n    return v;\n}\n");
    } else {
        s.push_str("\n\nfn sys_field(x: State) -> State { return field(x, sys_params()); }\n");
    }
    s.push_str("fn sys_observables(x: State, o: ptr<function, array<real, N_OBS>>) {\n");
    s.push_str("    for (var k = 0u; k < STATE_DIM; k++) { (*o)[k] = x[k]; }\n");
    if has_loss {
        s.push_str("    (*o)[STATE_DIM] = loss(x, sys_params());\n");
    }
    s.push_str("}\n");
    (s, offset)
}


/// The most operators and brackets one WGSL statement may hold. naga parses and validates an
/// expression recursively, about 1.6 KB of stack a level: 20 000 terms overflow the stack
/// (an abort, not an error), so long statements are refused before naga sees them.
pub const MAX_WGSL_STATEMENT_OPS: usize = 1000;

/// Refuses a statement of more than [`MAX_WGSL_STATEMENT_OPS`] operators and brackets, pointing
/// at it. A lexical count (comments skipped), so it runs in one pass over any text.
fn check_wgsl_statement_size(origin: &str, text: &str) -> Result<()> {
    let bytes = text.as_bytes();
    let (mut i, mut start, mut ops) = (0, 0, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < bytes.len() && !(bytes[i] == b'*' && bytes[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
                continue;
            }
            b';' | b'{' | b'}' => {
                start = i + 1;
                ops = 0;
            }
            b'+' | b'-' | b'*' | b'/' | b'%' | b'&' | b'|' | b'^' | b'<' | b'>' | b'!' | b'~' | b'(' | b'[' => {
                ops += 1;
                if ops > MAX_WGSL_STATEMENT_OPS {
                    let from = start + (text[start..].len() - text[start..].trim_start().len());
                    let to = text[from..].find([';', '\n']).map_or(text.len(), |k| from + k);
                    return Err(Error::Source(Box::new(Diagnostic::at(
                        origin,
                        text,
                        from..to,
                        format!("this statement has more than {MAX_WGSL_STATEMENT_OPS} operators and brackets; split it into several `let`s"),
                    ))));
                }
            }
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// What a user's WGSL file defines besides its dynamics.
struct UserFunctions {
    /// `fn map` rather than `fn field`.
    map: bool,
    /// `fn loss`.
    loss: bool,
}

/// Parses and validates a user's WGSL file against the declarations it may use, and checks the
/// signatures of `field` or `map` (one of them) and `loss` (optional).
fn check_user_wgsl(origin: &str, text: &str, n_state: usize, params: &[String]) -> Result<UserFunctions> {
    check_wgsl_statement_size(origin, text)?;
    let prelude = format!("alias real = f32;\nalias State = array<f32, {n_state}>;\nconst STATE_DIM: u32 = {n_state}u;\n{}", params_struct(params));
    let source = format!("{prelude}{text}");
    let user = UserText { offset: prelude.len(), origin, text };
    let module = shader::check(&source, Some(user), origin)?;
    let at_start = |message: String| Error::Source(Box::new(Diagnostic::at(origin, text, 0..0, message)));
    let find = |name: &str| module.functions.iter().find(|(_, f)| f.name.as_deref() == Some(name));
    let is_state = |ty: naga::Handle<naga::Type>| {
        matches!(module.types[ty].inner, naga::TypeInner::Array { base, size: naga::ArraySize::Constant(n), .. }
            if n.get() as usize == n_state && module.types[base].inner == naga::TypeInner::Scalar(naga::Scalar::F32))
    };
    let is_params = |ty: naga::Handle<naga::Type>| module.types[ty].name.as_deref() == Some("Params");
    let is_f32 = |ty: naga::Handle<naga::Type>| module.types[ty].inner == naga::TypeInner::Scalar(naga::Scalar::F32);
    let signature_ok = |f: &naga::Function, result: &dyn Fn(naga::Handle<naga::Type>) -> bool| {
        f.arguments.len() == 2 && is_state(f.arguments[0].ty) && is_params(f.arguments[1].ty) && f.result.as_ref().is_some_and(|r| result(r.ty))
    };
    let span_of = |h| module.functions.get_span(h).to_range().map(|r| r.start.saturating_sub(prelude.len())..r.end.saturating_sub(prelude.len()));
    let (name, (dyn_h, dynamics)) = match (find("field"), find("map")) {
        (Some(f), None) => ("field", f),
        (None, Some(m)) => ("map", m),
        (None, None) => {
            return Err(at_start("defines neither `fn field(x: State, p: Params) -> State` (a flow) nor `fn map(x: State, p: Params) -> State` (a map)".into()))
        }
        (Some(_), Some((h, _))) => {
            let span = span_of(h).unwrap_or(0..0);
            return Err(Error::Source(Box::new(Diagnostic::at(origin, text, span, "defines both `fn field` and `fn map`: a system is a flow or a map, not both"))));
        }
    };
    if !signature_ok(dynamics, &is_state) {
        let span = span_of(dyn_h).unwrap_or(0..0);
        return Err(Error::Source(Box::new(Diagnostic::at(origin, text, span, format!("`{name}` must be declared `fn {name}(x: State, p: Params) -> State`")))));
    }
    let map = name == "map";
    match find("loss") {
        None => Ok(UserFunctions { map, loss: false }),
        Some((_, f)) if signature_ok(f, &is_f32) => Ok(UserFunctions { map, loss: true }),
        Some((h, _)) => {
            let span = span_of(h).unwrap_or(0..0);
            Err(Error::Source(Box::new(Diagnostic::at(origin, text, span, "`loss` must be declared `fn loss(x: State, p: Params) -> f32`"))))
        }
    }
}

/// Whether the WGSL file at `path` declares `fn map` (comments skipped; a file that cannot be
/// read declares nothing: the plan reports it). For the default step of a map, before the
/// file is compiled.
pub fn wgsl_declares_map(path: &Path) -> bool {
    let Ok(text) = crate::io::read::read_text(path, "--wgsl", crate::io::read::MAX_SOURCE_BYTES) else { return false };
    let code = strip_wgsl_comments(&text);
    let words: Vec<&str> = code.split(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|w| !w.is_empty()).collect();
    words.windows(2).any(|w| w == ["fn", "map"])
}

/// WGSL text without its comments: `// …` to the end of the line, and `/* … */` blocks, which
/// nest in WGSL (each is replaced by a space, so the words around it stay apart).
fn strip_wgsl_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut depth = 0usize;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('/', Some('*')) => {
                chars.next();
                depth += 1;
            }
            ('*', Some('/')) if depth > 0 => {
                chars.next();
                depth -= 1;
                if depth == 0 {
                    out.push(' ');
                }
            }
            ('/', Some('/')) if depth == 0 => {
                while chars.next_if(|&c| c != '\n').is_some() {}
            }
            _ if depth > 0 => {}
            _ => out.push(c),
        }
    }
    out
}

/// Resolves a path in a scenario file against the file's folder.
pub fn resolve_path(scenario_file: &Path, path: &Path) -> std::path::PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        scenario_file.parent().unwrap_or(Path::new(".")).join(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wgsl_comments_are_stripped_block_nested_and_line() {
        let code = strip_wgsl_comments("/* fn map(x) /* nested */ still fn map */ fn field(x: State) // fn map\nfn/**/loss");
        assert!(!code.contains("map"), "{code}");
        assert!(code.contains("fn field(x: State)") && code.contains("fn loss"), "{code}");
    }

    #[test]
    fn a_period_whose_inverse_overflows_is_refused() {
        assert!(periodic_entry("phi=1e-310").is_err());
        assert!(periodic_entry("phi=0").is_err());
        assert_eq!(periodic_entry("phi=360").unwrap().1, 360.0);
        assert_eq!(periodic_entry("phi").unwrap().1, std::f64::consts::TAU);
        // Formulas of constants: a forcing period 2π/ω.
        assert_eq!(period_value("2*pi/1.4"), Some(2.0 * std::f64::consts::PI / 1.4));
        assert_eq!(period_value("2pi"), Some(std::f64::consts::TAU));
        assert_eq!(period_value("x/2"), None);
        assert_eq!(period_value("1 - 2"), None);
        assert_eq!(period_value("1/0"), None);
    }
}
