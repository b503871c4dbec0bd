"""The other commands from Python against the command line: sweep, kramers, trace, landscape,
measure, bench, shards and their merge (also on a Dask cluster), and load."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

import basinmap
from test_maps import EXAMPLES, LONG, REPO, idle_threads, interrupt_main_after, run_cli, work_stops_within

SWEEP = EXAMPLES / "sweep" / "landau-first-order.toml"
NOISE = EXAMPLES / "noise" / "double-well.toml"


def same_files(a: Path, b: Path, skip: set[str]) -> None:
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    for name in names:
        if name not in skip:
            assert (a / name).read_bytes() == (b / name).read_bytes(), f"{name} differs"


def without_timings(report: dict) -> dict:
    return {k: v for k, v in report.items() if k not in ("seconds", "engine")}


def test_a_sweep_is_the_cli_s(tmp_path: Path) -> None:
    done = run_cli("sweep", str(SWEEP), "--x", "r=-0.5:0.5:201", "--refine", "8", "-q", "-o", str(tmp_path / "cli"))
    assert done.returncode == 0, done.stderr
    s = basinmap.sweep(SWEEP, x="r=-0.5:0.5:201", refine=8, out=tmp_path / "py")
    same_files(tmp_path / "cli", tmp_path / "py", {"transitions.json"})
    cli = json.loads((tmp_path / "cli" / "transitions.json").read_text())
    assert without_timings(s.report) == without_timings(cli)
    # The first-order transition at r = 1/4, as tests/analysis.rs finds it.
    first = [t for t in s.transitions if t["order"] == 1]
    assert first and abs(first[0]["critical"] - 0.25) < 1e-3
    assert len(s.table["r"]) >= 201 and s.hysteresis is not None and s.hysteresis_table is not None


def test_kramers_is_the_cli_s(tmp_path: Path) -> None:
    args = ["--temperatures", "0.4,0.5,0.7", "--samples", "200"]
    done = run_cli("kramers", str(NOISE), *args, "-q", "-o", str(tmp_path / "cli"))
    assert done.returncode == 0, done.stderr
    k = basinmap.kramers(NOISE, temperatures=[0.4, 0.5, 0.7], samples=200)
    same_files(tmp_path / "cli", k.directory, {"kramers.json"})
    cli = json.loads((tmp_path / "cli" / "kramers.json").read_text())
    assert without_timings(k.report) == without_timings(cli)
    assert k.fit["barrier"] > 0 and len(k.table["temperature"]) == 3
    # The files live as long as the result: a temporary directory, removed with it.
    directory = k.directory
    del k
    import gc

    gc.collect()
    assert not directory.exists()


def test_a_trace_and_a_landscape_are_the_cli_s(tmp_path: Path) -> None:
    grid = ["--x", "r=-0.2:0.4:3", "--y", "m=0.5:1.2:2"]
    assert run_cli("trace", *grid, "-q", "-o", str(tmp_path / "cli-trace")).returncode == 0
    t = basinmap.trace(x="r=-0.2:0.4:3", y="m=0.5:1.2:2", out=tmp_path / "py-trace")
    same_files(tmp_path / "cli-trace", tmp_path / "py-trace", set())
    assert len(t.trajectories) == 6 and t.columns[-1] == "grad_norm"
    first = t.trajectories[0]
    assert first.values.shape == (len(first.steps), len(t.columns))
    assert first.status == "converged" and first["grad_norm"][-1] < first["grad_norm"][0]

    assert run_cli("landscape", *grid, "-q", "-o", str(tmp_path / "cli-land")).returncode == 0
    land = basinmap.landscape(x="r=-0.2:0.4:3", y="m=0.5:1.2:2", out=tmp_path / "py-land")
    same_files(tmp_path / "cli-land", tmp_path / "py-land", set())
    assert land.loss.shape == (2, 3)
    np.testing.assert_array_equal(land.loss, np.load(tmp_path / "cli-land" / "landscape.npy"))
    # F = r m² − m⁴ + m⁶ at each grid point.
    r, m = np.meshgrid(land.coords["r"], land.coords["m"])
    np.testing.assert_allclose(land.loss, r * m**2 - m**4 + m**6, rtol=1e-6, atol=1e-9)


def test_measure_is_the_cli_s(tmp_path: Path) -> None:
    m = basinmap.run(x="r=-0.25:0.5:96", y="m=-1.5:1.5:80", engine="cpu", out=tmp_path / "run")
    done = run_cli("measure", str(tmp_path / "run"))
    assert done.returncode == 0, done.stderr
    cli = json.loads((tmp_path / "run" / "boundary.json").read_text())
    assert basinmap.measure(tmp_path / "run") == cli
    assert basinmap.measure(m) == cli == m.report["boundary"]
    assert basinmap.measure(m.labels.astype(np.int64)) == cli
    with pytest.raises(basinmap.ScenarioError, match="whole numbers"):
        basinmap.measure(-np.ones((4, 4)))
    with pytest.raises(basinmap.ScenarioError, match="2-D"):
        basinmap.measure(np.zeros(16))


def test_shards_merge_into_the_single_run(tmp_path: Path) -> None:
    settings = dict(x="r=-0.25:0.5:40", y="m=-1.5:1.5:30", engine="cpu")
    alone = basinmap.run(out=tmp_path / "alone", **settings)  # type: ignore[arg-type]
    shards = [tmp_path / "shards" / str(k) for k in (3, 1, 2)]
    for k, shard in zip((3, 1, 2), shards):
        info = basinmap.run_shard(None, k, 3, shard, **settings)  # type: ignore[arg-type]
        assert info["shard"] == [k, 3]
    merged = basinmap.merge(shards, tmp_path / "merged")
    for name in alone.arrays:
        assert merged[name].tobytes() == alone[name].tobytes(), name
    assert merged.attractors == alone.attractors
    loaded = basinmap.load(tmp_path / "alone")
    assert loaded.attractors == alone.attractors and loaded.report["files"] == alone.report["files"]
    for name in alone.arrays:
        assert loaded[name].tobytes() == alone[name].tobytes()
    assert loaded._repr_png_() == (tmp_path / "alone" / "basins.png").read_bytes()
    with pytest.raises(basinmap.ScenarioError, match="not a complete basinmap run"):
        basinmap.load(tmp_path / "shards")


def test_the_dask_example_gives_the_single_run(tmp_path: Path) -> None:
    distributed = pytest.importorskip("dask.distributed")
    spec = importlib.util.spec_from_file_location("dask_shards", REPO / "examples" / "python" / "dask_shards.py")
    assert spec and spec.loader
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    settings = dict(x="r=-0.25:0.5:64", y="m=-1.5:1.5:48", engine="cpu")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        merged = example.map_on_dask(client, None, 4, tmp_path / "dask", **settings)
    alone = basinmap.run(**settings)  # type: ignore[arg-type]
    for name in alone.arrays:
        assert merged[name].tobytes() == alone[name].tobytes(), name
    assert merged.attractors == alone.attractors


def test_bench_times_a_workload() -> None:
    [r] = basinmap.bench(["w1"], engines=["cpu"], size=32, repeats=1)
    assert r["engine"] == "cpu" and r["grid"] == [32, 32] and r["median_seconds"] > 0
    with pytest.raises(basinmap.ScenarioError, match="unknown workload"):
        basinmap.bench(["w9"])


def test_an_interrupted_sweep_leaves_nothing(tmp_path: Path) -> None:
    idle = idle_threads()
    interrupt_main_after(0.3)
    with pytest.raises(KeyboardInterrupt):
        # About 12 s of work whole.
        basinmap.sweep(SWEEP, x="r=-0.5:0.5:2001", y="m=-1.5:1.5:1024", steps=20000, tol=0.0, out=tmp_path / "out")
    # `out` was made (so checked for writing) and holds nothing; the sweep's map stopped after
    # the tile in hand.
    assert list((tmp_path / "out").iterdir()) == []
    assert work_stops_within(5.0, idle)


def test_an_interrupted_shard_leaves_nothing_and_stops(tmp_path: Path) -> None:
    idle = idle_threads()
    interrupt_main_after(0.5)
    with pytest.raises(KeyboardInterrupt):
        # The engine's part of LONG is a few seconds; with ten times the steps, half a minute.
        basinmap.run_shard(None, 1, 2, tmp_path / "shard", **{**LONG, "steps": 200000})  # type: ignore[arg-type]
    assert list((tmp_path / "shard").iterdir()) == []
    assert work_stops_within(5.0, idle)


def test_a_command_into_a_used_directory_leaves_only_its_own_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = basinmap.sweep(SWEEP, x="r=-0.5:0.5:41", y="m=-1.5:1.5:8", out=out)
    assert first.hysteresis_table is not None and (out / "hysteresis.csv").exists()
    (out / "notes.txt").write_text("mine")
    # A command that fails leaves the earlier outputs as they were.
    with pytest.raises(basinmap.ScenarioError):
        basinmap.sweep(SWEEP, x="r=-0.5:0.5", out=out)
    assert first.hysteresis_table is not None and (out / "hysteresis.csv").exists() and (out / "sweep.csv").exists()
    second = basinmap.sweep(SWEEP, x="r=-0.5:0.5:41", y="m=-1.5:1.5:8", hysteresis=False, out=out)
    assert second.hysteresis_table is None and not (out / "hysteresis.csv").exists()
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == sorted([*second.files, "notes.txt"])
    # A map over a sweep's directory removes the sweep's files, as `basinmap run -o` does.
    m = basinmap.run(x="r=-0.25:0.5:16", y="m=-1.5:1.5:8", engine="cpu", out=out)
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == sorted([*m.report["files"], "notes.txt"])
    # merge refuses to write over one of its shards before touching it.
    shards = [tmp_path / "s1", tmp_path / "s2"]
    for k, shard in enumerate(shards, 1):
        basinmap.run_shard(None, k, 2, shard, x="r=-0.25:0.5:16", y="m=-1.5:1.5:8", engine="cpu")
    with pytest.raises(basinmap.ScenarioError, match="one of the shards"):
        basinmap.merge(shards, shards[0])
    assert (shards[0] / "shard.json").exists()


def test_an_orbit_diagram_is_the_cli_s(tmp_path: Path) -> None:
    scenario = EXAMPLES / "orbit" / "logistic.toml"
    done = run_cli("orbit", str(scenario), "--x", "r=2.8:4:120", "--keep", "128", "--lyapunov", "-q", "-o", str(tmp_path / "cli"))
    assert done.returncode == 0, done.stderr
    o = basinmap.orbit(scenario, x="r=2.8:4:120", keep=128, lyapunov=True, out=tmp_path / "py")
    same_files(tmp_path / "cli", tmp_path / "py", set())
    assert o.parameter == "r" and o.values.shape == (120, 1, 128) and o.lyapunov is not None
    np.testing.assert_array_equal(o.periods.ravel(), np.load(tmp_path / "cli" / "period.npy").ravel())
    # The logistic map: a fixed point below r = 3, a 2-cycle just above, chaos (λ₁ > 0) at r = 4.
    assert o.periods[0, 0] == 1 and o.periods[np.searchsorted(o.x, 3.2), 0] == 2
    assert o.lyapunov[-1, 0] > 0.5
    assert any(c["from"] == "fixed point" and c["to"] == "period 2" and abs(c["at"] - 3) < 1e-3 for c in o.changes), o.changes[:3]


def test_arrays_are_the_files_they_stand_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BASINMAP_ARRAYS", str(tmp_path / "arrays"))
    # A network's data as arrays: the one-unit net of examples/trainability/unit.toml.
    unit = EXAMPLES / "trainability" / "unit.toml"
    grid = dict(x="lr1=0.8:2.2:12", y="lr2=0.8:2.2:10")
    from_files = basinmap.run(unit, **grid)  # type: ignore[arg-type]
    x = np.loadtxt(EXAMPLES / "trainability" / "unit_x.csv", ndmin=2)
    y = np.loadtxt(EXAMPLES / "trainability" / "unit_y.csv", ndmin=1)
    from_arrays = basinmap.run(unit, data_x=x, data_y=y, **grid)  # type: ignore[arg-type]
    for name in from_files.arrays:
        assert from_arrays[name].tobytes() == from_files[name].tobytes(), name
    # The arrays are kept as files named by their content, which run.json's scenario names and
    # which last: the run can be repeated from run.json, and shards of it read them.
    data = from_arrays.scenario["network"]
    kept = [Path(data["x"]), Path(data["y"])]
    assert all(p.parent == tmp_path / "arrays" and p.exists() for p in kept), data
    np.testing.assert_array_equal(np.load(kept[0]), x)
    again = basinmap.run(unit, data_x=x.copy(), data_y=y, **grid)  # type: ignore[arg-type]
    assert again.scenario["network"] == data
    shards = [tmp_path / "shards" / str(k) for k in (1, 2)]
    for k, shard in enumerate(shards, 1):
        basinmap.run_shard(unit, k, 2, shard, data_x=x, data_y=y, **grid)  # type: ignore[arg-type]
    merged = basinmap.merge(shards, tmp_path / "merged")
    for name in from_arrays.arrays:
        assert merged[name].tobytes() == from_arrays[name].tobytes(), name
    # A training map plots its trainability (the CLI's trainability.png and legend).
    from_files.save(tmp_path / "unit")
    rgb, legend = from_files.trainability()  # type: ignore[misc]
    import matplotlib.image

    png = np.round(matplotlib.image.imread(tmp_path / "unit" / "trainability.png")[:, :, :3] * 255).astype(np.uint8)
    assert rgb.tobytes() == png.tobytes()
    assert [text for _, text in legend][:2] == ["trained", "did not train"]
    import matplotlib

    matplotlib.use("Agg")
    ax = from_files.plot()
    assert [t.get_text() for t in (ax.get_legend() or ax.figure.legends[0]).get_texts()] == [text for _, text in legend]
    # Sampled starts as an array: the same map as from a .npy file of the same rows.
    # (A .npy file of starts holds the state variables: Landau's m; a 1-D array is one column.)
    starts = np.random.default_rng(3).uniform(-1.5, 1.5, size=200)
    np.save(tmp_path / "starts.npy", starts[:, None])
    a = basinmap.run(starts=starts, engine="cpu")
    b = basinmap.run(starts=tmp_path / "starts.npy", engine="cpu")
    assert a.labels.shape == (200,) and a.labels.tobytes() == b.labels.tobytes()
    np.testing.assert_array_equal(a.coords["m"], starts)
    with pytest.raises(basinmap.ScenarioError):
        basinmap.run(starts=np.zeros((5, 7)), engine="cpu")


def test_a_deep_linear_net_s_second_moment_as_an_array(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BASINMAP_ARRAYS", str(tmp_path / "arrays"))
    # E[xxᵀ] = R diag(1, 0.5) Rᵀ, a full matrix (the net takes its spectrum and rotates E[xy]).
    t = 0.3
    rotation = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    xx = rotation @ np.diag([1.0, 0.5]) @ rotation.T
    np.save(tmp_path / "xx.npy", xx)
    settings = dict(system="deep-linear", x="gamma=0.05:0.8:12", y="init_scale=0.01:0.5:8", params={"D": 1, "d0": 2, "exy": [0.4, 0.3]}, engine="cpu")
    from_array = basinmap.run(data_xx=xx, **settings)  # type: ignore[arg-type]
    from_file = basinmap.run(data_xx=tmp_path / "xx.npy", **settings)  # type: ignore[arg-type]
    for name in from_file.arrays:
        assert from_array[name].tobytes() == from_file[name].tobytes(), name
    assert from_array.attractors == from_file.attractors
    # ... and it is used: the default data's map differs.
    assert basinmap.run(**settings).labels.tobytes() != from_array.labels.tobytes()  # type: ignore[arg-type]


def test_start_weights_as_arrays_are_their_params() -> None:
    unit = EXAMPLES / "trainability" / "unit.toml"
    grid = dict(x="lr1=0.8:2.2:8", y="lr2=0.8:2.2:6")
    a = basinmap.run(unit, params={"W1_0_0": 0.5, "U_0": -0.75}, **grid)  # type: ignore[arg-type]
    b = basinmap.run(unit, weights={"W1": [[0.5]], "U": [-0.75]}, **grid)  # type: ignore[arg-type]
    assert a.scenario == b.scenario and a.labels.tobytes() == b.labels.tobytes()
    with pytest.raises(TypeError, match="weights"):
        basinmap.run(unit, weights={"W1": [0.5]})


def test_no_adapter_for_the_gpu_engine_is_an_engine_error() -> None:
    import subprocess
    import sys

    code = "import basinmap\ntry:\n    basinmap.run(x='r=0:1:4', y='m=-1:1:4', engine='gpu')\nexcept basinmap.EngineError as e:\n    print('EngineError:', e)\n"
    env = {**__import__("os").environ, "VK_ICD_FILENAMES": "/nonexistent.json", "VK_DRIVER_FILES": "/nonexistent.json"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("EngineError: --engine gpu: wgpu found no adapter"), done.stdout + done.stderr
