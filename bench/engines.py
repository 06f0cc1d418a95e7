"""Start-up, per-task overhead and idle memory of a local two-worker cluster, Dask distributed vs Ray
(issue #29's choice of engine). Ray is not a project dependency: run this in a scratch venv with both,

    python -m venv v && v/bin/pip install "dask[distributed]" ray psutil
    v/bin/python bench/engines.py dask; v/bin/python bench/engines.py ray

Prints one markdown row per call: | engine | start s | per-task ms | RSS MB | shutdown s |
"""

from __future__ import annotations

import sys
import time

import psutil

TASKS = 200


def tree_rss_mb() -> float:
    me = psutil.Process()
    return sum(p.memory_info().rss for p in [me, *me.children(recursive=True)] if p.is_running()) / 2**20


def noop(x):
    return x


def dask() -> tuple[float, float, float, float]:
    from distributed import Client, LocalCluster

    t0 = time.perf_counter()
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster)
    client.wait_for_workers(2)
    client.gather(client.map(noop, range(2)))
    start = time.perf_counter() - t0
    t1 = time.perf_counter()
    client.gather(client.map(noop, range(TASKS), pure=False))
    per_task = (time.perf_counter() - t1) / TASKS
    rss = tree_rss_mb()
    t2 = time.perf_counter()
    client.close()
    cluster.close()
    return start, per_task, rss, time.perf_counter() - t2


def ray() -> tuple[float, float, float, float]:
    import ray as engine

    t0 = time.perf_counter()
    engine.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    task = engine.remote(noop)
    engine.get([task.remote(i) for i in range(2)])
    start = time.perf_counter() - t0
    t1 = time.perf_counter()
    engine.get([task.remote(i) for i in range(TASKS)])
    per_task = (time.perf_counter() - t1) / TASKS
    rss = tree_rss_mb()
    t2 = time.perf_counter()
    engine.shutdown()
    return start, per_task, rss, time.perf_counter() - t2


if __name__ == "__main__":
    name = sys.argv[1] if len(sys.argv) > 1 else "dask"
    start, per_task, rss, stop = {"dask": dask, "ray": ray}[name]()
    print(f"| {name} | {start:.1f} | {per_task * 1000:.1f} | {rss:.0f} | {stop:.1f} |")
