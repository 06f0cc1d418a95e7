"""Detect-and-blur in the pixel domain (after BlurScene): each detected box, enlarged, is filled with
a mosaic blended through a soft elliptical mask; any image codec follows. The baseline for the
benchmarks, and the option for robots that cannot run the learned codec."""

from __future__ import annotations

import cv2
import numpy as np

from ..geometry import cover


def mosaic(image: np.ndarray, boxes, cell_fraction: float = 1 / 6, min_cell: int = 5) -> np.ndarray:
    """Soft elliptical mosaic over each integer box (x0, y0, x1, y1), in place; returns image.
    Cells are a sixth of the box's shorter side (at least `min_cell` px): coarse enough that a face
    cannot be recognised, unlike BlurScene's fixed 5 px cells on large faces."""
    for x0, y0, x1, y1 in boxes:
        region = image[y0:y1, x0:x1]
        h, w = region.shape[:2]
        if h == 0 or w == 0:
            continue
        cell = max(min_cell, int(min(h, w) * cell_fraction))
        small = cv2.resize(region, (max(1, w // cell), max(1, h // cell)), interpolation=cv2.INTER_AREA)
        blocks = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST).reshape(region.shape)
        mask = np.zeros((h, w), np.float32)
        cv2.ellipse(mask, (w // 2, h // 2), (max(1, w // 2), max(1, h // 2)), 0, 0, 360, 1.0, -1)
        mask = cv2.GaussianBlur(mask, (0, 0), max(1.0, min(h, w) / 10))
        mask = mask[..., None] if region.ndim == 3 else mask
        region[:] = (mask * blocks + (1 - mask) * region).round().astype(image.dtype)
    return image


def blur(image: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """A copy of the image with every (N, >=4) box mosaicked."""
    return mosaic(image.copy(), cover(boxes, image.shape[1], image.shape[0]))
