"""The pipeline end to end over real DDS, in separate processes, started from graph.py exactly as the
launch files do, with the capture node (raw frames on DDS, use_capture:=true): capture -> encoder ->
decoder -> detector from a video file. The robot default is in test_graph_privacy.py."""

from __future__ import annotations

import copy

import cv2
import numpy as np
import pytest
import rclpy
import yaml
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from rcl_interfaces.msg import ParameterType, ParameterValue
from ros_helpers import REPO, counter, publish_until, set_parameter, spin_until, start_all, stop
from sensor_msgs.msg import Image

from anon_compression_codec import Encoder
from anon_compression_msgs.msg import CompressedLatent, Detections
from anon_compression_nodes import graph

W, H = 160, 120


def _stamp(msg) -> tuple[int, int]:
    return msg.header.stamp.sec, msg.header.stamp.nanosec


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory, weights):
    tmp = tmp_path_factory.mktemp("pipeline")
    video = tmp / "people.avi"
    bus = cv2.imread(str(next(REPO.glob(".venv/lib/python3*/site-packages/ultralytics/assets/bus.jpg"))))
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (W, H))
    for i in range(8):
        writer.write(np.roll(cv2.resize(bus, (W, H)), 4 * i, axis=1))
    writer.release()
    best_effort_in = {"subscription": {"reliability": "best_effort"}}
    overrides = {
        "capture": {"ros__parameters": {"sources": [str(video)], "loop": True, "rate_hz": 8.0, "frame_id": "test_cam"}},
        "encoder": {"ros__parameters": {"weights": weights, "max_side": 0, "threads": 1, "camera": ""}},
        "decoder": {"ros__parameters": {"weights": weights, "threads": 1}},
        # A standard QoS override, as a deployment would set it in the parameter file.
        "detector": {"ros__parameters": {"imgsz": 160, "qos_overrides": {"/" + graph.DECODED: best_effort_in}}},
    }
    overrides_file = tmp / "overrides.yaml"
    overrides_file.write_text(yaml.safe_dump(overrides))
    procs = start_all(graph.RAW_PIPELINE, overrides_file, tmp)

    rclpy.init()
    node = rclpy.create_node("e2e_probe")
    seen: dict[str, list] = {"raw": [], "compressed": [], "decoded": [], "detections": [], "diagnostics": []}
    for topic, kind, key in [
        (graph.RAW, Image, "raw"),
        (graph.COMPRESSED, CompressedLatent, "compressed"),
        (graph.DECODED, Image, "decoded"),
        (graph.DETECTIONS, Detections, "detections"),
        (graph.DIAGNOSTICS, DiagnosticArray, "diagnostics"),
    ]:
        node.create_subscription(kind, topic, lambda m, k=key: seen[k].append(m), 50)
    node.seen = seen
    node.tmp = tmp
    try:
        # Every probed topic, not only detections: discovery of one publisher can lag another's, so also
        # wait for decoded frames whose source this probe saw (the raw subscription may match last).
        def ready() -> bool:
            raw = {_stamp(m) for m in seen["raw"]}
            matched = sum(_stamp(d) in raw for d in seen["decoded"])
            return len(seen["detections"]) >= 3 and all(seen.values()) and matched >= 3

        spin_until(node, ready, 120, "frames on every topic")
        # Taken before any test publishes on the latent topic: the probe receives those copies too.
        node.encoder_frame = seen["compressed"][-1]
        yield node, procs
    finally:
        codes = stop(procs)
        node.destroy_node()
        rclpy.shutdown()
        logs = {p.name: p.read_text()[-2000:] for p in tmp.glob("*.log")}
        assert all(c == 0 for c in codes), f"nodes did not exit cleanly on SIGINT: {codes}\n{logs}"


def test_frames_flow_and_headers_survive(pipeline):
    node, _ = pipeline
    seen = node.seen
    raw_by_stamp = {_stamp(m): m for m in seen["raw"]}
    assert len(seen["detections"]) >= 3
    # Frames published before this probe's subscription matched cannot be looked up: skip those.
    first_raw = min(raw_by_stamp)
    checked = [d for d in seen["detections"] if _stamp(d) >= first_raw]
    assert len(checked) >= 2
    for det in checked:
        assert det.header.frame_id == "test_cam"
        assert _stamp(det) in raw_by_stamp
        assert det.model == "best.pt"
    matched = 0
    for dec in seen["decoded"]:
        src = raw_by_stamp.get(_stamp(dec))
        if src is not None:
            matched += 1
            assert (dec.width, dec.height) == (src.width, src.height) == (W, H)
            assert dec.header.frame_id == src.header.frame_id == "test_cam"
            # The decoded frame resembles its source (a trained model; the frame is the bus photo).
            a = np.frombuffer(bytes(src.data), np.uint8).reshape(H, W, 3)[..., ::-1].astype(float)
            b = np.frombuffer(bytes(dec.data), np.uint8).reshape(H, W, 3).astype(float)
            if dec.encoding == "rgb8":
                assert np.mean((a - b) ** 2) < np.mean((a - a.mean()) ** 2)
    assert matched >= 3, "no decoded frame could be matched to its source by stamp"


