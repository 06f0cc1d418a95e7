"""Decoder node: anon_compression_msgs/CompressedLatent -> sensor_msgs/Image (rviz-ready).

Every message goes through the receiver (receiver.py: fields vs bitstream, checksum, require_guard,
pixel limit, model identifier, following another shipped preset); a bad one is counted and
reported, and the next good frame decodes as usual.
"""

from __future__ import annotations

import time

import torch
from rclpy.time import Time
from sensor_msgs.msg import Image

from anon_compression_codec import CodecError
from anon_compression_codec.runtime.bitstream import MAX_SIDE
from anon_compression_msgs.msg import CompressedLatent

from . import common, graph, image_conversion
from .receiver import Receiver


class DecoderNode(common.GraphNode):
    def __init__(self) -> None:
        super().__init__(graph.DECODER)
        d = common.declare
        self.weights, self.device, self.threads = common.declare_codec_params(
            self, "Preset name or weight file; must be the encoder's weights."
        )
        self.precision = common.declare_precision(self)
        self.output_encoding = d(self, "output_encoding", "Encoding of colour output (grayscale sources give mono8).",
                                 choices=("rgb8", "bgr8"))  # fmt: skip
        self.follow_presets = d(self, "follow_presets", "When a frame comes from another shipped preset than the "
                                "loaded one (the encoder switched rungs), load that preset.")  # fmt: skip
        self.require_guard = d(self, "require_guard", "Refuse frames the encoder did not guard (privacy guard flag "
                               "unset). Set at launch only.", read_only=True)  # fmt: skip
        self.max_age_ms = d(self, "max_age_ms", "A frame older than this on arrival (its stamp against this node's "
                            "clock) is decoded but counted late, and diagnostics go WARN; 0 = no check.",
                            int_range=(0, 60000))  # fmt: skip
        self.max_pixels = d(self, "max_pixels", "Refuse frames larger than this many pixels (checked "
                            "from the header before decoding).", read_only=True, int_range=(1, MAX_SIDE * MAX_SIDE))  # fmt: skip

        self.stats = common.Stats(self)
        torch.set_num_threads(self.threads)
        self.receiver = Receiver(self, self.stats, max_pixels=self.max_pixels, require_guard=self.require_guard,
                                 precision=self.precision, follow=self.follow_presets)  # fmt: skip
        try:
            self.receiver.load(self.weights, self.device)
        except CodecError as exc:
            self.stats.error(f"weights could not be loaded: {exc}")
        self.add_on_set_parameters_callback(self._on_set)
        self.pub = common.publisher(self, Image, "decoded", 2)
        self.sub = common.subscription(self, CompressedLatent, "compressed", self._on_latent, common.LATENT_INPUT)

    def _on_set(self, params) -> common.SetParametersResult:
        new = {p.name: p.value for p in params}
        if "output_encoding" in new and new["output_encoding"] not in ("rgb8", "bgr8"):
            return common.refuse("output_encoding must be rgb8 or bgr8")
        if "weights" in new or "device" in new:
            try:
                self.receiver.load(new.get("weights", self.weights), new.get("device", self.device))
            except CodecError as exc:
                return common.refuse(f"keeping the current weights: {exc}")
        if "follow_presets" in new:
            self.receiver.set_follow(new["follow_presets"])
        if "threads" in new:
            torch.set_num_threads(new["threads"])
        for name in ("weights", "device", "threads", "output_encoding", "follow_presets", "max_age_ms"):
            if name in new:
                setattr(self, name, new[name])
        return common.ACCEPT

    def _check_age(self, msg: CompressedLatent) -> None:
        age_ms = (self.get_clock().now() - Time.from_msg(msg.header.stamp)).nanoseconds / 1e6
        self.stats.gauge("age_ms", age_ms)
        if self.max_age_ms and age_ms > self.max_age_ms:
            self.stats.warn("late_frames", f"frame arrived {age_ms:.0f} ms after its stamp (max_age_ms {self.max_age_ms})")

    def _on_latent(self, msg: CompressedLatent) -> None:
        if self.pub.get_subscription_count() == 0 and self.receiver.codec is not None:
            return
        t0 = time.perf_counter()
        self._check_age(msg)
        received = self.receiver.receive(msg, "bgr" if self.output_encoding == "bgr8" else "rgb")
        if received is None:
            return
        image, header = received
        encoding = "mono8" if header.channels == 1 else self.output_encoding
        self.pub.publish(image_conversion.from_array(image, encoding, msg.header))
        self.stats.frame(time.perf_counter() - t0, len(msg.data))


def main(args: list[str] | None = None) -> None:
    common.run(DecoderNode, args)


if __name__ == "__main__":
    main()
