//! The data set an `mlp` trains on: read from .npy or .csv files, or drawn from a seeded
//! Gaussian — inputs x ~ N(0, I_d), targets y = teacher·x + noise·N(0, 1) with a linear teacher,
//! or y ~ N(0, 1) without one. The draw uses the counter-based generator of [`crate::rng`], so a
//! data seed gives the same data on every machine.

use crate::io::npy::read_npy;
use crate::rng;
use crate::scenario::NetworkOptions;
use crate::{Error, Result};
use std::path::Path;

/// Samples in f64, as given or drawn: `x` row-major n×dim, `y` of length n. An f64 run trains on
/// these numbers; an f32 run (and the GPU) on each rounded to f32.
#[derive(Clone, Debug, PartialEq)]
pub struct DataSet {
    pub n: usize,
    pub dim: usize,
    pub x: Vec<f64>,
    pub y: Vec<f64>,
}

/// Keeps the data's random stream apart from the initial weights' (same seed, other key).
const DATA_KEY: u32 = 0xDA7A_5EED;

/// Most samples a data set may hold (each step runs over all of them).
pub const MAX_SAMPLES: usize = 1 << 20;

/// Most numbers (samples × input dimension) a data set may hold: 128 MiB of f64, and a full-batch
/// step of a network that reads them all stays within seconds.
pub const MAX_DATA_VALUES: usize = 1 << 24;

/// Refuses a data set of `n` samples of `dim` inputs that is too large, before it is drawn.
fn check_data_size(n: usize, dim: usize) -> Result<()> {
    if n > MAX_SAMPLES {
        return Err(Error::input(format!("[network]: {n} samples; at most {MAX_SAMPLES}")));
    }
    match n.checked_mul(dim) {
        Some(v) if v <= MAX_DATA_VALUES => Ok(()),
        _ => Err(Error::input(format!(
            "[network]: a data set of n = {n} samples of dim = {dim} inputs is more than 2^24 numbers; set a smaller n or dim in [network] (n defaults to the network's weight count)"
        ))),
    }
}

impl DataSet {
    /// The data set `options` describe. `dim_hint` is the input dimension of generated data when
    /// the options give none; `n_weights(dim)` the network's weight count, the default n.
    pub fn resolve(options: &NetworkOptions, dim_hint: usize, n_weights: impl Fn(usize) -> usize) -> Result<DataSet> {
        let data = match (&options.x, &options.y) {
            (Some(x), Some(y)) => {
                if options.n.is_some() || options.dim.is_some() || options.teacher.is_some() || options.noise != 0.0 {
                    return Err(Error::input("[network]: n, dim, teacher and noise describe generated data; with x and y files the files say it all"));
                }
                Self::load(x, y)?
            }
            (None, None) => {
                let dim = options.teacher.as_ref().map_or(dim_hint, |t| t.len());
                if let Some(d) = options.dim {
                    if d != dim {
                        return Err(Error::input(format!("[network]: dim = {d} but the teacher has {dim} entries")));
                    }
                }
                Self::generate(options.n.unwrap_or_else(|| n_weights(dim)), dim, options.teacher.as_deref(), options.noise, options.data_seed)?
            }
            _ => return Err(Error::input("[network]: give both x and y files, or neither (to draw a Gaussian data set)")),
        };
        if data.n == 0 || data.dim == 0 {
            return Err(Error::input("[network]: the data set is empty"));
        }
        check_data_size(data.n, data.dim)?;
        if let Some(bad) = data.x.iter().chain(&data.y).find(|&&v| !(v as f32).is_finite()) {
            return Err(Error::input(format!("[network]: the data hold a non-finite value ({bad}) or one too large for f32")));
        }
        Ok(data)
    }

