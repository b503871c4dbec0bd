//! No input crashes basinmap: each input here once aborted, panicked, hung or allocated without
//! bound (found by fuzzing the binary). Each must now end with one error and exit code 2, or
//! succeed, and never print a panic.

use std::path::Path;
use std::process::{Command, Output};

fn basinmap(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_basinmap")).args(args).env("NODEVICE_SELECT", "1").output().expect("the binary runs")
}

/// Runs `args`, expecting exit code 2 and an error that contains `needle`, without a panic.
#[track_caller]
fn refused(args: &[&str], needle: &str) -> String {
    let o = basinmap(args);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(2), "{args:?}: expected exit code 2, got {:?}; stderr:\n{err}", o.status);
    assert!(!err.contains("panicked") && !err.contains("overflow"), "{args:?}: {err}");
    assert!(err.starts_with("error: "), "{args:?}: {err}");
    assert!(err.contains(needle), "{args:?}: expected '{needle}' in:\n{err}");
    err
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn chained_powers_in_a_formula_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    let pow = format!("x{}", "^x".repeat(7500));
    refused(&["run", "--loss", &pow, "--state", "x", "--x", "x=-1:1:4", "--y", "none", "-q", "-o", s(&out)], "nests more than");
    // The same in a scenario file's [system] loss.
    let file = dir.path().join("s.toml");
    std::fs::write(&file, format!("x = 'x=-1:1:4'\n[system]\nstate = ['x']\nloss = '{pow}'\n")).unwrap();
    refused(&["run", s(&file), "-q", "-o", s(&out)], "nests more than");
    let long = "x+".repeat(40_000) + "x";
    refused(&["run", "--loss", &long, "--state", "x", "--x", "x=-1:1:4", "--y", "none", "-q", "-o", s(&out)], "more than the 65536");
}

#[test]
fn a_huge_wgsl_statement_is_refused_before_naga() {
    let dir = tempfile::tempdir().unwrap();
    let terms = vec!["x[0]"; 20_000].join(" + ");
    let file = dir.path().join("big.wgsl");
    std::fs::write(&file, format!("fn field(x: State, p: Params) -> State {{\n    var v: State;\n    v[0] = {terms};\n    return v;\n}}\n")).unwrap();
    let err = refused(
        &["run", "--wgsl", s(&file), "--state", "x", "--param", "t=0", "--x", "t=-1:1:4", "--y", "x=-1:1:4", "-q", "-o", s(&dir.path().join("o"))],
        "more than 1000 operators",
    );
    // Located: the file's line 3.
    assert!(err.contains(":3:"), "{err}");
}

#[test]
fn axes_are_sized_before_they_are_allocated() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    refused(&["run", "--x", "r=0:1:18446744073709551615", "--y", "none", "-q", "-o", s(&out)], "more than 2^32 - 1");
    refused(&["run", "--x", "r=0:1:4294967296", "--y", "none", "-q", "-o", s(&out)], "more than 2^32 - 1");
    refused(&["run", "--x", "r=0:1:65536", "--y", "m=0:1:65537", "-q", "-o", s(&out)], "more than 2^32 - 1");
    // 2^32 - 1 values of a 1-D scan: 137 GB of outcomes, refused from the counts alone.
    refused(&["run", "--x", "r=0:1:4294967295", "--y", "none", "-q", "-o", s(&out)], "memory");
}

#[test]
fn network_data_is_sized_before_it_is_drawn() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.toml");
    std::fs::write(&file, "system = 'mlp'\nx = 'lr1=0.1:1:2'\ny = 'lr2=0.1:1:2'\n[network]\nn = 1048576\ndim = 8000\n").unwrap();
    refused(&["run", s(&file), "-q", "-o", s(&dir.path().join("o"))], "weights");
    std::fs::write(&file, "system = 'mlp'\nx = 'lr1=0.1:1:2'\ny = 'lr2=0.1:1:2'\n[network]\nn = 1048576\ndim = 32\n").unwrap();
    refused(&["run", s(&file), "-q", "-o", s(&dir.path().join("o"))], "more than 2^24 numbers");
    refused(&["run", "--system", "mlp", "--param", "d0=1000", "-q", "-o", s(&dir.path().join("o"))], "weights");
}

#[test]
fn files_that_are_not_bounded_regular_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    refused(&["run", "--wgsl", "/dev/zero", "--state", "x", "--x", "x=-1:1:4", "--y", "none", "-q", "-o", s(&out)], "not a regular file");
    refused(&["measure", "/dev/zero"], "not a regular file");
    refused(&["run", "/dev/zero", "-q", "-o", s(&out)], "not a regular file");
    refused(&["run", s(dir.path()), "-q", "-o", s(&out)], "not a regular file");
    let fifo = dir.path().join("pipe");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    refused(&["run", "--wgsl", s(&fifo), "--state", "x", "--x", "x=-1:1:4", "--y", "none", "-q", "-o", s(&out)], "not a regular file");
    let big = dir.path().join("big.wgsl");
    std::fs::write(&big, vec![b' '; 2 << 20]).unwrap();
    refused(&["run", "--wgsl", s(&big), "--state", "x", "--x", "x=-1:1:4", "--y", "none", "-q", "-o", s(&out)], "more than the 1048576");
}

