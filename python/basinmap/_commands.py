"""The other commands from Python: ``sweep``, ``kramers``, ``trace``, ``landscape``, ``measure``,
``bench``, and the shards of a map (``run_shard``, ``merge``), each calling the library as the
command of the same name does.

Commands that write files compute into a fresh directory and move the files to ``out`` only when
they are complete: an error or Ctrl-C leaves nothing half-written. With ``out=None`` the files
stay in a temporary directory that lives as long as the result (``result.directory``).
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import tempfile
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, TypedDict, Union

import numpy as np

from . import _native
from ._maps import ArrayLike, Map, PathLike, Scenario, _OUTPUTS_LIST, _base, _check_settings, _copy_outputs, _flags, _progress_bar, load
from .errors import ScenarioError

if TYPE_CHECKING:
    # Only in annotations, which are not evaluated (typing_extensions may not be installed).
    from typing_extensions import Unpack

__all__ = ["Settings", "Sweep", "Kramers", "Trace", "Traced", "Landscape", "Orbit", "sweep", "kramers", "trace", "landscape", "orbit", "measure", "bench", "run_shard", "merge"]

Number = Union[int, float]


class Settings(TypedDict, total=False):
    """The keyword settings every command takes, as :func:`basinmap.run` documents them (each is
    the command line's flag of the same name)."""

    system: str
    loss: str
    field: str
    map: str
    wgsl: PathLike
    state: str
    periodic: str
    forcing_period: Union[str, Number]
    lyapunov: bool
    continue_untrained: bool
    params: Dict[str, Union[Number, Sequence[Number]]]
    x: str
    y: str
    dynamics: str
    lr: Number
    momentum: Number
    beta1: Number
    beta2: Number
    eps: Number
    weight_decay: Number
    dt: Number
    steps: int
    tol: Number
    bound: Number
    precision: str
    temperature: Number
    escape: Number
    samples: int
    seed: int
    uniform: int
    starts: Union[PathLike, ArrayLike]
    data_x: Union[PathLike, ArrayLike]
    data_y: Union[PathLike, ArrayLike]
    data_xx: Union[PathLike, ArrayLike]
    shared_init: bool
    weights: Mapping[str, ArrayLike]
    observe: Sequence[str]
    activation: str
    gain: Number
    parameterisation: str
    engine: str
    title: str
    dpi: Number
    formats: Sequence[str]
    figure_size: Tuple[Number, Number]
    colour_map: str


class _Files:
    """A command's files: in ``directory`` (``out``, or a temporary directory removed with the
    result)."""

    directory: Path
    files: List[str]

    def _keep(self, work: Path, out: Optional[PathLike], files: List[str]) -> None:
        """Takes the files the command wrote to ``work`` (see :func:`_in_fresh_directory`): moved
        into ``out``, or left in ``work``, which then lives as long as this result."""
        self.files = files
        if out is None:
            self.directory = work
            weakref.finalize(self, shutil.rmtree, work, True)
            return
        self.directory = Path(out)
        _move_outputs(work, self.directory, files)

    def save(self, out: PathLike) -> List[str]:
        """Copies the command's files to the directory ``out``; returns their names."""
        _copy_outputs(self.directory, Path(out), self.files)
        return list(self.files)


def _move_outputs(work: Path, out: Path, files: Sequence[str]) -> None:
    """Moves the complete outputs a command wrote to ``work`` (inside ``out``) into ``out``, once
    an earlier command's outputs there are removed (as the command line does before it writes):
    the list of outputs first, so that whatever is moved is recorded, then the files and folders
    (names ending in '/') by renaming. Removes ``work``, also when a move fails."""
    try:
        _native.prepare_output(os.fspath(out))
        for name in [_OUTPUTS_LIST, *files]:
            plain = name.rstrip("/")
            if (work / plain).exists():
                os.replace(work / plain, out / plain)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _in_fresh_directory(out: Optional[PathLike], command: Callable[[Path], Any]) -> Tuple[Path, Any]:
    """Runs ``command`` writing into a new temporary directory: inside ``out`` where given (which
    is created, and so checked for writing, before the work), so the files move in by renaming;
    else in the system's temporary folder. Removes it if the command fails or is interrupted:
    nothing half-written is left, and ``out``'s earlier outputs stay until the new ones are
    complete."""
    parent = None
    if out is not None:
        parent = Path(out)
        parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".basinmap-", dir=parent))
    try:
        return work, command(work)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


