"""What every node shares: parameter declaration, QoS profiles, stats, and main()."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Sequence
from typing import Any

import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor, SetParametersResult
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.publisher import Publisher
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.qos_overriding_options import QoSOverridingOptions
from rclpy.subscription import Subscription

from anon_compression_codec.runtime.precision import PRECISIONS

from . import graph, params


class GraphNode(Node):
    """A node of graph.py. Its parameters take their defaults from the parameter file's entry for it
    (params.py: the one table), whatever name the node runs under."""

    def __init__(self, spec: graph.NodeSpec) -> None:
        super().__init__(spec.name)
        self.spec = spec


def declare(
    node: GraphNode,
    name: str,
    description: str,
    *,
    read_only: bool = False,
    int_range: tuple[int, int] | None = None,
    float_range: tuple[float, float] | None = None,
    choices: Sequence[str] | None = None,
) -> Any:
    """Declare a parameter with a descriptor and its default from the parameter file; return its
    value (a deployment's parameter file or launch override, else that default)."""
    table = params.defaults(node.spec.name)
    if name not in table:
        raise KeyError(f"{params.params_file()} has no default for {node.spec.name}.{name}")
    if choices:
        description = f"{description} One of: {', '.join(choices)}."
    desc = ParameterDescriptor(description=description, read_only=read_only)
    if int_range:
        desc.integer_range = [IntegerRange(from_value=int_range[0], to_value=int_range[1], step=1)]
    if float_range:
        desc.floating_point_range = [FloatingPointRange(from_value=float(float_range[0]), to_value=float(float_range[1]))]
    value = node.declare_parameter(name, table[name], desc).value
    if choices and value not in choices:
        raise ValueError(f"parameter {name}={value!r} must be one of {list(choices)}")
    return value


# Default QoS. Every publisher and subscription below takes QoSOverridingOptions, so each is set
# at launch through ROS 2's standard read-only parameters (fully qualified topic after remapping):
#   qos_overrides./camera/image_raw.subscription.reliability: best_effort
# with policies reliability, history, depth and durability.
# Raw images in: reliable, newest frame only. Best effort (the sensor-data profile) lost most ~1 MB
# frames on Fast DDS here (14 of 75 at 5 Hz: each travels in many fragments); for a camera driver
# that publishes best effort, override the reliability (a reliable subscription does not match it).
IMAGE_INPUT = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1, reliability=ReliabilityPolicy.RELIABLE)
# Latents in (a few kB each): the sensor-data profile (best effort, volatile) with depth 1, so a slow
# decoder or viewer shows the newest frame instead of working through a queue of old ones.
LATENT_INPUT = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1, reliability=ReliabilityPolicy.BEST_EFFORT,
                          durability=DurabilityPolicy.VOLATILE)  # fmt: skip
OVERRIDABLE = QoSOverridingOptions.with_default_policies()


def subscription(node: Node, msg_type: type, topic: str, callback: Callable, profile: QoSProfile) -> Subscription:
    return node.create_subscription(msg_type, topic, callback, profile, qos_overriding_options=OVERRIDABLE)


def publisher(node: Node, msg_type: type, topic: str, depth: int) -> Publisher:
    """Reliable by default, which every subscriber matches (rosbag2, rviz, best-effort viewers)."""
    profile = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=depth, reliability=ReliabilityPolicy.RELIABLE)
    return node.create_publisher(msg_type, topic, profile, qos_overriding_options=OVERRIDABLE)


def declare_codec_params(node: GraphNode, weights_description: str) -> tuple[str, str, int]:
    """weights, device and threads: the parameters the encoder and decoder share."""
    weights = declare(node, "weights", weights_description)
    device = declare(node, "device", "Torch device.", choices=("cpu", "cuda"))
    threads = declare(node, "threads", "Torch CPU threads.", int_range=(1, 64))
    return weights, device, threads


def declare_precision(node: GraphNode) -> str:
    return declare(node, "precision", "Transforms in fp32, bf16 (2-4x faster on a CPU with AVX512-BF16 or AMX, "
                   "-0.02 dB), or auto: bf16 where the CPU (or a GPU) computes it natively. Set at launch.",
                   read_only=True, choices=PRECISIONS)  # fmt: skip


def refuse(reason: str) -> SetParametersResult:
    return SetParametersResult(successful=False, reason=reason)


ACCEPT = SetParametersResult(successful=True)


LOG_THROTTLE_S = 5.0  # repeated per-frame errors: one log line per this many seconds (counters count every one)


