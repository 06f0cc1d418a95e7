"""The parameter file (config/anon_compression.yaml): the one table of the nodes' parameters and
their default values. Nodes declare their defaults from it, launch arguments default to it, and
deployments override it with their own file."""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path
from typing import Any

import yaml

from . import graph


def params_file() -> Path:
    """The installed file (ament index on a ROS install, else this prefix's share/), else the
    source package's copy."""
    try:
        from ament_index_python.packages import get_package_share_directory

        return Path(get_package_share_directory(graph.PACKAGE)) / graph.PARAMS_FILE
    except (ImportError, LookupError, OSError):  # no ament index, package not indexed, no AMENT_PREFIX_PATH
        pass
    installed = Path(sys.prefix) / "share" / graph.PACKAGE / graph.PARAMS_FILE
    return installed if installed.is_file() else Path(__file__).resolve().parents[1] / graph.PARAMS_FILE


def load_params(path: str | os.PathLike) -> dict[str, dict[str, Any]]:
    """node name -> its ros__parameters in a parameter file keyed /**/<node> (or <node>)."""
    raw = yaml.safe_load(Path(path).read_text()) or {}
    return {key.rsplit("/", 1)[-1]: (value or {}).get("ros__parameters", {}) for key, value in raw.items()}


@functools.cache
def defaults(node_name: str) -> dict[str, Any]:
    """The file's values for one node of the graph (by its name in graph.py)."""
    return load_params(params_file()).get(node_name, {})
