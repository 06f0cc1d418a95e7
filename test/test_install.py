"""The documented ROS 2 install path (ros/): it resolves for Humble's and Jazzy's Pythons without
NumPy 2, and the doctor command names a broken NumPy / cv_bridge combination."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PLATFORMS = ["manylinux_2_35_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64", "linux_x86_64"]
OFFLINE = ("NewConnectionError", "Network is unreachable", "Temporary failure in name resolution", "ConnectTimeout")


def _dry_run(tmp_path: Path, python: str, *args: str) -> dict[str, str]:
    report = tmp_path / f"report{python}.json"
    cmd = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--target", str(tmp_path / "t"),
           "--only-binary=:all:", "--python-version", python, "--implementation", "cp", "--report", str(report), "-q",
           *(f"--platform={p}" for p in PLATFORMS), *args]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    if result.returncode != 0 and any(s in result.stderr for s in OFFLINE):
        pytest.skip(f"the package index is unreachable from here: {result.stderr.strip().splitlines()[-1]}")
    assert result.returncode == 0, result.stderr[-3000:]
    return {i["metadata"]["name"].lower(): i["metadata"]["version"] for i in json.loads(report.read_text())["install"]}


@pytest.mark.parametrize("python", ["3.10", "3.12"])  # Humble (Ubuntu 22.04), Jazzy (Ubuntu 24.04)
def test_ros_install_resolves_without_numpy_2(tmp_path, python):
    versions = _dry_run(tmp_path, python, "-c", str(ROOT / "ros/constraints.txt"), "-r", str(ROOT / "ros/requirements.txt"))
    assert versions["numpy"].startswith("1."), versions["numpy"]
    assert tuple(int(v) for v in versions["opencv-python"].split(".")[:2]) < (4, 12)
    assert {"torch", "ultralytics", "constriction", "starlette", "uvicorn"} <= set(versions)
    model_files = [line.split()[0] for line in (ROOT / "ros/requirements-nodeps.txt").read_text().splitlines()
                   if line and not line.startswith(("#", "compressai"))]  # fmt: skip
    assert set(_dry_run(tmp_path, python, "--no-deps", "--ignore-requires-python", *model_files)) == {
        m.split("==")[0] for m in model_files
    }


def _doctor(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "anon_compression_nodes.doctor"], capture_output=True, text=True,
                          timeout=300, env={**os.environ, **env})  # fmt: skip


def test_doctor_passes_here():
    result = _doctor({})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok    codec" in result.stdout and "ok    guard" in result.stdout and "cv_bridge" in result.stdout


def test_doctor_names_a_cv_bridge_built_for_numpy_1(tmp_path):
    """Here NumPy is 2.x: a cv_bridge whose extension was built for NumPy 1.x fails to import as
    below (the message NumPy prints for such modules); apt's cannot be installed on this machine."""
    (tmp_path / "cv_bridge").mkdir()
    (tmp_path / "cv_bridge" / "__init__.py").write_text(
        'raise ImportError("A module that was compiled using NumPy 1.x cannot be run in NumPy 2.4.6")\n'
    )
    result = _doctor({"PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"})
    assert result.returncode == 1
    assert "FAIL  numpy" in result.stdout and "NumPy 1.x" in result.stdout and "numpy<2" in result.stdout
    assert "FAIL  cv_bridge" in result.stdout
