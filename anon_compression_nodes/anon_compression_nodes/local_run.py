"""Start pipeline nodes as local processes exactly as the graph (and so the launch files) describes
them: the same executables, params file and remappings. Used by `make demo`, the benchmarks and the
end-to-end tests where `ros2 launch` is not available."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from . import graph
from .params import params_file

BIN = Path(sys.executable).parent


def start(spec: graph.NodeSpec, overrides: Path | None, log_dir: Path) -> subprocess.Popen:
    cmd = [str(BIN / spec.executable), *spec.ros_args(str(params_file()))]
    if overrides is not None:
        cmd += ["--params-file", str(overrides)]
    log_dir.mkdir(parents=True, exist_ok=True)
    log = open(log_dir / f"{spec.name}.log", "w")  # noqa: SIM115 - lives as long as the process
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def start_all(specs: Iterable[graph.NodeSpec], overrides: Path | None, log_dir: Path) -> list[subprocess.Popen]:
    return [start(spec, overrides, log_dir) for spec in specs]


def stop(procs: list[subprocess.Popen], timeout: float = 10.0) -> list[int]:
    """SIGINT (as Ctrl-C in ros2 launch), then SIGKILL after the timeout. Returns exit codes."""
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


def spin_until(node, condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Spin `node` until condition() holds; AssertionError naming `what` after `timeout` seconds."""
    import rclpy

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        rclpy.spin_once(node, timeout_sec=0.05)
