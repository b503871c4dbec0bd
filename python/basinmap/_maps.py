"""Maps from Python: :func:`run` and the :class:`Map` it returns.

A scenario is a TOML file, a dict of the same shape, or nothing (the default map); keywords
override it exactly as the command line's flags do (each keyword *is* its flag: ``lr=0.1`` is
``--lr 0.1``), and the Rust library computes the map as ``basinmap run`` does.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
import uuid
import weakref
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import _native
from .errors import ScenarioError

__all__ = ["Map", "run", "load", "resolve", "systems", "SETTINGS"]

PathLike = Union[str, "os.PathLike[str]"]
#: Numbers given where the command line reads a file: an array, or nested sequences.
ArrayLike = Union[np.ndarray, Sequence[Any]]
Scenario = Union[PathLike, Mapping[str, Any], None]
Number = Union[int, float]

#: The keywords of :func:`run` that set the scenario, each the command line's flag of the same
#: name (``weight_decay`` is ``--weight-decay``; ``formats`` is ``--format``).
SETTINGS: Tuple[str, ...] = (
    "system", "loss", "field", "map", "wgsl", "state", "periodic", "forcing_period",
    "lyapunov", "continue_untrained", "params", "x", "y",
    "dynamics", "lr", "momentum", "beta1", "beta2", "eps", "weight_decay", "dt", "steps", "tol",
    "bound", "precision", "temperature", "escape", "samples", "seed", "uniform", "starts",
    "data_x", "data_y", "data_xx", "shared_init", "observe", "activation", "gain",
    "parameterisation", "engine", "title", "dpi", "formats", "figure_size", "colour_map",
)  # fmt: skip

#: Keywords that are not flags themselves: ``weights`` gives start values of a network's
#: weights as arrays (the ``--param W{l}_{i}_{k}=...`` and ``--param U_{k}=...`` they stand for).
_EXTRA = ("weights",)

#: The settings that name a file of numbers, which Python may give as an array instead.
_ARRAY_FILES = {"starts", "data_x", "data_y", "data_xx"}


def _text(value: Any) -> str:
    """A value as its flag's text: floats exactly (the shortest text that reads back the same)."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{value!r}: a number or text was expected")
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, os.PathLike):
        return str(os.fspath(value))
    if isinstance(value, str):
        return value
    raise TypeError(f"{value!r}: a number, text or path was expected")


#: The settings that are switches (flags without a value).
_SWITCHES = {"lyapunov", "continue_untrained", "shared_init"}


def _array_directory() -> Path:
    """Where arrays given for files are kept: ``$BASINMAP_ARRAYS``, else basinmap's folder in
    the user's cache (``$XDG_CACHE_HOME`` or ``~/.cache``)."""
    explicit = os.environ.get("BASINMAP_ARRAYS")
    if explicit:
        return Path(explicit)
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "basinmap" / "arrays"


def _array_file(key: str, value: Any) -> Path:
    """An array given for a file (starts, a network's data) as a lasting .npy file named by its
    content: run.json's scenario names a file that still holds these numbers later, and shards
    of a map on other processes of this machine (or of machines sharing the folder) read it."""
    array = np.ascontiguousarray(np.asarray(value, dtype=np.float64))
    if array.ndim == 1:
        array = array[:, None]
    buffer = io.BytesIO()
    np.save(buffer, array)
    data = buffer.getvalue()
    directory = _array_directory()
    path = directory / f"{key}-{hashlib.sha256(data).hexdigest()[:24]}.npy"
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        # Written whole under a name of its own, then renamed: a reader never sees half a file.
        # (Opened as files are, so the umask decides who else may read it: workers of a cluster.)
        partial = directory / f".{key}-{uuid.uuid4().hex}.npy"
        try:
            with open(partial, "xb") as f:
                f.write(data)
            os.replace(partial, path)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    return path


