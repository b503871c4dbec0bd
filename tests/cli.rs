//! The `basinmap` binary: outputs of a run, and a one-line error with exit code 2 for bad input.

use std::path::Path;
use std::process::{Command, Output};

fn basinmap(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_basinmap"));
    c.args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("the binary runs")
}

fn npy_shape(path: &Path) -> Vec<u64> {
    let bytes = std::fs::read(path).unwrap();
    npyz::NpyFile::new(&bytes[..]).unwrap().shape().to_vec()
}

#[test]
fn run_writes_every_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("map");
    let o = basinmap(
        &["run", "--x", "r=-0.25:0.5:48", "--y", "m=-1.5:1.5:32", "--engine", "cpu", "-o", out.to_str().unwrap()],
        &[],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for f in ["basins.png", "labels.npy", "steps.npy", "m.npy", "loss.npy", "attractors.csv", "run.json"] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    for f in ["labels.npy", "steps.npy", "m.npy", "loss.npy"] {
        assert_eq!(npy_shape(&out.join(f)), [32, 48], "{f}");
    }
    let img = image::open(out.join("basins.png")).unwrap();
    assert_eq!((img.width(), img.height()), (48, 32));
    let csv = std::fs::read_to_string(out.join("attractors.csv")).unwrap();
    assert!(csv.starts_with("id,kind,stability,period,cycle_time,phase,count,fraction,fraction_se,colour,m,m_min,m_max,loss,loss_min,loss_max\n"));
    assert_eq!(csv.lines().filter(|l| l.contains(",fixed,minimum,")).count(), 3, "{csv}");
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(json["grid"], serde_json::json!([48, 32]));
    assert_eq!(json["engine"]["kind"], "cpu");
    assert_eq!(json["counts"]["trajectories"], 48 * 32);
    assert_eq!(json["scenario"]["system"], "landau");
    // Labels read back agree with the counts of attractors.csv.
    let bytes = std::fs::read(out.join("labels.npy")).unwrap();
    let labels: Vec<i32> = npyz::NpyFile::new(&bytes[..]).unwrap().into_vec().unwrap();
    let counts: Vec<u64> = csv.lines().skip(1).map(|l| l.split(',').nth(6).unwrap().parse().unwrap()).collect();
    for (id, &c) in counts.iter().enumerate() {
        assert_eq!(labels.iter().filter(|&&l| l == id as i32).count() as u64, c);
    }
}

#[test]
fn scenario_file_and_flag_override() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.toml");
    std::fs::write(&file, "system = 'linear'\nx = 'k=-1:1:8'\ny = 'x=-1:1:4'\n[params]\na = 0.25\n").unwrap();
    let out = dir.path().join("o");
    let o = basinmap(&["run", file.to_str().unwrap(), "--x", "k=-1:-0.5:5", "--engine", "cpu", "-q", "-o", out.to_str().unwrap()], &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(npy_shape(&out.join("x.npy")), [4, 5]);
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(json["scenario"]["x"], "k=-1:-0.5:5");
    assert_eq!(json["scenario"]["params"]["a"], 0.25);
}

/// A bad invocation: exit code 2, a single `error:` line, no panic, and no run.json.
fn rejected(args: &[&str], env: &[(&str, &str)], needle: &str) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("run.json"), "{}").unwrap(); // left by an earlier run
    let mut all: Vec<&str> = args.to_vec();
    let out_s = out.to_str().unwrap().to_string();
    if !args.contains(&"-o") {
        all.extend(["-o", &out_s]);
    }
    let o = basinmap(&all, env);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    assert!(!err.contains("panicked"), "{args:?}: {err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() <= 3 && lines.iter().any(|l| l.contains(needle)), "{args:?}: {err}");
    // Either the run never started, or it cleared the stale marker: never a new run.json.
    let stale = out.join("run.json");
    assert!(!stale.exists() || std::fs::read_to_string(&stale).unwrap() == "{}", "{args:?}");
}

