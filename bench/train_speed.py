"""Training-loop speed: today's loop (the code of a baseline commit) against this checkout's, on
the default recipe (recipes/default.yaml: 32-2-64, batch 8, 192 px crops, ROI loss, 70 % pool
photos), same machine, same run. Each run is a fresh process training `--steps` steps from the
shipped default; the rate is taken from its log after `--warmup` steps (cache building, first
allocations and the first batches excluded). Prints a markdown table of steps/s and megapixels/s;
the last line is the ratio of the fastest new loop to today's.

    .venv/bin/python bench/train_speed.py [--steps 200] [--baseline f77cf2c] [--precisions fp32,bf16]

Take it on a quiet machine: pause a training run first (kill -STOP PID, then kill -CONT PID).
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "anon_compression_codec/anon_compression_codec"
RUN = "import sys, yaml; from anon_compression_codec.training.loop import Config, train; " \
      "train(Config(**yaml.safe_load(open(sys.argv[1]))), progress=False)"  # fmt: skip


def baseline_tree(commit: str, into: Path) -> Path:
    """The codec package as it was at `commit` (git archive), importable from the returned folder."""
    into.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit, PACKAGE], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "anon_compression_codec"


def recipe(steps: int, out: Path, **extra) -> dict:
    cfg = yaml.safe_load((ROOT / "recipes" / "default.yaml").read_text())
    cfg.update(init="default", out=str(out), steps=steps, eval_every=0, checkpoint_every=10**6, log_every=10,
               labels=str(ROOT / cfg["labels"]), pool=str(ROOT / cfg["pool"]), **extra)  # fmt: skip
    return cfg


def rate(log: Path, warmup: int) -> float:
    rows = [(int(r["step"]), float(r["seconds"])) for r in csv.DictReader(log.open())]
    (s0, t0), (s1, t1) = next(r for r in rows if r[0] >= warmup), rows[-1]
    return (s1 - s0) / (t1 - t0)


def run(name: str, pythonpath: Path, cfg: dict, tmp: Path, warmup: int) -> float:
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    done = subprocess.run([sys.executable, "-c", RUN, str(path)], env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{name} failed:\n{done.stderr[-2000:]}")
    return rate(Path(cfg["out"]) / "log.csv", warmup)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--baseline", default="f77cf2c", help="commit whose training loop is 'today's' (default: "
                        "the last landed one before the fast loop)")  # fmt: skip
    parser.add_argument("--precisions", default="fp32,bf16", help="new loop's precisions to time")
    args = parser.parse_args()
    from anon_compression_codec.runtime import speedups

    tmp = Path(tempfile.mkdtemp(prefix="train_speed_"))
    old = baseline_tree(args.baseline, tmp / "baseline")
    new = ROOT / "anon_compression_codec"
    base = recipe(args.steps, tmp / "today")
    crop, batch = base["crop"], base["batch"]
    rows = [("today's loop", f"{args.baseline}, fp32", run("today", old, base, tmp, args.warmup))]
    for precision in args.precisions.split(","):
        cfg = recipe(args.steps, tmp / f"new-{precision}", precision=precision)
        rows.append(("new loop", precision, run(f"new-{precision}", new, cfg, tmp, args.warmup)))
    native = speedups.native_bf16()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, native bf16: {native}; "
          f"default recipe, batch {batch}, {crop} px crops, steps {args.warmup}-{args.steps} timed\n")  # fmt: skip
    print("| loop | precision | steps/s | Mpx/s |\n|---|---|---|---|")
    for name, precision, steps_s in rows:
        print(f"| {name} | {precision} | {steps_s:.2f} | {steps_s * batch * crop * crop / 1e6:.2f} |")
    best = max(rows[1:], key=lambda r: r[2])
    print(f"\nnew loop ({best[1]}) / today's loop: {best[2] / rows[0][2]:.2f}x")


if __name__ == "__main__":
    main()
