"""The Python package against the command line: the same scenarios give the same arrays and
files, keywords are flags, errors are exceptions, and maps run in threads and stop on Ctrl-C."""

from __future__ import annotations

import _thread
import concurrent.futures
import inspect
import json
import pickle
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import basinmap

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"


def cli() -> str:
    """The `basinmap` command pip installed beside this interpreter."""
    path = Path(sys.executable).parent / "basinmap"
    assert path.exists(), f"pip did not install the basinmap command at {path}"
    return str(path)


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([cli(), *args], capture_output=True, text=True, cwd=cwd, check=False)


def assert_same_as_cli(m: basinmap.Map, cli_dir: Path, saved: Path) -> None:
    """Every array of the CLI's .npy files equals the map's, bit for bit; the map's saved files
    are the CLI's byte for byte (run.json apart: it holds timings)."""
    npys = sorted(p.stem for p in cli_dir.glob("*.npy"))
    assert npys == sorted(m.arrays), (npys, sorted(m.arrays))
    for name in npys:
        expected = np.load(cli_dir / f"{name}.npy")
        got = m[name]
        assert got.dtype == expected.dtype and got.shape == expected.shape, name
        assert got.tobytes() == expected.tobytes(), f"{name}.npy differs"
    with np.load(cli_dir / "axes.npz") as axes:
        assert list(axes.keys()) == list(m.coords)
        for name, values in m.coords.items():
            assert axes[name].tobytes() == values.tobytes()
    cli_files = sorted(p.name for p in cli_dir.iterdir())
    assert sorted(p.name for p in saved.iterdir()) == cli_files
    for name in cli_files:
        if name != "run.json":
            assert (saved / name).read_bytes() == (cli_dir / name).read_bytes(), f"{name} differs"
    cli_run = json.loads((cli_dir / "run.json").read_text())
    py_run = json.loads((saved / "run.json").read_text())
    for key in ("scenario", "grid", "observables", "counts", "attractors", "boundary", "warnings", "files"):
        assert py_run[key] == cli_run[key], key
    assert m.report["scenario"] == cli_run["scenario"]


def test_the_default_map_with_keywords_is_the_cli_s_with_flags(tmp_path: Path) -> None:
    flags = ["--x", "r=-0.25:0.5:48", "--y", "m=-1.5:1.5:40", "--engine", "cpu", "--lr", "0.05",
             "--param", "u=-1.5", "--observe", "sharpness", "--format", "png,svg", "--title", "a Landau map"]  # fmt: skip
    done = run_cli("run", "-q", "-o", str(tmp_path / "cli"), *flags)
    assert done.returncode == 0, done.stderr
    m = basinmap.run(x="r=-0.25:0.5:48", y="m=-1.5:1.5:40", engine="cpu", lr=0.05, params={"u": -1.5},
                     observe=["sharpness"], formats=["png", "svg"], title="a Landau map", out=tmp_path / "py")  # fmt: skip
    assert m.labels.shape == (40, 48) and m.labels.dtype == np.int32
    assert m.steps.dtype == np.uint32
    assert m.fractions is None
    assert "sharpness" in m.observables and m["sharpness"].shape == (40, 48)
    assert_same_as_cli(m, tmp_path / "cli", tmp_path / "py")
    # Three fixed points (m = 0 and the two ordered minima), as the CLI's attractors.csv says.
    kinds = [a["kind"] for a in m.attractors]
    assert kinds.count("fixed") >= 3
    assert abs(sum(a["fraction"] for a in m.attractors) - 1) < 1e-5


