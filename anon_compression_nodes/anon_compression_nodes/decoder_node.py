"""Decoder node: anon_compression_msgs/CompressedLatent -> sensor_msgs/Image (rviz-ready).

Every message is validated (codec, version, checksum, model identifier, fields vs bitstream);
a bad one is counted and reported, and the next good frame decodes as usual.
"""

from __future__ import annotations

import time

import torch
from rclpy.time import Time
from sensor_msgs.msg import Image

from anon_compression_codec import BitstreamError, CodecError, Decoder, presets
from anon_compression_msgs.msg import CompressedLatent

from . import common, graph, image_conversion
from .latent_message import check_message

ERROR_THROTTLE_S = 5.0


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
                            "from the header before decoding).", read_only=True, int_range=(1, 8192 * 8192))  # fmt: skip

        self.stats = common.Stats(self)
        torch.set_num_threads(self.threads)
        self.codec: Decoder | None = None
        try:
            self.codec = self._load(self.weights, self.device)
        except CodecError as exc:
            self.stats.error(f"weights could not be loaded: {exc}")
        self.add_on_set_parameters_callback(self._on_set)
        self.pub = common.publisher(self, Image, "decoded", 2)
        self.sub = common.subscription(self, CompressedLatent, "compressed", self._on_latent, common.LATENT_INPUT)

    def _load(self, weights: str, device: str) -> Decoder:
        codec = Decoder(weights or None, device=device, max_pixels=self.max_pixels, precision=self.precision)
        self.get_logger().info(f"decoder ready: weights {codec.weights.path} (model {codec.model_id.hex()}) on {device}")
        self.stats.ok()
        return codec

    def _on_set(self, params) -> common.SetParametersResult:
        new = {p.name: p.value for p in params}
        if "output_encoding" in new and new["output_encoding"] not in ("rgb8", "bgr8"):
            return common.refuse("output_encoding must be rgb8 or bgr8")
        if "weights" in new or "device" in new:
            try:
                self.codec = self._load(new.get("weights", self.weights), new.get("device", self.device))
            except CodecError as exc:
                return common.refuse(f"keeping the current weights: {exc}")
        if "threads" in new:
            torch.set_num_threads(new["threads"])
        for name in ("weights", "device", "threads", "output_encoding", "follow_presets", "max_age_ms"):
            if name in new:
                setattr(self, name, new[name])
        return common.ACCEPT

    def _follow(self, model_id: bytes) -> None:
        """Load the shipped preset that made this frame, if there is one (else the frame is refused
        as from a foreign model)."""
        name = presets.find(model_id)
        if name is not None:
            self.codec = self._load(name, self.device)
            self.weights = name
            self.get_logger().info(f"followed the encoder to preset {name!r}")

    def _check_age(self, msg: CompressedLatent) -> None:
        age_ms = (self.get_clock().now() - Time.from_msg(msg.header.stamp)).nanoseconds / 1e6
        self.stats.gauge("age_ms", age_ms)
        if self.max_age_ms and age_ms > self.max_age_ms:
            self.stats.warn("late_frames", f"frame arrived {age_ms:.0f} ms after its stamp (max_age_ms {self.max_age_ms})")

    def _on_latent(self, msg: CompressedLatent) -> None:
        if self.codec is None:
            self.stats.count("dropped_no_model")
            self.get_logger().error("no weights loaded: frame dropped", throttle_duration_sec=ERROR_THROTTLE_S)
            return
        if self.pub.get_subscription_count() == 0:
            return
        t0 = time.perf_counter()
        self._check_age(msg)
        order = "bgr" if self.output_encoding == "bgr8" else "rgb"
        try:
            data, header = check_message(msg)
            if self.require_guard and not header.guard_applied:
                reason = "frame was encoded without the privacy guard (require_guard is set)"
                n = self.stats.warn("refused_unguarded", reason)
                self.get_logger().warning(f"frame refused ({n} so far): {reason}", throttle_duration_sec=ERROR_THROTTLE_S)
                return
            if header.model_id != self.codec.model_id and self.follow_presets:
                self._follow(header.model_id)
            image = self.codec(data, channel_order=order)
        except BitstreamError as exc:
            n = self.stats.warn("rejected_frames", str(exc))
            self.get_logger().error(f"frame rejected ({n} so far): {exc}", throttle_duration_sec=ERROR_THROTTLE_S)
            return
        except Exception as exc:  # noqa: BLE001 - never let one frame take the node down
            n = self.stats.count("decode_errors")
            self.get_logger().error(f"decoding failed ({n} so far): {exc!r}", throttle_duration_sec=ERROR_THROTTLE_S)
            return
        encoding = "mono8" if header.channels == 1 else self.output_encoding
        self.pub.publish(image_conversion.from_array(image, encoding, msg.header))
        self.stats.frame(time.perf_counter() - t0, len(data))


def main(args: list[str] | None = None) -> None:
    common.run(DecoderNode, args)


if __name__ == "__main__":
    main()