def _flags(settings: Mapping[str, Any]) -> List[str]:
    """The command-line flags that the keywords `settings` stand for; arrays given for files are
    kept as files (:func:`_array_file`)."""
    flags: List[str] = []
    for key, value in settings.items():
        if key in _ARRAY_FILES and value is not None and not isinstance(value, (str, os.PathLike)):
            value = _array_file(key, value)
        if key == "weights":
            flags.extend(_weight_flags(value))
            continue
        if (key in _SWITCHES) != isinstance(value, (bool, np.bool_)) and value is not None:
            raise TypeError(f"{key}={value!r}: {'True or False' if key in _SWITCHES else 'a value, not a switch,'} was expected")
        if value is None:
            continue
        if isinstance(value, (bool, np.bool_)):
            # A switch (numpy's booleans too): the bare flag, or nothing.
            if value:
                flags.append("--" + key.replace("_", "-"))
            continue
        if key == "params":
            if not isinstance(value, Mapping):
                raise TypeError("params: a dict of NAME: value was expected")
            for name, v in value.items():
                if isinstance(v, (list, tuple, np.ndarray)):
                    text = ",".join(_text(e) for e in np.asarray(v).ravel().tolist())
                else:
                    text = _text(v)
                flags.append(f"--param={name}={text}")
            continue
        flag = "--format" if key == "formats" else "--" + key.replace("_", "-")
        if isinstance(value, (list, tuple)):
            flags.append(f"{flag}={','.join(_text(v) for v in value)}")
        else:
            flags.append(f"{flag}={_text(value)}")
    return flags


def _weight_flags(weights: Any) -> List[str]:
    """``--param`` flags of a network's start weights: ``{"W1": (width, fan-in) array, ...,
    "U": (fan-in,) array}`` as the elements ``W1_i_k`` and ``U_k``."""
    if weights is None:
        return []
    if not isinstance(weights, Mapping):
        raise TypeError("weights: a dict of layer name (W1, W2, ..., U) to array was expected")
    flags = []
    for layer, values in weights.items():
        array = np.asarray(values, dtype=np.float64)
        if re.fullmatch(r"W[1-9][0-9]*", layer) and array.ndim == 2:
            flags += [f"--param={layer}_{i}_{k}={_text(float(array[i, k]))}" for i in range(array.shape[0]) for k in range(array.shape[1])]
        elif layer == "U" and array.ndim == 1:
            flags += [f"--param=U_{k}={_text(float(v))}" for k, v in enumerate(array)]
        else:
            raise TypeError(f"weights[{layer!r}]: a hidden layer Wl takes a 2-D array (width x fan-in), the output layer U a 1-D one")
    return flags


def _base(scenario: Scenario) -> Tuple[str, Optional[str]]:
    if scenario is None:
        return "defaults", None
    if isinstance(scenario, Mapping):
        return "json", json.dumps(scenario)
    if isinstance(scenario, (str, os.PathLike)):
        return "file", os.fspath(scenario)
    raise TypeError(f"scenario: a TOML file's path or a dict was expected, not {type(scenario).__name__}")


def _check_settings(settings: Mapping[str, Any]) -> None:
    unknown = [k for k in settings if k not in SETTINGS and k not in _EXTRA]
    if unknown:
        raise TypeError(f"unknown setting {unknown[0]!r}; the settings are: {', '.join(SETTINGS)}")


def resolve(scenario: Scenario = None, **settings: Any) -> str:
    """The scenario that ``scenario`` and the keyword settings give, as TOML.

    >>> import basinmap
    >>> print(basinmap.resolve(lr=0.05).splitlines()[0])
    title = "first-order Landau transition: F = r m² − m⁴ + m⁶"
    """
    _check_settings(settings)
    base, source = _base(scenario)
    return _native.resolve(base, source, _flags(settings))


def _progress_bar(total_hint: int = 0) -> Tuple[Callable[[int, int], None], Callable[[], None]]:
    """A tqdm bar fed by (done, total) reports, and its closer; silent where tqdm is missing."""
    try:
        from tqdm.auto import tqdm  # type: ignore[import-untyped, unused-ignore]
    except ImportError:  # pragma: no cover - tqdm is optional
        return (lambda done, total: None), (lambda: None)
    bar = tqdm(total=total_hint or None, unit="traj", desc="basinmap")

    def update(done: int, total: int) -> None:
        if bar.total != total:
            bar.total = total
        bar.update(done - bar.n)

    return update, bar.close


