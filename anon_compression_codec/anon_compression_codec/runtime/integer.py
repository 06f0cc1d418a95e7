"""Integer networks (Ballé, Johnston, Minnen, ICLR 2019): layers whose inference is exact integer
arithmetic, so every machine derives the same outputs from the same integer inputs.

A layer holds float parameters while it trains; its integer form is
    W = round(w * 2^WEIGHT_BITS), B = round(b * 2^(in_bits + WEIGHT_BITS)),
    acc = conv(A, W) + B, out = clamp(floor((acc + 2^(shift-1)) / 2^shift), 0, top)
with A the input on a grid of 2^-in_bits (A = a * 2^in_bits, an integer), shift = in_bits +
WEIGHT_BITS - out_bits and `top` the largest output integer. Training runs the same rounding
and clamping on float tensors with straight-through gradients (quantization in the loop), so the
network learns what the integer form computes.

`exact` carries the integer arithmetic in float64: every product and every partial sum is an
integer below 2^53 (`check_bounds` proves it from the weights), so the sum is exact in any order:
independent of BLAS, thread count or vectorization. torch's int64 convolution gives the same
numbers 30-60x slower (measured 300 vs 9 ms for the hyper-synthesis of a 640x480 frame);
`reference` is a plain numpy int64 implementation for tests. Runs on the CPU only: GPU libraries
may pick FFT or Winograd convolutions, which are not exact.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

WEIGHT_BITS = 8
MAX_WEIGHT = 2**15  # |W| bound, in integer units: |w| < 128
_EXACT = 2**53


def _round_ste(x: Tensor) -> Tensor:
    """floor(x + 0.5), the integer form's rounding, with a straight-through gradient."""
    return x + (torch.floor(x + 0.5) - x).detach()


class IntegerConv(nn.Module):
    """A convolution (or transposed convolution) with an integer form; see the module docstring."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int, *, transposed: bool = False,
                 in_bits: int, out_bits: int, top: int) -> None:  # fmt: skip
        super().__init__()
        self.stride, self.padding, self.transposed = stride, kernel_size // 2, transposed
        self.in_bits, self.out_bits, self.top = in_bits, out_bits, top
        shape = (in_channels, out_channels) if transposed else (out_channels, in_channels)
        self.weight = nn.Parameter(torch.empty(*shape, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        nn.init.kaiming_uniform_(self.weight, a=5**0.5)  # nn.Conv2d's default
        self._integers: tuple | None = None

    @property
    def shift(self) -> int:
        return self.in_bits + WEIGHT_BITS - self.out_bits

    def _conv(self, x: Tensor, w: Tensor, b: Tensor) -> Tensor:
        if self.transposed:
            return F.conv_transpose2d(x, w, b, self.stride, self.padding, output_padding=self.stride - 1)
        return F.conv2d(x, w, b, self.stride, self.padding)

    def forward(self, a: Tensor) -> Tensor:
        """Training form: `a` real-valued on the input grid; returns the output on its grid, as reals."""
        w = _round_ste(self.weight * 2**WEIGHT_BITS).clamp(-MAX_WEIGHT, MAX_WEIGHT) / 2**WEIGHT_BITS
        b = _round_ste(self.bias * 2 ** (self.in_bits + WEIGHT_BITS)) / 2 ** (self.in_bits + WEIGHT_BITS)
        r = self._conv(a, w, b) * 2**self.out_bits
        return _round_ste(r).clamp(0, self.top) / 2**self.out_bits

    def integers(self) -> tuple[Tensor, Tensor]:
        """(W, B) as float64 tensors holding integers; kept until the parameters change (0.6 ms a
        frame for the hyper-synthesis otherwise)."""
        key = (self.weight._version, self.bias._version, self.weight.data_ptr(), self.bias.data_ptr())
        if self._integers is None or self._integers[0] != key:
            self._integers = (key, self._compute_integers())
        return self._integers[1]

    def _compute_integers(self) -> tuple[Tensor, Tensor]:
        w = torch.floor(self.weight.detach().double() * 2**WEIGHT_BITS + 0.5).clamp(-MAX_WEIGHT, MAX_WEIGHT)
        b = torch.floor(self.bias.detach().double() * 2 ** (self.in_bits + WEIGHT_BITS) + 0.5)
        return w, b

    @torch.no_grad()
    def snap(self) -> None:
        """Set the float parameters to their integer forms' exact values (before export: a file's
        integers then do not hang on how a loader rounds a value near a half step)."""
        w, b = self.integers()
        self.weight.copy_(w / 2**WEIGHT_BITS)
        self.bias.copy_(b / 2 ** (self.in_bits + WEIGHT_BITS))
        w2, b2 = self.integers()
        if not (torch.equal(w, w2) and torch.equal(b, b2)):
            raise ValueError("integer layer parameters are not representable exactly in fp32")

    def check_bounds(self, in_max: int) -> None:
        """Raise ValueError unless every accumulator for inputs |A| <= in_max stays below 2^53."""
        w, b = self.integers()
        per_output = w.abs().sum(dim=(0, 2, 3) if self.transposed else (1, 2, 3))
        if float((per_output * in_max + b.abs()).max()) >= _EXACT:
            raise ValueError("integer layer can overflow float64's exact range")

    @torch.no_grad()
    def exact(self, a: Tensor) -> Tensor:
        """Integer form on the CPU: `a` a float64 tensor of integers (input grid units) -> same for the output."""
        w, b = self.integers()
        acc = self._conv(a, w, b)
        return torch.floor((acc + 2 ** (self.shift - 1)) / 2**self.shift).clamp_(0, self.top)

    def reference(self, a: np.ndarray) -> np.ndarray:
        """The integer form in numpy int64, loop by loop (slow): (C, H, W) int64 -> (C', H', W') int64."""
        w, b = (t.numpy().astype(np.int64) for t in self.integers())
        c_in, h, wd = a.shape
        k, s, p = w.shape[-1], self.stride, self.padding
        if self.transposed:
            c_out = w.shape[1]
            full = np.zeros((c_out, (h - 1) * s + k, (wd - 1) * s + k), np.int64)
            for i in range(h):
                for j in range(wd):
                    full[:, i * s : i * s + k, j * s : j * s + k] += np.einsum("c,cokl->okl", a[:, i, j], w)
            acc = full[:, p : p + h * s, p : p + wd * s]  # output_padding = s - 1 makes it exactly h*s
        else:
            c_out = w.shape[0]
            padded = np.pad(a, ((0, 0), (p, p), (p, p)))
            oh, ow = (h + 2 * p - k) // s + 1, (wd + 2 * p - k) // s + 1
            acc = np.zeros((c_out, oh, ow), np.int64)
            for i in range(oh):
                for j in range(ow):
                    acc[:, i, j] = np.einsum("ckl,ockl->o", padded[:, i * s : i * s + k, j * s : j * s + k], w)
        acc = acc + b[:, None, None]
        return np.clip((acc + (1 << (self.shift - 1))) >> self.shift, 0, self.top)


class IntegerSequential(nn.Sequential):
    """Integer layers in a row; `exact` and `reference` chain the layers' integer forms."""

    def exact(self, a: Tensor) -> Tensor:
        for layer in self:
            a = layer.exact(a)
        return a

    def reference(self, a: np.ndarray) -> np.ndarray:
        for layer in self:
            a = layer.reference(a)
        return a

    def snap(self) -> None:
        for layer in self:
            layer.snap()

    def check_bounds(self, in_max: int) -> None:
        for layer in self:
            layer.check_bounds(in_max)
            in_max = layer.top
