"""Rate control for a variable-rate model: hold a kbit/s budget by choosing each frame's quality
from the sizes of the frames before it, as ffmpeg_image_transport's bit_rate does for H.264, while
every frame stays decodable on its own.

A frame's bits grow roughly exponentially with quality (about x10 over 0..100 for codec v2), so the
controller steps the quality in proportion to the log-ratio between the bits it wants for the
next frame and the bits the last frame took. What it wants is the budget's share for one frame
interval minus a part of the bits it owes (a leaky bucket), so the long-run rate meets the budget
rather than only the latest frame.
"""

from __future__ import annotations

import math

from ..errors import InputError

LOG_BITS_PER_QUALITY = math.log(10) / 100  # d ln(bits) / d quality, measured order of magnitude
GAIN = 0.6  # of the full step: damps the reaction to one frame's content change
DEBT_FRAMES = 10  # owed bits are paid back over this many frames
MAX_STEP = 15.0  # quality points per frame: a scene cut must not swing the picture from 0 to 100


class RateController:
    def __init__(self, target_kbps: float, quality: float = 50.0) -> None:
        if not (target_kbps > 0 and math.isfinite(target_kbps)):
            raise InputError(f"target_kbps must be a positive number, found {target_kbps!r}")
        if not 0 <= quality <= 100:
            raise InputError(f"quality must be in 0..100, found {quality!r}")
        self.target_kbps, self.quality, self.debt = float(target_kbps), float(quality), 0.0

    def update(self, bits: int, interval_s: float) -> float:
        """Account for a frame of `bits` bits that covered `interval_s` seconds of stream; return
        the quality for the next frame."""
        share = self.target_kbps * 1000 * max(interval_s, 1e-3)
        budget = self.target_kbps * 1000  # the bucket holds at most a second of overshoot or saving
        self.debt = min(max(self.debt + bits - share, -budget), budget)
        wanted = max(share - self.debt / DEBT_FRAMES, 0.1 * share)
        step = GAIN * math.log(wanted / max(bits, 1)) / LOG_BITS_PER_QUALITY
        self.quality = min(100.0, max(0.0, self.quality + min(MAX_STEP, max(-MAX_STEP, step))))
        return self.quality