def run(
    scenario: Scenario = None,
    *,
    out: Optional[PathLike] = None,
    progress: Union[bool, Callable[[int, int], None]] = False,
    refine: Union[bool, int] = False,
    system: Optional[str] = None,
    loss: Optional[str] = None,
    field: Optional[str] = None,
    map: Optional[str] = None,
    wgsl: Optional[PathLike] = None,
    state: Optional[str] = None,
    periodic: Optional[str] = None,
    forcing_period: Optional[Union[str, Number]] = None,
    lyapunov: bool = False,
    continue_untrained: bool = False,
    params: Optional[Mapping[str, Union[Number, Sequence[Number]]]] = None,
    x: Optional[str] = None,
    y: Optional[str] = None,
    dynamics: Optional[str] = None,
    lr: Optional[Number] = None,
    momentum: Optional[Number] = None,
    beta1: Optional[Number] = None,
    beta2: Optional[Number] = None,
    eps: Optional[Number] = None,
    weight_decay: Optional[Number] = None,
    dt: Optional[Number] = None,
    steps: Optional[int] = None,
    tol: Optional[Number] = None,
    bound: Optional[Number] = None,
    precision: Optional[str] = None,
    temperature: Optional[Number] = None,
    escape: Optional[Number] = None,
    samples: Optional[int] = None,
    seed: Optional[int] = None,
    uniform: Optional[int] = None,
    starts: Optional[Union[PathLike, ArrayLike]] = None,
    data_x: Optional[Union[PathLike, ArrayLike]] = None,
    data_y: Optional[Union[PathLike, ArrayLike]] = None,
    data_xx: Optional[Union[PathLike, ArrayLike]] = None,
    shared_init: bool = False,
    weights: Optional[Mapping[str, ArrayLike]] = None,
    observe: Optional[Sequence[str]] = None,
    activation: Optional[str] = None,
    gain: Optional[Number] = None,
    parameterisation: Optional[str] = None,
    engine: Optional[str] = None,
    title: Optional[str] = None,
    dpi: Optional[Number] = None,
    formats: Optional[Sequence[str]] = None,
    figure_size: Optional[Tuple[Number, Number]] = None,
    colour_map: Optional[str] = None,
) -> "Map":
    """Computes a map: every start of the grid (or every sampled start) run to where it ends,
    labelled by the attractor it reached.

    ``scenario`` is a TOML scenario file's path, a dict of the same shape
    (``{"system": "landau", "x": "r=-0.25:0.5:64", "params": {"u": -1.0}}``), or ``None`` for
    the default map (with ``system=``: that system's defaults). Every other keyword overrides
    the scenario as the command line's flag of the same name does (see ``basinmap run --help``):
    ``x="lr=1e-3:1:256:log"``, ``dynamics="adam"``, ``params={"u": -1}``, ``samples=8``, ...

    Numbers that the command line reads from files may be given as arrays: ``starts`` (N rows
    of the state variables in order), a network's ``data_x`` (n rows of inputs), ``data_y`` (n
    targets) and a deep-linear net's ``data_xx`` (E[xxᵀ]); they are passed as .npy files named
    by their content, kept in ``~/.cache/basinmap/arrays`` (or ``$BASINMAP_ARRAYS``), which
    run.json's scenario names.
    ``weights={"W1": W1, "U": U}`` sets a network's start weights (the parameters ``W1_i_k``
    and ``U_k``; the random draw of ``init_scale`` is added to them).

    ``out``: also write every file ``basinmap run -o OUT`` writes (:meth:`Map.save`).
    ``progress``: ``True`` for a tqdm bar (where tqdm is installed), or a function called with
    ``(done, total)`` trajectories.
    ``refine``: ``True`` integrates the map at full resolution only near its boundaries and
    fills the rest (``basinmap run --refine``: the same labels; steps and observables of filled
    starts are their cell's); a power of two sets the coarse spacing (``--refine=SPACING``).
    ``m.report["refine"]`` says what was integrated.

    The interpreter lock is released while the engines run, so several maps can be computed in
    threads at once; Ctrl-C raises :class:`KeyboardInterrupt` within a fraction of a second.

    >>> import basinmap
    >>> m = basinmap.run(x="r=-0.25:0.5:32", y="m=-1.5:1.5:32", engine="cpu")
    >>> m.labels.shape, m.labels.dtype
    ((32, 32), dtype('int32'))
    >>> sorted(a["kind"] for a in m.attractors)
    ['fixed', 'fixed', 'fixed']
    """
    settings = {k: v for k, v in locals().items() if k in SETTINGS or k in _EXTRA}
    # Checked before anything is made: a spacing the library refuses (0, 12) is its error.
    refine_spacing: Optional[int] = None
    if isinstance(refine, (int, np.integer)) and not isinstance(refine, (bool, np.bool_)):
        if refine < 0:
            raise ScenarioError(f"--refine={refine}: the coarse spacing is a power of two from 2 to 1024")
        refine, refine_spacing = True, int(refine)
    elif not isinstance(refine, (bool, np.bool_)):
        raise TypeError(f"refine={refine!r}: expected True, False or a coarse spacing in pixels (a power of two)")
    base, source = _base(scenario)
    flags = _flags(settings)
    if out is not None:
        # Checked for writing before the work (its earlier outputs stay until the map is saved).
        Path(out).mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=out).close()
    close: Callable[[], None] = lambda: None
    callback: Optional[Callable[[int, int], None]]
    if progress is True:
        callback, close = _progress_bar()
    elif callable(progress):
        callback = progress
    else:
        callback = None
    try:
        native = _native.run_map(base, source, flags, callback, bool(refine), refine_spacing)
    finally:
        close()
    result = Map(native)
    if out is not None:
        result.save(out)
    return result


