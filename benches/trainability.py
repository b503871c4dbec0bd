#!/usr/bin/env python3
"""The trainability-map workload of examples/trainability/width8.toml in JAX or NumPy, timed.

The same math as basinmap's `mlp` there: one hidden tanh layer of width w, mean-field
(z = W1 x / sqrt(w), f = U tanh(z) / w), n = w*w + w samples with x, y ~ N(0, 1), full-batch
gradient descent for 100 steps from one start, with the step factors lr1 (W1) and lr2 (U) over a
256 x 256 log grid, and the loss record: r_t = loss_t / loss_0 capped at 1e6, loss_sum = sum of
r_t, trained = mean of the last 20 r_t < 1. Data and start are this script's own draws (the
same distributions as basinmap's, not the same numbers), so maps look alike but differ in detail.

Every run takes all 100 steps here (vectorised code cannot drop diverged runs); basinmap stops a
run once it escapes. So the figure to compare is the time for the whole map, and nominal
trajectory-steps/s = 256 * 256 * 100 / time, which is what this prints.

With --optimizer adam (JAX only) the runs train by optax's Adam (scale_by_adam, β = 0.9,
0.999, ε = 1e-8, each layer's update times its rate) with lr1 and lr2 in [0.01, 1000]: the
workload `basinmap bench --workloads w3-adam` runs.

    pip install numpy "jax[cpu]" optax
    python3 benches/trainability.py --impl jax      # or --impl numpy; --optimizer adam
"""

import argparse
import statistics
import time

import numpy as np

CAP = 1e6
WINDOW = 20


def problem(width, seed):
    rng = np.random.default_rng(seed)
    n = width * width + width
    x = rng.standard_normal((n, width)).astype(np.float32)
    y = rng.standard_normal(n).astype(np.float32)
    w1 = rng.standard_normal((width, width)).astype(np.float32)
    u = rng.standard_normal(width).astype(np.float32)
    return x, y, w1, u


def grid(res, optimizer="gd"):
    if optimizer == "adam":
        lr1 = lr2 = np.logspace(-2, 3, res, dtype=np.float64)
    else:
        lr1 = np.logspace(1, 6, res, dtype=np.float64)
        lr2 = np.logspace(np.log10(3), np.log10(300), res, dtype=np.float64)
    a, b = np.meshgrid(lr1, lr2)  # y (lr2) slow, x (lr1) fast: basinmap's grid order
    return a.ravel().astype(np.float32), b.ravel().astype(np.float32)


def record_update(loss, loss0, t, steps, total, tail, xp):
    r = loss / loss0
    r = xp.where(xp.isnan(r) | (r > CAP), xp.float32(CAP), r)
    total = total + r
    tail = tail + xp.where(t >= steps - WINDOW, r, xp.float32(0))
    return total, tail


def run_numpy(x, y, w1, u, lr1, lr2, steps, chunk=4096):
    width = w1.shape[0]
    c1, c2 = np.float32(1 / np.sqrt(width)), np.float32(1 / width)
    n = x.shape[0]
    out_sum, out_trained = [], []
    with np.errstate(all="ignore"):
        for s in range(0, lr1.size, chunk):
            a, b = lr1[s:s + chunk], lr2[s:s + chunk]
            B = a.size
            W = np.broadcast_to(w1, (B,) + w1.shape).copy()
            U = np.broadcast_to(u, (B,) + u.shape).copy()
            total = np.zeros(B, np.float32)
            tail = np.zeros(B, np.float32)
            loss0 = None
            for t in range(steps):
                z = c1 * np.einsum("bik,sk->bsi", W, x)
                h = np.tanh(z)
                f = c2 * np.einsum("bsi,bi->bs", h, U)
                r = f - y
                loss = np.mean(r * r, axis=1)
                if loss0 is None:
                    loss0 = loss.copy()
                total, tail = record_update(loss, loss0, t, steps, total, tail, np)
                delta = (2.0 / n) * c2 * r                       # (B, n)
                gU = np.einsum("bs,bsi->bi", delta, h)
                dz = delta[:, :, None] * U[:, None, :] * (1 - h * h) * c1
                gW = np.einsum("bsi,sk->bik", dz, x)
                W -= a[:, None, None] * gW
                U -= b[:, None] * gU
            out_sum.append(total)
            out_trained.append(tail / min(WINDOW, steps) < 1)
    return np.concatenate(out_sum), np.concatenate(out_trained)


def make_jax(steps, optimizer="gd"):
    import jax
    import jax.numpy as jnp
    if optimizer == "adam":
        import optax

        adam = optax.scale_by_adam(b1=0.9, b2=0.999, eps=1e-8)

    def loss_fn(params, x, y, c1, c2):
        w, u = params
        f = c2 * (jnp.tanh(c1 * x @ w.T) @ u)
        return jnp.mean((f - y) ** 2)

    def one(w1, u, x, y, a, b):
        width = w1.shape[0]
        c1, c2 = 1 / jnp.sqrt(jnp.float32(width)), 1 / jnp.float32(width)
        grad = jax.value_and_grad(loss_fn)

        def body(t, carry):
            w, uu, loss0, total, tail, state = carry
            loss, (gw, gu) = grad((w, uu), x, y, c1, c2)
            loss0 = jnp.where(t == 0, loss, loss0)
            total, tail = record_update(loss, loss0, t, steps, total, tail, jnp)
            if optimizer == "adam":
                (gw, gu), state = adam.update((gw, gu), state)
            return w - a * gw, uu - b * gu, loss0, total, tail, state

        zero = jnp.float32(0)
        state = adam.init((w1, u)) if optimizer == "adam" else zero
        _, _, _, total, tail, _ = jax.lax.fori_loop(0, steps, body, (w1, u, zero, zero, zero, state))
        return total, tail / min(WINDOW, steps) < 1

    return jax.jit(jax.vmap(one, in_axes=(None, None, None, None, 0, 0)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--impl", choices=["jax", "numpy"], default="jax")
    ap.add_argument("--width", type=int, default=8)
    ap.add_argument("--res", type=int, default=256)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--optimizer", choices=["gd", "adam"], default="gd")
    args = ap.parse_args()

    x, y, w1, u = problem(args.width, args.seed)
    lr1, lr2 = grid(args.res, args.optimizer)
    if args.optimizer == "adam" and args.impl != "jax":
        ap.error("--optimizer adam is timed in JAX + optax only")
    if args.impl == "jax":
        import jax

        f = make_jax(args.steps, args.optimizer)
        # Compile once outside the timings.
        jax.block_until_ready(f(w1, u, x, y, lr1[:1], lr2[:1]))

        def go():
            return [np.asarray(v) for v in jax.block_until_ready(f(w1, u, x, y, lr1, lr2))]
        device = str(jax.devices()[0])
    else:
        def go():
            return run_numpy(x, y, w1, u, lr1, lr2, args.steps)
        device = "numpy " + np.__version__
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        total, trained = go()
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    nominal = args.res * args.res * args.steps
    print(f"{args.impl} ({device}): width {args.width}, {args.res}x{args.res}, {args.steps} steps of {args.optimizer}")
    print(f"  times: {', '.join(f'{t:.2f}' for t in times)} s; median {med:.2f} s")
    print(f"  {nominal / med:.3e} trajectory-steps/s (nominal {nominal:.3e} steps); trained {np.mean(trained):.1%}")


if __name__ == "__main__":
    main()
