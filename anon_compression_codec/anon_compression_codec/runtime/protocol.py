"""What every codec model offers for inference, after compressai's model protocol.

Both architectures (model.AnonAutoencoder, the factorized prior; hyperprior.GainedHyperprior) train
through `forward`, `aux_loss` and `update`, and code images through the methods below, so the
Encoder and Decoder (codec.py) never reach into a model's transforms or entropy tables:

- `compress(x, quality)` / `decompress(strings, shape, quality)`: whole images to entropy-coded
  payloads and back, as compressai's models do ({"strings": [[bytes per image]], "shape": (h, w)},
  {"x_hat": tensor});
- the pieces the codec needs between those steps, for the privacy guard (symbols rewritten before
  coding, local re-analysis) and tiled decoding: `analyse` (x -> the latent that is rounded),
  `entropy_coder()` (quantize / encode / decode / dequantize, entropy.py), `unscale` (symbols ->
  what the synthesis reads), `inference_synthesis()` (a fast copy of the synthesis transform),
  `analysis_layers` (stride-2 layers of the analysis: its receptive field, geometry.py).

A model without variable rate has unit gains, so `quality` is accepted and changes nothing.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from . import speedups
from .entropy import tables_for


class CodecModel:
    """Mixin for nn.Module codec models with g_a, g_s, M, stride, gain and inv_gain."""

    g_a: nn.Sequential
    g_s: nn.Sequential
    M: int
    stride: int
    _coder = None

    def gain(self, quality: float | Tensor) -> Tensor:  # overridden by variable-rate models
        return torch.ones(1, 1)

    def inv_gain(self, quality: float | Tensor) -> Tensor:
        return torch.ones(1, 1)

    @property
    def analysis_layers(self) -> int:
        return self.M + 2

    def entropy_coder(self):
        """The entropy coder of this model's frames, built from its stored tables on first use and
        again after `update` (entropy.EntropyTables or entropy.HyperTables)."""
        if self._coder is None:
            self._coder = tables_for(self)
        return self._coder

    def forget_coder(self) -> None:
        self._coder = None

    def load_state_dict(self, *args, **kwargs):  # new tables: the coder is built again
        self.forget_coder()
        return super().load_state_dict(*args, **kwargs)

    def analyse(self, x: Tensor, quality: float = 50.0) -> Tensor:
        """(B, 3, H, W) in [0, 1], H and W multiples of `stride` -> the fp32 latent that the coder
        rounds (gained for the quality). Inside a bf16 autocast region the transform runs in bf16."""
        y = self.g_a(x)
        with torch.autocast(x.device.type, enabled=False):
            return y.float() * self.gain(quality).to(y.device).reshape(1, -1, 1, 1)

    def unscale(self, y_hat: np.ndarray, quality: float = 50.0) -> np.ndarray:
        """(C, h, w) dequantized symbols -> what the synthesis transform reads."""
        with torch.no_grad():
            inv = self.inv_gain(quality).float().reshape(-1, 1, 1).cpu().numpy()
        return y_hat * inv

    def inference_synthesis(self) -> nn.Sequential:
        """A frozen copy of g_s with the same map, faster on CPUs (speedups.synthesis_for_inference)."""
        return speedups.synthesis_for_inference(self.g_s)

    @torch.inference_mode()
    def compress(self, x: Tensor, quality: float = 50.0) -> dict:
        """(B, 3, H, W) in [0, 1], sides multiples of `stride` -> {"strings": [[payload per image]],
        "shape": (h, w)}: the payloads the codec's frames carry (the frames add the header)."""
        if x.ndim != 4 or x.shape[1] != 3 or x.shape[2] % self.stride or x.shape[3] % self.stride:
            raise ValueError(f"compress takes (B, 3, H, W) with H and W multiples of {self.stride}, found {tuple(x.shape)}")
        coder = self.entropy_coder()
        y = self.analyse(x, quality)
        h, w = y.shape[2:]
        return {"strings": [[coder.encode(coder.quantize(yi.cpu().numpy()), h, w) for yi in y]], "shape": (h, w)}

    @torch.inference_mode()
    def decompress(self, strings: list, shape: tuple[int, int], quality: float = 50.0) -> dict:
        """The inverse of `compress`: {"x_hat": (B, 3, H, W) in [0, 1]}. A corrupt payload raises
        CorruptPayloadError."""
        coder = self.entropy_coder()
        h, w = shape
        ys = [self.unscale(coder.dequantize(coder.decode(s, h, w), h, w), quality) for s in strings[0]]
        device = next(self.g_s.parameters()).device
        return {"x_hat": self.g_s(torch.from_numpy(np.stack(ys)).to(device)).float().clamp_(0, 1)}
