"""Bags anonymized on a local Dask cluster of 1 and 2 workers, the same bags in one run: frames/s
of the whole job (workers started and warmed before timing), beside the engines' start-up figures.

    .venv/bin/python bench/fleet.py [--bags 4] [--frames 20] [--weights default]

Each bag holds `frames` 640x480 bgr8 frames of vtest.avi (people walking). To run on a real cluster,
start `dask scheduler` and `dask worker tcp://SCHEDULER:8786 --nthreads 1` on each machine (with this
package installed, `pip install 'anon_compression_codec[fleet]'`), then
`anon-codec bag anonymize BAGS/ OUT/ --cluster tcp://SCHEDULER:8786` (or set DASK_SCHEDULER_ADDRESS).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from distributed import Client, LocalCluster
from rosbags.rosbag2 import StoragePlugin, Writer

from anon_compression_codec.bags import fleet
from anon_compression_codec.bags.messages import IMAGE, typestore
from anon_compression_codec.privacy.stage import STILL

VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")


def write_bags(folder: Path, count: int, frames: int) -> list[Path]:
    cap = cv2.VideoCapture(str(VTEST))
    images = []
    while len(images) < frames:
        ok, frame = cap.read()
        if not ok:
            break
        images.append(cv2.resize(frame, (640, 480), interpolation=cv2.INTER_AREA))
    store = typestore()
    Image, Header, Time = store.types[IMAGE], store.types["std_msgs/msg/Header"], store.types["builtin_interfaces/msg/Time"]
    bags = []
    for b in range(count):
        path = folder / f"robot{b}"
        with Writer(path, version=9, storage_plugin=StoragePlugin.MCAP) as writer:
            conn = writer.add_connection("/camera/image_raw", IMAGE, typestore=store)
            for i, img in enumerate(images):
                t = (1000 + i) * 10**8
                header = Header(stamp=Time(sec=t // 10**9, nanosec=t % 10**9), frame_id="cam")
                msg = Image(header=header, height=480, width=640, encoding="bgr8", is_bigendian=0, step=640 * 3,
                            data=np.ascontiguousarray(img).reshape(-1))  # fmt: skip
                writer.write(conn, t, store.serialize_cdr(msg, IMAGE))
        bags.append(path)
    return bags


def warm(weights: str | None) -> None:
    from anon_compression_codec.runtime.codec import Encoder

    Encoder(weights).encode(np.zeros((480, 640, 3), np.uint8))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bags", type=int, default=4)
    parser.add_argument("--frames", type=int, default=20)
    parser.add_argument("--weights", default=None)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp())
    bags = write_bags(tmp / "in", args.bags, args.frames)
    print(f"machine: {os.cpu_count()} cores; {args.bags} bags x {args.frames} frames 640x480, guard on, one thread per worker")
    print("| workers | frames | seconds | frames/s |")
    print("|---|---|---|---|")
    for workers in (1, 2):
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
            client = Client(cluster)
            client.run(warm, args.weights)
            out = tmp / f"out{workers}"
            t0 = time.perf_counter()
            results = fleet.run(client, bags, [out / b.name for b in bags], weights=args.weights, guard=STILL,
                                progress=False)  # fmt: skip
            seconds = time.perf_counter() - t0
            client.close()
        frames = sum(r.get("frames", 0) for r in results)
        print(f"| {workers} | {frames} | {seconds:.1f} | {frames / seconds:.2f} |")


if __name__ == "__main__":
    main()
