"""Decoder cost of the frames in issue #16, each decoded in a fresh process (its own peak RSS):
crafted frames that pass every bitstream check, an honest 4096x4096 frame under one full-frame guard
box, and honest unguarded large frames (the time bound at the pixel limit). Prints a markdown table.

    .venv/bin/python bench/crafted.py [--weights default] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np


def make_frames(weights: str, out: Path) -> dict[str, str]:
    from anon_compression_codec import Encoder
    from anon_compression_codec.evaluation.timing import frames
    from anon_compression_codec.runtime import bitstream

    enc = Encoder(weights, guard=False)
    model_id = enc.model_id

    def crafted(h: int, w: int, boxes=()) -> bytes:  # consistent header, next to no payload
        s, n = enc.stride, enc.tables.channels
        version = bitstream.VERSION_HYPERPRIOR if enc.variable_rate else bitstream.VERSION
        header = bitstream.Header(model_id, 3, h, w, n, -(-h // s), -(-w // s), 4,
                                  bitstream.FLAG_GUARD if boxes else 0, version, 0, tuple(boxes))  # fmt: skip
        return bitstream.pack(header, b"\x00" * 4)

    photo = frames({"x": (480, 640)})["x"]
    cases = {
        "crafted 8192x8192, 34-byte payload": crafted(8192, 8192),
        "crafted 640x480, 4096 full-frame guard boxes": crafted(480, 640, [(0, 0, 640, 480)] * 4096),
        "honest 4096x4096, one full-frame guard box": enc(cv2.resize(photo, (4096, 4096)), "bgr", np.array([[0, 0, 4096, 4096]])),
        "honest 640x480, unguarded": enc(photo, "bgr", np.zeros((0, 4))),
        "honest 2048x2048, unguarded": enc(cv2.resize(photo, (2048, 2048)), "bgr", np.zeros((0, 4))),
        "honest 4096x4096, unguarded (the default pixel limit)": enc(cv2.resize(photo, (4096, 4096)), "bgr", np.zeros((0, 4))),
    }
    paths = {}
    for i, (name, data) in enumerate(cases.items()):
        paths[name] = str(out / f"{i}.anl")
        Path(paths[name]).write_bytes(data)
    return paths


def peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM; ru_maxrss would include the parent's from before exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def decode_one(weights: str, path: str, threads: int) -> None:
    import torch

    from anon_compression_codec import BitstreamError, Decoder

    torch.set_num_threads(threads)
    dec = Decoder(weights)
    data = Path(path).read_bytes()
    base = peak_rss_mb()
    t0 = time.perf_counter()
    try:
        dec(data)
        result = "decoded"
    except BitstreamError as exc:
        result = f"refused: {exc}"
    seconds = time.perf_counter() - t0
    peak = peak_rss_mb()
    print(json.dumps({"result": result, "s": seconds, "rss_mb": peak, "decode_mb": peak - base,
                      "tiles": dec.tiles_synthesized, "bytes": len(data)}))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--weights", default="default")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--decode", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.decode:
        return decode_one(args.weights, args.decode, args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_frames(args.weights, Path(tmp))
        print(f"machine: {os.cpu_count()} cores, torch threads {args.threads}; weights {args.weights}")
        print("| frame | bytes | result | decode s | peak RSS MB (process) | RSS growth in decode MB | tiles synthesized |")
        print("|---|---|---|---|---|---|---|")
        for name, path in paths.items():
            cmd = [sys.executable, __file__, "--weights", args.weights, "--threads", str(args.threads), "--decode", path]
            r = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
            cells = (
                name,
                r["bytes"],
                r["result"][:50],
                f"{r['s']:.3f}",
                f"{r['rss_mb']:.0f}",
                f"{r['decode_mb']:.0f}",
                r["tiles"],
            )
            print("| " + " | ".join(str(c) for c in cells) + " |")


if __name__ == "__main__":
    main()
