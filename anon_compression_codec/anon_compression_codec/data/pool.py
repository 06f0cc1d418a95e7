"""The photo pool: natural photographs that install offline, for random-crop training.

Sources are Debian packages (fetched with `apt-get download` and unpacked with `dpkg -x` into a
cache folder: no root, nothing installed system-wide) and stills that ship with Python packages.
Some packages keep their photos inside other files (gcompris's Qt resource bundles, Enlightenment's
.edj themes): `containers` reads those. Only camera photographs are listed, chosen by eye from
contact sheets of every image >= 256 px in each package (drawings, renders, paintings, diagrams
and abstract wallpapers left out); near-duplicates (a wallpaper in several resolutions, a stereo
pair, a crop of another photo) are taken once, by a 256-bit gradient hash. Each photo is written
once, its longer side at most `MAX_SIDE`, with its source, package version, licence, split and
hash in `pool.json`.

Whole sources are held out (`split: eval`) and never trained on; the held-out photos with people
carry head and body boxes (the offline labeller's pseudo labels). No photo may be a near-duplicate
of an image the benchmarks evaluate (the offline set's eval split): `build` refuses it.
"""

from __future__ import annotations

import fnmatch
import json
import subprocess
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError
from ..resources import package_file
from . import containers

MAX_SIDE = 1600
MIN_SIDE, MIN_LONG_SIDE = 256, 448  # smaller images are icons and thumbnails, not training photos
NEAR = 12  # of 256 hash bits: closer than this is the same photo (resized, recompressed, recropped)
DEFAULT_CACHE = Path("~/.cache/anon-compression").expanduser()


@dataclass(frozen=True)
class Source:
    """One collection of photos: `paths` are globs inside the unpacked package; "BUNDLE.rcc:GLOB"
    takes the matching files of a Qt resource bundle, "FILE.edj" the largest JPEG inside it.
    A Python package's path is a file inside it."""

    name: str
    package: str  # Debian package ("deb:NAME") or Python package ("py:NAME")
    paths: tuple[str, ...]
    licence: str
    split: str = "train"


def _in(folder: str, *names: str) -> tuple[str, ...]:
    return tuple(f"{folder}/{n}" for n in names)


_GC = "usr/share/gcompris-qt/rcc"
_GC_LICENCE = "GPL-3+ (gcompris-qt-data copyright: Files: *; photos credited in each activity's README)"
_PLASMA = "usr/share/wallpapers/{}/contents/images"
_OPENCV = "usr/share/doc/opencv-doc/examples/data"
_E_BG = "usr/share/enlightenment/data/backgrounds"
_LOMIRI = "lomiri-wallpapers copyright, per file: {}"
_TUXPAINT = "usr/share/tuxpaint/templates"
# messi5.jpg is left out: the offline set's eval split (the benchmarks) uses it.
_OPENCV_STILLS = ("aero1.jpg", "aero3.jpg", "aloeL.jpg", "apple.jpg", "baboon.jpg", "basketball1.png", "board.jpg",
                  "box_in_scene.png", "building.jpg", "chicky_512.png", "ela_original.jpg", "fruits.jpg", "graf1.png",
                  "home.jpg", "left.jpg", "leuvenA.jpg", "licenseplate_motion.jpg", "orange.jpg", "rubberwhale1.png",
                  "squirrel_cls.jpg", "stuff.jpg", "text_defocus.jpg", "text_motion.jpg")  # fmt: skip
_OPENCV_TEXT = ("usr/share/doc/opencv-doc/examples/text/scenetext0?.jpg",
                "usr/share/doc/opencv-doc/examples/text/scenetext_segmented_word0?.jpg",
                "usr/share/doc/opencv-doc/examples/ximgproc/stanford.png")  # fmt: skip

