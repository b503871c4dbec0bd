"""The paper's Fig. 4 as a map, made and plotted from Python: the share of random starts of a
depth-2 linear net that learn, over weight decay gamma x init scale.

    python examples/python/fig4.py [OUT.png]      (default: fig4.png)

The map is examples/paper/fig4-init-map.toml's (4 starts per point); `Map.fractions` holds each
attractor's share per point and attractors.csv's `phase` column says which attractors learned.
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import basinmap

here = Path(__file__).resolve().parent
m = basinmap.run(here.parent / "paper" / "fig4-init-map.toml", progress=True)

learning = [a["id"] for a in m.attractors if a["phase"] == "learning"]
share = m.fractions[:, :, learning].sum(axis=2)  # (init_scale, gamma)

fig, ax = plt.subplots(figsize=(6.4, 4.4), layout="constrained")
mesh = ax.pcolormesh(m.coords["gamma"], m.coords["init_scale"], share, cmap="cividis", vmin=0, vmax=1, shading="nearest")
ax.set_yscale("log")
ax.set_xlabel("weight decay γ")
ax.set_ylabel("init scale")
ax.set_title("Fig. 4: share of 4 random starts that learn (depth 2)")
fig.colorbar(mesh, ax=ax, label="share of starts in a learning phase")
out = sys.argv[1] if len(sys.argv) > 1 else "fig4.png"
fig.savefig(out, dpi=150)
print(f"{len(m.attractors)} attractors; {np.mean(share):.3f} of all starts learn; wrote {out}")
