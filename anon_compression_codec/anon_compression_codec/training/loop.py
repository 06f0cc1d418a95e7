"""ROI-loss training: `anon-codec train --config CONFIG.yaml [--resume]`.

Speed: with `precision: bf16` (or `auto` on a CPU with native bfloat16, AVX512-BF16 or AMX) the
transforms run under bf16 autocast in channels_last layout while the entropy model, likelihoods,
rate and loss stay fp32; elsewhere bf16 is emulated and several times slower than fp32, so `auto`
falls back to fp32 and says so in one line. Samples are cut from a uint8 pixel cache (pixels.py)
by a background thread that keeps `prefetch` batches ready, so the step never waits on decoding.

Writes to the run folder: last.ckpt (model, optimisers, step; every `checkpoint_every` steps and at
the end), log.csv, eval.csv (bpp and PSNR of the held-out images every `eval_every` steps, with
the latent rounded as the codec rounds it) and TensorBoard events. The learning rate follows
`lr_schedule` as a function of the step alone, so a resumed run continues the same curve.
`anon-codec export RUN/last.ckpt OUT.pt` makes a shipped weight file (fp16) that records the config
and the step count.
"""

from __future__ import annotations

import copy
import csv
import math
import queue
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch
import yaml
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from ..data.boxes import read_json
from ..data.offline import lfw_faces
from ..data.pool import manifest as pool_manifest
from ..data.pool import read as pool_read
from ..errors import InputError
from ..resources import person_model_path
from ..runtime import presets, speedups
from ..runtime.hyperprior import GainedHyperprior
from ..runtime.model import CDF_BUFFERS, AnonAutoencoder, load_weights, save_weights
from ..runtime.precision import PRECISIONS
from .losses import HEAD_TERMS, RoiRateDistortionLoss
from .samples import FaceBank, TrainingSet, collate
from .task import DetectorFeatures


