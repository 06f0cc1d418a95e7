"""One detection stage shared by the privacy guard, the blur anonymizer, the CLI, the encoder node
and the benchmarks: detectors, test-time augmentation, merging, margins (after BlurScene).

`scale` < 1 runs the detectors on the frame resized by that factor (CenterFace costs ~4x less at
0.5), mapping the boxes back; small faces can be lost, so bench/guard_temporal.py measures each
scale against full-resolution detection on every frame of the benchmark videos before one is used.

`hold` > 0 (for video) keeps every box guarded for that many frames after its last detection,
grown by HOLD_GROWTH of its size per frame, so a face the detector misses for a frame or two stays
covered; the boxes reset when the frame size changes.

TTA: the image as is, optionally its horizontal mirror, optionally cut into n x n overlapping tiles
(each enlarged by `tile_overlap`), every box mapped back to image coordinates. Boxes below
`pre_threshold` are dropped, the rest merged by Weighted Box Fusion (score-weighted average of a
cluster), NMS (keep the best) or NMM (non-maximum merging: the enveloping box) at `merge_iou`, then
`post_threshold` applies and each box grows by `margin` on every side.
"""

from __future__ import annotations

import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np
import yaml

from ..errors import InputError
from ..runtime.geometry import cover, enlarge, iou_matrix, mirror
from . import detectors as detect

MERGES = ("wbf", "nms", "nmm")
HOLD_GROWTH = 0.05  # of a held box's width/height, on every side, per frame since its detection
AREAS = ("int", "float")


@dataclass(frozen=True)
class StageConfig:
    detectors: tuple[str, ...] = ("centerface",)
    mirror: bool = False
    tiles: int = 1
    tile_overlap: float = 0.2
    pre_threshold: float = 0.5
    post_threshold: float = 0.5
    merge: str = "wbf"
    merge_iou: float = 0.5
    area: str = "float"
    margin: float = 0.15
    scale: float = 1.0
    hold: int = 0
    extra: dict = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        unknown = set(self.detectors) - set(detect.BACKENDS)
        if not self.detectors or unknown:
            raise InputError(f"detectors must be among {sorted(detect.BACKENDS)}, found {list(self.detectors)}")
        if self.merge not in MERGES or self.area not in AREAS:
            raise InputError(f"merge must be one of {MERGES} and area one of {AREAS}")
        numbers = {k: getattr(self, k) for k in ("tiles", "tile_overlap", "pre_threshold", "post_threshold", "merge_iou",
                                                  "margin", "scale")}  # fmt: skip
        if any(isinstance(v, bool) or not isinstance(v, int | float) for v in numbers.values()):
            raise InputError(f"detection settings must be numbers, found {numbers}")
        if not (1 <= self.tiles <= 8 and isinstance(self.tiles, int)) or not 0 <= self.tile_overlap < 1:
            raise InputError(f"tiles must be an integer 1..8 and tile_overlap in [0, 1), found {self.tiles}, {self.tile_overlap}")
        # A threshold of 1 or more keeps no box while every frame still says "guarded": fail closed.
        for name in ("pre_threshold", "post_threshold"):
            if not 0 <= numbers[name] < 1:
                raise InputError(f"{name} must be in [0, 1), found {numbers[name]}")
        if not (0 < self.merge_iou <= 1 and 0 <= self.margin <= 2):
            raise InputError(f"merge_iou must be in (0, 1] and margin in [0, 2], found {self.merge_iou}, {self.margin}")
        if isinstance(self.hold, bool) or not isinstance(self.hold, int) or not 0 <= self.hold <= 30:
            raise InputError(f"hold must be an integer 0..30 (frames), found {self.hold!r}")
        if not 0.25 <= self.scale <= 1:
            raise InputError(f"scale must be in [0.25, 1], found {self.scale}")
        if not isinstance(self.mirror, bool):
            raise InputError(f"mirror must be true or false, found {self.mirror!r}")

    @classmethod
    def from_yaml(cls, path: str | Path) -> StageConfig:
        try:
            raw = yaml.safe_load(Path(path).read_text()) or {}
        except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: not a detection config ({exc})") from None
        if not isinstance(raw, dict):
            raise InputError(f"{path}: a detection config is a mapping of settings, found {type(raw).__name__}")
        unknown = set(raw) - set(cls.__dataclass_fields__) - {"extra"}
        if unknown:
            raise InputError(f"{path}: unknown detection settings {sorted(unknown)}")
        detectors = raw.get("detectors", cls.detectors)
        if isinstance(detectors, str) or not isinstance(detectors, list | tuple):
            raise InputError(f"{path}: detectors must be a list, found {detectors!r}")
        return cls(**{**raw, "detectors": tuple(detectors)})

    def settings_id(self) -> int:
        """CRC-32 of the settings, written into guarded bitstreams."""
        settings = {k: v for k, v in asdict(self).items() if k != "extra"}
        return zlib.crc32(repr(sorted(settings.items())).encode())


