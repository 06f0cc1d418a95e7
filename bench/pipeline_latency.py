"""End-to-end latency of the robot pipeline over DDS: source stamp -> decoded image received, p50/p99
at 10 Hz, and the highest capture rate sustained without drops, at 640x480 (vtest.avi resized by
the encoder's max_side). capture, encoder and decoder run as separate processes from the graph.

    .venv/bin/python bench/pipeline_latency.py [--weights PRESET] [--seconds 20] [--rates 10,15,20,30]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

import rclpy
import yaml
from sensor_msgs.msg import Image

from anon_compression_nodes import graph, local_run
from anon_compression_nodes.demo import DEFAULT_VIDEO


def measure(rate: float, seconds: float, weights: str, video: str, guard: bool, reliability: str, threads: int,
            precision: str) -> dict:  # fmt: skip
    tmp = Path(tempfile.mkdtemp())
    overrides = {
        "capture": {"ros__parameters": {"sources": [video], "loop": True, "rate_hz": rate}},
        "encoder": {"ros__parameters": {"weights": weights or "default", "max_side": 640, "guard": guard, "camera": "",
                                         "threads": threads, "precision": precision,
                                         "qos_overrides": {"/" + graph.RAW: {"subscription": {"reliability": reliability}}}}},
        "decoder": {"ros__parameters": {"weights": weights or "default", "threads": threads, "precision": precision,
                                         "require_guard": guard}},  # unguarded frames are refused otherwise
    }
    (tmp / "p.yaml").write_text(yaml.safe_dump(overrides))
    procs = local_run.start_all((graph.CAPTURE, graph.ENCODER, graph.DECODER), tmp / "p.yaml", tmp)
    node = rclpy.create_node("latency_probe")
    raw_stamps: set[int] = set()
    latencies: list[float] = []

    def stamp(m) -> int:
        return m.header.stamp.sec * 10**9 + m.header.stamp.nanosec

    def on_decoded(m):
        latencies.append((node.get_clock().now().nanoseconds - stamp(m)) / 1e6)

    node.create_subscription(Image, graph.RAW, lambda m: raw_stamps.add(stamp(m)), 50)
    node.create_subscription(Image, graph.DECODED, on_decoded, 50)
    try:
        local_run.spin_until(node, lambda: len(latencies) >= 3, 120, "the pipeline to start")
        raw_stamps.clear()
        latencies.clear()
        end = node.get_clock().now().nanoseconds + seconds * 1e9
        local_run.spin_until(node, lambda: node.get_clock().now().nanoseconds > end, seconds + 30, "the window")
    finally:
        local_run.stop(procs)
        node.destroy_node()
    lat = sorted(latencies)
    return {
        "rate_hz": rate,
        "published": len(raw_stamps),
        "decoded": len(lat),
        "delivered": round(len(lat) / max(len(raw_stamps), 1), 3),
        "p50_ms": round(statistics.median(lat), 1) if lat else None,
        "p99_ms": round(lat[min(len(lat) - 1, int(0.99 * len(lat)))], 1) if lat else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--weights", default="")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--rates", default="10,15,20,30")
    parser.add_argument("--video", default=DEFAULT_VIDEO)
    parser.add_argument("--no-guard", action="store_true", help="encoder without the privacy guard")
    parser.add_argument("--input-reliability", default="reliable", choices=("best_effort", "reliable"))
    parser.add_argument("--threads", type=int, default=2, help="torch threads of the encoder and of the decoder")
    parser.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16"))
    args = parser.parse_args()
    if not Path(args.video).is_file():
        raise SystemExit(f"{args.video} is missing: install Debian's opencv-doc (make demo does) or pass --video")
    rclpy.init()
    print(f"privacy guard {'off' if args.no_guard else 'on'}, encoder input {args.input_reliability}, "
          f"{args.threads} torch thread(s) per node, precision {args.precision}")  # fmt: skip
    print("| capture Hz | published | decoded | delivered | p50 ms | p99 ms |")
    print("|---|---|---|---|---|---|")
    best = None
    for rate in (float(r) for r in args.rates.split(",")):
        r = measure(rate, args.seconds, args.weights, args.video, not args.no_guard, args.input_reliability, args.threads,
                    args.precision)  # fmt: skip
        print(f"| {rate:g} | {r['published']} | {r['decoded']} | {r['delivered']} | {r['p50_ms']} | {r['p99_ms']} |", flush=True)
        if r["delivered"] >= 0.98:
            best = rate
    rclpy.shutdown()
    print(f"highest rate sustained without drops (>= 98 % delivered): {best} Hz")


if __name__ == "__main__":
    main()