@dataclass
class Config:
    arch: str = "factorized"  # or "hyperprior": codec v2 (hyperprior.py), one model for all `rates`
    N: int = 64
    M: int = 2
    S: int = 0  # synthesis width; 0 = N (the reference's symmetric model)
    L: int = 128  # hyperprior: latent channels
    H: int = 64  # hyperprior: hyper-transform channels
    Z: int = 32  # hyperprior: hyper-latent channels
    rates: list = field(default_factory=list)  # hyperprior: the rate weight of each level, low quality first
    labels: str = "data/offline/labels.json"
    root: str = ""  # images are relative to this; empty = the labels file's folder
    crop: int = 192
    batch: int = 8
    paste_faces: int = 2
    lfw_faces: bool = True
    bg: float = 1.0
    hbox: float = 0.6
    vbox: float = 1.0
    rate: float = 0.04
    task: float = 0.0  # weight of the detector-feature term (task.py); 0 = off
    task_layers: list = field(default_factory=lambda: [2, 4, 6])  # the detector's backbone layers it compares
    head: str = "inverted"  # the paper's inverted head MSE, or "lowpass" (bounded, see losses.py)
    head_cells: int = 4
    pool: str = ""  # a photo pool folder (anon-codec data pool); its train split joins the samples
    photo_share: float = 0.0
    pool_photos: list = field(default_factory=list)  # names of the pool's train photos to use; empty = all
    lr: float = 1e-4
    lr_schedule: str = "constant"  # or "cosine": from lr down to lr_min over the steps, after warmup
    lr_min: float = 1e-5
    lr_steps: list = field(default_factory=list)  # [[step, lr], ...]: from that step on, that base lr (drops on a plateau)
    warmup: int = 0
    eval_every: int = 0  # 0 = no periodic evaluation
    eval_side: int = 640
    aux_lr: float = 1e-3
    steps: int = 20000
    clip: float = 1.0
    seed: int = 0
    threads: int = 2
    precision: str = "auto"  # bf16, fp32, or auto: bf16 where the CPU computes it natively
    base_side: int = 1024  # the pixel cache's largest scale (longer side); smaller scales by sqrt 2
    prefetch: int = 4  # batches prepared ahead by the loader thread
    checkpoint_every: int = 200
    log_every: int = 10
    init: str = ""  # optional weight file to start from
    out: str = "runs/default"
    extra: dict = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | Path) -> Config:
        try:
            raw = yaml.safe_load(Path(path).read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise InputError(f"{path}: cannot read config ({exc})") from None
        unknown = set(raw) - {f for f in cls.__dataclass_fields__}
        if unknown:
            raise InputError(f"{path}: unknown config keys {sorted(unknown)}")
        cfg = cls(**raw)
        if cfg.head not in HEAD_TERMS or cfg.lr_schedule not in ("constant", "cosine"):
            raise InputError(f"{path}: head must be one of {HEAD_TERMS}, lr_schedule constant or cosine")
        if not isinstance(cfg.lr_steps, list) or not all(_lr_step(p) for p in cfg.lr_steps):
            raise InputError(f"{path}: lr_steps must be a list of [step, lr] pairs with step >= 0 and lr > 0")
        if cfg.precision not in PRECISIONS:
            raise InputError(f"{path}: precision must be one of {PRECISIONS}, found {cfg.precision!r}")
        if isinstance(cfg.task, bool) or not isinstance(cfg.task, (int, float)) or cfg.task < 0:
            raise InputError(f"{path}: task must be a weight >= 0, found {cfg.task!r}")
        layers = cfg.task_layers
        if not (isinstance(layers, list) and layers and all(type(i) is int and 0 <= i < 64 for i in layers)):
            raise InputError(f"{path}: task_layers must be a list of detector layer indices, found {layers!r}")
        if cfg.arch not in ARCHS or (cfg.arch == "hyperprior" and not (2 <= len(cfg.rates) <= 16)):
            raise InputError(f"{path}: arch must be one of {ARCHS}; a hyperprior needs 2..16 `rates`")
        return cfg

    def build(self) -> nn.Module:
        if self.arch == "hyperprior":
            return GainedHyperprior(self.N, self.L, self.S or self.N, self.H, self.Z, len(self.rates), self.M)
        return AnonAutoencoder(self.N, self.M, self.S or None)

    def qualities(self) -> list[float]:
        """The trained levels as qualities 0..100 (one level, 50, for the factorized model)."""
        n = len(self.rates) if self.arch == "hyperprior" else 1
        return [100 * i / (n - 1) for i in range(n)] if n > 1 else [50.0]

    def lr_at(self, step: int) -> float:
        lr = next((v for s, v in sorted(self.lr_steps, reverse=True) if step >= s), self.lr)
        if step < self.warmup:
            return lr * (step + 1) / self.warmup
        if self.lr_schedule == "constant":
            return lr
        t = min(1.0, (step - self.warmup) / max(1, self.steps - self.warmup))
        return self.lr_min + 0.5 * (lr - self.lr_min) * (1 + math.cos(math.pi * t))


ARCHS = ("factorized", "hyperprior")


def _lr_step(pair) -> bool:
    """One `lr_steps` entry: [step >= 0, lr > 0], numbers only (YAML can give strings or bools)."""
    number = (int, float)
    return (isinstance(pair, list) and len(pair) == 2 and all(isinstance(v, number) and not isinstance(v, bool) for v in pair)
            and pair[0] >= 0 and pair[1] > 0)  # fmt: skip


def use_bf16(precision: str, log=print) -> bool:
    """Whether to train the transforms in bf16; `auto` takes it only where the CPU has it natively."""
    if precision == "auto" and not speedups.native_bf16():
        log("precision auto: this CPU has no native bfloat16 (AVX512-BF16/AMX), training in fp32")
    return precision == "bf16" or (precision == "auto" and speedups.native_bf16())


def prefetched(batches: Iterable, depth: int) -> Iterator:
    """The items of `batches`, produced `depth` ahead by a daemon thread (numpy and OpenCV release
    the GIL while they cut and resize). An error in the thread is raised here."""
    if depth <= 0:
        yield from batches
        return
    ready: queue.Queue = queue.Queue(depth)
    done = object()

    def produce() -> None:
        try:
            for item in batches:
                ready.put(item)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            ready.put(exc)
        ready.put(done)

    threading.Thread(target=produce, daemon=True, name="batches").start()
    while (item := ready.get()) is not done:
        if isinstance(item, BaseException):
            raise item
        yield item


def _init_from(model: nn.Module, path: str) -> None:
    """Start from a weight file or a preset name: every tensor whose name and shape fit, and a wider synthesis
    grown from a narrower one (`_widened`); the CDF tables are rebuilt at export, so they are not carried over."""
    own = model.state_dict()
    modules = dict(model.named_modules())
    state = {}
    for k, v in load_weights(presets.resolve(path)).model.state_dict().items():
        if k.split(".")[-1] in CDF_BUFFERS or k not in own:
            continue
        if own[k].shape == v.shape:
            state[k] = v
        elif k.startswith("g_s."):
            grown = _widened(own[k], v.to(own[k].dtype), modules[k.rsplit(".", 1)[0]])
            if grown is not None:
                state[k] = grown
    model.load_state_dict(state, strict=False)


def _widened(fresh: torch.Tensor, old: torch.Tensor, module: nn.Module) -> torch.Tensor | None:
    """A tensor of a wider synthesis layer (S larger) from the narrower one's: the old values in the leading
    slice, the new channels' fresh initialisation elsewhere, except that no new channel feeds an old one
    (those weights are 0; a GDN's fresh gamma is diagonal, so it holds there already). The decoder then computes
    exactly the old function at step 0 and training puts the new channels to use (Net2Net's idea, Chen et al. 2016)."""
    if fresh.dim() != old.dim() or any(f < o for f, o in zip(fresh.shape, old.shape, strict=True)):
        return None
    out = fresh.clone()
    out[tuple(slice(0, n) for n in old.shape)] = old
    if isinstance(module, nn.ConvTranspose2d) and fresh.dim() == 4:  # weight (in, out, k, k)
        out[old.shape[0] :, : old.shape[1]] = 0
    elif isinstance(module, nn.Conv2d) and fresh.dim() == 4:  # weight (out, in, k, k)
        out[: old.shape[0], old.shape[1] :] = 0
    return out


def _pool_photos(cfg: Config) -> list[Path]:
    """The pool's training photos, or the named subset of them (`pool_photos`)."""
    if not cfg.pool:
        return []
    train = {p["name"]: Path(cfg.pool) / p["file"] for p in pool_manifest(cfg.pool) if p["split"] == "train"}
    missing = sorted(set(cfg.pool_photos) - set(train))
    if missing:
        raise InputError(f"pool_photos: not training photos of {cfg.pool}: {missing[:5]}")
    return [train[n] for n in cfg.pool_photos] if cfg.pool_photos else list(train.values())


def _eval_images(cfg: Config) -> list[torch.Tensor]:
    """The held-out images (pool eval split, labelled eval split), longer side at most eval_side,
    cropped to a multiple of 64 (the largest stride in use)."""
    paths = [Path(p) for p in (pool_read(cfg.pool, "eval") if cfg.pool else [])]
    records, _ = read_json(cfg.labels)
    root = Path(cfg.root) if cfg.root else Path(cfg.labels).parent
    paths += [root / r.file for r in records if r.split == "eval"]
    out = []
    for path in paths:
        img = cv2.imread(str(path))
        if img is None:
            continue
        scale = min(1.0, cfg.eval_side / max(img.shape[:2]))
        img = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else img
        h, w = img.shape[0] // 64 * 64, img.shape[1] // 64 * 64
        out.append(torch.from_numpy(np.ascontiguousarray(img[:h, :w, ::-1])).permute(2, 0, 1).float()[None] / 255)
    return out


@torch.no_grad()
def evaluate_step(model: nn.Module, images: list[torch.Tensor], quality: float = 50.0) -> dict[str, float]:
    """Mean bpp (from the likelihoods of the rounded latent) and PSNR over the images."""
    model.eval()
    bits, pixels, psnrs = 0.0, 0, []
    for x in images:
        out = model(x, quality=quality)
        bits += float(sum(-torch.log2(lk).sum() for lk in out["likelihoods"].values()))
        pixels += x.shape[2] * x.shape[3]
        mse = float(torch.mean((out["x_hat"].clamp(0, 1) - x) ** 2))
        psnrs.append(10 * math.log10(1 / max(mse, 1e-10)))
    model.train()
    return {"bpp": bits / max(pixels, 1), "psnr": sum(psnrs) / max(len(psnrs), 1)}


def train(cfg: Config, resume: bool = False, progress: bool = True) -> Path:
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    speedups.keep_freed_memory()  # 2.45 -> 2.75 steps/s on 2 cores: no fresh pages for every activation
    out = Path(cfg.out).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    ckpt_path = out / "last.ckpt"

    records, _ = read_json(cfg.labels)
    root = Path(cfg.root) if cfg.root else Path(cfg.labels).parent
    bank = FaceBank.from_records(records, root, lfw_faces() if cfg.lfw_faces else [])
    photos = _pool_photos(cfg)
    dataset = TrainingSet(records, root, cfg.crop, bank, cfg.paste_faces, cfg.seed, photos=photos,
                          photo_share=cfg.photo_share, base_side=cfg.base_side)  # fmt: skip
    eval_images = _eval_images(cfg) if cfg.eval_every else []

    model = cfg.build()
    if cfg.init:
        _init_from(model, cfg.init)
    bf16 = use_bf16(cfg.precision)
    # channels_last is oneDNN's fast layout for bf16 convolutions; in fp32 it measured slower here.
    layout = torch.channels_last if bf16 else torch.contiguous_format
    model = model.to(memory_format=layout)
    aux_params = [p for n, p in model.named_parameters() if n.endswith("quantiles")]
    main_params = [p for n, p in model.named_parameters() if not n.endswith("quantiles")]
    opt = torch.optim.Adam(main_params, lr=cfg.lr)
    aux_opt = torch.optim.Adam(aux_params, lr=cfg.aux_lr)
    criterion = RoiRateDistortionLoss(cfg.bg, cfg.hbox, cfg.vbox, cfg.rate, cfg.head, cfg.head_cells)
    task = DetectorFeatures(person_model_path(), cfg.task_layers) if cfg.task else None
    qualities, rates = cfg.qualities(), cfg.rates or [cfg.rate]
    eval_qualities = sorted({qualities[0], qualities[len(qualities) // 2], qualities[-1]})
    step = 0
    if resume and ckpt_path.is_file():
        state = torch.load(ckpt_path, map_location="cpu", weights_only=True)
        model.load_state_dict(state["model"], strict=False)
        opt.load_state_dict(state["opt"])
        aux_opt.load_state_dict(state["aux_opt"])
        step = state["step"]
    elif resume:
        raise InputError(f"--resume: no checkpoint at {ckpt_path}")

    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(out / "tb"))
    log_new = not (out / "log.csv").is_file() or not resume
    log_file = open(out / "log.csv", "w" if log_new else "a", newline="")  # noqa: SIM115
    log = csv.writer(log_file)
    columns = ["loss", "mse", "head", "body", "bpp", "psnr"] + (["task"] if task else [])
    if log_new:
        log.writerow(["step", *columns, "aux", "seconds"])
        log_file.flush()
    # Offsetting the sampler by the step makes a resumed run see new samples, not a replay.
    loader = DataLoader(torch.utils.data.Subset(dataset, range(step * cfg.batch, (cfg.steps + 1) * cfg.batch)),
                        batch_size=cfg.batch, collate_fn=collate)  # fmt: skip
    model.train()
    bar = tqdm(total=cfg.steps, initial=step, desc="train", disable=not progress, mininterval=2.0)
    t0 = time.perf_counter()
    eval_new = not (out / "eval.csv").is_file() or not resume
    eval_file = open(out / "eval.csv", "w" if eval_new else "a", newline="")  # noqa: SIM115
    eval_log = csv.writer(eval_file)
    if eval_new:
        eval_log.writerow(["step", "bpp", "psnr", "lr", "quality"])
        eval_file.flush()  # a run killed before its first evaluation must still leave the header
    for x, heads, bodies in prefetched(loader, cfg.prefetch):
        if step >= cfg.steps:
            break
        for group in opt.param_groups:
            group["lr"] = cfg.lr_at(step)
        level = step % len(qualities)  # every level in turn: each sees the same share of the photos
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            output = model(x.contiguous(memory_format=layout), quality=qualities[level])
        terms = criterion(output, x, heads, bodies, rate=rates[level])
        if task:
            terms["task"] = task(output["x_hat"], x)
            terms["loss"] = terms["loss"] + cfg.task * terms["task"]
        opt.zero_grad()
        terms["loss"].backward()
        if cfg.clip:
            torch.nn.utils.clip_grad_norm_(main_params, cfg.clip)
        opt.step()
        aux = model.aux_loss()
        aux_opt.zero_grad()
        aux.backward()
        aux_opt.step()
        step += 1
        bar.update(1)
        if step % cfg.log_every == 0 or step == cfg.steps:
            values = {k: float(v.detach()) for k, v in terms.items()}
            bar.set_postfix(loss=f"{values['loss']:.4f}", bpp=f"{values['bpp']:.3f}", psnr=f"{values['psnr']:.2f}")
            log.writerow([step, *(f"{values[k]:.6f}" for k in columns),
                          f"{float(aux.detach()):.3f}", f"{time.perf_counter() - t0:.1f}"])  # fmt: skip
            log_file.flush()
            for k, v in values.items():
                writer.add_scalar(f"train/{k}", v, step)
        if eval_images and (step % cfg.eval_every == 0 or step == cfg.steps):
            for quality in eval_qualities:
                figures = evaluate_step(model, eval_images, quality)
                eval_log.writerow([step, f"{figures['bpp']:.4f}", f"{figures['psnr']:.3f}", f"{cfg.lr_at(step):.2e}",
                                   f"{quality:g}"])  # fmt: skip
                for k, v in figures.items():
                    writer.add_scalar(f"eval/{k}/q{quality:g}", v, step)
            eval_file.flush()
        if step % cfg.checkpoint_every == 0 or step == cfg.steps:
            _checkpoint(ckpt_path, model, opt, aux_opt, step, cfg)
    bar.close()
    eval_file.close()
    log_file.close()
    writer.close()
    return ckpt_path


def _checkpoint(path: Path, model, opt, aux_opt, step: int, cfg: Config) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "aux_opt": aux_opt.state_dict(), "step": step,
                "config": asdict(cfg)}, tmp)  # fmt: skip
    tmp.replace(path)  # atomic: a crash mid-write never leaves a broken last.ckpt


def export(ckpt: str | Path, out: str | Path, half: bool = True, metadata: dict | None = None) -> bytes:
    """A training checkpoint -> our weight format, with the config and step count in its metadata."""
    state = torch.load(ckpt, map_location="cpu", weights_only=True)
    cfg = state["config"]
    model = Config(**{k: v for k, v in cfg.items() if k in Config.__dataclass_fields__}).build()
    try:  # strict: a checkpoint missing any weight must not export with random ones
        model.load_state_dict(copy.deepcopy(state["model"]), strict=True)
    except RuntimeError as exc:
        raise InputError(f"{ckpt}: checkpoint does not match its config's {model.name} model: {exc}") from None
    return save_weights(model, out, half=half, metadata={"config": cfg, "steps": state["step"], **(metadata or {})})
