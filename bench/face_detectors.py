"""Which face detector should the guard use by default? Recall against MTCNN's faces (p >= 0.9, the
evaluation detector) on the held-out images, unmatched detections (false-positive candidates: each
blanks a region), and ms per frame, per detection-stage setting.

    .venv/bin/python bench/face_detectors.py [--labels data/offline/labels.json]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from anon_compression_codec.evaluation.scoring import load_eval_images
from anon_compression_codec.privacy import detectors as detect
from anon_compression_codec.privacy.stage import DetectionStage, StageConfig
from anon_compression_codec.runtime.geometry import iou_matrix

SETTINGS = {
    "haar": StageConfig(detectors=("haar",)),
    "centerface": StageConfig(detectors=("centerface",)),
    "centerface at 0.75 scale": StageConfig(detectors=("centerface",), scale=0.75),
    "centerface at 0.5 scale": StageConfig(detectors=("centerface",), scale=0.5),
    "centerface+mirror": StageConfig(detectors=("centerface",), mirror=True),
    "centerface 2x2 tiles": StageConfig(detectors=("centerface",), tiles=2),
    "haar+centerface (union, nmm)": StageConfig(detectors=("haar", "centerface"), merge="nmm", merge_iou=0.3),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--labels", type=Path, default=Path("data/offline/labels.json"))
    args = parser.parse_args()
    images = [img for img, _ in load_eval_images(args.labels, None, None)]
    reference = detect.mtcnn_faces(0.9)
    refs = [reference(img) for img in images]
    print(f"{len(images)} held-out images, {sum(len(r) for r in refs)} MTCNN faces")
    print("| stage | recall | unmatched detections | ms per image (median) |")
    print("|---|---|---|---|")
    for name, cfg in SETTINGS.items():
        stage = DetectionStage(cfg)
        found = matched = unmatched = 0
        times = []
        for img, ref in zip(images, refs, strict=True):
            t0 = time.perf_counter()
            boxes = stage(img)
            times.append((time.perf_counter() - t0) * 1e3)
            iou = iou_matrix(ref, boxes)
            found += len(ref)
            matched += int((iou.max(axis=1) >= 0.3).sum()) if len(boxes) else 0
            unmatched += int((iou.max(axis=0) < 0.3).sum()) if len(ref) else len(boxes)
        print(f"| {name} | {matched}/{found} | {unmatched} | {statistics.median(times):.0f} |")


if __name__ == "__main__":
    main()
