"""`anon-codec bench` (and `make bench`): rate, privacy, utility and speed of every codec setting in
one run, against what robots use today.

For each setting: bpp, PSNR (whole and outside heads), MS-SSIM, blob share, face survival and person
retention by two detectors (scoring.Scorer, on originals vs decoded). JPEG, WebP and AVIF are swept
across their quality range, so each is a rate-distortion curve; every preset of the quality ladder
is a point, with and without the guard, and is compared with the curves at its own bpp
(interpolated: `targets` in results.json). A variable-rate (codec v2) model is swept across its
qualities (`QUALITY_SWEEP`, guard off; its default quality also with the guard and timed) and its
curve gets Bjøntegaard-delta rates against WebP and AVIF (`bd_rates`, the `bjontegaard` package).
Timed settings (one or two qualities per classical codec, the presets) also get encode and decode ms
per frame at 640x480 and 1280x720 (median of repeats, all in the same run and thread count), the
detection stage's ms where one is used, and peak memory (each speed run is a fresh process; its peak
RSS). Writes bench/results/<date>/ results.json, results.md, plots (PNG) and a contact sheet of
decoded held-out images.
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

from ..resources import package_file
from ..runtime import presets
from . import baselines
from .metrics import interpolate
from .scoring import Scorer
from .timing import frames, median_ms

# Quality sweeps: each classical codec's rate-distortion curve. TIMED: the qualities also timed.
SWEEPS = {"jpeg": [1, 3, 5, 10, 20, 30, 50, 70, 95], "webp": [1, 3, 5, 10, 20, 40, 60, 80], "avif": [5, 10, 20, 30, 45, 60]}
TIMED = {"jpeg@q30", "jpeg@q95", "webp@q20", "avif@q30"}  # one or two per codec: speed barely depends on quality
CONTACT = ("original", "webp@matched")  # beside the default preset with and without the guard
QUALITY_SWEEP = [0, 15, 30, 45, 60, 80, 100]  # a variable-rate model's curve
BD_METHOD = "pchip"  # monotone piecewise-cubic interpolation: no overshoot between sparse points


def _settings(quick: bool, ours: list[str] | None = None) -> list[tuple[str, str, dict, bool]]:
    """(name, kind, options, timed). Kinds: classic, matched (nearest our default's bpp), blur, roi, ours."""
    out: list[tuple[str, str, dict, bool]] = []
    qualities = {"jpeg": [30, 95], "webp": [], "avif": [30]} if quick else SWEEPS
    for codec, qs in qualities.items():
        out += [(f"{codec}@q{q}", "classic", {"codec": codec, "quality": q}, quick or f"{codec}@q{q}" in TIMED) for q in qs]
    for codec in ("jpeg", "avif") if quick else ("jpeg", "webp", "avif"):
        out.append((f"{codec}@matched", "matched", {"codec": codec, "weights": (ours or [presets.DEFAULT_PRESET])[0]}, True))
    out.append(("blur+jpeg@q60", "blur", {"quality": 60}, True))
    if not quick:
        out.append(("roi-jpeg@q60", "roi", {"quality": 60}, True))
    shipped = sorted(presets.files(), key=lambda name: name != presets.RATE_MODEL)  # the default's model first
    for preset in ours or (shipped if not quick else [presets.DEFAULT_PRESET]):
        label = Path(preset).stem
        if _variable_rate(preset):
            default = presets.quality(preset)
            for q in sorted({*([default] if quick else QUALITY_SWEEP), default}):
                out.append((f"{label}@q{q:g}", "ours", {"weights": preset, "guard": False, "quality": q}, q == default))
            out.append((f"{label}@q{default:g}+guard", "ours", {"weights": preset, "guard": True, "quality": default}, True))
            continue
        out.append((label, "ours", {"weights": preset, "guard": False}, True))
        out.append((f"{label}+guard", "ours", {"weights": preset, "guard": True}, True))
    return out


def contact_columns(settings: list[tuple[str, str, dict, bool]]) -> list[str]:
    """The contact sheet's columns: the original, our first model at its default quality (the timed
    setting, whose bpp the matched codecs follow) with and without the guard, then the matched WebP."""
    names = {name for name, *_ in settings}
    default = next(name for name, kind, opts, timed in settings if kind == "ours" and timed and not opts["guard"])
    return [c for c in (CONTACT[0], default, f"{default}+guard", *CONTACT[1:]) if c == "original" or c in names]


def _variable_rate(weights: str) -> bool:
    from ..runtime.model import load_weights

    return load_weights(presets.resolve(weights)).model.arch == "hyperprior"


def bd_rates(settings: dict) -> dict:
    """Each variable-rate curve (names `<label>@q<quality>`, guard off) against the WebP and AVIF
    curves: Bjøntegaard-delta rate of PSNR outside heads over the common range, in percent
    (negative: fewer bits for the same quality). None where the curves do not overlap."""
    import warnings

    import bjontegaard

    def curve(prefix: str) -> tuple[list[float], list[float]]:
        pts = sorted((r["bpp"], r["psnr_outside_heads"]) for n, r in settings.items()
                     if n.startswith(prefix) and "+" not in n and r.get("psnr_outside_heads") is not None)  # fmt: skip
        return [p[0] for p in pts], [p[1] for p in pts]

    labels = {n.rsplit("@q", 1)[0] for n, r in settings.items() if r.get("ours") and "@q" in n}
    out = {}
    for label in sorted(labels):
        rate, dist = curve(f"{label}@q")
        out[label] = {"method": BD_METHOD}
        for anchor in ("webp", "avif"):
            a_rate, a_dist = curve(f"{anchor}@q")
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # its overlap warning: the result is still over the common range
                    value = bjontegaard.bd_rate(a_rate, a_dist, rate, dist, method=BD_METHOD, require_matching_points=False)
                out[label][anchor] = round(float(value), 2) if np.isfinite(value) else None
            except (ValueError, ZeroDivisionError, AssertionError):
                out[label][anchor] = None
    return out


def targets(settings: dict) -> dict:
    """Each preset (guard off) against the classical curves at its own bpp (linear interpolation
    between the two nearest qualities; None where its bpp is outside a curve)."""

    def curve(codec: str, key: str) -> list[tuple[float, float]]:
        return [(r["bpp"], r[key]) for name, r in settings.items()
                if name.startswith(f"{codec}@q") and r.get(key) is not None]  # fmt: skip

    out = {}
    for name, r in settings.items():
        if not r.get("ours") or name.endswith("+guard"):
            continue
        guarded = settings.get(f"{name}+guard", {})
        out[name] = {
            "bpp": r["bpp"],
            "psnr_outside_heads": r["psnr_outside_heads"],
            "webp_psnr_outside_heads": interpolate(curve("webp", "psnr_outside_heads"), r["bpp"]),
            "psnr": r["psnr"],
            "jpeg_psnr": interpolate(curve("jpeg", "psnr"), r["bpp"]),
            "person_retention": r["person_retention"],
            "avif_person_retention": interpolate(curve("avif", "person_retention"), r["bpp"]),
            "person_retention_hog": r["person_retention_hog"],
            "avif_person_retention_hog": interpolate(curve("avif", "person_retention_hog"), r["bpp"]),
            "blob_share": r["blob_share"],
            "jpeg_blob_share": interpolate(curve("jpeg", "blob_share"), r["bpp"]),
            "face_survival": r["face_survival"],
            "face_survival_guard": guarded.get("face_survival"),
        }
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
            from ..runtime.codec import Decoder, Encoder

            enc = Encoder(opts["weights"], guard=opts["guard"], quality=opts.get("quality"))
            dec = Decoder(opts["weights"])
            self.detect = enc.stage
            self.encode = lambda img: enc(img, channel_order="bgr")
            self.decode = lambda data: dec(data, channel_order="bgr")

    @staticmethod
    def _matched(opts: dict):
        """A classical codec at the quality whose bpp is nearest ours (guard off) on each image. The
        quality is searched once per image, so timed repeats measure the codec alone."""
        import hashlib

        from ..runtime.codec import Encoder
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
    for name, kind, opts, timed in tqdm(settings, desc="speed", disable=not progress):
        if timed:
            with ProcessPoolExecutor(1, mp_context=ctx) as pool:
                speed[name] = pool.submit(_speed, kind, opts, threads, repeats, sized).result()
    scorer = Scorer()
    runners = {name: _Runner(kind, opts, threads) for name, kind, opts, _ in settings}
    sheet_cols = contact_columns(settings)
    sheet: list[list[np.ndarray]] = []
    for image, heads in tqdm(images, desc="quality", disable=not progress):
        ref = scorer.reference(image, heads)
        row = {"original": image}
        for name, runner in runners.items():
            data = runner.encode(image)
            decoded = runner.decode(data)
            scorer.add(name, image, decoded, len(data), ref)
            row[name] = decoded
        sheet.append([row[c] for c in sheet_cols])
    quality = scorer.summaries()
    for name, kind, _, _ in settings:
        quality[name]["ours"] = kind == "ours"
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
        "settings": {name: {**quality[name], **({"speed": speed[name]} if name in speed else {})} for name, *_ in settings},
    }
    results["targets"] = targets(results["settings"])
    results["bd_rate"] = bd_rates(results["settings"])
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "results.json").write_text(json.dumps(results, indent=2))
    (out_dir / "results.md").write_text(markdown(results))
    plots(results, out_dir)
    contact_sheet(sheet, sheet_cols, out_dir / "contact_sheet.jpg")
    return results


