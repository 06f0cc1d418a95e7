"""The one receiving path of the nodes that decode (decoder, web): a CompressedLatent message ->
its decoded image, or a refusal that is counted on /diagnostics and logged (throttled).

In order: weights loaded; message fields agree with the bitstream (parsed and CRC-checked once);
`require_guard` refuses frames encoded without the privacy guard; the pixel limit and the model are
checked from the header; frames of another shipped preset load it (`follow_presets`); decode. No
exception from one frame reaches the node.
"""

from __future__ import annotations

import numpy as np

from anon_compression_codec import BitstreamError, FollowingDecoder, Header
from anon_compression_msgs.msg import CompressedLatent

from .common import Stats
from .latent_message import check_message


class Receiver:
    def __init__(self, node, stats: Stats, *, max_pixels: int, require_guard: bool, precision: str, follow: bool) -> None:
        self.node, self.stats = node, stats
        self.max_pixels, self.require_guard, self.precision, self.follow = max_pixels, require_guard, precision, follow
        self.codec: FollowingDecoder | None = None

    def load(self, weights: str, device: str) -> FollowingDecoder:
        """Load weights (CodecError if they cannot be), make them current and return them."""
        codec = FollowingDecoder(weights or None, device=device, max_pixels=self.max_pixels, precision=self.precision,
                                 follow=self.follow)  # fmt: skip
        self.node.get_logger().info(f"decoder ready: weights {codec.current.weights.path} "
                                    f"(model {codec.current.model_id.hex()}) on {device}")  # fmt: skip
        self.stats.ok()
        self.codec = codec
        return codec

    def set_follow(self, follow: bool) -> None:
        self.follow = follow
        if self.codec is not None:
            self.codec.follow = follow

    def receive(self, msg: CompressedLatent, channel_order: str) -> tuple[np.ndarray, Header] | None:
        if self.codec is None:
            self.stats.reject("dropped_no_model", "frame dropped", "no weights loaded (see the earlier error)")
            return None
        try:
            header, payload = check_message(msg)
            if self.require_guard and not header.guard_applied:
                reason = "frame was encoded without the privacy guard (require_guard is set)"
                self.stats.reject("refused_unguarded", "frame refused", reason, level="warning")
                return None
            followed = self.codec.followed
            image = self.codec.decode_parsed(header, payload, channel_order)
            if self.codec.followed != followed:
                self.node.get_logger().info(f"followed the encoder to preset {self.codec.followed!r}")
        except BitstreamError as exc:
            self.stats.reject("rejected_frames", "frame rejected", str(exc))
            return None
        except Exception as exc:  # noqa: BLE001 - never let one frame take the node down
            self.stats.reject("decode_errors", "decoding failed", repr(exc))
            return None
        return image, header
