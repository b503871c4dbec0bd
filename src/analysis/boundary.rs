//! Measures of a basin boundary from any 2-D label map: the boundary fraction, the basin entropy
//! of Daza et al. (Sci. Rep. 6, 31416, 2016) and the box-counting dimension of the boundary.
//!
//! A pixel is on the boundary when its right or lower neighbour has another label: one pixel
//! per crossing, so a smooth curve is one pixel thick at every scale and counts as dimension 1.

use crate::{Error, Result};
use serde::Serialize;

/// Side in pixels of the boxes of the basin entropy (the paper's ε = 5 pixels).
pub const ENTROPY_BOX: usize = 5;

/// The box-counting fit: log N(ε) against log(1/ε) over box sides `fit_range` (pixels, powers
/// of two), with the counts at every side measured.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct DimensionFit {
    pub dimension: f64,
    /// Standard error of the fitted slope.
    pub stderr: f64,
    /// Smallest and largest box side (pixels) of the fit.
    pub fit_range: [usize; 2],
    /// (box side, boxes holding boundary) at every side from 1 pixel up.
    pub counts: Vec<(usize, u64)>,
}

/// The measures of labels given as numbers (a .npy file's values, C order) of `shape` (ny, nx),
/// or (ny, nx, samples): each point's majority label is measured. Refuses other shapes and
/// values that are not whole numbers >= 0.
pub fn measure_values(values: &[f64], shape: &[usize], entropy_box: usize, fit_range: Option<[usize; 2]>) -> Result<BoundaryMeasures> {
    let (nx, ny, samples) = match shape[..] {
        [ny, nx] => (nx, ny, 1),
        [ny, nx, k] => (nx, ny, k),
        _ => return Err(Error::input(format!("expected a 2-D map of labels (ny, nx) or (ny, nx, samples), got shape {shape:?}"))),
    };
    if shape.iter().try_fold(1usize, |n, &s| n.checked_mul(s)) != Some(values.len()) {
        return Err(Error::input(format!("{} labels do not fill the shape {shape:?}", values.len())));
    }
    if values.iter().any(|v| v.fract() != 0.0 || *v < 0.0 || *v > u32::MAX as f64) {
        return Err(Error::input("labels must be whole numbers >= 0"));
    }
    let labels: Vec<u32> = values.iter().map(|&v| v as u32).collect();
    let labels = majority_labels(&labels, samples);
    measure(&LabelMap { nx, ny, labels: &labels }, entropy_box, fit_range)
}

/// `basinmap measure`: the measures of a run's labels.npy (`labels` is its directory) or of a
/// labels .npy file, written as JSON to `output` (a file, or a directory to hold boundary.json;
/// default: boundary.json beside labels.npy, NAME_boundary.json beside another NAME.npy).
/// Returns the measures and the file written.
pub fn measure_file(labels: &std::path::Path, entropy_box: usize, fit_range: Option<[usize; 2]>, output: Option<&std::path::Path>) -> Result<(BoundaryMeasures, std::path::PathBuf)> {
    let path = if labels.is_dir() { labels.join("labels.npy") } else { labels.to_path_buf() };
    let (shape, values) = crate::io::npy::read_npy(&path)?;
    let m = measure_values(&values, &shape, entropy_box, fit_range).map_err(|e| Error::input(format!("{}: {e}", path.display())))?;
    let json = serde_json::to_string_pretty(&m).map_err(|e| Error::Io(std::io::Error::other(e)))?;
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let out = match output {
        Some(o) if o.is_dir() => o.join("boundary.json"),
        Some(o) => o.to_path_buf(),
        None => path.with_file_name(if stem == "labels" { "boundary.json".to_string() } else { format!("{stem}_boundary.json") }),
    };
    std::fs::write(&out, json).map_err(|e| Error::Write { path: out.clone(), source: e })?;
    Ok((m, out))
}

