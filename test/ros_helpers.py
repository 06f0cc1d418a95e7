"""Helpers for tests over real rclpy and DDS: start pipeline nodes as processes exactly as the
graph (and so the launch files) describes them, and wait on conditions instead of sleeping."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import rclpy
from rclpy.node import Node

from anon_compression_nodes import graph

REPO = Path(__file__).resolve().parent.parent
PARAMS_FILE = REPO / graph.PARAMS_FILE
BIN = Path(sys.executable).parent


def start(spec: graph.NodeSpec, overrides_file: Path, log_dir: Path) -> subprocess.Popen:
    """The node's console script with the repo's params file, the test overrides and the graph's remappings."""
    cmd = [str(BIN / spec.executable), *spec.ros_args(str(PARAMS_FILE)), "--params-file", str(overrides_file)]
    log = open(log_dir / f"{spec.name}.log", "w")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy(), start_new_session=True)


def stop(procs: list[subprocess.Popen], timeout: float = 10.0) -> list[int]:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
    codes = []
    for p in procs:
        try:
            codes.append(p.wait(timeout))
        except subprocess.TimeoutExpired:
            p.kill()
            codes.append(p.wait())
    return codes


def spin_until(node: Node, condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        rclpy.spin_once(node, timeout_sec=0.1)
