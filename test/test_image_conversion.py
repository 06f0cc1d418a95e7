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


def _msg(encoding: str, data: np.ndarray, width: int, bigendian: int = 0) -> Image:
    rows = data.reshape(data.shape[0], -1)
    return Image(height=rows.shape[0], width=width, encoding=encoding, step=rows.shape[1], is_bigendian=bigendian,
                 data=rows.tobytes())  # fmt: skip


@pytest.mark.parametrize("encoding, order", [("rgba8", "rgb8"), ("bgra8", "bgr8")])
def test_alpha_is_dropped(encoding, order):
    rgba = np.random.default_rng(1).integers(0, 256, (4, 6, 4), dtype=np.uint8)
    array, out = ic.to_supported(_msg(encoding, rgba, 6))
    assert out == order
    np.testing.assert_array_equal(array, rgba[..., :3])


@pytest.mark.parametrize("pattern", ["rggb", "bggr", "gbrg", "grbg"])
def test_bayer_mosaics_are_demosaiced_with_their_own_pattern(pattern):
    """A mosaic of a scene whose left half is red and right half blue comes back as red and blue."""
    h, w = 16, 32
    bgr = np.zeros((h, w, 3), np.uint8)
    bgr[:, : w // 2, 2] = 200  # red
    bgr[:, w // 2 :, 0] = 200  # blue
    channel = {"b": 0, "g": 1, "r": 2}
    mosaic = np.zeros((h, w), np.uint8)
    for i, colour in enumerate(pattern):  # 2x2 cell: (0,0) (0,1) (1,0) (1,1)
        dy, dx = divmod(i, 2)
        mosaic[dy::2, dx::2] = bgr[dy::2, dx::2, channel[colour]]
    array, out = ic.to_supported(_msg(f"bayer_{pattern}8", mosaic, w))
    assert out == "bgr8" and array.shape == (h, w, 3)
    left, right = array[4:-4, 2 : w // 2 - 3].reshape(-1, 3).mean(0), array[4:-4, w // 2 + 3 : -2].reshape(-1, 3).mean(0)
    assert left[2] > 150 and left[0] < 50 and right[0] > 150 and right[2] < 50, (left, right)


@pytest.mark.parametrize("encoding, order", [("yuv422", "uyvy"), ("yuv422_yuy2", "yuyv")])
def test_yuv422_is_converted(encoding, order):
    """Uniform grey (U = V = 128) stays grey; V high gives red."""
    for (y, u, v), check in [((120, 128, 128), lambda p: abs(int(p[0]) - int(p[2])) <= 2 and abs(int(p[1]) - int(p[2])) <= 2),
                              ((80, 90, 240), lambda p: p[2] > 150 and p[0] < 80)]:  # fmt: skip
        pair = {"u": u, "y": y, "v": v}
        packed = np.tile(np.array([pair[c] for c in order], np.uint8), (4, 3))  # 4 rows, 6 pixels
        array, out = ic.to_supported(_msg(encoding, packed, 6))
        assert out == "bgr8" and array.shape == (4, 6, 3) and check(array[1, 2]), array[1, 2]
    with pytest.raises(ic.UnsupportedEncoding, match="even width"):
        ic.to_supported(Image(height=2, width=3, encoding=encoding, step=6, data=bytes(12)))


@pytest.mark.parametrize("bigendian", [0, 1])
def test_mono16_keeps_its_high_byte(bigendian):
    values = np.array([[0, 256, 65535], [4660, 512, 1]], np.uint16)
    data = values.astype(">u2" if bigendian else "<u2").view(np.uint8)
    array, out = ic.to_supported(_msg("mono16", data, 3, bigendian))
    assert out == "mono8"
    np.testing.assert_array_equal(array, values >> 8)


def test_depth_images_stay_refused():
    with pytest.raises(ic.UnsupportedEncoding, match="16UC1"):
        ic.to_supported(Image(height=2, width=2, encoding="16UC1", step=4, data=bytes(8)))
