"""Image quality and rate figures shared by the CLI, evaluation and benchmarks."""

from __future__ import annotations

import numpy as np


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two uint8 images of the same shape (inf when identical)."""
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255.0**2 / mse))


def bpp(num_bytes: int, height: int, width: int) -> float:
    """Bits per pixel of a coded frame."""
    return 8.0 * num_bytes / (height * width)
