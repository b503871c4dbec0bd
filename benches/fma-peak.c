// The f32 FMA throughput of one core with AVX-512: 12 independent chains of fused
// multiply-adds, so that neither latency nor memory limits them. What the README's W1 ceiling
// is computed from (the bench's own peak is an estimate from the clock).
//
//   gcc -O2 -mavx512f benches/fma-peak.c -o /tmp/fma-peak && /tmp/fma-peak
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

#define DECLARE(i) __m512 a##i = _mm512_set1_ps(1.0f + i * 1e-3f);
#define STEP(i) a##i = _mm512_fmadd_ps(a##i, b, c);

int main(void) {
    DECLARE(0) DECLARE(1) DECLARE(2) DECLARE(3) DECLARE(4) DECLARE(5)
    DECLARE(6) DECLARE(7) DECLARE(8) DECLARE(9) DECLARE(10) DECLARE(11)
    __m512 b = _mm512_set1_ps(0.9999f), c = _mm512_set1_ps(1e-4f);
    const long n = 200000000;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long k = 0; k < n; k++) {
        STEP(0) STEP(1) STEP(2) STEP(3) STEP(4) STEP(5) STEP(6) STEP(7) STEP(8) STEP(9) STEP(10) STEP(11)
        // Keeps the chains in registers and the loop from being folded away.
        __asm__ volatile("" : "+v"(a0), "+v"(a1), "+v"(a2), "+v"(a3), "+v"(a4), "+v"(a5),
                              "+v"(a6), "+v"(a7), "+v"(a8), "+v"(a9), "+v"(a10), "+v"(a11));
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec);
    __m512 r = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                             _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)));
    r = _mm512_add_ps(r, _mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11)));
    double per_ns = n * 12 / s / 1e9;
    // 16 lanes x 2 flops per FMA.
    printf("%.2f zmm FMA/ns = %.1f GFLOP/s on one core (checksum %f)\n", per_ns, per_ns * 32, _mm512_reduce_add_ps(r));
    return 0;
}
