"""End-to-end latency of the robot pipeline over DDS: source stamp -> decoded image received, p50/p99
at 10 Hz, and the highest capture rate sustained without drops. capture, encoder and decoder run as
separate processes from the graph, with the nodes' default parameters (threads included) unless
asked otherwise. The capture node publishes 640x480 frames, as a 640x480 camera would: the video
(vtest.avi, 768x576) is resized once into a temporary file first.

    .venv/bin/python bench/pipeline_latency.py [--weights PRESET] [--seconds 20] [--rates 10,15,20,30]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

import cv2
import rclpy
import yaml
from sensor_msgs.msg import Image

from anon_compression_nodes import graph, local_run
from anon_compression_nodes.demo import DEFAULT_VIDEO


def resized_copy(video: str, size: tuple[int, int], out: Path) -> str:
    """The video at `size` (MJPG), or the video itself where it has that size already."""
    cap = cv2.VideoCapture(video)
    if not cap.isOpened():
        raise SystemExit(f"cannot open {video}")
    if (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))) == size:
        return video
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"MJPG"), 10, size)
    while (frame := cap.read()[1]) is not None:
        writer.write(cv2.resize(frame, size, interpolation=cv2.INTER_AREA))
    writer.release()
    return str(out)


def measure(rate: float, seconds: float, weights: str, video: str, guard: bool, reliability: str, precision: str,
            threads: int | None, decoder_threads: int | None) -> dict:  # fmt: skip
    tmp = Path(tempfile.mkdtemp())
    encoder = {"weights": weights or "default", "guard": guard, "camera": "", "precision": precision,
               "qos_overrides": {"/" + graph.RAW: {"subscription": {"reliability": reliability}}}}  # fmt: skip
    decoder = {"weights": weights or "default", "precision": precision, "require_guard": guard}  # unguarded: refused otherwise
    if threads:
        encoder["threads"] = threads
    if decoder_threads or threads:
        decoder["threads"] = decoder_threads or threads
    overrides = {
        "capture": {"ros__parameters": {"sources": [video], "loop": True, "rate_hz": rate}},
        "encoder": {"ros__parameters": encoder},
        "decoder": {"ros__parameters": decoder},
    }
    (tmp / "p.yaml").write_text(yaml.safe_dump(overrides))
    procs = local_run.start_all((graph.CAPTURE, graph.ENCODER, graph.DECODER), tmp / "p.yaml", tmp)
    node = rclpy.create_node("latency_probe")
    decoded: dict[int, float] = {}  # source stamp -> latency (ms)

    def on_decoded(m):
        t = m.header.stamp.sec * 10**9 + m.header.stamp.nanosec
        decoded[t] = (node.get_clock().now().nanoseconds - t) / 1e6

    # Only the decoded stream is received: a probe of the raw topic would load the cores it measures.
    node.create_subscription(Image, graph.DECODED, on_decoded, 50)
    try:
        local_run.spin_until(node, lambda: len(decoded) >= 3, 120, "the pipeline to start")
        start = node.get_clock().now().nanoseconds
        end = start + seconds * 1e9
        local_run.spin_until(node, lambda: node.get_clock().now().nanoseconds > end + 2e9, seconds + 30, "the window")
    finally:
        local_run.stop(procs)
        node.destroy_node()
    lat = sorted(v for t, v in decoded.items() if start <= t < end)  # frames captured in the window
    expected = round(rate * seconds)  # the capture node's ticks in the window
    return {
        "rate_hz": rate,
        "published": expected,
        "decoded": len(lat),
        "delivered": round(len(lat) / expected, 3),
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
    parser.add_argument("--threads", type=int, help="torch threads of the encoder and the decoder (default: the nodes')")
    parser.add_argument("--decoder-threads", type=int, help="torch threads of the decoder (default: --threads)")
    parser.add_argument("--size", default="640x480", help="frame size the capture node publishes")
    parser.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16"))
    args = parser.parse_args()
    if not Path(args.video).is_file():
        raise SystemExit(f"{args.video} is missing: install Debian's opencv-doc (make demo does) or pass --video")
    rclpy.init()
    size = tuple(int(v) for v in args.size.split("x"))
    video = resized_copy(args.video, size, Path(tempfile.mkdtemp()) / "video.avi")
    threads = f"encoder {args.threads or 'default'}, decoder {args.decoder_threads or args.threads or 'default'} threads"
    print(f"privacy guard {'off' if args.no_guard else 'on'}, {args.size} frames, encoder input {args.input_reliability}, "
          f"{threads}, precision {args.precision}")  # fmt: skip
    print("| capture Hz | captured | decoded | delivered | p50 ms | p99 ms |")
    print("|---|---|---|---|---|---|")
    best = None
    for rate in (float(r) for r in args.rates.split(",")):
        r = measure(rate, args.seconds, args.weights, video, not args.no_guard, args.input_reliability, args.precision,
                    args.threads, args.decoder_threads)  # fmt: skip
        print(f"| {rate:g} | {r['published']} | {r['decoded']} | {r['delivered']} | {r['p50_ms']} | {r['p99_ms']} |", flush=True)
        if r["delivered"] >= 0.98:
            best = rate
    rclpy.shutdown()
    print(f"highest rate sustained without drops (>= 98 % delivered): {best} Hz")


if __name__ == "__main__":
    main()
