"""One way to time code and one set of frame sizes for every benchmark (the suite and bench/*.py)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import cv2
import numpy as np

from ..resources import package_file

SIZES = {"640x480": (480, 640), "1280x720": (720, 1280)}  # name -> (height, width)
ASSET = "bus.jpg"  # a photo with people that ships with ultralytics


def median_ms(fn: Callable[[], object], repeats: int, warmup: int = 1) -> float:
    """Median wall time of fn() in milliseconds, after `warmup` untimed calls (allocations, oneDNN
    kernel selection)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return round(statistics.median(times), 2)


def frames(sizes: dict[str, tuple[int, int]] = SIZES) -> dict[str, np.ndarray]:
    """The benchmark photo (BGR) resized to each size."""
    img = cv2.imread(str(package_file("ultralytics", "assets", ASSET)))
    return {name: cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA) for name, (h, w) in sizes.items()}
