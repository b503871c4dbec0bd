//! trainability.png: the trainability map of a system that keeps a loss record (`mlp`), one
//! pixel per grid point, x to the right and y upward. Runs that trained are blue, runs that did
//! not are red. Within each class the shade follows Sohl-Dickstein's measure: Σ loss/loss0 for
//! runs that trained (dark: the loss fell fast), Σ loss0/loss for runs that did not (dark: small,
//! the loss blew up fast). Shades are ranks within each class, as his pictures do, so that the
//! structure near the boundary shows whatever the measure's range. Runs that did not train but
//! stayed bounded, continued by the host (`--continue-untrained`, [`crate::classify::replay`]),
//! are gold where they oscillate on a cycle and purple where they are chaotic.

use crate::engine::Status;
use image::RgbImage;

/// The colours of runs that trained: (lightest, the legend's swatch, darkest).
pub const TRAINED: ([u8; 3], [u8; 3], [u8; 3]) = ([0xC6, 0xDB, 0xEF], [0x21, 0x71, 0xB5], [0x08, 0x30, 0x6B]);
/// The colours of runs that did not train: (lightest, the legend's swatch, darkest).
pub const FAILED: ([u8; 3], [u8; 3], [u8; 3]) = ([0xFC, 0xBB, 0xA1], [0xCB, 0x18, 0x1D], [0x67, 0x00, 0x0D]);
/// Runs that did not train and oscillate on a cycle.
pub const OSCILLATING: [u8; 3] = [0xF2, 0xB7, 0x01];
/// Runs that did not train and are chaotic.
pub const CHAOTIC: [u8; 3] = [0x6A, 0x1B, 0x9A];
const TRAINED_LIGHT: [f32; 3] = [TRAINED.0[0] as f32, TRAINED.0[1] as f32, TRAINED.0[2] as f32];
const TRAINED_DARK: [f32; 3] = [TRAINED.2[0] as f32, TRAINED.2[1] as f32, TRAINED.2[2] as f32];
const FAILED_LIGHT: [f32; 3] = [FAILED.0[0] as f32, FAILED.0[1] as f32, FAILED.0[2] as f32];
const FAILED_DARK: [f32; 3] = [FAILED.2[0] as f32, FAILED.2[1] as f32, FAILED.2[2] as f32];

/// Paints the map of an nx × ny grid with `samples` runs per point; `converged` (1 or 0),
/// `loss_sum` (Σ r_t), `loss_inv_sum` (Σ 1/r_t) and `status` (the runs' [`Status`] codes) are in
/// grid order (x fastest, y ascending, samples innermost).
pub fn trainability_image(nx: usize, ny: usize, samples: usize, converged: &[f32], loss_sum: &[f32], loss_inv_sum: &[f32], status: &[u32]) -> RgbImage {
    let trained: Vec<bool> = converged.iter().map(|&c| c > 0.5).collect();
    // Rank of each run's measure within its class, in [0, 1]: Σ r_t for the trained, Σ 1/r_t
    // for the others.
    let measure = |i: usize| if trained[i] { loss_sum[i] } else { loss_inv_sum[i] };
    let mut shade = vec![0.0f32; loss_sum.len()];
    for class in [true, false] {
        let mut members: Vec<usize> = (0..loss_sum.len()).filter(|&i| trained[i] == class).collect();
        members.sort_by(|&a, &b| measure(a).total_cmp(&measure(b)));
        let span = members.len().saturating_sub(1).max(1) as f32;
        for (rank, &i) in members.iter().enumerate() {
            shade[i] = rank as f32 / span;
        }
    }
    super::sample_mean_image(nx, ny, samples, |i| run_colour(trained[i], shade[i], status.get(i).map(|&s| Status::from_code(s))))
}

