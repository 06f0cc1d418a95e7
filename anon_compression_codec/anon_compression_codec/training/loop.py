"""ROI-loss training: `anon-codec train --config CONFIG.yaml [--resume]`.

Writes to the run folder: last.ckpt (model, optimisers, step; every `checkpoint_every` steps and at
the end), log.csv and TensorBoard events. `anon-codec export RUN/last.ckpt OUT.pt` makes a shipped
weight file (fp16) that records the config and the step count.
"""

from __future__ import annotations

import copy
import csv
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import yaml
from torch.utils.data import DataLoader
from tqdm import tqdm

from ..data.boxes import read_json
from ..data.offline import lfw_faces
from ..errors import InputError
from ..model import CDF_BUFFERS, AnonAutoencoder, load_weights, save_weights
from .losses import RoiRateDistortionLoss
from .samples import FaceBank, TrainingSet, collate


@dataclass
class Config:
    N: int = 64
    M: int = 2
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
    lr: float = 1e-4
    aux_lr: float = 1e-3
    steps: int = 20000
    clip: float = 1.0
    seed: int = 0
    threads: int = 2
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
        return cls(**raw)


def train(cfg: Config, resume: bool = False, progress: bool = True) -> Path:
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    ckpt_path = out / "last.ckpt"

    records, _ = read_json(cfg.labels)
    root = Path(cfg.root) if cfg.root else Path(cfg.labels).parent
    bank = FaceBank.from_records(records, root, lfw_faces() if cfg.lfw_faces else [])
    dataset = TrainingSet(records, root, cfg.crop, bank, cfg.paste_faces, cfg.seed)

    model = AnonAutoencoder(cfg.N, cfg.M)
    if cfg.init:  # the CDF tables are rebuilt at export, so they are not carried over
        state = {k: v for k, v in load_weights(cfg.init).model.state_dict().items() if k.split(".")[-1] not in CDF_BUFFERS}
        model.load_state_dict(state, strict=False)
    aux_params = [p for n, p in model.named_parameters() if n.endswith("quantiles")]
    main_params = [p for n, p in model.named_parameters() if not n.endswith("quantiles")]
    opt = torch.optim.Adam(main_params, lr=cfg.lr)
    aux_opt = torch.optim.Adam(aux_params, lr=cfg.aux_lr)
    criterion = RoiRateDistortionLoss(cfg.bg, cfg.hbox, cfg.vbox, cfg.rate)
    step = 0
    if resume and ckpt_path.is_file():
        state = torch.load(ckpt_path, map_location="cpu", weights_only=False)
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
    if log_new:
        log.writerow(["step", "loss", "mse", "head", "body", "bpp", "psnr", "aux", "seconds"])
    # Offsetting the sampler by the step makes a resumed run see new samples, not a replay.
    loader = DataLoader(torch.utils.data.Subset(dataset, range(step * cfg.batch, (cfg.steps + 1) * cfg.batch)),
                        batch_size=cfg.batch, collate_fn=collate)  # fmt: skip
    model.train()
    bar = tqdm(total=cfg.steps, initial=step, desc="train", disable=not progress, mininterval=2.0)
    t0 = time.perf_counter()
    for x, heads, bodies in loader:
        if step >= cfg.steps:
            break
        terms = criterion(model(x), x, heads, bodies)
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
            log.writerow([step, *(f"{values[k]:.6f}" for k in ("loss", "mse", "head", "body", "bpp", "psnr")),
                          f"{float(aux.detach()):.3f}", f"{time.perf_counter() - t0:.1f}"])  # fmt: skip
            log_file.flush()
            for k, v in values.items():
                writer.add_scalar(f"train/{k}", v, step)
        if step % cfg.checkpoint_every == 0 or step == cfg.steps:
            _checkpoint(ckpt_path, model, opt, aux_opt, step, cfg)
    bar.close()
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
    state = torch.load(ckpt, map_location="cpu", weights_only=False)
    cfg = state["config"]
    model = AnonAutoencoder(cfg["N"], cfg["M"])
    model.load_state_dict(copy.deepcopy(state["model"]), strict=False)
    return save_weights(model, out, half=half, metadata={"config": cfg, "steps": state["step"], **(metadata or {})})
