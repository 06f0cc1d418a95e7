"""Codec micro-benchmark (privacy guard off; its detection time is in `anon-codec bench`): median
encode and decode ms per frame (analysis/synthesis transform plus
entropy coding, full decode to uint8) at 640x480 and 1280x720, per model size and execution
variant, beside JPEG and AVIF measured in the same run. Prints a markdown table.

    .venv/bin/python bench/codec_speed.py [--threads 2] [--repeats 15] [--variants eager,channels_last,bf16]
        [--models preset,hyper-40-2-128-64] [--sizes 640x480]
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
from pathlib import Path

import torch

from anon_compression_codec import AnonAutoencoder, Decoder, Encoder, save_weights
from anon_compression_codec.evaluation import baselines
from anon_compression_codec.evaluation.timing import SIZES, frames, median_ms
from anon_compression_codec.runtime import presets
from anon_compression_codec.runtime.hyperprior import GainedHyperprior


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--variants", default="eager,channels_last")
    parser.add_argument("--sizes", default=",".join(SIZES), help=f"comma-separated, of {','.join(SIZES)}")
    parser.add_argument("--models", default="preset,paper,32-2-48,32-2-64,32-2-80,64-2",
                        help="'preset' = the default preset, a preset name, a weight file, N-M[-S] = random init of "
                             "that size, or hyper-N-M-L-S = a random codec v2 (hyperprior) of that size")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    tmp = Path(tempfile.mkdtemp())
    weights = {}
    for spec in args.models.split(","):
        if spec == "preset":
            path = presets.resolve(None)
            weights[f"{presets.DEFAULT_PRESET} ({Encoder(str(path)).model.name})"] = str(path)
        elif spec in presets.available():
            path = presets.resolve(spec)
            weights[f"{spec} ({Encoder(str(path)).model.name})"] = str(path)
        elif Path(spec).is_file():
            weights[f"{Path(spec).stem} ({Encoder(spec).model.name})"] = spec
        else:
            torch.manual_seed(0)
            path = tmp / f"{spec}.pt"
            if spec.startswith("hyper-"):
                N, M, L, S = map(int, spec.split("-")[1:])
                save_weights(GainedHyperprior(N=N, M=M, L=L, S=S), path)
            else:
                save_weights(AnonAutoencoder(*map(int, spec.split("-"))), path)
            weights[f"random {spec}"] = str(path)

    machine = platform.processor() or platform.machine()
    print(f"machine: {machine}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads, torch {torch.__version__}")
    print("| codec | variant | size | encode ms | decode ms | bytes |")
    print("|---|---|---|---|---|---|")
    for size_name, image in frames({k: v for k, v in SIZES.items() if k in args.sizes.split(",")}).items():
        for name, path in weights.items():
            for variant in args.variants.split(","):
                cl, precision = variant != "eager", "bf16" if variant == "bf16" else "fp32"  # bf16: channels_last too
                enc = Encoder(path, channels_last=cl, guard=False, precision=precision)
                dec = Decoder(path, channels_last=cl, precision=precision)
                data = enc(image, channel_order="bgr")
                e = median_ms(lambda enc=enc, image=image: enc(image, channel_order="bgr"), args.repeats)
                d = median_ms(lambda dec=dec, data=data: dec(data, channel_order="bgr"), args.repeats)
                print(f"| {name} | {variant} | {size_name} | {e:.1f} | {d:.1f} | {len(data)} |")
        for cname, q in (("jpeg", 95), ("jpeg", 30), ("avif", 30)):
            codec = baselines.CODECS[cname]
            data = codec.encode(image, q)
            e = median_ms(lambda codec=codec, q=q, image=image: codec.encode(image, q), args.repeats)
            d = median_ms(lambda codec=codec, data=data: codec.decode(data), args.repeats)
            print(f"| {cname} q{q} | - | {size_name} | {e:.1f} | {d:.1f} | {len(data)} |")


if __name__ == "__main__":
    main()
