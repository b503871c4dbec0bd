//! Sampled starts (`--uniform N`, `--starts FILE`): each start is one trajectory in the order of
//! the sample, on both engines; the shares come with standard errors; the pendulum's match
//! bSTAB's sampled estimate.

mod common;

use basinmap::classify::Kind;
use basinmap::plan::Plan;
use basinmap::scenario::{Scenario, Starts};
use common::{engines, run};
use std::path::Path;
use std::process::{Command, Output};

fn basinmap(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_basinmap")).args(args).output().expect("the binary runs")
}

/// The pendulum of Menck et al. (2013) sampled as bSTAB samples it: 10 000 starts uniform over
/// [−π + arcsin ½, π + arcsin ½] × [−10, 10] (ode45, RelTol 1e-8, t ≤ 1000 there): 15.2 % come
/// to rest, 84.8 % rotate, each with standard error √(S(1 − S)/N) = 0.0036. basinmap's own
/// 10 000 starts are a second sample of the same shares: the two estimates must agree within
/// three standard errors of their difference (√2 · 0.0036).
#[test]
fn uniform_starts_give_the_pendulums_shares_as_bstab_reports() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/flows/pendulum.toml")).unwrap();
    let mut s = Scenario::from_toml(&text).unwrap();
    s.starts = Some(Starts { uniform: Some(10_000), file: None });
    let p = Plan::new(&s).unwrap();
    assert_eq!((p.nx(), p.ny(), p.zipped.len()), (10_000, 1, 1));
    let mut labels = Vec::new();
    for (name, engine) in engines() {
        let (o, c) = run(engine.as_ref(), &p);
        assert_eq!(c.attractors.len(), 2, "{name}: {:?}", c.attractors);
        let rest = c.attractors.iter().find(|a| a.kind == Kind::Fixed).expect("a fixed point");
        let rotation = c.attractors.iter().find(|a| a.kind == Kind::Cycle).expect("a limit cycle");
        let tolerance = 3.0 * 2f64.sqrt() * 0.0036;
        assert!((rest.fraction - 0.152).abs() < tolerance, "{name}: rest {}", rest.fraction);
        assert!((rotation.fraction - 0.848).abs() < tolerance, "{name}: rotation {}", rotation.fraction);
        assert!((rest.observables[0].value - 0.5f64.asin()).abs() < 1e-4, "{name}");
        assert!((rotation.cycle_time - 2.0 * std::f64::consts::PI / 5.0).abs() < 0.05, "{name}: T = {}", rotation.cycle_time);
        // Starts that rotate have the rotation's label; the angle stays in [−π, π).
        let phi = o.column(0);
        assert!(phi.iter().all(|&v| (-std::f32::consts::PI..=std::f32::consts::PI).contains(&v)), "{name}");
        labels.push(c.labels);
    }
    if let [cpu, gpu] = &labels[..] {
        let same = cpu.iter().zip(gpu).filter(|(a, b)| a == b).count();
        assert!(same as f64 >= 0.995 * cpu.len() as f64, "GPU and CPU agree on {same} of {} starts", cpu.len());
    }
}

/// A damped particle in a double well, x'' = x − x³ − c·x', stepped by gd (Euler), from v0.
fn double_well(v0: f64, c: f64) -> String {
    format!("[system]\nstate = ['x', 'v={v0}']\nfield = ['v', 'x - x^3 - c*v']\n[params]\nc = {c}\n[dynamics]\nmethod = 'gd'\nlr = 0.1\nsteps = 4000\ntol = 1e-5\n")
}

