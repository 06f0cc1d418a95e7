"""anon_compression_codec: anonymizing learned image compression (no ROS).

The bitstream and the errors import at once; the parts that need torch (Encoder, Decoder, the model,
StageConfig) import on first use (PEP 562), so tools that only read headers start fast.
"""

import warnings

# compressai decorates functions with torch.jit.script, which torch 2.14 deprecates at import time;
# the warning is compressai's, not actionable by our users.
warnings.filterwarnings("ignore", message="`torch.jit.script` is deprecated", category=FutureWarning)

# ruff: noqa: E402

from .errors import (
    BitstreamError,
    CodecError,
    CorruptPayloadError,
    InputError,
    LimitError,
    ModelMismatchError,
    UnsupportedVersionError,
    WeightsError,
)
from .runtime.bitstream import CODEC_NAME, Header, parse, peek_header
from .runtime.bitstream import VERSION as BITSTREAM_VERSION

_LAZY = {
    "Encoder": "runtime.codec", "Decoder": "runtime.codec", "FollowingDecoder": "runtime.codec",
    "AnonAutoencoder": "runtime.model", "load_weights": "runtime.model", "save_weights": "runtime.model",
    "StageConfig": "privacy.stage",
}  # fmt: skip


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BITSTREAM_VERSION", "CODEC_NAME", "AnonAutoencoder", "BitstreamError", "CodecError", "CorruptPayloadError",
    "Decoder", "Encoder", "FollowingDecoder", "Header", "InputError", "LimitError", "ModelMismatchError", "StageConfig",
    "UnsupportedVersionError", "WeightsError", "load_weights", "parse", "peek_header", "save_weights",
]  # fmt: skip
