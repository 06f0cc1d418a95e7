"""The compressed stream in a rosbag2 bag, as `ros2 bag record` makes it on a robot: rosbag2 cannot
run here, so the serialized messages the encoder node publishes over DDS (received raw, as the
recorder receives them) are written with the pure-Python rosbags library into an MCAP bag, read
back with our message type registered from the same .msg file, and decoded."""

from __future__ import annotations

import cv2
import numpy as np
import rclpy
import yaml
from rclpy.serialization import deserialize_message
from ros_helpers import REPO, spin_until, start_all, stop
from rosbags.rosbag2 import Reader, StoragePlugin, Writer
from rosbags.typesys import Stores, get_types_from_msg, get_typestore

from anon_compression_codec import Decoder, peek_header
from anon_compression_codec.runtime.bitstream import message_fields
from anon_compression_msgs.msg import CompressedLatent
from anon_compression_nodes import graph

TOPIC = "/" + graph.COMPRESSED
TYPE = "anon_compression_msgs/msg/CompressedLatent"


def test_what_the_encoder_publishes_survives_a_bag(tmp_path, weights):
    video = tmp_path / "cam.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    for i in range(4):
        writer.write(cv2.GaussianBlur(np.random.default_rng(i).integers(0, 256, (48, 64, 3), dtype=np.uint8), (0, 0), 2))
    writer.release()
    overrides = {"encoder": {"ros__parameters": {"weights": weights, "camera": str(video), "loop": True, "threads": 1}}}
    (tmp_path / "o.yaml").write_text(yaml.safe_dump(overrides))
    procs = start_all((graph.ENCODER,), tmp_path / "o.yaml", tmp_path)
    rclpy.init()
    node = rclpy.create_node("bag_recorder")
    received: list[bytes] = []
    node.create_subscription(CompressedLatent, TOPIC, received.append, 10, raw=True)  # serialized CDR, as rosbag2 gets it
    try:
        spin_until(node, lambda: len(received) >= 3, 60, "frames from the encoder")
    finally:
        node.destroy_node()
        rclpy.shutdown()
        stop(procs)

    store = get_typestore(Stores.LATEST)
    store.register(get_types_from_msg((REPO / "anon_compression_msgs/msg/CompressedLatent.msg").read_text(), TYPE))
    with Writer(tmp_path / "bag", version=9, storage_plugin=StoragePlugin.MCAP) as bag:
        conn = bag.add_connection(TOPIC, TYPE, typestore=store)
        for i, raw in enumerate(received):
            bag.write(conn, i * 10**8, raw)
    with Reader(tmp_path / "bag") as bag:
        read = [store.deserialize_cdr(raw, TYPE) for _, _, raw in bag.messages()]
    assert len(read) == len(received)
    dec = Decoder(weights)
    for from_bag, raw in zip(read, received, strict=True):
        live = deserialize_message(raw, CompressedLatent)
        assert bytes(from_bag.data) == bytes(live.data) and from_bag.header.stamp.sec == live.header.stamp.sec
        header = peek_header(bytes(from_bag.data))
        assert header.guard_applied and from_bag.guard_applied  # the node guarded it, and says so
        assert {k: getattr(from_bag, k) for k in message_fields(header)} == message_fields(header)
        assert dec(bytes(from_bag.data)).shape == (48, 64, 3)
