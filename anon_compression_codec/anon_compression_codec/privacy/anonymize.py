"""How an anonymized box looks, and detect-and-blur in the pixel domain (after BlurScene).

`render` draws over boxes whose content is already free of the face (the decoder's guarded boxes,
or `fill`ed pixels): "tint" keeps what is there at 40 % of its colour saturation, so the smudge left
by the fill reads as deliberate anonymization while a person detector still reads the person
(measured, bench/guard_styles.py: a mosaic or a 1 px outline over the head cost person detectors a
third of the persons the untouched fill keeps); "mosaic" is the look before guard version 2, a
coarse soft mosaic with a thin outline. `blur` fills each box from outside and renders it: the
benchmarks' baseline, and the option for robots that cannot run the learned codec."""

from __future__ import annotations

import cv2
import numpy as np

from ..runtime.geometry import cover
from .fill import fill

OUTLINE = (200, 200, 200)  # light grey, 1 px: marks the box without hiding what is around it
MASK_SIDE = 64  # the soft ellipse is drawn at most this large, then resized: cost linear in the box
BLEND_ROWS = 256  # rows blended at a time: float temporaries stay small however large the box


def _soft_ellipse(h: int, w: int) -> np.ndarray:
    """A filled ellipse with edges blurred by a tenth of the shorter side, h x w, values in [0, 1]."""
    scale = min(1.0, MASK_SIDE / max(h, w))
    sh, sw = max(1, round(h * scale)), max(1, round(w * scale))
    mask = np.zeros((sh, sw), np.float32)
    cv2.ellipse(mask, (sw // 2, sh // 2), (max(1, sw // 2), max(1, sh // 2)), 0, 0, 360, 1.0, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), max(1.0, min(sh, sw) / 10))
    return mask if (sh, sw) == (h, w) else cv2.resize(mask, (w, h), interpolation=cv2.INTER_LINEAR)


def mosaic(image: np.ndarray, boxes, cell_fraction: float = 1 / 6, min_cell: int = 5) -> np.ndarray:
    """Soft elliptical mosaic over each integer box (x0, y0, x1, y1), in place; returns image.
    Cells are a sixth of the box's shorter side (at least `min_cell` px): coarse enough that a face
    cannot be recognised, unlike BlurScene's fixed 5 px cells on large faces. Every step is an area
    resize or a per-pixel blend, so the cost is linear in the box's pixels whatever its size."""
    for x0, y0, x1, y1 in boxes:
        region = image[y0:y1, x0:x1]
        h, w = region.shape[:2]
        if h == 0 or w == 0:
            continue
        cell = max(min_cell, int(min(h, w) * cell_fraction))
        small = cv2.resize(region, (max(1, w // cell), max(1, h // cell)), interpolation=cv2.INTER_AREA)
        blocks = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST).reshape(region.shape)
        mask = _soft_ellipse(h, w)
        mask = mask[..., None] if region.ndim == 3 else mask
        for r in range(0, h, BLEND_ROWS):
            m, rows = mask[r : r + BLEND_ROWS], region[r : r + BLEND_ROWS]
            rows[:] = (m * blocks[r : r + BLEND_ROWS] + (1 - m) * rows).round().astype(image.dtype)
    return image


STYLES = ("tint", "mosaic")
TINT_SATURATION = 0.4


def render(image: np.ndarray, boxes, style: str = "tint") -> np.ndarray:
    """A copy of the HxWx3 image with every integer box drawn in `style` (see the module docstring)."""
    if style == "mosaic":
        out = mosaic(image.copy(), boxes)
        for x0, y0, x1, y1 in boxes:
            if x1 - x0 >= 8 and y1 - y0 >= 8:  # smaller boxes would be all outline
                cv2.rectangle(out, (x0, y0), (x1 - 1, y1 - 1), OUTLINE, 1)
        return out
    out = image.copy()
    for x0, y0, x1, y1 in boxes:
        for r in range(y0, y1, BLEND_ROWS):  # float temporaries stay small however large the box
            rows = out[r : min(y1, r + BLEND_ROWS), x0:x1]
            region = rows.astype(np.float32)
            grey = region.mean(axis=2, keepdims=True)
            rows[:] = (grey + TINT_SATURATION * (region - grey)).round().clip(0, 255).astype(np.uint8)
    return out


def blur(image: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """A copy of the image with every (N, >=4) box filled from outside (fill.py) and tinted."""
    boxes = cover(boxes, image.shape[1], image.shape[0])
    return render(fill(image, boxes), boxes)
