//! Sampled starts, as basin-stability studies draw them: N points drawn uniformly in the axes'
//! box, or the rows of a .csv or .npy file. This module makes the named columns of values; the
//! plan resolves each name to the input it sets (as it does an axis's) and steps them together,
//! so that trajectory g starts from row g.

use crate::scenario::Axis;
use crate::{Error, Result};
use std::path::Path;

/// Most starts one run takes: trajectory indices are u32 on every engine.
pub const MAX_STARTS: u64 = u32::MAX as u64;

/// Mixed into the seed's key so that uniform starts never share bits with a random
/// initialisation's draws (which use the key as it is).
const STARTS_SALT: u32 = 0x5354_4152; // "STAR"

/// The error of a command that maps a grid given sampled starts.
pub fn grid_only(command: &str) -> Error {
    Error::input(format!("sampled starts (--uniform, --starts, [starts]) apply to `basinmap run` only, not to `{command}`"))
}

/// One column of sampled starts: what it sets (a state variable, a parameter, `a[1]`, a setting
/// such as `lr`) and its value in each row.
#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    pub name: String,
    pub values: Vec<f64>,
    /// Drawn log-uniformly (from a log axis).
    pub log: bool,
}

/// `n` starts drawn uniformly in the box of `axes` (log-uniformly along a log axis) under
/// `seed`. Row g, column c is the Threefry counter (g, c): the same starts on any machine, tile
/// or engine.
pub fn uniform(axes: &[&Axis], n: u64, seed: u64) -> Result<Vec<Column>> {
    if n == 0 || n > MAX_STARTS {
        return Err(Error::input(format!("--uniform {n}: expected 1 to {MAX_STARTS} starts")));
    }
    let key = crate::rng::key(seed);
    let key = [key[0], key[1] ^ STARTS_SALT];
    Ok(axes
        .iter()
        .enumerate()
        .map(|(c, axis)| {
            let (lo, hi) = if axis.log { (axis.start.ln(), axis.stop.ln()) } else { (axis.start, axis.stop) };
            let values = (0..n as u32)
                .map(|g| {
                    let v = lo + unit(crate::rng::threefry2x32(key, [g, c as u32])) * (hi - lo);
                    if axis.log {
                        v.exp()
                    } else {
                        v
                    }
                })
                .collect();
            Column { name: axis.name.clone(), values, log: axis.log }
        })
        .collect())
}

/// A uniform number in [0, 1) from 53 of two words' bits.
fn unit(bits: [u32; 2]) -> f64 {
    (((bits[0] as u64) << 21) | (bits[1] >> 11) as u64) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// The starts in a file: a .npy array (N rows of `state` in order; 1-D for one state
/// variable) or a .csv file whose header names its columns.
pub fn read(path: &Path, state: &[&str]) -> Result<Vec<Column>> {
    let bad = |message: String| Error::input(format!("--starts {}: {message}", path.display()));
    let bytes = crate::io::read::read_bytes(path, "starts", crate::io::read::max_data_bytes())?;
    let is_npy = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("npy"));
    if is_npy {
        let (shape, values) = crate::io::npy::parse_npy(&bytes).map_err(bad)?;
        columns_of_array(&shape, &values, state).map_err(bad)
    } else {
        parse_csv(&bytes).map_err(bad)
    }
}

/// The columns of a .npy array of starts: N × n_state (or N for one state variable).
pub fn columns_of_array(shape: &[usize], values: &[f64], state: &[&str]) -> std::result::Result<Vec<Column>, String> {
    let (n, width) = match *shape {
        [n] if state.len() == 1 => (n, 1),
        [n, w] if w == state.len() => (n, w),
        _ => {
            return Err(format!(
                "an array of shape {shape:?}: expected N rows of the {} state variables ({}), shape (N, {}); a .csv file can name other columns",
                state.len(),
                state.join(", "),
                state.len()
            ))
        }
    };
    check_rows(n)?;
    if n.checked_mul(width) != Some(values.len()) {
        return Err(format!("shape {shape:?} does not match its {} values", values.len()));
    }
    if let Some(k) = values.iter().position(|v| !v.is_finite()) {
        return Err(format!("row {}, column {} is {}: starts must be finite", k / width, state[k % width], values[k]));
    }
    Ok(state.iter().enumerate().map(|(c, name)| Column { name: name.to_string(), values: (0..n).map(|g| values[g * width + c]).collect(), log: false }).collect())
}