def test_a_network_map_with_samples_is_the_cli_s(tmp_path: Path) -> None:
    scenario = EXAMPLES / "paper" / "fig4-init-map.toml"
    flags = ["--x", "gamma=0.005:0.3:10", "--y", "init_scale=0.003:0.5:8:log", "--samples", "3", "--steps", "4000", "--format", "png"]
    done = run_cli("run", str(scenario), "-q", "-o", str(tmp_path / "cli"), *flags)
    assert done.returncode == 0, done.stderr
    m = basinmap.run(scenario, x="gamma=0.005:0.3:10", y="init_scale=0.003:0.5:8:log", samples=3, steps=4000, formats=["png"])
    m.save(tmp_path / "py")
    assert m.labels.shape == (8, 10, 3)
    assert m.fractions is not None and m.fractions.shape == (8, 10, len(m.attractors))
    np.testing.assert_allclose(m.fractions.sum(axis=2), 1.0, atol=1e-6)
    assert_same_as_cli(m, tmp_path / "cli", tmp_path / "py")
    ds = m.to_xarray()
    assert ds["labels"].dims == ("init_scale", "gamma", "sample")
    assert ds["fractions"].dims == ("init_scale", "gamma", "attractor")
    np.testing.assert_array_equal(ds["gamma"].values, m.coords["gamma"])


def test_sampled_starts_are_one_dimensional(tmp_path: Path) -> None:
    done = run_cli("run", "-q", "-o", str(tmp_path / "cli"), "--uniform", "300", "--seed", "7", "--engine", "cpu", "--format", "png")
    assert done.returncode == 0, done.stderr
    m = basinmap.run(uniform=300, seed=7, engine="cpu", formats=["png"], out=tmp_path / "py")
    assert m.labels.shape == (300,)
    assert m.basin_rgb() is None and m._repr_png_() is None
    assert_same_as_cli(m, tmp_path / "cli", tmp_path / "py")
    ds = m.to_xarray()
    assert ds["labels"].dims == ("start",) and set(m.coords) <= set(ds.coords)


def test_refine_is_the_command_lines_refine_and_labels_as_a_full_run(tmp_path: Path) -> None:
    axes: dict[str, Any] = dict(x="r=-0.25:0.5:512", y="m=-1.5:1.5:512", engine="cpu")
    m = basinmap.run(**axes, refine=True)
    r = m.report["refine"]
    assert 0 < r["computed"] < r["trajectories"] // 3 and r["checked"] > 0 and not r["fell_back"]
    assert m.labels.tobytes() == basinmap.run(**axes).labels.tobytes()
    run_cli("run", "--x", axes["x"], "--y", axes["y"], "--engine", "cpu", "--refine", "-q", "-o", str(tmp_path / "cli"))
    m.save(tmp_path / "py")
    assert_same_as_cli(m, tmp_path / "cli", tmp_path / "py")
    assert json.loads((tmp_path / "cli" / "run.json").read_text())["refine"] == r
    assert basinmap.run(**axes, refine=8).report["refine"]["spacing"] == [1, 8]
    for spacing in (12, 0, -4):
        with pytest.raises(basinmap.ScenarioError, match="power of two"):
            basinmap.run(**axes, refine=spacing)
    with pytest.raises(TypeError, match="refine"):
        basinmap.run(**axes, refine="yes", out=tmp_path / "never")  # type: ignore[arg-type]
    assert not (tmp_path / "never").exists()


def test_every_flag_of_run_is_a_keyword() -> None:
    text = run_cli("run", "--help").stdout
    flags = set(re.findall(r"^\s+(?:-\w, )?--([a-z0-9-]+)", text, re.M))
    run_only = {"emit-wgsl", "output", "shard", "resume", "stream", "devices", "quiet", "help", "param", "format"}
    keywords = {k.replace("_", "-") for k in basinmap.SETTINGS} - {"params", "formats"}
    # How to run, not what: run()'s own keywords beside the settings.
    how = {"refine"}
    assert how <= set(inspect.signature(basinmap.run).parameters)
    assert flags - run_only - how == keywords, (flags - run_only - how) ^ keywords


