"""Test-side names for the shared local-run helpers (one implementation, in the nodes package)."""

from __future__ import annotations

from pathlib import Path

from rcl_interfaces.msg import Parameter, ParameterValue
from rcl_interfaces.srv import SetParameters

from anon_compression_nodes.local_run import spin_until, start_all, stop

REPO = Path(__file__).resolve().parent.parent

__all__ = ["REPO", "counter", "publish_until", "set_parameter", "spin_until", "start_all", "stop"]


def counter(seen, node_name: str, key: str) -> int:
    """The latest value of a node's counter in the /diagnostics messages collected so far."""
    for arr in reversed(seen["diagnostics"]):
        for status in arr.status:
            if status.name.endswith(node_name):
                for kv in status.values:
                    if kv.key == key:
                        return int(kv.value)
                return 0
    return 0


def set_parameter(node, target: str, name: str, value: ParameterValue):
    """Set a parameter of another node through its service; returns the SetParametersResult."""
    client = node.create_client(SetParameters, f"/{target}/set_parameters")
    spin_until(node, client.service_is_ready, 30, f"{target}'s parameter service")
    future = client.call_async(SetParameters.Request(parameters=[Parameter(name=name, value=value)]))
    spin_until(node, future.done, 30, f"set {target}.{name}")
    return future.result().results[0]


def publish_until(node, pub, msg, condition, timeout: float, what: str, period: float = 0.2) -> None:
    """Publish `msg` every `period` seconds until condition() holds. Subscribers that keep only the
    newest message (depth 1) may miss one copy; a tighter loop would flood them."""
    import time

    last = [0.0]

    def step() -> bool:
        if time.monotonic() - last[0] >= period:
            pub.publish(msg)
            last[0] = time.monotonic()
        return condition()

    spin_until(node, step, timeout, what)
