"""Shipped weights, selectable by name. Each preset is `<name>.pt` beside a model card `<name>.md`.

A preset replaced by better weights moves to `retired/<name>-<model id>.pt` (with its card): no
longer offered by name, but still found by its model id, so frames and bags recorded with it decode.
"""

from __future__ import annotations

from pathlib import Path

from ...errors import WeightsError

PRESET_DIR = Path(__file__).resolve().parent
RETIRED_DIR = PRESET_DIR / "retired"
DEFAULT_PRESET = "default"


def available() -> list[str]:
    return sorted(p.stem for p in PRESET_DIR.glob("*.pt"))


_IDS: dict[str, str] = {}


def find(model_id: bytes) -> str | None:
    """The shipped weights whose model identifier this is (a decoder can follow an encoder that
    switched rungs of the ladder): a preset's name, or a retired preset's path; None if nothing
    shipped has it. Identifiers are computed once."""
    from ..model import load_weights

    for name in available():
        if name not in _IDS:
            _IDS[name] = load_weights(PRESET_DIR / f"{name}.pt").model_id_hex
        if _IDS[name] == model_id.hex():
            return name
    retired = next(RETIRED_DIR.glob(f"*-{model_id.hex()}.pt"), None)  # the id is in the file name
    return str(retired) if retired is not None else None


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
