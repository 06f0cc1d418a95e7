"""Test-side names for the shared local-run helpers (one implementation, in the nodes package)."""

from __future__ import annotations

from pathlib import Path

from anon_compression_nodes.local_run import spin_until, start_all, stop

REPO = Path(__file__).resolve().parent.parent

__all__ = ["REPO", "spin_until", "start_all", "stop"]
