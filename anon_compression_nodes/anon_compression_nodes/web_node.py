"""Web node: the decoded stream of a CompressedLatent topic in a browser (MJPEG), with the stream's
rate, bytes per frame and guarded regions beside it; also serves the codec's HTTP API.

It subscribes to the compressed topic and decodes itself through the decoder node's receiver
(receiver.py), so only anonymized pixels ever reach the page: frames without the guard flag are
refused (`require_guard`, read-only), and so are frames over `max_pixels`. Bound to 127.0.0.1 by
default: expose it with a reverse proxy or `host:=0.0.0.0` deliberately.
"""

from __future__ import annotations

import threading
import time
from collections import deque

import torch

from anon_compression_codec import CodecError
from anon_compression_codec.runtime.bitstream import MAX_SIDE
from anon_compression_codec.web.app import Settings, Stream, create_app
from anon_compression_msgs.msg import CompressedLatent

from . import common, graph
from .receiver import Receiver


class WebNode(common.GraphNode):
    def __init__(self) -> None:
        super().__init__(graph.WEB)
        d = common.declare
        self.host = d(self, "host", "Address to bind; 127.0.0.1 keeps the page on this machine.", read_only=True)
        self.port = d(self, "port", "TCP port of the page and the HTTP API.", read_only=True, int_range=(1, 65535))
        self.weights, self.device, self.threads = common.declare_codec_params(
            self, "Preset name or weight file; frames from another shipped preset load that preset."
        )
        precision = common.declare_precision(self)
        require_guard = d(self, "require_guard", "Refuse frames the encoder did not guard. Set at launch only.",
                          read_only=True)  # fmt: skip
        max_pixels = d(self, "max_pixels", "Refuse frames larger than this many pixels (checked from the header "
                       "before decoding).", read_only=True, int_range=(1, MAX_SIDE * MAX_SIDE))  # fmt: skip
        self.stats = common.Stats(self)
        torch.set_num_threads(self.threads)
        self.stream = Stream()
        self._arrivals: deque[float] = deque(maxlen=30)
        self._sizes: deque[int] = deque(maxlen=30)
        self.receiver = Receiver(self, self.stats, max_pixels=max_pixels, require_guard=require_guard, precision=precision,
                                 follow=True)  # fmt: skip
        try:
            self.receiver.load(self.weights, self.device)
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
        t0 = time.perf_counter()
        received = self.receiver.receive(msg, "bgr")
        if received is None:
            return
        image, header = received
        now = time.monotonic()
        self._arrivals.append(now)
        self._sizes.append(len(msg.data))
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
        self.stats.frame(time.perf_counter() - t0, len(msg.data))

    def destroy_node(self) -> None:
        self.server.should_exit = True
        super().destroy_node()


def main(args: list[str] | None = None) -> None:
    common.run(WebNode, args)


if __name__ == "__main__":
    main()
