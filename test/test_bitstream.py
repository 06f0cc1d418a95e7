"""Bitstream: every error path, and a fuzz test that only documented exceptions come out."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest

from anon_compression_codec import (
    BitstreamError,
    CorruptPayloadError,
    Decoder,
    Encoder,
    UnsupportedVersionError,
    parse,
)
from anon_compression_codec.runtime.bitstream import HEADER_SIZE


@pytest.fixture(scope="module")
def frame(weights) -> bytes:
    img = np.random.default_rng(1).integers(0, 256, (40, 56, 3), dtype=np.uint8)
    return Encoder(weights, guard=False)(img)


def _with_fields(frame: bytes, **changes) -> bytes:
    """Rewrite header fields and recompute the CRC, as a crafted (not damaged) frame would."""
    fields = list(struct.unpack_from(">4sBB8sBBHHHHHI", frame))
    names = ["magic", "version", "flags", "model_id", "channels", "reserved", "height", "width", "lc", "lh", "lw", "plen"]
    for name, value in changes.items():
        fields[names.index(name)] = value
    body = struct.pack(">4sBB8sBBHHHHHI", *fields) + frame[HEADER_SIZE:-4]
    return body + struct.pack(">I", zlib.crc32(body))


def _recrc(body: bytes) -> bytes:
    return body + struct.pack(">I", zlib.crc32(body))


@pytest.mark.parametrize(
    "changes, error, message",
    [
        ({"magic": b"JFIF"}, CorruptPayloadError, "magic"),
        ({"version": 3}, UnsupportedVersionError, "version 3"),
        ({"flags": 0x80}, CorruptPayloadError, "flags"),
        ({"reserved": 1}, CorruptPayloadError, "reserved"),
        ({"channels": 4}, CorruptPayloadError, "channels"),
        ({"height": 0}, CorruptPayloadError, "size"),
        ({"width": 9000}, CorruptPayloadError, "size"),
        ({"lh": 41}, CorruptPayloadError, "latent"),
        ({"lc": 0}, CorruptPayloadError, "latent"),
        ({"plen": 5}, CorruptPayloadError, "announces"),
    ],
)
def test_header_errors_name_what_was_found(frame, changes, error, message):
    with pytest.raises(error, match=message):
        parse(_with_fields(frame, **changes))


def test_decoder_checks_latent_shape_against_its_model(weights, frame):
    with pytest.raises(CorruptPayloadError, match="does not match"):
        Decoder(weights)(_with_fields(frame, lh=3))


def test_damaged_byte_fails_the_checksum(frame):
    damaged = bytearray(frame)
    damaged[HEADER_SIZE + 3] ^= 0x10
    with pytest.raises(CorruptPayloadError, match="checksum"):
        parse(bytes(damaged))


@pytest.mark.parametrize("data", [b"", b"ANCL", b"\x00" * 33])
def test_short_input(data):
    with pytest.raises(CorruptPayloadError, match="too short"):
        parse(data)


def test_payload_that_is_not_whole_words(weights, frame):
    body = frame[:-4]
    odd = _with_fields(_recrc(body + b"\x01"), plen=len(body) - HEADER_SIZE + 1)
    with pytest.raises(CorruptPayloadError):
        Decoder(weights)(odd)


def test_payload_with_trailing_zero_word_is_refused(weights, frame):
    body = frame[:-4] + b"\x00\x00\x00\x00"
    crafted = _with_fields(_recrc(body), plen=len(body) - HEADER_SIZE)
    with pytest.raises(CorruptPayloadError):
        Decoder(weights)(crafted)


def test_fuzz_only_documented_errors(weights, frame):
    """Thousands of mutated, truncated and extended frames, half with a valid CRC so that they
    reach the entropy decoder: only BitstreamError subclasses may come out, and an image that
    decodes always has the announced size."""
    dec = Decoder(weights)
    rng = np.random.default_rng(1234)
    outcomes = {"error": 0, "decoded": 0}
    for i in range(3000):
        data = bytearray(frame)
        op = i % 3
        if op == 0:
            for _ in range(rng.integers(1, 8)):
                data[rng.integers(0, len(data))] = rng.integers(0, 256)
        elif op == 1:
            data = data[: rng.integers(0, len(data))]
        else:
            data += rng.integers(0, 256, rng.integers(1, 64), dtype=np.uint8).tobytes()
        if i % 2 and len(data) > HEADER_SIZE + 4:  # crafted: fix the length field and the CRC
            body = bytes(data[:-4])
            plen = len(body) - HEADER_SIZE
            data = _with_fields(_recrc(body), plen=plen)
        try:
            out = dec(bytes(data))
        except BitstreamError:
            outcomes["error"] += 1
        else:
            outcomes["decoded"] += 1
            assert out.shape == (40, 56, 3)
    assert outcomes["error"] > 1000


def test_a_flipped_version_bit_is_reported_as_damage(frame):
    damaged = bytearray(frame)
    damaged[4] ^= 0x02
    with pytest.raises(CorruptPayloadError, match="checksum"):
        parse(bytes(damaged))


def _crafted(height: int, width: int, boxes=(), lc: int = 16, stride: int = 4) -> bytes:
    """A frame that passes every bitstream check: sizes, latent shape and guard boxes consistent,
    latents at nothing in particular (the decoder's limits must refuse it before decoding)."""
    from anon_compression_codec.runtime.bitstream import FLAG_GUARD, Header, pack

    lh, lw = -(-height // stride), -(-width // stride)
    header = Header(b"\x00" * 8, 3, height, width, lc, lh, lw, 4, FLAG_GUARD if boxes else 0, 1, 0, tuple(boxes))
    return pack(header, b"\x00" * 4)


def test_decoder_limits_refuse_before_decoding(weights):
    from anon_compression_codec import LimitError

    dec = Decoder(weights)
    with pytest.raises(LimitError, match="8192x8192"):
        dec(_crafted(8192, 8192))
    with pytest.raises(LimitError, match="4096 guard boxes"):
        dec(_crafted(480, 640, [(0, 0, 640, 480)] * 4096))
    with pytest.raises(LimitError, match="image areas"):
        dec(_crafted(480, 640, [(0, 0, 640, 480)] * 3))
    small = Decoder(weights, max_pixels=100)
    with pytest.raises(LimitError, match="limit of 100"):
        small(_crafted(20, 20))


def test_mosaic_blurs_only_a_small_mask_whatever_the_box(monkeypatch):
    """The soft mask's blur (whose cost grows with its kernel) runs at most MASK_SIDE pixels wide;
    the rest is resizing and blending, linear in the box's pixels."""
    import cv2

    from anon_compression_codec.privacy import anonymize

    blurred = []
    real = cv2.GaussianBlur
    monkeypatch.setattr(anonymize.cv2, "GaussianBlur", lambda a, *args, **kw: blurred.append(a.shape) or real(a, *args, **kw))
    img = np.random.default_rng(0).integers(0, 256, (2048, 3000, 3), dtype=np.uint8)
    before = img.copy()
    anonymize.mosaic(img, [(0, 0, 3000, 2048), (10, 10, 40, 30)])
    assert blurred and max(max(s) for s in blurred) <= anonymize.MASK_SIDE
    centre = (slice(900, 1100), slice(1400, 1600))
    assert np.abs(img[centre].astype(int) - before[centre]).mean() > 20  # the inside is mosaicked


@pytest.mark.parametrize("model", ["weights", "hyper_weights"])
def test_fuzz_benchmark_mutations_give_only_clear_errors(model, request):
    """A few hundred cases of bench/fuzz.py's mutations (the benchmark runs 10,000), on both formats."""
    weights = request.getfixturevalue(model)
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    from fuzz import mutate

    img = np.random.default_rng(3).integers(0, 256, (64, 96, 3), dtype=np.uint8)
    sources = [Encoder(weights, guard=False)(img, boxes=np.array([[10, 10, 40, 40]])), Encoder(weights, guard=False)(img)]
    dec = Decoder(weights)
    rng = np.random.default_rng(7)
    kinds = set()
    for n in range(400):
        kind, data = mutate(sources[n % 2], rng)
        kinds.add(kind)
        try:
            out = dec(data)
        except BitstreamError:
            continue
        assert out.dtype == np.uint8 and out.ndim in (2, 3)  # a valid frame may claim one channel
    assert kinds == {"flip", "truncate", "append", "overwrite", "field", "guard", "quality", "random"}


def _frame_from_symbols(enc: Encoder, idx: np.ndarray, height: int, width: int, boxes) -> bytes:
    """What the encoder writes for these latent symbols (for frames too large to run g_a on in a test)."""
    from anon_compression_codec.runtime.bitstream import FLAG_GUARD, VERSION, Header, pack

    s = enc.stride
    payload = enc.tables.encode(idx)
    lh, lw = -(-height // s), -(-width // s)
    header = Header(enc.model_id, 3, height, width, enc.model.N, lh, lw, len(payload), FLAG_GUARD, VERSION, 0, tuple(boxes))
    return pack(header, payload)


def test_a_large_frame_under_one_guard_box_synthesizes_nothing(weights):
    """A 4096x4096 frame whose guard box covers it all: every latent is the fill value, so no tile
    runs through the synthesis (issue #16: this used to take minutes): the frame is the fill
    value's decoded pattern, repeated every stride, tinted as a guarded box."""
    enc, dec = Encoder(weights, guard=False), Decoder(weights)
    lh = lw = 4096 // enc.stride
    idx = np.repeat(enc.tables.fill[:, None], lh * lw, axis=1).astype(np.int32)
    out = dec(_frame_from_symbols(enc, idx, 4096, 4096, [(0, 0, 4096, 4096)]))
    assert out.shape == (4096, 4096, 3) and dec.tiles_synthesized == 0
    s = enc.stride
    np.testing.assert_array_equal(out[1504 : 1504 + s, 1504 : 1504 + s], out[2496 - s : 2496, 2496 - s : 2496])
    assert np.ptp(out[1500:2500, 1500:2500], axis=(0, 1)).max() <= 8


def test_tiled_synthesis_matches_one_pass(weights):
    """Frames larger than a tile are synthesized in tiles with context: the same image (to float
    rounding) as one pass of g_s over the whole latent."""
    import cv2
    import torch

    from anon_compression_codec.runtime.codec import SYNTHESIS_TILE

    rng = np.random.default_rng(5)
    img = cv2.resize(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8), (1200, 1000), interpolation=cv2.INTER_CUBIC)
    enc, dec = Encoder(weights, guard=False), Decoder(weights)
    data = enc(img, boxes=np.zeros((0, 4)))
    out = dec(data)
    header, payload = dec.check(data)
    lh, lw = header.latent_height, header.latent_width
    assert dec.tiles_synthesized == -(-lh // SYNTHESIS_TILE) * -(-lw // SYNTHESIS_TILE) > 1
    with torch.inference_mode():
        y = torch.from_numpy(dec.tables.dequantize(dec.tables.decode(payload, lh, lw), lh, lw))[None]
        one_pass = dec.model.g_s(y)[0, :, :1000, :1200].clamp(0, 1).mul(255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    diff = np.abs(out.astype(int) - one_pass)
    assert diff.max() <= 1 and (diff > 0).mean() < 1e-3


def test_guarded_tiles_are_not_synthesized(weights):
    """A guard box over the left half of a large frame: the tiles wholly inside it are painted, the rest synthesized."""
    img = np.random.default_rng(6).integers(0, 256, (1024, 2048, 3), dtype=np.uint8)
    enc, dec = Encoder(weights, guard=False), Decoder(weights)
    dec(enc(img, boxes=np.zeros((0, 4))))
    unguarded = dec.tiles_synthesized
    out = dec(enc(img, boxes=np.array([[0, 0, 1100, 1024]])))
    assert 0 < dec.tiles_synthesized < unguarded and out.shape == img.shape