/// The colour of one run: trained or not, its measure's rank within its class in [0, 1] (0:
/// the smallest measure, the darkest), and its status (cycles and chaos of runs that did not
/// train have flat colours). `basinmap serve` paints its trainability tiles with it.
pub fn run_colour(trained: bool, rank: f32, status: Option<Status>) -> [f32; 3] {
    let flat = |c: [u8; 3]| c.map(|v| v as f32);
    match status {
        Some(Status::Cycle) if !trained => flat(OSCILLATING),
        Some(Status::Chaotic) if !trained => flat(CHAOTIC),
        _ => {
            // Small measures dark: the loss fell fast, or blew up fast.
            let (light, dark) = if trained { (TRAINED_LIGHT, TRAINED_DARK) } else { (FAILED_LIGHT, FAILED_DARK) };
            let t = 1.0 - rank;
            std::array::from_fn(|k| light[k] + (dark[k] - light[k]) * t)
        }
    }
}

/// The legend of a trainability image: (swatch, text) for trained and did not train, and for
/// the oscillating and chaotic runs where `status` (the runs' [`Status`] codes) has any.
pub fn legend(status: &[u32]) -> Vec<([u8; 3], String)> {
    let mut legend = vec![(TRAINED.1, "trained".to_string()), (FAILED.1, "did not train".to_string())];
    let found = |s: Status| status.iter().any(|&c| c == s as u32);
    if found(Status::Cycle) {
        legend.push((OSCILLATING, "did not train: oscillating (a cycle)".to_string()));
    }
    if found(Status::Chaotic) {
        legend.push((CHAOTIC, "did not train: chaotic".to_string()));
    }
    legend
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trained_is_blue_failed_is_red_and_fast_is_dark() {
        // A 2 × 2 map, bottom row first: two trained runs (sums 10 and 50), two failed ones
        // (Σ 1/r_t 3 and 0.5: the second blew up sooner).
        let converged = [1.0, 1.0, 0.0, 0.0];
        let sums = [10.0, 50.0, 1e3, 1e8];
        let inverse = [90.0, 60.0, 3.0, 0.5];
        let img = trainability_image(2, 2, 1, &converged, &sums, &inverse, &[0; 4]);
        let (fast, slow) = (img.get_pixel(0, 1).0, img.get_pixel(1, 1).0);
        assert!(fast[2] > fast[0] && slow[2] > slow[0], "trained runs are blue");
        assert_eq!(fast, TRAINED_DARK.map(|v| v as u8));
        assert_eq!(slow, TRAINED_LIGHT.map(|v| v as u8));
        let (slow_blowup, fast_blowup) = (img.get_pixel(0, 0).0, img.get_pixel(1, 0).0);
        assert!(fast_blowup[0] > fast_blowup[2], "failed runs are red");
        assert_eq!(fast_blowup, FAILED_DARK.map(|v| v as u8));
        assert_eq!(slow_blowup, FAILED_LIGHT.map(|v| v as u8));
    }

    #[test]
    fn samples_mix() {
        let img = trainability_image(1, 1, 2, &[1.0, 0.0], &[1.0, 1.0], &[1.0, 1.0], &[0; 2]);
        let want: Vec<u8> = (0..3).map(|k| ((TRAINED_DARK[k] + FAILED_DARK[k]) / 2.0).round() as u8).collect();
        assert_eq!(img.get_pixel(0, 0).0.to_vec(), want);
    }

    #[test]
    fn runs_that_did_not_train_show_their_cycles_and_chaos() {
        // A trained run on a cycle stays blue; untrained ones on a cycle or chaotic are gold and
        // purple; a diverged one stays red.
        let status = [Status::Cycle as u32, Status::Cycle as u32, Status::Chaotic as u32, Status::DivergedPos as u32];
        let img = trainability_image(4, 1, 1, &[1.0, 0.0, 0.0, 0.0], &[1.0; 4], &[1.0; 4], &status);
        let px = |x: u32| img.get_pixel(x, 0).0;
        assert!(px(0)[2] > px(0)[0], "a trained run is blue");
        assert_eq!(px(1), OSCILLATING);
        assert_eq!(px(2), CHAOTIC);
        assert!(px(3)[0] > px(3)[2], "a diverged run is red");
    }
}
