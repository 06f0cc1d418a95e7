"""`anon-codec bag anonymize` benchmark: frames per second on 640x480 camera frames (guard on), input
and output bag sizes, and peak memory on bags of 1,000 and 10,000 frames (memory must stay flat
with the bag's length: messages stream through).

    .venv/bin/python bench/bags.py [--frames 200] [--long 10000] [--weights PRESET]

Each anonymize run is a fresh process (its peak RSS is its own). Frames come from OpenCV's vtest.avi
(pedestrians; Debian package opencv-doc, `make demo` installs it) and loop.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from rosbags.rosbag2 import StoragePlugin, Writer

from anon_compression_codec.bags.messages import IMAGE, typestore

VIDEO = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")


def write_bag(path: Path, frames: int, size: tuple[int, int]) -> int:
    """An MCAP bag of `frames` bgr8 Images at `size` (w, h) on /camera/image_raw; returns its bytes."""
    if not VIDEO.is_file():
        raise SystemExit(f"{VIDEO} is missing: install Debian's opencv-doc (make demo does)")
    store = typestore()
    Image, Header, Time = store.types[IMAGE], store.types["std_msgs/msg/Header"], store.types["builtin_interfaces/msg/Time"]
    cap = cv2.VideoCapture(str(VIDEO))
    with Writer(path, version=9, storage_plugin=StoragePlugin.MCAP) as writer:
        conn = writer.add_connection("/camera/image_raw", IMAGE, typestore=store)
        for i in range(frames):
            ok, frame = cap.read()
            if not ok:
                cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
                ok, frame = cap.read()
            frame = np.ascontiguousarray(cv2.resize(frame, size, interpolation=cv2.INTER_AREA))
            t = i * 10**8
            msg = Image(header=Header(stamp=Time(sec=t // 10**9, nanosec=t % 10**9), frame_id="camera"), height=size[1],
                        width=size[0], encoding="bgr8", is_bigendian=0, step=size[0] * 3, data=frame.reshape(-1))  # fmt: skip
            writer.write(conn, t, store.serialize_cdr(msg, IMAGE))
    return sum(f.stat().st_size for f in path.iterdir())


def anonymize(bag: Path, out: Path, weights: str | None) -> dict:
    """Run the CLI in a fresh process; its summary, wall time and peak RSS."""
    cli = Path(sys.executable).with_name("anon-codec")
    cmd = [str(cli), "bag", "anonymize", str(bag), str(out)] + (["--weights", weights] if weights else [])
    log = out.with_suffix(".log")
    t0 = time.perf_counter()
    with open(log, "w") as f:
        proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own peak RSS
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"anonymize failed: {log.read_text()[-2000:]}")
    summary = json.loads(log.read_text().splitlines()[-1])
    summary["bytes_out_bag"] = sum(f.stat().st_size for f in out.iterdir())
    return {**summary, "wall_s": round(wall, 1), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=200, help="640x480 frames for the speed figure")
    parser.add_argument("--long", type=int, default=10000, help="frames of the long bag (memory figure)")
    parser.add_argument("--weights", default=None)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp())
    print(f"machine: {os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f} at start")
    rows = []
    for frames, size in ((1000, (160, 120)), (args.long, (160, 120)), (args.frames, (640, 480))):
        bag = tmp / f"in_{frames}_{size[0]}"
        size_in = write_bag(bag, frames, size)
        result = anonymize(bag, tmp / f"out_{frames}_{size[0]}", args.weights)
        rows.append({"frames": frames, "size": f"{size[0]}x{size[1]}", "bag_in_mb": round(size_in / 2**20, 2),
                     "bag_out_mb": round(result["bytes_out_bag"] / 2**20, 2), "frames_per_s": result["frames_per_s"],
                     "dropped": result["dropped"], "guarded_regions": result["guarded_regions"],
                     "peak_rss_mb": result["peak_rss_mb"]})  # fmt: skip
        print(json.dumps(rows[-1]), flush=True)
    print("| frames | size | bag in MB | bag out MB | frames/s | dropped | guarded regions | peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(str(v) for v in r.values()) + " |")


if __name__ == "__main__":
    main()
