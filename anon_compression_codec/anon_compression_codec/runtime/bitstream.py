"""The `.acl` bitstream: one self-contained frame. Layout (big-endian), versions 1 and 2:

    offset size field
    0      4    magic b"ANCL"
    4      1    format version (1: a factorized-prior model's frame; 2: a hyperprior model's)
    5      1    flags: bit 0 = privacy guard applied; other bits must be 0
    6      8    model identifier (first 8 bytes of SHA-256 of the weights)
    14     1    source channels (1 = grayscale, 3 = colour)
    15     1    reserved, 0
    16     2    original height (1..MAX_SIDE)
    18     2    original width (1..MAX_SIDE)
    20     2    latent channels
    22     2    latent height
    24     2    latent width
    26     4    payload length in bytes (a multiple of 4)
    30     v    version 2 only (v = 2; 0 in version 1): quality in hundredths, 0..10000
    30+v   g    guard section, only when flag bit 0 is set (g = 0 otherwise):
                  1 guard version, 4 settings id (CRC-32 of the detection settings),
                  2 box count k (<= MAX_GUARD_BOXES), k x 8 pixel boxes (x0, y0, x1, y1; u16 each)
    30+v+g n    payload: ANS-coded latent (version 2: hyper-latent, then latent), little-endian
                32-bit words
    ...    4    CRC-32 of everything before it

Guard versions: 1, every latent whose receptive field touches a box holds the fill value; 2, the
box pixels were filled from outside the boxes before the analysis transform (privacy/fill.py) and
the latents whose receptive field lies wholly inside a box hold the fill value. Both decode.

Everything is validated by `parse` before any decoding or allocation that depends on the fields.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from ..errors import CorruptPayloadError, UnsupportedVersionError

MAGIC = b"ANCL"
VERSION = 1  # what a factorized model's encoder writes
VERSION_HYPERPRIOR = 2
VERSIONS = (VERSION, VERSION_HYPERPRIOR)
MAX_QUALITY = 10000  # hundredths of the 0..100 quality
_QUALITY = struct.Struct(">H")
CODEC_NAME = "anon_compression"
FLAG_GUARD = 0x01
KNOWN_FLAGS = FLAG_GUARD
MAX_SIDE = 8192
_HEADER = struct.Struct(">4sBB8sBBHHHHHI")
HEADER_SIZE = _HEADER.size
_GUARD = struct.Struct(">BIH")
_BOX = struct.Struct(">HHHH")
GUARD_LATENTS, GUARD_PIXEL_FILL = 1, 2  # see the module docstring
GUARD_VERSION = GUARD_PIXEL_FILL  # what encoders write
MAX_GUARD_BOXES = 4096
CRC_SIZE = 4
# No latent coded with our tables costs more than this many bytes per symbol; larger lengths are lies.
_MAX_BYTES_PER_SYMBOL = 4


@dataclass(frozen=True)
class Header:
    model_id: bytes
    channels: int
    height: int
    width: int
    latent_channels: int
    latent_height: int
    latent_width: int
    payload_length: int
    flags: int = 0
    version: int = VERSION
    guard_settings: int = 0
    guard_boxes: tuple[tuple[int, int, int, int], ...] = ()
    guard_version: int = GUARD_VERSION
    quality: int = 0  # hundredths (version 2)

    @property
    def guard_applied(self) -> bool:
        return bool(self.flags & FLAG_GUARD)

    def as_dict(self) -> dict:
        return {
            "codec": CODEC_NAME,
            "version": self.version,
            "flags": self.flags,
            "guard_applied": self.guard_applied,
            "model_id": self.model_id.hex(),
            "channels": self.channels,
            "height": self.height,
            "width": self.width,
            "latent_shape": [self.latent_channels, self.latent_height, self.latent_width],
            "payload_length": self.payload_length,
            **({"quality": self.quality / 100} if self.version == VERSION_HYPERPRIOR else {}),
            **(
                {
                    "guard": {
                        "version": self.guard_version,
                        "settings_id": f"{self.guard_settings:08x}",
                        "boxes": [list(b) for b in self.guard_boxes],
                    }
                }
                if self.guard_applied
                else {}
            ),  # fmt: skip
        }


def pack(header: Header, payload: bytes) -> bytes:
    """Header + payload + CRC-32. The header's payload_length must match the payload."""
    if header.payload_length != len(payload):
        raise ValueError("header payload_length does not match the payload")
    head = _HEADER.pack(
        MAGIC, header.version, header.flags, header.model_id, header.channels, 0,
        header.height, header.width, header.latent_channels, header.latent_height,
        header.latent_width, header.payload_length,
    )  # fmt: skip
    if header.version == VERSION_HYPERPRIOR:
        if not 0 <= header.quality <= MAX_QUALITY:
            raise ValueError(f"quality {header.quality} outside 0..{MAX_QUALITY} hundredths")
        head += _QUALITY.pack(header.quality)
    guard = b""
    if header.guard_applied:
        guard = _GUARD.pack(header.guard_version, header.guard_settings, len(header.guard_boxes))
        guard += b"".join(_BOX.pack(*box) for box in header.guard_boxes)
    elif header.guard_boxes:
        raise ValueError("guard boxes given without the guard flag")
    body = head + guard + payload
    return body + struct.pack(">I", zlib.crc32(body))


