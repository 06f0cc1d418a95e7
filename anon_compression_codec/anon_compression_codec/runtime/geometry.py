"""Boxes, in one place and with one rounding rule.

A box is (x0, y0, x1, y1) in pixels, end-exclusive, as float or int. Whenever a float box becomes
pixels it is *covered*: the start is floored and the end is ceiled, then the box is clipped to the
image. Rounding never shrinks a box, so a face detected at 10.7..20.2 is guarded, blurred, scored and
weighted in the loss over pixels 10..21 everywhere in this package.
"""

from __future__ import annotations

import math

import numpy as np
import torch

__all__ = [
    "analysis_radius", "cover", "cover_tensor", "enlarge", "face_to_head", "iou_matrix", "latent_rects",
    "mirror", "union_boxes",
]  # fmt: skip


def cover(boxes, width: int, height: int) -> tuple[tuple[int, int, int, int], ...]:
    """(N, >=4) float boxes -> the integer boxes that cover them, clipped to the image; empty ones dropped."""
    arr = np.asarray(boxes, np.float64)
    arr = arr.reshape(-1, arr.shape[-1])[:, :4] if arr.size else np.zeros((0, 4))
    out = []
    for x0, y0, x1, y1 in arr:
        b = (max(0, math.floor(x0)), max(0, math.floor(y0)), min(width, math.ceil(x1)), min(height, math.ceil(y1)))
        if b[2] > b[0] and b[3] > b[1]:
            out.append(b)
    return tuple(out)


def cover_tensor(boxes: torch.Tensor, width: int, height: int) -> torch.Tensor:
    """The same rule for a (..., 4) tensor, shape kept (empty boxes stay, with x1 <= x0 or y1 <= y0)."""
    b = boxes.float()
    lo = b[..., :2].floor()
    hi = b[..., 2:4].ceil()
    limit = b.new_tensor([width, height])
    zero = torch.zeros_like(limit)
    return torch.cat([torch.minimum(torch.maximum(lo, zero), limit), torch.minimum(torch.maximum(hi, zero), limit)], -1).long()


def enlarge(boxes: np.ndarray, margin: float, width: int, height: int) -> np.ndarray:
    """Grow each box by `margin` of its width/height on every side, clipped (float; extra columns kept)."""
    out = boxes.copy()
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    out[:, 0] = np.clip(boxes[:, 0] - margin * w, 0, width)
    out[:, 1] = np.clip(boxes[:, 1] - margin * h, 0, height)
    out[:, 2] = np.clip(boxes[:, 2] + margin * w, 0, width)
    out[:, 3] = np.clip(boxes[:, 3] + margin * h, 0, height)
    return out


def face_to_head(faces: np.ndarray, width: int, height: int, grow: float = 0.3) -> np.ndarray:
    """Enlarge face boxes to cover the head: `grow` on each side, twice that upwards (hair)."""
    if len(faces) == 0:
        return np.zeros((0, 4), np.float32)
    w, h = faces[:, 2] - faces[:, 0], faces[:, 3] - faces[:, 1]
    heads = np.column_stack([faces[:, 0] - grow * w, faces[:, 1] - 2 * grow * h, faces[:, 2] + grow * w, faces[:, 3] + grow * h])
    heads[:, [0, 2]] = heads[:, [0, 2]].clip(0, width)
    heads[:, [1, 3]] = heads[:, [1, 3]].clip(0, height)
    return heads.astype(np.float32)


def mirror(boxes: np.ndarray, width: int) -> np.ndarray:
    """Boxes of a horizontally flipped image (extra columns kept)."""
    out = boxes.copy()
    out[:, 0], out[:, 2] = width - boxes[:, 2], width - boxes[:, 0]
    return out


