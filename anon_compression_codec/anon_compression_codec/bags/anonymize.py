"""`anon-codec bag anonymize`: raw camera topics of a bag -> CompressedLatent topics, guarded.

Every sensor_msgs/Image and sensor_msgs/CompressedImage topic (or those named) becomes
`<topic>/anon` (anon_compression_msgs/CompressedLatent), header and receive time kept; every
topic that is not an image is copied byte for byte. Fails closed: no raw image topic is ever
written (image topics not selected are left out, a frame that cannot be encoded is dropped and
counted, never copied). Messages stream through: memory does not grow with the bag's length.

`span` limits the output to receive times in [start, stop): one chunk of a bag split for a cluster
(fleet.py). Image messages in [prime, start) are encoded first and not written, so a temporal guard
(`hold`) enters the chunk with the state a whole-bag run would have there.
"""

from __future__ import annotations

import contextlib
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tqdm import tqdm

from ..errors import CodecError
from ..privacy.stage import STILL, StageConfig
from ..runtime.codec import Encoder
from . import files
from .messages import IMAGE_TYPES, LATENT, latent_message, to_image, typestore

SUFFIX = "/anon"


@dataclass
class Summary:
    bag: str
    output: str
    frames: int = 0
    dropped: int = 0
    copied: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    guarded_regions: int = 0
    seconds: float = 0.0
    topics: dict[str, str] = field(default_factory=dict)  # input topic -> output topic ("" = left out)
    failures: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {**asdict(self), "frames_per_s": round(self.frames / self.seconds, 2) if self.seconds else None}


def anonymize(bag: Path, out: Path, topics: list[str] | None = None, weights: str | None = None,
              guard: StageConfig | bool = True, storage: str | None = None, progress: bool = True,
              span: tuple[int, int, int] | None = None) -> Summary:  # fmt: skip
    """Write the anonymized copy of `bag` to `out` (atomically); return the counts. span: (prime,
    start, stop) receive times in ns, see the module docstring."""
    encoder = Encoder(weights, guard=guard if guard is not True else STILL)
    store = typestore()
    summary = Summary(str(bag), str(out))
    t0 = time.perf_counter()
    with files.open_reader(bag) as reader, files.atomic_writer(out, storage or files.storage_of(bag)) as writer:
        unknown = set(topics or ()) - {c.topic for c in reader.connections if c.msgtype in IMAGE_TYPES}
        if unknown:
            raise CodecError(f"{bag}: no image topic {sorted(unknown)} (image topics: "
                             f"{sorted({c.topic for c in reader.connections if c.msgtype in IMAGE_TYPES})})")  # fmt: skip
        route = {}  # connection id -> (output connection, is image)
        outputs: dict[str, object] = {}
        for conn in reader.connections:
            if conn.msgtype in IMAGE_TYPES:
                if topics and conn.topic not in topics:
                    summary.topics[conn.topic] = ""
                    continue
                name = conn.topic + SUFFIX
                if name not in outputs:
                    outputs[name] = writer.add_connection(name, LATENT, typestore=store)
                route[conn.id] = (outputs[name], True)
                summary.topics[conn.topic] = name
            else:
                key = (conn.topic, conn.msgtype)
                if key not in outputs:
                    outputs[key] = files.copy_connection(writer, conn)
                route[conn.id] = (outputs[key], False)
                summary.topics[conn.topic] = conn.topic
        bar = tqdm(total=reader.message_count, desc=bag.name, unit="msg", file=sys.stderr, mininterval=1.0,
                   disable=not progress)  # fmt: skip
        if span is not None and span[0] < span[1]:
            for conn, _, raw in files.messages(reader, bag, [c for c in reader.connections if c.id in route and route[c.id][1]],
                                               start=span[0], stop=span[1]):  # fmt: skip
                with contextlib.suppress(Exception):  # priming only: the frame is not written either way
                    image, encoding = to_image(store.deserialize_cdr(raw, conn.msgtype), conn.msgtype)
                    encoder(image, channel_order="bgr" if encoding == "bgr8" else "rgb")
        start, stop = (span[1], span[2]) if span is not None else (None, None)
        for conn, stamp, raw in files.messages(reader, bag, start=start, stop=stop):
            bar.update(1)
            if conn.id not in route:
                continue
            target, is_image = route[conn.id]
            if not is_image:
                writer.write(target, stamp, raw)
                summary.copied += 1
                continue
            summary.bytes_in += len(raw)
            try:
                msg = store.deserialize_cdr(raw, conn.msgtype)
                image, encoding = to_image(msg, conn.msgtype)
                data = encoder(image, channel_order="bgr" if encoding == "bgr8" else "rgb")
                out_raw = store.serialize_cdr(latent_message(data, encoding, msg.header, encoder.last_header), LATENT)
            except Exception as exc:  # noqa: BLE001 - fail closed: a frame that cannot be encoded is dropped
                summary.dropped += 1
                reason = type(exc).__name__ + (f": {exc}" if isinstance(exc, CodecError) else "")
                summary.failures[reason] = summary.failures.get(reason, 0) + 1
                continue
            writer.write(target, stamp, out_raw)
            summary.frames += 1
            summary.bytes_out += len(out_raw)
            summary.guarded_regions += len(encoder.last_boxes)
            elapsed = time.perf_counter() - t0
            if summary.frames % 10 == 0:
                bar.set_postfix(frames_per_s=f"{summary.frames / elapsed:.1f}", dropped=summary.dropped)
        bar.close()
    summary.seconds = round(time.perf_counter() - t0, 2)
    return summary
