"""Raw image buffers as ROS lays them out (sensor_msgs/Image: encoding, step, data) <-> numpy, the
one place where supported encodings are decided. No ROS import: the nodes and the bag tools share it.

Supported: rgb8, bgr8, mono8 (8-bit, any row padding). Everything else (16UC1, 32FC1, bayer_*,
rgba8, yuv422, ...) raises UnsupportedEncoding with the encoding named.
"""

from __future__ import annotations

import numpy as np

from .errors import InputError

CHANNELS = {"rgb8": 3, "bgr8": 3, "mono8": 1}


class UnsupportedEncoding(InputError):
    """An image the pipeline refuses: wrong encoding or inconsistent size/step/data."""


def check(height: int, width: int, encoding: str, step: int, nbytes: int) -> int:
    """Validate encoding and layout; return the channel count."""
    channels = CHANNELS.get(encoding)
    if channels is None:
        raise UnsupportedEncoding(f"encoding {encoding!r} is not supported (use one of {sorted(CHANNELS)})")
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


def layout(array: np.ndarray, encoding: str) -> tuple[int, int, int, np.ndarray]:
    """(height, width, step, contiguous uint8 array) of an image to be sent as `encoding`."""
    if encoding not in CHANNELS or array.dtype != np.uint8 or array.ndim != (3 if CHANNELS[encoding] == 3 else 2):
        raise UnsupportedEncoding(f"cannot send a {array.dtype} array of shape {array.shape} as {encoding}")
    height, width = array.shape[:2]
    return height, width, width * CHANNELS[encoding], np.ascontiguousarray(array)
