"""Filling guarded boxes from the pixels around them (guard version 2).

Each box is replaced by a fill computed only from pixels outside every box: OpenCV's Telea
inpainting from the box's border inwards, on a copy of the box and a thin ring around it that is
area-reduced to at most FILL_SIDE pixels across (the cost is bounded per box whatever its size).
The reduction is mask-aware: a reduced pixel that any box pixel contributed to counts as unknown,
so no face pixel reaches the fill, even at the box's edge. What comes out reads as a smudge in the
colours of hair, skin and background around it. Over it goes a plain head: a soft ellipse in the
ring's mean colour, darkened, so a person detector still finds a head on the shoulders (without it
the smudge cost a seventh of the persons YOLO finds; bench/guard_styles.py, docs/privacy.md). The
ellipse has no features, so face detectors find nothing in it.
"""

from __future__ import annotations

import cv2
import numpy as np

FILL_SIDE = 96  # the box and its ring are inpainted at most this many pixels across, then enlarged
RING = 8  # pixels of context around a box that its fill is computed from
RADIUS = 3  # Telea's neighbourhood, in reduced pixels
NO_CONTEXT = 128  # a box with no pixel outside any box around it (e.g. the whole frame) is flat grey
BLEND_ROWS = 256
HEAD_AXES = (0.45, 0.5)  # the head's half-width and half-height, in box widths and heights
HEAD_CENTRE = 0.52  # its centre, in box heights from the top (head boxes reach higher above the face)
HEAD_EDGE = 0.15  # the soft edge, in units of the ellipse's normalized squared radius
HEAD_SHADE = 0.6  # the head's colour: the ring's mean times this (darker, as hair and shade read)


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
        patch = _inpaint(window, holes)[y0 - wy0 : y1 - wy0, x0 - wx0 : x1 - wx0]
        shade = window[holes == 0].reshape(-1, 3).mean(axis=0) * HEAD_SHADE
        out[y0:y1, x0:x1] = _with_head(patch, shade)
    return out


def _with_head(patch: np.ndarray, shade: np.ndarray) -> np.ndarray:
    """The h x w x 3 patch with a soft featureless ellipse of colour `shade` blended over it. The
    mask is drawn at most FILL_SIDE across and enlarged, and blended BLEND_ROWS rows at a time: the
    cost is one blend per pixel and the float temporaries stay small however large the box."""
    h, w = patch.shape[:2]
    scale = min(1.0, FILL_SIDE / max(h, w))
    sh, sw = max(1, round(h * scale)), max(1, round(w * scale))
    yy, xx = np.mgrid[0:sh, 0:sw].astype(np.float32)
    r2 = ((xx + 0.5 - sw / 2) / (HEAD_AXES[0] * sw)) ** 2 + ((yy + 0.5 - HEAD_CENTRE * sh) / (HEAD_AXES[1] * sh)) ** 2
    mask = np.clip((1 - r2) / HEAD_EDGE, 0, 1)
    if (sh, sw) != (h, w):
        mask = cv2.resize(mask, (w, h), interpolation=cv2.INTER_LINEAR)
    out = np.empty_like(patch)
    shade = shade.astype(np.float32)
    for r in range(0, h, BLEND_ROWS):
        m = mask[r : r + BLEND_ROWS, :, None]
        out[r : r + BLEND_ROWS] = (patch[r : r + BLEND_ROWS] * (1 - m) + shade * m).round().clip(0, 255).astype(np.uint8)
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
