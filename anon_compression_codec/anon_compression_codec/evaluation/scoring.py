"""`anon-codec eval`: rate, privacy and utility of a weight file, beside JPEG and AVIF.

On the same images and in the same run:
- bpp, and PSNR outside the head boxes (heads from the label file where given, else MTCNN's faces);
- face survival: of the faces MTCNN finds (p >= 0.9) on the original, the share it still finds
  (IoU >= 0.5) on the decoded image. MTCNN is not one of the labelling detectors.
- person retention: the same with the person detector (YOLO, which also made the training's body
  labels) and with OpenCV's HOG people detector, which made none of them (so the metric is not
  circular);
- PSNR of the whole image, MS-SSIM, and the blob share: pixels outside heads whose error exceeds
  `metrics.BLOB_LEVEL` in some channel (saturated colour artefacts);
- the same figures for JPEG and AVIF at the nearest bpp (per image), and JPEG and AVIF at q30;
- with guard=True also: ours with the privacy guard, and detect-and-blur + JPEG q60.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..privacy import detectors as detect
from ..runtime.codec import Decoder, Encoder
from ..runtime.geometry import cover, face_to_head, iou_matrix
from . import baselines
from .metrics import blob_mask, bpp, ms_ssim

MATCH_IOU = 0.5


@dataclass
class Tally:
    bytes: int = 0
    pixels: int = 0
    faces: int = 0
    faces_kept: int = 0
    persons: int = 0
    persons_kept: int = 0
    hog_persons: int = 0
    hog_persons_kept: int = 0
    sq_err_outside: float = 0.0
    px_outside: int = 0
    sq_err: float = 0.0
    blob_px: int = 0
    ms_ssim: list[float] = field(default_factory=list)
    qualities: list[int] = field(default_factory=list)

    def __add__(self, other: Tally) -> Tally:
        """The pooled tally of two image sets: `sum(tallies, Tally()).summary()` gives totals over images."""
        return Tally(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    def summary(self) -> dict:
        def db(mse: float) -> float:
            return round(float(10 * np.log10(255**2 / mse)) if mse else float("inf"), 2)

        return {
            "bpp": round(8 * self.bytes / max(self.pixels, 1), 4),
            "psnr": db(self.sq_err / max(self.pixels, 1)),
            "psnr_outside_heads": db(self.sq_err_outside / max(self.px_outside, 1)),
            "ms_ssim": round(float(np.mean(self.ms_ssim)), 4) if self.ms_ssim else None,
            "blob_share": round(self.blob_px / max(self.px_outside, 1), 6),
            "face_survival": round(self.faces_kept / self.faces, 4) if self.faces else None,
            "person_retention": round(self.persons_kept / self.persons, 4) if self.persons else None,
            "person_retention_hog": round(self.hog_persons_kept / self.hog_persons, 4) if self.hog_persons else None,
            "faces": self.faces,
            "persons": self.persons,
            "hog_persons": self.hog_persons,
            **({"qualities": self.qualities} if self.qualities else {}),
        }


def _kept(found_before: np.ndarray, found_after: np.ndarray) -> int:
    if len(found_before) == 0 or len(found_after) == 0:
        return 0
    iou = iou_matrix(found_before, found_after)
    kept = 0
    used: set[int] = set()
    for i in range(len(found_before)):
        j = int(np.argmax(iou[i]))
        if iou[i, j] >= MATCH_IOU and j not in used:
            used.add(j)
            kept += 1
    return kept


class Scorer:
    """Face survival, person retention, bpp and PSNR outside heads of decoded images against the
    detections on their originals. Shared by `anon-codec eval` and the benchmark suite."""

    def __init__(self) -> None:
        self.faces, self.persons = detect.mtcnn_faces(0.9), detect.yolo_persons()
        self.hog = detect.hog_persons()
        self.tallies: dict[str, Tally] = {}

    def reference(self, image: np.ndarray, heads: np.ndarray | None):
        """Detections on the original. Where head boxes are labelled (an empty array for a photo
        without people), only MTCNN faces inside a labelled head count: its false positives (boats,
        textures) are not faces whose survival means anything."""
        found_faces, found_persons = self.faces(image), self.persons(image)
        if heads is None:
            heads = face_to_head(found_faces, image.shape[1], image.shape[0])
        else:
            centres = (found_faces[:, :2] + found_faces[:, 2:4]) / 2
            inside = [any(x0 <= cx <= x1 and y0 <= cy <= y1 for x0, y0, x1, y1 in np.asarray(heads)[:, :4]) for cx, cy in centres]
            found_faces = found_faces[np.asarray(inside, bool)] if len(found_faces) else found_faces
        return found_faces, found_persons, heads, self.hog(image)

    def add(self, name: str, original: np.ndarray, decoded: np.ndarray, nbytes: int, ref, quality: int | None = None) -> None:
        ref_faces, ref_persons, heads, ref_hog = ref
        t = self.tallies.setdefault(name, Tally())
        h, w = original.shape[:2]
        t.bytes += nbytes
        t.pixels += h * w
        t.faces += len(ref_faces)
        t.faces_kept += _kept(ref_faces, self.faces(decoded))
        t.persons += len(ref_persons)
        t.persons_kept += _kept(ref_persons, self.persons(decoded))
        t.hog_persons += len(ref_hog)
        t.hog_persons_kept += _kept(ref_hog, self.hog(decoded))
        outside = np.ones((h, w), bool)
        for x0, y0, x1, y1 in cover(heads, w, h):
            outside[y0:y1, x0:x1] = False
        err = (original.astype(np.float64) - decoded.astype(np.float64)) ** 2
        t.sq_err += float(err.sum() / 3)
        t.sq_err_outside += float(err[outside].sum() / 3)
        t.px_outside += int(outside.sum())
        t.blob_px += int(blob_mask(original, decoded)[outside].sum())
        if min(h, w) > 160:
            t.ms_ssim.append(ms_ssim(original, decoded))
        if quality is not None:
            t.qualities.append(quality)

    def summaries(self) -> dict:
        return {name: t.summary() for name, t in self.tallies.items()}


def evaluate(images: list[tuple[np.ndarray, np.ndarray | None]], weights: str | None, guard: bool = True,
             progress: bool = True) -> dict:  # fmt: skip
    """images: (BGR image, head boxes or None). Returns {codec setting: summary}."""
    from ..privacy.anonymize import blur

    enc, dec = Encoder(weights, guard=False), Decoder(weights)
    guarded = Encoder(weights, guard=True) if guard else None
    scorer = Scorer()
    jpeg = baselines.CODECS["jpeg"]
    for image, heads in tqdm(images, desc="eval", unit="img", disable=not progress, mininterval=1.0):
        ref = scorer.reference(image, heads)
        data = enc(image, channel_order="bgr")
        scorer.add("ours", image, dec(data, channel_order="bgr"), len(data), ref)
        ours_bpp = bpp(len(data), *image.shape[:2])
        if guarded is not None:
            data = guarded(image, channel_order="bgr")
            scorer.add("ours+guard", image, dec(data, channel_order="bgr"), len(data), ref)
            blob = jpeg.encode(blur(image, guarded.stage(image)), 60)
            scorer.add("blur+jpeg@q60", image, jpeg.decode(blob), len(blob), ref)
        for name in ("jpeg", "avif"):
            codec = baselines.CODECS[name]
            q, blob = baselines.at_bpp(codec, image, ours_bpp)
            scorer.add(f"{name}@matched", image, codec.decode(blob), len(blob), ref, q)
            blob = codec.encode(image, 30)
            scorer.add(f"{name}@q30", image, codec.decode(blob), len(blob), ref)
    return scorer.summaries()


def load_pool_images(pool: Path, max_side: int = 960) -> list[tuple[np.ndarray, np.ndarray]]:
    """The held-out photos of a photo pool with their head boxes, longer side at most max_side
    (camera-like sizes)."""
    import cv2

    from .. import media
    from ..data.pool import manifest

    out = []
    for photo in manifest(pool):
        if photo["split"] != "eval":
            continue
        img = media.read_image(Path(pool) / photo["file"])
        scale = min(1.0, max_side / max(img.shape[:2]))
        heads = np.asarray(photo.get("heads") or [], np.float32).reshape(-1, 4) * scale
        out.append((cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else img, heads))
    return out


def load_eval_images(labels: Path | None, folder: Path | None, video: Path | None, max_frames: int = 50):
    """(image, heads) pairs: the eval split of a label file, a folder, or frames of a video."""
    from .. import media
    from ..data.boxes import read_json

    if labels is not None:
        records, _ = read_json(labels)
        root = labels.parent
        held_out = [r for r in records if r.split == "eval"]
        return [(media.read_image(root / r.file), np.asarray(r.heads, np.float32).reshape(-1, 4)) for r in held_out]
    if folder is not None:
        return [(media.read_image(p), None) for p in media.folder_images(folder)]
    frames, _, _ = media.video_frames(Path(video), max_frames)
    return [(f, None) for f in frames]