def iou_matrix(a: np.ndarray, b: np.ndarray, area: str = "float") -> np.ndarray:
    """IoU of every box of a (N, >=4) with every box of b (M, >=4). `float` areas are
    (x1-x0)*(y1-y0); `int` areas count pixels inclusively, (x1-x0+1)*(y1-y0+1) (BlurScene's two)."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), np.float32)
    one = 1.0 if area == "int" else 0.0
    x0 = np.maximum(a[:, None, 0], b[None, :, 0])
    y0 = np.maximum(a[:, None, 1], b[None, :, 1])
    x1 = np.minimum(a[:, None, 2], b[None, :, 2])
    y1 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x1 - x0 + one, 0, None) * np.clip(y1 - y0 + one, 0, None)
    area_a = (a[:, 2] - a[:, 0] + one) * (a[:, 3] - a[:, 1] + one)
    area_b = (b[:, 2] - b[:, 0] + one) * (b[:, 3] - b[:, 1] + one)
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


def union_boxes(groups: list[np.ndarray], iou: float = 0.3) -> np.ndarray:
    """(N, 5) boxes found by any detector; overlapping ones (IoU >= iou) merged into their envelope."""
    boxes = [b for g in groups for b in g[:, :5]]
    merged: list[np.ndarray] = []
    for box in sorted(boxes, key=lambda b: -b[4]):
        for i, m in enumerate(merged):
            if iou_matrix(box[None], m[None])[0, 0] >= iou:
                merged[i] = np.array(
                    [min(m[0], box[0]), min(m[1], box[1]), max(m[2], box[2]), max(m[3], box[3]), max(m[4], box[4])]
                )
                break
        else:
            merged.append(np.asarray(box, np.float32))
    return np.asarray(merged, np.float32).reshape(-1, 5)


def analysis_radius(layers: int) -> int:
    """Half-width in input pixels of a latent's receptive field: 5x5 kernels, stride 2, `layers` deep."""
    return 2 * (2**layers - 1)


def latent_rects(boxes, width: int, height: int, stride: int, layers: int, latent_hw: tuple[int, int]):
    """Integer pixel boxes -> the latent rectangles (y0, x0, y1, x1), end-exclusive, whose receptive
    field touches them. The replicated padding right of and below the image copies edge pixels; the
    latents that see it are the last column and row, which any box touching that edge already
    reaches (the last latent's centre, stride * (latent size - 1), lies inside the image)."""
    r = analysis_radius(layers)
    lh, lw = latent_hw
    rects = []
    for x0, y0, x1, y1 in boxes:
        lx0, ly0 = max(0, -((r - x0) // stride)), max(0, -((r - y0) // stride))  # ceil((x0 - r) / stride)
        lx1, ly1 = min(lw, (x1 - 1 + r) // stride + 1), min(lh, (y1 - 1 + r) // stride + 1)
        if lx1 > lx0 and ly1 > ly0:
            rects.append((ly0, lx0, ly1, lx1))
    return rects


def inner_latent_rects(boxes, width: int, height: int, stride: int, layers: int, latent_hw: tuple[int, int]):
    """Integer pixel boxes -> the latent rectangles (y0, x0, y1, x1), end-exclusive, whose whole
    receptive field lies inside one box. A box side on the image's edge counts as reaching past it:
    what a latent sees there is padding made of (top, left: zeros; bottom, right: copies of) the
    box's own pixels."""
    r = analysis_radius(layers)
    lh, lw = latent_hw
    rects = []
    for x0, y0, x1, y1 in boxes:
        lx0 = 0 if x0 <= 0 else -(-(x0 + r) // stride)  # first i with stride * i - r >= x0
        ly0 = 0 if y0 <= 0 else -(-(y0 + r) // stride)
        lx1 = lw if x1 >= width else max(0, (x1 - 1 - r) // stride + 1)  # last i with stride * i + r <= x1 - 1
        ly1 = lh if y1 >= height else max(0, (y1 - 1 - r) // stride + 1)
        if lx1 > lx0 and ly1 > ly0:
            rects.append((ly0, lx0, ly1, lx1))
    return rects
