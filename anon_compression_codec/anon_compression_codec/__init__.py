"""anon_compression_codec: anonymizing learned image compression (no ROS)."""

import warnings

# compressai decorates functions with torch.jit.script, which torch 2.14 deprecates at import time;
# the warning is compressai's, not actionable by our users.
warnings.filterwarnings("ignore", message="`torch.jit.script` is deprecated", category=FutureWarning)

# ruff: noqa: E402

from .bitstream import CODEC_NAME, Header, parse, peek_header
from .bitstream import VERSION as BITSTREAM_VERSION
from .codec import Decoder, Encoder
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
from .model import AnonAutoencoder, load_weights, save_weights
from .privacy.stage import StageConfig

__all__ = [
    "BITSTREAM_VERSION", "CODEC_NAME", "AnonAutoencoder", "BitstreamError", "CodecError",
    "CorruptPayloadError", "Decoder", "Encoder", "Header", "InputError", "LimitError", "ModelMismatchError", "StageConfig",
    "UnsupportedVersionError", "WeightsError", "load_weights", "parse", "peek_header", "save_weights",
]  # fmt: skip
