"""`anon-codec bag anonymize --cluster`: a folder of bags on a local Dask cluster of two workers, one
bag split into time spans and joined, one damaged; every output message equals a local run's."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from rosbags.rosbag2 import StoragePlugin
from test_bags import CLI, _read, _write_bag

from anon_compression_codec.bags.anonymize import anonymize
from anon_compression_codec.bags.fleet import plan

distributed = pytest.importorskip("distributed", reason="the [fleet] extra (Dask distributed) is not installed")


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as c:
        yield c.scheduler_address


def test_cluster_run_equals_local_run_with_split_and_damaged_bags(tmp_path, weights, cluster):
    bags = tmp_path / "bags"
    _write_bag(bags / "plain", StoragePlugin.MCAP)
    _write_bag(bags / "split", StoragePlugin.SQLITE3)
    _write_bag(bags / "damaged", StoragePlugin.MCAP)
    mcap = next((bags / "damaged").glob("*.mcap"))
    mcap.write_bytes(mcap.read_bytes()[: mcap.stat().st_size // 2])
    split_mb = sum(f.stat().st_size for f in (bags / "split").iterdir()) / 2**20
    assert len(plan([bags / "split"], [tmp_path / "x"], split_mb / 2.5, 0)[0].spans) == 3

    cmd = [CLI, "bag", "anonymize", str(bags), str(tmp_path / "out"), "--weights", weights, "--cluster", cluster,
           "--chunk-mb", f"{split_mb / 2.5}"]  # fmt: skip
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert res.returncode == 2, res.stderr[-3000:]  # the damaged bag fails the job's exit code, not the others
    lines = [json.loads(x) for x in res.stdout.splitlines()]
    by_bag = {r["bag"].rsplit("/", 1)[-1]: r for r in lines[:-1]}
    assert "damaged" in by_bag["damaged"]["error"] or "cannot read" in by_bag["damaged"]["error"]
    assert by_bag["split"]["spans"] == 3 and by_bag["split"]["frames"] == by_bag["plain"]["frames"] == 12
    assert lines[-1]["failed"].keys() == {str(bags / "damaged")} and lines[-1]["done"] == 2 and lines[-1]["frames"] == 24
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == ["plain_anon", "split_anon"]  # no output of the damaged bag, no spans
    assert "frames/s" in res.stderr and "ETA" in res.stderr

    for name, storage in (("plain", "mcap"), ("split", "sqlite3")):
        anonymize(bags / name, tmp_path / f"local_{name}", weights=weights, progress=False)
        assert _read(out / f"{name}_anon") == _read(tmp_path / f"local_{name}")  # every topic, stamp and byte
        assert any(f.suffix == (".mcap" if storage == "mcap" else ".db3") for f in (out / f"{name}_anon").iterdir())

    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    summary = json.loads(rerun.stdout.splitlines()[-1])
    assert summary["skipped"] == 2 and summary["done"] == 0 and len(summary["failed"]) == 1


def test_unreachable_cluster_is_a_one_line_error(tmp_path, weights):
    _write_bag(tmp_path / "in", StoragePlugin.MCAP)
    res = subprocess.run([CLI, "bag", "anonymize", str(tmp_path / "in"), str(tmp_path / "out"), "--weights", weights,
                          "--cluster", "tcp://127.0.0.1:9"], capture_output=True, text=True, timeout=120)  # fmt: skip
    assert res.returncode == 2 and "cannot reach the Dask scheduler" in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "out").exists()


def test_the_core_and_the_local_bag_path_do_not_import_the_engine():
    code = ("import sys, anon_compression_codec.cli, anon_compression_codec.bags.anonymize, anon_compression_codec.bags.fleet; "
            "sys.exit('distributed' in sys.modules or 'dask' in sys.modules)")  # fmt: skip
    assert subprocess.run([sys.executable, "-c", code], timeout=120).returncode == 0