/// A start read from a file is the grid's trajectory at the same values, bit for bit: rows of
/// (x, v, c, lr) — two states, a parameter and a setting — taken in a shuffled order end where
/// the grid's points do, with the same steps, on each engine. The sampled scenario's own v0 and
/// c differ from the rows', so a column that failed to apply would show.
#[test]
fn a_file_of_starts_runs_each_row_as_the_grid_runs_its_point() {
    let dir = tempfile::tempdir().unwrap();
    let xs: [f64; 4] = [-1.3, -0.2, 0.15, 0.9];
    let lrs: [f64; 3] = [0.05, 0.1, 0.2];
    // The grid: lr along x, the start x along y; v and c fixed.
    let grid = format!("x = 'lr=0.05:0.2:2'\ny = 'x=-1.3:0.9:2'\n{}", double_well(0.05, 0.7));
    let mut g = Scenario::from_toml(&grid).unwrap();
    let mut rows = Vec::new();
    for &x in &xs {
        for &lr in &lrs {
            rows.push((x, lr));
        }
    }
    // A fixed shuffle: row k of the file is grid trajectory order[k].
    let order = [7, 2, 11, 0, 5, 9, 1, 10, 3, 6, 8, 4];
    let mut csv = String::from("# x v c lr\nx, v, c, lr\n");
    for &k in &order {
        csv += &format!("{}, 0.05, 0.7, {}\n", rows[k].0, rows[k].1);
    }
    let file = dir.path().join("starts.csv");
    std::fs::write(&file, csv).unwrap();
    let mut s = Scenario::from_toml(&format!("x = 'x=0:1:2'\n{}", double_well(0.3, 0.2))).unwrap();
    s.starts = Some(Starts { uniform: None, file: Some(file) });
    let sampled = Plan::new(&s).unwrap();
    assert_eq!(sampled.zipped.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(), ["v", "c", "lr"]);
    for (name, engine) in engines() {
        // The grid run, one point at a time (its axes cannot list these values otherwise).
        let (o, c) = run(engine.as_ref(), &sampled);
        for (k, &i) in order.iter().enumerate() {
            let (x, lr) = rows[i];
            g.x = format!("lr={lr}:{lr}:1").parse().unwrap();
            g.y = Some(format!("x={x}:{x}:1").parse().unwrap());
            let (og, _) = run(engine.as_ref(), &Plan::new(&g).unwrap());
            assert_eq!((o.status[k], o.steps[k]), (og.status[0], og.steps[0]), "{name}: row {k} (x = {x}, lr = {lr})");
            assert_eq!(o.obs(k), og.obs(0), "{name}: row {k}");
        }
        // Two wells, x = ±1 (v = 0): each start, too slow to climb the hill at 0, falls into
        // the one on its side.
        assert_eq!(c.attractors.len(), 2, "{name}: {:?}", c.attractors);
        for (k, &i) in order.iter().enumerate() {
            let well = c.attractors[c.labels[k] as usize].observables[0].value;
            assert_eq!(well.signum(), rows[i].0.signum(), "{name}: row {k}");
        }
    }
}

/// A .npy array of N × n_state starts is read as the .csv file of the same rows.
#[test]
fn npy_starts_are_the_rows_of_the_state() {
    let dir = tempfile::tempdir().unwrap();
    let rows = [[-1.0, 0.5], [0.3, -0.2], [1.4, 0.0], [-0.1, 0.9], [0.05, 0.05]];
    let npy = dir.path().join("starts.npy");
    let flat: Vec<f64> = rows.iter().flatten().copied().collect();
    let mut bytes = Vec::new();
    {
        use npyz::WriterBuilder;
        let mut w = npyz::WriteOptions::<f64>::new().default_dtype().shape(&[5, 2]).writer(&mut bytes).begin_nd().unwrap();
        w.extend(flat.iter().copied()).unwrap();
        w.finish().unwrap();
    }
    std::fs::write(&npy, bytes).unwrap();
    let csv = dir.path().join("starts.csv");
    std::fs::write(&csv, std::iter::once("x,v".to_string()).chain(rows.iter().map(|r| format!("{},{}", r[0], r[1]))).collect::<Vec<_>>().join("\n")).unwrap();
    let plan_of = |file: &Path| {
        let mut s = Scenario::from_toml(&format!("x = 'x=0:1:2'\n{}", double_well(0.0, 0.5))).unwrap();
        s.starts = Some(Starts { uniform: None, file: Some(file.to_path_buf()) });
        Plan::new(&s).unwrap()
    };
    let (a, b) = (plan_of(&npy), plan_of(&csv));
    assert_eq!((a.x.values.clone(), a.zipped[0].values.clone()), (b.x.values.clone(), b.zipped[0].values.clone()));
    let cpu = basinmap::engine::cpu::CpuEngine::new();
    let (oa, _) = run(&cpu, &a);
    let (ob, _) = run(&cpu, &b);
    assert_eq!((oa.status, oa.steps), (ob.status, ob.steps));
}

