// What both sharpness files share (shaders/sharpness.wgsl, shaders/sharpness-coop.wgsl): the
// Lanczos iteration's start and the top eigenvalue of its tridiagonal matrix. Rust twins in
// `engine::sharpness`.

// Component j of the iteration's start (Rust `sharpness::start_component`, the same bits).
fn sharp_start(j: u32) -> real {
    var h = (j * 0x9E3779B9u) ^ 0x85EBCA6Bu;
    h ^= h >> 16u;
    h *= 0x7FEB352Du;
    h ^= h >> 15u;
    h *= 0x846CA68Bu;
    h ^= h >> 16u;
    return real(f32(h >> 8u) * (1.0 / 8388608.0) - 1.0);
}

// The Lanczos matrix: its diagonal and off-diagonal.
var<private> SHARP_ALPHA: array<real, SHARP_ITERATIONS>;
var<private> SHARP_BETA: array<real, SHARP_ITERATIONS>;

// The largest eigenvalue of the m x m Lanczos matrix: bisection on Sturm counts within the
// Gershgorin interval (Rust `sharpness::tridiagonal_top`).
fn sharp_tridiagonal_top(m: u32) -> real {
    var lo = SHARP_ALPHA[0];
    var hi = lo;
    for (var i = 0u; i < m; i++) {
        var radius: real = 0.0;
        if (i + 1u < m) {
            radius += abs(SHARP_BETA[i]);
        }
        if (i > 0u) {
            radius += abs(SHARP_BETA[i - 1u]);
        }
        lo = min(lo, SHARP_ALPHA[i] - radius);
        hi = max(hi, SHARP_ALPHA[i] + radius);
    }
    for (var it = 0u; it < SHARP_BISECTIONS; it++) {
        let mid = 0.5 * (lo + hi);
        var below = 0u;
        var q = SHARP_ALPHA[0] - mid;
        for (var i = 0u; i < m; i++) {
            if (i > 0u) {
                q = SHARP_ALPHA[i] - mid - SHARP_BETA[i - 1u] * SHARP_BETA[i - 1u] / q;
            }
            if (q == 0.0) {
                q = REAL_MIN_POSITIVE;
            }
            if (q < 0.0) {
                below += 1u;
            }
        }
        if (below == m) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    return 0.5 * (lo + hi);
}
