"""Filling guarded boxes from the pixels around them (guard version 2).

Each box is replaced by a fill computed only from pixels outside every box: OpenCV's Telea
inpainting from the box's border inwards, on a copy of the box and a thin ring around it that is
area-reduced to at most FILL_SIDE pixels across (the cost is bounded per box whatever its size).
The reduction is mask-aware: a reduced pixel that any box pixel contributed to counts as unknown,
so no face pixel reaches the fill, even at the box's edge. What comes out reads as a smudge in the
colours of hair, skin and background around it: the person's shape stays, the face is gone.
"""

from __future__ import annotations

import cv2
import numpy as np

FILL_SIDE = 96  # the box and its ring are inpainted at most this many pixels across, then enlarged
RING = 8  # pixels of context around a box that its fill is computed from
RADIUS = 3  # Telea's neighbourhood, in reduced pixels
NO_CONTEXT = 128  # a box with no pixel outside any box around it (e.g. the whole frame) is flat grey


def fill(image: np.ndarray, boxes) -> np.ndarray:
    """A copy of the HxWx3 uint8 image with every integer box (x0, y0, x1, y1) filled from the
    pixels outside all of the boxes."""
    out = image.copy()
    if len(boxes) == 0:
        return out
    h, w = image.shape[:2]
    unknown = np.zeros((h, w), np.uint8)
    for x0, y0, x1, y1 in boxes:
        unknown[y0:y1, x0:x1] = 1
    for x0, y0, x1, y1 in boxes:
        wx0, wy0, wx1, wy1 = max(0, x0 - RING), max(0, y0 - RING), min(w, x1 + RING), min(h, y1 + RING)
        window, holes = image[wy0:wy1, wx0:wx1], unknown[wy0:wy1, wx0:wx1]
        if holes.all():
            out[y0:y1, x0:x1] = NO_CONTEXT
            continue
        patch = _inpaint(window, holes)
        out[y0:y1, x0:x1] = patch[y0 - wy0 : y1 - wy0, x0 - wx0 : x1 - wx0]
    return out


def _inpaint(window: np.ndarray, holes: np.ndarray) -> np.ndarray:
    """Telea inpainting of `holes` (1 = unknown) in `window`, at most FILL_SIDE across."""
    wh, ww = holes.shape
    scale = min(1.0, FILL_SIDE / max(wh, ww))
    known = (1 - holes).astype(np.float32)
    if scale < 1:
        size = (max(1, round(ww * scale)), max(1, round(wh * scale)))
        weight = cv2.resize(known, size, interpolation=cv2.INTER_AREA)
        total = cv2.resize(window.astype(np.float32) * known[..., None], size, interpolation=cv2.INTER_AREA)
        small_holes = (weight < 0.999).astype(np.uint8)  # any box pixel inside: unknown
        small = np.where(small_holes[..., None] == 0, total / np.maximum(weight, 1e-6)[..., None], 0)
        small = np.clip(small.round(), 0, 255).astype(np.uint8)
    else:
        small_holes = holes.astype(np.uint8)
        small = np.where(holes[..., None] == 0, window, 0).astype(np.uint8)
    if small_holes.all():  # the reduction left no known pixel
        return np.full_like(window, NO_CONTEXT)
    filled = cv2.inpaint(small, small_holes, RADIUS, cv2.INPAINT_TELEA)
    return filled if scale == 1 else cv2.resize(filled, (ww, wh), interpolation=cv2.INTER_LINEAR)
