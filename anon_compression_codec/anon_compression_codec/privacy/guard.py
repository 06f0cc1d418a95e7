"""The privacy guard's latent check: guarded regions never enter the bitstream.

A latent at position i is computed from input pixels within `geometry.analysis_radius` of `stride * i`
(5x5 stride-2 convolutions, GDN acting per position). Guard version 2 (what encoders write) fills
each box from the pixels outside every box before the analysis (`fill.py`; the latents that see a
box are analysed again from the filled image), then sets every latent whose receptive field lies
wholly inside a box to its channel's most probable value (`geometry.inner_latent_rects`); version 1
set every latent touching a box (`geometry.latent_rects`). The pixel boxes travel in the bitstream;
the decoder recomputes the same latent rectangles for the frame's version and refuses a frame whose
latents there are not the fill value (a frame that lies about the guard), then draws the boxes
(`anonymize.render`).
"""

from __future__ import annotations

import numpy as np

from ..errors import CorruptPayloadError

__all__ = ["apply", "verify"]


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
