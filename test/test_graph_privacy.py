"""Privacy at the level of the ROS graph: the robot's default configuration publishes no raw image
on DDS, and its guard cannot be switched off from the network."""

from __future__ import annotations

import cv2
import numpy as np
import rclpy
import yaml
from rcl_interfaces.msg import ParameterType, ParameterValue
from ros_helpers import set_parameter, spin_until, start_all, stop
from sensor_msgs.msg import CameraInfo, Image

from anon_compression_msgs.msg import CompressedLatent
from anon_compression_nodes import graph

W, H = 160, 120


def test_robot_default_puts_no_raw_image_on_dds(tmp_path, weights):
    """The default robot configuration (params file as shipped, the encoder reading a camera in this
    case a video file in-process) and a decoder: the only Image topic is the decoded, guarded one.
    The camera's calibration file comes out as CameraInfo rescaled to the encoded (halved) size."""
    video = tmp_path / "cam.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (W, H))
    for i in range(6):
        writer.write(np.full((H, W, 3), 30 * i, np.uint8))
    writer.release()
    calibration = {"image_width": W, "image_height": H, "camera_matrix": {"data": [200.0, 0, 80, 0, 200, 60, 0, 0, 1]}}
    (tmp_path / "calib.yaml").write_text(yaml.safe_dump(calibration))
    overrides = {"encoder": {"ros__parameters": {"weights": weights, "camera": str(video), "loop": True, "threads": 1,
                                                 "max_side": W // 2, "camera_info_file": str(tmp_path / "calib.yaml")}},
                 "decoder": {"ros__parameters": {"weights": weights, "threads": 1}}}  # fmt: skip
    (tmp_path / "o.yaml").write_text(yaml.safe_dump(overrides))
    procs = start_all((*graph.ROBOT_SIDE, graph.DECODER), tmp_path / "o.yaml", tmp_path)
    rclpy.init()
    node = rclpy.create_node("graph_probe")
    decoded, latents, infos = [], [], []
    node.create_subscription(Image, graph.DECODED, decoded.append, 10)
    node.create_subscription(CompressedLatent, graph.COMPRESSED, latents.append, 10)
    node.create_subscription(CameraInfo, graph.DECODED_INFO, infos.append, 10)
    try:
        spin_until(node, lambda: len(decoded) >= 3 and len(latents) >= 2 and infos, 90, "decoded and compressed frames")
        assert {(m.width, m.height) for m in decoded} == {(W // 2, H // 2)}
        stamps = {(m.header.stamp.sec, m.header.stamp.nanosec) for m in latents}
        assert any((i.header.stamp.sec, i.header.stamp.nanosec) in stamps for i in infos)  # one per frame, same stamp
        assert all((i.width, i.height) == (W // 2, H // 2) and list(i.k) == [100, 0, 40, 0, 100, 30, 0, 0, 1] for i in infos)
        images = {name for name, types in node.get_topic_names_and_types() if "sensor_msgs/msg/Image" in types}
        assert images == {"/" + graph.DECODED}, images
        assert latents and all(m.guard_applied for m in latents)
        off = ParameterValue(type=ParameterType.PARAMETER_BOOL, bool_value=False)
        assert not set_parameter(node, "encoder", "guard", off).successful
    finally:
        node.destroy_node()
        rclpy.shutdown()
        codes = stop(procs)
    assert codes == [0, 0], (codes, {p.name: p.read_text()[-1500:] for p in tmp_path.glob("*.log")})


def test_in_process_camera_counts_frames_an_overrunning_encode_loses(tmp_path, weights):
    """Asked for more frames per second than it can encode, the encoder counts the camera frames it
    lost (dropped_frames) and reports WARN on /diagnostics."""
    from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus

    video = tmp_path / "cam.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (640, 480))
    for i in range(4):
        writer.write(np.full((480, 640, 3), 40 * i, np.uint8))
    writer.release()
    overrides = {"encoder": {"ros__parameters": {"weights": weights, "camera": str(video), "loop": True, "threads": 1,
                                                 "rate_hz": 120.0, "max_side": 0}}}  # fmt: skip
    (tmp_path / "o.yaml").write_text(yaml.safe_dump(overrides))
    procs = start_all((graph.ENCODER,), tmp_path / "o.yaml", tmp_path)
    rclpy.init()
    node = rclpy.create_node("drop_probe")
    statuses = []
    node.create_subscription(CompressedLatent, graph.COMPRESSED, lambda m: None, 10)  # someone listens: it encodes
    node.create_subscription(DiagnosticArray, graph.DIAGNOSTICS, lambda a: statuses.extend(a.status), 10)

    def dropped() -> bool:
        return any(s.level == DiagnosticStatus.WARN and any(v.key == "dropped_frames" and int(v.value) > 0 for v in s.values)
                   for s in statuses if s.name.endswith("encoder"))  # fmt: skip

    try:
        spin_until(node, dropped, 60, "the encoder to report dropped camera frames")
    finally:
        node.destroy_node()
        rclpy.shutdown()
        codes = stop(procs)
    assert codes == [0], {p.name: p.read_text()[-1500:] for p in tmp_path.glob("*.log")}
