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
    assert!(csv.starts_with("id,kind,stability,count,fraction,colour,m,m_min,m_max,loss,loss_min,loss_max\n"));
    assert_eq!(csv.lines().filter(|l| l.contains(",fixed,minimum,")).count(), 3, "{csv}");
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(json["grid"], serde_json::json!([48, 32]));
    assert_eq!(json["engine"]["kind"], "cpu");
    assert_eq!(json["counts"]["trajectories"], 48 * 32);
    assert_eq!(json["scenario"]["system"], "landau");
    // Labels read back agree with the counts of attractors.csv.
    let bytes = std::fs::read(out.join("labels.npy")).unwrap();
    let labels: Vec<i32> = npyz::NpyFile::new(&bytes[..]).unwrap().into_vec().unwrap();
    let counts: Vec<u64> = csv.lines().skip(1).map(|l| l.split(',').nth(3).unwrap().parse().unwrap()).collect();
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
    rejected(&["run", "--x", "q=0:1:4"], &[], "no parameter or state variable 'q'");
    rejected(&["run", "--x", "r=0:1"], &[], "expected NAME=START:STOP:COUNT");
    rejected(&["run", "--x", "r=0:one:4"], &[], "STOP 'one' is not a number");
    rejected(&["run", "--param", "r=abc"], &[], "'abc' is not a finite number");
    rejected(&["run", "--x", "r=0:1:0"], &[], "COUNT must be at least 1");
    rejected(&["run", "--x", "r=0:1:200000", "--y", "m=0:1:200000"], &[], "more than 2^32 - 1");
    rejected(&["run", "--x", "r=0:1:60000", "--y", "m=0:1:60000"], &[], "of memory available");
    rejected(&["run", "--lr", "-0.1"], &[], "--lr must be a positive number");
    rejected(&["run", "--dynamics", "rk4", "--dt", "0"], &[], "--dt must be a positive number");
    rejected(&["run", "--steps", "-5"], &[], "error");
    rejected(&["run", "--system", "effective", "--param", "D=1.5"], &[], "D must be a whole number");
    rejected(&["run", "--system", "effective", "--param", "a=1,2,3"], &[], "one common, non-zero length");
    rejected(&["run", "no-such-file.toml"], &[], "no-such-file.toml");
    rejected(&["run", "-o", "/proc/basinmap-cannot-write"], &[], "cannot write");
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
