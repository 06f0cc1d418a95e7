"""sensor_msgs/Image <-> numpy, the one place where encodings are decided.

Supported: rgb8, bgr8, mono8 (8-bit, any row padding). Everything else (16UC1, 32FC1, bayer_*,
rgba8, yuv422, ...) raises UnsupportedEncoding with the encoding named. cv_bridge is used where a
ROS 2 install provides it; otherwise the numpy path below, which has the same semantics for the
supported encodings (passthrough: channel order as the encoding says, row padding dropped).
"""

from __future__ import annotations

import numpy as np
from sensor_msgs.msg import Image

try:  # ROS 2's cv_bridge; the PyPI "cv-bridge" is a ROS 1 port that fails on NumPy 2
    from cv_bridge import CvBridge

    _BRIDGE: CvBridge | None = CvBridge()
except Exception:  # noqa: BLE001 - any import failure means: use the numpy path
    _BRIDGE = None

CHANNELS = {"rgb8": 3, "bgr8": 3, "mono8": 1}


class UnsupportedEncoding(ValueError):
    """An image the pipeline refuses: wrong encoding or inconsistent size/step/data."""


def check(msg: Image) -> int:
    """Validate encoding and layout; return the channel count."""
    channels = CHANNELS.get(msg.encoding)
    if channels is None:
        raise UnsupportedEncoding(f"encoding {msg.encoding!r} is not supported (use one of {sorted(CHANNELS)})")
    if msg.height == 0 or msg.width == 0:
        raise UnsupportedEncoding(f"empty image {msg.width}x{msg.height}")
    if msg.step < msg.width * channels:
        raise UnsupportedEncoding(f"step {msg.step} < width {msg.width} x {channels} channels")
    if len(msg.data) < msg.step * msg.height:
        raise UnsupportedEncoding(f"data has {len(msg.data)} bytes, step x height needs {msg.step * msg.height}")
    return channels


def to_array(msg: Image) -> np.ndarray:
    """HxWx3 (rgb8/bgr8, in the message's order) or HxW (mono8) uint8 view of the image."""
    channels = check(msg)
    if _BRIDGE is not None:
        return _BRIDGE.imgmsg_to_cv2(msg, desired_encoding="passthrough")
    buf = np.frombuffer(msg.data, dtype=np.uint8, count=msg.step * msg.height).reshape(msg.height, msg.step)
    rows = buf[:, : msg.width * channels]
    return rows.reshape(msg.height, msg.width, channels) if channels == 3 else rows.reshape(msg.height, msg.width)


def from_array(array: np.ndarray, encoding: str, header) -> Image:
    """An Image with the given header; array is HxWx3 for rgb8/bgr8, HxW for mono8."""
    if encoding not in CHANNELS or array.dtype != np.uint8 or array.ndim != (3 if CHANNELS[encoding] == 3 else 2):
        raise UnsupportedEncoding(f"cannot publish a {array.dtype} array of shape {array.shape} as {encoding}")
    msg = Image()
    msg.header = header
    msg.height, msg.width = array.shape[:2]
    msg.encoding = encoding
    msg.is_bigendian = 0
    msg.step = msg.width * CHANNELS[encoding]
    msg.data = np.ascontiguousarray(array).tobytes()
    return msg
