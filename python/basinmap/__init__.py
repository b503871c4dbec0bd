"""basinmap: where dynamics end up, from Python.

Maps the phases of families of dynamical systems -- gradient flows, optimizers, training runs of
small networks, maps and forced flows -- on a grid of starting states x hyperparameters, with
the same Rust library and engines as the ``basinmap`` command (which this package installs too).

>>> import basinmap
>>> m = basinmap.run(x="r=-0.25:0.5:64", y="m=-1.5:1.5:64", engine="cpu")
>>> m.labels.shape
(64, 64)
>>> sorted(round(a["m"], 2) for a in m.attractors if a["kind"] == "fixed")  # the end states
[-0.88, 0.0, 0.88]

See :func:`run` and :class:`Map`; :func:`sweep`, :func:`kramers`, :func:`trace`,
:func:`landscape`, :func:`orbit`, :func:`measure`, :func:`bench`, :func:`run_shard` and :func:`merge` (the other
commands); :func:`systems`; :func:`load` (a run's directory); the exceptions in
:mod:`basinmap.errors`.
"""

import os as _os

# As the command line does: Mesa's device-select Vulkan layer only prints errors on headless
# machines (wgpu chooses the adapter itself). Set before the extension touches Vulkan.
_os.environ.setdefault("NODEVICE_SELECT", "1")

from ._commands import Kramers, Landscape, Orbit, Settings, Sweep, Trace, Traced, bench, kramers, landscape, measure, merge, orbit, run_shard, sweep, trace
from ._maps import SETTINGS, Map, load, resolve, run, systems
from ._native import __version__
from .errors import BasinmapError, EngineError, FormulaError, ScenarioError

__all__ = [
    "run",
    "load",
    "sweep",
    "kramers",
    "trace",
    "landscape",
    "orbit",
    "measure",
    "bench",
    "run_shard",
    "merge",
    "Sweep",
    "Kramers",
    "Trace",
    "Traced",
    "Landscape",
    "Orbit",
    "Settings",
    "resolve",
    "systems",
    "Map",
    "SETTINGS",
    "BasinmapError",
    "ScenarioError",
    "FormulaError",
    "EngineError",
    "__version__",
]