# The encoder node's default for camera streams: CenterFace on the frame at 0.75 scale (~40 % of the
# full-resolution cost) with boxes held 2 frames. bench/guard_temporal.py found 0 faces left uncovered
# against full-resolution detection on every frame of its videos, bench/face_detectors.py the same
# recall on the held-out stills; 0.5 scale left faces uncovered and is not used.
VIDEO = StageConfig(scale=0.75, hold=2)
# Every other use (still images, bags, the HTTP service, evaluation): full resolution, each frame on its own.
STILL = StageConfig()


def merge(boxes: np.ndarray, method: str = "wbf", iou_threshold: float = 0.5, area: str = "float") -> np.ndarray:
    """Merge (N, 5) boxes [x0, y0, x1, y1, score]. Clusters form greedily around the best remaining box."""
    if len(boxes) == 0:
        return boxes.reshape(0, 5).astype(np.float32)
    order = boxes[np.argsort(-boxes[:, 4], kind="stable")]
    used = np.zeros(len(order), bool)
    out = []
    overlaps = iou_matrix(order, order, area)
    for i in range(len(order)):
        if used[i]:
            continue
        members = np.where(~used & (overlaps[i] >= iou_threshold))[0]
        members = np.union1d(members, [i])
        used[members] = True
        cluster = order[members]
        if method == "nms":
            out.append(order[i])
        elif method == "nmm":
            out.append([*cluster[:, 0:2].min(0), *cluster[:, 2:4].max(0), cluster[:, 4].max()])
        else:  # wbf
            w = cluster[:, 4:5]
            out.append([*(cluster[:, :4] * w).sum(0) / w.sum(), cluster[:, 4].mean()])
    return np.asarray(out, np.float32).reshape(-1, 5)


def tiles(width: int, height: int, n: int, overlap: float) -> list[tuple[int, int, int, int]]:
    """n x n regions covering the image, each enlarged by `overlap` of its size (covered, clipped)."""
    out = []
    for r in range(n):
        for c in range(n):
            x0, x1 = width * c / n, width * (c + 1) / n
            y0, y1 = height * r / n, height * (r + 1) / n
            dx, dy = (x1 - x0) * overlap / 2, (y1 - y0) * overlap / 2
            out.extend(cover([(x0 - dx, y0 - dy, x1 + dx, y1 + dy)], width, height))
    return out


class DetectionStage:
    """`DetectionStage(config)(image_bgr) -> (N, 5)` merged, thresholded, enlarged boxes."""

    def __init__(self, config: StageConfig | None = None) -> None:
        self.config = config or STILL
        self.detectors = [detect.BACKENDS[name]() for name in self.config.detectors]
        self.held: list[tuple[np.ndarray, int]] = []  # (box, frames since its detection)
        self.held_size: tuple[int, int] | None = None

    def raw(self, image: np.ndarray) -> np.ndarray:
        """Every detector on every TTA view, mapped back to image coordinates, before merging."""
        cfg = self.config
        full_h, full_w = image.shape[:2]
        if cfg.scale < 1:
            size = (max(1, round(full_w * cfg.scale)), max(1, round(full_h * cfg.scale)))
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        h, w = image.shape[:2]
        found = []
        views = [(image, False)] + ([(np.ascontiguousarray(image[:, ::-1]), True)] if cfg.mirror else [])
        for view, mirrored in views:
            regions = [(0, 0, w, h)] + (tiles(w, h, cfg.tiles, cfg.tile_overlap) if cfg.tiles > 1 else [])
            for x0, y0, x1, y1 in regions:
                crop = view[y0:y1, x0:x1]
                for det in self.detectors:
                    boxes = det(crop).copy()
                    boxes[:, [0, 2]] += x0
                    boxes[:, [1, 3]] += y0
                    found.append(mirror(boxes, w) if mirrored else boxes)
        boxes = np.concatenate(found).astype(np.float32) if found else detect.EMPTY
        boxes[:, [0, 2]] *= full_w / w
        boxes[:, [1, 3]] *= full_h / h
        return boxes

    def __call__(self, image: np.ndarray) -> np.ndarray:
        cfg = self.config
        boxes = self.raw(image)
        boxes = boxes[boxes[:, 4] >= cfg.pre_threshold]
        boxes = merge(boxes, cfg.merge, cfg.merge_iou, cfg.area)
        boxes = boxes[boxes[:, 4] >= cfg.post_threshold]
        h, w = image.shape[:2]
        boxes = enlarge(boxes, cfg.margin, w, h)
        if not cfg.hold:
            return boxes
        if self.held_size != (h, w):
            self.held, self.held_size = [], (h, w)
        self.held = [(enlarge(b[None], HOLD_GROWTH, w, h)[0], age + 1) for b, age in self.held if age <= cfg.hold]
        out = np.concatenate([boxes, *(b[None] for b, _ in self.held)])
        self.held += [(b, 1) for b in boxes]
        return out