#[test]
fn bad_input_is_a_one_line_error() {
    rejected(&["run", "--system", "nosuch"], &[], "unknown system 'nosuch'");
    rejected(&["run", "--param", "zz=1"], &[], "unknown parameter 'zz'");
    rejected(&["run", "--x", "q=0:1:4"], &[], "no parameter, state variable or setting of --dynamics gd called 'q'");
    rejected(&["run", "--x", "r=0:1"], &[], "expected NAME=START:STOP:COUNT");
    rejected(&["run", "--x", "r=0:one:4"], &[], "STOP 'one' is not a number");
    rejected(&["run", "--param", "r=abc"], &[], "'abc' is not a finite number");
    rejected(&["run", "--x", "r=0:1:0"], &[], "COUNT must be at least 1");
    rejected(&["run", "--x", "r=0:1:200000", "--y", "m=0:1:200000"], &[], "more than 2^32 - 1");
    // A map this large is streamed to disk; a shard of it is held in memory.
    rejected(&["run", "--shard", "1/2", "--x", "r=0:1:60000", "--y", "m=0:1:60000"], &[], "of memory available");
    rejected(&["run", "--stream", "--x", "r=0:1:100", "--y", "none"], &[], "--stream maps 2-D grids");
    rejected(&["trace", "--stream"], &[], "apply to `basinmap run` only");
    rejected(&["run", "--lr", "-0.1"], &[], "--lr must be a positive number");
    rejected(&["run", "--dynamics", "rk4", "--dt", "0"], &[], "--dt must be a positive number");
    rejected(&["run", "--steps", "-5"], &[], "error");
    rejected(&["run", "--system", "landau", "--continue-untrained"], &[], "--continue-untrained continues training runs");
    rejected(&["run", "--system", "effective", "--param", "D=1.5"], &[], "D must be a whole number");
    rejected(&["run", "--system", "effective", "--param", "a=1,2,3"], &[], "one common, non-zero length");
    rejected(&["run", "no-such-file.toml"], &[], "no-such-file.toml");
    rejected(&["run", "-o", "/proc/basinmap-cannot-write"], &[], "cannot write");
    // f64 where the GPU kernels compute in f32 only: refused with the reason, whatever the adapter.
    rejected(&["run", "--system", "mlp", "--precision", "f64", "--engine", "gpu"], &[], "the mlp kernel computes in f32");
    rejected(
        &["run", "--state", "x", "--loss", "x^2 + tanh(x)", "--x", "x=-1:1:8", "--precision", "f64", "--engine", "gpu"],
        &[],
        "the formula uses tanh",
    );
    rejected(
        &["run", "--wgsl", "examples/double-well.wgsl", "--state", "x", "--x", "t=-2:2:8", "--precision", "f64"],
        &[],
        "write it as a formula",
    );
}

#[test]
fn gpu_engine_without_adapter_exits_2_and_clears_stale_outputs() {
    // Point the Vulkan loader at no driver at all.
    let env = [("VK_ICD_FILENAMES", "/nonexistent.json"), ("VK_DRIVER_FILES", "/nonexistent.json")];
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("run.json"), "{}").unwrap();
    let o = basinmap(&["run", "--engine", "gpu", "--x", "r=0:1:4", "--y", "m=0:1:4", "-o", out.to_str().unwrap()], &env);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("--engine gpu: wgpu found no adapter"), "{err}");
    assert!(!out.join("run.json").exists(), "a stale run.json must not survive a failed run");
    // auto falls back to the CPU engine.
    let o = basinmap(&["run", "--x", "r=0:1:4", "--y", "m=0:1:4", "-q", "-o", out.to_str().unwrap()], &env);
    assert!(o.status.success());
    let json = std::fs::read_to_string(out.join("run.json")).unwrap();
    assert!(json.contains("\"kind\": \"cpu\""));
}

#[test]
fn systems_and_info_list_what_there_is() {
    let o = basinmap(&["systems"], &[]);
    let text = String::from_utf8_lossy(&o.stdout);
    for needle in ["linear", "landau", "effective", "exy", "sigma2", "observables: b", "whole number"] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
    let o = basinmap(&["info"], &[]);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("--engine auto uses"));
}