def test_compressed_is_far_below_raw(pipeline):
    node, _ = pipeline
    msg = node.encoder_frame
    assert msg.codec == "anon_compression" and msg.encoding == "bgr8"
    assert (msg.width, msg.height) == (W, H)
    assert len(msg.data) < W * H * 3 / 4


def test_encoder_node_guards_with_the_video_settings(pipeline):
    """Without guard_config the node's guard is VIDEO (0.75 scale, boxes held 2 frames): its id is in every frame."""
    from anon_compression_codec import peek_header
    from anon_compression_codec.privacy.stage import VIDEO

    headers = [peek_header(bytes(m.data)) for m in pipeline[0].seen["compressed"]]
    assert headers and all(h.guard_applied and h.guard_settings == VIDEO.settings_id() for h in headers)


def test_qos_defaults_and_standard_overrides(pipeline):
    """Latents in: best effort (newest frame); raw images in: reliable; the detector's reliability
    comes from its qos_overrides parameter; every publisher is reliable."""
    from rclpy.qos import ReliabilityPolicy

    node, _ = pipeline

    def reliability(endpoints, name: str) -> ReliabilityPolicy:
        (info,) = [e for e in endpoints if e.node_name == name]
        return info.qos_profile.reliability

    assert reliability(node.get_subscriptions_info_by_topic("/" + graph.COMPRESSED), "decoder") == ReliabilityPolicy.BEST_EFFORT
    assert reliability(node.get_subscriptions_info_by_topic("/" + graph.RAW), "encoder") == ReliabilityPolicy.RELIABLE
    assert reliability(node.get_subscriptions_info_by_topic("/" + graph.DECODED), "detector") == ReliabilityPolicy.BEST_EFFORT
    for topic, name in [(graph.RAW, "capture"), (graph.COMPRESSED, "encoder"), (graph.DECODED, "decoder")]:
        assert reliability(node.get_publishers_info_by_topic("/" + topic), name) == ReliabilityPolicy.RELIABLE


def test_a_drivers_camera_info_is_passed_through_with_each_frame(pipeline):
    """Subscribing to a driver, the encoder pairs its camera_info with each encoded frame."""
    from sensor_msgs.msg import CameraInfo

    node, procs = pipeline
    infos = []
    node.create_subscription(CameraInfo, graph.DECODED_INFO, infos.append, 10)
    pub = node.create_publisher(CameraInfo, graph.CAMERA_INFO, 10)
    # A calibration for no size at all (or another size) is not passed on, and the node stays up.
    publish_until(node, pub, CameraInfo(), lambda: counter(node.seen, "encoder", "camera_info_mismatch") >= 1, 30,
                  "the encoder to refuse a zero-size camera_info")  # fmt: skip
    calibration = CameraInfo(width=W, height=H, distortion_model="plumb_bob")
    calibration.k = [150.0, 0, 80, 0, 150, 60, 0, 0, 1]
    publish_until(node, pub, calibration, lambda: len(infos) >= 2, 30, "camera_info for the encoded frames")
    assert all((i.width, i.height) == (W, H) and list(i.k) == list(calibration.k) for i in infos)
    assert {i.header.frame_id for i in infos} == {"test_cam"}
    assert all(p.poll() is None for p in procs)


def test_encoder_never_publishes_images(pipeline):
    node, _ = pipeline
    pubs = node.get_publisher_names_and_types_by_node("encoder", "/")
    types = {t for _, ts in pubs for t in ts}
    assert "anon_compression_msgs/msg/CompressedLatent" in types
    assert "sensor_msgs/msg/Image" not in types


def test_live_parameter_change_takes_effect(pipeline):
    node, _ = pipeline
    result = set_parameter(
        node, "decoder", "output_encoding", ParameterValue(type=ParameterType.PARAMETER_STRING, string_value="bgr8")
    )
    assert result.successful, result.reason
    start = len(node.seen["decoded"])
    spin_until(node, lambda: any(m.encoding == "bgr8" for m in node.seen["decoded"][start:]), 30, "bgr8 output")


def test_impossible_parameter_change_is_refused_with_reason(pipeline):
    node, _ = pipeline
    bad = ParameterValue(type=ParameterType.PARAMETER_STRING, string_value="/no/such/weights.pt")
    result = set_parameter(node, "encoder", "weights", bad)
    assert not result.successful and "keeping the current weights" in result.reason
    depth = ParameterValue(type=ParameterType.PARAMETER_INTEGER, integer_value=5)
    readonly = set_parameter(node, "encoder", f"qos_overrides./{graph.COMPRESSED}.publisher.depth", depth)
    assert not readonly.successful  # QoS is set at launch only


