"""Training images decoded once: one uint8 file on disk, read as a numpy memmap.

Decoding a PNG and resizing a 1600 px photo for every crop costs more than a training step's
arithmetic on two cores. So each image is decoded once, its longer side brought to at most
`base_side`, and stored at a few scales (a pyramid: 1, 1/sqrt 2, 1/2, ...; a level is kept while
its shorter side holds a crop). A crop then is a slice of one level plus, for mild scale jitter,
a resize of a window barely larger than the crop. The file lives in the cache folder under a key
of its inputs (paths, sizes, modification times, sides), so a changed image set builds a new one
and an unchanged one is reused by every run and process (the OS shares its pages).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError

FORMAT = 1
LEVEL_STEP = 2**-0.5


@dataclass(frozen=True)
class Level:
    offset: int  # in bytes, into the pixel file
    height: int
    width: int
    scale: float  # this level's pixels per pixel of the original image (for boxes)


class PixelCache:
    def __init__(self, folder: Path, key: str) -> None:
        index = json.loads((folder / f"{key}.json").read_text())
        self.files: list[str] = index["files"]
        self.levels = [[Level(*lv) for lv in levels] for levels in index["levels"]]
        self.pixels = np.memmap(folder / f"{key}.u8", np.uint8, "r")

    def __len__(self) -> int:
        return len(self.files)

    def level(self, image: int, level: int) -> np.ndarray:
        """A read-only (H, W, 3) BGR view of one level of one image."""
        lv = self.levels[image][level]
        return self.pixels[lv.offset : lv.offset + lv.height * lv.width * 3].reshape(lv.height, lv.width, 3)

    @classmethod
    def open(cls, files: list[Path], folder: Path, base_side: int, min_side: int) -> PixelCache:
        """The cache of these image files, built first if no earlier run left one."""
        files = [Path(f).resolve() for f in files]
        try:
            stamp = [(str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files]
        except OSError as exc:
            raise InputError(f"training image missing: {exc}") from None
        key = hashlib.sha256(json.dumps([FORMAT, base_side, min_side, stamp]).encode()).hexdigest()[:20]
        folder.mkdir(parents=True, exist_ok=True)
        if not (folder / f"{key}.json").is_file():
            _build(files, folder, key, base_side, min_side)
        return cls(folder, key)


def _pyramid(img: np.ndarray, base_side: int, min_side: int) -> list[np.ndarray]:
    scale = min(1.0, base_side / max(img.shape[:2]))
    out = []
    while True:
        h, w = round(img.shape[0] * scale), round(img.shape[1] * scale)
        if min(h, w) < min_side and out:
            return out
        out.append(cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA) if scale != 1 else img)
        scale *= LEVEL_STEP


def _build(files: list[Path], folder: Path, key: str, base_side: int, min_side: int) -> None:
    tmp = folder / f"{key}.{os.getpid()}.tmp"
    levels, offset = [], 0
    try:
        with open(tmp, "wb") as out:
            for path in files:
                img = cv2.imread(str(path), cv2.IMREAD_COLOR)
                if img is None:
                    raise InputError(f"{path}: not a readable image")
                width = img.shape[1]  # boxes are in the original's pixels
                if min(img.shape[:2]) < min_side:  # smaller than a crop: enlarged once, here
                    grow = min_side / min(img.shape[:2])
                    img = cv2.resize(img, None, fx=grow, fy=grow, interpolation=cv2.INTER_LINEAR)
                entry = []
                for level in _pyramid(img, base_side, min_side):
                    out.write(np.ascontiguousarray(level).tobytes())
                    entry.append([offset, level.shape[0], level.shape[1], level.shape[1] / width])
                    offset += level.nbytes
                levels.append(entry)
        tmp.replace(folder / f"{key}.u8")
        index = folder / f"{key}.{os.getpid()}.json.tmp"
        index.write_text(json.dumps({"format": FORMAT, "files": [str(f) for f in files], "levels": levels}))
        index.replace(folder / f"{key}.json")  # written last: its presence means the pixels are complete
    finally:
        tmp.unlink(missing_ok=True)
