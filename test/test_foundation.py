"""Foundation: the message package, DDS between processes, package metadata, console scripts."""

from __future__ import annotations

import ast
import configparser
import subprocess
import sys
from pathlib import Path

import pytest
import rclpy
from catkin_pkg.package import parse_package
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from ros_helpers import REPO, spin_until
from std_msgs.msg import Empty

from anon_compression_msgs.msg import CompressedLatent, Detections

QOS = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)

PUBLISHER = """
import sys, rclpy
from rclpy.qos import QoSProfile, ReliabilityPolicy, DurabilityPolicy
from anon_compression_msgs.msg import CompressedLatent
rclpy.init()
node = rclpy.create_node("latent_pub")
qos = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)
pub = node.create_publisher(CompressedLatent, "handshake/latent", qos)
msg = CompressedLatent(codec="anon_compression", bitstream_version=1, model_id="0123456789abcdef", height=480,
                       width=640, encoding="bgr8", latent_channels=64, latent_height=30, latent_width=40,
                       guard_applied=True, data=bytes(range(256)) * 40)
msg.header.frame_id = "cam"
msg.header.stamp.sec, msg.header.stamp.nanosec = 1234, 5678
pub.publish(msg)
# Stay (transient local keeps the message for a late subscriber) until the receiver acknowledges.
from std_msgs.msg import Empty
acked = []
node.create_subscription(Empty, "handshake/ack", acked.append, qos)
while rclpy.ok() and not acked:
    rclpy.spin_once(node, timeout_sec=0.05)
"""


def test_message_fields_match_the_documented_layout():
    fields = CompressedLatent.get_fields_and_field_types()
    assert list(fields) == [
        "header", "codec", "bitstream_version", "model_id", "height", "width", "encoding",
        "latent_channels", "latent_height", "latent_width", "guard_applied", "data",
    ]  # fmt: skip
    assert fields["data"] == "sequence<uint8>" and fields["header"] == "std_msgs/Header"
    assert "detections" in Detections.get_fields_and_field_types()


def test_latent_crosses_processes_intact():
    proc = subprocess.Popen([sys.executable, "-c", PUBLISHER])
    rclpy.init()
    try:
        node = rclpy.create_node("latent_sub")
        got = []
        node.create_subscription(CompressedLatent, "handshake/latent", got.append, QOS)
        spin_until(node, lambda: bool(got), 60, "the message from the other process")
        node.create_publisher(Empty, "handshake/ack", QOS).publish(Empty())  # the publisher's cue to exit
        msg = got[0]
        assert bytes(msg.data) == bytes(range(256)) * 40
        assert (msg.header.frame_id, msg.header.stamp.sec, msg.header.stamp.nanosec) == ("cam", 1234, 5678)
        assert (msg.model_id, msg.width, msg.height, msg.guard_applied) == ("0123456789abcdef", 640, 480, True)
        assert proc.wait(30) == 0
    finally:
        proc.kill()
        rclpy.shutdown()


@pytest.mark.parametrize("package", ["anon_compression_msgs", "anon_compression_nodes"])
def test_package_xml_validates(package):
    pkg = parse_package(str(REPO / package / "package.xml"))
    pkg.validate()
    assert pkg.name == package and pkg.package_format == 3


def test_nodes_package_declares_its_runtime_dependencies():
    pkg = parse_package(str(REPO / "anon_compression_nodes" / "package.xml"))
    names = {d.name for d in pkg.build_depends + pkg.exec_depends}
    assert {"rclpy", "sensor_msgs", "std_msgs", "cv_bridge", "launch_ros", "ament_index_python", "anon_compression_msgs"} <= names


def _entry_points(setup_py: Path) -> list[str]:
    tree = ast.parse(setup_py.read_text())
    scripts = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "console_scripts":
                    scripts += [elt.values[0].value.split("=")[0].strip() if isinstance(elt, ast.JoinedStr)
                                else elt.value.split("=")[0].strip() for elt in value.elts]  # fmt: skip
    return scripts


def test_console_scripts_are_installed():
    bin_dir = Path(sys.executable).parent
    scripts = _entry_points(REPO / "anon_compression_nodes" / "setup.py")
    assert sorted(scripts) == ["capture", "decoder", "detector", "doctor", "encoder", "web"]
    scripts.append("anon-codec")
    for name in scripts:
        assert (bin_dir / name).is_file(), f"console script {name} missing from the venv"


def test_setup_cfg_puts_executables_where_ros2_run_looks():
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "anon_compression_nodes" / "setup.cfg")
    assert cfg["install"]["install_scripts"] == "$base/lib/anon_compression_nodes"
    assert cfg["develop"]["script_dir"] == "$base/lib/anon_compression_nodes"


def test_message_package_is_installed_into_the_venv_prefix():
    prefix = Path(sys.prefix)
    assert (prefix / "share/anon_compression_msgs/msg/CompressedLatent.msg").is_file()
    assert (prefix / "share/ament_index/resource_index/packages/anon_compression_msgs").is_file()
