"""Codec v2: the integer hyper-synthesis is exact, frames decode bit-exactly across precision,
threads and processes, quality travels in the frame, and the weight format round-trips."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from anon_compression_codec.errors import CorruptPayloadError, InputError
from anon_compression_codec.runtime import bitstream
from anon_compression_codec.runtime.codec import Decoder, Encoder
from anon_compression_codec.runtime.geometry import inner_latent_rects
from anon_compression_codec.runtime.integer import IntegerConv, IntegerSequential
from anon_compression_codec.runtime.model import load_weights, save_weights


@pytest.fixture
def photo() -> np.ndarray:
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:75, 0:97]
    img = np.stack([xx * 2.5, yy * 3.0, (xx * yy) % 255], axis=2) + rng.normal(0, 12, (75, 97, 3))
    return img.clip(0, 255).astype(np.uint8)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), transposed=st.booleans(), stride=st.sampled_from([1, 2]),
       in_bits=st.integers(0, 4), scale=st.sampled_from([0.01, 1.0, 40.0]))  # fmt: skip
def test_integer_layer_equals_the_int64_reference(seed, transposed, stride, in_bits, scale):
    torch.manual_seed(seed)
    layer = IntegerConv(3, 4, 5 if transposed else 3, stride, transposed=transposed, in_bits=in_bits, out_bits=2, top=255)
    with torch.no_grad():
        layer.weight.mul_(scale)
        layer.bias.uniform_(-scale, scale)
    rng = np.random.default_rng(seed)
    a = rng.integers(-255, 256, size=(3, 5, 6))
    exact = layer.exact(torch.from_numpy(a).double()[None])[0].numpy().astype(np.int64)
    np.testing.assert_array_equal(exact, layer.reference(a))


def test_training_form_computes_what_the_integer_form_computes():
    """Quantization in the loop: on the integer grid the float forward gives the same integers."""
    torch.manual_seed(1)
    net = IntegerSequential(IntegerConv(4, 6, 5, 2, transposed=True, in_bits=0, out_bits=4, top=255),
                            IntegerConv(6, 5, 3, 1, in_bits=4, out_bits=0, top=63))  # fmt: skip
    with torch.no_grad():
        for layer in net:
            layer.bias.fill_(1.0)
    z = torch.randint(-6, 7, (1, 4, 5, 5)).double()
    trained = net.double()(z)
    np.testing.assert_array_equal(trained.detach().numpy(), net.exact(z).numpy())


def test_weight_file_round_trip_keeps_integer_weights(hyper_weights, tmp_path):
    loaded = load_weights(hyper_weights)
    assert loaded.model.arch == "hyperprior" and loaded.stored_dtype == "float16"
    assert loaded.model.h_s[0].weight.dtype == torch.float32
    again = tmp_path / "again.pt"
    save_weights(loaded.model, again)
    assert load_weights(again).model_id == loaded.model_id  # export is idempotent: same integers, same tables


def test_hyperprior_file_without_tables_is_refused(hyper_weights, tmp_path):
    blob = torch.load(hyper_weights, weights_only=True)
    del blob["model_id"]
    blob["state_dict"] = {k: v for k, v in blob["state_dict"].items() if "_quantized_cdf" not in k}
    torch.save(blob, tmp_path / "no-tables.pt")
    with pytest.raises(Exception, match="CDF tables"):
        load_weights(tmp_path / "no-tables.pt")


def test_round_trip_symbols_and_quality(hyper_weights, photo):
    enc, dec = Encoder(hyper_weights, guard=False, quality=37.256), Decoder(hyper_weights)
    data = enc.encode(photo)
    header = bitstream.peek_header(data)
    assert header.version == bitstream.VERSION_HYPERPRIOR and header.quality == 3726
    assert header.as_dict()["quality"] == 37.26
    idx, shape, _, _ = enc._analyse(torch.from_numpy(photo).permute(2, 0, 1)[None].float() / 255)
    got = dec.tables.decode(bitstream.parse(data)[1], *shape[1:])
    np.testing.assert_array_equal(got, idx)
    assert np.unique(idx).size > 3  # the latents carry content
    assert dec.decode(data).shape == photo.shape


def test_quality_changes_bits_and_is_validated(hyper_weights, photo):
    enc = Encoder(hyper_weights, guard=False)
    sizes = []
    for quality in (0, 100):
        enc.set_quality(quality)
        sizes.append(len(enc.encode(photo)))
    assert sizes[0] < sizes[1]  # the levels' initial gains differ by ~5x in quantization step
    for bad in (-1, 100.5, "50", True, float("nan")):
        with pytest.raises(InputError):
            enc.set_quality(bad)


def test_frame_of_another_architecture_is_refused(hyper_weights, random_weights, photo):
    frame = Encoder(random_weights, guard=False).encode(photo)
    header, payload = bitstream.parse(frame)
    forged = bitstream.pack(bitstream.Header(load_weights(hyper_weights).model_id, *[getattr(header, f) for f in (
        "channels", "height", "width", "latent_channels", "latent_height", "latent_width", "payload_length")]), payload)
    with pytest.raises(CorruptPayloadError, match="version 1 does not fit"):
        Decoder(hyper_weights).decode(forged)


def test_guarded_latents_hold_zero_and_decode(hyper_weights):
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 256, (160, 200, 3), dtype=np.uint8)
    enc, dec = Encoder(hyper_weights, guard=False), Decoder(hyper_weights)
    data = enc.encode(photo, boxes=np.array([[20, 10, 180, 150]]))
    header, payload = bitstream.parse(data)
    lh, lw = header.latent_height, header.latent_width
    rects = inner_latent_rects(header.guard_boxes, 200, 160, enc.stride, enc.model.analysis_layers, (lh, lw))
    symbols = dec.tables.decode(payload, lh, lw).reshape(-1, lh, lw)
    assert rects and all((symbols[:, y0:y1, x0:x1] == 0).all() for y0, x0, y1, x1 in rects)
    assert np.abs(symbols).sum() > 0 and dec.decode(data).shape == photo.shape


_DECODE = """
import sys, numpy as np, torch
from anon_compression_codec.runtime import bitstream
from anon_compression_codec.runtime.codec import Decoder
dec = Decoder(sys.argv[1], precision=sys.argv[2], threads=int(sys.argv[3]))
with torch.no_grad():  # a float perturbation of every floating-point transform
    for name, p in dec.model.named_parameters():
        if not name.startswith("h_s.") and sys.argv[4] == "perturb":
            p.add_(torch.randn_like(p) * 1e-3)
