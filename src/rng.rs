//! Counter-based random numbers: Threefry-2x32 with 20 rounds (Salmon et al., "Parallel random
//! numbers: as easy as 1, 2, 3", SC'11; the generator JAX uses), and Gaussians by Box–Muller.
//!
//! A counter-based generator maps (key, counter) to random bits with no state, so a value
//! depends only on what it is for — (seed, grid point, sample, weight) — never on which thread,
//! tile or engine asks. shaders/rng.wgsl is the WGSL twin, operation for operation.

/// Rotation distances of Threefry-2x32.
const ROTATIONS: [u32; 8] = [13, 15, 26, 6, 17, 29, 16, 24];
/// Threefish's key-schedule parity constant.
const PARITY: u32 = 0x1BD1_1BDA;

/// Threefry-2x32-20 of `counter` under `key`.
pub fn threefry2x32(key: [u32; 2], counter: [u32; 2]) -> [u32; 2] {
    let ks = [key[0], key[1], PARITY ^ key[0] ^ key[1]];
    let mut x0 = counter[0].wrapping_add(ks[0]);
    let mut x1 = counter[1].wrapping_add(ks[1]);
    for round in 0..20 {
        x0 = x0.wrapping_add(x1);
        x1 = x1.rotate_left(ROTATIONS[round % 8]);
        x1 ^= x0;
        if round % 4 == 3 {
            let s = round / 4 + 1;
            x0 = x0.wrapping_add(ks[s % 3]);
            x1 = x1.wrapping_add(ks[(s + 1) % 3]).wrapping_add(s as u32);
        }
    }
    [x0, x1]
}

/// The key of a 64-bit seed.
pub fn key(seed: u64) -> [u32; 2] {
    [seed as u32, (seed >> 32) as u32]
}

/// Two standard normal f32 values from two random words (Box–Muller): the first word gives the
/// radius from a uniform in (0, 1] (never 0, so the log is finite), the second the angle.
pub fn normal_pair_f32(bits: [u32; 2]) -> [f32; 2] {
    let u1 = ((bits[0] >> 8) + 1) as f32 * (1.0 / 16_777_216.0);
    let u2 = (bits[1] >> 8) as f32 * (1.0 / 16_777_216.0);
    let r = (-2.0 * u1.ln()).sqrt();
    let theta = std::f32::consts::TAU * u2;
    [r * theta.cos(), r * theta.sin()]
}

/// The same in f64 (for data sets generated on the host), from the same words.
pub fn normal_pair_f64(bits: [u32; 2]) -> [f64; 2] {
    let u1 = ((bits[0] >> 8) + 1) as f64 / 16_777_216.0;
    let u2 = (bits[1] >> 8) as f64 / 16_777_216.0;
    let r = (-2.0 * u1.ln()).sqrt();
    let theta = std::f64::consts::TAU * u2;
    [r * theta.cos(), r * theta.sin()]
}

/// Standard normal number `j` of stream `(a, b)` under `key`: pairs come from counter
/// `(a, b + j/2)`. The caller keeps the streams' ranges of `b` apart.
pub fn normal_f32(key: [u32; 2], a: u32, b: u32, j: u32) -> f32 {
    normal_pair_f32(threefry2x32(key, [a, b.wrapping_add(j / 2)]))[(j % 2) as usize]
}

/// [`normal_f32`] in f64.
pub fn normal_f64(key: [u32; 2], a: u32, b: u32, j: u32) -> f64 {
    normal_pair_f64(threefry2x32(key, [a, b.wrapping_add(j / 2)]))[(j % 2) as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Known-answer vectors of Random123 (kat_vectors: counter, key → output).
    #[test]
    fn known_answers() {
        assert_eq!(threefry2x32([0, 0], [0, 0]), [0x6b20_0159, 0x99ba_4efe]);
        assert_eq!(threefry2x32([u32::MAX, u32::MAX], [u32::MAX, u32::MAX]), [0x1cb9_96fc, 0xbb00_2be7]);
        assert_eq!(threefry2x32([0x1319_8a2e, 0x0370_7344], [0x243f_6a88, 0x85a3_08d3]), [0xc492_3a9c, 0x483d_f7a0]);
    }

    #[test]
    fn normals_have_unit_variance() {
        let k = key(7);
        let n = 200_000u32;
        let (mut s, mut s2) = (0.0f64, 0.0f64);
        for j in 0..n {
            let z = normal_f32(k, 3, 0, j) as f64;
            s += z;
            s2 += z * z;
        }
        let mean = s / n as f64;
        let var = s2 / n as f64 - mean * mean;
        // Standard errors: 1/sqrt(n) ≈ 0.0022 for the mean, sqrt(2/n) ≈ 0.0032 for the variance.
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((var - 1.0).abs() < 0.015, "variance {var}");
    }
}
