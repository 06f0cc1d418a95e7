"""Bags on disk: finding them, opening them with one-line errors, and writing outputs atomically."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

from ..errors import InputError

STORAGES = ("mcap", "sqlite3")


def is_bag(path: Path) -> bool:
    """A rosbag2 bag: a folder with metadata.yaml (or a single .mcap / .db3 file)."""
    return (path.is_dir() and (path / "metadata.yaml").is_file()) or (path.is_file() and path.suffix in (".mcap", ".db3"))


def find_bags(inputs: list[Path]) -> list[Path]:
    """Bags named directly, or every bag directly inside a folder that is not itself a bag."""
    bags = []
    for path in inputs:
        if not path.exists():
            raise InputError(f"{path}: no such file or folder")
        if is_bag(path):
            bags.append(path)
        elif path.is_dir():
            found = sorted(p for p in path.iterdir() if is_bag(p))
            if not found:
                raise InputError(f"{path}: not a rosbag2 bag and holds none")
            bags += found
        else:
            raise InputError(f"{path}: not a rosbag2 bag (a folder with metadata.yaml, or an .mcap/.db3 file)")
    return bags


def storage_of(bag: Path) -> str:
    files = [bag] if bag.is_file() else list(bag.iterdir())
    return "mcap" if any(f.suffix == ".mcap" for f in files) else "sqlite3"


@contextlib.contextmanager
def open_reader(bag: Path) -> Iterator:
    """A rosbags Reader, or InputError saying what is wrong with the bag."""
    from rosbags.rosbag2 import Reader

    try:
        reader = Reader(bag)
        reader.open()
    except Exception as exc:  # noqa: BLE001 - rosbags raises many types for foreign or damaged bags
        raise InputError(f"{bag}: cannot read the bag ({type(exc).__name__}: {exc})") from None
    try:
        yield reader
    finally:
        reader.close()


def messages(reader, bag: Path, connections=(), start: int | None = None, stop: int | None = None) -> Iterator:
    """reader.messages() (receive times in [start, stop) where given), with a damaged or truncated
    bag reported as InputError mid-stream."""
    iterator = reader.messages(connections=connections, start=start, stop=stop)
    while True:
        try:
            item = next(iterator)
        except StopIteration:
            return
        except Exception as exc:  # noqa: BLE001 - rosbags and its storage plugins raise many types
            raise InputError(f"{bag}: the bag is damaged or truncated ({type(exc).__name__}: {exc})") from None
        yield item


def copy_connection(writer, conn):
    """A connection on `writer` like the reader's `conn` (topic, type, its own schema and QoS), for
    messages copied byte for byte."""
    return writer.add_connection(conn.topic, conn.msgtype, msgdef=conn.msgdef.data, rihs01=conn.digest,
                                 serialization_format=conn.ext.serialization_format,
                                 offered_qos_profiles=conn.ext.offered_qos_profiles)  # fmt: skip


@contextlib.contextmanager
def partial(out: Path) -> Iterator[Path]:
    """A folder named `out.name` inside a hidden temporary folder beside `out`, moved to `out` only
    when the block finishes; on any error it is removed, so no half output looks complete. Refuses
    an `out` that exists (nothing is ever overwritten)."""
    if out.exists():
        raise InputError(f"{out} exists: choose another output or remove it")
    holder = out.with_name(f".{out.name}.partial")
    shutil.rmtree(holder, ignore_errors=True)
    holder.mkdir(parents=True)
    try:
        yield holder / out.name
        (holder / out.name).rename(out)
    finally:
        shutil.rmtree(holder, ignore_errors=True)


@contextlib.contextmanager
def atomic_writer(out: Path, storage: str) -> Iterator:
    """A rosbags Writer whose bag appears at `out` only when the block finishes (`partial`). The bag
    is written under its final name from the start, so the metadata inside the storage file (an MCAP
    file's own record of its relative_file_paths) names the final file, as metadata.yaml does."""
    from rosbags.rosbag2 import StoragePlugin, Writer

    if storage not in STORAGES:
        raise InputError(f"unknown storage {storage!r}: one of {STORAGES}")
    plugin = StoragePlugin.MCAP if storage == "mcap" else StoragePlugin.SQLITE3
    with partial(out) as tmp, Writer(tmp, version=9, storage_plugin=plugin) as writer:
        yield writer
