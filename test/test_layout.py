"""The package's architecture: what a robot loads, which way imports flow, and a pinned bitstream."""

from __future__ import annotations

import ast
import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from anon_compression_codec import Encoder

PKG = Path(__file__).resolve().parents[1] / "anon_compression_codec" / "anon_compression_codec"
PARTS = ("runtime", "privacy", "training", "evaluation", "data", "bags", "web")


def _loaded_after(statement: str) -> set[str]:
    listing = "sorted(m for m in sys.modules if m.startswith('anon_compression_codec'))"
    code = f"import sys, json; {statement}; print(json.dumps({listing}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


RUNTIME_IMPORTS = ["import anon_compression_codec.runtime.codec", "from anon_compression_codec import Decoder, Encoder"]


@pytest.mark.parametrize("statement", RUNTIME_IMPORTS)
def test_runtime_loads_neither_training_nor_evaluation(statement):
    loaded = _loaded_after(statement)
    assert not {m for m in loaded if m.startswith(("anon_compression_codec.training", "anon_compression_codec.evaluation"))}
    assert not {m for m in loaded if m.startswith(("anon_compression_codec.data", "anon_compression_codec.cli",
                                                   "anon_compression_codec.bags"))}
    assert "anon_compression_codec.privacy.guard" in loaded  # the guard is part of every encoder


def _imports(path: Path) -> set[str]:
    """Project modules a file imports (relative imports resolved), at any depth of the file."""
    rel = path.relative_to(PKG.parent).with_suffix("")
    package = list(rel.parts[:-1]) if rel.name != "__init__" else list(rel.parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
                # `from . import x` imports the module x, not the package's __init__.
                found.update([f"{mod}.{a.name}" for a in node.names] if not node.module else [mod])
            elif node.module and node.module.startswith("anon_compression_codec"):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("anon_compression_codec"))
    return found


def _part(module: str) -> str:
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in PARTS:
        return parts[1]
    if module == "anon_compression_codec":
        return "facade"
    return "cli" if parts[-1] == "cli" else "common"  # errors, resources, media


# Which part may import which (besides itself): the arrows of the codec README's architecture.
# Every part may import "common" (errors, resources, media), which imports nothing else.
ALLOWED = {
    "common": set(),
    "facade": {"common", "runtime", "privacy"},  # the package's names, imported lazily
    "runtime": {"common", "privacy"},  # the encoder guards, the decoder paints; nothing else
    "privacy": {"common", "runtime"},
    "data": {"common", "runtime"},
    "training": {"common", "runtime", "privacy", "data"},
    "evaluation": {"common", "runtime", "privacy", "data"},
    "bags": {"common", "runtime", "privacy"},
    "web": {"common", "runtime", "privacy"},
    "cli": {"common", "runtime", "privacy", "data", "training", "evaluation", "bags", "web"},
}


def test_imports_flow_one_way():
    bad = []
    for path in PKG.rglob("*.py"):
        mod = ".".join(path.relative_to(PKG.parent).with_suffix("").parts).removesuffix(".__init__")
        for target in _imports(path):
            if _part(target) != _part(mod) and _part(target) not in ALLOWED[_part(mod)]:
                bad.append(f"{mod} -> {target}")
            if target.endswith(".cli") and not mod.endswith(".cli"):
                bad.append(f"{mod} imports the CLI")
    assert not bad, bad


def test_no_import_cycle_between_modules():
    graph = {}
    for path in PKG.rglob("*.py"):
        mod = ".".join(path.relative_to(PKG.parent).with_suffix("").parts).removesuffix(".__init__")
        graph[mod] = {t for t in _imports(path) if t != mod}

    def cycle_from(start, node, seen):
        for nxt in graph.get(node, ()):
            if nxt == start:
                return True
            if nxt not in seen and not nxt.startswith(node + "."):
                seen.add(nxt)
                if cycle_from(start, nxt, seen):
                    return True
        return False

    # A package's __init__ re-exporting its own modules is not a cycle; module pairs are.
    cyclic = [m for m in graph if not (PKG.parent / m.replace(".", "/")).is_dir() and cycle_from(m, m, set())]
    assert not cyclic, cyclic


def _pinned_image() -> np.ndarray:
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:123, 0:201]
    img = np.stack([(x * 1.1) % 256, (y * 2.0 + x) % 256, 128 + 60 * np.sin(x / 9.0) * np.cos(y / 7.0)], -1)
    return np.clip(img + rng.normal(0, 6, img.shape), 0, 255).astype(np.uint8)


def test_bitstream_is_byte_identical_to_before_the_layout_change():
    """Hashes recorded with the code before the files moved (commit 86a0b6f), `paper` preset (then
    named `privacy`, same file). The guarded frame's hash was recorded again for guard version 2
    (issue #27: box pixels filled before the analysis) and again for its plain head over the fill,
which change guarded bytes on purpose."""
    enc = Encoder("paper", guard=False)
    img = _pinned_image()
    plain = enc(img)
    guarded = enc(img, boxes=np.array([[10.4, 20.6, 60.2, 70.9], [180.5, 100.1, 201, 123]]))
    assert hashlib.sha256(plain).hexdigest() == "ea3db6a18fa15ca3a542e9a662802a23aaadc0bbdd338c9533f3ce85e8ab47a8"
    assert hashlib.sha256(guarded).hexdigest() == "a88a622f0bd79f4721ce96622d21b3a8abfec8217bed2e1b8153fe1898481ecc"


NODES = Path(__file__).resolve().parents[1] / "anon_compression_nodes" / "anon_compression_nodes"


def test_no_node_imports_another_node_and_capture_loads_no_torch():
    for path in NODES.glob("*_node.py"):
        text = path.read_text()
        imported = set(re.findall(r"from \.(\w+) import", text)) | set(re.findall(r"anon_compression_nodes\.(\w+)", text))
        others = {m for m in imported if m.endswith("_node") and m != path.stem}
        assert not others, f"{path.name} imports {others}"
    code = "import sys, anon_compression_nodes.capture_node; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], timeout=120).returncode == 0


def test_the_core_imports_no_optional_extra():
    """Encoder and Decoder with the guard, as a robot runs them, import none of the packages that
    pyproject.toml declares as extras (web, bags, fleet, train, eval)."""
    code = ("import sys, numpy as np; from anon_compression_codec import Encoder, Decoder; "
            "Decoder()(Encoder()(np.zeros((64, 64, 3), np.uint8))); "
            "extras = {'starlette', 'uvicorn', 'rosbags', 'imageio_ffmpeg', 'distributed', 'dask', 'tensorboard', "
            "'matplotlib', 'PIL', 'bjontegaard', 'pytorch_msssim', 'ultralytics', 'facenet_pytorch'}; "
            "found = extras & {m.split('.')[0] for m in sys.modules}; print(sorted(found)); sys.exit(bool(found))")  # fmt: skip
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr[-2000:]
