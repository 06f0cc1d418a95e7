"""The compressed stream in a rosbag2 bag (what `ros2 bag record` writes on a robot): rosbag2 cannot
run here, so the pure-Python rosbags library writes and reads an MCAP bag with our message type,
registered from the same .msg file, and the frames decode after the round trip."""

from __future__ import annotations

import numpy as np
from ros_helpers import REPO
from rosbags.rosbag2 import Reader, StoragePlugin, Writer
from rosbags.typesys import Stores, get_types_from_msg, get_typestore

from anon_compression_codec import Decoder, Encoder, peek_header
from anon_compression_codec.bitstream import message_fields
from anon_compression_nodes import graph

TOPIC = "/" + graph.COMPRESSED
TYPE = "anon_compression_msgs/msg/CompressedLatent"


def test_compressed_stream_survives_a_bag(tmp_path, weights):
    store = get_typestore(Stores.ROS2_KILTED if hasattr(Stores, "ROS2_KILTED") else Stores.LATEST)
    store.register(get_types_from_msg((REPO / "anon_compression_msgs/msg/CompressedLatent.msg").read_text(), TYPE))
    Msg = store.types[TYPE]
    Header, Time = store.types["std_msgs/msg/Header"], store.types["builtin_interfaces/msg/Time"]
    enc = Encoder(weights)
    frames = [np.random.default_rng(i).integers(0, 256, (24, 32, 3), dtype=np.uint8) for i in range(3)]
    with Writer(tmp_path / "bag", version=9, storage_plugin=StoragePlugin.MCAP) as writer:
        conn = writer.add_connection(TOPIC, TYPE, typestore=store)
        for i, frame in enumerate(frames):
            data = enc(frame)
            # Every field as the encoder node fills it: from the frame's own header.
            msg = Msg(header=Header(stamp=Time(sec=i, nanosec=0), frame_id="cam"), encoding="rgb8",
                      **message_fields(peek_header(data)), data=np.frombuffer(data, np.uint8))  # fmt: skip
            writer.write(conn, i * 10**8, store.serialize_cdr(msg, TYPE))
    dec = Decoder(weights)
    with Reader(tmp_path / "bag") as reader:
        read = [store.deserialize_cdr(raw, TYPE) for _, _, raw in reader.messages()]
    assert [m.header.stamp.sec for m in read] == [0, 1, 2]
    for m, frame in zip(read, frames, strict=True):
        assert dec(bytes(m.data)).shape == frame.shape
        assert bytes(m.data) == enc(frame)
