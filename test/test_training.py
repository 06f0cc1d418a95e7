"""Training, labelling, evaluation and the shipped presets, on tiny data."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import yaml

from anon_compression_codec import Decoder, Encoder, load_weights
from anon_compression_codec.data.boxes import Record, read_json, read_odgt, write_json
from anon_compression_codec.errors import InputError, WeightsError
from anon_compression_codec.resources import person_model_path
from anon_compression_codec.runtime import bitstream, presets
from anon_compression_codec.runtime.model import save_weights
from anon_compression_codec.training.loop import Config, _init_from, export, train
from anon_compression_codec.training.task import DetectorFeatures

CLI = Path(sys.executable).with_name("anon-codec")
ULTRALYTICS_ASSETS = next(Path(sys.prefix).glob("lib/python3*/site-packages/ultralytics/assets"))


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("data")
    (root / "images").mkdir()
    rng = np.random.default_rng(0)
    records = []
    for i in range(2):
        img = cv2.GaussianBlur(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8), (0, 0), 3)
        cv2.imwrite(str(root / f"images/{i}.png"), img)
        records.append(Record(f"images/{i}.png", 64, 48, heads=[[10, 5, 30, 25]], bodies=[[5, 5, 40, 47]]))
    write_json(root / "labels.json", records, {"made_by": "test"})
    return root


def _config(tiny_data: Path, out: Path, steps: int) -> Config:
    return Config(N=8, M=0, labels=str(tiny_data / "labels.json"), crop=32, batch=2, steps=steps, lr=1e-2, threads=1,
                  checkpoint_every=5, log_every=1, lfw_faces=False, paste_faces=1, out=str(out))  # fmt: skip


def _log(out: Path) -> list[dict]:
    with open(out / "log.csv") as f:
        return list(csv.DictReader(f))


def test_training_reduces_the_loss_and_writes_a_loadable_checkpoint(tiny_data, tmp_path):
    ckpt = train(_config(tiny_data, tmp_path / "run", 80), progress=False)
    rows = _log(tmp_path / "run")
    first = np.mean([float(r["mse"]) for r in rows[:5]])
    last = np.mean([float(r["mse"]) for r in rows[-5:]])
    assert last < 0.7 * first
    model_id = export(ckpt, tmp_path / "w.pt")
    loaded = load_weights(tmp_path / "w.pt")
    assert loaded.model_id == model_id and loaded.metadata["steps"] == 80
    img = np.random.default_rng(1).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    assert Decoder(str(tmp_path / "w.pt"))(Encoder(str(tmp_path / "w.pt"))(img)).shape == img.shape


def test_training_can_start_from_a_weight_file(tiny_data, tmp_path):
    first = export(train(_config(tiny_data, tmp_path / "a", 5), progress=False), tmp_path / "a.pt")
    cfg = _config(tiny_data, tmp_path / "b", 1)
    cfg.init, cfg.lr, cfg.aux_lr = str(tmp_path / "a.pt"), 0.0, 0.0  # lr 0: the weights stay those of the init file
    export(train(cfg, progress=False), tmp_path / "b.pt")
    assert load_weights(tmp_path / "b.pt").model_id == first


def test_resume_continues_the_step_count(tiny_data, tmp_path):
    out = tmp_path / "run"
    train(_config(tiny_data, out, 10), progress=False)
    train(_config(tiny_data, out, 15), resume=True, progress=False)
    steps = [int(r["step"]) for r in _log(out)]
    assert steps == list(range(1, 16))
    assert torch.load(out / "last.ckpt", weights_only=False)["step"] == 15


def test_train_cli_with_yaml_config(tiny_data, tmp_path):
    cfg = {k: v for k, v in vars(_config(tiny_data, tmp_path / "run", 3)).items() if k != "extra"}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    res = subprocess.run([CLI, "train", "--config", tmp_path / "c.yaml"], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "run" / "last.ckpt").is_file()
    bad = tmp_path / "bad.yaml"
    bad.write_text("N: 8\nno_such_key: 1\n")
    res = subprocess.run([CLI, "train", "--config", bad], capture_output=True, text=True, timeout=300)
    assert res.returncode == 2 and "no_such_key" in res.stderr


def test_odgt_reader_honours_tags_and_ignore_flags(tmp_path):
    lines = [
        {"ID": "a", "gtboxes": [
            {"tag": "person", "hbox": [1, 2, 3, 4], "vbox": [0, 0, 10, 20], "head_attr": {"ignore": 0}, "extra": {}},
            {"tag": "person", "hbox": [5, 5, 2, 2], "vbox": [4, 4, 5, 5], "head_attr": {"unsure": 1}},
            {"tag": "person", "hbox": [9, 9, 1, 1], "vbox": [9, 9, 1, 1], "extra": {"ignore": 1}},
            {"tag": "mask", "hbox": [0, 0, 1, 1], "vbox": [0, 0, 1, 1]},
        ]},
    ]  # fmt: skip
    path = tmp_path / "ann.odgt"
    path.write_text("\n".join(json.dumps(x) for x in lines))
    (rec,) = read_odgt(path)
    assert rec.file == "Images/a.jpg"
    assert rec.heads == [[1, 2, 4, 6]]
    assert rec.bodies == [[0, 0, 10, 20], [4, 4, 9, 9]]


def test_label_command_finds_people_and_faces(tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    img = cv2.imread(str(ULTRALYTICS_ASSETS / "zidane.jpg"))
    cv2.imwrite(str(folder / "zidane.jpg"), cv2.resize(img, (640, 360)))
    res = subprocess.run([CLI, "label", folder, tmp_path / "labels.json"], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    records, provenance = read_json(tmp_path / "labels.json")
    assert len(records[0].bodies) >= 2 and len(records[0].heads) >= 2
    assert "centerface" in json.dumps(provenance) and "haar" in json.dumps(provenance)


def test_eval_command_reports_every_codec(tmp_path, weights):
    folder = tmp_path / "imgs"
    folder.mkdir()
    cv2.imwrite(str(folder / "bus.jpg"), cv2.resize(cv2.imread(str(ULTRALYTICS_ASSETS / "bus.jpg")), (270, 360)))
    res = subprocess.run([CLI, "eval", "--images", folder, "--weights", weights, "--json", tmp_path / "r.json"],
                         capture_output=True, text=True, timeout=600)  # fmt: skip
    assert res.returncode == 0, res.stderr
    results = json.loads((tmp_path / "r.json").read_text())["results"]
    assert set(results) == {"ours", "ours+guard", "blur+jpeg@q60", "jpeg@matched", "avif@matched", "jpeg@q30", "avif@q30"}
    for summary in results.values():
        assert summary["bpp"] > 0 and summary["persons"] >= 1
        assert 0 <= summary["person_retention"] <= 1
    res = subprocess.run(
        [CLI, "eval", "--images", folder, "--weights", weights, "--no-guard"], capture_output=True, text=True, timeout=600
    )
    assert res.returncode == 0 and "ours+guard" not in res.stdout


def test_shipped_presets_load_and_roundtrip():
    assert {"v2", "paper"} <= set(presets.files())
    assert set(presets.available()) == set(presets.files()) | {"low", "default", "high"}
    img = np.random.default_rng(2).integers(0, 256, (50, 70, 3), dtype=np.uint8)
    for name in presets.files():
        w = load_weights(presets.resolve(name))
        assert w.stored_dtype == "float16" and w.metadata["steps"] > 0
        assert (presets.PRESET_DIR / f"{name}.md").is_file(), f"{name} has no model card"
        assert Decoder(name)(Encoder(name)(img)).shape == img.shape
    assert Encoder().model_id == Encoder(presets.DEFAULT_PRESET).model_id


def test_named_qualities_are_qualities_of_one_variable_rate_file():
    img = np.random.default_rng(3).integers(0, 256, (96, 128, 3), dtype=np.uint8)
    dec, sizes = Decoder("default"), {}
    for name, quality in presets.NAMED_QUALITIES.items():
        assert presets.resolve(name) == presets.resolve(presets.RATE_MODEL)
        enc = Encoder(name, guard=False)
        assert enc.variable_rate and enc.quality == quality == presets.quality(name)
        data = enc(img)
        assert bitstream.peek_header(data).quality == round(quality * 100)
        assert dec(data).shape == img.shape  # one decoder for every named quality
        sizes[quality] = len(data)
    assert sizes[presets.NAMED_QUALITIES["low"]] < sizes[presets.DEFAULT_QUALITY] < sizes[presets.NAMED_QUALITIES["high"]]
    high = Encoder("high", guard=False, quality=5)
    assert high.quality == 5  # an explicit quality wins
    high.set_quality(None)  # back to the name's
    assert high.quality == presets.NAMED_QUALITIES["high"] == high.named_quality
    assert Encoder("paper", guard=False).quality == presets.DEFAULT_QUALITY  # a file: the default quality
    for retired in presets.RETIRED_DIR.glob("*.pt"):  # still decodable, still documented
        w = load_weights(retired)
        assert retired.stem.endswith(w.model_id_hex) and retired.with_suffix(".md").is_file()
        assert presets.find(w.model_id) == str(retired)


@pytest.fixture(scope="module")
def tiny_pool(tmp_path_factory) -> Path:
    """A photo pool in the format `anon-codec data pool` writes: two train photos, one held out."""
    from anon_compression_codec.data.pool import Photo

    root = tmp_path_factory.mktemp("pool")
    (root / "images").mkdir()
    rng = np.random.default_rng(3)
    photos = []
    for name, split in (("a", "train"), ("b", "train"), ("held", "eval")):
        img = cv2.GaussianBlur(rng.integers(0, 256, (100, 140, 3), dtype=np.uint8), (0, 0), 2)
        cv2.imwrite(str(root / f"images/{name}.png"), img)
        photos.append(Photo(f"images/{name}.png", name, "test", name, "test", split, 140, 100).__dict__)
    (root / "pool.json").write_text(json.dumps({"photos": photos}))
    return root


def test_pool_splits_and_sources():
    from anon_compression_codec.data import pool

    names = [s.name for s in pool.SOURCES]
    assert len(names) == len(set(names))
    held = {p for s in pool.SOURCES if s.split == "eval" for p in s.paths}
    assert held and not held & {p for s in pool.SOURCES if s.split == "train" for p in s.paths}
    assert all(s.licence for s in pool.SOURCES)


POOL_MANIFEST = Path(__file__).resolve().parents[1] / "data" / "pool"


def test_pool_manifest_is_large_licensed_and_apart_from_the_benchmarks():
    """The committed manifest of `make data`: >= 300 distinct photos, each with a licence; held-out
    sources share no package collection with training ones and hold people; no photo is a
    near-duplicate of another or of an image the benchmarks evaluate."""
    from anon_compression_codec.data import pool

    photos = pool.manifest(POOL_MANIFEST)
    assert len(photos) >= 300
    assert all(p["licence"] and p["package"] and p["source"] for p in photos)
    by_name = {s.name: s for s in pool.SOURCES}
    source_of = {p["name"]: next(n for n in by_name if p["name"] == n or p["name"].startswith(n + "-")) for p in photos}
    for p in photos:
        assert by_name[source_of[p["name"]]].split == p["split"], p["name"]
    held = [p for p in photos if p["split"] == "eval"]
    assert {source_of[p["name"]] for p in held}.isdisjoint({source_of[p["name"]] for p in photos if p["split"] == "train"})
    assert sum(len(p["bodies"]) > 0 for p in held) >= 5 and sum(len(p["heads"]) for p in held) >= 10
    marks = [p["fingerprint"] for p in photos]
    assert all(pool.distance(a, b) >= pool.NEAR for i, a in enumerate(marks) for b in marks[i + 1 :])
    bench = pool.benchmark_fingerprints()
    assert bench, "no benchmark image installed to compare with (opencv-doc, scikit-image, ultralytics)"
    assert all(pool.distance(a, b) >= pool.NEAR for a in marks for b in bench.values())


def test_fingerprint_matches_resized_copies_only():
    from anon_compression_codec.data import pool

    rng = np.random.default_rng(0)
    img, other = (cv2.resize(rng.integers(0, 256, (12, 16, 3), dtype=np.uint8), (400, 300), interpolation=cv2.INTER_CUBIC)
                  for _ in range(2))  # fmt: skip
    small = cv2.imdecode(cv2.imencode(".jpg", cv2.resize(img, (200, 150)), [cv2.IMWRITE_JPEG_QUALITY, 60])[1], 1)
    assert pool.distance(pool.fingerprint(img), pool.fingerprint(small)) < pool.NEAR
    assert pool.distance(pool.fingerprint(img), pool.fingerprint(other)) > 3 * pool.NEAR


def test_containers_find_the_largest_embedded_jpeg_and_refuse_foreign_bundles():
    from anon_compression_codec.data import containers

    rng = np.random.default_rng(1)
    big = cv2.imencode(".jpg", rng.integers(0, 256, (64, 96, 3), dtype=np.uint8))[1].tobytes()
    small = cv2.imencode(".jpg", rng.integers(0, 256, (16, 16, 3), dtype=np.uint8))[1].tobytes()
    blob = b"Eet header" + small + b"\x00" * 7 + big + b"trailing data"
    assert containers.largest_jpeg(blob).shape == (64, 96, 3)
    with pytest.raises(InputError, match="no JPEG"):
        containers.largest_jpeg(b"\xff\xd8\xff but not an image")
    with pytest.raises(InputError, match="not a Qt resource"):
        list(containers.qt_resources(b"PK\x03\x04 a zip file"))


def test_pool_read_keeps_held_out_photos_apart(tiny_pool, tmp_path):
    from anon_compression_codec.data import pool

    assert [p.name for p in pool.read(tiny_pool, "train")] == ["a.png", "b.png"]
    assert [p.name for p in pool.read(tiny_pool, "eval")] == ["held.png"]
    with pytest.raises(InputError, match="anon-codec data pool"):
        pool.read(tmp_path)


def test_samples_mix_photos_without_boxes(tiny_data, tiny_pool):
    from anon_compression_codec.data import pool
    from anon_compression_codec.training.samples import TrainingSet

    records, _ = read_json(tiny_data / "labels.json")
    only_photos = TrainingSet(records, tiny_data, 32, None, 0, photos=pool.read(tiny_pool), photo_share=1.0)
    only_frames = TrainingSet(records, tiny_data, 32, None, 0)
    for i in range(10):
        x, heads, bodies = only_photos[i]
        assert x.shape == (3, 32, 32) and len(heads) == 0 and len(bodies) == 0
    assert sum(len(only_frames[i][2]) for i in range(10)) > 0  # labelled frames bring their boxes
    with pytest.raises(ValueError, match="photos"):
        TrainingSet(records, tiny_data, 32, photo_share=0.5)


def test_cosine_schedule_with_warmup():
    cfg = Config(lr=1e-3, lr_min=1e-5, lr_schedule="cosine", warmup=10, steps=110)
    assert cfg.lr_at(0) == pytest.approx(1e-4)
    assert cfg.lr_at(9) == pytest.approx(1e-3)
    assert cfg.lr_at(10) == pytest.approx(1e-3)
    assert cfg.lr_at(60) == pytest.approx((1e-3 + 1e-5) / 2)
    assert cfg.lr_at(110) == pytest.approx(1e-5)
    assert Config(lr=1e-3).lr_at(5000) == 1e-3


def test_lr_steps_drop_the_rate_from_their_step_on(tmp_path):
    cfg = Config(lr=2e-4, warmup=300, lr_steps=[[60000, 2.5e-5], [48000, 1e-4]])
    assert cfg.lr_at(299) == pytest.approx(2e-4) and cfg.lr_at(47999) == 2e-4
    assert cfg.lr_at(48000) == 1e-4 and cfg.lr_at(59999) == 1e-4 and cfg.lr_at(400000) == 2.5e-5
    bad = tmp_path / "bad.yaml"
    for text in ("lr_steps: [[48000]]", "lr_steps: 5", "lr_steps: [[a, 1e-4]]", "lr_steps: [[1000, 0]]"):
        bad.write_text(text + "\n")
        with pytest.raises(InputError, match="lr_steps"):
            Config.load(bad)


def test_bad_head_term_or_schedule_is_refused(tmp_path):
    for bad in ({"head": "maximal"}, {"lr_schedule": "step"}):
        (tmp_path / "c.yaml").write_text(yaml.safe_dump(bad))
        with pytest.raises(InputError, match="head must be one of"):
            Config.load(tmp_path / "c.yaml")


def test_asymmetric_lowpass_training_with_photos_evaluates_and_exports(tiny_data, tiny_pool, tmp_path):
    cfg = _config(tiny_data, tmp_path / "run", 12)
    cfg.S, cfg.head, cfg.pool, cfg.photo_share, cfg.eval_every = 12, "lowpass", str(tiny_pool), 0.5, 6
    cfg.lr_schedule, cfg.warmup = "cosine", 2
    ckpt = train(cfg, progress=False)
    with open(tmp_path / "run" / "eval.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["step"]) for r in rows] == [6, 12] and all(float(r["bpp"]) > 0 and float(r["psnr"]) > 5 for r in rows)
    export(ckpt, tmp_path / "w.pt")
    loaded = load_weights(tmp_path / "w.pt")
    assert (loaded.model.N, loaded.model.M, loaded.model.S, loaded.model.name) == (8, 0, 12, "8-0-12")
    assert loaded.metadata["config"]["head"] == "lowpass"
    # A wider synthesis can start from a symmetric model: the analysis and the prior carry over.
    sym = export(train(_config(tiny_data, tmp_path / "sym", 2), progress=False), tmp_path / "sym.pt")
    assert sym != loaded.model_id
    cfg2 = _config(tiny_data, tmp_path / "init", 1)
    cfg2.S, cfg2.init = 12, str(tmp_path / "sym.pt")
    start = load_weights(tmp_path / "sym.pt").model.g_a[0].weight
    export(train(cfg2, progress=False), tmp_path / "init.pt")
    assert not torch.equal(load_weights(tmp_path / "init.pt").model.g_a[0].weight, torch.zeros_like(start))


def test_export_refuses_a_checkpoint_with_missing_weights(tiny_data, tmp_path):
    ckpt = train(_config(tiny_data, tmp_path / "run", 1), progress=False)
    state = torch.load(ckpt, weights_only=True)
    del state["model"]["g_s.0.weight"]
    torch.save(state, tmp_path / "broken.ckpt")
    with pytest.raises(InputError, match="does not match"):
        export(tmp_path / "broken.ckpt", tmp_path / "w.pt")


def test_pixel_cache_is_built_once_and_keeps_every_scale(tmp_path):
    from anon_compression_codec.training.pixels import LEVEL_STEP, PixelCache

    rng = np.random.default_rng(4)
    files = []
    for i, (h, w) in enumerate(((300, 400), (90, 120))):
        files.append(tmp_path / f"{i}.png")
        cv2.imwrite(str(files[-1]), rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
    cache = PixelCache.open(files, tmp_path / "cache", base_side=320, min_side=64)
    again = PixelCache.open(files, tmp_path / "cache", base_side=320, min_side=64)
    assert len(list((tmp_path / "cache").glob("*.u8"))) == 1 and len(again) == 2
    sides = [(lv.height, lv.width) for lv in cache.levels[0]]
    assert sides[0] == (240, 320) and all(min(s) >= 64 for s in sides) and len(sides) == 4
    assert cache.levels[0][1].scale == pytest.approx(0.8 * LEVEL_STEP, rel=0.01)  # boxes scale with the level
    np.testing.assert_array_equal(cache.level(1, 0), cv2.imread(str(files[1])))  # small enough: stored as is
    assert not cache.level(1, 0).flags.writeable
    cv2.imwrite(str(files[1]), rng.integers(0, 256, (90, 120, 3), dtype=np.uint8))  # a changed image: a new cache
    PixelCache.open(files, tmp_path / "cache", base_side=320, min_side=64)
    assert len(list((tmp_path / "cache").glob("*.u8"))) == 2


def test_crops_carry_their_boxes_through_scale_jitter_and_flips(tmp_path):
    """A bright box on a dark image, labelled as a head: in every sample the head box lands on it."""
    from anon_compression_codec.training.samples import TrainingSet

    img = np.full((200, 300, 3), 20, np.uint8)
    img[60:120, 100:160] = 250
    cv2.imwrite(str(tmp_path / "a.png"), img)
    records = [Record("a.png", 300, 200, heads=[[100, 60, 160, 120]], bodies=[[90, 50, 170, 199]])]
    data = TrainingSet(records, tmp_path, crop=64, faces=None, paste_faces=0, cache=tmp_path / "cache")
    seen = 0
    for i in range(60):
        x, heads, bodies = data[i]
        x = x.numpy().mean(0) * 255
        for x0, y0, x1, y1 in heads.round().int().tolist():
            if x1 - x0 >= 6 and y1 - y0 >= 6:
                assert x[y0 + 2 : y1 - 2, x0 + 2 : x1 - 2].mean() > 180
                outside = np.ones_like(x, bool)
                outside[max(0, y0 - 3) : y1 + 3, max(0, x0 - 3) : x1 + 3] = False
                assert not outside.any() or x[outside].mean() < 90
                seen += 1
    assert seen >= 10


def test_prefetched_batches_arrive_in_order_and_errors_surface():
    from anon_compression_codec.training.loop import prefetched

    assert list(prefetched(iter(range(50)), 3)) == list(range(50))
    assert list(prefetched(iter(range(5)), 0)) == list(range(5))

    def broken():
        yield 1
        raise ValueError("bad sample")

    with pytest.raises(ValueError, match="bad sample"):
        list(prefetched(broken(), 2))


def test_bf16_autocast_runs_the_transforms_only(tiny_data):
    """Under bf16 autocast the entropy model's likelihoods and x_hat stay fp32 and close to fp32's."""
    from anon_compression_codec import AnonAutoencoder
    from anon_compression_codec.runtime import speedups
    from anon_compression_codec.training.loop import use_bf16

    torch.manual_seed(0)
    model = AnonAutoencoder(8, 0)
    x = torch.rand(2, 3, 32, 32)
    ref = model(x)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(x.contiguous(memory_format=torch.channels_last))
    assert out["x_hat"].dtype == torch.float32 and out["likelihoods"]["y"].dtype == torch.float32
    assert float((out["x_hat"] - ref["x_hat"]).detach().abs().mean()) < 0.01
    assert not use_bf16("fp32", log=lambda _: None) and use_bf16("bf16", log=lambda _: None)
    notes = []
    assert use_bf16("auto", log=notes.append) == speedups.native_bf16()
    assert bool(notes) != speedups.native_bf16()  # the fall-back to fp32 is said in one line


def test_config_refuses_an_unknown_precision(tmp_path):
    (tmp_path / "c.yaml").write_text("precision: fp16\n")
    with pytest.raises(InputError, match="precision"):
        Config.load(tmp_path / "c.yaml")


def test_pool_photos_picks_a_subset_of_the_training_photos(tiny_pool, tiny_data):
    from anon_compression_codec.training.loop import _pool_photos

    cfg = Config(labels=str(tiny_data / "labels.json"), pool=str(tiny_pool))
    assert [p.name for p in _pool_photos(cfg)] == ["a.png", "b.png"]
    cfg.pool_photos = ["b"]
    assert [p.name for p in _pool_photos(cfg)] == ["b.png"]
    cfg.pool_photos = ["held"]  # a held-out photo is never a training photo
    with pytest.raises(InputError, match="held"):
        _pool_photos(cfg)


def test_retired_presets_are_found_by_model_id_so_old_recordings_decode(tmp_path, monkeypatch, random_weights):
    """A preset replaced by better weights moves to presets/retired/<name>-<id>.pt: frames made with
    it still find their weights (bag decode, the decoder and web nodes follow by model id)."""
    import shutil

    monkeypatch.setattr(presets, "RETIRED_DIR", tmp_path)
    old = load_weights(random_weights)
    assert presets.find(old.model_id) is None
    shutil.copy(random_weights, tmp_path / f"default-{old.model_id_hex}.pt")
    found = presets.find(old.model_id)
    assert found == str(tmp_path / f"default-{old.model_id_hex}.pt") and found not in presets.available()
    img = np.random.default_rng(3).integers(0, 256, (32, 48, 3), dtype=np.uint8)
    assert Decoder(found)(Encoder(random_weights, guard=False)(img)).shape == img.shape


def test_variable_rate_hyperprior_trains_every_level_and_exports(tiny_data, tiny_pool, tmp_path):
    cfg = _config(tiny_data, tmp_path / "run", 30)
    cfg.arch, cfg.L, cfg.H, cfg.Z, cfg.rates, cfg.lr = "hyperprior", 16, 8, 4, [0.05, 0.002, 0.0001], 1e-2
    cfg.pool, cfg.photo_share, cfg.eval_every, cfg.eval_side = str(tiny_pool), 0.5, 30, 256
    ckpt = train(cfg, progress=False)
    with open(tmp_path / "run" / "eval.csv") as f:
        rows = {float(r["quality"]): r for r in csv.DictReader(f)}
    assert sorted(rows) == [0.0, 50.0, 100.0]  # lowest, middle and highest level
    assert float(rows[0.0]["bpp"]) < float(rows[100.0]["bpp"])  # the levels' rates pull apart
    export(ckpt, tmp_path / "v2.pt")
    loaded = load_weights(tmp_path / "v2.pt")
    assert loaded.model.arch == "hyperprior" and loaded.model.levels == 3 and loaded.metadata["steps"] == 30
    img = np.random.default_rng(1).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    assert Decoder(str(tmp_path / "v2.pt"))(Encoder(str(tmp_path / "v2.pt"), quality=80)(img)).shape == img.shape

    (tmp_path / "c.yaml").write_text(yaml.safe_dump({"arch": "hyperprior", "rates": [0.01]}))
    with pytest.raises(InputError, match="2..16 `rates`"):
        Config.load(tmp_path / "c.yaml")


def test_task_term_compares_detector_features_and_leaves_the_detector_frozen(tmp_path):
    features = DetectorFeatures(person_model_path())
    smooth = cv2.GaussianBlur(np.random.default_rng(0).random((64, 96, 3), np.float32), (0, 0), 2)
    x = torch.from_numpy(smooth).permute(2, 0, 1)[None]
    assert float(features(x, x)) == 0.0
    noise = torch.randn_like(x)
    x_hat = (x + 0.02 * noise).clamp(0, 1).requires_grad_(True)
    term = features(x_hat, x)
    assert 0 < float(term.detach()) < float(features((x + 0.1 * noise).clamp(0, 1), x))  # more noise, more feature error
    term.backward()
    assert x_hat.grad.abs().sum() > 0 and all(p.grad is None for p in features.parameters())
    features.train()
    assert not any(m.training for m in features.modules())  # batch norm keeps the detector's statistics
    with pytest.raises(WeightsError, match="sequential"):
        DetectorFeatures(person_model_path(), layers=[12])  # layer 11 concatenates two earlier ones
    (tmp_path / "bad.pt").write_bytes(b"not a model")
    with pytest.raises(WeightsError, match="cannot load"):
        DetectorFeatures(tmp_path / "bad.pt")


def test_training_with_the_task_term_logs_it(tiny_data, tmp_path):
    cfg = _config(tiny_data, tmp_path / "run", 3)
    cfg.task = 0.01
    train(cfg, progress=False)
    rows = _log(tmp_path / "run")
    assert len(rows) == 3 and all(float(r["task"]) > 0 for r in rows)
    assert all(float(r["loss"]) >= float(r["mse"]) + 0.01 * float(r["task"]) - 1e-6 for r in rows)
    for text, message in (("task: -1", "task must be"), ("task: true", "task must be"), ("task_layers: []", "task_layers"),
                          ("task_layers: [2, x]", "task_layers"), ("task_layers: 4", "task_layers")):  # fmt: skip
        (tmp_path / "c.yaml").write_text(text + "\n")
        with pytest.raises(InputError, match=message):
            Config.load(tmp_path / "c.yaml")


def test_a_wider_synthesis_starts_as_the_narrower_decoder(tmp_path):
    torch.manual_seed(0)
    narrow = Config(arch="hyperprior", N=8, L=16, S=8, H=8, Z=8, rates=[0.01, 0.001]).build()
    with torch.no_grad():  # away from the initialisation, so GDN gammas are not diagonal
        for p in narrow.parameters():
            p.add_(0.05 * torch.randn_like(p))
    narrow.update(force=True)
    save_weights(narrow, tmp_path / "narrow.pt", half=False)
    wide = Config(arch="hyperprior", N=8, L=16, S=12, H=8, Z=8, rates=[0.01, 0.001], init=str(tmp_path / "narrow.pt")).build()
    _init_from(wide, str(tmp_path / "narrow.pt"))
    narrow.eval(), wide.eval()
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        a, b = narrow(x, quality=40)["x_hat"], wide(x, quality=40)["x_hat"]
    assert torch.allclose(a, b, atol=1e-5) and float((a - b).abs().max()) < 1e-5
    assert wide.g_s[0].weight[:, 8:].abs().sum() > 0  # the new channels are not dead