/// An error in the user's own text: exit 2, `error: ORIGIN:LINE:COL: message`, then the user's
/// line and a caret under column COL.
fn points_at(args: &[&str], at: &str, needle: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut all: Vec<&str> = args.to_vec();
    let out = dir.path().join("o");
    all.extend(["-o", out.to_str().unwrap()]);
    let o = basinmap(&all, &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 3, "{args:?}: {err}");
    assert!(lines[0].starts_with(&format!("error: {at}: ")) && lines[0].contains(needle), "{args:?}: {err}");
    let column: usize = at.rsplit(':').next().unwrap().parse().unwrap();
    assert_eq!(lines[2].find('^'), Some(2 + column - 1), "{args:?}: caret under column {column}:\n{err}");
    assert!(!out.join("run.json").exists());
}

#[test]
fn formula_errors_point_at_the_column() {
    let loss = |f: &'static str| vec!["run", "--loss", f, "--state", "x", "--param", "r=1"];
    points_at(&loss("x^2 + r*q"), "--loss:1:9", "unknown name 'q' (state: x; parameters: r, t)");
    points_at(&loss("(x^2 + r"), "--loss:1:1", "unclosed '('");
    points_at(&loss("x^2 + r)"), "--loss:1:8", "unmatched ')'");
    points_at(&loss("r * x^ * 2"), "--loss:1:6", "'^' is missing its right operand");
    points_at(&loss("r + exp(x, 2)"), "--loss:1:5", "exp() takes 1 argument, not 2");
    points_at(&loss("r * sinus(x)"), "--loss:1:5", "unknown function 'sinus'");
    points_at(&loss("r * x + 0^-1"), "--loss:1:9", "0^-1 is undefined");
    points_at(&["run", "--loss", "x*r", "--state", "x,r", "--param", "r=1"], "--state:1:3", "both a state variable and a parameter");
    points_at(&["run", "--field", "-y", "--state", "x,y"], "--field:1:3", "1 component(s) given for 2 state variable(s)");
}

#[test]
fn wgsl_errors_point_into_the_users_file() {
    let dir = tempfile::tempdir().unwrap();
    let syntax = dir.path().join("syntax.wgsl");
    std::fs::write(&syntax, "fn field(x: State, p: Params) -> State {\n    var v: State\n    v[0] = -x[0];\n    return v;\n}\n").unwrap();
    let types = dir.path().join("types.wgsl");
    std::fs::write(&types, "fn field(x: State, p: Params) -> State {\n    var v: State;\n    v[0] = p.k * x[0] + true;\n    return v;\n}\n").unwrap();
    let signature = dir.path().join("signature.wgsl");
    std::fs::write(&signature, "// dx/dt\nfn field(x: State) -> State {\n    return x;\n}\n").unwrap();
    let run = |f: &std::path::Path| vec!["run".to_string(), "--wgsl".into(), f.display().to_string(), "--state".into(), "x".into(), "--param".into(), "k=1".into()];
    fn args(v: &[String]) -> Vec<&str> {
        v.iter().map(String::as_str).collect()
    }
    let s = run(&syntax);
    points_at(&args(&s), &format!("{}:3:5", syntax.display()), "expected `;`");
    let t = run(&types);
    points_at(&args(&t), &format!("{}:3:12", types.display()), "can't work with");
    let g = run(&signature);
    points_at(&args(&g), &format!("{}:2:1", signature.display()), "`field` must be declared `fn field(x: State, p: Params) -> State`");
}

