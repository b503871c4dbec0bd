#!/usr/bin/env python3
"""Sohl-Dickstein's trainability map (width 8) as his notebook computes it, in JAX and f64, and
the same network, data and initial weights handed to basinmap, to measure how many pixels agree.

His network (github.com/Sohl-Dickstein/fractal, written out here from its math): mean-field,
z = x·W1/sqrt(8), h = tanh(sqrt(2)·z), f = h·W2/8; W1, W2 ~ N(0, 1) and x, y ~ N(0, 1) drawn from
jax.random with PRNGKey(0) split as he splits it; n = 72 samples; 100 steps of full-batch
gradient descent on mean((f - y)^2) with the step lr1 for W1 and lr2 for W2; a run trained
when the mean of loss/loss0 over the last 20 steps is below 1 (each ratio capped at 1e6).

This script writes his data and weights where basinmap reads them (x.npy, y.npy and a scenario
whose [params] give each weight's start, with init_scale = 0), runs
examples/trainability/width8.toml on them, and prints the share of pixels on which the two
`trained` maps agree.

With --optimizer adam both train by Adam instead (optax.scale_by_adam: β1 = 0.9, β2 = 0.999,
ε = 1e-8, bias-corrected, then each layer's update times its own rate), with lr1 and lr2 in
[0.01, 1000] (basinmap's `bench` workload w3-adam): an independent check of basinmap's Adam,
per-layer rates included, against optax.

    python3 -m venv v && v/bin/pip install "jax[cpu]" numpy optax
    v/bin/python benches/author_trainability.py [--res 256] [--optimizer adam] [--bin target/release/basinmap]
"""

import argparse
import json
import os
import subprocess
import tempfile
import time

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)

WIDTH, STEPS, CAP = 8, 100, 1e6


def his_problem():
    """His draws: PRNGKey(0) split into the weights' key, then x's, then y's."""
    rng = jax.random.PRNGKey(0)
    rng, srng = jax.random.split(rng)
    keys = jax.random.split(srng, 2)
    w1 = jax.random.normal(keys[0], (WIDTH, WIDTH))
    w2 = jax.random.normal(keys[1], (WIDTH, 1))
    n = WIDTH * WIDTH + WIDTH
    rng, srng = jax.random.split(rng)
    x = jax.random.normal(srng, (n, WIDTH))
    rng, srng = jax.random.split(rng)
    y = jax.random.normal(srng, (n, 1))
    return w1, w2, x, y


def his_loss(theta, x, y):
    w1, w2 = theta
    h = jnp.tanh(jnp.sqrt(2.0) * (x @ w1) / jnp.sqrt(WIDTH))
    f = (h @ w2) / WIDTH
    return jnp.mean((f - y) ** 2)


def rounded_loss(theta, x, y):
    """His loss with √2/√8 as one factor (0.5, as basinmap's scale c_1 is), for the noise floor:
    his code on his data rounded to f32, against itself."""
    w1, w2 = theta
    h = jnp.tanh(0.5 * (x @ w1))
    f = (h @ w2) * 0.125
    return jnp.mean((f - y) ** 2)


