"""Two training runs of an A/B compared at equal steps and equal bits, from their eval.csv files.

    .venv/bin/python bench/ab_eval.py A/eval.csv B/eval.csv [--names "S 64" "S 80"] [--offset STEPS]

--offset: B started from A's checkpoint of that step (a fine-tuning arm), so B's step k is A's
offset + k; the table lists B's steps.

For every step both runs evaluated, prints each quality's bpp and held-out PSNR for both arms and
B's PSNR minus A's at B's bits: A's curve at that step interpolated linearly in log bpp between its
evaluated qualities, and along its end segment up to 10 % beyond its range ("-" further out). Arms of
a variable-rate model land at slightly different bits for the same quality, so the PSNR columns alone
do not rank them.
"""

from __future__ import annotations

import argparse
import csv
import math
from collections import defaultdict
from pathlib import Path

from anon_compression_codec.evaluation.metrics import interpolate

Curve = list[tuple[float, float]]  # (bpp, psnr), ascending bpp


def read(path: Path, offset: int = 0) -> dict[int, dict[str, tuple[float, float]]]:
    """step - offset -> quality -> (bpp, psnr)."""
    out: dict[int, dict[str, tuple[float, float]]] = defaultdict(dict)
    with path.open() as f:
        for row in csv.DictReader(f):
            out[int(row["step"]) - offset][row.get("quality") or "-"] = (float(row["bpp"]), float(row["psnr"]))
    return out


EXTEND = math.log(1.1)  # how far beyond its end points, in log bpp, a curve is extended


def psnr_at(curve: Curve, bpp: float) -> float | None:
    """The curve's PSNR at `bpp`, linear in log bpp; None more than EXTEND outside its range."""
    if len(curve) < 2:
        return None
    pts = [(math.log(b), p) for b, p in curve]

    def along(x: float, a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
        return x, a[1] if b[0] == a[0] else a[1] + (x - a[0]) * (b[1] - a[1]) / (b[0] - a[0])

    # Each end segment continued by EXTEND, so the shared interpolation covers the extended range.
    ends = along(pts[0][0] - EXTEND, pts[0], pts[1]), along(pts[-1][0] + EXTEND, pts[-2], pts[-1])
    return interpolate([ends[0], *pts, ends[1]], math.log(bpp))


def table(a: dict, b: dict, names: tuple[str, str]) -> str:
    qualities = sorted({q for arm in (a, b) for step in arm.values() for q in step}, key=lambda q: float(q) if q != "-" else -1)
    head = ["step"] + [f"q{q}: {n} bpp / PSNR" for q in qualities for n in names]
    head += [f"q{q} {names[1]} - {names[0]}, dB at equal bits" for q in qualities]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for step in sorted(set(a) & set(b)):
        curve = sorted(a[step].values())
        cells, deltas = [str(step)], []
        for q in qualities:
            for arm in (a, b):
                bp = arm[step].get(q)
                cells.append(f"{bp[0]:.4f} / {bp[1]:.2f}" if bp else "-")
            bq = b[step].get(q)
            ref = psnr_at(curve, bq[0]) if bq else None
            deltas.append(f"{bq[1] - ref:+.2f}" if ref is not None else "-")
        lines.append("| " + " | ".join(cells + deltas) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("a", type=Path)
    parser.add_argument("b", type=Path)
    parser.add_argument("--names", nargs=2, default=("A", "B"))
    parser.add_argument("--offset", type=int, default=0, help="A's step that B started from")
    args = parser.parse_args()
    print(table(read(args.a, args.offset), read(args.b), tuple(args.names)))


if __name__ == "__main__":
    main()
