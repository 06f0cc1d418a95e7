"""The encoder fails closed when its privacy guard cannot be configured."""

from __future__ import annotations

import rclpy
import yaml
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from rcl_interfaces.msg import ParameterType, ParameterValue
from ros_helpers import counter, set_parameter, spin_until, start_all, stop
from sensor_msgs.msg import Image

from anon_compression_msgs.msg import CompressedLatent
from anon_compression_nodes import graph


def test_encoder_with_a_broken_guard_config_publishes_nothing_and_says_why(tmp_path, weights):
    """Fails closed: a guard_config that cannot be read leaves the encoder without a codec, not
    with default settings or without the guard; it reports why, drops frames and stays up."""
    (tmp_path / "guard.yaml").write_text("detectors: [no_such_detector]\n")
    overrides = {"encoder": {"ros__parameters": {"weights": weights, "guard_config": str(tmp_path / "guard.yaml"), "camera": ""}}}
    (tmp_path / "o.yaml").write_text(yaml.safe_dump(overrides))
    rclpy.init()
    node = rclpy.create_node("broken_guard_probe")
    (proc,) = start_all((graph.ENCODER,), tmp_path / "o.yaml", tmp_path)
    try:
        latents, diags = [], []
        node.create_subscription(CompressedLatent, graph.COMPRESSED, latents.append, 10)
        node.create_subscription(DiagnosticArray, graph.DIAGNOSTICS, diags.append, 10)
        pub = node.create_publisher(Image, graph.RAW, 10)
        spin_until(node, lambda: pub.get_subscription_count() > 0, 60, "the encoder to subscribe")
        frame = Image(height=8, width=8, encoding="rgb8", step=24, data=bytes(192))

        def dropped() -> bool:
            pub.publish(frame)
            return counter({"diagnostics": diags}, "encoder", "dropped_no_model") >= 2

        spin_until(node, dropped, 60, "the encoder to count dropped frames")
        status = next(s for a in diags for s in a.status if s.name.endswith("encoder"))
        assert status.level == DiagnosticStatus.ERROR and "guard" in status.message
        bad = ParameterValue(type=ParameterType.PARAMETER_STRING, string_value=weights)
        result = set_parameter(node, "encoder", "weights", bad)
        assert not result.successful and "guard_config" in result.reason
        assert latents == [] and proc.poll() is None
    finally:
        node.destroy_node()
        rclpy.shutdown()
        assert stop([proc]) == [0]
