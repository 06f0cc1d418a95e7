"""Training samples: random scale, crop, flip and colour jitter, plus pasted faces.

Images come from a `PixelCache` (decoded once, stored at a few scales): a sample picks an image,
one of its scales, a mild scale jitter around it (SCALE_JITTER), and a window that is resized to
the crop only when the jitter asks for it. Boxes follow every step.

Faces are the scarce part of offline data, so every labelled head of the training split (and the
face crops of scikit-image's lfw_subset) goes into a bank, and each sample gets up to
`paste_faces` of them pasted at random scales, positions, rotations and tints, each with its head
box. The eval split is never read here.
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from ..data.boxes import Record
from ..runtime.geometry import cover
from .pixels import PixelCache


def _jitter(img: np.ndarray, rng: np.random.Generator, strength: float = 0.2) -> np.ndarray:
    out = img.astype(np.float32)
    out = out * rng.uniform(1 - strength, 1 + strength) + rng.uniform(-25, 25) * strength  # contrast, brightness
    gray = out.mean(axis=2, keepdims=True)
    out = gray + (out - gray) * rng.uniform(1 - strength, 1 + strength)  # saturation
    out = out * rng.uniform(1 - strength / 2, 1 + strength / 2, size=3)  # tint
    return np.clip(out, 0, 255).astype(np.uint8)


class FaceBank:
    def __init__(self, faces: list[np.ndarray]) -> None:
        self.faces = [f for f in faces if min(f.shape[:2]) >= 8]

    @classmethod
    def from_records(cls, records: list[Record], root: Path, extra: list[np.ndarray] = ()) -> FaceBank:
        faces = list(extra)
        for rec in records:
            if rec.split != "train" or not rec.heads:
                continue
            img = cv2.imread(str(root / rec.file))
            for x0, y0, x1, y1 in cover(rec.heads, img.shape[1], img.shape[0]):
                faces.append(img[y0:y1, x0:x1].copy())
        return cls(faces)

    def paste(self, img: np.ndarray, rng: np.random.Generator, max_side: int) -> list[float] | None:
        """Paste one face into img (in place); return its box, or None if it did not fit."""
        if not self.faces:
            return None
        face = self.faces[rng.integers(len(self.faces))]
        h, w = img.shape[:2]
        side = int(rng.uniform(12, max(13, min(max_side, h, w))))
        scale = side / max(face.shape[:2])
        face = cv2.resize(face, (max(1, round(face.shape[1] * scale)), max(1, round(face.shape[0] * scale))))
        angle = rng.uniform(-20, 20)
        fh, fw = face.shape[:2]
        rot = cv2.getRotationMatrix2D((fw / 2, fh / 2), angle, 1.0)
        face = cv2.warpAffine(_jitter(face, rng, 0.3), rot, (fw, fh), borderMode=cv2.BORDER_REFLECT)
        if fh >= h or fw >= w:
            return None
        y, x = int(rng.integers(0, h - fh)), int(rng.integers(0, w - fw))
        mask = np.zeros((fh, fw), np.float32)
        cv2.ellipse(mask, (fw // 2, fh // 2), (max(1, fw // 2 - 1), max(1, fh // 2 - 1)), 0, 0, 360, 1.0, -1)
        mask = cv2.GaussianBlur(mask, (0, 0), max(1.0, min(fw, fh) / 12))[..., None]
        region = img[y : y + fh, x : x + fw].astype(np.float32)
        img[y : y + fh, x : x + fw] = (mask * face + (1 - mask) * region).astype(np.uint8)
        return [float(x), float(y), float(x + fw), float(y + fh)]


SCALE_JITTER = 0.15  # window side = crop x [1 - j, 1 + j]: between the pyramid's sqrt-2 steps
DEFAULT_CACHE = Path("~/.cache/anon-compression/pixels").expanduser()


class TrainingSet(Dataset):
    """Labelled frames (heads and bodies) and, with `photos`, a `photo_share` of samples cut from
    natural photographs (no boxes but pasted faces): far more variety of texture and colour than
    video frames. Each image is seen at every scale of its pyramid (longer side `base_side` and
    down by sqrt 2 while a crop fits), chosen uniformly."""

    def __init__(self, records: list[Record], root: str | Path, crop: int = 256, faces: FaceBank | None = None,
                 paste_faces: int = 2, seed: int = 0, length: int = 10**9, photos: list[Path] = (),
                 photo_share: float = 0.0, base_side: int = 1024, cache: str | Path = DEFAULT_CACHE) -> None:  # fmt: skip
        self.records = [r for r in records if r.split == "train"]
        if not self.records:
            raise ValueError("no training images (split 'train') in the box file")
        if photo_share and not photos:
            raise ValueError("photo_share > 0 needs photos (build the pool: anon-codec data pool)")
        self.crop, self.faces, self.paste_faces = crop, faces, paste_faces
        self.seed, self.length = seed, length
        self.photo_share = photo_share if photos else 0.0
        files = [Path(root) / r.file for r in self.records] + [Path(p) for p in photos]
        # The window of the widest jitter must fit every level.
        self.pixels = PixelCache.open(files, Path(cache), base_side, math.ceil(crop * (1 + SCALE_JITTER)))
        self.photos = range(len(self.records), len(files))

    def __len__(self) -> int:
        return self.length

    def _window(self, image: int, rng: np.random.Generator) -> tuple[np.ndarray, float, int, int, float]:
        """A crop of one scale of an image: (crop, level scale, x0, y0, window side / crop)."""
        level = int(rng.integers(len(self.pixels.levels[image])))
        img = self.pixels.level(image, level)
        h, w = img.shape[:2]
        side = min(h, w, round(self.crop * rng.uniform(1 - SCALE_JITTER, 1 + SCALE_JITTER)))
        y0, x0 = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
        window = img[y0 : y0 + side, x0 : x0 + side]
        if side == self.crop:
            window = window.copy()
        else:
            shrink = cv2.INTER_AREA if side > self.crop else cv2.INTER_LINEAR
            window = cv2.resize(window, (self.crop, self.crop), interpolation=shrink)
        return window, self.pixels.levels[image][level].scale, x0, y0, side / self.crop

    def __getitem__(self, index: int):
        rng = np.random.default_rng([self.seed, index])
        if rng.random() < self.photo_share:
            img = self._window(self.photos[int(rng.integers(len(self.photos)))], rng)[0]
            if rng.random() < 0.5:
                img = img[:, ::-1].copy()
            return self._finish(_jitter(img, rng, 0.1), np.zeros((0, 4), np.float32), np.zeros((0, 4), np.float32), rng)
        which = int(rng.integers(len(self.records)))
        rec = self.records[which]
        img, scale, x0, y0, zoom = self._window(which, rng)
        boxes = [np.asarray(b, np.float32).reshape(-1, 4) * scale for b in (rec.heads, rec.bodies)]
        heads, bodies = ((b - [x0, y0, x0, y0]) / zoom for b in boxes)
        if rng.random() < 0.5:
            img = img[:, ::-1].copy()
            heads = np.column_stack([self.crop - heads[:, 2], heads[:, 1], self.crop - heads[:, 0], heads[:, 3]])
            bodies = np.column_stack([self.crop - bodies[:, 2], bodies[:, 1], self.crop - bodies[:, 0], bodies[:, 3]])
        return self._finish(_jitter(img, rng), heads, bodies, rng)

    def _finish(self, img: np.ndarray, heads: np.ndarray, bodies: np.ndarray, rng: np.random.Generator):
        """Paste faces, keep the boxes inside the crop, BGR uint8 -> RGB float tensor."""
        pasted = []
        if self.faces is not None:
            for _ in range(int(rng.integers(0, self.paste_faces + 1))):
                box = self.faces.paste(img, rng, self.crop // 2)
                if box is not None:
                    pasted.append(box)
        heads = np.concatenate([_inside(heads, self.crop), np.asarray(pasted, np.float32).reshape(-1, 4)])
        x = torch.from_numpy(np.ascontiguousarray(img[..., ::-1])).permute(2, 0, 1).float() / 255
        return x, torch.from_numpy(heads.astype(np.float32)), torch.from_numpy(_inside(bodies, self.crop).astype(np.float32))


def _inside(boxes: np.ndarray, size: int) -> np.ndarray:
    """Clip to the crop; drop boxes that lost most of their area."""
    if len(boxes) == 0:
        return boxes.reshape(0, 4)
    clipped = boxes.clip(0, size)
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    kept = (clipped[:, 2] - clipped[:, 0]) * (clipped[:, 3] - clipped[:, 1])
    return clipped[kept > 0.3 * np.maximum(area, 1e-6)]


def collate(batch):
    xs, heads, bodies = zip(*batch, strict=True)
    return torch.stack(xs), list(heads), list(bodies)