/// A .npy file of int32 labels whose header says `shape`, holding `values` values.
fn lying_npy(path: &Path, shape: &str, values: usize) {
    let mut header = format!("{{'descr': '<i4', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend(std::iter::repeat_n(0u8, 4 * values));
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn measure_refuses_a_header_that_lies_about_its_shape() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("labels.npy");
    lying_npy(&f, "(64, 64)", 16);
    refused(&["measure", s(&f)], "does not match the file's");
    lying_npy(&f, "(4611686018427387904, 4)", 16);
    refused(&["measure", s(&f)], "does not match the file's");
    lying_npy(&f, "(4, 4)", 20);
    refused(&["measure", s(&f)], "does not match the file's");
    // The truth is read.
    lying_npy(&f, "(4, 4)", 16);
    let o = basinmap(&["measure", s(&f), "--box", "2"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    lying_npy(&f, "(0, 4)", 0);
    let o = basinmap(&["measure", s(&f)]);
    assert_ne!(o.status.code(), Some(101), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn a_near_constant_huge_landscape_draws() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    let o = basinmap(&[
        "landscape", "--loss", "1e17 + 0*a*x", "--state", "x", "--param", "a=1", "--x", "x=-1:1:64", "--y", "a=0:1:64", "-q", "-o", s(&out),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.join("landscape.png").is_file());
}

#[test]
fn usage_errors_are_one_line() {
    for args in [&["run", "--no-such-flag"][..], &["no-such-command"], &["run", "--steps", "many"]] {
        let o = basinmap(args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("error: "), "{err}");
    }
    assert!(basinmap(&["--help"]).status.success());
}

#[test]
fn a_damaged_shard_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let part = dir.path().join("p1");
    let o = basinmap(&["run", "--x", "r=-0.25:0.5:16", "--y", "m=-1:1:8", "--engine", "cpu", "--shard", "1/1", "-q", "-o", s(&part)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let json = std::fs::read_to_string(part.join("shard.json")).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v["range"] = serde_json::json!([128, 0]);
    std::fs::write(part.join("shard.json"), v.to_string()).unwrap();
    refused(&["merge", s(&part), "-o", s(&dir.path().join("m"))], "backwards");
    // Flipped bytes in an array: its checksum refuses it.
    let o = basinmap(&["run", "--x", "r=-0.25:0.5:16", "--y", "m=-1:1:8", "--engine", "cpu", "--shard", "1/1", "-q", "-o", s(&part)]);
    assert!(o.status.success());
    let mut bytes = std::fs::read(part.join("observables.npy")).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x40;
    std::fs::write(part.join("observables.npy"), bytes).unwrap();
    refused(&["merge", s(&part), "-o", s(&dir.path().join("m"))], "does not match its checksum");
    // A value no engine writes, with a checksum that fits: refused by its range.
    let o = basinmap(&["run", "--x", "r=-0.25:0.5:16", "--y", "m=-1:1:8", "--engine", "cpu", "--shard", "1/1", "-q", "-o", s(&part)]);
    assert!(o.status.success());
    let mut bytes = std::fs::read(part.join("status.npy")).unwrap();
    let last = bytes.len() - 4;
    bytes[last..].copy_from_slice(&9u32.to_le_bytes());
    std::fs::write(part.join("status.npy"), &bytes).unwrap();
    let mut info: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(part.join("shard.json")).unwrap()).unwrap();
    info["crc32"]["status.npy"] = serde_json::json!(crc32fast::hash(&bytes));
    std::fs::write(part.join("shard.json"), info.to_string()).unwrap();
    refused(&["merge", s(&part), "-o", s(&dir.path().join("m"))], "no status");
}

#[test]
fn a_csv_with_a_byte_order_mark_keeps_its_first_row() {
    let dir = tempfile::tempdir().unwrap();
    let (x, y) = (dir.path().join("x.csv"), dir.path().join("y.csv"));
    std::fs::write(&x, "\u{feff}1,2\n3,4\n5,6\n").unwrap();
    std::fs::write(&y, "\u{feff}1\n0\n1\n").unwrap();
    let data = basinmap::system::network::data::DataSet::load(&x, &y).unwrap();
    assert_eq!((data.n, data.dim), (3, 2));
    assert_eq!(data.x[..2], [1.0, 2.0]);
}

#[test]
fn a_full_disk_is_a_machine_failure() {
    let full = basinmap::Error::Write { path: "out".into(), source: std::io::Error::from_raw_os_error(28) };
    assert_eq!(full.exit_code(), 1);
    let denied = basinmap::Error::Write { path: "out".into(), source: std::io::Error::from(std::io::ErrorKind::PermissionDenied) };
    assert_eq!(denied.exit_code(), 2);
}

#[test]
fn wgsl_errors_without_a_span_from_naga_are_located() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("w.wgsl");
    let deep = format!("v[0] = {}x[0]{};", "(".repeat(300), ")".repeat(300));
    for (body, says) in [
        ("discard;", "forbidden"),
        ("v[0] = x[0][0];", "cannot be indexed"),
        (deep.as_str(), "nested too deeply"),
        ("var big: array<f32, 1000000000>;\n    big[0] = 1.0;", "Size exceeds"),
    ] {
        std::fs::write(&file, format!("fn field(x: State, p: Params) -> State {{\n    var v: State;\n    {body}\n    return v;\n}}\n")).unwrap();
        let err = refused(&["run", "--wgsl", s(&file), "--state", "x", "--param", "t=0", "--x", "t=-1:1:4", "--y", "x=-1:1:4", "-q", "-o", s(&dir.path().join("o"))], "");
        assert!(err.contains("w.wgsl:3:5"), "{body}: not at line 3, column 5: {err}");
        assert!(err.contains(says), "{body}: does not say '{says}': {err}");
    }
}
