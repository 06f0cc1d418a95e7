"""Shipped weights, selectable by name. Each preset is `<name>.pt` beside a model card `<name>.md`."""

from __future__ import annotations

from pathlib import Path

from ..errors import WeightsError

PRESET_DIR = Path(__file__).resolve().parent
DEFAULT_PRESET = "balanced"


def available() -> list[str]:
    return sorted(p.stem for p in PRESET_DIR.glob("*.pt"))


def resolve(spec: str | Path | None) -> Path:
    """A preset name or a path to a weight file -> an existing path, or WeightsError."""
    spec = DEFAULT_PRESET if spec in (None, "") else spec
    candidate = PRESET_DIR / f"{spec}.pt"
    if isinstance(spec, str) and "/" not in spec and candidate.is_file():
        return candidate
    path = Path(spec).expanduser()
    if path.is_file():
        return path
    names = ", ".join(available()) or "none shipped"
    raise WeightsError(f"no weights {str(spec)!r}: not a file and not a preset (presets: {names})")
