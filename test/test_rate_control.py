"""Quality and rate control: the controller holds a budget on a synthetic rate curve, `encode_to_bpp`
finds the quality for a bpp, and the encoder node takes `quality` and `target_kbps` live over DDS."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
import rclpy
import yaml
from rcl_interfaces.msg import ParameterType, ParameterValue
from ros_helpers import REPO, set_parameter, spin_until, start_all, stop

from anon_compression_codec.errors import InputError
from anon_compression_codec.runtime import bitstream, presets
from anon_compression_codec.runtime.codec import Encoder
from anon_compression_codec.runtime.ratecontrol import RateController
from anon_compression_msgs.msg import CompressedLatent
from anon_compression_nodes import graph


def _bits(quality: float, frame: int) -> float:
    """A frame's bits: exponential in quality (x8 over the range, not the controller's x10), with content
    that doubles in complexity for a stretch, and per-frame noise."""
    content = 2.0 if 100 <= frame < 150 else 1.0
    return 20000 * content * math.exp(math.log(8) * quality / 100) * (1 + 0.1 * math.sin(frame * 1.7))


def test_controller_holds_the_budget_through_a_content_change():
    control, bits, quality = RateController(400, quality=50), [], 50.0
    for frame in range(300):  # 30 s at 10 Hz
        bits.append(_bits(quality, frame))
        quality = control.update(int(bits[-1]), 0.1)
    kbps = sum(bits) / 30 / 1000
    assert abs(kbps - 400) / 400 < 0.05, kbps
    per_second = [sum(bits[i : i + 10]) / 1000 for i in range(50, 300, 10)]  # after settling
    assert max(abs(k - 400) / 400 for k in per_second) < 0.45  # the content jump is absorbed within seconds
    for bad in (0, -5, float("nan"), float("inf")):
        with pytest.raises(InputError):
            RateController(bad)


def test_encode_to_bpp_picks_the_highest_quality_under_the_target(hyper_weights):
    rng = np.random.default_rng(0)
    img = cv2.GaussianBlur(rng.integers(0, 256, (96, 128, 3), dtype=np.uint8), (0, 0), 1.5)
    enc = Encoder(hyper_weights, guard=False, quality=33)
    low, high = (len(Encoder(hyper_weights, guard=False, quality=q).encode(img)) * 8 / img[..., 0].size for q in (0, 100))
    target = (low + high) / 2
    data = enc.encode_to_bpp(img, target)
    header = bitstream.peek_header(data)
    assert len(data) * 8 / img[..., 0].size <= target and 0 < header.quality < 10000
    enc.set_quality(header.quality / 100 + 1)
    assert len(enc.encode(img)) * 8 / img[..., 0].size > target * 0.97  # one point more is (nearly) over
    assert enc.quality == header.quality / 100 + 1
    assert Encoder(hyper_weights, guard=False, quality=33).quality == 33  # restored after the search
    assert bitstream.peek_header(enc.encode_to_bpp(img, low / 10)).quality == 0  # nothing fits: the lowest


def test_encoder_node_takes_quality_and_target_kbps_live(tmp_path, hyper_weights):
    video = tmp_path / "people.avi"
    bus = cv2.imread(str(next(REPO.glob(".venv/lib/python3*/site-packages/ultralytics/assets/bus.jpg"))))
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (160, 120))
    for i in range(10):
        writer.write(np.roll(cv2.resize(bus, (160, 120)), 5 * i, axis=1))
    writer.release()
    overrides = {"encoder": {"ros__parameters": {"weights": hyper_weights, "camera": str(video), "loop": True,
                                                 "max_side": 0, "rate_hz": 10.0, "quality": 40.0}}}  # fmt: skip
    (tmp_path / "o.yaml").write_text(yaml.safe_dump(overrides))
    procs = start_all([graph.ENCODER], tmp_path / "o.yaml", tmp_path)
    rclpy.init()
    node = rclpy.create_node("rate_probe")
    frames: list[bitstream.Header] = []
    node.create_subscription(CompressedLatent, graph.COMPRESSED,
                             lambda m: frames.append(bitstream.peek_header(bytes(m.data))), 50)  # fmt: skip
    try:
        spin_until(node, lambda: len(frames) >= 2, 120, "frames from the encoder")
        assert frames[-1].quality == 4000 and frames[-1].version == bitstream.VERSION_HYPERPRIOR

        def set_float(name: str, value: float) -> None:
            result = set_parameter(node, "encoder", name, ParameterValue(type=ParameterType.PARAMETER_DOUBLE, double_value=value))
            assert result.successful, result.reason

        set_float("quality", 75.5)
        start = len(frames)
        spin_until(node, lambda: any(h.quality == 7550 for h in frames[start:]), 30, "frames at quality 75.5")
        set_float("target_kbps", 0.5)  # far below any quality's rate: the controller walks down to 0
        start = len(frames)
        spin_until(node, lambda: any(h.quality == 0 for h in frames[start:]), 60, "rate control down to quality 0")
        set_float("target_kbps", 5000.0)  # far above: up to 100
        start = len(frames)
        spin_until(node, lambda: any(h.quality == 10000 for h in frames[start:]), 60, "rate control up to quality 100")
        bad = set_parameter(node, "encoder", "quality", ParameterValue(type=ParameterType.PARAMETER_DOUBLE, double_value=150.0))
        assert not bad.successful  # outside the descriptor's range
        set_float("target_kbps", 0.0)
        set_float("quality", -1.0)  # negative: the named quality of `weights`; for a weight file the default's
        start = len(frames)
        default = round(presets.DEFAULT_QUALITY * 100)
        spin_until(node, lambda: any(h.quality == default for h in frames[start:]), 30, "frames at the default quality")
        high = set_parameter(node, "encoder", "weights", ParameterValue(type=ParameterType.PARAMETER_STRING, string_value="high"))
        assert high.successful, high.reason
        start, named = len(frames), round(presets.NAMED_QUALITIES["high"] * 100)
        spin_until(node, lambda: any(h.quality == named for h in frames[start:]), 60, "frames at the named quality `high`")
    finally:
        node.destroy_node()
        rclpy.shutdown()
        codes = stop(procs)
    assert codes == [0], (tmp_path / "encoder.log").read_text()[-2000:]
