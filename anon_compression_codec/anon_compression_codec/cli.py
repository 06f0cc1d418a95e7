"""`anon-codec`: encode, decode, roundtrip and inspect `.acl` frames.

User errors print one line `anon-codec: error: ...` and exit with status 2; no tracebacks.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from tqdm import tqdm

from . import bitstream, io, presets
from .codec import Decoder, Encoder
from .errors import CodecError
from .metrics import bpp, psnr

EXIT_USAGE = 2


def _progress(items: Iterable, total: int | None, desc: str) -> Iterable:
    # tqdm only draws after mininterval, so runs under a second stay quiet.
    return tqdm(items, total=total, desc=desc, unit="frame", file=sys.stderr, mininterval=1.0, leave=False)


def cmd_encode(args: argparse.Namespace) -> int:
    data = Encoder(args.weights, threads=args.threads)(io.read_image(args.input), channel_order="bgr")
    args.output.write_bytes(data)
    print(f"{args.output}: {len(data)} bytes")
    return 0


def cmd_decode(args: argparse.Namespace) -> int:
    data = _read_bytes(args.input)
    io.write_image(args.output, Decoder(args.weights, threads=args.threads)(data, channel_order="bgr"))
    print(f"{args.output}: written")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    header = bitstream.peek_header(_read_bytes(args.input))
    print(json.dumps(header.as_dict(), indent=2))
    return 0


def cmd_roundtrip(args: argparse.Namespace) -> int:
    enc = Encoder(args.weights, threads=args.threads)
    dec = Decoder(args.weights, threads=args.threads)
    kind = io.kind_of(args.input)
    stats: dict[str, list[float]] = {"bytes": [], "bpp": [], "psnr": [], "encode_ms": [], "decode_ms": []}

    def run(frame: np.ndarray) -> np.ndarray:
        t0 = time.perf_counter()
        data = enc(frame, channel_order="bgr")
        t1 = time.perf_counter()
        out = dec(data, channel_order="bgr")
        t2 = time.perf_counter()
        figures = (len(data), bpp(len(data), *frame.shape[:2]), psnr(frame, out), (t1 - t0) * 1e3, (t2 - t1) * 1e3)
        for key, value in zip(stats, figures, strict=True):
            stats[key].append(value)
        return out

    if kind == "image":
        io.write_image(args.output, run(io.read_image(args.input)))
    elif kind == "folder":
        files = io.folder_images(args.input)
        for path in _progress(files, len(files), "roundtrip"):
            io.write_image(args.output / path.name, run(io.read_image(path)))
    else:
        frames, fps, count = io.video_frames(args.input, args.max_frames)
        writer = io.VideoWriter(args.output, fps)
        try:
            for frame in _progress(frames, count, "roundtrip"):
                writer.write(run(frame))
        finally:
            writer.close()
    summary = {"frames": len(stats["bytes"]), **{k: round(statistics.mean(v), 3) for k, v in stats.items()}}
    print(json.dumps(summary) if args.json else "  ".join(f"{k}={v}" for k, v in summary.items()))
    return 0


def _read_bytes(path: Path) -> bytes:
    if not path.is_file():
        raise CodecError(f"{path}: no such file")
    return path.read_bytes()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="anon-codec", description="Anonymizing learned image compression.")
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, func, help_: str, out: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_)
        p.add_argument("input", type=Path)
        if out:
            p.add_argument("output", type=Path)
        p.add_argument("--weights", default=None, help=f"preset ({', '.join(presets.available()) or 'none'}) or weight file")
        p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
        p.set_defaults(func=func)
        return p

    add("encode", cmd_encode, "image -> .acl frame")
    add("decode", cmd_decode, ".acl frame -> image")
    rt = add("roundtrip", cmd_roundtrip, "image, folder or video -> decoded copy, with rate/quality/speed figures")
    rt.add_argument("--max-frames", type=int, default=None, help="stop a video after this many frames")
    rt.add_argument("--json", action="store_true", help="print the summary as JSON")
    info = add("info", cmd_info, "print the parsed header of an .acl frame", out=False)
    info.set_defaults(weights=None)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (CodecError, OSError) as exc:
        print(f"anon-codec: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
