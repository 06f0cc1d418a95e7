"""How the transforms run fast on a CPU, without changing what they compute.

- `keep_freed_memory()`: glibc gives large freed blocks back to the OS (mmap'd blocks, and the
  heap's top above its trim threshold) and maps fresh pages for the next tensor, whose first-touch
  faults cost more than the arithmetic of the elementwise layers (measured at 640x480 on one
  thread in a VM: encode 27 -> 17 ms, decode 78 -> 55 ms).
  Raising the mmap and trim thresholds makes a process reuse its freed heap instead. Its memory
  would then stay at its peak, so after an unusually large frame `release_freed_memory()` hands
  the free pages back (a 4096x4096 decode: 1.37 -> 0.63 GB RSS in 56 ms).
- `native_bf16()`: bfloat16 autocast pays only where the CPU computes it natively (AVX512-BF16,
  AMX); elsewhere it is emulated and slower than fp32, so "auto" precision asks this first.
- `synthesis_for_inference(g_s)`: the last transposed convolution (64 -> 3 channels, 5x5, stride 2)
  is a poor fit for oneDNN's kernels (3 output channels); the same map written as a 3x3 convolution
  to 4 x 3 channels followed by a pixel shuffle (the four output phases of the stride) runs 2.2x
  faster and equals it to float rounding.
"""

from __future__ import annotations

import copy
import ctypes
import ctypes.util
import functools
from pathlib import Path

import torch
from torch import nn

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)
_MMAP_THRESHOLD = 256 << 20  # larger than any tensor of a tiled 4096x4096 decode
_TRIM_THRESHOLD = 1 << 30
_kept = False


@functools.cache
def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


def keep_freed_memory() -> bool:
    """Once per process: let glibc's malloc reuse freed tensors' memory. False where the C library
    is not glibc (musl, macOS): nothing changes there."""
    global _kept
    if not _kept:
        mallopt = getattr(_libc(), "mallopt", None)
        if mallopt is None:
            return False
        _kept = bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD))
    return _kept


def release_freed_memory() -> None:
    """Return the heap's free pages to the OS (glibc's malloc_trim; nothing elsewhere)."""
    trim = getattr(_libc(), "malloc_trim", None) if _kept else None
    if trim is not None:
        trim(0)


@functools.cache
def native_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX512-BF16 or AMX); read once per process."""
    try:
        flags = next((line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags")), "")
    except OSError:
        return False
    return bool({"avx512_bf16", "amx_bf16"} & set(flags.split()))


def subpixel(layer: nn.ConvTranspose2d) -> nn.Sequential:
    """A 5x5 stride-2 transposed convolution (compressai's `deconv`) as conv 3x3 + PixelShuffle(2).

    Output pixel 2m+r (per axis) sums input m+d-1 (d = 0, 1, 2) times kernel tap 4-2d for r=0 and
    5-2d for r=1 (d >= 1; d = 0 has no tap there)."""
    if layer.kernel_size != (5, 5) or layer.stride != (2, 2) or layer.padding != (2, 2) or layer.output_padding != (1, 1):
        raise ValueError(f"not a 5x5 stride-2 deconv: {layer}")
    w = layer.weight.detach()  # (in, out, 5, 5)
    cin, cout = w.shape[:2]
    taps = ({0: 4, 1: 2, 2: 0}, {1: 3, 2: 1})  # phase r -> {input offset d: kernel tap}
    weight = torch.zeros(cout, 2, 2, cin, 3, 3, dtype=w.dtype, device=w.device)
    for ry in (0, 1):
        for rx in (0, 1):
            for dy, ky in taps[ry].items():
                for dx, kx in taps[rx].items():
                    weight[:, ry, rx, :, dy, dx] = w[:, :, ky, kx].t()
    conv = nn.Conv2d(cin, 4 * cout, 3, padding=1, bias=layer.bias is not None, device=w.device, dtype=w.dtype)
    with torch.no_grad():
        conv.weight.copy_(weight.reshape(4 * cout, cin, 3, 3))
        if layer.bias is not None:
            conv.bias.copy_(layer.bias.detach().repeat_interleave(4))
    return nn.Sequential(conv, nn.PixelShuffle(2))


def synthesis_for_inference(g_s: nn.Sequential) -> nn.Sequential:
    """A copy of the synthesis transform whose last transposed convolution is the sub-pixel form."""
    fast = copy.deepcopy(g_s)
    last = max(i for i, m in enumerate(fast) if isinstance(m, nn.ConvTranspose2d))
    fast[last] = subpixel(fast[last])
    return fast.eval().requires_grad_(False)