    /// A Gaussian data set (see the module header).
    pub fn generate(n: usize, dim: usize, teacher: Option<&[f64]>, noise: f64, seed: u64) -> Result<DataSet> {
        if n == 0 || dim == 0 {
            return Err(Error::input("[network]: n and dim must be at least 1"));
        }
        if dim > super::MAX_WEIGHTS {
            return Err(Error::input(format!("[network]: dim = {dim} is too large")));
        }
        check_data_size(n, dim)?;
        if !(noise.is_finite() && noise >= 0.0) {
            return Err(Error::input(format!("[network]: noise must be >= 0, got {noise}")));
        }
        let key = rng::key(seed);
        let key = [key[0] ^ DATA_KEY, key[1]];
        let mut x = Vec::with_capacity(n * dim);
        let mut y = Vec::with_capacity(n);
        for s in 0..n {
            // Stream (s, 0): the inputs at counters 0..dim, then the target's draw.
            let row: Vec<f64> = (0..dim).map(|k| rng::normal_f64(key, s as u32, 0, k as u32)).collect();
            let z = rng::normal_f64(key, s as u32, 0, dim as u32);
            let target = match teacher {
                Some(t) => t.iter().zip(&row).map(|(a, b)| a * b).sum::<f64>() + noise * z,
                None => z,
            };
            x.extend_from_slice(&row);
            y.push(target);
        }
        Ok(DataSet { n, dim, x, y })
    }

    /// Reads x (n×d; a vector is n×1) and y (n, or n×1) from .npy or .csv files.
    pub fn load(x_path: &Path, y_path: &Path) -> Result<DataSet> {
        let (xs, x) = read_matrix(x_path)?;
        let (ys, y) = read_matrix(y_path)?;
        let (n, dim) = match xs[..] {
            [n] => (n, 1),
            [n, d] => (n, d),
            _ => return Err(Error::input(format!("{}: x must be a matrix (n, d), got shape {xs:?}", x_path.display()))),
        };
        let ny = match ys[..] {
            [m] | [m, 1] => m,
            _ => return Err(Error::input(format!("{}: y must be a vector (n,) or (n, 1), got shape {ys:?}", y_path.display()))),
        };
        if ny != n {
            return Err(Error::input(format!("x has {n} samples but y has {ny}")));
        }
        Ok(DataSet { n, dim, x, y })
    }

    /// The GPU's data buffer: x then y, each rounded to f32.
    pub fn buffer(&self) -> Vec<f32> {
        self.x.iter().chain(&self.y).map(|&v| v as f32).collect()
    }
}

/// A .npy array, or a .csv of numbers (one row per line, separated by commas or spaces; a first
/// line that is not numbers is a header). Returns (shape, values).
pub(super) fn read_matrix(path: &Path) -> Result<(Vec<usize>, Vec<f64>)> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("npy") => read_npy(path),
        Some("csv") | Some("txt") => {
            let text = crate::io::read::read_text(path, "data", crate::io::read::max_data_bytes())?;
            let mut rows: Vec<Vec<f64>> = Vec::new();
            for (k, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let cells: std::result::Result<Vec<f64>, _> = line.split([',', ' ', '\t', ';']).filter(|c| !c.is_empty()).map(|c| c.trim().parse::<f64>()).collect();
                match cells {
                    Ok(c) => rows.push(c),
                    Err(_) if rows.is_empty() && k == 0 => continue, // a header
                    Err(e) => return Err(Error::input(format!("{}:{}: {e}", path.display(), k + 1))),
                }
            }
            let cols = rows.first().map_or(0, |r| r.len());
            if let Some(k) = rows.iter().position(|r| r.len() != cols) {
                return Err(Error::input(format!("{}: row {} has {} values, the first has {cols}", path.display(), k + 1, rows[k].len())));
            }
            let shape = if cols == 1 { vec![rows.len()] } else { vec![rows.len(), cols] };
            Ok((shape, rows.concat()))
        }
        _ => Err(Error::input(format!("{}: data files must be .npy or .csv", path.display()))),
    }
}