def test_a_dict_is_the_toml_file_it_holds() -> None:
    path = EXAMPLES / "paper" / "fig4-init-map.toml"
    with open(path, "rb") as f:
        table = tomllib.load(f)
    assert basinmap.resolve(table, lr=0.02) == basinmap.resolve(path, lr=0.02)
    assert basinmap.resolve(path) != basinmap.resolve(path, lr=0.02)


def test_errors_are_exceptions_with_the_cli_s_messages(tmp_path: Path) -> None:
    with pytest.raises(basinmap.ScenarioError, match="r=0:1"):
        basinmap.run(x="r=0:1")
    with pytest.raises(basinmap.ScenarioError, match="--lr"):
        basinmap.resolve(lr="fast")
    with pytest.raises(basinmap.ScenarioError):
        basinmap.run(tmp_path / "missing.toml")
    with pytest.raises(basinmap.FormulaError) as caught:
        basinmap.run(loss="m^2 + q*m", state="m", x="m=-1:1:4", engine="cpu")
    e = caught.value
    assert isinstance(e, basinmap.ScenarioError) and isinstance(e, ValueError)
    assert (e.line, e.column, e.width) == (1, 7, 1) and "q" in e.message
    assert e.caret == "  m^2 + q*m\n        ^"
    assert e.caret in str(e)
    # The CLI's message is the same text.
    done = run_cli("run", "--loss", "m^2 + q*m", "--state", "m", "--x", "m=-1:1:4", "--engine", "cpu")
    assert done.returncode == 2 and str(e) in done.stderr
    blocker = tmp_path / "file"
    blocker.write_text("")
    m = basinmap.run(x="r=0:1:4", y="m=-1:1:4", engine="cpu")
    with pytest.raises(OSError):
        m.save(blocker / "out")
    with pytest.raises(TypeError):
        basinmap.run(lr=True)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        basinmap.run(learning_rate=0.1)  # type: ignore[call-arg]


def basinmap_threads() -> int:
    """The package's work threads (named "basinmap"; the engine's pool is "basinmap-pool-N"), as
    /proc lists them."""
    count = 0
    for task in Path("/proc/self/task").iterdir():
        try:
            count += (task / "comm").read_text().strip() == "basinmap"
        except OSError:  # a thread that ended meanwhile
            pass
    return count


def idle_threads() -> int:
    """:func:`basinmap_threads` once work of earlier tests has ended (waiting up to 60 s): the
    count to which work that stops comes back."""
    if not Path("/proc/self/task").is_dir():
        return 0
    end = time.monotonic() + 60
    while basinmap_threads() and time.monotonic() < end:
        time.sleep(0.05)
    return basinmap_threads()


def work_stops_within(seconds: float, baseline: int) -> bool:
    """Whether the threads named "basinmap" come down to `baseline` within `seconds` (where /proc
    lists threads; elsewhere this cannot be seen and is taken as true)."""
    if not Path("/proc/self/task").is_dir():
        return True
    end = time.monotonic() + seconds
    while basinmap_threads() > baseline:
        if time.monotonic() > end:
            return False
        time.sleep(0.02)
    return True


#: About 25 s of work on 2 cores (tol = 0: only runs that come to rest exactly stop early; the
#: engine takes 4 s, the host's tests of the undecided rest the others); one tile of it (2^16
#: trajectories, 1/64 of the map) a tenth of a second.
LONG = dict(x="r=-0.25:0.5:2048", y="m=-1.5:1.5:2048", tol=0.0, steps=20000, engine="cpu")


def interrupt_main_after(seconds: float) -> None:
    """Ctrl-C, as another thread delivers it to the main one, after `seconds`."""

    def interrupt() -> None:
        time.sleep(seconds)
        _thread.interrupt_main()

    threading.Thread(target=interrupt).start()


def test_ctrl_c_raises_keyboard_interrupt_at_once_and_the_map_stops() -> None:
    idle = idle_threads()
    interrupt_main_after(0.5)
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        basinmap.run(**LONG)  # type: ignore[arg-type]
    assert time.monotonic() - start < 3.0
    # The computation itself stops after the tile in hand, not at the map's end.
    assert work_stops_within(5.0, idle)


