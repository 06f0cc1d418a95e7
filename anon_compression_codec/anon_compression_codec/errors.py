"""The exception family of the codec. Every error a caller can cause derives from CodecError."""


class CodecError(Exception):
    """Base class of all errors raised by anon_compression_codec."""


class InputError(CodecError, ValueError):
    """An image the encoder does not accept (dtype, shape, channels, size)."""


class WeightsError(CodecError):
    """A weight file or preset that is missing, unreadable or not a codec model."""


class BitstreamError(CodecError, ValueError):
    """A payload that cannot be decoded. Subclasses say why."""


class CorruptPayloadError(BitstreamError):
    """Truncated, extended or damaged data: bad magic, length, checksum or field values."""


class UnsupportedVersionError(BitstreamError):
    """A well-formed payload of a bitstream version this decoder does not read."""


class ModelMismatchError(BitstreamError):
    """A payload made by other weights than the decoder's."""


class LimitError(BitstreamError):
    """A well-formed payload beyond this decoder's limits (pixels, guard boxes or their area)."""
