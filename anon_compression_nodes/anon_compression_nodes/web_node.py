"""Web node: the decoded stream of a CompressedLatent topic in a browser (MJPEG), with the stream's
rate, bytes per frame and guarded regions beside it; also serves the codec's HTTP API.

It subscribes to the compressed topic and decodes itself, so only anonymized pixels ever reach the
page (frames without the guard flag are refused, as by the decoder's require_guard). Bound to
127.0.0.1 by default: expose it with a reverse proxy or `host:=0.0.0.0` deliberately.
"""

from __future__ import annotations

import threading
import time
from collections import deque

import torch

from anon_compression_codec import BitstreamError, CodecError, Decoder, presets
from anon_compression_codec.web.app import Settings, Stream, create_app
from anon_compression_msgs.msg import CompressedLatent

from . import common, graph
from .latent_message import check_message

ERROR_THROTTLE_S = 5.0


class WebNode(common.GraphNode):
    def __init__(self) -> None:
        super().__init__(graph.WEB)
        d = common.declare
        self.host = d(self, "host", "Address to bind; 127.0.0.1 keeps the page on this machine.", read_only=True)
        self.port = d(self, "port", "TCP port of the page and the HTTP API.", read_only=True, int_range=(1, 65535))
        self.weights, self.device, self.threads = common.declare_codec_params(
            self, "Preset name or weight file; frames from another shipped preset load that preset."
        )
        self.stats = common.Stats(self)
        torch.set_num_threads(self.threads)
        self.stream = Stream()
        self._arrivals: deque[float] = deque(maxlen=30)
        self._sizes: deque[int] = deque(maxlen=30)
        self.codec: Decoder | None = None
        try:
            self.codec = Decoder(self.weights or None, device=self.device)
        except CodecError as exc:
            self.stats.error(f"weights could not be loaded: {exc}")
        self.sub = common.subscription(self, CompressedLatent, "compressed", self._on_latent, common.LATENT_INPUT)
        self.server = self._start_server()

    def _start_server(self):
        import uvicorn

        app = create_app(Settings(self.weights or None, threads=self.threads), self.stream)
        server = uvicorn.Server(uvicorn.Config(app, host=self.host, port=self.port, log_level="warning"))
        server.install_signal_handlers = lambda: None  # rclpy owns SIGINT
        threading.Thread(target=server.run, name="web-server", daemon=True).start()
        self.get_logger().info(f"page on http://{self.host}:{self.port}/")
        return server

    def _on_latent(self, msg: CompressedLatent) -> None:
        if self.codec is None:
            self.stats.count("dropped_no_model")
            return
        t0 = time.perf_counter()
        try:
            data, header = check_message(msg)
            if not header.guard_applied:
                self.stats.warn("refused_unguarded", "frame was encoded without the privacy guard")
                return
            if header.model_id != self.codec.model_id and (name := presets.find(header.model_id)) is not None:
                self.codec = Decoder(name, device=self.device)
            image = self.codec(data, channel_order="bgr")
        except BitstreamError as exc:
            n = self.stats.warn("rejected_frames", str(exc))
            self.get_logger().error(f"frame rejected ({n} so far): {exc}", throttle_duration_sec=ERROR_THROTTLE_S)
            return
        now = time.monotonic()
        self._arrivals.append(now)
        self._sizes.append(len(data))
        span = self._arrivals[-1] - self._arrivals[0]
        self.stream.publish(image, {
            "topic": self.sub.topic_name,
            "rate_hz": round((len(self._arrivals) - 1) / span, 2) if span > 0 else None,
            "bytes_per_frame": round(sum(self._sizes) / len(self._sizes)),
            "size": f"{header.width}x{header.height}",
            "guarded_regions": len(header.guard_boxes),
            "model_id": header.model_id.hex(),
            "frames": self.stats.counters.get("frames", 0) + 1,
        })  # fmt: skip
        self.stats.frame(time.perf_counter() - t0, len(data))

    def destroy_node(self) -> None:
        self.server.should_exit = True
        super().destroy_node()


def main(args: list[str] | None = None) -> None:
    common.run(WebNode, args)


if __name__ == "__main__":
    main()
