"""Decoder fuzz benchmark: mutated frames against `Decoder`, counting clear errors (the project's
BitstreamError family), other exceptions (bugs), decodes slower than the limit, and peak RSS.

    .venv/bin/python bench/fuzz.py [--frames 10000] [--weights PRESET] [--limit-s 1.0]

Mutations of real frames (640x480 with guard boxes, 160x120 without): bit flips, truncation,
random bytes appended or overwritten, and header/guard fields (and a version 2 frame's quality)
rewritten with the CRC recomputed (so they pass the checksum and reach the limits, the guard check
and the entropy decoder), plus whole random frames. `--weights` a codec v2 model fuzzes its format.
The test suite runs a few hundred of these (test_bitstream.py).
"""

from __future__ import annotations

import argparse
import os
import resource
import struct
import time
import traceback
import zlib
from collections import Counter

import numpy as np

from anon_compression_codec import BitstreamError, Decoder, Encoder
from anon_compression_codec.evaluation.timing import frames
from anon_compression_codec.runtime.bitstream import HEADER_SIZE, VERSION_HYPERPRIOR

_HEADER = ">4sBB8sBBHHHHHI"
_FIELDS = ["magic", "version", "flags", "model_id", "channels", "reserved", "height", "width", "lc", "lh", "lw", "plen"]


def recrc(body: bytes) -> bytes:
    return body + struct.pack(">I", zlib.crc32(body))


def mutate(frame: bytes, rng: np.random.Generator) -> tuple[str, bytes]:
    data = bytearray(frame)
    kind = ["flip", "truncate", "append", "overwrite", "field", "guard", "quality", "random"][int(rng.integers(0, 8))]
    fixed = HEADER_SIZE + (2 if frame[4] == VERSION_HYPERPRIOR else 0)  # version 2: the quality follows the header
    if kind == "flip":
        for _ in range(int(rng.integers(1, 9))):
            i = int(rng.integers(0, len(data)))
            data[i] ^= 1 << int(rng.integers(0, 8))
    elif kind == "truncate":
        data = data[: int(rng.integers(0, len(data)))]
    elif kind == "append":
        data += rng.integers(0, 256, int(rng.integers(1, 256)), dtype=np.uint8).tobytes()
    elif kind == "overwrite":
        start = int(rng.integers(0, len(data)))
        n = int(rng.integers(1, 64))
        data[start : start + n] = rng.integers(0, 256, min(n, len(data) - start), dtype=np.uint8).tobytes()
        data = bytearray(recrc(bytes(data[:-4]))) if rng.random() < 0.5 else data
    elif kind == "field":
        fields = list(struct.unpack_from(_HEADER, data))
        name = _FIELDS[int(rng.integers(1, len(_FIELDS)))]
        i = _FIELDS.index(name)
        if isinstance(fields[i], bytes):
            fields[i] = rng.integers(0, 256, len(fields[i]), dtype=np.uint8).tobytes()
        else:
            top = {"version": 255, "flags": 255, "channels": 255, "reserved": 255, "plen": 2**32 - 1}.get(name, 65535)
            fields[i] = int(rng.choice([0, 1, top, int(rng.integers(0, top + 1))]))
        data = bytearray(recrc(struct.pack(_HEADER, *fields) + bytes(data[HEADER_SIZE:-4])))
    elif kind == "guard" and len(data) > fixed + 7:
        # Rewrite guard box coordinates and counts where a guard section is present.
        start = fixed + int(rng.integers(0, 7 + 8 * 4))
        data[start : start + 2] = struct.pack(">H", int(rng.integers(0, 65536)))
        data = bytearray(recrc(bytes(data[:-4])))
    elif kind == "quality" and fixed > HEADER_SIZE:
        data[HEADER_SIZE:fixed] = struct.pack(">H", int(rng.choice([0, 10000, 10001, 65535, int(rng.integers(0, 65536))])))
        data = bytearray(recrc(bytes(data[:-4])))
    elif kind == "random":
        data = bytearray(rng.integers(0, 256, int(rng.integers(0, 4096)), dtype=np.uint8).tobytes())
        if rng.random() < 0.5 and len(data) >= HEADER_SIZE:
            data[:4] = b"ANCL"
            data[4] = frame[4]
            data = bytearray(recrc(bytes(data)))
    return kind, bytes(data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=10000)
    parser.add_argument("--weights", default=None)
    parser.add_argument("--limit-s", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    img = frames({"640x480": (480, 640), "160x120": (120, 160)})
    enc = Encoder(args.weights, guard=False)
    sources = [enc(img["640x480"], channel_order="bgr", boxes=np.array([[100, 50, 180, 150], [400, 60, 470, 140]])),
               enc(img["160x120"], channel_order="bgr")]  # fmt: skip
    dec = Decoder(args.weights)
    rng = np.random.default_rng(args.seed)
    outcome: Counter = Counter()
    kinds: Counter = Counter()
    slow, bugs, worst = [], [], 0.0
    start = time.perf_counter()
    for n in range(args.frames):
        kind, data = mutate(sources[n % 2], rng)
        kinds[kind] += 1
        t0 = time.perf_counter()
        try:
            dec(data)
            outcome["decoded"] += 1
        except BitstreamError:
            outcome["clear error"] += 1
        except Exception as exc:  # noqa: BLE001 - what this benchmark exists to find
            outcome["other exception"] += 1
            if len(bugs) < 5:
                bugs.append(f"{kind}: {type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}")
        elapsed = time.perf_counter() - t0
        worst = max(worst, elapsed)
        if elapsed > args.limit_s:
            slow.append((kind, round(elapsed, 2)))
    wall = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"machine: {os.cpu_count()} cores; {args.frames} frames in {wall:.0f} s; weights {args.weights or 'default'}")
    print(f"| decoded | clear errors | other exceptions | slower than {args.limit_s} s | slowest s | peak RSS MB |")
    print("|---|---|---|---|---|---|")
    cells = (outcome["decoded"], outcome["clear error"], outcome["other exception"], len(slow), f"{worst:.3f}", f"{rss:.0f}")
    print("| " + " | ".join(str(c) for c in cells) + " |")
    print("mutations:", dict(kinds))
    for b in bugs:
        print(b)


if __name__ == "__main__":
    main()
