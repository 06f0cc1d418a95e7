"""The held-out training curve of a run: PSNR and bpp against step, one line per evaluated quality.

    .venv/bin/python bench/training_curve.py RUN/eval.csv OUT.png

eval.csv is what `anon-codec train` writes every `eval_every` steps (step, bpp, psnr, lr, quality).
Dashed lines mark the steps where the learning rate changes (the `lr` column). Also prints, per
quality, the last evaluation and the PSNR gained over the last 50,000 steps (the issue's "flattened"
test: less than +0.1 dB).
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

FLAT_WINDOW = 50_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("eval_csv", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    curves: dict[str, list[tuple[int, float, float]]] = defaultdict(list)
    lrs: dict[int, str] = {}
    with args.eval_csv.open() as f:
        for row in csv.DictReader(f):
            curves[row.get("quality") or "-"].append((int(row["step"]), float(row["bpp"]), float(row["psnr"])))
            lrs[int(row["step"])] = row.get("lr", "")
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 6), sharex=True)
    steps_seen = sorted(lrs)
    for before, step in zip(steps_seen, steps_seen[1:], strict=False):
        if lrs[step] != lrs[before]:
            for axis in (top, bottom):
                axis.axvline(step, color="grey", ls="--", lw=1)
            top.annotate(f"lr {float(lrs[step]):g}", (step, 0.02), xycoords=("data", "axes fraction"), fontsize=8)
    for quality, points in sorted(curves.items(), key=lambda kv: float(kv[0]) if kv[0] != "-" else 0):
        steps, bpps, psnrs = zip(*points, strict=True)
        top.plot(steps, psnrs, marker="o", ms=3, label=f"quality {quality}")
        bottom.plot(steps, bpps, marker="o", ms=3, label=f"quality {quality}")
        last = points[-1]
        earlier = [p for p in points if p[0] <= last[0] - FLAT_WINDOW]
        gain = (
            f"{last[2] - earlier[-1][2]:+.2f} dB over the last {FLAT_WINDOW:,} steps"
            if earlier
            else "run shorter than the window"
        )
        print(f"quality {quality}: step {last[0]}, {last[1]:.4f} bpp, {last[2]:.2f} dB; {gain}")
    top.set_ylabel("held-out PSNR (dB)")
    bottom.set_ylabel("held-out bpp")
    bottom.set_xlabel("training step")
    top.legend()
    top.grid(alpha=0.3)
    bottom.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(args.out, dpi=100)


if __name__ == "__main__":
    main()
