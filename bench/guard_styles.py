"""Guard schemes and renderings side by side on the held-out images (issue #27): person retention
(YOLO, HOG), face survival, bits and PSNR outside heads, for
  - no guard;
  - guard version 1 (every latent whose receptive field touches a face box set to the fill value),
    drawn as a mosaic (the look before version 2);
  - guard version 2 (box pixels filled from outside before the analysis, latents wholly inside the
    box set to the fill value), drawn as "tint" (the decoded fill, desaturated) or "mosaic" (soft mosaic and outline);
  - the fill alone: the filled image encoded without the guard (no latent set to the fill value), to
    tell the fill's cost from the latents'.
Boxes come from the detection stage's default settings, as in `anon-codec bench`. Prints a table.

    .venv/bin/python bench/guard_styles.py [--weights default] [--labels data/offline/labels.json] [--pool data/pool]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np

from anon_compression_codec import Decoder, Encoder
from anon_compression_codec.evaluation.scoring import Scorer, load_eval_images, load_pool_images
from anon_compression_codec.privacy import guard
from anon_compression_codec.privacy.fill import fill
from anon_compression_codec.privacy.stage import DetectionStage, StageConfig
from anon_compression_codec.runtime import bitstream
from anon_compression_codec.runtime.geometry import cover, latent_rects


def version_1(enc: Encoder, rgb: np.ndarray, boxes) -> bytes:
    """What the encoder wrote before guard version 2, for the same boxes."""
    header, payload = bitstream.parse(enc(rgb))
    lh, lw = header.latent_height, header.latent_width
    idx = enc.tables.decode(payload, lh, lw)
    rects = latent_rects(boxes, header.width, header.height, enc.stride, enc.model.analysis_layers, (lh, lw))
    guard.apply(idx, rects, enc.tables.fill, lw)
    blanked = enc.tables.encode(idx, lh, lw)
    v1 = dataclasses.replace(header, flags=bitstream.FLAG_GUARD, guard_boxes=tuple(boxes), payload_length=len(blanked),
                             guard_version=bitstream.GUARD_LATENTS)  # fmt: skip
    return bitstream.pack(v1, blanked)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", default="default")
    parser.add_argument("--labels", type=Path, default=Path("data/offline/labels.json"))
    parser.add_argument("--pool", type=Path, default=Path("data/pool"))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    images = load_eval_images(args.labels, None, None) + load_pool_images(args.pool)
    enc = Encoder(args.weights, guard=False)
    decoders = {style: Decoder(args.weights, guard_style=style) for style in ("tint", "mosaic")}
    stage, scorer = DetectionStage(StageConfig()), Scorer()
    for bgr, heads in images:
        rgb = np.ascontiguousarray(bgr[..., ::-1])
        ref = scorer.reference(bgr, heads)
        boxes = cover(stage(bgr), bgr.shape[1], bgr.shape[0])
        frames = {"no guard": (enc(rgb), "tint"), "v1, mosaic": (version_1(enc, rgb, boxes), "mosaic")}
        v2 = enc(rgb, boxes=np.asarray(boxes, float).reshape(-1, 4))
        frames |= {"v2, tint": (v2, "tint"), "v2, mosaic": (v2, "mosaic")}
        frames["fill alone"] = (enc(fill(rgb, boxes)), "tint")
        for name, (data, style) in frames.items():
            decoded = decoders[style](data)
            scorer.add(name, bgr, np.ascontiguousarray(decoded[..., ::-1]), len(data), ref)
    results = scorer.summaries()
    print(f"{len(images)} held-out images, weights {args.weights}\n")
    print("| scheme, rendering | bpp | PSNR outside heads | persons (YOLO) | persons (HOG) | faces |\n|---|---|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['bpp']:.4f} | {r['psnr_outside_heads']:.2f} | {r['person_retention']} | "
              f"{r['person_retention_hog']} | {r['face_survival']} |")  # fmt: skip
    print(f"\n{results['no guard']['persons']} persons (YOLO), {results['no guard']['hog_persons']} (HOG), "
          f"{results['no guard']['faces']} faces on the originals")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
