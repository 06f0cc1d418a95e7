"""The privacy guard: detected regions never enter the bitstream.

A latent at position i is computed from input pixels within `analysis_radius` of `stride * i`
(5x5 stride-2 convolutions, GDN acting per position). Every latent whose receptive field touches a
guarded box is replaced by its channel's most probable value (costing almost no bits), so nothing
decoded anywhere depends on the pixels inside the box. The pixel boxes travel in the bitstream; the
decoder recomputes the same latent rectangles, refuses a frame whose latents there are not the fill
value (a frame that lies about the guard), and paints a soft mosaic over each box so that the
blanked region reads as deliberate anonymization.
"""

from __future__ import annotations

import numpy as np

from .anonymize import mosaic
from .errors import CorruptPayloadError

__all__ = ["analysis_radius", "apply", "int_boxes", "latent_rects", "mosaic", "verify"]


def analysis_radius(layers: int) -> int:
    """Half-width in input pixels of a latent's receptive field: 5x5 kernels, stride 2, `layers` deep."""
    return 2 * (2**layers - 1)


def latent_rects(boxes, width: int, height: int, stride: int, layers: int, latent_hw: tuple[int, int]):
    """Pixel boxes -> latent rectangles (y0, x0, y1, x1), end-exclusive. A box touching the right or
    bottom edge also covers the replicated padding, which copies its pixels."""
    r = analysis_radius(layers)
    lh, lw = latent_hw
    padded_w, padded_h = lw * stride, lh * stride
    rects = []
    for x0, y0, x1, y1 in boxes:
        x1 = padded_w if x1 >= width else x1
        y1 = padded_h if y1 >= height else y1
        lx0, ly0 = max(0, -((r - x0) // stride)), max(0, -((r - y0) // stride))  # ceil((x0 - r) / stride)
        lx1, ly1 = min(lw, (x1 - 1 + r) // stride + 1), min(lh, (y1 - 1 + r) // stride + 1)
        if lx1 > lx0 and ly1 > ly0:
            rects.append((ly0, lx0, ly1, lx1))
    return rects


def int_boxes(boxes: np.ndarray, width: int, height: int) -> tuple[tuple[int, int, int, int], ...]:
    """Float boxes -> integer pixel boxes that cover them, clipped, non-empty."""
    arr = np.asarray(boxes, np.float64)
    arr = arr.reshape(-1, arr.shape[-1])[:, :4] if arr.size else np.zeros((0, 4))
    out = []
    for x0, y0, x1, y1 in arr:
        b = (max(0, int(np.floor(x0))), max(0, int(np.floor(y0))), min(width, int(np.ceil(x1))), min(height, int(np.ceil(y1))))
        if b[2] > b[0] and b[3] > b[1]:
            out.append(b)
    return tuple(out)


def apply(idx: np.ndarray, rects, fill: np.ndarray, lw: int) -> None:
    """Set the (C, H*W) symbol indices inside the rectangles to the per-channel fill index (in place)."""
    grid = idx.reshape(idx.shape[0], -1, lw)
    for y0, x0, y1, x1 in rects:
        grid[:, y0:y1, x0:x1] = fill[:, None, None]


def verify(idx: np.ndarray, rects, fill: np.ndarray, lw: int) -> None:
    grid = idx.reshape(idx.shape[0], -1, lw)
    for y0, x0, y1, x1 in rects:
        if not np.all(grid[:, y0:y1, x0:x1] == fill[:, None, None]):
            raise CorruptPayloadError("frame claims guarded regions whose latents carry content")