def _number(text: str, whole: bool) -> Any:
    if text == "":
        return None
    try:
        return int(text) if whole else float(text)
    except ValueError:
        return text


#: attractors.csv's columns that hold whole numbers; the other numeric ones are floats.
_WHOLE = {"id", "period", "count"}
_TEXT = {"kind", "stability", "phase", "colour"}


def _attractors(text: str) -> List[Dict[str, Any]]:
    rows = []
    for row in csv.DictReader(io.StringIO(text)):
        rows.append({k: (v if k in _TEXT else _number(v, k in _WHOLE)) for k, v in row.items()})
    return rows


class Map:
    """A labelled map held in memory: its arrays (numpy), attractors and run record.

    ``m.labels`` (the attractor id of each start), ``m.steps`` (steps each took) and every other
    array of the run's .npy files by name (``m["loss"]``, ``m["lyapunov"]``); ``m.fractions``
    where there are several samples per point; ``m.coords`` the axes' coordinates (axes.npz);
    ``m.attractors`` the rows of attractors.csv; ``m.warnings``, ``m.counts``, ``m.engine`` and
    ``m.report`` (run.json). Arrays have the files' shapes: (ny, nx), (ny, nx, samples) with
    several samples, (n,) for sampled starts.
    """

    def __init__(self, native: Any = None, *, directory: Optional[PathLike] = None) -> None:
        self._native = native
        #: The run's directory, for a map read back with :func:`load`.
        self.directory = None if directory is None else Path(directory)
        if native is not None:
            #: Every array of the run's .npy files, by name (labels, steps, observables, ...).
            self.arrays: Dict[str, np.ndarray] = dict(native.arrays())
            #: The coordinates of the arrays' dimensions (axes.npz): y's values, x's, ``sample``.
            self.coords: Dict[str, np.ndarray] = dict(native.axes())
            #: run.json's record (its ``files`` list is filled by :meth:`save`).
            self.report: Dict[str, Any] = json.loads(native.report_json())
            #: The attractors, one dict per row of attractors.csv (id, kind, stability, period,
            #: cycle_time, phase, count, fraction, fraction_se, colour, and each observable's
            #: value, minimum and maximum).
            self.attractors: List[Dict[str, Any]] = _attractors(native.attractors_csv())
            return
        if self.directory is None:
            raise TypeError("Map: give the run's directory (or use basinmap.run or basinmap.load)")
        d = self.directory
        try:
            self.report = json.loads((d / "run.json").read_text())
            npys = [f for f in self.report["files"] if f.endswith(".npy")]
            self.arrays = {f[: -len(".npy")]: np.load(d / f) for f in npys}
            with np.load(d / "axes.npz") as axes:
                self.coords = {name: axes[name] for name in axes.files}
            self.attractors = _attractors((d / "attractors.csv").read_text())
        except (OSError, ValueError, KeyError) as e:
            raise ScenarioError(f"{d}: not a complete basinmap run ({e})") from e

    @property
    def labels(self) -> np.ndarray:
        """The id of the attractor each trajectory reached (int32; ids index :attr:`attractors`)."""
        return self.arrays["labels"]

    @property
    def steps(self) -> np.ndarray:
        """The steps each trajectory took (uint32)."""
        return self.arrays["steps"]

    @property
    def fractions(self) -> Optional[np.ndarray]:
        """With several samples per point: the share of each attractor per point, (ny, nx, attractors)."""
        return self.arrays.get("fractions")

    @property
    def observables(self) -> List[str]:
        """The names of the observables, each an array of the map (``m[name]``)."""
        return list(self.report["observables"])

    @property
    def warnings(self) -> List[str]:
        """What the run warns about (the command line prints them as ``warning:`` lines)."""
        return list(self.report["warnings"])

    @property
    def counts(self) -> Dict[str, Any]:
        """How many trajectories ended each way (converged, diverged, on cycles, ...)."""
        return dict(self.report["counts"])

    @property
    def engine(self) -> Dict[str, Any]:
        """The engine that ran the map: kind, device, detail."""
        return dict(self.report["engine"])

    @property
    def scenario(self) -> Dict[str, Any]:
        """The scenario as run, every setting resolved (as run.json records it)."""
        return dict(self.report["scenario"])

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return self.arrays[name]
        except KeyError:
            raise KeyError(f"{name!r}: this map's arrays are {', '.join(self.arrays)}") from None

    def __contains__(self, name: object) -> bool:
        return name in self.arrays

    def __iter__(self) -> Iterator[str]:
        return iter(self.arrays)

    def __repr__(self) -> str:
        shape = "x".join(str(s) for s in self.labels.shape)
        kinds = ", ".join(f"{a['id']}: {a['kind']} {a['fraction']:.3f}" for a in self.attractors[:6])
        more = ", ..." if len(self.attractors) > 6 else ""
        return f"<basinmap.Map {shape}, {len(self.attractors)} attractors ({kinds}{more})>"

    def save(self, out: PathLike) -> List[str]:
        """Writes every file ``basinmap run -o OUT`` writes (arrays, images, attractors.csv,
        run.json) to the directory ``out``; returns the files' names."""
        if self._native is None:
            assert self.directory is not None
            _copy_outputs(self.directory, Path(out), self.report["files"])
            return list(self.report["files"])
        files: List[str] = self._native.save(os.fspath(out))
        self.report["files"] = files
        return files

    def __reduce__(self) -> Tuple[Any, ...]:
        # Through the run's files (as Map.save writes them), so a map pickles whole, e.g. as a
        # Dask task's result: unpickled, it is a map read back with load() from a temporary
        # directory that lives as long as it does.
        if self._native is not None:
            with tempfile.TemporaryDirectory(prefix="basinmap-pickle-") as d:
                files = self._native.save(d)
                contents = _read_outputs(Path(d), files)
        else:
            assert self.directory is not None
            contents = _read_outputs(self.directory, self.report["files"])
        return (_map_from_outputs, (contents,))

    def _dims(self) -> List[str]:
        """The arrays' dimension names: the axes' names, ``sample``; ``start`` for sampled starts."""
        names = list(self.coords)
        if self.labels.ndim == 1:
            return ["start"]
        if self.labels.ndim == len(names) + 1:  # a 1-D scan: one row
            return ["row", *names]
        return names

    def to_xarray(self) -> Any:
        """The map as an ``xarray.Dataset`` (needs xarray): every array with the axes as
        coordinates (a sampled run's columns along ``start``); a 1-D scan's single row dropped.
        An observable named as an axis (a state variable: the axis holds its starting value) is
        ``NAME_end``."""
        import xarray as xr

        dims = self._dims()
        sampled = dims == ["start"]
        data = {}
        for name, array in self.arrays.items():
            # A state variable on an axis is a coordinate (its starting value) and an observable
            # (its value at the end): the observable is NAME_end here.
            key = f"{name}_end" if name in self.coords else name
            if name == "fractions":
                data[key] = ([d for d in dims if d != "sample"] + ["attractor"], array)
            else:
                data[key] = (dims, array)
        coords: Dict[str, Any] = dict(self.coords)
        if sampled:
            coords = {name: ("start", values) for name, values in self.coords.items()}
        coords["attractor"] = np.array([a["id"] for a in self.attractors])
        ds = xr.Dataset(data, coords=coords, attrs={"title": self.report["scenario"].get("title") or "", "basinmap": self.report["basinmap"]})
        if "row" in dims:
            ds = ds.squeeze("row", drop=True)
        return ds

    def attractors_frame(self) -> Any:
        """The attractors as a ``pandas.DataFrame`` indexed by id (needs pandas)."""
        import pandas as pd  # type: ignore[import-untyped, unused-ignore]

        return pd.DataFrame(self.attractors).set_index("id")

    def basin_rgb(self) -> Optional[np.ndarray]:
        """The basin image as basins.png holds it: (ny, nx, 3) uint8, y upward (row 0 is the top),
        each attractor's colour shaded by how fast its trajectories settled."""
        if self._native is None:
            png = self._repr_png_()
            if png is None:
                return None
            import matplotlib.image

            decoded = matplotlib.image.imread(io.BytesIO(png), format="png")
            return np.asarray(np.round(decoded[:, :, :3] * 255), dtype=np.uint8)
        rgb: Optional[np.ndarray] = self._native.basin_rgb()
        return rgb

    def trainability(self) -> Optional[Tuple[np.ndarray, List[Tuple[str, str]]]]:
        """A training map's (mlp, deep-linear) trainability image as trainability.png holds it,
        (ny, nx, 3) uint8 with y upward -- blue trained, red not, darker faster -- and its legend
        as (colour, text) pairs; None for other maps (and for maps read back with :func:`load`)."""
        if self._native is None:
            return None
        result: Optional[Tuple[np.ndarray, List[Tuple[str, str]]]] = self._native.trainability_rgb()
        return result

    def plot(self, ax: Any = None, view: str = "auto") -> Any:
        """Draws the map with the command line's colours and legend on a matplotlib axes (a new
        figure's if ``ax`` is None, with the legend beside it); returns the axes. ``view``: ``"basins"`` (the attractors),
        ``"trainability"`` (a training map: trained or not), or ``"auto"``: trainability where
        there is one, basins otherwise."""
        import matplotlib.pyplot as plt
        from matplotlib.patches import Patch

        own = ax is None
        if ax is None:
            _, ax = plt.subplots(figsize=(8.2, 5.5), layout="constrained")
        if view not in ("auto", "basins", "trainability"):
            raise ValueError(f"view {view!r}: 'auto', 'basins' or 'trainability'")
        trainability = self.trainability() if view != "basins" else None
        if view == "trainability" and trainability is None:
            raise ValueError("view 'trainability': this map has no trainability image (not a training map)")
        rgb = trainability[0] if trainability is not None else self.basin_rgb()
        scenario = self.report["scenario"]
        if rgb is None:
            names = list(self.coords)
            colours = np.array([self.attractors[label]["colour"] for label in self.labels.ravel()]) if len(self.attractors) else None
            ax.scatter(self.coords[names[0]], self.coords[names[-1]], c=colours, s=4)
            ax.set_xlabel(names[0])
            ax.set_ylabel(names[-1])
        else:
            x = _axis_values(self.coords, scenario["x"])
            y = _axis_values(self.coords, scenario.get("y"))
            x_log = str(scenario["x"]).endswith(":log")
            y_log = y is not None and str(scenario["y"]).endswith(":log")
            if x_log or y_log:
                # Each pixel spans its cell's edges on the log axis (imshow would resample).
                ax.pcolormesh(_cell_edges(x, x_log), _cell_edges(y, y_log), rgb[::-1], shading="flat")
                ax.set_xscale("log" if x_log else "linear")
                ax.set_yscale("log" if y_log else "linear")
            else:
                xe, ye = _cell_edges(x, False), _cell_edges(y, False)
                extent = (float(xe[0]), float(xe[-1]), float(ye[0]), float(ye[-1]))
                ax.imshow(rgb, extent=extent, origin="upper", aspect="auto", interpolation="nearest")
            ax.set_xlabel(_axis_name(scenario["x"]))
            if y is not None:
                ax.set_ylabel(_axis_name(scenario["y"]))
        if trainability is not None:
            handles = [Patch(color=colour, label=text) for colour, text in trainability[1]]
        else:
            handles = [Patch(color=a["colour"], label=_legend_label(a, self.observables)) for a in self.attractors[:12]]
        if handles and own:
            # Beside the map, in the space the constrained layout leaves for it.
            ax.figure.legend(handles=handles, loc="outside right upper", fontsize="small", frameon=False)
        elif handles:
            ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)
        ax.set_title(scenario.get("title") or "")
        return ax

    def _repr_png_(self) -> Optional[bytes]:
        """basins.png, for a notebook's display of a map."""
        if self._native is None:
            assert self.directory is not None
            path = self.directory / "basins.png"
            return path.read_bytes() if path.exists() else None
        png: Optional[bytes] = self._native.basins_png()
        return png


