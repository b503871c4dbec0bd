// basinmap — counter-based random numbers: Threefry-2x32-20 and Box-Muller Gaussians.
// Rust twin: src/rng.rs (same operations; its tests hold the known-answer vectors).

fn rotl(x: u32, r: u32) -> u32 {
    return (x << r) | (x >> (32u - r));
}

fn threefry2x32(key: vec2<u32>, counter: vec2<u32>) -> vec2<u32> {
    let rot = array<u32, 8>(13u, 15u, 26u, 6u, 17u, 29u, 16u, 24u);
    let ks = array<u32, 3>(key.x, key.y, 0x1BD11BDAu ^ key.x ^ key.y);
    var x0 = counter.x + ks[0];
    var x1 = counter.y + ks[1];
    for (var round = 0u; round < 20u; round++) {
        x0 += x1;
        x1 = rotl(x1, rot[round % 8u]);
        x1 ^= x0;
        if (round % 4u == 3u) {
            let s = round / 4u + 1u;
            x0 += ks[s % 3u];
            x1 += ks[(s + 1u) % 3u] + s;
        }
    }
    return vec2<u32>(x0, x1);
}

// Two standard normals from two random words: radius from a uniform in (0, 1], angle from [0, 1).
fn normal_pair(bits: vec2<u32>) -> vec2<f32> {
    let u1 = f32((bits.x >> 8u) + 1u) * (1.0 / 16777216.0);
    let u2 = f32(bits.y >> 8u) * (1.0 / 16777216.0);
    let r = sqrt(-2.0 * log(u1));
    let theta = 6.2831855 * u2;
    return vec2<f32>(r * cos(theta), r * sin(theta));
}
