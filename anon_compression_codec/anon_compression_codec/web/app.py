"""The HTTP service: `anon-codec serve` (Starlette on uvicorn, 127.0.0.1 by default).

    POST /anonymize?method=codec|blur&format=jpeg|png|webp[&json=1]   image in, anonymized image out
    POST /encode                                                       image in, .acl frame out (guard on)
    POST /decode?format=png|jpeg                                       .acl frame in, image out
    GET  /health                                                       model id, guard settings id, queue
    GET  /  and  /stream.mjpg, /stats                                  the live page, when a stream is attached

Limits, checked before any decoding: body size (413), content type (415), image side (422). Work
runs on a fixed number of worker threads behind a bounded queue: a request that finds the queue
full gets 503 at once instead of growing memory. Every bad input gets a 4xx with a one-line reason;
an unexpected failure gets a one-line 500, never a traceback.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import cv2
import numpy as np
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from ..errors import BitstreamError, CodecError, InputError
from ..privacy.anonymize import blur
from ..privacy.stage import StageConfig
from ..runtime.bitstream import MAX_SIDE, peek_header
from ..runtime.codec import Decoder, Encoder

IMAGE_TYPES = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}
FORMATS = {"jpeg": ("image/jpeg", ".jpg"), "png": ("image/png", ".png"), "webp": ("image/webp", ".webp")}


@dataclass
class Settings:
    weights: str | None = None
    guard: StageConfig = field(default_factory=StageConfig)
    max_body: int = 20 * 2**20  # bytes
    max_side: int = 4096  # pixels; the codec itself accepts up to bitstream.MAX_SIDE
    workers: int = 1  # torch already uses the cores: more workers only queue inside the CPU
    queue: int = 8  # requests waiting for a worker; more get 503
    threads: int | None = None


class HttpError(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


class Stream:
    """The latest decoded frame of a live stream and its figures; a ROS node (or anything) calls
    `publish`, the page's MJPEG response waits for new frames. Only decoded (anonymized) frames
    are ever given to it."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.jpeg: bytes | None = None
        self.seq = 0
        self.stats: dict = {}

    def publish(self, bgr: np.ndarray, stats: dict) -> None:
        ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 85])
        if not ok:
            return
        with self._cond:
            self.jpeg, self.stats = buf.tobytes(), dict(stats)
            self.seq += 1
            self._cond.notify_all()

    def wait(self, after: int, timeout: float) -> tuple[int, bytes | None]:
        with self._cond:
            self._cond.wait_for(lambda: self.seq > after, timeout)
            return self.seq, self.jpeg


class Service:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.encoder = Encoder(settings.weights, guard=settings.guard, threads=settings.threads)
        self.decoder = Decoder(settings.weights, threads=settings.threads)
        self.pool = ThreadPoolExecutor(settings.workers, thread_name_prefix="anon-web")
        self.lock = threading.Lock()  # the models are not shared between threads at once
        self.waiting = 0
        self.served = 0

    async def run(self, fn: Callable, *args):
        """Run fn(*args) on a worker, or 503 when the queue is full."""
        if self.waiting >= self.settings.queue + self.settings.workers:
            raise HttpError(503, f"busy: {self.waiting} requests in progress or queued (queue {self.settings.queue})")
        self.waiting += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self.pool, self._locked, fn, args)
        finally:
            self.waiting -= 1

    def _locked(self, fn: Callable, args: tuple):
        with self.lock:
            return fn(*args)

    # --- the work, on a worker thread --------------------------------------------------------------
    def decode_image(self, body: bytes) -> np.ndarray:
        img = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR)
        if img is None:
            raise HttpError(422, "the body is not a decodable JPEG, PNG or WebP image")
        if max(img.shape[:2]) > self.settings.max_side:
            raise HttpError(422, f"image {img.shape[1]}x{img.shape[0]} exceeds the {self.settings.max_side} px side limit")
        return img

    def anonymize(self, body: bytes, method: str, fmt: str) -> tuple[bytes, list]:
        img = self.decode_image(body)
        if method == "blur":
            boxes = self.encoder.stage(img) if self.encoder.stage is not None else np.zeros((0, 5))
            out, guarded = blur(img, boxes), [[round(float(v), 1) for v in b[:4]] for b in boxes]
        else:
            data = self.encoder(img, channel_order="bgr")
            out, guarded = self.decoder(data, channel_order="bgr"), [list(b) for b in self.encoder.last_boxes]
        return _encode(out, fmt), guarded

    def encode(self, body: bytes) -> bytes:
        return self.encoder(self.decode_image(body), channel_order="bgr")

    def decode(self, body: bytes, fmt: str) -> bytes:
        header = peek_header(body)
        if max(header.height, header.width) > self.settings.max_side:
            raise HttpError(422, f"frame {header.width}x{header.height} exceeds the {self.settings.max_side} px side limit")
        return _encode(self.decoder(body, channel_order="bgr"), fmt)


def _encode(img: np.ndarray, fmt: str) -> bytes:
    ok, buf = cv2.imencode(FORMATS[fmt][1], img)
    if not ok:
        raise HttpError(500, f"could not write {fmt}")
    return buf.tobytes()


def _choice(request: Request, name: str, allowed, default: str) -> str:
    value = request.query_params.get(name, default)
    if value not in allowed:
        raise HttpError(400, f"{name} must be one of {sorted(allowed)}, found {value!r}")
    return value