SOURCES = [
    Source("gc-erase", "deb:gcompris-qt-data", (f"{_GC}/erase.rcc:*.webp",), _GC_LICENCE),
    Source("gc-sea", "deb:gcompris-qt-data", (f"{_GC}/clickgame.rcc:*.webp",), _GC_LICENCE),
    Source("gc-details", "deb:gcompris-qt-data",
           _in(f"{_GC}/details.rcc:*", *(f"{n}_background.webp" for n in (
               "EgeskovSlotSpejling", "EilanDonanCastle", "GizahPyramids", "Louvre_2007_02_24_c", "TowerBridgeLondon",
               "Chenonceau", "Nagoya", "OperaSidney"))), _GC_LICENCE),  # fmt: skip
    Source("gc-farm", "deb:gcompris-qt-data", (f"{_GC}/explore_farm_animals.rcc:*.webp",), _GC_LICENCE),
    Source("gc-monuments", "deb:gcompris-qt-data", (f"{_GC}/explore_monuments.rcc:*.webp",), _GC_LICENCE),
    Source("gc-animals", "deb:gcompris-qt-data", (f"{_GC}/explore_world_animals.rcc:*.webp",), _GC_LICENCE),
    Source("opencv", "deb:opencv-doc", _in(_OPENCV, *_OPENCV_STILLS) + _OPENCV_TEXT,
           "Apache-2.0 AND BSD-3-Clause (opencv-doc copyright: Files: *)"),
    Source("lomiri", "deb:lomiri-wallpapers-16.04",
           _in("usr/share/backgrounds", *(f"{n}.jpg" for n in (
               "Bridge_by_Sander_Klootwijk", "Dragonfly_by_Bolly", "Picture_0B_by_freespace", "Picture_1A_by_freespace",
               "Wine_by_Jakkub_Mede", "aitzgorri_by_Aitzol_Berasategi", "free_by_Peter_Nerlich",
               "friends_by_Aitzol_Berasategi", "life_by_Aitzol_Berasategi", "picosdeeuropa_by_Aitzol_Berasategi",
               "seeding_by_Clements_Engelhardt", "sunset_by_Aitzol_Berasategi"))),
           _LOMIRI.format("CC-BY-SA-4.0 or CC-BY-4.0 (aitzgorri)")),  # fmt: skip
    Source("lomiri20", "deb:lomiri-wallpapers-20.04", ("usr/share/backgrounds/Kleiber_by_Lukas_Baubkus.jpg",),
           _LOMIRI.format("CC-BY-SA-4.0")),
    Source("tuxpaint", "deb:tuxpaint-data", (f"{_TUXPAINT}/*.jpg",), "GPL-2+ (tuxpaint-data copyright: Files: *)"),
    Source("tuxtype", "deb:tuxtype-data", ("usr/share/tuxtype/images/kcas*.jpg", "usr/share/tuxtype/images/hidden.jpg"),
           "public domain: NOAA and U.S. Fish and Wildlife Service photos (tuxtype-data copyright, README_IMAGES)"),
    Source("lxqt", "deb:lxqt-themes",
           ("usr/share/lxqt/themes/silver/beam.png", *_in("usr/share/lxqt/wallpapers", "Butterfly-Kenneth-Wimer.jpg",
            "Valendas.png", "after-the-rain.jpg", "appleflower.png", "butterfly.png", "cloud.png", "drop.png",
            "flowers.png", "fog.jpg", "this-is-not-windows.jpg")),
           "LGPL-2.1+ (lxqt-themes copyright: Files: *)"),  # fmt: skip
    Source("mrpt", "deb:mrpt-common", ("usr/share/mrpt/datasets/stereo-calib/?_left.jpg",),
           "BSD-3-clause (mrpt-common copyright: Files: *)"),
    Source("enlightenment", "deb:enlightenment-data",
           _in(_E_BG, *(f"{n}.edj" for n in ("Bamboo", "God-Rays", "Green-Maple", "Lichen-Branches", "Mountain",
               "Red-Maple", "Snow-Trees", "Sunset-Clouds", "White-Flower", "Yellow-Flower", "Sea-of-Lanterns",
               "Spruce-Needles"))),
           "BSD-2-clause (enlightenment-data copyright: Files: *)"),  # fmt: skip
    Source("libjxl", "deb:libjxl-testdata",
           ("usr/share/libjxl-testdata/external/wesaturate/500px/*.png", "usr/share/libjxl-testdata/jxl/flower/flower.png",
            "usr/share/libjxl-testdata/jxl/hdr_room.png"),
           "CC0 (wesaturate) and BSD-3-clause-Google (libjxl-testdata copyright)"),  # fmt: skip
    Source("digikam", "deb:digikam-data", ("usr/share/digikam/about/images/body-background.jpg",),
           "GPL-2+ (digikam-data copyright: data under the program's GPL, no exception listed)"),
    Source("scribus", "deb:scribus-template", ("usr/share/scribus/templates/*/*.jpg",),
           "GPL-2+ (scribus-template copyright)"),
    Source("pywt", "deb:python3-pywt", _in("usr/lib/python3/dist-packages/pywt/data", "aero.npz", "ascent.npz",
           "camera.npz"), "MIT (python3-pywt copyright; the images as distributed with PyWavelets)"),  # fmt: skip
    *(Source(n.lower(), "deb:mate-backgrounds", (f"usr/share/backgrounds/mate/nature/{n}.jpg",),
             "GPL-2+ (mate-backgrounds copyright file: one author per photo)")
      for n in ("Aqua", "Blinds", "FreshFlower", "Garden", "GreenMeadow", "RainDrops", "Storm", "TwoWings", "Wood",
                "YellowFlower", "Dune", "LadyBird")),  # fmt: skip
    *(Source(n.lower(), "deb:plasma-workspace-wallpapers", (_PLASMA.format(n),),
             "GPL-2+ (plasma-workspace-wallpapers copyright file: KDE Visual Design Group)")
      for n in ("BytheWater", "ColdRipple", "FallenLeaf", "Grey", "MilkyWay", "OneStandsOut", "Path", "summer_1am",
                "Kite", "DarkestHour", "EveningGlow", "ColorfulCups")),  # fmt: skip
    Source("coffee", "py:skimage", ("data/coffee.png",), "scikit-image data: CC0 (photographer Rachel Michetti)"),
    Source("chelsea", "py:skimage", ("data/chelsea.png",), "scikit-image data: CC0 (photographer Stefan van der Walt)"),
    Source("rocket", "py:skimage", ("data/rocket.jpg",), "scikit-image data: public domain (released by SpaceX)"),
    Source("motorcycle", "py:skimage", ("data/motorcycle_left.png",),
           "scikit-image data: Middlebury 2014 stereo dataset (Scharstein et al.); no licence stated, research use"),
    Source("brick", "py:skimage", ("data/brick.png",), "scikit-image data: CC0 (CC0Textures)"),
    # Held out: whole sources, chosen for the people and faces in them; never trained on.
    Source("gc-music", "deb:gcompris-qt-data", (f"{_GC}/explore_world_music.rcc:*.webp",), _GC_LICENCE, "eval"),
    Source("elementary", "deb:libelementary-data", ("usr/share/elementary/images/*.jpg",),
           "BSD-2-clause (libelementary-data copyright: Files: *)", "eval"),
    Source("palapeli", "deb:palapeli-data", ("usr/share/palapeli/collection/*.jpg",),
           "GPL-2+ (palapeli-data copyright: Files: *)", "eval"),
    Source("sklearn", "deb:python3-sklearn", ("usr/lib/python3/dist-packages/sklearn/datasets/images/*.jpg",),
           "BSD-3-Clause (python3-sklearn copyright; china.jpg and flower.jpg are CC-BY, see its README)", "eval"),
]