def load(directory: PathLike) -> Map:
    """A run's directory (``basinmap run -o DIR``, :func:`merge`, :meth:`Map.save`) read back as a
    :class:`Map`: its arrays, coordinates, attractors and run.json.

    >>> import basinmap, tempfile
    >>> d = tempfile.mkdtemp()
    >>> m = basinmap.run(x="r=-0.25:0.5:32", y="m=-1.5:1.5:32", engine="cpu", formats=["png"], out=d)
    >>> basinmap.load(d).labels.tobytes() == m.labels.tobytes()
    True
    """
    return Map(directory=directory)


#: The list of the files basinmap wrote in an output directory (io/mod.rs), kept beside them.
_OUTPUTS_LIST = ".basinmap-outputs"


def _copy_outputs(directory: Path, target: Path, files: Sequence[str]) -> None:
    """Copies a command's outputs in ``directory`` (its files, folders ending in '/', and the list
    of outputs) to ``target``, whose earlier outputs are removed first as the command line does;
    nothing to do where ``target`` is ``directory``."""
    if target.resolve() == directory.resolve():
        return
    _native.prepare_output(os.fspath(target))
    for name in [_OUTPUTS_LIST, *files]:
        source = directory / name.rstrip("/")
        if source.is_dir():
            shutil.copytree(source, target / name.rstrip("/"))
        elif source.exists():
            shutil.copy2(source, target / name)


