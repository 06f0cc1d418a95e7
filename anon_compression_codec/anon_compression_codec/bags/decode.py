"""`anon-codec bag decode` and `anon-codec bag info`: read a bag of CompressedLatent topics on a
machine without ROS or our message package.

decode writes either a bag in which every CompressedLatent topic X becomes a sensor_msgs/Image topic
X/decoded (stamps and headers kept; other topics copied), which rviz, Foxglove and `ros2 bag play`
show as it is, or per topic a video (.mp4/.avi) or a folder of PNG files.
"""

from __future__ import annotations

import statistics
import sys
from collections import defaultdict
from pathlib import Path

import cv2
from tqdm import tqdm

from .. import media
from ..errors import CodecError, InputError
from ..runtime.bitstream import peek_header
from ..runtime.codec import FollowingDecoder
from . import files
from .messages import IMAGE, LATENT, image_message, latent_data, typestore

FORMATS = ("bag", "mp4", "avi", "png")


def _safe(topic: str) -> str:
    return topic.strip("/").replace("/", "_") or "topic"


def decode(bag: Path, out: Path, fmt: str = "bag", weights: str | None = None, storage: str | None = None,
           progress: bool = True) -> dict:  # fmt: skip
    """Decode every CompressedLatent topic of `bag` into `out`; return counts per topic."""
    if fmt not in FORMATS:
        raise InputError(f"format must be one of {FORMATS}, found {fmt!r}")
    store = typestore()
    # Without --weights, every frame is decoded by the shipped preset whose model id it carries (a bag may
    # hold several); frames of weights no preset has are refused (counted).
    decoder = FollowingDecoder(weights, follow=weights is None)
    counts: dict[str, dict[str, int]] = defaultdict(lambda: {"frames": 0, "refused": 0})

    def decoded(raw: bytes):
        msg = store.deserialize_cdr(raw, LATENT)
        image, _ = decoder.decode(latent_data(msg), channel_order="bgr" if msg.encoding == "bgr8" else "rgb")
        return msg, image, ("mono8" if image.ndim == 2 else msg.encoding if msg.encoding in ("rgb8", "bgr8") else "rgb8")

    with files.open_reader(bag) as reader:
        latent_topics = {c.topic for c in reader.connections if c.msgtype == LATENT}
        if not latent_topics:
            raise InputError(f"{bag}: no {LATENT} topic to decode")
        bar = tqdm(total=reader.message_count, desc=bag.name, unit="msg", file=sys.stderr, mininterval=1.0,
                   disable=not progress)  # fmt: skip
        if fmt == "bag":
            with files.atomic_writer(out, storage or files.storage_of(bag)) as writer:
                conns = {}
                for conn in reader.connections:
                    if conn.msgtype == LATENT:
                        conns[conn.id] = writer.add_connection(conn.topic + "/decoded", IMAGE, typestore=store)
                    else:
                        conns[conn.id] = files.copy_connection(writer, conn)
                for conn, stamp, raw in files.messages(reader, bag):
                    bar.update(1)
                    if conn.msgtype != LATENT:
                        writer.write(conns[conn.id], stamp, raw)
                        continue
                    try:
                        msg, image, encoding = decoded(raw)
                    except CodecError:
                        counts[conn.topic]["refused"] += 1
                        continue
                    writer.write(conns[conn.id], stamp, store.serialize_cdr(image_message(image, encoding, msg.header), IMAGE))
                    counts[conn.topic]["frames"] += 1
        else:
            latent_conns = [c for c in reader.connections if c.msgtype == LATENT]
            rates = _rates(reader, bag, latent_conns) if fmt != "png" else {}
            writers: dict[str, media.VideoWriter] = {}
            with files.partial(out) as tmp:
                tmp.mkdir()
                try:
                    for conn, _, raw in files.messages(reader, bag, latent_conns):
                        bar.update(1)
                        try:
                            msg, image, encoding = decoded(raw)
                        except CodecError:
                            counts[conn.topic]["refused"] += 1
                            continue
                        bgr = image if encoding != "rgb8" else image[..., ::-1]
                        n = counts[conn.topic]["frames"]
                        if fmt == "png":
                            folder = tmp / _safe(conn.topic)
                            folder.mkdir(exist_ok=True)
                            stamp = f"{msg.header.stamp.sec}.{msg.header.stamp.nanosec:09d}"
                            cv2.imwrite(str(folder / f"{n:06d}_{stamp}.png"), bgr)
                        else:
                            if conn.topic not in writers:
                                writers[conn.topic] = media.VideoWriter(tmp / f"{_safe(conn.topic)}.{fmt}", rates[conn.topic])
                            writers[conn.topic].write(bgr)
                        counts[conn.topic]["frames"] += 1
                finally:
                    for w in writers.values():
                        w.close()
        bar.close()
    return dict(counts)


def _rates(reader, bag: Path, connections) -> dict[str, float]:
    """Frames per second of each topic from its messages' receive times (the median interval, so
    a gap does not slow the whole video); DEFAULT_FPS for a topic of fewer than two messages."""
    times: dict[str, list[int]] = defaultdict(list)
    for conn, stamp, _ in files.messages(reader, bag, connections):
        times[conn.topic].append(stamp)
    rates = {}
    for conn in connections:
        t = sorted(times.get(conn.topic, []))
        gaps = [b - a for a, b in zip(t, t[1:], strict=False) if b > a]
        rates[conn.topic] = round(1e9 / statistics.median(gaps), 3) if gaps else DEFAULT_FPS
    return rates


DEFAULT_FPS = 10.0


def info(bag: Path) -> dict:
    """Topics, counts, rates, bytes per frame and the models of CompressedLatent topics."""
    store = typestore()
    with files.open_reader(bag) as reader:
        span = max(reader.duration, 1) / 1e9
        topics: dict[str, dict] = {}
        sizes: dict[str, list[int]] = defaultdict(list)
        models: dict[str, set[str]] = defaultdict(set)
        guarded: dict[str, int] = defaultdict(int)
        for conn in reader.connections:
            entry = topics.setdefault(conn.topic, {"type": conn.msgtype, "messages": 0})
            entry["messages"] += conn.msgcount
        for conn, _, raw in files.messages(reader, bag):
            sizes[conn.topic].append(len(raw))
            if conn.msgtype == LATENT:
                try:
                    header = peek_header(latent_data(store.deserialize_cdr(raw, LATENT)))
                except CodecError:
                    models[conn.topic].add("damaged")
                    continue
                models[conn.topic].add(header.model_id.hex())
                guarded[conn.topic] += header.guard_applied
        for topic, entry in topics.items():
            entry["rate_hz"] = round(entry["messages"] / span, 2) if entry["messages"] > 1 else None
            entry["bytes_per_message"] = round(statistics.mean(sizes[topic])) if sizes[topic] else 0
            if topic in models:
                from ..runtime import presets

                entry["models"] = {m: (presets.find(bytes.fromhex(m)) if m != "damaged" else None) for m in sorted(models[topic])}
                entry["guarded_frames"] = guarded[topic]
        return {"bag": str(bag), "storage": files.storage_of(bag), "messages": reader.message_count,
                "duration_s": round(reader.duration / 1e9, 3), "topics": topics}  # fmt: skip
