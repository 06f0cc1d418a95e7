"""Restart benchmark: how long a killed node needs to work again, and how fast `anon-codec info` starts.

    .venv/bin/python bench/restart.py [--repeats 3] [--weights PRESET]

- decoder: a frame is published every 50 ms; the decoder process is started and the time to its
  first decoded image is measured (process start, imports, weights, DDS discovery, decode);
- encoder: started reading a video in-process; time to its first CompressedLatent;
- `anon-codec info FRAME`: wall time of the command.
Median of the repeats.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import rclpy
import yaml
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from anon_compression_codec import Encoder
from anon_compression_msgs.msg import CompressedLatent
from anon_compression_nodes import graph, local_run
from anon_compression_nodes.demo import DEFAULT_VIDEO
from anon_compression_nodes.latent_message import to_message


def first_output(spec, overrides: dict, topic: str, kind, publish=None, timeout: float = 120) -> float:
    tmp = Path(tempfile.mkdtemp())
    (tmp / "o.yaml").write_text(yaml.safe_dump(overrides))
    node = rclpy.create_node("restart_probe")
    got = []
    node.create_subscription(kind, topic, got.append, 10)
    t0 = time.monotonic()
    (proc,) = local_run.start_all((spec,), tmp / "o.yaml", tmp)
    try:
        deadline = t0 + timeout
        next_pub = t0
        while not got:
            if time.monotonic() > deadline:
                raise SystemExit(f"{spec.name}: no output after {timeout} s ({(tmp / (spec.name + '.log')).read_text()[-500:]})")
            if publish is not None and time.monotonic() >= next_pub:
                publish()
                next_pub += 0.05
            rclpy.spin_once(node, timeout_sec=0.01)
        return time.monotonic() - t0
    finally:
        local_run.stop([proc])
        node.destroy_node()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--weights", default="")
    args = parser.parse_args()
    rclpy.init()
    img = np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    data = Encoder(args.weights or None, guard=False)(img, boxes=np.zeros((0, 4)))
    frame = tempfile.NamedTemporaryFile(suffix=".acl", delete=False)
    frame.write(data)
    frame.close()
    msg = to_message(data, "rgb8", Header())
    pub_node = rclpy.create_node("restart_publisher")
    pub = pub_node.create_publisher(CompressedLatent, graph.COMPRESSED, 10)
    rows = {"decoder: start to first decoded frame": [], "encoder: start to first compressed frame": [],
            "anon-codec info": []}  # fmt: skip
    for _ in range(args.repeats):
        rows["decoder: start to first decoded frame"].append(first_output(
            graph.DECODER, {"decoder": {"ros__parameters": {"weights": args.weights}}}, graph.DECODED, Image,
            publish=lambda: pub.publish(msg)))  # fmt: skip
        rows["encoder: start to first compressed frame"].append(first_output(
            graph.ENCODER, {"encoder": {"ros__parameters": {"weights": args.weights, "camera": DEFAULT_VIDEO}}},
            graph.COMPRESSED, CompressedLatent))  # fmt: skip
        t0 = time.monotonic()
        subprocess.run([str(Path(sys.executable).with_name("anon-codec")), "info", frame.name], check=True, capture_output=True)
        rows["anon-codec info"].append(time.monotonic() - t0)
    print("| what | median s | runs (s) |")
    print("|---|---|---|")
    for name, values in rows.items():
        print(f"| {name} | {statistics.median(values):.2f} | {', '.join(f'{v:.2f}' for v in values)} |")
    pub_node.destroy_node()
    rclpy.shutdown()


if __name__ == "__main__":
    main()