/// The columns of a .csv file of starts: a header of names, then one row of numbers per start;
/// blank lines and lines starting with `#` are skipped, spaces around fields are trimmed.
pub fn parse_csv(bytes: &[u8]) -> std::result::Result<Vec<Column>, String> {
    let mut reader = csv::ReaderBuilder::new().comment(Some(b'#')).trim(csv::Trim::All).flexible(true).from_reader(bytes);
    let header: Vec<String> = reader.headers().map_err(|e| one_line(&e))?.iter().map(String::from).collect();
    if header.is_empty() || header.iter().any(|h| h.is_empty()) {
        return Err("the first line must name every column (e.g. phi,omega)".into());
    }
    if let Some(h) = header.iter().find(|h| h.parse::<f64>().is_ok()) {
        return Err(format!("the first line names the columns, but '{h}' is a number (e.g. phi,omega)"));
    }
    for (k, h) in header.iter().enumerate() {
        if header[..k].contains(h) {
            return Err(format!("column '{h}' is named twice"));
        }
    }
    let mut columns: Vec<Column> = header.iter().map(|h| Column { name: h.clone(), values: Vec::new(), log: false }).collect();
    for record in reader.records() {
        let record = record.map_err(|e| one_line(&e))?;
        let line = record.position().map_or(0, |p| p.line());
        if record.len() != columns.len() {
            return Err(format!("line {line} has {} fields, the header {}", record.len(), columns.len()));
        }
        for (column, field) in columns.iter_mut().zip(record.iter()) {
            let v: f64 = field.parse().map_err(|_| format!("line {line}: '{field}' in column {} is not a number", column.name))?;
            if !v.is_finite() {
                return Err(format!("line {line}: column {} is {v}; starts must be finite", column.name));
            }
            column.values.push(v);
        }
        check_rows(columns[0].values.len())?;
    }
    check_rows(columns[0].values.len())?;
    Ok(columns)
}

fn check_rows(n: usize) -> std::result::Result<(), String> {
    match n as u64 {
        0 => Err("no starts: the file has no rows".into()),
        n if n > MAX_STARTS => Err(format!("more than {MAX_STARTS} starts")),
        _ => Ok(()),
    }
}

fn one_line(e: &dyn std::fmt::Display) -> String {
    e.to_string().split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_starts_fill_the_box_evenly_and_repeat_under_a_seed() {
        let x: Axis = "phi=-1:3:1".parse().unwrap();
        let y: Axis = "lr=0.01:1:1:log".parse().unwrap();
        let a = uniform(&[&x, &y], 20_000, 7).unwrap();
        assert_eq!(a, uniform(&[&x, &y], 20_000, 7).unwrap());
        assert_ne!(a, uniform(&[&x, &y], 20_000, 8).unwrap());
        let (p, l) = (&a[0].values, &a[1].values);
        assert!(p.iter().all(|v| (-1.0..3.0).contains(v)) && l.iter().all(|v| (0.01..1.0).contains(v)));
        // Mean of a uniform on [-1, 3] is 1 (sd 4/√12 ≈ 1.155, so the mean's ≈ 0.0082); the
        // log-uniform's log10 has mean -1; the columns are uncorrelated.
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        assert!((mean(p) - 1.0).abs() < 4.0 * 0.0082, "{}", mean(p));
        let logs: Vec<f64> = l.iter().map(|v| v.log10()).collect();
        assert!((mean(&logs) + 1.0).abs() < 4.0 * (2.0 / 12f64.sqrt()) / 20_000f64.sqrt());
        let cov = p.iter().zip(&logs).map(|(a, b)| (a - 1.0) * (b + 1.0)).sum::<f64>() / 20_000.0;
        assert!(cov.abs() < 4.0 * 1.155 * 0.577 / 20_000f64.sqrt(), "{cov}");
        assert!(uniform(&[&x], 0, 0).is_err());
    }

    #[test]
    fn csv_starts_and_their_errors() {
        let c = parse_csv(b"# pendulum\nphi, omega\n0.5, -1\n\n1e-3,2\n").unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!((c[0].name.as_str(), c[0].values.clone()), ("phi", vec![0.5, 1e-3]));
        assert_eq!(c[1].values, vec![-1.0, 2.0]);
        for (text, says) in [
            (&b""[..], "name every column"),
            (b"phi,omega\n", "no starts"),
            (b"1,2\n3,4\n", "is a number"),
            (b"phi,phi\n1,2\n", "named twice"),
            (b"phi,omega\n1\n", "line 2 has 1 fields"),
            (b"phi,omega\n1,x\n", "'x' in column omega"),
            (b"phi,omega\n1,nan\n", "finite"),
            (b"phi,\n1,2\n", "name every column"),
            (b"\xff\xfe,a\n1,2\n", ""),
        ] {
            let e = parse_csv(text).expect_err(&String::from_utf8_lossy(text));
            assert!(e.contains(says), "{e}");
        }
    }

    #[test]
    fn array_starts_and_their_errors() {
        let c = columns_of_array(&[2, 2], &[1.0, 2.0, 3.0, 4.0], &["x", "y"]).unwrap();
        assert_eq!((c[0].values.clone(), c[1].values.clone()), (vec![1.0, 3.0], vec![2.0, 4.0]));
        assert_eq!(columns_of_array(&[3], &[1.0, 2.0, 3.0], &["x"]).unwrap()[0].values, vec![1.0, 2.0, 3.0]);
        assert!(columns_of_array(&[2, 3], &[0.0; 6], &["x", "y"]).unwrap_err().contains("shape (N, 2)"));
        assert!(columns_of_array(&[0, 2], &[], &["x", "y"]).unwrap_err().contains("no starts"));
        assert!(columns_of_array(&[1, 2], &[0.0, f64::INFINITY], &["x", "y"]).unwrap_err().contains("column y"));
    }
}
