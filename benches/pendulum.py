#!/usr/bin/env python3
"""The basin stability of the damped driven pendulum (Menck et al. 2013, bSTAB's benchmark) in
JAX with diffrax: the ensemble basinmap integrates in `benches/pendulum.sh`, timed.

    phi' = omega,  omega' = -alpha*omega + T - K*sin(phi),  alpha = 0.1, T = 0.5, K = 1

N starts uniform over [-pi + arcsin(T/K), pi + arcsin(T/K)] x [-10, 10], integrated to t = 1000
as one vmapped diffrax solve, then classified as bSTAB does, by a feature of the end of each
orbit: at rest when |omega| < 0.1 at t = 1000 (the fixed point has omega = 0; a rotation keeps
|omega| around T/alpha = 5). Solvers:

    --solver tsit5-fixed   Tsit5 at dt = 0.05, 20 000 steps (basinmap's rk4 step and budget)
    --solver tsit5         Tsit5 with a PID controller, rtol = atol = 1e-8 (bSTAB's ode45 setting)

Prints one JSON object: the median of REPEATS timings (compilation excluded: one untimed run
first), the shares, N and the solver.

    pip install numpy "jax[cpu]" diffrax
    python3 benches/pendulum.py --n 10000 --solver tsit5-fixed
"""

import argparse
import json
import statistics
import time

import numpy as np

ALPHA, TORQUE, K = 0.1, 0.5, 1.0
T1, DT = 1000.0, 0.05


def starts(n, seed):
    lo = -np.pi + np.arcsin(TORQUE / K)
    rng = np.random.default_rng(seed)
    phi = lo + 2 * np.pi * rng.random(n)
    omega = -10 + 20 * rng.random(n)
    return np.stack([phi, omega], axis=1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--solver", choices=["tsit5-fixed", "tsit5"], default="tsit5-fixed")
    ap.add_argument("--precision", choices=["f32", "f64"], default="f32")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    import jax

    if args.precision == "f64":
        jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    import diffrax

    dtype = jnp.float64 if args.precision == "f64" else jnp.float32

    def field(t, y, _):
        phi, omega = y[0], y[1]
        return jnp.stack([omega, -ALPHA * omega + TORQUE - K * jnp.sin(phi)])

    term = diffrax.ODETerm(field)
    solver = diffrax.Tsit5()
    if args.solver == "tsit5-fixed":
        controller, dt0, max_steps = diffrax.ConstantStepSize(), DT, int(T1 / DT) + 1
    else:
        controller, dt0, max_steps = diffrax.PIDController(rtol=1e-8, atol=1e-8), DT, 1_000_000

    def end(y0):
        sol = diffrax.diffeqsolve(term, solver, 0.0, T1, dt0, y0, stepsize_controller=controller, saveat=diffrax.SaveAt(t1=True), max_steps=max_steps)
        return sol.ys[0]

    solve = jax.jit(jax.vmap(end))
    y0 = jnp.asarray(starts(args.n, args.seed), dtype=dtype)
    ends = solve(y0).block_until_ready()  # compiles
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        ends = solve(y0).block_until_ready()
        times.append(time.perf_counter() - t0)
    rest = float(np.mean(np.abs(np.asarray(ends)[:, 1]) < 0.1))
    se = (rest * (1 - rest) / args.n) ** 0.5
    print(json.dumps({"impl": f"diffrax {args.solver} {args.precision}", "n": args.n, "median_seconds": statistics.median(times), "times": times, "rest": rest, "rotation": 1 - rest, "se": se}))


if __name__ == "__main__":
    main()
