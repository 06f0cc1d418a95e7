"""The runtime's speed-ups compute what the trained layers compute."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest
import torch
from torch import nn

from anon_compression_codec import Decoder, load_weights
from anon_compression_codec.runtime import speedups
from anon_compression_codec.runtime.model import deconv


@pytest.mark.parametrize(("cin", "cout", "bias"), [(16, 3, True), (8, 5, False)])
def test_subpixel_equals_the_transposed_convolution(cin: int, cout: int, bias: bool):
    torch.manual_seed(0)
    layer = deconv(cin, cout)
    if not bias:
        layer.bias = None
    x = torch.randn(2, cin, 7, 9)
    with torch.no_grad():
        expected, found = layer(x), speedups.subpixel(layer)(x)
    assert found.shape == expected.shape == (2, cout, 14, 18)
    assert torch.allclose(found, expected, atol=1e-5)


def test_subpixel_refuses_other_layers():
    with pytest.raises(ValueError, match="5x5 stride-2"):
        speedups.subpixel(nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1, output_padding=1))


def test_the_decoder_synthesizes_with_the_trained_weights(weights):
    """The decoder's synthesis is the weight file's, last layer re-expressed, on a latent of real content."""
    model = load_weights(weights).model
    dec = Decoder(weights, precision="fp32")
    assert isinstance(dec.synthesis[-2], nn.Sequential)  # the sub-pixel form of the last deconv
    torch.manual_seed(1)
    y = torch.randn(1, model.N, 5, 6) * 4
    with torch.no_grad():
        assert torch.allclose(dec.synthesis(y), model.g_s(y), atol=1e-5)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_keep_freed_memory_takes_effect_once_per_process():
    assert speedups.keep_freed_memory() is True
    assert speedups.keep_freed_memory() is True


RSS_AFTER_LARGE_DECODE = """
import sys
import numpy as np
import anon_compression_codec.runtime.codec as codec
from anon_compression_codec import Decoder, Encoder
if sys.argv[2] == "never":
    codec.RELEASE_ABOVE_PIXELS = 1 << 40
img = np.random.default_rng(0).integers(0, 256, (3072, 3072, 3), dtype=np.uint8)
data = Encoder(sys.argv[1], guard=False)(img, boxes=np.zeros((0, 4)))
del img
Decoder(sys.argv[1])(data)
print(next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmRSS")) // 1024)
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_a_large_frame_does_not_leave_the_decoder_at_its_peak_memory(weights):
    """The heap keeps freed memory for speed, but a frame above RELEASE_ABOVE_PIXELS hands it back."""

    def rss_mb(release: str) -> int:
        out = subprocess.run([sys.executable, "-c", RSS_AFTER_LARGE_DECODE, weights, release], capture_output=True,
                             text=True, check=True).stdout  # fmt: skip
        return int(out.split()[-1])

    assert rss_mb("always") < rss_mb("never") - 200
