"""Temporal safety check of cheaper guard schemes (issue #14): on videos with people, the reference is
the full-resolution detection stage on every frame; a scheme fails on a frame for every reference
face that the regions it would guard (its boxes with margin, covered to whole pixels) do not wholly
contain. Prints, per video and scheme, uncovered reference faces and detection ms per frame.

    .venv/bin/python bench/guard_temporal.py [--frames 300] [--schemes 1.0,0.75,0.5]

Videos: vtest.avi (OpenCV's sample: pedestrians, small faces), Megamind.avi (OpenCV's sample:
large animated faces), and "zoom-pan": a camera moving and zooming over ultralytics' zidane.jpg and
scikit-image's astronaut (large real faces that move, grow and leave the frame), composed here
because no such video installs offline. Frames are scaled to 640 px wide, as the encoder node's
max_side does.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from dataclasses import replace

import cv2
import numpy as np

from anon_compression_codec.privacy.stage import DetectionStage, StageConfig
from anon_compression_codec.resources import package_file
from anon_compression_codec.runtime.geometry import cover

OPENCV_SAMPLES = "/usr/share/doc/opencv-doc/examples/data"
WIDTH = 640


def video(path: str, frames: int) -> Iterator[np.ndarray]:
    cap = cv2.VideoCapture(path)
    if not cap.isOpened():
        raise SystemExit(f"cannot open {path}: install the opencv-doc samples (make system)")
    for _ in range(frames):
        ok, frame = cap.read()
        if not ok:
            break
        yield cv2.resize(frame, (WIDTH, round(frame.shape[0] * WIDTH / frame.shape[1])), interpolation=cv2.INTER_AREA)
    cap.release()


def zoom_pan(frames: int) -> Iterator[np.ndarray]:
    """A virtual camera over two photos with faces: the window drifts, zooms in to 3x and out."""
    from skimage import data

    photos = [cv2.imread(str(package_file("ultralytics", "assets", "zidane.jpg"))), data.astronaut()[..., ::-1]]
    for t in range(frames):
        img = photos[(t // 100) % 2]
        h, w = img.shape[:2]
        phase = (t % 100) / 100
        zoom = 1 + 2 * np.sin(np.pi * phase)  # 1x -> 3x -> 1x
        ch, cw = h / zoom, w / zoom
        cx = cw / 2 + (w - cw) * (0.5 + 0.5 * np.sin(2 * np.pi * phase * 1.5))
        cy = ch / 2 + (h - ch) * (0.5 + 0.5 * np.cos(2 * np.pi * phase))
        m = np.float32([[WIDTH / cw, 0, -(cx - cw / 2) * WIDTH / cw], [0, WIDTH / cw, -(cy - ch / 2) * WIDTH / cw]])
        yield cv2.warpAffine(img, m, (WIDTH, round(WIDTH * 3 / 4)), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REFLECT)


def uncovered(reference: np.ndarray, guarded, width: int, height: int) -> int:
    mask = np.zeros((height, width), bool)
    for x0, y0, x1, y1 in guarded:
        mask[y0:y1, x0:x1] = True
    return sum(not mask[y0:y1, x0:x1].all() for x0, y0, x1, y1 in cover(reference, width, height))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument(
        "--schemes",
        default="1.0,0.75,0.5,0.75+h2,0.5+h4",
        help="detection scale, optionally +hN: boxes held N frames (StageConfig.hold)",
    )
    args = parser.parse_args()
    base = StageConfig()
    reference = DetectionStage(replace(base, margin=0.0))
    schemes = {}
    for spec in args.schemes.split(","):
        scale, _, hold = spec.partition("+h")
        schemes[spec] = DetectionStage(replace(base, scale=float(scale), hold=int(hold or 0)))
    videos = {
        "vtest.avi": video(f"{OPENCV_SAMPLES}/vtest.avi", args.frames),
        "Megamind.avi": video(f"{OPENCV_SAMPLES}/Megamind.avi", args.frames),
        "zoom-pan (zidane, astronaut)": zoom_pan(args.frames),
    }
    print(f"reference: the default stage at full resolution, no margin; schemes: the default stage (margin {base.margin})")
    print("| video | frames | reference faces | scheme (scale, +hN: held N frames) | uncovered | frames with one | ms |")
    print("|---|---|---|---|---|---|---|")
    for name, frames in videos.items():
        n, faces = 0, 0
        misses = {s: [0, 0, 0.0] for s in schemes}
        for frame in frames:
            h, w = frame.shape[:2]
            ref = reference(frame)
            n, faces = n + 1, faces + len(ref)
            for s, stage in schemes.items():
                t0 = time.perf_counter()
                boxes = stage(frame)
                misses[s][2] += time.perf_counter() - t0
                missed = uncovered(ref, cover(boxes, w, h), w, h)
                misses[s][0] += missed
                misses[s][1] += missed > 0
        for s, (missed, bad_frames, seconds) in misses.items():
            print(f"| {name} | {n} | {faces} | {s} | {missed} | {bad_frames} | {1e3 * seconds / max(n, 1):.1f} |")


if __name__ == "__main__":
    main()
