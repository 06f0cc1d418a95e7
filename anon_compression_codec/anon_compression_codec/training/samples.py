"""Training samples: random scale, crop, flip and colour jitter, plus pasted faces.

Faces are the scarce part of offline data, so every labelled head of the training split (and the
face crops of scikit-image's lfw_subset) goes into a bank, and each sample gets up to
`paste_faces` of them pasted at random scales, positions, rotations and tints, each with its head
box. The eval split is never read here.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from ..data.boxes import Record
from ..geometry import cover


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


class TrainingSet(Dataset):
    """Labelled frames (heads and bodies) and, with `photos`, a `photo_share` of samples cut from
    natural photographs (no boxes but pasted faces) at random scales: far more variety of texture
    and colour than video frames."""

    def __init__(self, records: list[Record], root: str | Path, crop: int = 256, faces: FaceBank | None = None,
                 paste_faces: int = 2, seed: int = 0, length: int = 10**9, photos: list[Path] = (),
                 photo_share: float = 0.0) -> None:  # fmt: skip
        self.records = [r for r in records if r.split == "train"]
        if not self.records:
            raise ValueError("no training images (split 'train') in the box file")
        if photo_share and not photos:
            raise ValueError("photo_share > 0 needs photos (build the pool: anon-codec data pool)")
        self.root, self.crop, self.faces, self.paste_faces = Path(root), crop, faces, paste_faces
        self.seed, self.length = seed, length
        self.photos, self.photo_share = [Path(p) for p in photos], photo_share
        self._cache: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return self.length

    def _read(self, path: Path) -> np.ndarray:
        key = str(path)
        if key not in self._cache:
            img = cv2.imread(key)
            if img is None:
                raise FileNotFoundError(path)
            self._cache[key] = img
        return self._cache[key]

    def _photo_crop(self, rng: np.random.Generator) -> np.ndarray:
        """A square window of a photo, its side between the crop size and the photo's shorter side
        (log-uniform), area-resized to the crop."""
        img = self._read(self.photos[rng.integers(len(self.photos))])
        h, w = img.shape[:2]
        side = int(round(np.exp(rng.uniform(np.log(self.crop), np.log(max(self.crop, min(h, w)))))))
        side = min(side, h, w)
        y0, x0 = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
        window = img[y0 : y0 + side, x0 : x0 + side]
        return cv2.resize(window, (self.crop, self.crop), interpolation=cv2.INTER_AREA) if side != self.crop else window.copy()

    def __getitem__(self, index: int):
        rng = np.random.default_rng([self.seed, index])
        if self.photos and rng.random() < self.photo_share:
            img = self._photo_crop(rng)
            if rng.random() < 0.5:
                img = img[:, ::-1].copy()
            return self._finish(_jitter(img, rng, 0.1), np.zeros((0, 4), np.float32), np.zeros((0, 4), np.float32), rng)
        rec = self.records[rng.integers(len(self.records))]
        img = self._read(self.root / rec.file)
        heads, bodies = np.asarray(rec.heads, np.float32).reshape(-1, 4), np.asarray(rec.bodies, np.float32).reshape(-1, 4)
        # Zoom between "the crop spans the shorter side" and 2.5x that (at least native size).
        h, w = img.shape[:2]
        lo = self.crop / min(h, w)
        scale = rng.uniform(lo, max(2.5 * lo, 1.0))
        size = (max(self.crop, round(w * scale)), max(self.crop, round(h * scale)))
        img = cv2.resize(img, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        sx, sy = size[0] / w, size[1] / h
        heads, bodies = heads * [sx, sy, sx, sy], bodies * [sx, sy, sx, sy]
        y0 = int(rng.integers(0, img.shape[0] - self.crop + 1))
        x0 = int(rng.integers(0, img.shape[1] - self.crop + 1))
        img = img[y0 : y0 + self.crop, x0 : x0 + self.crop].copy()
        heads, bodies = heads - [x0, y0, x0, y0], bodies - [x0, y0, x0, y0]
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