def _table(path: Path) -> Dict[str, np.ndarray]:
    """A CSV file's columns: numbers as float64 arrays (empty cells NaN), text as str arrays."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        return {}
    header, body = rows[0], rows[1:]
    columns: Dict[str, np.ndarray] = {}
    for k, name in enumerate(header):
        cells = [row[k] if k < len(row) else "" for row in body]
        try:
            columns[name] = np.array([float(c) if c != "" else np.nan for c in cells], dtype=np.float64)
        except ValueError:
            columns[name] = np.array(cells, dtype=str)
    return columns


def _progress(progress: Union[bool, Callable[[int, int], None]]) -> Tuple[Optional[Callable[[int, int], None]], Callable[[], None]]:
    if progress is True:
        return _progress_bar()
    if callable(progress):
        return progress, lambda: None
    return None, lambda: None


class Sweep(_Files):
    """The result of :func:`sweep`: transitions.json's record, the table of sweep.csv and the
    hysteresis branches of hysteresis.csv (where followed)."""

    def __init__(self, report: Dict[str, Any], work: Path, out: Optional[PathLike]) -> None:
        #: transitions.json: the sweep's summary, transitions, kind changes, hysteresis, timings.
        self.report = report
        self._keep(work, out, list(report["files"]))
        #: sweep.csv's columns: each value of the parameter with L and every fixed point.
        self.table = _table(self.directory / "sweep.csv")
        #: hysteresis.csv's columns (the branches followed up and down), if followed.
        self.hysteresis_table = _table(self.directory / "hysteresis.csv") if "hysteresis.csv" in self.files else None

    @property
    def transitions(self) -> List[Dict[str, Any]]:
        """Each transition: order, critical value, bracket, jumps, exponent."""
        return list(self.report["transitions"])

    @property
    def hysteresis(self) -> Optional[Dict[str, Any]]:
        """The hysteresis window and spinodals, if the branches were followed."""
        h: Optional[Dict[str, Any]] = self.report["hysteresis"]
        return h

    def __repr__(self) -> str:
        s = self.report["sweep"]
        return f"<basinmap.Sweep {s['values']} values of {s['parameter']}, {len(self.transitions)} transitions>"


def sweep(scenario: Scenario = None, *, out: Optional[PathLike] = None, order: Optional[str] = None, refine: int = 30, hysteresis: bool = True, progress: Union[bool, Callable[[int, int], None]] = False, **settings: Unpack[Settings]) -> Sweep:
    """``basinmap sweep``: one parameter (the x axis) scanned finely with many starts per value:
    the lowest loss and every fixed point per value, the transitions with their order, critical
    value (bisected ``refine`` times) and exponent, and the hysteresis window.

    >>> import basinmap
    >>> s = basinmap.sweep("examples/sweep/landau-first-order.toml", refine=20)
    >>> s.transitions[0]["order"], round(s.transitions[0]["critical"], 6)
    (1, 0.25)
    """
    _check_settings(settings)
    base, source = _base(scenario)
    callback, close = _progress(progress)
    try:
        flags = _flags(settings)
        work, report = _in_fresh_directory(out, lambda work: _native.sweep_run(base, source, flags, str(work), order, refine, hysteresis, callback))
    finally:
        close()
    return Sweep(json.loads(report), work, out)


class Kramers(_Files):
    """The result of :func:`kramers`: kramers.json's record (each temperature's escape statistics
    and the Arrhenius fit) and kramers.csv's table."""

    def __init__(self, report: Dict[str, Any], work: Path, out: Optional[PathLike]) -> None:
        #: kramers.json: the runs' escape statistics, the fit, timings.
        self.report = report
        self._keep(work, out, list(report["files"]))
        #: kramers.csv's columns.
        self.table = _table(self.directory / "kramers.csv")

    @property
    def fit(self) -> Dict[str, Any]:
        """The Arrhenius fit: barrier, its standard error, prefactor, the landscape's barrier."""
        f: Dict[str, Any] = self.report["fit"]
        return f

    def __repr__(self) -> str:
        return f"<basinmap.Kramers barrier {self.fit['barrier']:.4f} ± {self.fit['barrier_stderr']:.4f}>"


