"""Box annotations in and out.

Our JSON format (one file per image set):
    {"provenance": {...how the boxes were made...},
     "images": [{"file": "relative/to/the/json.png", "split": "train" | "eval",
                 "width": W, "height": H,
                 "heads": [[x0, y0, x1, y1], ...], "bodies": [[x0, y0, x1, y1], ...]}]}
Boxes are pixel corners, x1 > x0, y1 > y0. CrowdHuman `.odgt` files read into the same records.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import InputError


@dataclass
class Record:
    file: str
    width: int = 0
    height: int = 0
    heads: list[list[float]] = field(default_factory=list)
    bodies: list[list[float]] = field(default_factory=list)
    split: str = "train"


def read_json(path: str | Path) -> tuple[list[Record], dict]:
    path = Path(path)
    try:
        blob = json.loads(path.read_text())
        records = [Record(**r) for r in blob["images"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{path}: not a box file ({exc})") from None
    return records, blob.get("provenance", {})


def write_json(path: str | Path, records: list[Record], provenance: dict) -> None:
    blob = {"provenance": provenance, "images": [asdict(r) for r in records]}
    Path(path).write_text(json.dumps(blob, indent=1))


def _xywh(box) -> list[float]:
    x, y, w, h = (float(v) for v in box)
    return [x, y, x + w, y + h]


def read_odgt(path: str | Path, image_dir: str = "Images", split: str = "train") -> list[Record]:
    """CrowdHuman annotations: per person `hbox` (head) and `vbox` (visible body), xywh.
    Only tag "person" counts; `extra.ignore` drops the person, `head_attr.ignore`/`unsure` its head."""
    records = []
    for line_no, line in enumerate(Path(path).read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            rec = Record(file=f"{image_dir}/{item['ID']}.jpg", split=split)
            for gt in item.get("gtboxes", []):
                if gt.get("tag") != "person" or gt.get("extra", {}).get("ignore", 0):
                    continue
                if "vbox" in gt:
                    rec.bodies.append(_xywh(gt["vbox"]))
                head = gt.get("head_attr", {})
                if "hbox" in gt and not head.get("ignore", 0) and not head.get("unsure", 0):
                    rec.heads.append(_xywh(gt["hbox"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{path}:{line_no}: not a CrowdHuman record ({exc})") from None
        records.append(rec)
    return records
