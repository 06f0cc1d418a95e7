"""Codec v2: a gained scale hyperprior whose entropy model decodes bit-exactly on every machine.

    y = g_a(x) * gain(q)                 analysis, L latent channels at 1/16 (N hidden channels)
    y_hat = round(y)                     the symbols; zero-mean Gaussian, scale from the hyperprior
    z = h_a(y_hat)                       hyper-analysis at 1/64, coded with a factorized prior
    i = h_s(round(z - median))           integer hyper-synthesis: a scale-table index per symbol
    x_hat = g_s(y_hat * inv_gain(q))     synthesis, S hidden channels

Determinism: the decoder needs exactly the encoder's table indices. They come only from the
transmitted z symbols through h_s, an integer network (integer.py), and the Gaussian CDF tables are
fixed integers stored in the weight file: no floating-point result on either side can change an
index. h_a runs in floating point on the encoder only; its output is transmitted, not recomputed.

Variable rate (Cui et al., CVPR 2021, "asymmetric gained"): a gain vector per trained rate level
scales y channel-wise before rounding and an inverse gain undoes it before g_s; a quality between
two levels interpolates their log-gains, so one weight file covers the whole range. `quality` is
0..100 (0 = the lowest trained level, 100 = the highest); frames carry it in 1/100 steps.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from ._compressai import GDN1, EntropyBottleneck, GaussianConditional
from .integer import IntegerConv, IntegerSequential
from .protocol import CodecModel

SCALE_MIN, SCALE_MAX, SCALE_LEVELS = 0.11, 256.0, 64  # compressai's table: 64 log-spaced scales
_LOG_STEP = (math.log(SCALE_MAX) - math.log(SCALE_MIN)) / (SCALE_LEVELS - 1)
HIDDEN_BITS = 4  # the integer hyper-synthesis's activations: 8 bits, 4 of them fractional (0..15.94)
MAX_Z_SYMBOL = 255  # |z symbol| fed to h_s; the factorized tables never reach it


def scale_table() -> list[float]:
    return [math.exp(math.log(SCALE_MIN) + i * _LOG_STEP) for i in range(SCALE_LEVELS)]


def _conv(cin: int, cout: int, k: int = 5, stride: int = 2) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2)


def _deconv(cin: int, cout: int, k: int = 5, stride: int = 2) -> nn.ConvTranspose2d:
    return nn.ConvTranspose2d(cin, cout, k, stride=stride, output_padding=stride - 1, padding=k // 2)


def _ste_round(x: Tensor) -> Tensor:
    return x + (torch.round(x) - x).detach()


class GainedHyperprior(CodecModel, nn.Module):
    """compressai's model protocol: forward (training), update (tables), aux_loss, compress and
    decompress (protocol.py); plus hyper_indices, which the entropy coder runs."""

    arch = "hyperprior"

    def __init__(self, N: int = 40, L: int = 128, S: int = 64, H: int = 64, Z: int = 32, levels: int = 6, M: int = 2) -> None:
        super().__init__()
        if not (1 <= N <= 512 and 1 <= L <= 512 and 1 <= S <= 512 and 1 <= H <= 256 and 1 <= Z <= 256
                and 2 <= levels <= 16 and 0 <= M <= 4):  # fmt: skip
            raise ValueError(f"unsupported hyperprior size N={N} L={L} S={S} H={H} Z={Z} levels={levels} M={M}")
        self.N, self.L, self.S, self.H, self.Z, self.levels, self.M = N, L, S, H, Z, levels, M
        analysis: list[nn.Module] = [_conv(3, N), GDN1(N)]
        synthesis: list[nn.Module] = [_deconv(L, S), GDN1(S, inverse=True)]
        for _ in range(M):
            analysis += [_conv(N, N), GDN1(N)]
            synthesis += [_deconv(S, S), GDN1(S, inverse=True)]
        self.g_a = nn.Sequential(*analysis, _conv(N, L))
        self.g_s = nn.Sequential(*synthesis, _deconv(S, 3), nn.Sigmoid())
        self.h_a = nn.Sequential(_conv(L, H, 3, 1), nn.ReLU(), _conv(H, H), nn.ReLU(), _conv(H, Z))
        top = 2 ** (2 * HIDDEN_BITS) - 1
        self.h_s = IntegerSequential(
            IntegerConv(Z, H, 5, 2, transposed=True, in_bits=0, out_bits=HIDDEN_BITS, top=top),
            IntegerConv(H, H, 5, 2, transposed=True, in_bits=HIDDEN_BITS, out_bits=HIDDEN_BITS, top=top),
            IntegerConv(H, L, 3, 1, in_bits=HIDDEN_BITS, out_bits=0, top=SCALE_LEVELS - 1),
        )
        with torch.no_grad():
            for layer in self.h_s[:-1]:  # alive from the start: the clamp passes no gradient at 0
                layer.bias.fill_(1.0)
            # Start at scale ~2: at the table's bottom the likelihoods' gradients underflow.
            self.h_s[-1].bias.fill_(math.log(2 / SCALE_MIN) / _LOG_STEP)
        self.entropy_bottleneck = EntropyBottleneck(Z)
        self.gaussian_conditional = GaussianConditional(scale_table())
        # Levels start spread over a factor of ~5 in quantization step either way (log-gain +-0.8).
        spread = torch.linspace(-0.8, 0.8, levels)[:, None].repeat(1, L)
        self.log_gain = nn.Parameter(spread.clone())
        self.log_inv_gain = nn.Parameter(-spread)

    @property
    def name(self) -> str:
        return f"hyper-{self.N}-{self.M}-{self.L}-{self.S}"

    @property
    def stride(self) -> int:
        return 2 ** (self.M + 2)

    @property
    def sizes(self) -> dict[str, int]:
        return {"N": self.N, "L": self.L, "S": self.S, "H": self.H, "Z": self.Z, "levels": self.levels, "M": self.M}

    def _level_mix(self, table: Tensor, quality: float | Tensor) -> Tensor:
        pos = torch.as_tensor(quality, dtype=torch.float32).clamp(0, 100) / 100 * (self.levels - 1)
        low = torch.clamp(pos.floor(), max=self.levels - 2).long()
        t = (pos - low).reshape(-1, 1)
        return torch.exp((1 - t) * table[low].reshape(-1, self.L) + t * table[low + 1].reshape(-1, self.L))

    def gain(self, quality: float | Tensor) -> Tensor:
        """(B, L) or (1, L) channel gains for a quality in 0..100."""
        return self._level_mix(self.log_gain, quality)

    def inv_gain(self, quality: float | Tensor) -> Tensor:
        return self._level_mix(self.log_inv_gain, quality)

    def scales_from_index(self, index: Tensor) -> Tensor:
        return torch.exp(math.log(SCALE_MIN) + index * _LOG_STEP)

    def z_symbols(self, z: Tensor) -> Tensor:
        """round(z - median), the integers h_s reads (straight-through while training)."""
        medians = self.entropy_bottleneck._get_medians().detach().reshape(1, -1, 1, 1)
        return _ste_round(z - medians).clamp(-MAX_Z_SYMBOL, MAX_Z_SYMBOL)

    def forward(self, x: Tensor, quality: float | Tensor = 50.0) -> dict[str, Any]:
        """Training and evaluation. Inside a bf16 autocast region only g_a and g_s run in bf16."""
        y = self.g_a(x)
        with torch.autocast(x.device.type, enabled=False):
            y = y.float() * self.gain(quality).to(y.device)[..., None, None]
            y_int = _ste_round(y)
            z = self.h_a(y_int)
            _, z_likelihoods = self.entropy_bottleneck(z)
            index = self.h_s(self.z_symbols(z))[..., : y.shape[2], : y.shape[3]]
            _, y_likelihoods = self.gaussian_conditional(y, self.scales_from_index(index))
            y_hat = y_int * self.inv_gain(quality).to(y.device)[..., None, None]
        return {"x_hat": self.g_s(y_hat).float(), "likelihoods": {"y": y_likelihoods, "z": z_likelihoods}}

    def aux_loss(self) -> Tensor:
        return self.entropy_bottleneck.loss()

    def update(self, force: bool = False) -> bool:
        """Snap h_s to its integer grid and rebuild both CDF tables (at export, on the CPU in fp32:
        loaders use the stored integers)."""
        self.forget_coder()
        self.h_s.snap()
        self.h_s.check_bounds(MAX_Z_SYMBOL)
        changed = self.entropy_bottleneck.update(force=force)
        if force or self.gaussian_conditional._offset.numel() == 0:
            self.gaussian_conditional.update()
            changed = True
        return changed

    @torch.no_grad()
    def hyper_indices(self, z_symbols: Tensor, height: int, width: int) -> Tensor:
        """Integer hyper-synthesis on the CPU: (Z, h, w) integer z symbols -> (L, height, width) int64
        scale-table indices. Identical on every machine (integer.py)."""
        a = z_symbols.detach().to("cpu", torch.float64).clamp(-MAX_Z_SYMBOL, MAX_Z_SYMBOL)[None]
        return self.h_s.exact(a)[0, :, :height, :width].to(torch.int64)
