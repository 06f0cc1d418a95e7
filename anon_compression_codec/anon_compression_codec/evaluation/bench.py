"""`anon-codec bench` (and `make bench`): rate, privacy, utility and speed of every codec setting in
one run, against what robots use today.

For each setting: bpp, PSNR outside heads, face survival and person retention (evaluate.Scorer:
MTCNN and the person detector, on originals vs decoded), encode and decode ms per frame at 640x480
and 1280x720 (median of repeats, all settings in the same run and thread count), the detection
stage's ms where one is used, and peak memory (each setting's speed run is a fresh process; its
peak RSS). Writes bench/results/<date>/results.json, results.md and plots (PNG).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import resource
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from .. import presets
from ..resources import package_file
from . import baselines
from .scoring import Scorer
from .timing import frames, median_ms


def _settings(quick: bool, ours: list[str] | None = None) -> list[tuple[str, str, dict]]:
    """(name, kind, options). Kinds: classic, matched (nearest our default's bpp), blur, roi, ours."""
    out: list[tuple[str, str, dict]] = []
    qualities = {
        "jpeg": [30, 95] if quick else [10, 30, 60, 95],
        "webp": [] if quick else [30, 60],
        "avif": [30] if quick else [10, 30, 60],
    }
    for codec, qs in qualities.items():
        out += [(f"{codec}@q{q}", "classic", {"codec": codec, "quality": q}) for q in qs]
    for codec in ("jpeg", "avif") if quick else ("jpeg", "webp", "avif"):
        out.append((f"{codec}@matched", "matched", {"codec": codec, "weights": (ours or [presets.DEFAULT_PRESET])[0]}))
    out.append(("blur+jpeg@q60", "blur", {"quality": 60}))
    if not quick:
        out.append(("roi-jpeg@q60", "roi", {"quality": 60}))
    for preset in ours or (presets.available() if not quick else [presets.DEFAULT_PRESET]):
        label = Path(preset).stem
        out.append((label, "ours", {"weights": preset, "guard": False}))
        out.append((f"{label}+guard", "ours", {"weights": preset, "guard": True}))
    return out


class _Runner:
    """Builds the (encode, decode) pair of a setting; `detect` is the detection stage when used."""

    def __init__(self, kind: str, opts: dict, threads: int) -> None:
        import torch

        torch.set_num_threads(threads)
        self.detect: Callable | None = None
        self.persons: Callable | None = None
        if kind == "classic":
            codec = baselines.CODECS[opts["codec"]]
            self.encode = lambda img: codec.encode(img, opts["quality"])
            self.decode = codec.decode
        elif kind == "matched":
            self.encode, self.decode = self._matched(opts)
        elif kind in ("blur", "roi"):
            from ..privacy.anonymize import blur
            from ..privacy.stage import DetectionStage

            stage = DetectionStage()
            self.detect = stage
            jpeg = baselines.CODECS["jpeg"]
            if kind == "blur":
                self.encode = lambda img: jpeg.encode(blur(img, stage(img)), opts["quality"])
            else:
                from ..privacy.detectors import yolo_persons

                self.persons = yolo_persons()
                self.encode = lambda img: baselines.roi_jpeg(img, self.persons(img), stage(img), opts["quality"])
            self.decode = jpeg.decode
        else:
            from ..codec import Decoder, Encoder

            enc, dec = Encoder(opts["weights"], guard=opts["guard"]), Decoder(opts["weights"])
            self.detect = enc.stage
            self.encode = lambda img: enc(img, channel_order="bgr")
            self.decode = lambda data: dec(data, channel_order="bgr")

    @staticmethod
    def _matched(opts: dict):
        """A classical codec at the quality whose bpp is nearest ours (guard off) on each image. The
        quality is searched once per image, so timed repeats measure the codec alone."""
        import hashlib

        from ..codec import Encoder
        from .metrics import bpp

        ours = Encoder(opts["weights"], guard=False)
        codec = baselines.CODECS[opts["codec"]]
        quality: dict[bytes, int] = {}

        def encode(img: np.ndarray) -> bytes:
            key = hashlib.sha1(img.tobytes()).digest()
            if key not in quality:
                quality[key] = baselines.at_bpp(codec, img, bpp(len(ours(img, channel_order="bgr")), *img.shape[:2]))[0]
            return codec.encode(img, quality[key])

        return encode, codec.decode


def _speed(kind: str, opts: dict, threads: int, repeats: int, frames: dict[str, np.ndarray]) -> dict:
    """In a fresh process: median ms per size, and the process's peak RSS."""
    runner = _Runner(kind, opts, threads)
    out: dict = {}
    for size, frame in frames.items():
        data = runner.encode(frame)
        out[size] = {"encode_ms": median_ms(lambda f=frame: runner.encode(f), repeats),
                     "decode_ms": median_ms(lambda d=data: runner.decode(d), repeats), "bytes": len(data)}  # fmt: skip
        if runner.detect is not None:
            out[size]["detect_ms"] = median_ms(lambda f=frame: runner.detect(f), repeats)
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return out


def run(images: list[tuple[np.ndarray, np.ndarray | None]], out_dir: Path, quick: bool = False, threads: int = 2,
        repeats: int | None = None, progress: bool = True, ours: list[str] | None = None) -> dict:  # fmt: skip
    """ours: weight files or presets to bench instead of the shipped presets."""
    settings = _settings(quick, ours)
    repeats = repeats or (3 if quick else 15)
    sized = frames()
    speed = {}
    ctx = get_context("spawn")
    for name, kind, opts in tqdm(settings, desc="speed", disable=not progress):
        with ProcessPoolExecutor(1, mp_context=ctx) as pool:
            speed[name] = pool.submit(_speed, kind, opts, threads, repeats, sized).result()
    scorer = Scorer()
    runners = {name: _Runner(kind, opts, threads) for name, kind, opts in settings}
    for image, heads in tqdm(images, desc="quality", disable=not progress):
        ref = scorer.reference(image, heads)
        for name, runner in runners.items():
            data = runner.encode(image)
            scorer.add(name, image, runner.decode(data), len(data), ref)
    quality = scorer.summaries()
    results = {
        "date": dt.date.today().isoformat(),
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
            "threads": threads,
            "python": platform.python_version(),
        },  # fmt: skip
        "images": len(images),
        "repeats": repeats,
        "settings": {name: {**quality[name], "speed": speed[name]} for name, _, _ in settings},
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "results.json").write_text(json.dumps(results, indent=2))
    (out_dir / "results.md").write_text(markdown(results))
    plots(results, out_dir)
    return results