def kramers(scenario: Scenario = None, *, temperatures: Sequence[Number], out: Optional[PathLike] = None, progress: Union[bool, Callable[[int, int], None]] = False, **settings: Unpack[Settings]) -> Kramers:
    """``basinmap kramers``: the scenario's trajectories under Langevin noise at each temperature
    until they leave the ball of radius ``escape`` around their start, and ln(mean escape time)
    fitted against 1/T: the barrier (beside the landscape's own for 1-D systems).

    >>> import basinmap
    >>> k = basinmap.kramers("examples/noise/double-well.toml", temperatures=[0.4, 0.5, 0.7], samples=200)
    >>> k.fit["true_barrier"], round(k.fit["barrier"], 1)
    (1.0, 1.1)
    """
    _check_settings(settings)
    base, source = _base(scenario)
    temps = [float(t) for t in temperatures]
    callback, close = _progress(progress)
    try:
        flags = _flags(settings)
        work, report = _in_fresh_directory(out, lambda work: _native.kramers_run(base, source, flags, str(work), temps, callback))
    finally:
        close()
    return Kramers(json.loads(report), work, out)


class Traced:
    """One recorded trajectory: its label (its parameters and sample), how it ended, the step of
    each record and the records (``values[:, k]`` is column k of :attr:`Trace.columns`)."""

    def __init__(self, label: str, status: str, steps: np.ndarray, values: np.ndarray, columns: List[str]) -> None:
        self.label = label
        self.status = status
        self.steps = steps
        self.values = values
        self._columns = columns

    def __getitem__(self, column: str) -> np.ndarray:
        """The records of one column (an observable or ``grad_norm``)."""
        return self.values[:, self._columns.index(column)]

    def __repr__(self) -> str:
        return f"<basinmap.Traced {self.label!r} {self.status}, {len(self.steps)} records>"


class Trace(_Files):
    """The result of :func:`trace`: each trajectory's records (trace.csv) and its figures."""

    def __init__(self, columns: List[str], trajectories: List[Traced], files: List[str], work: Path, out: Optional[PathLike]) -> None:
        #: The recorded columns: the observables, then ``grad_norm``.
        self.columns = columns
        #: The recorded trajectories, one per grid point and sample.
        self.trajectories = trajectories
        self._keep(work, out, files)

    def __repr__(self) -> str:
        return f"<basinmap.Trace {len(self.trajectories)} trajectories of {', '.join(self.columns)}>"


def trace(scenario: Scenario = None, *, every: Optional[int] = None, out: Optional[PathLike] = None, **settings: Unpack[Settings]) -> Trace:
    """``basinmap trace``: a few trajectories (every grid point and sample, at most 64) recorded
    every ``every`` steps (default: about 2000 records each).

    >>> import basinmap
    >>> t = basinmap.trace(x="r=-0.2:0.4:3", y="m=0.5:1.2:2")
    >>> len(t.trajectories), t.columns, t.trajectories[0].status
    (6, ['m', 'loss', 'grad_norm'], 'converged')
    """
    _check_settings(settings)
    base, source = _base(scenario)
    flags = _flags(settings)
    work, (columns, rows, files) = _in_fresh_directory(out, lambda work: _native.trace_run(base, source, flags, str(work), every))
    return Trace(columns, [Traced(label, status, steps, values, columns) for label, status, steps, values in rows], files, work, out)


class Landscape(_Files):
    """The result of :func:`landscape`: the loss at every grid point (``loss``, (ny, nx) float64,
    as landscape.npy) with the axes' coordinates, and its figure."""

    def __init__(self, loss: np.ndarray, coords: Dict[str, np.ndarray], files: List[str], work: Path, out: Optional[PathLike]) -> None:
        self.loss = loss
        self.coords = coords
        self._keep(work, out, files)

    def __repr__(self) -> str:
        return f"<basinmap.Landscape {'x'.join(map(str, self.loss.shape))} over {', '.join(self.coords)}>"