/// What `boundary.json` and run.json's `boundary` hold.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct BoundaryMeasures {
    /// Map size, x then y.
    pub grid: [usize; 2],
    /// Distinct labels on the map.
    pub labels: usize,
    /// Fraction of pixels with a 4-neighbour of another label.
    pub boundary_fraction: f64,
    /// S_b: the mean over boxes of `entropy_box`² pixels of −Σ p ln p (p: each label's share).
    pub basin_entropy: f64,
    /// S_bb: the same mean over boxes that hold more than one label (boundary boxes).
    pub boundary_basin_entropy: f64,
    pub entropy_box: usize,
    /// None when the map has no boundary or is too small for two box sides.
    pub dimension: Option<DimensionFit>,
}

/// A label map of `nx` × `ny` pixels, row-major (x fastest).
pub struct LabelMap<'a> {
    pub nx: usize,
    pub ny: usize,
    pub labels: &'a [u32],
}

impl LabelMap<'_> {
    fn at(&self, x: usize, y: usize) -> u32 {
        self.labels[y * self.nx + x]
    }

    /// Pixels whose right or lower neighbour differs.
    pub fn boundary_pixels(&self) -> Vec<bool> {
        let mut b = vec![false; self.nx * self.ny];
        for y in 0..self.ny {
            for x in 0..self.nx {
                let l = self.at(x, y);
                b[y * self.nx + x] = (x + 1 < self.nx && self.at(x + 1, y) != l) || (y + 1 < self.ny && self.at(x, y + 1) != l);
            }
        }
        b
    }

    /// Fraction of pixels with any 4-neighbour of another label.
    pub fn boundary_fraction(&self) -> f64 {
        let mut n = 0u64;
        for y in 0..self.ny {
            for x in 0..self.nx {
                let l = self.at(x, y);
                let differs = (x > 0 && self.at(x - 1, y) != l)
                    || (x + 1 < self.nx && self.at(x + 1, y) != l)
                    || (y > 0 && self.at(x, y - 1) != l)
                    || (y + 1 < self.ny && self.at(x, y + 1) != l);
                n += differs as u64;
            }
        }
        n as f64 / (self.nx * self.ny) as f64
    }

    /// (S_b, S_bb) over boxes of `side` pixels that cover every pixel: the boxes at the right
    /// and top edges are cut to the map, and each box weighs as many pixels as it holds (with
    /// whole boxes only, this is the plain mean over boxes of Daza et al.).
    pub fn basin_entropy(&self, side: usize) -> (f64, f64) {
        let (bx, by) = (self.nx.div_ceil(side), self.ny.div_ceil(side));
        let (mut total, mut boundary, mut boundary_pixels) = (0.0, 0.0, 0usize);
        let mut counts: Vec<(u32, usize)> = Vec::new();
        for j in 0..by {
            for i in 0..bx {
                counts.clear();
                let (ys, xs) = (j * side..((j + 1) * side).min(self.ny), i * side..((i + 1) * side).min(self.nx));
                let pixels = ys.len() * xs.len();
                for y in ys {
                    for x in xs.clone() {
                        let l = self.at(x, y);
                        match counts.iter_mut().find(|(k, _)| *k == l) {
                            Some((_, c)) => *c += 1,
                            None => counts.push((l, 1)),
                        }
                    }
                }
                let n = pixels as f64;
                let s: f64 = counts.iter().map(|&(_, c)| c as f64 / n).map(|p| -p * p.ln()).sum();
                total += s * n;
                if counts.len() > 1 {
                    boundary += s * n;
                    boundary_pixels += pixels;
                }
            }
        }
        let all = (self.nx * self.ny).max(1) as f64;
        (total / all, if boundary_pixels > 0 { boundary / boundary_pixels as f64 } else { 0.0 })
    }

    /// N(ε): boxes of side ε = 1, 2, 4, … (while at least 2 fit each way) that hold a boundary pixel.
    pub fn box_counts(&self) -> Vec<(usize, u64)> {
        let boundary = self.boundary_pixels();
        let mut out = Vec::new();
        let mut side = 1;
        while self.nx / side >= 2 && self.ny / side >= 2 {
            let (bx, by) = (self.nx.div_ceil(side), self.ny.div_ceil(side));
            let mut hit = vec![false; bx * by];
            for y in 0..self.ny {
                for x in 0..self.nx {
                    if boundary[y * self.nx + x] {
                        hit[(y / side) * bx + x / side] = true;
                    }
                }
            }
            out.push((side, hit.iter().filter(|&&h| h).count() as u64));
            side *= 2;
        }
        out
    }
}

