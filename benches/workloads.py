#!/usr/bin/env python3
"""basinmap bench's W1 and W2 in JAX (jit + vmap + fori_loop / while_loop) or NumPy, timed.

W1: the first-order Landau flow F = r m^2 - m^4 + m^6 (u = -1, w = 1) on r in [-0.5, 0.5] x
m0 in [-1.5, 1.5] (RES x RES, f32), gradient descent with lr 0.01, exactly 500 steps.
W2: the same map run in lockstep until every trajectory has |F'(m)| < 1e-6 or 200 000 steps
(the fixed-step lockstep approach: vectorised code cannot drop the lanes that finished); with
--precision f64, as basinmap runs it on the CPU (f32 steps of 0.01 stall above that tolerance).

Prints one JSON object per workload: the median of REPEATS timings (compilation excluded for
JAX), the trajectory-steps taken (RES^2 x steps) and their rate.

    pip install numpy "jax[cpu]"
    python3 benches/workloads.py --impl jax --workload w1 --res 1024
"""

import argparse
import json
import statistics
import time

import numpy as np

LR = np.float32(0.01)
U, W = np.float32(-1.0), np.float32(1.0)


def grid(res):
    r = np.linspace(-0.5, 0.5, res, dtype=np.float64)
    m = np.linspace(-1.5, 1.5, res, dtype=np.float64)
    rr, mm = np.meshgrid(r, m)  # y (m0) slow, x (r) fast: basinmap's grid order
    return rr.ravel().astype(np.float32), mm.ravel().astype(np.float32)


def field(m, r, xp):
    m2 = m * m
    return -(2 * r * m + 4 * U * m2 * m + 6 * W * m2 * m2 * m)


def numpy_w1(r, m, steps):
    m = m.copy()
    for _ in range(steps):
        m += LR * field(m, r, np)
    return m, steps


def numpy_w2(r, m, max_steps, tol):
    m = m.copy()
    for n in range(max_steps):
        v = field(m, r, np)
        if np.all(np.abs(v) < tol):
            return m, n
        m += LR * v
    return m, max_steps


def jax_fns():
    import jax
    import jax.numpy as jnp

    @jax.jit
    def w1(r, m):
        def one(r, m):
            return jax.lax.fori_loop(0, 500, lambda _, m: m + LR * field(m, r, jnp), m)
        return jax.vmap(one)(r, m)

    def w2(max_steps, tol):
        @jax.jit
        def run(r, m):
            def cond(c):
                n, m = c
                return (n < max_steps) & jnp.any(jnp.abs(field(m, r, jnp)) >= tol)
            def body(c):
                n, m = c
                return n + 1, m + LR * field(m, r, jnp)
            return jax.lax.while_loop(cond, body, (0, m))
        return run
    return w1, w2


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--impl", choices=["jax", "numpy"], default="jax")
    ap.add_argument("--workload", choices=["w1", "w2"], default="w1")
    ap.add_argument("--res", type=int, default=1024)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--max-steps", type=int, default=200_000)
    ap.add_argument("--precision", choices=["f32", "f64"], default="f32",
                    help="f64 for W2: f32 steps of 0.01 stall above |F'| = 1e-6")
    args = ap.parse_args()
    global LR, U, W
    dt = np.float64 if args.precision == "f64" else np.float32
    LR, U, W = dt(LR), dt(U), dt(W)
    r, m = grid(args.res)
    r, m = r.astype(dt), m.astype(dt)
    tol = dt(1e-6)
    if args.impl == "jax":
        import jax
        if args.precision == "f64":
            jax.config.update("jax_enable_x64", True)
        w1, w2 = jax_fns()
        f = w1 if args.workload == "w1" else w2(args.max_steps, tol)
        jax.block_until_ready(f(r[:8], m[:8]))  # compile outside the timings

        def go():
            out = jax.block_until_ready(f(r, m))
            return 500 if args.workload == "w1" else int(out[0])
        device = str(jax.devices()[0])
    else:
        def go():
            return numpy_w1(r, m, 500)[1] if args.workload == "w1" else numpy_w2(r, m, args.max_steps, tol)[1]
        device = "numpy " + np.__version__
    times, steps = [], 0
    for _ in range(args.repeats):
        t = time.perf_counter()
        steps = go()
        times.append(time.perf_counter() - t)
    med = statistics.median(times)
    total = args.res * args.res * steps
    print(json.dumps({"impl": args.impl, "device": device, "workload": args.workload, "precision": args.precision, "res": args.res, "seconds": times,
                      "median_seconds": med, "steps_per_trajectory": steps, "steps": total, "steps_per_second": total / med}))


if __name__ == "__main__":
    main()
