"""Images packed inside other files: Qt resource bundles (.rcc) and Enlightenment's .edj themes.

Both are read without the programs that wrote them: a Qt resource file is a small tree of names
and (optionally zlib-compressed) blobs, parsed here as Qt's rcc documents it; an .edj file is an
Eet archive whose backgrounds are stored as plain JPEG streams, found by their start marker.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator

import cv2
import numpy as np

from ..errors import InputError

_RCC_MAGIC = b"qres"
_RCC_COMPRESSED, _RCC_DIRECTORY, _RCC_ZSTD = 0x01, 0x02, 0x04
_JPEG_START = b"\xff\xd8\xff"


def qt_resources(data: bytes, name: str = "rcc") -> Iterator[tuple[str, bytes]]:
    """(path, content) of every file in a Qt binary resource bundle (format versions 1-3)."""
    if data[:4] != _RCC_MAGIC or len(data) < 20:
        raise InputError(f"{name}: not a Qt resource file")
    version, tree, payload, names = struct.unpack(">IIII", data[4:20])
    entry = 22 if version >= 2 else 14

    def name_at(offset: int) -> str:
        length = struct.unpack_from(">H", data, names + offset)[0]
        start = names + offset + 6  # length, then a 4-byte hash
        return data[start : start + 2 * length].decode("utf-16-be")

    stack = [(0, "")]
    seen = 0
    while stack:
        index, prefix = stack.pop()
        seen += 1
        if seen > 1_000_000:
            raise InputError(f"{name}: resource tree does not end")
        at = tree + index * entry
        name_offset, flags = struct.unpack_from(">IH", data, at)
        path = f"{prefix}/{name_at(name_offset)}" if index else ""
        if flags & _RCC_DIRECTORY:
            count, first = struct.unpack_from(">II", data, at + 6)
            stack.extend((child, path) for child in range(first + count - 1, first - 1, -1))
            continue
        offset = payload + struct.unpack_from(">I", data, at + 10)[0]
        size = struct.unpack_from(">I", data, offset)[0]
        blob = data[offset + 4 : offset + 4 + size]
        if flags & _RCC_ZSTD:
            raise InputError(f"{name}: {path} is zstd-compressed, which this reader does not handle")
        if flags & _RCC_COMPRESSED:
            blob = zlib.decompress(blob[4:])  # after the uncompressed size
        yield path, blob


def largest_jpeg(data: bytes, name: str = "file") -> np.ndarray:
    """The largest JPEG image (by pixels) stored verbatim inside a binary file, decoded (BGR)."""
    best, best_area = -1, 0
    start = data.find(_JPEG_START)
    while start != -1:
        # A JPEG stream ends at its EOI marker and the decoder stops there: the bytes after it are ignored.
        probe = cv2.imdecode(np.frombuffer(data, np.uint8, offset=start), cv2.IMREAD_REDUCED_GRAYSCALE_8)
        if probe is not None and probe.size > best_area:
            best, best_area = start, probe.size
        start = data.find(_JPEG_START, start + 3)
    img = cv2.imdecode(np.frombuffer(data, np.uint8, offset=best), cv2.IMREAD_COLOR) if best >= 0 else None
    if img is None:
        raise InputError(f"{name}: no JPEG image inside")
    return img