/// The default fit range: from 2 pixels (the pixel scale itself is digitisation) to the side at
/// which 16 boxes still fit along the shorter axis (fewer boxes overcount by their edges), but
/// at least 8 pixels where 4 boxes fit, so that small maps get three sizes.
pub fn default_fit_range(nx: usize, ny: usize) -> [usize; 2] {
    let short = nx.min(ny);
    let top = (short / 16).max(8.min(short / 4)).max(4);
    [2, 1 << top.ilog2()]
}

/// Least-squares slope of log N against log(1/ε) over the counts whose side is in `range`.
pub fn fit_dimension(counts: &[(usize, u64)], range: [usize; 2]) -> Option<DimensionFit> {
    let pts: Vec<(f64, f64)> = counts
        .iter()
        .filter(|&&(s, n)| s >= range[0] && s <= range[1] && n > 0)
        .map(|&(s, n)| (-(s as f64).ln(), (n as f64).ln()))
        .collect();
    if pts.len() < 2 {
        return None;
    }
    let (slope, stderr) = linear_fit(&pts);
    Some(DimensionFit { dimension: slope, stderr, fit_range: range, counts: counts.to_vec() })
}

/// Ordinary least squares y = a + b x: (b, standard error of b; 0 for two points).
pub fn linear_fit(pts: &[(f64, f64)]) -> (f64, f64) {
    let n = pts.len() as f64;
    let mx = pts.iter().map(|p| p.0).sum::<f64>() / n;
    let my = pts.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let b = sxy / sxx;
    let a = my - b * mx;
    let rss: f64 = pts.iter().map(|p| (p.1 - a - b * p.0).powi(2)).sum();
    let se = if pts.len() > 2 { (rss / (n - 2.0) / sxx).sqrt() } else { 0.0 };
    (b, se)
}

/// Every measure of `map`; `fit_range` defaults to [`default_fit_range`].
pub fn measure(map: &LabelMap<'_>, entropy_box: usize, fit_range: Option<[usize; 2]>) -> Result<BoundaryMeasures> {
    if map.labels.len() != map.nx * map.ny || map.nx < 2 || map.ny < 2 {
        return Err(Error::input(format!("boundary measures need a 2-D map of at least 2 x 2 pixels, got {} x {}", map.nx, map.ny)));
    }
    if entropy_box == 0 || entropy_box > map.nx.min(map.ny) {
        return Err(Error::input(format!("--box {entropy_box}: must be between 1 and the map's shorter side ({})", map.nx.min(map.ny))));
    }
    let range = fit_range.unwrap_or_else(|| default_fit_range(map.nx, map.ny));
    if range[0] == 0 || range[0] >= range[1] {
        return Err(Error::input(format!("--fit-range {}:{}: expected two box sides in pixels, the first smaller", range[0], range[1])));
    }
    let mut distinct = map.labels.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    let (s_b, s_bb) = map.basin_entropy(entropy_box);
    Ok(BoundaryMeasures {
        grid: [map.nx, map.ny],
        labels: distinct.len(),
        boundary_fraction: map.boundary_fraction(),
        basin_entropy: s_b,
        boundary_basin_entropy: s_bb,
        entropy_box,
        dimension: fit_dimension(&map.box_counts(), range),
    })
}