def _read_outputs(directory: Path, files: Sequence[str]) -> Dict[str, bytes]:
    """The bytes of a run's outputs in ``directory`` (its files; every file in its folders, which
    end in '/'; the list of outputs), by path relative to it."""
    contents: Dict[str, bytes] = {}
    for name in [*files, _OUTPUTS_LIST]:
        path = directory / name.rstrip("/")
        if path.is_dir():
            contents.update({p.relative_to(directory).as_posix(): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()})
        elif path.is_file():
            contents[name] = path.read_bytes()
    return contents


def _map_from_outputs(contents: Mapping[str, bytes]) -> Map:
    """A pickled :class:`Map`: its outputs written to a temporary directory (removed with the
    map) and read back."""
    directory = Path(tempfile.mkdtemp(prefix="basinmap-map-"))
    try:
        for name, data in contents.items():
            path = directory / name
            if Path(name).is_absolute() or ".." in Path(name).parts:
                raise ScenarioError(f"a pickled map names the file {name!r} outside its directory")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        m = Map(directory=directory)
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    weakref.finalize(m, shutil.rmtree, directory, True)
    return m


def _axis_name(axis: str) -> str:
    return str(axis).split("=", 1)[0]


def _axis_values(coords: Mapping[str, np.ndarray], axis: Optional[str]) -> Optional[np.ndarray]:
    if axis is None:
        return None
    return coords.get(_axis_name(axis))