def trained_map(loss, w1, w2, x, y, lr1, lr2, optimizer="gd"):
    """`trained` (1/0) for each pair of rates, trained by gd or by optax's Adam."""
    value_and_grad = jax.value_and_grad(loss)

    def run(a, b):
        def step(theta, _):
            value, (g1, g2) = value_and_grad(theta, x, y)
            return (theta[0] - a * g1, theta[1] - b * g2), value

        def adam_step(carry, _):
            theta, state = carry
            value, grads = value_and_grad(theta, x, y)
            updates, state = adam.update(grads, state)
            return ((theta[0] - a * updates[0], theta[1] - b * updates[1]), state), value

        if optimizer == "adam":
            import optax

            adam = optax.scale_by_adam(b1=0.9, b2=0.999, eps=1e-8)
            _, losses = jax.lax.scan(adam_step, ((w1, w2), adam.init((w1, w2))), None, length=STEPS)
        else:
            _, losses = jax.lax.scan(step, (w1, w2), None, length=STEPS)
        v = jnp.where(jnp.isfinite(losses), losses, CAP)
        v = v / v[0]
        v = jnp.where(v > CAP, CAP, v)
        return jnp.mean(v[-20:]) < 1.0

    return jax.jit(jax.vmap(run))(lr1, lr2)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--res", type=int, default=256)
    ap.add_argument("--bin", default="target/release/basinmap")
    ap.add_argument("--optimizer", choices=["gd", "adam"], default="gd")
    ap.add_argument("extra", nargs="*", help="more flags for basinmap run")
    args = ap.parse_args()
    res = args.res

    w1, w2, x, y = his_problem()
    # basinmap's grid: lr1 along x (fastest), lr2 along y, as examples/trainability/width8.toml.
    adam = args.optimizer == "adam"
    axes = ("lr1=0.01:1000", "lr2=0.01:1000") if adam else ("lr1=10:1000000", "lr2=3:300")
    lr1 = np.logspace(-2, 3, res) if adam else np.logspace(1, 6, res)
    lr2 = np.logspace(-2, 3, res) if adam else np.logspace(np.log10(3), np.log10(300), res)
    a, b = np.meshgrid(lr1, lr2)
    t0 = time.perf_counter()
    his = np.asarray(trained_map(his_loss, w1, w2, x, y, jnp.asarray(a.ravel()), jnp.asarray(b.ravel()), args.optimizer)).reshape(res, res)
    his_s = time.perf_counter() - t0
    f32 = lambda v: jnp.asarray(np.asarray(v).astype(np.float32).astype(np.float64))
    rounded = np.asarray(trained_map(rounded_loss, w1, w2, f32(x), f32(y), jnp.asarray(a.ravel()), jnp.asarray(b.ravel()), args.optimizer)).reshape(res, res)

    with tempfile.TemporaryDirectory() as d:
        np.save(os.path.join(d, "x.npy"), np.asarray(x))
        np.save(os.path.join(d, "y.npy"), np.asarray(y)[:, 0])
        # basinmap's W1 is hidden × input (z = W1·x): his transposed; U is his W2's column.
        starts = [f"W1_{h}_{i} = {float(w1[i, h])!r}" for h in range(WIDTH) for i in range(WIDTH)]
        starts += [f"U_{h} = {float(w2[h, 0])!r}" for h in range(WIDTH)]
        example = open("examples/trainability/width8.toml").read()
        example = example.replace("init_scale = 1.0", "init_scale = 0.0\n" + "\n".join(starts))
        example = example.replace('x = "lr1=10:1000000:256:log"', f'x = "{axes[0]}:{res}:log"')
        example = example.replace('y = "lr2=3:300:256:log"', f'y = "{axes[1]}:{res}:log"')
        example = example.replace('lr = 1.0\n', f'lr = 1.0\nmethod = "{args.optimizer}"\n')
        example = example.replace('[network]\n', '[network]\nx = "x.npy"\ny = "y.npy"\n')
        scenario = os.path.join(d, "his.toml")
        open(scenario, "w").write(example)
        out = os.path.join(d, "out")
        subprocess.run([args.bin, "run", scenario, "--engine", "cpu", "-o", out, "-q", *args.extra], check=True)
        ours = np.load(os.path.join(out, "converged.npy")) > 0.5
        ours_s = json.load(open(os.path.join(out, "run.json")))["timings"]["integrate"]

    his_name = "his code with optax's Adam" if adam else "his code"
    print(f"{his_name} (JAX, f64): {his_s:.2f} s, {his.mean():.4f} trained; basinmap {args.optimizer} (CPU engine, f64): {ours_s:.2f} s, {ours.mean():.4f} trained")
    for what, other in [("his code", his), ("his code on the data rounded to f32 (what an f32 run trains on)", rounded), ("(his code against itself on the rounded data)", None)]:
        left, right = (ours, other) if other is not None else (his, rounded)
        agree = float(np.mean(left == right))
        print(f"{res}x{res} pixels, basinmap vs {what}: {100 * agree:.2f}% agree ({int(round((1 - agree) * res * res))} differ)" if other is not None else f"{res}x{res} pixels, {what}: {100 * agree:.2f}% agree ({int(round((1 - agree) * res * res))} differ)")


if __name__ == "__main__":
    main()
