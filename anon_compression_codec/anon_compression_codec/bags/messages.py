"""Messages inside rosbag2 bags without ROS: a rosbags typestore that knows CompressedLatent (from
the message package's own .msg file, linked here), and conversions between bag messages and images."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError
from ..runtime import rawimage
from ..runtime.bitstream import message_fields, peek_header

IMAGE = "sensor_msgs/msg/Image"
COMPRESSED_IMAGE = "sensor_msgs/msg/CompressedImage"
LATENT = "anon_compression_msgs/msg/CompressedLatent"
IMAGE_TYPES = (IMAGE, COMPRESSED_IMAGE)
MSG_FILE = Path(__file__).with_name("CompressedLatent.msg")  # a link to anon_compression_msgs/msg/


@cache
def typestore():
    """The newest ROS 2 typestore of rosbags plus our message type."""
    from rosbags.typesys import Stores, get_types_from_msg, get_typestore

    store = get_typestore(Stores.LATEST)
    store.register(get_types_from_msg(MSG_FILE.read_text(), LATENT))
    return store


def to_image(msg, msgtype: str) -> tuple[np.ndarray, str]:
    """(array, encoding) of an Image or CompressedImage message: rgb8/bgr8 HxWx3 or mono8 HxW (camera
    encodings converted, rawimage.to_supported). Unsupported encodings and undecodable payloads raise
    InputError (rawimage.UnsupportedEncoding)."""
    if msgtype == IMAGE:
        return rawimage.to_supported(msg.height, msg.width, msg.encoding, msg.step, msg.data, bool(msg.is_bigendian))
    img = cv2.imdecode(np.asarray(msg.data, np.uint8), cv2.IMREAD_UNCHANGED)
    if img is None or img.dtype != np.uint8:
        raise rawimage.UnsupportedEncoding(f"CompressedImage format {msg.format!r}: not a decodable 8-bit image")
    if img.ndim == 3 and img.shape[2] == 4:
        img = np.ascontiguousarray(img[..., :3])
    return img, ("mono8" if img.ndim == 2 else "bgr8")


def latent_message(data: bytes, encoding: str, header, parsed=None):
    """A CompressedLatent carrying `data`, its fields filled from the bitstream header (`parsed`
    when the caller has it: the encoder keeps the header it wrote)."""
    store = typestore()
    return store.types[LATENT](header=header, encoding=encoding, **message_fields(parsed or peek_header(data)),
                               data=np.frombuffer(data, np.uint8))  # fmt: skip


def latent_data(msg) -> bytes:
    """The bitstream of a CompressedLatent, refused when its fields disagree with the bitstream."""
    data = bytes(msg.data)
    truth = message_fields(peek_header(data))
    fields = {k: getattr(msg, k) for k in truth}
    if fields != truth:
        raise InputError(f"CompressedLatent fields {fields} disagree with the bitstream header")
    return data


def image_message(array: np.ndarray, encoding: str, header):
    height, width, step, contiguous = rawimage.layout(array, encoding)
    return typestore().types[IMAGE](header=header, height=height, width=width, encoding=encoding, is_bigendian=0,
                                    step=step, data=contiguous.reshape(-1))  # fmt: skip
