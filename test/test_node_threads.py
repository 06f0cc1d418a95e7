"""Nodes share the machine's cores: their torch workers must sleep, not spin, between layers."""

from __future__ import annotations

import os
import subprocess
import sys

PROBE = "import anon_compression_nodes.decoder_node, os, sys; print(os.environ['OMP_WAIT_POLICY'], 'torch' in sys.modules)"


def _run(env: dict[str, str]) -> str:
    return subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True).stdout.split()


def test_a_node_process_sets_passive_waiting_before_torch_loads():
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    assert _run(env) == ["PASSIVE", "True"]  # set by the package, which loads before the node's torch import


def test_an_explicit_wait_policy_is_kept():
    assert _run({**os.environ, "OMP_WAIT_POLICY": "ACTIVE"}) == ["ACTIVE", "True"]