def _cell_edges(values: Optional[np.ndarray], log: bool) -> np.ndarray:
    """The edges of the cells centred on an axis's values (geometric midpoints on a log axis);
    [0, 1] for a missing axis."""
    if values is None or len(values) == 0:
        return np.array([0.0, 1.0])
    v = np.log(values) if log else np.asarray(values, dtype=np.float64)
    if len(v) == 1:
        edges = np.array([v[0] - 0.5, v[0] + 0.5])
    else:
        mid = 0.5 * (v[1:] + v[:-1])
        edges = np.concatenate([[2 * v[0] - mid[0]], mid, [2 * v[-1] - mid[-1]]])
    return np.exp(edges) if log else edges


def _legend_label(a: Mapping[str, Any], observables: Sequence[str]) -> str:
    where = ", ".join(f"{n}={a[n]:.3g}" for n in observables[:2] if isinstance(a.get(n), float))
    return f"{a['id']}: {a['kind']} ({a['fraction']:.1%}){' ' + where if where else ''}"


def systems() -> List[Dict[str, Any]]:
    """The built-in systems: name, summary, formula, state (name, default, doc), parameters
    (name, default, doc, integer), observables and default axes of each (``basinmap systems``).

    >>> import basinmap
    >>> [s["name"] for s in basinmap.systems()]
    ['linear', 'landau', 'effective', 'deep-linear', 'mlp']
    """
    systems: List[Dict[str, Any]] = json.loads(_native.systems_json())
    return systems
