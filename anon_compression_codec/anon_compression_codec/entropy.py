"""Entropy coding of the quantized latent with the model's own probability tables.

The tables are the integer CDFs that compressai's EntropyBottleneck.update() stores with the
weights (one per channel, 16-bit precision); coding uses constriction's ANS coder rather than
compressai's C++ rANS: constriction is memory-safe on any input (a crafted payload yields wrong
symbols or an exception, never an out-of-bounds read or an endless bypass loop).
Symbols outside a channel's table range are clamped to it (the tail mass is ~1e-9).
"""

from __future__ import annotations

import constriction
import numpy as np

from .errors import CorruptPayloadError
from .model import AnonAutoencoder

_Categorical = constriction.stream.model.Categorical
_AnsCoder = constriction.stream.stack.AnsCoder


class EntropyTables:
    """Per-channel categorical models derived from a model's quantized CDF tables."""

    def __init__(self, model: AnonAutoencoder) -> None:
        eb = model.entropy_bottleneck
        cdf = eb._quantized_cdf.cpu().numpy().astype(np.int64)
        lengths = eb._cdf_length.cpu().numpy().astype(np.int64) - 2  # pmf entries, without the tail
        self.offsets = eb._offset.cpu().numpy().astype(np.int64)
        self.medians = eb.quantiles[:, 0, 1].detach().cpu().numpy().astype(np.float32)
        self.sizes = lengths
        # The most probable symbol (the median): what the privacy guard writes; costs ~0 bits.
        self.fill = np.clip(-self.offsets, 0, lengths - 1).astype(np.int32)
        self.models = [_Categorical(np.diff(cdf[c, : n + 1]).astype(np.float64), perfect=False) for c, n in enumerate(lengths)]

    @property
    def channels(self) -> int:
        return len(self.models)

    def quantize(self, y: np.ndarray) -> np.ndarray:
        """(C, H, W) float latent -> (C, H*W) int32 table indices."""
        v = np.rint(y - self.medians[:, None, None]).astype(np.int64).reshape(self.channels, -1)
        idx = v - self.offsets[:, None]
        return np.clip(idx, 0, (self.sizes - 1)[:, None]).astype(np.int32)

    def dequantize(self, idx: np.ndarray, height: int, width: int) -> np.ndarray:
        v = idx.astype(np.int64) + self.offsets[:, None]
        return (v.astype(np.float32) + self.medians[:, None]).reshape(self.channels, height, width)

    def encode(self, idx: np.ndarray) -> bytes:
        coder = _AnsCoder()
        for c in reversed(range(self.channels)):  # ANS is a stack: the last channel goes first
            coder.encode_reverse(idx[c], self.models[c])
        return coder.get_compressed().astype("<u4").tobytes()

    def decode(self, payload: bytes, count: int) -> np.ndarray:
        """Decode `count` symbols per channel. Raises CorruptPayloadError on undecodable data."""
        if len(payload) % 4:
            raise CorruptPayloadError(f"entropy-coded payload must be whole 32-bit words, found {len(payload)} bytes")
        words = np.frombuffer(payload, dtype="<u4").astype(np.uint32)
        try:
            coder = _AnsCoder(words)
            out = np.stack([coder.decode(m, count) for m in self.models])
        except (ValueError, RuntimeError) as exc:
            raise CorruptPayloadError(f"entropy decoding failed: {exc}") from None
        if not coder.is_empty():
            raise CorruptPayloadError("entropy-coded payload has data left over after the last symbol")
        return out
