"""Write presets/<name>.md from a shipped weight file, a benchmark run and the commands that made it.

.venv/bin/python tools/write_model_card.py NAME BENCH_RESULTS.json [--eval-log RUN/eval.csv] "COMMAND" ...
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import yaml

from anon_compression_codec import load_weights
from anon_compression_codec.runtime import presets

POOL = Path("data/pool/pool.json")


def _pool_lines() -> str:
    if not POOL.is_file():
        return "(photo pool not built)"
    photos = json.loads(POOL.read_text())["photos"]
    by_source: dict[str, list[str]] = {}
    for p in photos:
        name = p["name"] + (" (held out)" if p["split"] == "eval" else "")
        by_source.setdefault(f"{p['source']}, {p['licence']}", []).append(name)
    return "\n".join(f"- {src}: {', '.join(names)}" for src, names in by_source.items())


def _loss(cfg: dict) -> str:
    if not cfg.get("hbox") and not cfg.get("vbox") and cfg.get("head", "inverted") == "inverted":
        return "plain MSE (no ROI terms: the guard hides faces)"
    if cfg.get("head", "inverted") == "inverted":
        return "the paper's ROI loss (inverted head MSE)"
    return "ROI loss with the bounded low-pass head term (`head: lowpass`, see training/losses.py)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("name")
    parser.add_argument("bench", type=Path)
    parser.add_argument("--eval-log", type=Path)
    parser.add_argument("commands", nargs="+")
    args = parser.parse_args()
    path = presets.PRESET_DIR / f"{args.name}.pt"
    w = load_weights(path)
    cfg = w.metadata["config"]
    bench = json.loads(args.bench.read_text())
    s = bench["settings"]
    rows = ["| setting | bpp | PSNR (dB) | PSNR outside heads | MS-SSIM | blob share | face survival "
            "| person retention YOLO / HOG |", "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for key in (args.name, f"{args.name}+guard"):
        r = s[key]
        rows.append(f"| {key} | {r['bpp']} | {r['psnr']} | {r['psnr_outside_heads']} | {r['ms_ssim']} | {r['blob_share']} "
                    f"| {r['face_survival']} | {r['person_retention']} / {r['person_retention_hog']} |")  # fmt: skip
    t = bench["targets"][args.name]

    def fmt(v) -> str:
        return "-" if v is None else f"{v:.4g}"

    comparison = (f"At its bpp ({t['bpp']}), on the same images in the same run: PSNR outside heads {t['psnr_outside_heads']} dB "
                  f"vs WebP {fmt(t['webp_psnr_outside_heads'])} dB; PSNR {t['psnr']} dB vs JPEG {fmt(t['jpeg_psnr'])} dB; "
                  f"person retention {t['person_retention']} vs AVIF {fmt(t['avif_person_retention'])} (YOLO), "
                  f"{t['person_retention_hog']} vs {fmt(t['avif_person_retention_hog'])} (HOG); blob share {t['blob_share']} "
                  f"vs JPEG {fmt(t['jpeg_blob_share'])}; face survival {t['face_survival']} without the guard, "
                  f"{t['face_survival_guard']} with it (interpolated between the nearest qualities of each codec).")  # fmt: skip
    speed = s[args.name].get("speed", {}).get("640x480", {})
    curve = ""
    if args.eval_log and args.eval_log.is_file():
        with open(args.eval_log) as f:
            evals = list(csv.DictReader(f))
        picks = evals[:: max(1, len(evals) // 8)] + ([evals[-1]] if evals else [])
        seen: set[str] = set()
        lines = ["| step | bpp (estimated) | PSNR (dB) | learning rate |", "|---|---|---|---|"]
        for r in picks:
            if r["step"] not in seen:
                seen.add(r["step"])
                lines.append(f"| {r['step']} | {r['bpp']} | {r['psnr']} | {r['lr']} |")
        curve = ("\n## Training curve (held-out images, evaluated during training)\n\nThe pool's held-out photos and the "
                 "labelled held-out stills at up to 640 px, the latent rounded as the codec rounds it, bits from the "
                 "likelihoods (no entropy coder):\n\n" + "\n".join(lines) + "\n")  # fmt: skip
    text = f"""# Preset `{args.name}`

- File: `{path.name}`, {path.stat().st_size // 1024} KiB, parameters stored as {w.stored_dtype}; model
  {w.model.name} (N-M-S: analysis width, hidden layers, synthesis width), model id `{w.model_id_hex}`.
- Loss: {_loss(cfg)}, rate weight {cfg["rate"]}.
- Trained for {w.metadata["steps"]} steps on the CPU of this project's machines (2 cores){
  f", starting from `{cfg['init']}`" if cfg.get("init") else ""}.
- Speed ({bench["date"]}, {bench["machine"]["cores"]} cores, guard off): encode {speed.get("encode_ms", "-")} ms,
  decode {speed.get("decode_ms", "-")} ms per 640x480 frame.

## How it was made

```sh
{chr(10).join(args.commands)}
```

Config:

```yaml
{yaml.safe_dump({k: v for k, v in cfg.items() if k != "extra"}, sort_keys=False).strip()}
```

Data: `data/offline/labels.json` (frames and stills that install offline, pseudo-labelled heads and
bodies; whole sources held out) for {round(100 * (1 - cfg.get("photo_share", 0)))} % of the samples,
{f"and for {round(100 * cfg.get('photo_share', 0))} % random crops of the photo pool (`anon-codec data pool`):" if
 cfg.get("photo_share") else "no photo pool."}

{_pool_lines() if cfg.get("photo_share") else ""}

{"Face crops of scikit-image's `lfw_subset` (the first 100) are pasted onto training crops as extra heads."
 if cfg.get("paste_faces") and cfg.get("lfw_faces", True) else ""}

## Evaluation (`anon-codec bench`, {bench["date"]}, {bench["images"]} held-out images)

Held out: the labelled eval stills (bus, zidane, astronaut, messi: people and faces) and the pool's
held-out photos. Face survival: MTCNN faces (p >= 0.9) on the original found again (IoU >= 0.5) on
the decoded image; person retention likewise with YOLO (which made the training's body labels) and
OpenCV's HOG detector (which did not); blob share: pixels outside heads with an error above 96 in
some channel.

{chr(10).join(rows)}

{comparison}
{curve}
The held-out split is small (a few faces and persons), so the detector figures carry large
uncertainty; the full tables and plots are in the README.
"""
    (presets.PRESET_DIR / f"{args.name}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