def landscape(scenario: Scenario = None, *, out: Optional[PathLike] = None, **settings: Unpack[Settings]) -> Landscape:
    """``basinmap landscape``: the loss over the grid, without integrating (the paper's Fig. 2).

    >>> import basinmap
    >>> land = basinmap.landscape(x="r=-0.2:0.4:3", y="m=0.5:1.2:2")
    >>> land.loss.shape, round(float(land.loss[0, 0]), 6)  # r m² − m⁴ + m⁶ at r = −0.2, m = 0.5
    ((2, 3), -0.096875)
    """
    _check_settings(settings)
    base, source = _base(scenario)
    flags = _flags(settings)
    work, (loss, axes, files) = _in_fresh_directory(out, lambda work: _native.landscape_run(base, source, flags, str(work)))
    return Landscape(loss, dict(axes), files, work, out)


#: The side in pixels of the basin entropy's boxes (as ``basinmap measure --box``).
ENTROPY_BOX = 5


def measure(labels: Union[np.ndarray, PathLike, Map], *, box: int = ENTROPY_BOX, fit_range: Optional[Tuple[int, int]] = None) -> Dict[str, Any]:
    """``basinmap measure``: the boundary fraction, basin entropy and box-counting dimension of a
    2-D map's basin boundary, from an array of integer labels ((ny, nx), or (ny, nx, samples):
    each point's majority label), a :class:`Map`, a run's directory or a labels .npy file. The
    measures are the ones boundary.json holds.

    >>> import basinmap, numpy as np
    >>> b = basinmap.measure(np.eye(8, dtype=int))  # a diagonal line of one label in another
    >>> b["labels"], b["boundary_fraction"]
    (2, 0.34375)
    """
    if isinstance(labels, Map):
        array = labels.labels
    elif isinstance(labels, (str, os.PathLike)):
        path = Path(labels)
        array = np.load(path / "labels.npy" if path.is_dir() else path)
    else:
        array = np.asarray(labels)
    if array.dtype.kind not in "iuf":
        raise ScenarioError("labels must be whole numbers >= 0")
    values = np.ascontiguousarray(array, dtype=np.float64).ravel()
    fit = None if fit_range is None else (int(fit_range[0]), int(fit_range[1]))
    measures: Dict[str, Any] = json.loads(_native.measure_values(values, list(array.shape), int(box), fit))
    return measures


class Orbit(_Files):
    """The result of :func:`orbit`: the orbit diagram's kept values, each trajectory's period and
    exponent, and the period changes bisected along the parameter."""

    def __init__(self, result: Tuple[Any, ...], work: Path, out: Optional[PathLike]) -> None:
        parameter, x, variable, values, periods, diverged, lyapunov, changes, files = result
        #: The parameter on the x axis and its values.
        self.parameter: str = parameter
        self.x: np.ndarray = x
        #: The drawn observable, and its kept values: (x values, starts, kept steps), float32.
        self.variable: str = variable
        self.values: np.ndarray = values
        #: Each trajectory's period (x values, starts): 0 where none was found up to max_period.
        self.periods: np.ndarray = periods
        #: Which trajectories left the bound or went non-finite.
        self.diverged: np.ndarray = diverged
        #: λ₁ per step along each kept orbit (with ``lyapunov=True``), else None.
        self.lyapunov: Optional[np.ndarray] = lyapunov
        #: The period doublings, windows and onset of divergence, bisected in x.
        self.changes: List[Dict[str, Any]] = json.loads(changes)
        self._keep(work, out, list(files))

    def __repr__(self) -> str:
        return f"<basinmap.Orbit {len(self.x)} values of {self.parameter} x {self.values.shape[1]} starts, {len(self.changes)} period changes>"


