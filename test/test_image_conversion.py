"""sensor_msgs/Image <-> numpy for the supported encodings, and refusals."""

from __future__ import annotations

import numpy as np
import pytest
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from anon_compression_nodes import image_conversion as ic


@pytest.mark.parametrize("encoding, shape", [("rgb8", (5, 7, 3)), ("bgr8", (5, 7, 3)), ("mono8", (5, 7))])
def test_round_trip_keeps_pixels_and_header(encoding, shape):
    array = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    header = Header(frame_id="cam")
    msg = ic.from_array(array, encoding, header)
    assert (msg.height, msg.width, msg.encoding, msg.header.frame_id) == (5, 7, encoding, "cam")
    np.testing.assert_array_equal(ic.to_array(msg), array)


def test_row_padding_is_dropped():
    array = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    padded = np.zeros((2, 12), np.uint8)  # step 12 > width 3 x 3 channels
    padded[:, :9] = array.reshape(2, 9)
    msg = Image(height=2, width=3, encoding="bgr8", step=12, data=padded.tobytes())
    np.testing.assert_array_equal(ic.to_array(msg), array)


@pytest.mark.parametrize(
    "msg, reason",
    [
        (Image(height=2, width=2, encoding="16UC1", step=4, data=bytes(8)), "16UC1"),
        (Image(height=2, width=2, encoding="32FC1", step=8, data=bytes(16)), "32FC1"),
        (Image(height=2, width=2, encoding="bayer_rggb8", step=2, data=bytes(4)), "bayer"),
        (Image(height=2, width=2, encoding="rgba8", step=8, data=bytes(16)), "rgba8"),
        (Image(height=0, width=2, encoding="rgb8", step=6, data=b""), "empty"),
        (Image(height=2, width=2, encoding="rgb8", step=4, data=bytes(8)), "step"),
        (Image(height=2, width=2, encoding="rgb8", step=6, data=bytes(5)), "data has"),
    ],
)
def test_unsupported_images_are_refused_with_reason(msg, reason):
    with pytest.raises(ic.UnsupportedEncoding, match=reason):
        ic.to_array(msg)
