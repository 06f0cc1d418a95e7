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


BLOB_LEVEL = 96  # an error this large in one channel is a colour artefact, not a loss of detail


def blob_mask(original: np.ndarray, decoded: np.ndarray, level: int = BLOB_LEVEL) -> np.ndarray:
    """Pixels whose error exceeds `level` in some channel (saturated colour blobs)."""
    err = np.abs(original.astype(np.int16) - decoded.astype(np.int16))
    return (err.max(axis=2) if err.ndim == 3 else err) > level


def ms_ssim(a: np.ndarray, b: np.ndarray) -> float:
    """MS-SSIM (5 scales, pytorch_msssim) of two uint8 images at least 161 px on each side."""
    import torch
    from pytorch_msssim import ms_ssim as _ms_ssim

    def tensor(img: np.ndarray) -> torch.Tensor:
        img = img if img.ndim == 3 else img[..., None]
        return torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)[None].float()

    return float(_ms_ssim(tensor(a), tensor(b), data_range=255.0))


def interpolate(curve: list[tuple[float, float]], x: float) -> float | None:
    """y at x on a curve of (x, y) points, linear between neighbours (points sorted by x; None
    outside the curve's range: no extrapolation)."""
    pts = sorted(curve)
    for (x0, y0), (x1, y1) in zip(pts, pts[1:], strict=False):
        if x0 <= x <= x1:
            return y0 if x1 == x0 else y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return None