#[test]
fn user_defined_systems_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    let o = basinmap(
        &["run", "--loss", "(x^2 - 1)^2 + a*y^2", "--state", "x,y=0.3", "--param", "a=0.5", "--x", "x=-2:2:24", "--y", "y=-1:1:16", "-o", out.to_str().unwrap()],
        &[],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for f in ["x.npy", "y.npy", "loss.npy", "labels.npy"] {
        assert_eq!(npy_shape(&out.join(f)), [16, 24], "{f}");
    }
    let csv = std::fs::read_to_string(out.join("attractors.csv")).unwrap();
    assert_eq!(csv.lines().filter(|l| l.contains(",fixed,minimum,")).count(), 2, "the wells at x = ±1:\n{csv}");
    // --emit-wgsl prints the generated file and runs nothing.
    let o = basinmap(&["run", "--loss", "(x^2 - 1)^2", "--state", "x", "--emit-wgsl", "-o", dir.path().join("none").to_str().unwrap()], &[]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success() && text.contains("fn field(_x: State, _p: Params) -> State") && text.contains("fn loss("), "{text}");
    assert!(!dir.path().join("none").exists());
    // The built-in landau, shown as the formula it is, with its derived field.
    let o = basinmap(&["systems", "--show", "landau"], &[]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("loss:        r * m^2 + c * m^3") && text.contains("dm/dt:"), "{text}");
    let o = basinmap(&["systems", "--show", "effective", "--emit-wgsl"], &[]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("fn sys_field"));
}

/// A PNG's (width, height), from its header.
fn png_size(path: &Path) -> (u32, u32) {
    let img = image::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (img.width(), img.height())
}