def parse(data: bytes | bytearray | memoryview) -> tuple[Header, bytes]:
    """Validate a whole frame and return its header and payload, or raise a BitstreamError."""
    data = bytes(data)
    if len(data) < HEADER_SIZE + CRC_SIZE:
        raise CorruptPayloadError(f"frame too short: {len(data)} bytes, a header alone is {HEADER_SIZE + CRC_SIZE}")
    (magic, version, flags, model_id, channels, reserved, height, width,
     lc, lh, lw, plen) = _HEADER.unpack_from(data)  # fmt: skip
    if magic != MAGIC:
        raise CorruptPayloadError(f"not an anon_compression frame: magic {magic!r}, expected {MAGIC!r}")
    if version not in VERSIONS:
        # Every version ends with a CRC-32 of all bytes before it: a frame whose CRC fails was
        # damaged (for example a flipped version byte) rather than written by another version.
        (crc,) = struct.unpack_from(">I", data, len(data) - CRC_SIZE)
        if crc != zlib.crc32(data[:-CRC_SIZE]):
            raise CorruptPayloadError("checksum mismatch: the frame was damaged")
        raise UnsupportedVersionError(f"bitstream version {version}; this decoder reads versions {VERSIONS}")
    guard_len, settings, boxes, guard_version, quality = 0, 0, (), GUARD_VERSION, 0
    fixed = HEADER_SIZE + (_QUALITY.size if version == VERSION_HYPERPRIOR else 0)
    if len(data) < fixed + CRC_SIZE:
        raise CorruptPayloadError(f"frame too short: {len(data)} bytes, a version {version} header alone is {fixed + CRC_SIZE}")
    if version == VERSION_HYPERPRIOR:
        (quality,) = _QUALITY.unpack_from(data, HEADER_SIZE)
    if flags & FLAG_GUARD:
        if len(data) < fixed + _GUARD.size:
            raise CorruptPayloadError("guard flag set but the frame ends before the guard section")
        guard_version, settings, count = _GUARD.unpack_from(data, fixed)
        if guard_version not in (GUARD_LATENTS, GUARD_PIXEL_FILL) or count > MAX_GUARD_BOXES:
            raise CorruptPayloadError(f"guard section version {guard_version} with {count} boxes is not valid")
        guard_len = _GUARD.size + count * _BOX.size
    expected = fixed + guard_len + plen + CRC_SIZE
    if len(data) != expected:
        raise CorruptPayloadError(f"frame is {len(data)} bytes, its header announces {expected}")
    (crc,) = struct.unpack_from(">I", data, expected - CRC_SIZE)
    if crc != zlib.crc32(data[: expected - CRC_SIZE]):
        raise CorruptPayloadError("checksum mismatch: the frame was damaged")
    if flags & ~KNOWN_FLAGS or reserved:
        raise CorruptPayloadError(f"unknown flags 0x{flags:02x} / reserved byte {reserved}")
    if quality > MAX_QUALITY:
        raise CorruptPayloadError(f"quality {quality / 100} outside 0..{MAX_QUALITY // 100}")
    if channels not in (1, 3):
        raise CorruptPayloadError(f"source channels must be 1 or 3, found {channels}")
    if not (1 <= height <= MAX_SIDE and 1 <= width <= MAX_SIDE):
        raise CorruptPayloadError(f"image size {width}x{height} outside 1..{MAX_SIDE}")
    if not (lc and lh and lw) or lh > height or lw > width:
        raise CorruptPayloadError(f"latent shape {lc}x{lh}x{lw} does not fit a {width}x{height} image")
    if plen % 4 or plen > _MAX_BYTES_PER_SYMBOL * lc * lh * lw + 8:
        raise CorruptPayloadError(f"payload length {plen} impossible for latent {lc}x{lh}x{lw}")
    if guard_len:
        count = (guard_len - _GUARD.size) // _BOX.size
        boxes = tuple(_BOX.unpack_from(data, fixed + _GUARD.size + i * _BOX.size) for i in range(count))
        for x0, y0, x1, y1 in boxes:
            if not (x0 < x1 <= width and y0 < y1 <= height):
                raise CorruptPayloadError(f"guard box {(x0, y0, x1, y1)} is not inside the {width}x{height} image")
    header = Header(model_id, channels, height, width, lc, lh, lw, plen, flags, version, settings, boxes, guard_version,
                    quality)  # fmt: skip
    start = fixed + guard_len
    return header, data[start : start + plen]


def message_fields(header: Header) -> dict:
    """The fields of anon_compression_msgs/CompressedLatent that mirror the header (everything but
    `header`, `encoding` and `data`): the nodes and the bag tools fill messages from this alone."""
    return {
        "codec": CODEC_NAME,
        "bitstream_version": header.version,
        "model_id": header.model_id.hex(),
        "height": header.height,
        "width": header.width,
        "latent_channels": header.latent_channels,
        "latent_height": header.latent_height,
        "latent_width": header.latent_width,
        "guard_applied": header.guard_applied,
    }


def peek_header(data: bytes | bytearray | memoryview) -> Header:
    """Parse and validate, returning only the header (for tools and message fields)."""
    return parse(data)[0]
