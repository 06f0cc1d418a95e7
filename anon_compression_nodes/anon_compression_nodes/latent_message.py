"""CompressedLatent <-> codec bitstream. The bitstream is authoritative: the message fields are
filled from its parsed header, and a message whose fields disagree with it is refused."""

from __future__ import annotations

from array import array as byte_array

from anon_compression_codec import BITSTREAM_VERSION, CODEC_NAME, CorruptPayloadError, Header, parse, peek_header
from anon_compression_codec.runtime.bitstream import message_fields
from anon_compression_msgs.msg import CompressedLatent


def to_message(data: bytes, encoding: str, header_msg, header: Header | None = None) -> CompressedLatent:
    """`header`: the frame's parsed header when the caller has it (the encoder keeps the one it
    wrote), so the frame is not parsed again."""
    msg = CompressedLatent(header=header_msg, encoding=encoding, **message_fields(header or peek_header(data)))
    msg.data = byte_array("B", data)  # fast on every distro; bytes is checked per element on Humble
    return msg


def check_message(msg: CompressedLatent) -> tuple[Header, bytes]:
    """The parsed header and payload of a message whose fields agree with its bitstream (parsed and
    CRC-checked once, here); CorruptPayloadError otherwise."""
    if msg.codec != CODEC_NAME:
        raise CorruptPayloadError(f"codec {msg.codec!r} is not {CODEC_NAME!r}")
    h, payload = parse(bytes(msg.data))
    fields = (msg.bitstream_version, msg.model_id, msg.height, msg.width, msg.latent_channels, msg.latent_height,
              msg.latent_width, msg.guard_applied)  # fmt: skip
    truth = (h.version, h.model_id.hex(), h.height, h.width, h.latent_channels, h.latent_height, h.latent_width, h.guard_applied)
    if fields != truth:
        raise CorruptPayloadError(f"message fields {fields} disagree with the bitstream header {truth}")
    if (msg.encoding == "mono8") != (h.channels == 1):
        raise CorruptPayloadError(f"encoding {msg.encoding!r} disagrees with {h.channels} coded channel(s)")
    return h, payload


__all__ = ["BITSTREAM_VERSION", "check_message", "to_message"]
