"""Shipped weights, selectable by name. Each weight file is `<name>.pt` beside a model card `<name>.md`.

`low`, `default` and `high` are named qualities of one variable-rate file (codec v2, `v2.pt`): the
name selects the file and the quality a frame starts from; an explicit quality overrides it.
`paper` is the reference method's one-rate model (factorized prior, inverted head term).

A preset replaced by better weights moves to `retired/<name>-<model id>.pt` (with its card): no
longer offered by name, but still found by its model id, so frames and bags recorded with it decode.
"""

from __future__ import annotations

from pathlib import Path

from ...errors import WeightsError

PRESET_DIR = Path(__file__).resolve().parent
RETIRED_DIR = PRESET_DIR / "retired"
DEFAULT_PRESET = "default"
RATE_MODEL = "v2"
# Qualities of v2.pt (bpp at 640x480 on the held-out split, docs/bench/2026-12-07-s4-50000): low the
# fewest bits it codes (0.12), default about the bits of the one-rate default it replaced (0.22 vs
# 0.20), high where the curve starts to flatten (0.49).
NAMED_QUALITIES = {"low": 0.0, "default": 30.0, "high": 80.0}
DEFAULT_QUALITY = NAMED_QUALITIES[DEFAULT_PRESET]


def files() -> list[str]:
    """The shipped weight files' names (each resolves to itself)."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.pt"))


def available() -> list[str]:
    """Every name `resolve` takes: the files and the named qualities."""
    return sorted({*files(), *NAMED_QUALITIES})


def _named(spec: str | Path | None) -> str | Path:
    return DEFAULT_PRESET if spec in (None, "") else spec


def quality(spec: str | Path | None) -> float:
    """The quality a preset name stands for; DEFAULT_QUALITY for any other weights."""
    spec = _named(spec)
    return NAMED_QUALITIES.get(spec, DEFAULT_QUALITY) if isinstance(spec, str) else DEFAULT_QUALITY


def describe_qualities() -> str:
    """The named qualities in words, for help texts and parameter descriptions."""
    named = ", ".join(f"{name} {q:g}" for name, q in NAMED_QUALITIES.items())
    return f"{named}; {DEFAULT_QUALITY:g} for a weight file"


_IDS: dict[str, str] = {}


def find(model_id: bytes) -> str | None:
    """The shipped weights whose model identifier this is (a decoder can follow an encoder that
    switched rungs of the ladder): a preset's name, or a retired preset's path; None if nothing
    shipped has it. Identifiers are computed once."""
    from ..model import load_weights

    for name in files():
        if name not in _IDS:
            _IDS[name] = load_weights(PRESET_DIR / f"{name}.pt").model_id_hex
        if _IDS[name] == model_id.hex():
            return name
    retired = next(RETIRED_DIR.glob(f"*-{model_id.hex()}.pt"), None)  # the id is in the file name
    return str(retired) if retired is not None else None


def resolve(spec: str | Path | None) -> Path:
    """A preset name or a path to a weight file -> an existing path, or WeightsError."""
    spec = _named(spec)
    candidate = PRESET_DIR / f"{RATE_MODEL if spec in NAMED_QUALITIES else spec}.pt"
    if isinstance(spec, str) and "/" not in spec and candidate.is_file():
        return candidate
    path = Path(spec).expanduser()
    if path.is_file():
        return path
    names = ", ".join(available()) or "none shipped"
    raise WeightsError(f"no weights {str(spec)!r}: not a file and not a preset (presets: {names})")