/// One label per grid point from labels with `samples` per point: the most frequent one (the
/// smallest id on a tie).
pub fn majority_labels(labels: &[u32], samples: usize) -> Vec<u32> {
    if samples <= 1 {
        return labels.to_vec();
    }
    labels
        .chunks(samples)
        .map(|point| {
            let mut sorted = point.to_vec();
            sorted.sort_unstable();
            let mut best = (sorted[0], 0usize);
            for run in sorted.chunk_by(|a, b| a == b) {
                if run.len() > best.1 {
                    best = (run[0], run.len());
                }
            }
            best.0
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_straight_edge_has_one_boundary_pixel_per_row_and_dimension_one() {
        let (nx, ny) = (64, 64);
        let labels: Vec<u32> = (0..nx * ny).map(|i| ((i % nx) >= 20) as u32).collect();
        let map = LabelMap { nx, ny, labels: &labels };
        assert_eq!(map.boundary_pixels().iter().filter(|&&b| b).count(), ny);
        assert_eq!(map.boundary_fraction(), 2.0 * ny as f64 / (nx * ny) as f64);
        let m = measure(&map, 4, Some([1, 16])).unwrap();
        let d = m.dimension.unwrap();
        assert!((d.dimension - 1.0).abs() < 1e-12, "{d:?}");
        // Boxes of 4 straddling x = 19|20: one column of 16 boxes, each half and half.
        assert_eq!(m.basin_entropy, 0.0, "the edge falls between boxes 4 and 5");
    }

    #[test]
    fn the_entropy_counts_the_pixels_beyond_the_last_whole_box() {
        // A 32² map whose only boundary lies in rows 30–31, past the last whole box of 5.
        let (nx, ny) = (32, 32);
        let labels: Vec<u32> = (0..nx * ny).map(|i| (i / nx == 31 && i % nx >= 16) as u32).collect();
        let map = LabelMap { nx, ny, labels: &labels };
        let (s_b, s_bb) = map.basin_entropy(5);
        assert!(s_b > 0.0 && s_bb > 0.0);
        // Exactly: the boxes of rows 30–31 (2 × 5 pixels) that hold both labels.
        // Columns 15–19: 4 of 10 pixels are label 1; 20–24 and 25–29: 5 of 10; 30–31: 2 of 4.
        let h = |p: f64| -p * p.ln() - (1.0 - p) * (1.0 - p).ln();
        let weighted = 10.0 * h(0.4) + 20.0 * h(0.5) + 4.0 * h(0.5);
        assert!((s_b - weighted / 1024.0).abs() < 1e-12, "{s_b}");
        assert!((s_bb - weighted / 34.0).abs() < 1e-12, "{s_bb}");
    }

    #[test]
    fn entropy_of_an_even_split_box_is_ln_2() {
        let labels = [0, 1, 0, 1];
        let map = LabelMap { nx: 2, ny: 2, labels: &labels };
        let (s_b, s_bb) = map.basin_entropy(2);
        assert!((s_b - 2f64.ln()).abs() < 1e-15 && s_bb == s_b);
    }

    #[test]
    fn majority_picks_the_most_frequent_label() {
        assert_eq!(majority_labels(&[2, 1, 2, 0, 0, 1], 3), vec![2, 0]);
        assert_eq!(majority_labels(&[3, 1], 2), vec![1]);
    }

    #[test]
    fn bad_maps_and_ranges_are_refused() {
        let labels = [0u32; 8];
        assert!(measure(&LabelMap { nx: 8, ny: 1, labels: &labels }, 1, None).is_err());
        assert!(measure(&LabelMap { nx: 4, ny: 2, labels: &labels }, 3, None).is_err());
        assert!(measure(&LabelMap { nx: 4, ny: 2, labels: &labels }, 1, Some([4, 2])).is_err());
    }
}
