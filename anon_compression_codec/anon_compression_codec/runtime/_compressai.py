"""The parts of compressai the models are built from (EntropyBottleneck, GaussianConditional, GDN1), imported without
running compressai/__init__.py, which imports every compressai subpackage (its datasets pull in
torch_geometric and pandas) and costs ~6 s of a node's start-up on 2 cores. The package object
registered here is compressai's own folder: any other compressai module still imports on demand.
"""

from __future__ import annotations

import importlib.util
import sys
import types


def _light_package() -> None:
    if "compressai" in sys.modules:
        return  # already imported (fully, or by us): nothing to save
    spec = importlib.util.find_spec("compressai")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("compressai is not installed")
    package = types.ModuleType("compressai")
    package.__spec__, package.__file__ = spec, spec.origin
    package.__path__ = list(spec.submodule_search_locations)
    # What compressai/__init__ defines and its entropy models ask for: the default coder, "ans"
    # (EntropyBottleneck builds one; our codec codes with constriction instead).
    package.get_entropy_coder = lambda: "ans"
    package.available_entropy_coders = lambda: ["ans"]
    sys.modules["compressai"] = package


_light_package()

from compressai.entropy_models import EntropyBottleneck, GaussianConditional  # noqa: E402
from compressai.layers import GDN1  # noqa: E402

__all__ = ["GDN1", "EntropyBottleneck", "GaussianConditional"]