# Held-out photos without people where the detectors still fire (checked by eye): a dog, a flower.
NO_PEOPLE = ("elementary-mystrale", "elementary-mystrale_2", "sklearn-flower")


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
    package: str = ""  # the package that provided it ("deb:NAME", "py:NAME")
    fingerprint: str = ""  # 256-bit gradient hash (hex), see `fingerprint`
    heads: list = field(default_factory=list)  # held-out photos: [x0, y0, x1, y1] in this file's pixels
    bodies: list = field(default_factory=list)


def fingerprint(img: np.ndarray) -> str:
    """A 256-bit difference hash of the grey image at 17x16: equal for a photo resized or
    recompressed, far apart for different photos."""
    grey = img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    small = cv2.resize(grey, (17, 16), interpolation=cv2.INTER_AREA).astype(np.int16)
    return np.packbits((small[:, 1:] > small[:, :-1]).ravel()).tobytes().hex()


def distance(a: str, b: str) -> int:
    return int(np.unpackbits(np.frombuffer(bytes.fromhex(a), np.uint8) ^ np.frombuffer(bytes.fromhex(b), np.uint8)).sum())


def benchmark_fingerprints() -> dict[str, str]:
    """The images the benchmarks evaluate (the offline set's eval split) that are installed here."""
    from .offline import SOURCES as OFFLINE

    out = {}
    for name, path, split, _ in OFFLINE:
        if split == "eval" and path.is_file() and path.suffix not in (".avi", ".mp4"):
            img = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if img is not None:
                out[name] = fingerprint(img)
    return out


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


def _images(src: Source, cache: Path) -> Iterator[tuple[str, str, np.ndarray]]:
    """(stem, original path, BGR image) of every image a source names, in a fixed order."""
    kind, name = src.package.split(":", 1)
    if kind == "py":
        for rel in src.paths:
            path = package_file(name, *rel.split("/"), required=False)
            img = cv2.imread(str(path), cv2.IMREAD_COLOR) if path.is_file() else None
            if img is None:
                raise InputError(f"pool source {src.name}: cannot read {path} (is {name} installed?)")
            yield path.stem, f"{name}/{rel}", img
        return
    root = _unpack(name, cache)
    for pattern in src.paths:
        pattern, _, member = pattern.partition(":")
        matches = sorted(root.glob(pattern))
        if not matches:
            raise InputError(f"pool source {src.name}: nothing matches {pattern} in {name}")
        for path in matches:
            rel = str(path.relative_to(root))
            if member:
                for inner, blob in containers.qt_resources(path.read_bytes(), rel):
                    if fnmatch.fnmatch(inner, f"*/{member}"):
                        yield Path(inner).stem, f"{rel}:{inner}", cv2.imdecode(np.frombuffer(blob, np.uint8), cv2.IMREAD_COLOR)
            elif path.suffix == ".edj":
                yield path.stem, rel, containers.largest_jpeg(path.read_bytes(), rel)
            elif path.is_dir():  # a wallpaper in several resolutions: the largest
                best = max(path.iterdir(), key=lambda p: _area(p.stem))
                yield path.parent.parent.name, str(best.relative_to(root)), cv2.imread(str(best), cv2.IMREAD_COLOR)
            elif path.suffix == ".npz":  # PyWavelets' demo images: one uint8 array each
                with np.load(path) as arrays:
                    yield path.stem, rel, np.asarray(arrays[arrays.files[0]], np.uint8)
            else:
                yield path.stem, rel, cv2.imread(str(path), cv2.IMREAD_COLOR)