def contact_sheet(rows: list[list[np.ndarray]], columns: list[str], path: Path, width: int = 320) -> None:
    """One row per image, one column per setting, each tile `width` px wide and labelled."""
    lines = []
    for tiles in rows:
        h, w = tiles[0].shape[:2]
        size = (width, max(1, round(h * width / w)))
        resized = [cv2.resize(t if t.ndim == 3 else cv2.cvtColor(t, cv2.COLOR_GRAY2BGR), size, interpolation=cv2.INTER_AREA)
                   for t in tiles]  # fmt: skip
        for tile, name in zip(resized, columns, strict=True):
            cv2.putText(tile, name, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 3)
            cv2.putText(tile, name, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1)
        lines.append(np.hstack(resized))
    if lines:
        cv2.imwrite(str(path), np.vstack(lines), [cv2.IMWRITE_JPEG_QUALITY, 90])


def markdown(results: dict) -> str:
    m = results["machine"]
    lines = [f"{results['date']}, {m['cpu']}, {m['cores']} cores, {m['threads']} threads, {results['images']} images",
             "", "| setting | bpp | PSNR | PSNR outside heads | MS-SSIM | blob share | face survival | person retention "
             "(YOLO / HOG) | enc 640x480 ms | dec 640x480 ms | enc 1280x720 ms | dec 1280x720 ms | detect 640x480 ms "
             "| peak RSS MB |", "|" + "---|" * 14]  # fmt: skip
    for name, r in results["settings"].items():
        s = r.get("speed")
        timing = ([s["640x480"]["encode_ms"], s["640x480"]["decode_ms"], s["1280x720"]["encode_ms"], s["1280x720"]["decode_ms"],
                   s["640x480"].get("detect_ms", "-"), s["peak_rss_mb"]] if s else ["-"] * 6)  # fmt: skip
        cells = [name, r["bpp"], r["psnr"], r["psnr_outside_heads"], r["ms_ssim"], r["blob_share"], r["face_survival"],
                 f"{r['person_retention']} / {r['person_retention_hog']}", *timing]  # fmt: skip
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    if results.get("bd_rate"):
        lines += ["", f"Bjøntegaard-delta rate of PSNR outside heads, % (negative: fewer bits at equal quality; "
                  f"bjontegaard, {BD_METHOD}):", "", "| model | vs WebP | vs AVIF |", "|---|---|---|"]  # fmt: skip
        for label, r in results["bd_rate"].items():
            lines.append(f"| {label} | {r['webp']} | {r['avif']} |")
    if results.get("targets"):
        lines += ["", "Presets against the classical curves at their own bpp (interpolated; guard off unless noted):", "",
                  "| preset | bpp | PSNR outside heads / WebP's | PSNR / JPEG's | person retention YOLO / AVIF's "
                  "| HOG / AVIF's | blob share / JPEG's | face survival / with guard |", "|" + "---|" * 8]  # fmt: skip

        def pair(a, b) -> str:
            return f"{a} / {'-' if b is None else round(b, 4)}"

        for name, t in results["targets"].items():
            lines.append(f"| {name} | {t['bpp']} | {pair(t['psnr_outside_heads'], t['webp_psnr_outside_heads'])} "
                         f"| {pair(t['psnr'], t['jpeg_psnr'])} | {pair(t['person_retention'], t['avif_person_retention'])} "
                         f"| {pair(t['person_retention_hog'], t['avif_person_retention_hog'])} "
                         f"| {pair(t['blob_share'], t['jpeg_blob_share'])} "
                         f"| {pair(t['face_survival'], t['face_survival_guard'])} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def plots(results: dict, out_dir: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    settings = results["settings"]
    prefixes = [*SWEEPS, *results.get("bd_rate", {})]  # the classical sweeps and every variable-rate model's
    curves = {c: sorted((n for n in settings if n.startswith(f"{c}@q") and "+" not in n), key=lambda n: settings[n]["bpp"])
              for c in prefixes}  # fmt: skip
    for key, label, fname in (("psnr_outside_heads", "PSNR outside heads (dB)", "rd_psnr.png"),
                              ("ms_ssim", "MS-SSIM", "rd_msssim.png"),
                              ("person_retention", "person retention (YOLO)", "bpp_vs_person_retention.png"),
                              ("person_retention_hog", "person retention (HOG)", "bpp_vs_person_retention_hog.png"),
                              ("face_survival", "face survival (MTCNN)", "bpp_vs_face_survival.png")):  # fmt: skip
        fig, ax = plt.subplots(figsize=(6.5, 4.2))
        for codec, names in curves.items():
            pts = [(settings[n]["bpp"], settings[n][key]) for n in names if settings[n][key] is not None]
            if pts:
                ax.plot(*zip(*pts, strict=True), marker=".", label=codec)
        for name, r in settings.items():
            if r[key] is not None and not any(name in names for names in curves.values()):
                ours = r.get("ours")
                ax.scatter(r["bpp"], r[key], marker="*" if ours else "x", s=80 if ours else 30, zorder=3)
                ax.annotate(name, (r["bpp"], r[key]), fontsize=7)
        ax.set_xlabel("bits per pixel")
        ax.set_ylabel(label)
        ax.set_xlim(0, min(2.0, max(r["bpp"] for r in settings.values()) * 1.05))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(out_dir / fname, dpi=100)
        plt.close(fig)
    timed = [n for n in settings if "speed" in settings[n]]
    fig, ax = plt.subplots(figsize=(7, 4))
    enc = [settings[n]["speed"]["640x480"]["encode_ms"] for n in timed]
    dec = [settings[n]["speed"]["640x480"]["decode_ms"] for n in timed]
    x = np.arange(len(timed))
    ax.bar(x - 0.2, enc, 0.4, label="encode")
    ax.bar(x + 0.2, dec, 0.4, label="decode")
    ax.set_xticks(x, timed, rotation=45, ha="right", fontsize=7)
    ax.set_ylabel("ms per 640x480 frame")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out_dir / "latency_640x480.png", dpi=100)
    plt.close(fig)


def quick_images() -> list[np.ndarray]:
    """Two small images with people and faces that ship with ultralytics."""
    return [cv2.resize(cv2.imread(str(package_file("ultralytics", "assets", n))), size)
            for n, size in (("bus.jpg", (270, 360)), ("zidane.jpg", (480, 270)))]  # fmt: skip
