"""Rate control over a real video: a stream held to a kbit/s budget by choosing each frame's quality
(ratecontrol.py, as the encoder node does with `target_kbps`), against a fixed quality, in one run.

    .venv/bin/python bench/rate_control.py [--weights default] [--video vtest.avi] [--kbps 400] [--seconds 30]

Frames are read at the video's own pace as if at --hz (10 Hz: 300 frames for 30 s), resized to the
encoder node's default max_side 640, encoded with the guard on. Prints the stream's kbit/s over the
whole run and per second, the quality range, and the fixed quality's figures beside it.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import cv2

from anon_compression_codec.runtime import presets
from anon_compression_codec.runtime.codec import Encoder
from anon_compression_codec.runtime.ratecontrol import RateController

VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")


def frames(video: Path, count: int, max_side: int) -> list:
    cap = cv2.VideoCapture(str(video))
    out = []
    while len(out) < count:
        ok, frame = cap.read()
        if not ok:
            cap.set(cv2.CAP_PROP_POS_FRAMES, 0)  # loop a short video
            continue
        scale = max_side / max(frame.shape[:2])
        out.append(cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else frame)
    cap.release()
    return out


def run(enc: Encoder, video: list, hz: float, kbps: float | None) -> dict:
    control = RateController(kbps, enc.quality) if kbps else None
    bits, qualities = [], []
    for frame in video:
        data = enc.encode(frame, channel_order="bgr")
        bits.append(len(data) * 8)
        qualities.append(enc.quality)
        if control is not None:
            enc.set_quality(round(control.update(bits[-1], 1 / hz), 2))
    per_second = [sum(bits[i : i + round(hz)]) / 1000 for i in range(0, len(bits) - round(hz) + 1, round(hz))]
    return {"kbps": sum(bits) / 1000 / (len(bits) / hz), "per_second": per_second, "qualities": qualities}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--weights", default="default", help="a variable-rate (codec v2) preset or weight file")
    parser.add_argument("--video", type=Path, default=VTEST)
    parser.add_argument("--kbps", type=float, default=400.0)
    parser.add_argument("--hz", type=float, default=10.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--quality", type=float, default=None,
                        help="the fixed-quality run's, and the controller's start (default: the preset's named quality)")
    parser.add_argument("--max-side", type=int, default=640)
    args = parser.parse_args()
    video = frames(args.video, round(args.seconds * args.hz), args.max_side)
    h, w = video[0].shape[:2]
    print(f"{args.video.name}: {len(video)} frames {w}x{h} as {args.hz:g} Hz ({args.seconds:g} s), guard on, "
          f"weights {args.weights}")  # fmt: skip
    print("| run | kbit/s | vs budget | per-second kbit/s min / median / max | quality min / median / max |")
    print("|---|---|---|---|---|")
    quality = presets.quality(args.weights) if args.quality is None else args.quality
    for name, kbps in ((f"target_kbps {args.kbps:g}", args.kbps), (f"fixed quality {quality:g}", None)):
        r = run(Encoder(args.weights, quality=quality), video, args.hz, kbps)
        ps, qs = r["per_second"], r["qualities"]
        print(f"| {name} | {r['kbps']:.1f} | {100 * (r['kbps'] / args.kbps - 1):+.1f} % | {min(ps):.0f} / "
              f"{statistics.median(ps):.0f} / {max(ps):.0f} | {min(qs):g} / {statistics.median(qs):g} / "
              f"{max(qs):g} |")  # fmt: skip


if __name__ == "__main__":
    main()