def _area(stem: str) -> int:
    try:
        w, h = (int(v) for v in stem.split("x"))
    except ValueError:
        return 0
    return w * h


def build(out: Path, cache: Path = DEFAULT_CACHE, labeller=None, log=print) -> list[Photo]:
    """Write every source's photos under out/images and the provenance to out/pool.json. Images
    below MIN_SIDE / MIN_LONG_SIDE, near-duplicates of an earlier photo and near-duplicates of a
    benchmark image are left out (and said so). With a `labeller` (training.labels.label: the CLI
    passes it, data does not import training), held-out photos get head and body boxes."""
    (out / "images").mkdir(parents=True, exist_ok=True)
    banned = benchmark_fingerprints()
    photos: list[Photo] = []
    for src in SOURCES:
        version = _version(src, cache)
        for stem, original, img in _images(src, cache):
            if img is None:
                raise InputError(f"pool source {src.name}: cannot decode {original}")
            if img.ndim == 2:
                img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
            if min(img.shape[:2]) < MIN_SIDE or max(img.shape[:2]) < MIN_LONG_SIDE:
                continue
            mark = fingerprint(img)
            same = next((p.name for p in photos if distance(p.fingerprint, mark) < NEAR), None)
            bench = next((b for b, f in banned.items() if distance(f, mark) < NEAR), None)
            if same or bench:
                log(f"pool: {src.name}/{stem} left out, the same photo as {same or 'benchmark image ' + bench}")
                continue
            scale = MAX_SIDE / max(img.shape[:2])
            if scale < 1:
                img = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            single = len(src.paths) == 1 and not any(c in src.paths[0] for c in "*?")
            name = src.name if single else f"{src.name}-{stem}".lower().replace(" ", "_")
            if any(p.name == name for p in photos):  # the same file name in two folders of a package
                name = f"{name}-{Path(original.partition(':')[0]).parent.name}".lower()
            rel = f"images/{name}.png"
            cv2.imwrite(str(out / rel), img)
            photos.append(Photo(rel, name, version, original, src.licence, src.split, img.shape[1], img.shape[0],
                                src.package, mark))  # fmt: skip
    names = [p.name for p in photos]
    if len(names) != len(set(names)):
        raise InputError(f"pool: photo names collide: {sorted({n for n in names if names.count(n) > 1})}")
    if labeller is not None:
        label_held_out(out, photos, labeller)
    (out / "pool.json").write_text(json.dumps({"max_side": MAX_SIDE, "photos": [asdict(p) for p in photos]}, indent=1))
    return photos


def _version(src: Source, cache: Path) -> str:
    kind, name = src.package.split(":", 1)
    if kind == "py":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return f"{name} {version('scikit-image' if name == 'skimage' else name)}"
        except PackageNotFoundError:
            return name
    return (_unpack(name, cache) / ".version").read_text()


def label_held_out(out: Path, photos: list[Photo], labeller) -> None:
    """Heads and bodies of the held-out photos, by the offline set's labeller (its detectors ship).
    A head counts only inside a person's box: the face detectors also fire on animals and drums."""
    held = [p for p in photos if p.split == "eval"]
    records, _ = labeller([(p.file, "eval") for p in held], out, progress=False)
    for photo, record in zip(held, records, strict=True):
        if photo.name in NO_PEOPLE:
            continue
        photo.bodies = record.bodies
        photo.heads = [h for h in record.heads if any(_centre_inside(h, b) for b in record.bodies)]


def _centre_inside(box: list[float], outer: list[float]) -> bool:
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return outer[0] <= cx <= outer[2] and outer[1] <= cy <= outer[3]


def read(pool: str | Path, split: str = "train") -> list[Path]:
    """The image files of one split of a built pool."""
    return [Path(pool) / p["file"] for p in manifest(pool) if p["split"] == split]


def manifest(pool: str | Path) -> list[dict]:
    """The photos of a built pool, as pool.json lists them."""
    pool = Path(pool)
    try:
        return json.loads((pool / "pool.json").read_text())["photos"]
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"{pool}: not a photo pool, run `anon-codec data pool` ({exc})") from None
