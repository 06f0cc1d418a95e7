"""Raw image buffers as ROS lays them out (sensor_msgs/Image: encoding, step, data) <-> numpy, the
one place where supported encodings are decided. No ROS import: the nodes and the bag tools share it.

The codec takes rgb8, bgr8 and mono8 (any row padding). `to_supported` also converts what camera
drivers commonly publish: rgba8/bgra8 (alpha dropped), bayer_*8 (demosaiced), yuv422 (UYVY) and
yuv422_yuy2 (YUYV), mono16 (high byte). Everything else (16UC1 and 32FC1 depth, 16-bit colour, ...)
raises UnsupportedEncoding with the encoding named: depth is not a picture to anonymize.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..errors import InputError

CHANNELS = {"rgb8": 3, "bgr8": 3, "mono8": 1}
# Camera encodings converted on input: bytes per pixel, and the conversion to a supported encoding.
_BAYER = {"bayer_rggb8": cv2.COLOR_BayerBG2BGR, "bayer_bggr8": cv2.COLOR_BayerRG2BGR,  # OpenCV names the pattern
          "bayer_gbrg8": cv2.COLOR_BayerGR2BGR, "bayer_grbg8": cv2.COLOR_BayerGB2BGR}  # one pixel in: see its docs
_YUV = {"yuv422": cv2.COLOR_YUV2BGR_UYVY, "yuv422_yuy2": cv2.COLOR_YUV2BGR_YUY2}
BYTES_PER_PIXEL = {**CHANNELS, "rgba8": 4, "bgra8": 4, "mono16": 2, **dict.fromkeys(_BAYER, 1), **dict.fromkeys(_YUV, 2)}


class UnsupportedEncoding(InputError):
    """An image the pipeline refuses: wrong encoding or inconsistent size/step/data."""


def check(height: int, width: int, encoding: str, step: int, nbytes: int, accepted: dict[str, int] = CHANNELS) -> int:
    """Validate encoding and layout; return the bytes per pixel (the channel count for `CHANNELS`)."""
    channels = accepted.get(encoding)
    if channels is None:
        raise UnsupportedEncoding(f"encoding {encoding!r} is not supported (use one of {sorted(accepted)})")
    if height == 0 or width == 0:
        raise UnsupportedEncoding(f"empty image {width}x{height}")
    if step < width * channels:
        raise UnsupportedEncoding(f"step {step} < width {width} x {channels} channels")
    if nbytes < step * height:
        raise UnsupportedEncoding(f"data has {nbytes} bytes, step x height needs {step * height}")
    return channels


def to_array(height: int, width: int, encoding: str, step: int, data) -> np.ndarray:
    """HxWx3 (rgb8/bgr8, in the encoding's order) or HxW (mono8) uint8 view of the buffer."""
    channels = check(height, width, encoding, step, len(data))
    buf = np.frombuffer(data, dtype=np.uint8, count=step * height).reshape(height, step)
    rows = buf[:, : width * channels]
    return rows.reshape(height, width, channels) if channels == 3 else rows.reshape(height, width)


def to_supported(height: int, width: int, encoding: str, step: int, data, bigendian: bool = False
                 ) -> tuple[np.ndarray, str]:  # fmt: skip
    """(array, encoding) in a supported encoding: supported ones as views, camera encodings converted."""
    if encoding in CHANNELS:
        return to_array(height, width, encoding, step, data), encoding
    size = check(height, width, encoding, step, len(data), BYTES_PER_PIXEL)
    if encoding in _YUV and width % 2:
        raise UnsupportedEncoding(f"{encoding} needs an even width, not {width}")
    rows = np.frombuffer(data, dtype=np.uint8, count=step * height).reshape(height, step)[:, : width * size]
    if encoding in ("rgba8", "bgra8"):
        return np.ascontiguousarray(rows.reshape(height, width, 4)[..., :3]), encoding[:3] + "8"
    if encoding == "mono16":
        high = 0 if bigendian else 1
        return np.ascontiguousarray(rows.reshape(height, width, 2)[..., high]), "mono8"
    if encoding in _BAYER:
        return cv2.cvtColor(np.ascontiguousarray(rows), _BAYER[encoding]), "bgr8"
    return cv2.cvtColor(np.ascontiguousarray(rows.reshape(height, width, 2)), _YUV[encoding]), "bgr8"


def layout(array: np.ndarray, encoding: str) -> tuple[int, int, int, np.ndarray]:
    """(height, width, step, contiguous uint8 array) of an image to be sent as `encoding`."""
    if encoding not in CHANNELS or array.dtype != np.uint8 or array.ndim != (3 if CHANNELS[encoding] == 3 else 2):
        raise UnsupportedEncoding(f"cannot send a {array.dtype} array of shape {array.shape} as {encoding}")
    height, width = array.shape[:2]
    return height, width, width * CHANNELS[encoding], np.ascontiguousarray(array)