async def _body(request: Request, service: Service, types: set[str]) -> bytes:
    """The request body, refused early by declared type and length, and while streaming by size."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in types:
        raise HttpError(415, f"content type {kind or 'none'!r}; send one of {sorted(types)}")
    limit = service.settings.max_body
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise HttpError(413, f"body of {declared} bytes exceeds the {limit} byte limit")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HttpError(413, f"body exceeds the {limit} byte limit")
        chunks.append(chunk)
    if not size:
        raise HttpError(400, "empty body")
    return b"".join(chunks)


PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>anon-compression: decoded stream</title>
<style>body{font-family:sans-serif;margin:1em;background:#222;color:#eee}img{max-width:100%;border:1px solid #555}
td{padding:0 1em 0 0}</style></head><body><h3>Decoded stream (anonymized; raw frames never reach this page)</h3>
<img id="stream" src="stream.mjpg" alt="decoded stream"><table id="stats"></table>
<script>async function tick(){try{const s=await (await fetch('stats')).json();
document.getElementById('stats').innerHTML=Object.entries(s).map(([k,v])=>`<tr><td>${k}</td><td>${v}</td></tr>`).join('');}
catch(e){}setTimeout(tick,1000);}tick();</script></body></html>"""


def create_app(settings: Settings, stream: Stream | None = None) -> Starlette:
    service = Service(settings)

    async def anonymize(request: Request) -> Response:
        method = _choice(request, "method", {"codec", "blur"}, "codec")
        fmt = _choice(request, "format", set(FORMATS), "jpeg")
        body = await _body(request, service, set(IMAGE_TYPES))
        image, boxes = await service.run(service.anonymize, body, method, fmt)
        if request.query_params.get("json") in ("1", "true"):
            return JSONResponse({"boxes": boxes, "format": fmt, "image": base64.b64encode(image).decode()})
        return Response(image, media_type=FORMATS[fmt][0], headers={"X-Guarded-Boxes": json.dumps(boxes)})

    async def encode(request: Request) -> Response:
        body = await _body(request, service, set(IMAGE_TYPES))
        return Response(await service.run(service.encode, body), media_type="application/octet-stream")

    async def decode(request: Request) -> Response:
        fmt = _choice(request, "format", set(FORMATS), "png")
        body = await _body(request, service, {"application/octet-stream"})
        return Response(await service.run(service.decode, body, fmt), media_type=FORMATS[fmt][0])

    async def health(_: Request) -> Response:
        stage = service.encoder.stage
        return JSONResponse({
            "status": "ok", "model_id": service.encoder.model_id.hex(), "weights": service.encoder.weights.path,
            "guard_settings_id": f"{stage.config.settings_id():08x}" if stage else None,
            "in_progress": service.waiting, "queue": settings.queue, "workers": settings.workers,
            "max_body": settings.max_body, "max_side": settings.max_side,
        })  # fmt: skip

    async def page(_: Request) -> Response:
        if stream is None:
            raise HttpError(404, "no stream attached (run the web node for a live page)")
        return HTMLResponse(PAGE)

    async def stats(_: Request) -> Response:
        if stream is None:
            raise HttpError(404, "no stream attached")
        return JSONResponse(stream.stats)

    async def mjpeg(request: Request) -> Response:
        if stream is None:
            raise HttpError(404, "no stream attached")

        async def frames():
            seq = 0
            loop = asyncio.get_running_loop()
            while not await request.is_disconnected():
                seq, jpeg = await loop.run_in_executor(None, stream.wait, seq, 1.0)
                if jpeg is not None:
                    yield b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: " + str(len(jpeg)).encode() + b"\r\n\r\n"
                    yield jpeg + b"\r\n"

        return StreamingResponse(frames(), media_type="multipart/x-mixed-replace; boundary=frame")

    async def on_error(request: Request, exc: Exception) -> Response:
        if isinstance(exc, HttpError):
            status, reason = exc.status, exc.reason
        elif isinstance(exc, BitstreamError | InputError):  # damaged, foreign or over-limit frames, bad images
            status, reason = 422, str(exc)
        elif isinstance(exc, CodecError):
            status, reason = 400, str(exc)
        else:
            status, reason = 500, f"internal error: {type(exc).__name__}"
        return JSONResponse({"error": reason.splitlines()[0] if reason else "error"}, status_code=status)

    routes = [Route("/anonymize", anonymize, methods=["POST"]), Route("/encode", encode, methods=["POST"]),
              Route("/decode", decode, methods=["POST"]), Route("/health", health), Route("/", page),
              Route("/stats", stats), Route("/stream.mjpg", mjpeg)]  # fmt: skip
    app = Starlette(routes=routes, exception_handlers={Exception: on_error, HttpError: on_error})
    app.state.service = service
    app.state.started = time.time()
    return app


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8080, stream: Stream | None = None,
          log_level: str = "warning") -> None:  # fmt: skip
    """Run the app on uvicorn until interrupted (bound to loopback unless told otherwise)."""
    import uvicorn

    if not 1 <= settings.max_side <= MAX_SIDE:
        raise InputError(f"max_side must be 1..{MAX_SIDE}, found {settings.max_side}")
    uvicorn.run(create_app(settings, stream), host=host, port=port, log_level=log_level, timeout_graceful_shutdown=5)
