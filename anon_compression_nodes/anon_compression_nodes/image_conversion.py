"""sensor_msgs/Image <-> numpy. Which encodings are supported and how rows are laid out is decided
in the codec's `rawimage` module (shared with the bag tools); cv_bridge is used where a ROS 2 install
provides it, with the same semantics for the supported encodings (passthrough: channel order as the
encoding says, row padding dropped).
"""

from __future__ import annotations

from array import array as byte_array

import numpy as np
from sensor_msgs.msg import Image

from anon_compression_codec.runtime import rawimage
from anon_compression_codec.runtime.rawimage import CHANNELS, UnsupportedEncoding

try:  # ROS 2's cv_bridge; the PyPI "cv-bridge" is a ROS 1 port that fails on NumPy 2
    from cv_bridge import CvBridge

    _BRIDGE: CvBridge | None = CvBridge()
except Exception:  # noqa: BLE001 - any import failure means: use the numpy path
    _BRIDGE = None

__all__ = ["CHANNELS", "UnsupportedEncoding", "check", "from_array", "to_array", "to_supported"]


def check(msg: Image) -> int:
    """Validate encoding and layout; return the channel count."""
    return rawimage.check(msg.height, msg.width, msg.encoding, msg.step, len(msg.data))


def to_array(msg: Image) -> np.ndarray:
    """HxWx3 (rgb8/bgr8, in the message's order) or HxW (mono8) uint8 view of the image."""
    if _BRIDGE is not None:
        check(msg)
        return _BRIDGE.imgmsg_to_cv2(msg, desired_encoding="passthrough")
    return rawimage.to_array(msg.height, msg.width, msg.encoding, msg.step, msg.data)


def to_supported(msg: Image) -> tuple[np.ndarray, str]:
    """(array, encoding) in rgb8, bgr8 or mono8: what the codec takes, camera encodings converted
    (rgba8, bgra8, bayer_*8, yuv422, yuv422_yuy2, mono16)."""
    if msg.encoding in CHANNELS:
        return to_array(msg), msg.encoding
    return rawimage.to_supported(msg.height, msg.width, msg.encoding, msg.step, msg.data, bool(msg.is_bigendian))


def from_array(array: np.ndarray, encoding: str, header) -> Image:
    """An Image with the given header; array is HxWx3 for rgb8/bgr8, HxW for mono8."""
    height, width, step, contiguous = rawimage.layout(array, encoding)
    msg = Image()
    msg.header = header
    msg.height, msg.width, msg.step = height, width, step
    msg.encoding = encoding
    msg.is_bigendian = 0
    msg.data = byte_array("B", contiguous.tobytes())  # fast on every distro; bytes is checked per element on Humble
    return msg
