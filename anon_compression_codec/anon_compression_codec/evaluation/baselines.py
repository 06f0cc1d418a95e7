"""Classical codecs behind one small interface, for evaluation and benchmarks.
Images are BGR uint8; `quality` is the codec's own 1..100 scale."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from ..runtime.geometry import cover
from .metrics import bpp


@dataclass(frozen=True)
class ImageCodec:
    name: str
    encode: Callable[[np.ndarray, int], bytes]
    decode: Callable[[bytes], np.ndarray]


def _cv_encode(ext: str, flag: int) -> Callable[[np.ndarray, int], bytes]:
    def encode(image: np.ndarray, quality: int) -> bytes:
        ok, buf = cv2.imencode(ext, image, [flag, int(quality)])
        if not ok:
            raise RuntimeError(f"OpenCV could not encode {ext}")
        return buf.tobytes()

    return encode


def _cv_decode(data: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


def _avif_encode(image: np.ndarray, quality: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image[..., ::-1]).save(buf, format="AVIF", quality=int(quality))
    return buf.getvalue()


def _avif_decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))[..., ::-1].copy()


CODECS = {
    "jpeg": ImageCodec("jpeg", _cv_encode(".jpg", cv2.IMWRITE_JPEG_QUALITY), _cv_decode),
    "webp": ImageCodec("webp", _cv_encode(".webp", cv2.IMWRITE_WEBP_QUALITY), _cv_decode),
    "avif": ImageCodec("avif", _avif_encode, _avif_decode),
}


def at_bpp(codec: ImageCodec, image: np.ndarray, target_bpp: float) -> tuple[int, bytes]:
    """The quality whose bpp is nearest the target (bisection; bpp grows with quality)."""
    h, w = image.shape[:2]
    lo, hi = 1, 100
    best: tuple[float, int, bytes] | None = None
    while lo <= hi:
        q = (lo + hi) // 2
        data = codec.encode(image, q)
        rate = bpp(len(data), h, w)
        if best is None or abs(rate - target_bpp) < best[0]:
            best = (abs(rate - target_bpp), q, data)
        if rate < target_bpp:
            lo = q + 1
        else:
            hi = q - 1
    return best[1], best[2]


def roi_jpeg(
    image: np.ndarray, persons: np.ndarray, faces: np.ndarray, quality: int = 60, background_sigma: float = 3.0
) -> bytes:
    """ROI-JPEG in the spirit of depth/saliency-guided JPEG: one standard JPEG whose effective quality
    varies by region. The background is low-passed (few DCT coefficients left, few bytes), person
    boxes keep their detail, face boxes are mosaicked; any JPEG decoder reads the result."""
    from ..privacy.anonymize import blur

    h, w = image.shape[:2]
    keep = np.zeros((h, w), np.float32)
    for x0, y0, x1, y1 in cover(persons, w, h):
        keep[y0:y1, x0:x1] = 1.0
    keep = cv2.GaussianBlur(keep, (0, 0), 4)[..., None]  # soft edges: no blocking seam at the box border
    low = cv2.GaussianBlur(image, (0, 0), background_sigma)
    mixed = (keep * image + (1 - keep) * low).round().astype(np.uint8)
    return CODECS["jpeg"].encode(blur(mixed, faces), quality)
