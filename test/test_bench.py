"""Baselines and the benchmark suite."""

from __future__ import annotations

import importlib.util
import io
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from anon_compression_codec.evaluation import baselines

CLI = Path(sys.executable).with_name("anon-codec")
ASSETS = next(Path(sys.prefix).glob("lib/python3*/site-packages/ultralytics/assets"))


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return cv2.resize(cv2.imread(str(ASSETS / "bus.jpg")), (240, 320))


@pytest.mark.parametrize("name", ["jpeg", "webp", "avif"])
def test_baselines_decode_with_a_standard_decoder(photo, name):
    data = baselines.CODECS[name].encode(photo, 40)
    standard = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))  # Pillow, not our decode path
    assert standard.shape == photo.shape
    assert baselines.CODECS[name].decode(data).shape == photo.shape
    assert len(data) < len(baselines.CODECS[name].encode(photo, 90))


def test_at_bpp_finds_the_nearest_quality(photo):
    q, data = baselines.at_bpp(baselines.CODECS["jpeg"], photo, 1.0)
    bpp = 8 * len(data) / (photo.shape[0] * photo.shape[1])
    neighbours = [8 * len(baselines.CODECS["jpeg"].encode(photo, qq)) / photo.size * 3 for qq in (max(1, q - 1), min(100, q + 1))]
    assert all(abs(bpp - 1.0) <= abs(n - 1.0) + 1e-9 for n in neighbours)


def test_roi_jpeg_spends_its_bytes_on_people(photo):
    persons = np.array([[60, 80, 180, 300, 0.9]])
    data = baselines.roi_jpeg(photo, persons, np.zeros((0, 5)), quality=60)
    decoded = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))[..., ::-1]
    assert decoded.shape == photo.shape
    # Cost of each region: JPEG bytes per pixel of that region of the ROI-JPEG image.
    person = decoded[80:300, 60:180]
    background = np.hstack([decoded[:, :50], decoded[:, 190:]])
    per_px = [len(baselines.CODECS["jpeg"].encode(np.ascontiguousarray(r), 60)) / r[..., 0].size for r in (person, background)]
    assert per_px[0] > 1.5 * per_px[1]
    err = (decoded.astype(float) - photo.astype(float)) ** 2
    assert err[80:300, 60:180].mean() < err[:, :50].mean()


def test_bench_quick_writes_results_and_plots(tmp_path, weights):
    res = subprocess.run([CLI, "bench", "--quick", "--weights", weights, "--out", tmp_path, "--repeats", "1"],
                         capture_output=True, text=True, timeout=900)  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["machine"]["threads"] == 2 and results["images"] == 2
    names = set(results["settings"])
    assert {"jpeg@q30", "jpeg@q95", "avif@q30", "jpeg@matched", "avif@matched", "blur+jpeg@q60", "tiny", "tiny+guard"} <= names
    ours_bpp = results["settings"]["tiny"]["bpp"]
    assert abs(results["settings"]["jpeg@matched"]["bpp"] - ours_bpp) < abs(results["settings"]["jpeg@q95"]["bpp"] - ours_bpp)
    for r in results["settings"].values():
        assert r["bpp"] > 0 and 0 <= r["person_retention"] <= 1
        assert r["speed"]["640x480"]["encode_ms"] > 0 and r["speed"]["1280x720"]["decode_ms"] > 0
        assert r["speed"]["peak_rss_mb"] > 0
    assert "detect_ms" in results["settings"]["tiny+guard"]["speed"]["640x480"]
    for png in ("bpp_vs_person_retention.png", "bpp_vs_face_survival.png", "latency_640x480.png"):
        assert (tmp_path / png).stat().st_size > 1000
    assert (tmp_path / "results.md").read_text().count("\n") >= 2 + len(names)