data = open(sys.argv[5], "rb").read()
header, payload = bitstream.parse(data)
symbols = dec.tables.decode(payload, header.latent_height, header.latent_width)
img = dec.decode(data)
sys.stdout.write(symbols.tobytes().hex() + " " + img.tobytes().hex()[:64])
"""


def test_bit_exact_across_precision_threads_and_processes(hyper_weights, photo, tmp_path):
    torch.set_num_threads(1)
    try:
        enc = Encoder(hyper_weights, guard=False, precision="fp32", threads=1)
        frame = tmp_path / "frame.acl"
        frame.write_bytes(enc.encode(photo))
    finally:
        torch.set_num_threads(2)
    header, payload = bitstream.parse(frame.read_bytes())
    want = enc.tables.decode(payload, header.latent_height, header.latent_width).tobytes().hex()

    def run(precision: str, threads: int, perturb: str) -> tuple[str, str]:
        cmd = [sys.executable, "-c", _DECODE, hyper_weights, precision, str(threads), perturb, str(frame)]
        return tuple(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.split())

    symbols_bf16, _ = run("bf16", 2, "none")
    symbols_perturbed, _ = run("fp32", 2, "perturb")
    symbols_a, pixels_a = run("fp32", 1, "none")
    symbols_b, pixels_b = run("fp32", 1, "none")
    assert symbols_bf16 == symbols_perturbed == symbols_a == symbols_b == want
    assert pixels_a == pixels_b


@pytest.mark.parametrize("which", ["weights", "hyper_weights"])
def test_model_compress_and_decompress_are_what_the_codec_sends_and_shows(which, photo, request):
    """compressai's protocol on both architectures: the model's payloads are the codec's frames'
    payloads, and its decompression is the Decoder's picture (to one level: the Decoder's faster
    synthesis differs by float rounding)."""
    weights = request.getfixturevalue(which)
    enc, dec = Encoder(weights, guard=False, quality=63.0), Decoder(weights)
    model = load_weights(weights).model
    img = np.ascontiguousarray(photo[:64, :96])  # sides multiples of the stride: no padding
    x = torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255
    out = model.compress(torch.cat([x, x.flip(3)]), quality=63.0)
    assert out["shape"] == (64 // model.stride, 96 // model.stride) and len(out["strings"][0]) == 2
    assert out["strings"][0][0] == bitstream.parse(enc.encode(img))[1]
    assert out["strings"][0][1] == bitstream.parse(enc.encode(np.ascontiguousarray(img[:, ::-1])))[1]
    x_hat = model.decompress(out["strings"], out["shape"], quality=63.0)["x_hat"]
    shown = (x_hat[0].permute(1, 2, 0) * 255).round().to(torch.uint8).numpy()
    assert np.abs(shown.astype(int) - dec.decode(enc.encode(img)).astype(int)).max() <= 1
    with pytest.raises(ValueError, match="multiples"):
        model.compress(x[..., :63, :])
    with pytest.raises(CorruptPayloadError):
        model.decompress([[b"\x01\x02\x03"]], out["shape"])
