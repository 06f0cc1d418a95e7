"""Capture node: camera devices or video files -> sensor_msgs/Image (bgr8), one topic per source.

`sources` takes device indices ("0"), device paths ("/dev/video0"), globs ("/dev/video*") and
video files. One source publishes on `image`; several publish on `cam0/image`, `cam1/image`, ...
"""

from __future__ import annotations

import time

from sensor_msgs.msg import Image

from anon_compression_codec.runtime.bitstream import MAX_SIDE

from . import common, graph, image_conversion
from .cameras import Source, expand, open_source, read_frame


def numbered_frame(frame_id: str, suffix: str) -> str:
    """camera_optical_frame + "1" -> camera1_optical_frame (other names get the suffix at the end)."""
    stem, optical, rest = frame_id.rpartition("_optical_frame")
    return f"{stem}{suffix}{optical}" if optical and not rest else f"{frame_id}{suffix}"


class CaptureNode(common.GraphNode):
    def __init__(self) -> None:
        super().__init__(graph.CAPTURE)
        d = common.declare
        specs = d(self, "sources", "Device indices, device paths, globs or video files.", read_only=True)
        self.rate_hz = d(self, "rate_hz", "Frames per second published per source.", float_range=(0.1, 120.0))
        self.frame_id = d(self, "frame_id", "frame_id of the published images (REP 103 optical frame; "
                          "with several sources the index goes before _optical_frame: camera1_optical_frame).")
        self.loop = d(self, "loop", "Restart video files at their end.")
        width = d(self, "width", "Requested device width; 0 = driver default.", read_only=True, int_range=(0, MAX_SIDE))
        height = d(self, "height", "Requested device height; 0 = driver default.", read_only=True, int_range=(0, MAX_SIDE))

        self.stats = common.Stats(self)
        names = expand(list(specs))
        self.sources: list[Source] = []
        for i, spec in enumerate(names):
            cap, is_file = open_source(spec, width, height)
            if not cap.isOpened():
                self.get_logger().error(f"cannot open source {spec!r}; skipping it")
                continue
            # Topic and frame_id carry the same index: the source's place in `sources`.
            suffix = "" if len(names) == 1 else str(i)
            pub = common.publisher(self, Image, f"cam{suffix}/image" if suffix else "image", 2)
            self.sources.append(Source(spec, cap, is_file, pub, suffix=suffix))
            self.get_logger().info(f"source {spec!r} -> {pub.topic_name}")
        if not self.sources:
            self.stats.error(f"no source could be opened of {specs}")
        self.timer = self.create_timer(1.0 / self.rate_hz, self._tick)
        self.add_on_set_parameters_callback(self._on_set)

    def _on_set(self, params) -> common.SetParametersResult:
        for p in params:
            if p.name == "rate_hz":
                self.rate_hz = p.value
                self.timer.cancel()
                self.destroy_timer(self.timer)
                self.timer = self.create_timer(1.0 / self.rate_hz, self._tick)
            elif p.name in ("frame_id", "loop"):
                setattr(self, p.name, p.value)
        return common.ACCEPT

    def _tick(self) -> None:
        for src in self.sources:
            if src.finished:
                continue
            if src.publisher.get_subscription_count() == 0:
                if not src.is_file:
                    src.capture.grab()  # keep a live camera's buffer fresh
                continue
            t0 = time.perf_counter()
            frame = read_frame(src, self.loop, self, self.stats)
            if frame is None:
                continue
            header = Image().header
            header.stamp = self.get_clock().now().to_msg()
            header.frame_id = numbered_frame(self.frame_id, src.suffix)
            src.publisher.publish(image_conversion.from_array(frame, "bgr8", header))
            self.stats.frame(time.perf_counter() - t0, frame.nbytes)

    def destroy_node(self) -> None:
        for src in self.sources:
            src.capture.release()
        super().destroy_node()


def main(args: list[str] | None = None) -> None:
    common.run(CaptureNode, args)


if __name__ == "__main__":
    main()
