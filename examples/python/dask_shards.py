"""A large map computed as shards on a Dask cluster and merged: exactly the single run's outputs.

    python examples/python/dask_shards.py [PARTS] [OUT]      (default: 8 parts, dask-map/)

Each task runs one shard (`basinmap.run_shard`, as `basinmap run --shard K/N`) on a worker and
writes its raw outcomes to a directory every worker and the client can read (a shared file
system on a real cluster); `basinmap.merge` joins them into the outputs of one run. Here the
cluster is a `LocalCluster`; give `Client` a scheduler's address to use a real one. The same
recipe as the README's Slurm and GNU parallel ones.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Optional

import basinmap


def map_on_dask(client: Any, scenario: Any, parts: int, out: Path, **settings: Any) -> basinmap.Map:
    """The map of `scenario` (with `settings`, as `basinmap.run` takes them) computed as `parts`
    shards on the workers of `client`, merged into `out`."""
    shards = [out / "shards" / str(k) for k in range(1, parts + 1)]
    futures = [client.submit(basinmap.run_shard, scenario, k, parts, str(shard), pure=False, **settings) for k, shard in enumerate(shards, start=1)]
    client.gather(futures)  # raises a shard's error here, if one failed
    return basinmap.merge(shards, out)


def main(parts: int = 8, out: Optional[Path] = None) -> None:
    from dask.distributed import Client, LocalCluster

    out = out or Path("dask-map")
    settings = dict(x="r=-0.25:0.5:1024", y="m=-1.5:1.5:1024", engine="cpu")
    with LocalCluster(n_workers=2, threads_per_worker=1) as cluster, Client(cluster) as client:
        merged = map_on_dask(client, None, parts, out, **settings)
    alone = basinmap.run(**settings)  # type: ignore[arg-type]
    same = all(merged[name].tobytes() == alone[name].tobytes() for name in alone.arrays)
    print(f"{parts} shards merged into {out}: {len(merged.attractors)} attractors; every array equals the single run's: {same}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 8, Path(sys.argv[2]) if len(sys.argv) > 2 else None)
