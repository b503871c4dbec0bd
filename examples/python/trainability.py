"""Sohl-Dickstein's trainability map (a tanh net of width 8, 100 full-batch steps, the two
layers' learning rates as axes), made and plotted from Python.

    python examples/python/trainability.py [SIZE] [OUT.png]      (default: 128, trainability.png)

`Map["converged"]` is 1 where the run's loss came down (trained) and 0 where it did not; the
run's own trainability.png is also written with `m.save(...)`.
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.colors import ListedColormap

import basinmap

here = Path(__file__).resolve().parent
size = int(sys.argv[1]) if len(sys.argv) > 1 else 128
m = basinmap.run(here.parent / "trainability" / "width8.toml", x=f"lr1=10:1000000:{size}:log", y=f"lr2=3:300:{size}:log", progress=True)

trained = m["converged"]  # (lr2, lr1): 1 trained, 0 did not
fig, ax = plt.subplots(figsize=(5.6, 5.0), layout="constrained")
ax.pcolormesh(m.coords["lr1"], m.coords["lr2"], trained, cmap=ListedColormap(["#b2182b", "#2166ac"]), vmin=0, vmax=1, shading="nearest")
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xlabel("learning rate of the input layer η₁")
ax.set_ylabel("learning rate of the output layer η₂")
ax.set_title(f"trainability, width 8: blue trained ({trained.mean():.1%}), red did not")
out = sys.argv[2] if len(sys.argv) > 2 else "trainability.png"
fig.savefig(out, dpi=150)
print(f"{m.counts['trained']} of {trained.size} runs trained; wrote {out}")