class Stats:
    """Frame rate, processing time, bytes per frame and error counters, published once a second
    on /diagnostics (rqt_runtime_monitor, `ros2 topic echo /diagnostics`)."""

    def __init__(self, node: Node) -> None:
        self._node = node
        self._pub = node.create_publisher(DiagnosticArray, graph.DIAGNOSTICS, 10)
        self.counters: dict[str, int] = {}
        self.gauges: dict[str, float] = {}
        self._frames = 0
        self._proc_s = 0.0
        self._bytes = 0
        self._window_start = time.monotonic()
        self.last: dict[str, float] = {}
        self.status_message = "ok"
        self.level = DiagnosticStatus.OK
        self._warnings = 0
        self._warning = ""
        node.create_timer(graph.STATS_PERIOD_S, self._publish)

    def frame(self, proc_s: float, nbytes: int = 0) -> None:
        self._frames += 1
        self._proc_s += proc_s
        self._bytes += nbytes
        self.count("frames")

    def error(self, message: str) -> None:
        """Report the node as not working (diagnostics level ERROR) and log why."""
        self.status_message, self.level = message, DiagnosticStatus.ERROR
        self._node.get_logger().error(message)

    def ok(self) -> None:
        self.status_message, self.level = "ok", DiagnosticStatus.OK

    def warn(self, key: str, reason: str, frames: int = 1) -> int:
        """Count refused, dropped or late frames under `key`; in a period with any, the node reports
        WARN with the last reason (an ERROR from `error` stays)."""
        self._warnings += frames
        self._warning = reason
        self.counters[key] = self.counters.get(key, 0) + frames
        return self.counters[key]

    def reject(self, key: str, what: str, reason: str, level: str = "error") -> int:
        """A frame refused, dropped or failed: counted under `key` (WARN on /diagnostics) and logged
        as "<what> (<n> so far): <reason>", at most once per LOG_THROTTLE_S."""
        n = self.warn(key, reason)
        logger, line = self._node.get_logger(), f"{what} ({n} so far): {reason}"
        # rclpy ties a throttled call site to one severity: one call per level.
        if level == "warning":
            logger.warning(line, throttle_duration_sec=LOG_THROTTLE_S)
        else:
            logger.error(line, throttle_duration_sec=LOG_THROTTLE_S)
        return n

    def gauge(self, key: str, value: float) -> None:
        """A per-frame figure reported as its last value (e.g. regions the guard suppressed)."""
        self.gauges[key] = value

    def count(self, key: str) -> int:
        self.counters[key] = self.counters.get(key, 0) + 1
        return self.counters[key]

    def _publish(self) -> None:
        now = time.monotonic()
        elapsed = max(now - self._window_start, 1e-9)
        n = self._frames
        self.last = {
            "rate_hz": n / elapsed,
            "processing_ms": 1e3 * self._proc_s / n if n else 0.0,
            "bytes_per_frame": self._bytes / n if n else 0.0,
        }
        self._frames, self._proc_s, self._bytes, self._window_start = 0, 0.0, 0, now
        if self.level != DiagnosticStatus.ERROR:
            if self._warnings:
                self.level = DiagnosticStatus.WARN
                self.status_message = (f"{self._warnings} frame(s) refused, dropped or late in the last {elapsed:.1f} s: "
                                       f"{self._warning}")  # fmt: skip
            else:
                self.level, self.status_message = DiagnosticStatus.OK, "ok"
        self._warnings = 0
        values = {
            **{k: f"{v:.3f}" for k, v in {**self.last, **self.gauges}.items()},
            **{k: str(v) for k, v in self.counters.items()},
        }
        status = DiagnosticStatus(
            level=self.level,
            name=f"{self._node.get_fully_qualified_name()}",
            message=self.status_message,
            hardware_id="anon_compression",
            values=[KeyValue(key=k, value=v) for k, v in values.items()],
        )
        msg = DiagnosticArray(status=[status])
        msg.header.stamp = self._node.get_clock().now().to_msg()
        self._pub.publish(msg)


def run(node_factory: Callable[[], Node], args: list[str] | None = None) -> None:
    """main() of every node: init, spin, clean shutdown on Ctrl-C and on external shutdown."""
    # rclpy's own handler shuts the context down on SIGINT, which ends the spin once the callback in flight
    # returns. Python's default handler would also raise KeyboardInterrupt wherever the main thread is, even
    # inside rclpy's bindings, where it surfaces as an unrelated RuntimeError ("Unable to convert call
    # argument") before the context reads as shut down. Set before rclpy.init, which chains to it. A second
    # Ctrl-C does interrupt: the way out of a callback that hangs.
    interrupts = 0

    def on_sigint(*_: object) -> None:
        nonlocal interrupts
        interrupts += 1
        if interrupts > 1:
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_sigint)
    rclpy.init(args=args)
    node = None
    try:
        node = node_factory()
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except Exception:
        if rclpy.ok():
            raise
        # A callback in flight when SIGINT/SIGTERM shut the context down fails to publish: not an error.
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