def test_variable_rate_model_is_swept_and_gets_bd_rates(hyper_weights, weights):
    from anon_compression_codec.evaluation.bench import QUALITY_SWEEP, _settings, bd_rates, contact_columns
    from anon_compression_codec.runtime.presets import DEFAULT_QUALITY

    default = f"hyper@q{DEFAULT_QUALITY:g}"  # a weight file is benched at the default quality, and timed there
    names = {name: (opts, timed) for name, kind, opts, timed in _settings(False, [hyper_weights, weights]) if kind == "ours"}
    assert {f"hyper@q{q}" for q in QUALITY_SWEEP} | {f"{default}+guard", "tiny", "tiny+guard"} <= set(names)
    assert names["hyper@q60"][0]["quality"] == 60 and not names["hyper@q60"][1] and names[default][1]
    # The contact sheet shows the default quality (whose bpp webp@matched follows), not the sweep's first.
    sheet = contact_columns(_settings(False, [hyper_weights, weights]))
    assert sheet == ["original", default, f"{default}+guard", "webp@matched"]
    assert contact_columns(_settings(False, [weights])) == ["original", "tiny", "tiny+guard", "webp@matched"]
    # A curve that spends 20 % fewer bits than WebP at every quality: BD-rate -20 %; AVIF never overlaps.
    settings = {}
    for i, q in enumerate((5, 20, 40, 80)):
        bits, dist = 0.1 * 1.6**i, 26.0 + 2 * i
        settings[f"webp@q{q}"] = {"bpp": bits, "psnr_outside_heads": dist}
        settings[f"hyper@q{q}"] = {"bpp": 0.8 * bits, "psnr_outside_heads": dist, "ours": True}
        settings[f"avif@q{q}"] = {"bpp": bits, "psnr_outside_heads": 50.0 + i}
    settings["hyper@q50+guard"] = {"bpp": 9.0, "psnr_outside_heads": 10.0, "ours": True}  # not on the curve
    result = bd_rates(settings)["hyper"]
    assert abs(result["webp"] + 20) < 0.5 and result["avif"] is None


def test_ab_eval_compares_arms_at_equal_bits(tmp_path):
    rows = "step,bpp,psnr,lr,quality\n2000,0.1,25.0,2e-4,0\n2000,0.4,29.0,2e-4,100\n"
    (tmp_path / "a.csv").write_text(rows)
    # B: q0 inside A's range, 0.5 dB over it; q60 5 % beyond it (extended); q100 25 % beyond (not compared)
    b = "step,bpp,psnr,lr,quality\n2000,0.2,27.5,2e-4,0\n2000,0.42,29.0,2e-4,60\n2000,0.5,29.5,2e-4,100\n"
    (tmp_path / "b.csv").write_text(b)
    def rows(*extra: str) -> list[str]:
        out = subprocess.run([sys.executable, "bench/ab_eval.py", tmp_path / "a.csv", tmp_path / "b.csv", *extra],
                             capture_output=True, text=True, check=True).stdout  # fmt: skip
        return out.splitlines()[2:]

    row = rows()[0].split(" | ")
    assert row[0] == "| 2000"
    # A at 0.2 bpp: 25 + 4 * log(2) / log(4) = 27.0; at 0.42: 29 + 4 * log(1.05) / log(4) = 29.14
    assert row[-3:] == ["+0.50", "-0.14", "- |"]
    assert rows("--offset", "1000") == []  # B's step 2000 is A's 3000, which A did not evaluate


def test_persons_takes_a_quality_per_weight_file():
    spec = importlib.util.spec_from_file_location("persons", "bench/persons.py")
    persons = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(persons)
    assert persons._codec("default@27.5", 30.0)[0].quality == 27.5
    assert persons._codec("default", 30.0)[0].quality == 30.0


def test_pooled_tally_gives_totals_over_images():
    from anon_compression_codec.evaluation.scoring import Tally

    a = Tally(bytes=100, pixels=800, persons=3, persons_kept=2, sq_err_outside=80.0, px_outside=800, ms_ssim=[0.9])
    b = Tally(bytes=300, pixels=800, persons=1, persons_kept=1, sq_err_outside=240.0, px_outside=800, ms_ssim=[0.8])
    pooled = sum([a, b], Tally())
    assert (pooled.bytes, pooled.persons, pooled.persons_kept, pooled.ms_ssim) == (400, 4, 3, [0.9, 0.8])
    summary = pooled.summary()
    assert summary["bpp"] == 2.0 and summary["person_retention"] == 0.75
    assert summary["psnr_outside_heads"] == round(10 * np.log10(255**2 / 0.2), 2)  # pooled error, not a mean of PSNRs