def markdown(results: dict) -> str:
    m = results["machine"]
    lines = [f"{results['date']}, {m['cpu']}, {m['cores']} cores, {m['threads']} threads, {results['images']} images",
             "", "| setting | bpp | PSNR outside heads | face survival | person retention | enc 640x480 ms | dec 640x480 ms "
             "| enc 1280x720 ms | dec 1280x720 ms | detect 640x480 ms | peak RSS MB |", "|" + "---|" * 11]  # fmt: skip
    for name, r in results["settings"].items():
        s = r["speed"]
        cells = [name, r["bpp"], r["psnr_outside_heads"], r["face_survival"], r["person_retention"],
                 s["640x480"]["encode_ms"], s["640x480"]["decode_ms"], s["1280x720"]["encode_ms"], s["1280x720"]["decode_ms"],
                 s["640x480"].get("detect_ms", "-"), s["peak_rss_mb"]]  # fmt: skip
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def plots(results: dict, out_dir: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    settings = results["settings"]
    for key, label, fname in (("person_retention", "person retention", "bpp_vs_person_retention.png"),
                              ("face_survival", "face survival", "bpp_vs_face_survival.png")):  # fmt: skip
        fig, ax = plt.subplots(figsize=(6, 4))
        for name, r in settings.items():
            if r[key] is not None:
                ax.scatter(r["bpp"], r[key], label=name)
                ax.annotate(name, (r["bpp"], r[key]), fontsize=7)
        ax.set_xlabel("bits per pixel")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(out_dir / fname, dpi=100)
        plt.close(fig)
    fig, ax = plt.subplots(figsize=(7, 4))
    names = list(settings)
    enc = [settings[n]["speed"]["640x480"]["encode_ms"] for n in names]
    dec = [settings[n]["speed"]["640x480"]["decode_ms"] for n in names]
    x = np.arange(len(names))
    ax.bar(x - 0.2, enc, 0.4, label="encode")
    ax.bar(x + 0.2, dec, 0.4, label="decode")
    ax.set_xticks(x, names, rotation=45, ha="right", fontsize=7)
    ax.set_ylabel("ms per 640x480 frame")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out_dir / "latency_640x480.png", dpi=100)
    plt.close(fig)


def quick_images() -> list[np.ndarray]:
    """Two small images with people and faces that ship with ultralytics."""
    return [cv2.resize(cv2.imread(str(package_file("ultralytics", "assets", n))), size)
            for n, size in (("bus.jpg", (270, 360)), ("zidane.jpg", (480, 270)))]  # fmt: skip