#[test]
fn landscape_draws_curves_or_a_heat_map() {
    let dir = tempfile::tempdir().unwrap();
    let curves = dir.path().join("curves");
    let o = basinmap(&["landscape", "examples/paper/fig2b-landscape-d2.toml", "-o", curves.to_str().unwrap()], &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(npy_shape(&curves.join("landscape.npy")), [6, 400]);
    assert!(curves.join("landscape.png").is_file() && curves.join("landscape.svg").is_file());
    assert!(String::from_utf8_lossy(&o.stdout).contains("argmin b"));
    let map = dir.path().join("map");
    let o = basinmap(&["landscape", "--system", "effective", "--param", "D=2", "--x", "gamma=0.01:0.4:50", "--y", "b=-1:1:40", "-o", map.to_str().unwrap()], &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let img = image::open(map.join("landscape.png")).unwrap();
    assert_eq!((img.width(), img.height()), (50, 40));
    // Samples are refused with a clear error.
    let o = basinmap(&["landscape", "--system", "mlp", "--samples", "2", "--x", "lr1=1:2:3", "--y", "lr2=1:2:3", "-o", map.to_str().unwrap()], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--samples does not apply"), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn trace_writes_a_csv_and_figures() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("trace");
    let o = basinmap(
        &["trace", "--system", "deep-linear", "--x", "gamma=0.1:0.1:1", "--y", "init_scale=0.05:0.3:2", "--steps", "3000", "--every", "10", "-o", out.to_str().unwrap()],
        &[],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let csv = std::fs::read_to_string(out.join("trace.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next().unwrap(), "trajectory,label,step,loss,fit,reg,b,e2e_norm,grad_norm");
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    // Two trajectories, every 10th step, each ending at convergence or the last step.
    for t in ["0", "1"] {
        let steps: Vec<u32> = rows.iter().filter(|r| r[0] == t).map(|r| r[2].parse().unwrap()).collect();
        assert!(steps.len() > 10, "trajectory {t}: {} records", steps.len());
        assert_eq!(steps[0], 0);
        assert!(steps.windows(2).all(|w| w[1] > w[0] && (w[1] % 10 == 0 || w[1] == *steps.last().unwrap())));
    }
    // Gradient descent never raises the loss at this step size.
    let loss: Vec<f64> = rows.iter().filter(|r| r[0] == "1").map(|r| r[3].parse().unwrap()).collect();
    assert!(loss.windows(2).all(|w| w[1] <= w[0] + 1e-6), "loss rose");
    assert_eq!(png_size(&out.join("trace.png")), (1000, 4 * 300 + 60));
    assert!(std::fs::read_to_string(out.join("trace.svg")).unwrap().starts_with("<svg"));
    let o = basinmap(&["trace", "--system", "landau", "-o", out.to_str().unwrap()], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("at most 64"));
}

#[test]
fn one_dimensional_scans_get_curves() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("scan");
    let o = basinmap(&["run", "--system", "deep-linear", "--x", "gamma=0.01:0.8:24", "--y", "none", "--samples", "2", "--engine", "cpu", "-o", out.to_str().unwrap()], &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(png_size(&out.join("curves.png")), (1000, 3 * 260 + 60));
    assert_eq!(png_size(&out.join("basins.png")), (24, 1));
    assert_eq!(npy_shape(&out.join("labels.npy")), [1, 24, 2]);
    assert!(std::fs::read_to_string(out.join("curves.svg")).unwrap().contains("</svg>"));
    let csv = std::fs::read_to_string(out.join("attractors.csv")).unwrap();
    assert!(csv.contains(",trivial,") && csv.contains(",learning,"), "{csv}");
}

#[test]
fn analysis_commands_refuse_bad_input_in_one_line() {
    rejected(&["sweep", "--system", "landau", "--x", "m=-1:1:10", "--y", "none"], &[], "must be a parameter");
    rejected(&["sweep", "--system", "landau", "--x", "r=-1:1:10", "--y", "u=1:2:3"], &[], "scans one parameter");
    rejected(&["sweep", "--system", "landau", "--x", "r=-1:1:10", "--order", "zz"], &[], "--order zz");
    rejected(&["kramers", "--system", "landau", "--x", "m=-1:-1:1", "--y", "none", "--temperatures", "0.2,0.3"], &[], "--escape");
    rejected(&["kramers", "--system", "landau", "--x", "m=-1:-1:1", "--y", "none", "--escape", "1", "--temperatures", "0.2"], &[], "two or more temperatures");
    rejected(&["kramers", "--system", "landau", "--x", "m=-1:-1:1", "--y", "none", "--escape", "1", "--temperatures", "hot"], &[], "--temperatures 'hot'");
    rejected(&["run", "--system", "landau", "--samples", "4"], &[], "runs with --temperature");
    rejected(&["run", "--system", "landau", "--temperature", "0.1", "--dynamics", "rk4"], &[], "--dynamics gd");
    rejected(&["measure", "no-such.npy"], &[], "no-such.npy");
    let dir = tempfile::tempdir().unwrap();
    let line = dir.path().join("line.npy");
    let mut bytes = Vec::new();
    {
        use npyz::WriterBuilder;
        let mut w = npyz::WriteOptions::<i32>::new().default_dtype().shape(&[5]).writer(&mut bytes).begin_nd().unwrap();
        w.extend([0, 1, 1, 0, 2]).unwrap();
        w.finish().unwrap();
    }
    std::fs::write(&line, bytes).unwrap();
    rejected(&["measure", line.to_str().unwrap()], &[], "expected a 2-D map");
}

#[test]
fn sweep_measure_and_kramers_write_their_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s");
    let o = basinmap(&["sweep", "examples/sweep/landau-first-order.toml", "--x", "r=-0.5:0.5:401", "--engine", "cpu", "-o", out.to_str().unwrap()], &[]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(text.contains("order 1 transition at r = 0.2500000"), "{text}");
    assert!(text.contains("up 0.33333"), "{text}");
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("transitions.json")).unwrap()).unwrap();
    assert_eq!(json["transitions"][0]["order"], 1);
    let csv = std::fs::read_to_string(out.join("sweep.csv")).unwrap();
    assert!(csv.starts_with("r,L,dL,d2L,m_at_L,edge_of_stability,attractor,fp_loss,fp_m,fp_stability,fp_share,fp_residual,fp_sharpness\n"), "{csv:.200}");

    let map = dir.path().join("m");
    let o = basinmap(&["run", "--x", "r=-0.25:0.5:64", "--y", "m=-1.5:1.5:64", "--engine", "cpu", "-q", "-o", map.to_str().unwrap()], &[]);
    assert!(o.status.success());
    let o = basinmap(&["measure", map.to_str().unwrap(), "--fit-range", "2:8"], &[]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success() && text.contains("box-counting dimension of the boundary"), "{text}");
    let b: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(map.join("boundary.json")).unwrap()).unwrap();
    assert_eq!(b["dimension"]["fit_range"], serde_json::json!([2, 8]));

    let k = dir.path().join("k");
    let o = basinmap(&["kramers", "--system", "landau", "--param", "r=-2", "--x", "m=-1:-1:1", "--y", "none", "--samples", "100", "--escape", "1", "--steps", "1000000", "--temperatures", "0.3:0.5:3", "--engine", "cpu", "-o", k.to_str().unwrap()], &[]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(text.contains("Kramers fit over T = 0.3000, 0.4000, 0.5000: barrier"), "{text}");
    assert!(text.contains("the landscape's barrier is 1.0000"), "{text}");
}

#[test]
fn bench_reports_rates_and_flops_as_json() {
    let o = basinmap(&["bench", "--workloads", "w1,w2", "--size", "16", "--repeats", "2", "--engines", "cpu", "--json"], &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("stdout is JSON alone");
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    let w1 = &rows[0];
    assert_eq!((w1["workload"].as_str(), w1["engine"].as_str()), (Some("w1"), Some("cpu")));
    assert_eq!(w1["seconds"].as_array().unwrap().len(), 2);
    // W1 takes exactly 500 steps per trajectory.
    assert_eq!(w1["steps"].as_u64(), Some(16 * 16 * 500));
    let rate = w1["steps_per_second"].as_f64().unwrap();
    // Landau's map on the CPU: 6 FLOPs a step; the peak is measured, so some positive figure.
    assert!((w1["gflops"].as_f64().unwrap() - rate * 6.0 / 1e9).abs() < 1e-9 * rate);
    let peak = w1["peak_gflops"].as_f64().unwrap();
    assert!(peak > 0.0 && peak.is_finite() && w1["peak_basis"].as_str().unwrap().starts_with("measured"), "{w1}");
    assert!(rows[1]["lockstep"]["max_steps"].as_u64().unwrap() >= 1);
    for (args, needle) in [(["bench", "--repeats", "0", "--size", "4"], "--repeats must be at least 1"), (["bench", "--engines", "tpu", "--size", "4"], "unknown engine 'tpu'")] {
        let o = basinmap(&args, &[]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains(needle) && !err.contains("panicked"), "{err}");
    }
}

/// A scenario's title describes its own parameters: one changed with --param is added to it
/// (the Fig. 1 file at depth 2 is not titled "depth-1" alone); --title replaces it.
#[test]
fn a_changed_parameter_is_named_in_the_title() {
    let dir = tempfile::tempdir().unwrap();
    let title = |extra: &[&str]| {
        let out = dir.path().join("t");
        let mut args = vec!["run", "examples/paper/fig1-depth1.toml", "--x", "gamma=0.1:0.2:2", "--steps", "10", "--engine", "cpu", "-o", out.to_str().unwrap()];
        args.extend_from_slice(extra);
        let o = basinmap(&args, &[]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
        json["scenario"]["title"].as_str().unwrap().to_string()
    };
    assert_eq!(title(&[]), "Fig. 1: depth-1 linear net, final state against weight decay");
    assert_eq!(title(&["--param", "D=1"]), "Fig. 1: depth-1 linear net, final state against weight decay");
    assert_eq!(title(&["--param", "D=2"]), "Fig. 1: depth-1 linear net, final state against weight decay (with D=2)");
    assert_eq!(title(&["--param", "D=2", "--title", "depth 2"]), "depth 2");
}

#[test]
fn figures_have_their_text_from_the_bundled_font_and_a_bad_basinmap_font_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    // No font is looked for on the machine: the annotated map has its title (dark pixels in the
    // band above the plot, where nothing else is drawn).
    let out = dir.path().join("map");
    let o = basinmap(&["run", "--x", "r=-0.25:0.5:16", "--engine", "cpu", "-o", out.to_str().unwrap()], &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let img = image::open(out.join("basins_annotated.png")).unwrap().to_rgb8();
    let dark = (0..img.width()).flat_map(|x| (0..24).map(move |y| (x, y))).filter(|&(x, y)| img.get_pixel(x, y).0.iter().all(|&c| c < 96)).count();
    assert!(dark > 50, "the title band has {dark} dark pixels: no text");

    // A BASINMAP_FONT that cannot be read, or is not a font: one line, exit code 2, before any
    // output is written.
    let junk = dir.path().join("not-a-font.ttf");
    std::fs::write(&junk, b"not a font").unwrap();
    for (font, says) in [("/nonexistent/font.ttf", "BASINMAP_FONT=/nonexistent/font.ttf: cannot read the font"), (junk.to_str().unwrap(), "not a TrueType or OpenType font")] {
        let out = dir.path().join("refused");
        let o = basinmap(&["run", "--x", "r=-0.25:0.5:16", "--engine", "cpu", "-o", out.to_str().unwrap()], &[("BASINMAP_FONT", font)]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.starts_with("error: ") && err.contains(says) && err.trim_end().lines().count() == 1, "{err}");
        assert!(!out.exists(), "nothing is written");
    }
}

#[test]
fn figure_options_set_formats_resolution_size_labels_and_colours() {
    let dir = tempfile::tempdir().unwrap();
    // PNG only, at 200 dpi, 5 × 4 inches: 1000 × 800 pixels, and no SVG or PDF.
    let out = dir.path().join("flags");
    let o = basinmap(&["run", "--x", "r=-0.25:0.5:16", "--y", "m=-1.5:1.5:12", "--engine", "cpu", "--format", "png", "--dpi", "200", "--figure-size", "5,4", "-o", out.to_str().unwrap()], &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(png_size(&out.join("basins_annotated.png")), (1000, 800));
    assert!(!out.join("basins_annotated.svg").exists() && !out.join("basins_annotated.pdf").exists());
    // A scenario's [figure] table: the axes' names, the title and SVG alone.
    let file = dir.path().join("s.toml");
    std::fs::write(&file, "system = 'landau'\nx = 'r=-0.25:0.5:16'\ny = 'm=-1.5:1.5:12'\n[figure]\ntitle = 'my map'\nx_label = 'temperature'\ny_label = 'start'\ncolour_map = 'magma'\nformats = ['svg']\n").unwrap();
    let out = dir.path().join("table");
    let o = basinmap(&["run", file.to_str().unwrap(), "--engine", "cpu", "-o", out.to_str().unwrap()], &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let svg = std::fs::read_to_string(out.join("basins_annotated.svg")).unwrap();
    assert!(svg.contains("\ntemperature\n") && svg.contains("\nstart\n") && svg.contains("\nmy map (basins)\n"), "{svg:.2000}");
    assert!(!out.join("basins_annotated.png").exists());
    // Out of range: refused before any work, in one line.
    rejected(&["run", "--dpi", "5"], &[], "[figure] dpi = 5: must be between 10 and 1200");
    rejected(&["run", "--figure-size", "0.5,3"], &[], "width and height are inches");
    rejected(&["run", "--figure-size", "3"], &[], "--figure-size: expected WIDTH,HEIGHT");
    rejected(&["run", "--figure-size", "100,100", "--dpi", "1200"], &[], "pixels, more than");
    rejected(&["run", "--format", "gif"], &[], "gif");
    std::fs::write(&file, "system = 'landau'\nx = 'r=0:1:4'\n[figure]\nformats = []\n").unwrap();
    rejected(&["run", file.to_str().unwrap()], &[], "formats is empty");
    std::fs::write(&file, "system = 'landau'\nx = 'r=0:1:4'\n[figure]\nbogus = 1\n").unwrap();
    rejected(&["run", file.to_str().unwrap()], &[], "bogus");
}