def orbit(scenario: Scenario = None, *, keep: int = 256, max_period: int = 64, variable: Optional[str] = None, period_tol: Optional[float] = None, out: Optional[PathLike] = None, **settings: Unpack[Settings]) -> Orbit:
    """``basinmap orbit``: the orbit (bifurcation) diagram over the x axis (a parameter or a setting
    such as lr): each value and start stepped ``steps`` as a transient, then ``keep`` steps kept;
    periods up to ``max_period``, the period changes bisected in x, and with ``lyapunov=True``
    the largest Lyapunov exponent along each kept orbit.

    >>> import basinmap
    >>> o = basinmap.orbit("examples/orbit/logistic.toml", x="r=2.8:4:120", keep=128)
    >>> int(o.periods[0, 0]), int(o.periods[-1, 0]), o.changes[0]["change"], round(o.changes[0]["at"], 4)
    (1, 0, 'period 1 → 2', 3.0)
    """
    _check_settings(settings)
    base, source = _base(scenario)
    flags = _flags(settings)
    work, result = _in_fresh_directory(out, lambda work: _native.orbit_run(base, source, flags, str(work), int(keep), int(max_period), variable, period_tol))
    return Orbit(result, work, out)


def bench(workloads: Sequence[str] = ("w1", "w2", "w3", "w3-adam"), *, engines: Optional[Sequence[str]] = None, size: Optional[int] = None, repeats: int = 3) -> List[Dict[str, Any]]:
    """``basinmap bench --json``: each workload timed on each engine (default: the CPU engine, and
    the GPU engine where wgpu finds a hardware GPU): medians, rates, GFLOP/s, fraction of peak.

    >>> import basinmap
    >>> [r] = basinmap.bench(["w1"], engines=["cpu"], size=16, repeats=1)
    >>> r["engine"], r["grid"]
    ('cpu', [16, 16])
    """
    results: List[Dict[str, Any]] = json.loads(_native.bench_run(list(workloads), None if engines is None else list(engines), size, repeats))
    return results


def run_shard(scenario: Scenario, k: int, n: int, out: PathLike, *, progress: Union[bool, Callable[[int, int], None]] = False, **settings: Unpack[Settings]) -> Dict[str, Any]:
    """``basinmap run --shard K/N``: the K-th of N contiguous parts of the map, its raw outcomes
    written to ``out`` (for :func:`merge`); returns shard.json's record. Shards run anywhere
    (other processes, other machines, a Dask cluster) and merge into exactly one run's outputs."""
    _check_settings(settings)
    base, source = _base(scenario)
    callback, close = _progress(progress)
    try:
        flags = _flags(settings)
        work, text = _in_fresh_directory(out, lambda work: _native.shard_run(base, source, flags, int(k), int(n), str(work), callback))
    finally:
        close()
    info: Dict[str, Any] = json.loads(text)
    _move_outputs(work, Path(out), info["files"])
    return info


def merge(shards: Sequence[PathLike], out: PathLike) -> Map:
    """``basinmap merge``: the N shards' directories (any order) joined into the outputs of one
    run of the whole map in ``out``, returned as a :class:`Map`.

    >>> import basinmap, os, tempfile
    >>> d = tempfile.mkdtemp()
    >>> parts = [os.path.join(d, "part", str(k)) for k in (1, 2)]
    >>> infos = [basinmap.run_shard(None, k, 2, p, x="r=-0.25:0.5:32", y="m=-1.5:1.5:32", engine="cpu") for k, p in enumerate(parts, 1)]
    >>> [i["range"] for i in infos]
    [[0, 512], [512, 1024]]
    >>> basinmap.merge(parts, os.path.join(d, "map")).labels.shape
    (32, 32)
    """
    paths = [os.fspath(s) for s in shards]
    # Checked before ``out`` is made ready (which would remove a shard's files).
    if any(Path(p).resolve() == Path(out).resolve() for p in paths):
        raise ScenarioError(f"merge: out {os.fspath(out)} is one of the shards; write the merged map to another directory")
    work, report = _in_fresh_directory(out, lambda work: _native.merge_run(paths, str(work)))
    _move_outputs(work, Path(out), json.loads(report)["files"])
    return load(out)