def test_an_error_in_the_progress_callback_stops_the_map() -> None:
    def fail(done: int, total: int) -> None:
        raise ValueError("enough")

    idle = idle_threads()
    with pytest.raises(ValueError, match="enough"):
        basinmap.run(progress=fail, **LONG)  # type: ignore[arg-type]
    assert work_stops_within(5.0, idle)


def test_out_is_checked_before_the_work(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    start = time.monotonic()
    with pytest.raises(OSError):
        basinmap.run(out=blocker / "out", **LONG)  # type: ignore[arg-type]
    assert time.monotonic() - start < 2.0


def test_numpy_booleans_are_switches() -> None:
    assert basinmap.resolve(lyapunov=np.True_) == basinmap.resolve(lyapunov=True) != basinmap.resolve()
    assert basinmap.resolve(lyapunov=np.False_, continue_untrained=False) == basinmap.resolve()


def test_maps_and_formula_errors_pickle(tmp_path: Path) -> None:
    m = basinmap.run(x="r=-0.25:0.5:32", y="m=-1.5:1.5:24", engine="cpu")
    back = pickle.loads(pickle.dumps(m))
    assert list(back.arrays) == list(m.arrays)
    for name in m.arrays:
        assert back[name].dtype == m[name].dtype and back[name].tobytes() == m[name].tobytes(), name
    assert back.attractors == m.attractors and list(back.coords) == list(m.coords)
    assert back._repr_png_() == m._repr_png_()
    # Its files are the map's; a map read back pickles too.
    m.save(tmp_path / "a")
    pickle.loads(pickle.dumps(back)).save(tmp_path / "b")
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "b").iterdir())
    for name in names:
        if name != "run.json":
            assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    with pytest.raises(basinmap.FormulaError) as caught:
        basinmap.run(loss="m^2 + q*m", state="m", x="m=-1:1:4", engine="cpu")
    e = pickle.loads(pickle.dumps(caught.value))
    assert type(e) is basinmap.FormulaError and str(e) == str(caught.value)
    assert (e.origin, e.line, e.column, e.width, e.message, e.caret) == (caught.value.origin, 1, 7, 1, caught.value.message, caught.value.caret)


def test_maps_in_threads_are_the_maps_alone() -> None:
    settings = [dict(x="r=-0.25:0.5:64", y="m=-1.5:1.5:64", engine="cpu", params={"u": u}) for u in (-1.0, -0.5, -1.5)]
    alone = [basinmap.run(**s) for s in settings]  # type: ignore[arg-type]
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        together = list(pool.map(lambda s: basinmap.run(**s), settings))
    for a, b in zip(alone, together):
        assert a.labels.tobytes() == b.labels.tobytes() and a["m"].tobytes() == b["m"].tobytes()
        assert a.attractors == b.attractors


def test_progress_reports_reach_the_total() -> None:
    seen: list[tuple[int, int]] = []
    basinmap.run(x="r=-0.25:0.5:300", y="m=-1.5:1.5:300", engine="cpu", progress=lambda d, t: seen.append((d, t)))
    assert seen and seen[-1] == (90000, 90000)
    assert all(a[0] <= b[0] for a, b in zip(seen, seen[1:]))


def test_systems_are_the_cli_s() -> None:
    names = [s["name"] for s in basinmap.systems()]
    out = run_cli("systems").stdout
    assert names == re.findall(r"^(\S+) — ", out, re.M)
    landau = next(s for s in basinmap.systems() if s["name"] == "landau")
    assert {"r", "u", "w"} <= {p["name"] for p in landau["params"]}
    # Each parameter as `basinmap systems` lists it: NAME = DEFAULT.
    for p in landau["params"]:
        assert re.search(rf"^    {p['name']} += {p['default']:g}\b", out, re.M), p


