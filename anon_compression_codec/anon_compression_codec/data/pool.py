"""The photo pool: natural photographs that install offline, for random-crop training.

Sources are Debian packages (fetched with `apt-get download` and unpacked with `dpkg -x` into a
cache folder: no root, nothing installed system-wide) and stills that ship with Python packages.
Only photographs are listed (the packages' abstract and rendered wallpapers are left out); a
wallpaper that comes in several resolutions is taken once, at its largest. Each photo is written
once, its longer side at most `MAX_SIDE`, with its source, licence and split in `pool.json`.
Whole photos are held out for evaluation (`split: eval`) and never trained on.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2

from ..errors import InputError
from ..resources import package_file

MAX_SIDE = 1600
DEFAULT_CACHE = Path("~/.cache/anon-compression").expanduser()


@dataclass(frozen=True)
class Source:
    name: str
    package: str  # Debian package ("deb:NAME") or Python package ("py:NAME")
    path: str  # inside the unpacked package; a wallpaper folder means "its largest image"
    licence: str
    split: str = "train"


_PLASMA = "usr/share/wallpapers/{}/contents/images"
_MATE = "usr/share/backgrounds/mate/nature/{}.jpg"
_MATE_LICENCE = "GPL-2+ (mate-backgrounds copyright file: one author per photo)"
_PLASMA_LICENCE = "GPL-2+ (plasma-workspace-wallpapers copyright file: KDE Visual Design Group)"

SOURCES = [
    *(Source(n.lower(), "deb:mate-backgrounds", _MATE.format(n), _MATE_LICENCE)
      for n in ("Aqua", "Blinds", "FreshFlower", "Garden", "GreenMeadow", "RainDrops", "Storm", "TwoWings", "Wood",
                "YellowFlower")),  # fmt: skip
    *(Source(n.lower(), "deb:plasma-workspace-wallpapers", _PLASMA.format(n), _PLASMA_LICENCE)
      for n in ("BytheWater", "ColdRipple", "FallenLeaf", "Grey", "MilkyWay", "OneStandsOut", "Path", "summer_1am",
                "Kite", "DarkestHour")),  # fmt: skip
    Source("coffee", "py:skimage", "data/coffee.png", "scikit-image data: CC0 (photographer Rachel Michetti)"),
    Source("chelsea", "py:skimage", "data/chelsea.png", "scikit-image data: CC0 (photographer Stefan van der Walt)"),
    Source("rocket", "py:skimage", "data/rocket.jpg", "scikit-image data: public domain (released by SpaceX)"),
    Source("motorcycle", "py:skimage", "data/motorcycle_left.png",
           "scikit-image data: Middlebury 2014 stereo dataset (Scharstein et al.); no licence stated, research use"),
    Source("brick", "py:skimage", "data/brick.png", "scikit-image data: CC0 (CC0Textures)"),
    # Held out: whole photos for the rate-distortion evaluation, never trained on.
    Source("dune", "deb:mate-backgrounds", _MATE.format("Dune"), _MATE_LICENCE, "eval"),
    Source("ladybird", "deb:mate-backgrounds", _MATE.format("LadyBird"), _MATE_LICENCE, "eval"),
    Source("eveningglow", "deb:plasma-workspace-wallpapers", _PLASMA.format("EveningGlow"), _PLASMA_LICENCE, "eval"),
    Source("colorfulcups", "deb:plasma-workspace-wallpapers", _PLASMA.format("ColorfulCups"), _PLASMA_LICENCE, "eval"),
]


@dataclass
class Photo:
    file: str  # relative to the pool folder
    name: str
    source: str
    original: str
    licence: str
    split: str
    width: int
    height: int


def _unpack(package: str, cache: Path) -> Path:
    """`apt-get download` + `dpkg -x` into the cache (once); the folder the package unpacked into."""
    root = cache / "pkgroot" / package
    if (root / ".complete").is_file():
        return root
    debs = cache / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    found = sorted(debs.glob(f"{package}_*.deb"))
    if not found:
        run = subprocess.run(["apt-get", "download", package], cwd=debs, capture_output=True, text=True)
        found = sorted(debs.glob(f"{package}_*.deb"))
        if not found:
            raise InputError(f"cannot download Debian package {package}: {run.stderr.strip()[-300:]}")
    root.mkdir(parents=True, exist_ok=True)
    subprocess.run(["dpkg", "-x", str(found[-1]), str(root)], check=True)
    (root / ".version").write_text(found[-1].name)
    (root / ".complete").touch()
    return root


def _locate(src: Source, cache: Path) -> tuple[Path, str]:
    kind, name = src.package.split(":", 1)
    if kind == "py":
        return package_file(name, *src.path.split("/"), required=False), name
    root = _unpack(name, cache)
    path = root / src.path
    if path.is_dir():  # a wallpaper in several resolutions: the largest
        path = max(path.iterdir(), key=lambda p: _area(p.stem))
    return path, (root / ".version").read_text()


def _area(stem: str) -> int:
    try:
        w, h = (int(v) for v in stem.split("x"))
    except ValueError:
        return 0
    return w * h


def build(out: Path, cache: Path = DEFAULT_CACHE) -> list[Photo]:
    """Write every source's photo under out/images and the provenance to out/pool.json."""
    (out / "images").mkdir(parents=True, exist_ok=True)
    photos = []
    for src in SOURCES:
        path, version = _locate(src, cache)
        img = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if img is None:
            raise InputError(f"pool source {src.name}: cannot read {path}")
        scale = MAX_SIDE / max(img.shape[:2])
        if scale < 1:
            img = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        rel = f"images/{src.name}.png"
        cv2.imwrite(str(out / rel), img)
        original = str(path.relative_to(cache)) if path.is_relative_to(cache) else path.name
        photos.append(Photo(rel, src.name, version, original, src.licence, src.split, img.shape[1], img.shape[0]))
    (out / "pool.json").write_text(json.dumps({"max_side": MAX_SIDE, "photos": [asdict(p) for p in photos]}, indent=1))
    return photos


def read(pool: str | Path, split: str = "train") -> list[Path]:
    """The image files of one split of a built pool."""
    pool = Path(pool)
    try:
        photos = json.loads((pool / "pool.json").read_text())["photos"]
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"{pool}: not a photo pool, run `anon-codec data pool` ({exc})") from None
    return [pool / p["file"] for p in photos if p["split"] == split]
