"""Codec: round trips, supported inputs, weight formats, determinism across processes."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import make_model

from anon_compression_codec import (
    Decoder,
    Encoder,
    InputError,
    ModelMismatchError,
    WeightsError,
    load_weights,
    peek_header,
)
from anon_compression_codec.runtime import presets
from anon_compression_codec.runtime.model import compute_model_id


@pytest.mark.parametrize("shape", [(45, 67, 3), (1, 1, 3), (16, 16, 3), (33, 8, 3)])
def test_roundtrip_any_size(weights, shape):
    img = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    data = Encoder(weights)(img)
    out = Decoder(weights)(data)
    assert out.shape == shape and out.dtype == np.uint8
    h = peek_header(data)
    assert (h.height, h.width, h.channels) == shape[:2] + (3,)


def test_grayscale_comes_back_grayscale(weights):
    gray = np.full((20, 30), 128, np.uint8)
    dec = Decoder(weights)
    assert dec(Encoder(weights)(gray)).shape == (20, 30)
    assert dec(Encoder(weights)(gray[..., None])).shape == (20, 30)


def test_bgr_order_is_the_mirror_of_rgb(weights, image):
    enc, dec = Encoder(weights), Decoder(weights)
    rgb_out = dec(enc(image))
    bgr_out = dec(enc(image[..., ::-1].copy(), channel_order="bgr"), channel_order="bgr")
    np.testing.assert_array_equal(bgr_out, rgb_out[..., ::-1])


def test_batch_tensor_gives_one_frame_per_image(weights, image):
    batch = torch.from_numpy(image).permute(2, 0, 1)[None].float().div(255).repeat(2, 1, 1, 1)
    frames = Encoder(weights)(batch)
    assert len(frames) == 2 and frames[0] == frames[1]
    assert frames[0] == Encoder(weights)(image)


@pytest.mark.parametrize(
    "bad, reason",
    [
        (np.zeros((10, 10, 3), np.uint16), "8-bit"),
        (np.zeros((10, 10, 3), np.float32), "8-bit"),
        (np.zeros((10, 10, 4), np.uint8), "alpha"),
        (np.zeros((0, 10, 3), np.uint8), "outside"),
        (np.zeros((9000, 2, 3), np.uint8), "outside"),
        (np.zeros((2, 2, 2, 3), np.uint8), "HxW"),
        ([[1, 2], [3, 4]], "numpy"),
    ],
)
def test_unsupported_images_are_refused_with_reason(weights, bad, reason):
    with pytest.raises(InputError, match=reason):
        Encoder(weights)(bad)


def test_bad_batches_are_refused(weights):
    enc = Encoder(weights)
    with pytest.raises(InputError):
        enc(torch.full((1, 3, 8, 8), 2.0))
    with pytest.raises(InputError):
        enc(torch.zeros(1, 4, 8, 8))
    with pytest.raises(InputError):
        enc(torch.full((1, 3, 8, 8), float("nan")))


def test_foreign_model_is_refused(weights, other_weights, image):
    with pytest.raises(ModelMismatchError, match="load the encoder's weights"):
        Decoder(other_weights)(Encoder(weights)(image))


@pytest.mark.parametrize("prefix", ["", "autoencoder."])
def test_reference_weight_format_loads(tmp_path, prefix, image):
    """The reference repository's files: {N, M, state_dict} with its module names, with and
    without the Lightning prefix, and without CDF tables (ours rebuilds them)."""
    model = make_model(N=16, M=1, seed=3)
    renames = {"g_a.": "_encoder.encoder.", "g_s.": "_decoder.decoder.", "entropy_bottleneck.": "_bottleneck."}
    state = {}
    for key, value in model.state_dict().items():
        for ours, ref in renames.items():
            if key.startswith(ours):
                key = ref + key[len(ours) :]
        if key.split(".")[-1] not in ("_quantized_cdf", "_offset", "_cdf_length"):
            state[prefix + key] = value
    path = tmp_path / "128-2.pt"
    torch.save({"N": 16, "M": 1, "state_dict": state}, path)
    loaded = load_weights(path)
    assert loaded.model.N == 16 and loaded.model.M == 1
    for key, value in model.state_dict().items():
        if not key.startswith("entropy_bottleneck._"):
            torch.testing.assert_close(loaded.model.state_dict()[key], value)
    out = Decoder(str(path))(Encoder(str(path))(image))
    assert out.shape == image.shape


def test_fp16_file_keeps_its_identifier(weights):
    loaded = load_weights(weights)
    assert loaded.stored_dtype == "float16"
    assert compute_model_id(loaded.model) == loaded.model_id


@pytest.mark.parametrize(
    "content, reason",
    [(b"not a torch file", "not a readable"), (None, "not a file")],
)
def test_bad_weight_files_say_why(tmp_path, content, reason):
    path = tmp_path / "w.pt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(WeightsError, match=reason):
        Encoder(str(path))


def test_weight_file_of_wrong_shape_is_refused(tmp_path):
    state = make_model(N=16, M=1).state_dict()
    path = tmp_path / "w.pt"
    torch.save({"N": 32, "M": 1, "state_dict": state}, path)
    with pytest.raises(WeightsError, match="do not fit"):
        load_weights(path)


def test_tampered_weight_file_is_refused(tmp_path, weights):
    blob = torch.load(weights, weights_only=True)
    blob["state_dict"]["g_a.0.bias"] += 1
    path = tmp_path / "w.pt"
    torch.save(blob, path)
    with pytest.raises(WeightsError, match="model_id"):
        load_weights(path)


def test_unknown_preset_lists_presets():
    with pytest.raises(WeightsError, match="not a preset"):
        Encoder("no-such-preset")


_SCRIPT = """
import sys, hashlib, numpy as np
from anon_compression_codec import Encoder, Decoder
w = sys.argv[1]
img = np.random.default_rng(7).integers(0, 256, (61, 83, 3), dtype=np.uint8)
data = Encoder(w, threads=1)(img)
out = Decoder(w, threads=1)(data)
print(hashlib.sha256(data).hexdigest(), hashlib.sha256(out.tobytes()).hexdigest())
"""


def test_deterministic_across_processes(weights):
    cmd = [sys.executable, "-c", _SCRIPT, weights]
    runs = {subprocess.run(cmd, capture_output=True, text=True, check=True).stdout for _ in range(2)}
    assert len(runs) == 1


def test_presets_are_found_by_model_id(weights):
    assert presets.find(load_weights(presets.resolve("paper")).model_id) == "paper"
    assert presets.find(load_weights(weights).model_id) is None


def test_bf16_transforms_decode_close_to_fp32(weights, image):
    """precision="bf16" runs the transforms under autocast: frames stay readable by an fp32 decoder,
    and the pixels differ from fp32's by float rounding only."""
    fp32_enc, bf16_enc = Encoder(weights, guard=False), Encoder(weights, guard=False, precision="bf16")
    fp32_dec, bf16_dec = Decoder(weights), Decoder(weights, precision="bf16")
    reference = fp32_dec(fp32_enc(image)).astype(float)
    for data, dec in ((bf16_enc(image), fp32_dec), (fp32_enc(image), bf16_dec)):
        out = dec(data).astype(float)
        assert out.shape == reference.shape and 10 * np.log10(255**2 / max(((out - reference) ** 2).mean(), 1e-9)) > 35
    with pytest.raises(InputError, match="precision"):
        Encoder(weights, precision="fp16")
