"""`make demo`: the robot pipeline (capture -> encoder -> decoder -> detector) over DDS on a video that
installs offline, started from the graph as robot.launch.py would; writes a side-by-side video
(original | decoded with detections) and a contact sheet, and prints the figures."""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import cv2
import numpy as np
import rclpy
import yaml
from diagnostic_msgs.msg import DiagnosticArray
from sensor_msgs.msg import Image

from anon_compression_msgs.msg import CompressedLatent, Detections

from . import graph, image_conversion, local_run

DEFAULT_VIDEO = "/usr/share/doc/opencv-doc/examples/data/vtest.avi"


def _key(msg) -> tuple[int, int]:
    return msg.header.stamp.sec, msg.header.stamp.nanosec


def run(video: str, out: Path, frames: int, weights: str, timeout: float) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    overrides = {
        "capture": {"ros__parameters": {"sources": [video], "loop": False, "rate_hz": 10.0, "frame_id": "demo_camera"}},
        "encoder": {"ros__parameters": {"weights": weights, "camera": ""}},  # threads: the nodes' defaults
        "decoder": {"ros__parameters": {"weights": weights}},
    }
    (out / "params.yaml").write_text(yaml.safe_dump(overrides))
    procs = local_run.start_all(graph.RAW_PIPELINE, out / "params.yaml", out / "logs")
    rclpy.init()
    node = rclpy.create_node("demo_viewer")
    raw, sizes, decoded, annotated, dets, arrival = {}, {}, {}, {}, {}, {}

    def on_raw(m):
        raw[_key(m)] = image_conversion.to_array(m).copy()

    def on_latent(m):
        sizes[_key(m)] = len(m.data)

    def on_decoded(m):
        decoded[_key(m)] = image_conversion.to_array(m).copy()
        arrival[_key(m)] = node.get_clock().now().nanoseconds

    node.create_subscription(Image, graph.RAW, on_raw, 100)
    node.create_subscription(CompressedLatent, graph.COMPRESSED, on_latent, 100)
    node.create_subscription(Image, graph.DECODED, on_decoded, 100)
    node.create_subscription(
        Image, graph.ANNOTATED, lambda m: annotated.__setitem__(_key(m), image_conversion.to_array(m).copy()), 100
    )
    node.create_subscription(Detections, graph.DETECTIONS, lambda m: dets.__setitem__(_key(m), len(m.detections)), 100)
    rates: dict[str, list[float]] = {}  # node -> frames per second of each diagnostics period

    def on_diagnostics(m) -> None:
        for status in m.status:
            values = {kv.key: kv.value for kv in status.values}
            if "rate_hz" in values:
                rates.setdefault(status.name.rsplit("/", 1)[-1], []).append(float(values["rate_hz"]))

    node.create_subscription(DiagnosticArray, graph.DIAGNOSTICS, on_diagnostics, 50)
    t_start = time.monotonic()
    try:
        # Every decoded frame counts; the detector annotates at its own (limited) rate.
        local_run.spin_until(node, lambda: len(decoded) >= frames and len(annotated) >= 3, timeout, f"{frames} decoded frames")
    finally:
        elapsed = time.monotonic() - t_start
        codes = local_run.stop(procs)
        node.destroy_node()
        rclpy.shutdown()
    keys = sorted(k for k in decoded if k in raw and k in sizes)
    report = _report(keys, raw, decoded, annotated, sizes, dets, arrival, out, elapsed, codes)
    # Mean over the run, the first two periods left out (models load and warm up while the capture already runs).
    report["node_rates_hz"] = {name: round(statistics.mean(r[2:] or r), 2) for name, r in sorted(rates.items())}
    (out / "report.json").write_text(json.dumps(report, indent=2))
    return report


def _report(keys, raw, decoded, annotated, sizes, dets, arrival, out: Path, elapsed: float, codes) -> dict:
    from anon_compression_codec.privacy import detectors as detect

    h, w = decoded[keys[0]].shape[:2]
    writer = cv2.VideoWriter(str(out / "side_by_side.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 10, (2 * w, h))
    sheet_rows = []
    mtcnn = detect.mtcnn_faces(0.9)
    faces_before = faces_after = 0
    jpeg95 = []
    for i, k in enumerate(keys):
        original = cv2.resize(raw[k], (w, h), interpolation=cv2.INTER_AREA)
        # The detector's annotated frame where it ran on this one, else the decoded frame.
        shown = annotated.get(k, decoded[k][..., ::-1] if decoded[k].ndim == 3 else decoded[k])
        pair = np.hstack([original, shown])
        writer.write(pair)
        jpeg95.append(len(cv2.imencode(".jpg", original, [cv2.IMWRITE_JPEG_QUALITY, 95])[1]))
        if i % 3 == 0:
            faces_before += len(mtcnn(original))
            faces_after += len(mtcnn(decoded[k][..., ::-1].copy()))
        if i in (0, len(keys) // 3, 2 * len(keys) // 3):
            sheet_rows.append(pair)
    writer.release()
    cv2.imwrite(str(out / "contact_sheet.png"), np.vstack(sheet_rows))
    # Rate and latency once every node works: from the first frame the detector annotated on (YOLO loads
    # for seconds on the same cores while the capture already runs), over every decoded frame.
    ready = min((arrival[k] for k in annotated if k in arrival), default=min(arrival.values()))
    steady = sorted(t for t in arrival.values() if t >= ready)
    latency_ms = [(arrival[k] - (k[0] * 10**9 + k[1])) / 1e6 for k in arrival if arrival[k] >= ready]
    span = (steady[-1] - steady[0]) / 1e9
    report = {
        "frames": len(keys),
        "size": f"{w}x{h}",
        "fps": round((len(steady) - 1) / span, 2) if span > 0 else None,
        "bytes_per_frame": round(statistics.mean(sizes[k] for k in keys)),
        "raw_bytes_per_frame": w * h * 3,
        "jpeg_q95_bytes_per_frame": round(statistics.mean(jpeg95)),
        "bpp": round(8 * statistics.mean(sizes[k] for k in keys) / (w * h), 4),
        "latency_ms_p50": round(statistics.median(latency_ms), 1),
        "detections_per_frame": round(statistics.mean(dets.get(k, 0) for k in keys), 2),
        "mtcnn_faces_before": faces_before,
        "mtcnn_faces_after": faces_after,
        "node_exit_codes": codes,
        "wall_s": round(elapsed, 1),
        "outputs": [str(out / "side_by_side.avi"), str(out / "contact_sheet.png")],
    }
    (out / "report.json").write_text(json.dumps(report, indent=2))
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--video", default=DEFAULT_VIDEO)
    parser.add_argument("--out", type=Path, default=Path("demo_out"))
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--weights", default="", help="preset or weight file; empty = the default preset")
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args(argv)
    if not Path(args.video).is_file():
        raise SystemExit(f"demo: video {args.video} not found (Debian package opencv-doc; `make demo` installs it)")
    report = run(args.video, args.out, args.frames, args.weights, args.timeout)
    print(json.dumps(report, indent=2))
    print(f"bytes/frame: {report['bytes_per_frame']} learned vs {report['jpeg_q95_bytes_per_frame']} JPEG q95 "
          f"vs {report['raw_bytes_per_frame']} raw")  # fmt: skip


if __name__ == "__main__":
    main()