/// `basinmap run --uniform`: 1-D outputs in sample order, the columns in axes.npz, each share
/// with its standard error in attractors.csv (and the table), the starts drawn in starts.png.
#[test]
fn a_sampled_run_writes_one_dimensional_outputs_with_standard_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sampled");
    let o = basinmap(&["run", "--loss", "(x^2 - 1)^2/4 + y^2/2", "--state", "x,y", "--x", "x=-2:2:1", "--y", "y=-1:1:1", "--uniform", "400", "--seed", "3", "--engine", "cpu", "-o", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains(" ± "), "{}", String::from_utf8_lossy(&o.stdout));
    let labels = std::fs::read(out.join("labels.npy")).unwrap();
    let file = npyz::NpyFile::new(&labels[..]).unwrap();
    assert_eq!(file.shape(), &[400]);
    let labels: Vec<i32> = file.into_vec().unwrap();
    assert!(!out.join("basins.png").exists());
    assert!(image::open(out.join("starts.png")).unwrap().width() > 500);
    // The starts: x uniform over [-2, 2]; a start ends in the well on its side of x = 0.
    let mut axes = zip::ZipArchive::new(std::fs::File::open(out.join("axes.npz")).unwrap()).unwrap();
    let names: Vec<String> = (0..axes.len()).map(|k| axes.by_index(k).unwrap().name().unwrap().to_string()).collect();
    assert_eq!(names, ["x.npy", "y.npy"]);
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut axes.by_name("x.npy").unwrap(), &mut bytes).unwrap();
    let x: Vec<f64> = npyz::NpyFile::new(&bytes[..]).unwrap().into_vec().unwrap();
    assert_eq!(x.len(), 400);
    assert!(x.iter().all(|v| (-2.0..2.0).contains(v)));
    let csv = std::fs::read_to_string(out.join("attractors.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let (count, fraction, se) = (6, 7, 8);
    assert_eq!((header[count], header[fraction], header[se]), ("count", "fraction", "fraction_se"));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 2, "{csv}");
    let mut total = 0;
    for (id, row) in rows.iter().enumerate() {
        let n: usize = row[count].parse().unwrap();
        let f: f64 = row[fraction].parse().unwrap();
        let e: f64 = row[se].parse().unwrap();
        assert_eq!(labels.iter().filter(|&&l| l == id as i32).count(), n);
        assert!((e - (f * (1.0 - f) / 400.0).sqrt()).abs() < 1e-6, "{row:?}");
        total += n;
    }
    assert_eq!(total, 400);
    let well = |id: i32| rows[id as usize][10].parse::<f64>().unwrap();
    for (l, x) in labels.iter().zip(&x) {
        assert_eq!(well(*l).signum(), x.signum(), "start x = {x}");
    }
}

/// Bad sampled starts are one-line errors with exit code 2, before anything runs.
#[test]
fn bad_starts_are_refused_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    let out = out.to_str().unwrap();
    let csv = dir.path().join("bad.csv");
    std::fs::write(&csv, "m,q\n0.1,2\n").unwrap();
    let ragged = dir.path().join("ragged.csv");
    std::fs::write(&ragged, "m\n0.1\n0.2,3\n").unwrap();
    let lr = dir.path().join("lr.csv");
    std::fs::write(&lr, "m,lr\n0.5,0.1\n0.5,-1\n").unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["run", "--uniform", "0", "-o", out], "--uniform 0"),
        (vec!["run", "--starts", "/nonexistent/starts.csv", "-o", out], "starts.csv"),
        (vec!["run", "--starts", csv.to_str().unwrap(), "-o", out], "column 'q'"),
        (vec!["run", "--starts", ragged.to_str().unwrap(), "-o", out], "line 3 has 2 fields"),
        (vec!["run", "--starts", lr.to_str().unwrap(), "-o", out], "column 'lr'"),
        (vec!["run", "--uniform", "10", "--stream", "-o", out], "sampled starts are held in memory"),
        (vec!["run", "--system", "deep-linear", "--uniform", "10", "--samples", "2", "-o", out], "draw more starts"),
        (vec!["sweep", "--uniform", "10", "-o", out], "apply to `basinmap run` only"),
        (vec!["orbit", "--starts", csv.to_str().unwrap(), "-o", out], "apply to `basinmap run` only"),
    ];
    for (args, says) in cases {
        let o = basinmap(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says) && err.trim().lines().count() == 1, "{args:?}: {err}");
    }
}

/// Shards of a sampled run merge into the run itself: the starts depend on their index alone.
#[test]
fn shards_of_sampled_starts_merge_into_the_whole_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let common = ["run", "--loss", "(x^2 - 1)^2/4", "--state", "x", "--x", "x=-2:2:1", "--y", "none", "--uniform", "301", "--engine", "cpu"];
    let run = |extra: &[&str]| {
        let o = basinmap(&common.iter().copied().chain(extra.iter().copied()).collect::<Vec<_>>());
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    run(&["-o", &d("whole")]);
    run(&["--shard", "1/2", "-o", &d("s1")]);
    run(&["--shard", "2/2", "-o", &d("s2")]);
    let o = basinmap(&["merge", &d("s1"), &d("s2"), "-o", &d("merged")]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for f in ["labels.npy", "steps.npy", "x.npy", "attractors.csv"] {
        let a = std::fs::read(dir.path().join("whole").join(f)).unwrap();
        let b = std::fs::read(dir.path().join("merged").join(f)).unwrap();
        assert!(a == b, "{f} differs");
    }
}
