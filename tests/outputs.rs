//! An output directory holds one command's files: a new run leaves nothing of an earlier one,
//! names cannot collide, and the axes' coordinates come with the arrays.

use std::path::Path;
use std::process::{Command, Output};

fn basinmap(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_basinmap")).args(args).env("NODEVICE_SELECT", "1").output().expect("the binary runs")
}

#[track_caller]
fn ok(args: &[&str]) {
    let o = basinmap(args);
    assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The arrays of an .npz file, by name, in order.
fn read_npz(path: &Path) -> Vec<(String, Vec<f64>)> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    (0..zip.len())
        .map(|k| {
            let file = zip.by_index(k).unwrap();
            let name = file.name().unwrap().strip_suffix(".npy").unwrap().to_string();
            (name, npyz::NpyFile::new(file).unwrap().into_vec::<f64>().unwrap())
        })
        .collect()
}

#[test]
fn a_run_leaves_no_file_of_the_run_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    // An mlp map with samples writes fractions.npy, b-less observables, trainability.png …
    ok(&["run", "--system", "linear", "--x", "k=-1:1:8", "--y", "x=-1:1:6", "--engine", "cpu", "-q", "-o", s(&out)]);
    std::fs::write(out.join("notes.txt"), "mine").unwrap();
    assert!(out.join("x.npy").is_file());
    ok(&["run", "--x", "r=-0.25:0.5:8", "--y", "m=-1:1:6", "--engine", "cpu", "-q", "-o", s(&out)]);
    let mut names: Vec<String> = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    assert!(!names.contains(&"x.npy".to_string()), "{names:?}");
    assert!(names.contains(&"m.npy".to_string()) && names.contains(&"notes.txt".to_string()), "{names:?}");
    // Everything else is listed in run.json (or is the list of outputs itself).
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    let files: Vec<&str> = json["files"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
    for n in &names {
        assert!(files.contains(&n.as_str()) || n == "notes.txt" || n == ".basinmap-outputs", "{n} is not the new run's: {files:?}");
    }
}

#[test]
fn state_variables_cannot_take_an_output_files_name() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["labels", "steps", "fractions", "escape_time", "axes"] {
        let o = basinmap(&["run", "--loss", &format!("({name} - a)^2"), "--state", name, "--x", "a=-1:1:4", "--y", "none", "-q", "-o", s(&dir.path().join("o"))]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains("a file basinmap writes for itself"), "{err}");
    }
}

#[test]
fn merge_refuses_to_write_over_a_shard() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    ok(&["run", "--x", "r=-0.25:0.5:8", "--y", "m=-1:1:6", "--engine", "cpu", "--shard", "1/2", "-q", "-o", s(&a)]);
    ok(&["run", "--x", "r=-0.25:0.5:8", "--y", "m=-1:1:6", "--engine", "cpu", "--shard", "2/2", "-q", "-o", s(&b)]);
    let before = std::fs::read(a.join("steps.npy")).unwrap();
    let o = basinmap(&["merge", s(&a), s(&b), "-o", &format!("{}/.", s(&a))]);
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("is one of the shards"));
    assert_eq!(std::fs::read(a.join("steps.npy")).unwrap(), before);
    ok(&["merge", s(&a), s(&b), "-o", s(&dir.path().join("m"))]);
}

#[test]
fn axes_come_with_the_arrays_in_their_order() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    ok(&["run", "--x", "r=-0.25:0.5:5", "--y", "m=-1:1:3", "--engine", "cpu", "-q", "-o", s(&out)]);
    let axes = read_npz(&out.join("axes.npz"));
    assert_eq!(axes, vec![("m".to_string(), vec![-1.0, 0.0, 1.0]), ("r".to_string(), vec![-0.25, -0.0625, 0.125, 0.3125, 0.5])]);
    // Streamed maps too, and log axes as their values.
    let streamed = dir.path().join("s");
    ok(&["run", "--stream", "--x", "r=0.01:1:3:log", "--y", "m=-1:1:2", "--engine", "cpu", "-q", "-o", s(&streamed)]);
    let axes = read_npz(&streamed.join("axes.npz"));
    assert_eq!(axes[0], ("m".to_string(), vec![-1.0, 1.0]));
    let r = &axes[1].1;
    assert!((r[0] - 0.01).abs() < 1e-12 && (r[1] - 0.1).abs() < 1e-12 && (r[2] - 1.0).abs() < 1e-12, "{r:?}");
}
