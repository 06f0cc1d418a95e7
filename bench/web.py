"""`anon-codec serve` benchmark: requests per second and p50/p99 latency of POST /anonymize on
640x480 JPEGs with 1, 4 and 16 concurrent clients (learned codec with the guard, and detect-and-blur),
beside `anon-codec blur` on the same images (a folder, one process), all in one run.

    .venv/bin/python bench/web.py [--requests 40] [--weights PRESET]

The server runs in its own process on a loopback port with its defaults (1 worker, queue 8); with
16 clients some requests get 503 (queue full), which is counted, not retried.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import httpx

VIDEO = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
CLI = Path(sys.executable).with_name("anon-codec")


def images(n: int) -> list[bytes]:
    cap = cv2.VideoCapture(str(VIDEO))
    out = []
    while len(out) < n:
        ok, frame = cap.read()
        if not ok:
            raise SystemExit(f"{VIDEO} missing or short: install Debian's opencv-doc (make demo does)")
        out.append(cv2.imencode(".jpg", cv2.resize(frame, (640, 480), interpolation=cv2.INTER_AREA))[1].tobytes())
    return out


async def load(url: str, bodies: list[bytes], clients: int) -> dict:
    latencies, codes = [], []

    async def client(queue: asyncio.Queue, http: httpx.AsyncClient) -> None:
        while not queue.empty():
            body = queue.get_nowait()
            t0 = time.perf_counter()
            res = await http.post(url, content=body, headers={"content-type": "image/jpeg"})
            codes.append(res.status_code)
            if res.status_code == 200:
                latencies.append((time.perf_counter() - t0) * 1e3)

    queue: asyncio.Queue = asyncio.Queue()
    for b in bodies:
        queue.put_nowait(b)
    t0 = time.perf_counter()
    async with httpx.AsyncClient(timeout=600) as http:
        await asyncio.gather(*(client(queue, http) for _ in range(clients)))
    wall = time.perf_counter() - t0
    lat = sorted(latencies)
    return {"clients": clients, "ok": len(lat), "busy_503": codes.count(503), "req_per_s": round(len(lat) / wall, 2),
            "p50_ms": round(statistics.median(lat), 1) if lat else None,
            "p99_ms": round(lat[min(len(lat) - 1, int(0.99 * len(lat)))], 1) if lat else None}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--weights", default=None)
    args = parser.parse_args()
    bodies = images(args.requests)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [str(CLI), "serve", "--port", str(port)] + (["--weights", args.weights] if args.weights else [])
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                httpx.get(base + "/health", timeout=2)
                break
            except httpx.HTTPError:
                time.sleep(0.3)
        httpx.post(base + "/anonymize", content=bodies[0], headers={"content-type": "image/jpeg"}, timeout=120)  # warm up
        print(f"machine: {os.cpu_count()} cores; {args.requests} requests of 640x480 JPEG per row")
        print("| method | clients | ok | 503 | requests/s | p50 ms | p99 ms |")
        print("|---|---|---|---|---|---|---|")
        for method in ("codec", "blur"):
            for clients in (1, 4, 16):
                r = asyncio.run(load(f"{base}/anonymize?method={method}", bodies, clients))
                cells = (method, clients, r["ok"], r["busy_503"], r["req_per_s"], r["p50_ms"], r["p99_ms"])
                print("| " + " | ".join(str(c) for c in cells) + " |", flush=True)
    finally:
        server.terminate()
        server.wait(20)
    folder = Path(tempfile.mkdtemp())
    for i, b in enumerate(bodies):
        (folder / f"{i:03d}.jpg").write_bytes(b)
    t0 = time.perf_counter()
    subprocess.run([str(CLI), "blur", str(folder), str(folder / "out")], check=True, capture_output=True)
    wall = time.perf_counter() - t0
    print(f"| anon-codec blur (folder, one process, model load included) | - | {len(bodies)} | - "
          f"| {len(bodies) / wall:.2f} | - | - |")


if __name__ == "__main__":
    main()