def test_bad_input_is_rejected_and_nodes_stay_up(pipeline):
    node, procs = pipeline
    raw_pub = node.create_publisher(Image, graph.RAW, 10)
    bad = Image(height=4, width=4, encoding="16UC1", step=8, data=bytes(32))
    latent_pub = node.create_publisher(CompressedLatent, graph.COMPRESSED, 10)
    good = node.encoder_frame
    corrupt = CompressedLatent(header=good.header, codec=good.codec, data=bytes(good.data[:-1]) + bytes([good.data[-1] ^ 1]))
    spin_until(node, lambda: raw_pub.get_subscription_count() > 0 and latent_pub.get_subscription_count() > 0, 30, "matching")
    # Published until counted: the decoder keeps only the newest latent (depth 1), so the encoder's
    # next frame may replace a corrupt one before the decoder takes it.
    publish_until(node, raw_pub, bad, lambda: counter(node.seen, "encoder", "rejected_input") >= 1, 30,
                  "encoder to count the bad image")  # fmt: skip
    publish_until(node, latent_pub, corrupt, lambda: counter(node.seen, "decoder", "rejected_frames") >= 1, 30,
                  "decoder to count the corrupt frame")  # fmt: skip
    start = len(node.seen["decoded"])
    spin_until(node, lambda: len(node.seen["decoded"]) > start + 2, 30, "good frames after the bad ones")
    assert all(p.poll() is None for p in procs), "a node died"


def test_the_guard_cannot_be_switched_off_over_the_network(pipeline):
    node, _ = pipeline
    off = ParameterValue(type=ParameterType.PARAMETER_BOOL, bool_value=False)
    result = set_parameter(node, "encoder", "guard", off)
    assert not result.successful
    start = len(node.seen["compressed"])
    spin_until(node, lambda: len(node.seen["compressed"]) > start + 2, 30, "frames after the refused change")
    assert all(m.guard_applied for m in node.seen["compressed"][start:])


def test_decoder_refuses_unguarded_frames_and_warns(pipeline, weights):
    from anon_compression_codec import Encoder
    from anon_compression_nodes.latent_message import to_message

    node, procs = pipeline
    frame = np.zeros((H, W, 3), np.uint8)
    unguarded = to_message(Encoder(weights, guard=False)(frame), "bgr8", node.encoder_frame.header)
    assert not unguarded.guard_applied
    _decoder_counts_and_warns(node, unguarded, "refused_unguarded", "without the privacy guard")
    assert all(p.poll() is None for p in procs)


def test_decoder_warns_about_late_frames(pipeline):
    """A frame stamped 5 s ago (max_age_ms 1000) is decoded, counted late, and diagnostics go WARN."""
    node, procs = pipeline
    stale = copy.deepcopy(node.encoder_frame)
    stale.header.stamp = (node.get_clock().now() - rclpy.duration.Duration(seconds=5)).to_msg()
    _decoder_counts_and_warns(node, stale, "late_frames", "max_age_ms")
    assert all(p.poll() is None for p in procs)


def _decoder_counts_and_warns(node, msg: CompressedLatent, key: str, text: str) -> None:
    """Publish `msg` to the decoder until it has counted one more under `key` and reported a WARN naming
    `text`. Counted from the value before: frames can already be counted (e.g. late ones at start-up),
    and the decoder keeps only the newest latent, so one published copy may never be taken."""
    pub = node.create_publisher(CompressedLatent, graph.COMPRESSED, 10)
    spin_until(node, lambda: pub.get_subscription_count() > 0, 30, "the decoder to subscribe")
    start, before = len(node.seen["diagnostics"]), counter(node.seen, "decoder", key)
    publish_until(node, pub, msg, lambda: counter(node.seen, "decoder", key) > before and _warned(node, "decoder", text, start),
                  30, f"the decoder to count {key} and report a WARN naming {text!r}")  # fmt: skip
    node.destroy_publisher(pub)


def _warned(node, name: str, text: str, start: int) -> bool:
    """Whether a diagnostics status of `name` since message `start` is WARN and mentions `text`."""
    statuses = [s for a in node.seen["diagnostics"][start:] for s in a.status if s.name.endswith(name)]
    return any(s.level == DiagnosticStatus.WARN and text in s.message for s in statuses)


def test_decoder_follows_the_encoder_to_another_preset(pipeline):
    """The encoder switches rungs live (its weights parameter); the decoder loads the shipped preset
    named by the frames' model id and keeps decoding."""
    node, procs = pipeline
    rejected = counter(node.seen, "decoder", "rejected_frames")
    paper = ParameterValue(type=ParameterType.PARAMETER_STRING, string_value="paper")
    assert set_parameter(node, "encoder", "weights", paper).successful
    paper_id = Encoder("paper", guard=False).model_id.hex()
    start_c, start_d = len(node.seen["compressed"]), len(node.seen["decoded"])
    spin_until(node, lambda: any(m.model_id == paper_id for m in node.seen["compressed"][start_c:]), 60,
               "frames from the paper preset")  # fmt: skip
    spin_until(node, lambda: len(node.seen["decoded"]) > start_d + 3, 60, "decoded frames after the switch")
    assert counter(node.seen, "decoder", "rejected_frames") == rejected  # followed, not refused as foreign
    assert all(p.poll() is None for p in procs)