def test_frames_figures_and_notebook_display() -> None:
    import matplotlib

    matplotlib.use("Agg")
    m = basinmap.run(x="r=-0.25:0.5:40", y="m=-1.5:1.5:30", engine="cpu")
    frame = m.attractors_frame()
    assert list(frame.index) == [a["id"] for a in m.attractors]
    assert {"kind", "stability", "fraction", "colour", "m"} <= set(frame.columns)
    ax = m.plot()
    assert ax.get_xlabel() == "r" and ax.get_ylabel() == "m"
    assert len((ax.get_legend() or ax.figure.legends[0]).get_texts()) == len(m.attractors)
    png = m._repr_png_()
    assert png is not None and png.startswith(b"\x89PNG")
    rgb = m.basin_rgb()
    assert rgb is not None and rgb.shape == (30, 40, 3) and rgb.dtype == np.uint8
    # Each pixel's hue is its attractor's colour, shaded: the brightest channel keeps its place.
    colours = {a["id"]: a["colour"] for a in m.attractors}
    top = np.flipud(rgb)  # row 0 of the image is the top (largest m)
    for iy, ix in [(0, 0), (15, 20), (29, 39)]:
        hexcolour = colours[int(m.labels[iy, ix])]
        want = np.array([int(hexcolour[i : i + 2], 16) for i in (1, 3, 5)])
        assert np.argmax(top[iy, ix]) == np.argmax(want)
    ds = m.to_xarray()
    assert ds["labels"].dims == ("m", "r")
    # m is the starting value on the axis and the end value as an observable.
    np.testing.assert_array_equal(ds["m_end"].values, m["m"])
    np.testing.assert_array_equal(ds["m"].values, m.coords["m"])
    repr(m)


def test_the_pip_installed_command_is_the_cli(tmp_path: Path) -> None:
    done = run_cli("--version")
    assert done.returncode == 0 and basinmap.__version__ in done.stdout
    done = run_cli("run", "--no-such-flag")
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    binary = REPO / "target" / "release" / "basinmap"
    if binary.exists():
        a = subprocess.run([cli(), "systems"], capture_output=True, text=True, check=True).stdout
        b = subprocess.run([str(binary), "systems"], capture_output=True, text=True, check=True).stdout
        assert a == b


def test_the_pip_installed_command_stops_on_ctrl_c(tmp_path: Path) -> None:
    # As the binary does: Ctrl-C ends any command (here a long sweep), not only `run`.
    sweep = EXAMPLES / "sweep" / "landau-first-order.toml"
    args = ["sweep", str(sweep), "--x", "r=-0.5:0.5:2001", "--y", "m=-1.5:1.5:1024", "--steps", "20000", "--tol", "0", "-q", "-o", str(tmp_path / "out")]
    process = subprocess.Popen([cli(), *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    # Once the sweep has made its output directory, the command line runs (with its Ctrl-C).
    deadline = time.monotonic() + 30
    while not (tmp_path / "out").exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    try:
        code = process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        raise AssertionError("the pip-installed basinmap ran on after Ctrl-C") from None
    assert code in (-signal.SIGINT, 130), code


def test_the_type_stubs_match_the_module(tmp_path: Path) -> None:
    if shutil.which("stubtest", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("mypy is not installed")
    done = subprocess.run([sys.executable, "-m", "mypy.stubtest", "basinmap"], capture_output=True, text=True, check=False, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    done = subprocess.run([sys.executable, "-m", "mypy", "--strict", "-p", "basinmap"], capture_output=True, text=True, check=False, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_docstrings_examples_run() -> None:
    import doctest
    import os

    import basinmap._commands
    import basinmap._maps
    import basinmap.errors

    here = os.getcwd()
    os.chdir(REPO)  # the examples name files of the repository
    try:
        for module in (basinmap, basinmap._maps, basinmap._commands, basinmap.errors):
            result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
            assert result.failed == 0, module.__name__
    finally:
        os.chdir(here)
