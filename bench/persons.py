"""Persons kept per image by several weight files at one quality, with and without the guard: tells
a drift between two checkpoints from detection noise, which the bench's totals cannot.

    .venv/bin/python bench/persons.py --weights default --weights checkpoints/v2-68000.pt [--quality 30]
    .venv/bin/python bench/persons.py --weights default --weights other.pt@27.5   # a quality per file

For each held-out image with people (the offline eval split and the photo pool's held-out photos, as
in `anon-codec bench`), prints the persons YOLO finds on the original and how many of them each
setting keeps (matched as the bench matches them), then the totals, HOG's totals (the detector that
gave training neither labels nor a signal), and each setting's bpp and PSNR outside heads over all
held-out images. `FILE@Q` encodes that file at quality Q: two files that spend different bits at
one quality are compared at equal bits this way.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from anon_compression_codec import Decoder, Encoder
from anon_compression_codec.evaluation.scoring import Scorer, Tally, load_eval_images, load_pool_images
from anon_compression_codec.privacy.stage import DetectionStage, StageConfig
from anon_compression_codec.runtime.geometry import cover


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", action="append", required=True, help="a preset or weight file [@QUALITY] (repeatable)")
    parser.add_argument("--quality", type=float, default=30.0, help="for weights given without @QUALITY")
    parser.add_argument("--labels", type=Path, default=Path("data/offline/labels.json"))
    parser.add_argument("--pool", type=Path, default=Path("data/pool"))
    args = parser.parse_args()
    images = load_eval_images(args.labels, None, None) + load_pool_images(args.pool)
    try:
        codecs = {w: _codec(w, args.quality) for w in args.weights}
    except ValueError as err:
        parser.error(f"--weights FILE[@QUALITY]: {err}")
    settings = [(w, guarded) for w in args.weights for guarded in (False, True)]
    names = [f"{w}{' + guard' if guarded else ''}" for w, guarded in settings]
    stage, scorer = DetectionStage(StageConfig()), Scorer()
    for i, (bgr, heads) in enumerate(images):
        ref = scorer.reference(bgr, heads)
        rgb = np.ascontiguousarray(bgr[..., ::-1])
        boxes = np.asarray(cover(stage(bgr), bgr.shape[1], bgr.shape[0]), float).reshape(-1, 4)
        for (w, guarded), name in zip(settings, names, strict=True):
            enc, dec = codecs[w]
            data = enc(rgb, boxes=boxes) if guarded else enc(rgb)
            scorer.add(f"{name}/{i}", bgr, np.ascontiguousarray(dec(data)[..., ::-1]), len(data), ref)
    per_image = [[scorer.tallies[f"{n}/{i}"] for n in names] for i in range(len(images))]
    pooled = [sum(column, Tally()) for column in zip(*per_image, strict=True)]  # each setting over all images
    print(f"quality {args.quality:g} unless named, persons (YOLO) kept per image with people\n")
    print("| image | persons | " + " | ".join(names) + " |\n|" + "---|" * (len(names) + 2))
    for i, row in enumerate(per_image):
        if row[0].persons:
            print(f"| {i} | {row[0].persons} | " + " | ".join(str(t.persons_kept) for t in row) + " |")
    print(f"| all | {pooled[0].persons} | " + " | ".join(str(t.persons_kept) for t in pooled) + " |")
    # HOG (OpenCV's people detector) made no training label and no training signal: the independent count.
    print(f"| all, HOG | {pooled[0].hog_persons} | " + " | ".join(str(t.hog_persons_kept) for t in pooled) + " |")
    totals = [t.summary() for t in pooled]
    print("| bpp, all held-out images | | " + " | ".join(f"{t['bpp']:.4f}" for t in totals) + " |")
    print("| PSNR outside heads, all held-out images | | " + " | ".join(f"{t['psnr_outside_heads']:.2f}" for t in totals) + " |")


def _codec(spec: str, quality: float) -> tuple[Encoder, Decoder]:
    weights, _, q = spec.rpartition("@") if "@" in spec else (spec, "", "")  # ValueError on a bad Q
    return Encoder(weights, guard=False, quality=float(q) if q else quality), Decoder(weights)


if __name__ == "__main__":
    main()
