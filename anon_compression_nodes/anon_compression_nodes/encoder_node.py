"""Encoder node: camera frames -> anon_compression_msgs/CompressedLatent.

Frames come from a camera or video file opened in this process (`camera` set: the robot default,
so raw frames never travel over DDS) or from a sensor_msgs/Image topic (`camera` empty: a camera
driver that already publishes; its raw topic is then on the wire).

Privacy fails closed: this node has no publisher of images at all; the guard is read-only (set at
launch, never switched off over the network); when its weights or guard settings cannot be loaded
it publishes nothing and says why (throttled), instead of passing frames through.
"""

from __future__ import annotations

import time

import cv2
import torch
from sensor_msgs.msg import CameraInfo, Image

from anon_compression_codec import CodecError, Encoder, StageConfig
from anon_compression_codec.privacy.stage import VIDEO
from anon_compression_codec.runtime import presets
from anon_compression_codec.runtime.bitstream import MAX_SIDE
from anon_compression_codec.runtime.ratecontrol import RateController
from anon_compression_msgs.msg import CompressedLatent

from . import camera_info, common, graph, image_conversion
from .cameras import Source, open_source, read_frame
from .latent_message import to_message


class EncoderNode(common.GraphNode):
    def __init__(self) -> None:
        super().__init__(graph.ENCODER)
        d = common.declare
        self.weights, self.device, self.threads = common.declare_codec_params(
            self, f"Preset name ({', '.join(presets.available())}) or weight file."
        )
        self.precision = common.declare_precision(self)
        self.max_rate_hz = d(self, "max_rate_hz", "Encode at most this many frames per second; 0 = every frame.",
                             float_range=(0.0, 120.0))  # fmt: skip
        self.quality = d(self, "quality", "Picture quality 0..100 of a variable-rate (codec v2) model; negative = "
                         f"the named quality of the `weights` preset ({presets.describe_qualities()}). One-rate "
                         "models ignore it. Live.", float_range=(-1.0, 100.0))  # fmt: skip
        self.target_kbps = d(self, "target_kbps", "Hold this bit rate (kbit/s) by choosing each frame's quality from "
                             "the last frames' sizes; 0 = off (fixed `quality`). Live.", float_range=(0.0, 1e6))  # fmt: skip
        self.rate_control: RateController | None = None
        self.max_side = d(self, "max_side", "Resize so the longest side is at most this; 0 = keep the size.",
                          int_range=(0, MAX_SIDE))  # fmt: skip
        self.guard = d(self, "guard", "Privacy guard: suppress detected faces in the latent before entropy coding. "
                       "Set at launch only: nobody on the network can switch it off.", read_only=True)  # fmt: skip
        camera = d(self, "camera", "Camera read in this process: device index, /dev/video* path or video file. Empty = "
                   "subscribe to the `image` topic instead (raw frames then travel over DDS).", read_only=True)  # fmt: skip
        self.rate_hz = d(self, "rate_hz", "With `camera`: frames read per second.", float_range=(0.1, 120.0))
        self.loop = d(self, "loop", "With `camera`: restart a video file at its end.")
        self.frame_id = d(self, "frame_id", "With `camera`: frame_id of the published frames.")
        info_file = d(self, "camera_info_file", "With `camera`: calibration YAML (camera_calibration format) "
                      "whose CameraInfo, rescaled to the encoded size, accompanies every frame; empty = none. "
                      "Without `camera` the driver's camera_info topic is used.", read_only=True)  # fmt: skip
        guard_threads = d(self, "guard_threads", "Threads of the guard's face detector, which runs beside the "
                          "analysis transform (whose threads are `threads`). Set at launch.", int_range=(1, 64),
                          read_only=True)  # fmt: skip
        guard_config = d(self, "guard_config", "YAML of the guard's detection stage; empty = the video defaults "
                         "(privacy/stage.py VIDEO).", read_only=True)

        self.stats = common.Stats(self)
        torch.set_num_threads(self.threads)
        cv2.setNumThreads(guard_threads)  # the guard's detector takes OpenCV's thread count (detectors.py)
        self.codec: Encoder | None = None
        self.stage_config: StageConfig | None = None
        try:
            try:
                self.stage_config = StageConfig.from_yaml(guard_config) if guard_config else VIDEO
            except CodecError as exc:
                raise CodecError(f"guard_config {guard_config}: {exc}") from None
            self.codec = self._load(self.weights, self.device)
        except CodecError as exc:
            self.stats.error(f"encoder not ready, publishing nothing: {exc}")
        self._last_encode = self._last_tick = 0.0
        self.add_on_set_parameters_callback(self._on_set)
        self.pub = common.publisher(self, CompressedLatent, "compressed", 10)
        self.info_pub = common.publisher(self, CameraInfo, "anon/camera_info", 10)
        self.camera_info: CameraInfo | None = None
        self.camera: Source | None = None
        if camera:
            cap, is_file = open_source(camera, 0, 0)
            if not cap.isOpened():
                self.stats.error(f"cannot open camera {camera!r}: publishing nothing")
            else:
                self.camera = Source(camera, cap, is_file, None)
                self.get_logger().info(f"camera {camera!r} read in-process: no raw image topic")
            self.timer = self.create_timer(1.0 / self.rate_hz, self._tick)
            if info_file:
                try:
                    self.camera_info = camera_info.load(info_file)
                except ValueError as exc:
                    self.stats.error(f"camera_info_file: {exc}")  # frames still flow; only the calibration is missing
        else:
            self.sub = common.subscription(self, Image, "image", self._on_image, common.IMAGE_INPUT)
            self.info_sub = common.subscription(self, CameraInfo, "camera_info", self._on_camera_info, common.IMAGE_INPUT)

    def _on_camera_info(self, msg: CameraInfo) -> None:
        self.camera_info = msg

    def _load(self, weights: str, device: str) -> Encoder:
        if self.stage_config is None:  # a broken guard_config never falls back to other settings
            raise CodecError("guard_config could not be read; fix it and restart the node")
        codec = Encoder(weights or None, device=device, guard=self.stage_config if self.guard else False,
                        precision=self.precision, quality=_explicit(self.quality))  # fmt: skip
        if self.target_kbps and not codec.variable_rate:
            self.get_logger().warning(f"target_kbps {self.target_kbps:g} needs a variable-rate model; "
                                      f"{codec.model.name} codes at one rate")  # fmt: skip
        self.get_logger().info(f"encoder ready: weights {codec.weights.path} (model {codec.model_id.hex()}) on {device}")
        self.stats.ok()
        return codec

    def _on_set(self, params) -> common.SetParametersResult:
        new = {p.name: p.value for p in params}
        if "weights" in new or "device" in new:
            try:
                codec = self._load(new.get("weights", self.weights), new.get("device", self.device))
            except CodecError as exc:
                return common.refuse(f"keeping the current weights: {exc}")
            self.codec = codec
        if "threads" in new:
            torch.set_num_threads(new["threads"])
        if "quality" in new or "target_kbps" in new:
            self.rate_control = None  # restarts from the new quality or budget
            if self.codec is not None:
                self.codec.set_quality(_explicit(new.get("quality", self.quality)))
        if "rate_hz" in new and self.camera is not None:
            self.timer.cancel()
            self.destroy_timer(self.timer)
            self.timer = self.create_timer(1.0 / new["rate_hz"], self._tick)
        for name in ("weights", "device", "threads", "max_rate_hz", "max_side", "rate_hz", "loop", "frame_id", "quality",
                     "target_kbps"):  # fmt: skip
            if name in new:
                setattr(self, name, new[name])
        return common.ACCEPT

    def _tick(self) -> None:
        """In-process camera: read one frame and encode it (a video file that ended publishes no more)."""
        src = self.camera
        if src is None or src.finished:
            return
        now, period = time.monotonic(), 1.0 / self.rate_hz
        missed = int((now - self._last_tick) / period - 0.5) if self._last_tick else 0
        self._last_tick = now
        if missed > 0:  # the timer skips ticks while an encode overruns: those camera frames are lost
            self.stats.warn("dropped_frames", f"encoding is slower than rate_hz {self.rate_hz:g}", missed)
        if not self._ready():
            if not src.is_file:
                src.capture.grab()  # keep a live camera's buffer fresh
            return
        frame = read_frame(src, self.loop, self, self.stats)
        if frame is None:
            return
        header = Image().header
        header.stamp = self.get_clock().now().to_msg()
        header.frame_id = self.frame_id
        self._encode(frame, "bgr8", header)

    def destroy_node(self) -> None:
        if self.camera is not None:
            self.camera.capture.release()
        super().destroy_node()

    def _ready(self) -> bool:
        """Whether a frame should be encoded now: a codec is loaded, someone listens, the rate allows."""
        if self.codec is None:
            self.stats.reject("dropped_no_model", "frame dropped", "no weights loaded (see the earlier error)")
            return False
        if self.pub.get_subscription_count() == 0:
            return False  # nobody listens (no decoder, no bag recorder): save the CPU
        if self.max_rate_hz > 0 and time.monotonic() - self._last_encode < 1.0 / self.max_rate_hz:
            self.stats.count("skipped_rate")
            return False
        return True

    def _on_image(self, msg: Image) -> None:
        if not self._ready():
            return
        try:
            image, encoding = image_conversion.to_supported(msg)
        except image_conversion.UnsupportedEncoding as exc:
            self.stats.reject("rejected_input", "input rejected", str(exc))
            return
        self._encode(image, encoding, msg.header)

    def _encode(self, image, encoding: str, header) -> None:
        t0 = time.perf_counter()
        source_size = (image.shape[1], image.shape[0])
        if self.max_side and max(image.shape[:2]) > self.max_side:
            scale = self.max_side / max(image.shape[:2])
            size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        try:
            data = self.codec(image, channel_order="bgr" if encoding == "bgr8" else "rgb")
        except CodecError as exc:
            self.stats.reject("rejected_input", "input rejected", str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - anything else (detector, torch): drop the frame, stay up
            self.stats.reject("encode_errors", "encoding failed, frame dropped", repr(exc))
            return
        now, last = time.monotonic(), self._last_encode
        self._last_encode = now
        self._control_rate(len(data) * 8, now - last if last else 1.0 / self.rate_hz)
        msg = to_message(data, encoding, header, self.codec.last_header)
        self.pub.publish(msg)
        self._publish_camera_info(source_size, msg)
        self.stats.frame(time.perf_counter() - t0, len(data))
        self.stats.gauge("guarded_regions", len(self.codec.last_boxes))


    def _control_rate(self, bits: int, interval_s: float) -> None:
        """With target_kbps: the next frame's quality from this frame's size (ratecontrol.py)."""
        if not self.target_kbps or not self.codec.variable_rate:
            return
        if self.rate_control is None:
            self.rate_control = RateController(self.target_kbps, self.codec.quality)
        self.codec.set_quality(round(self.rate_control.update(bits, interval_s), 2))
        self.stats.gauge("quality", self.codec.quality)

    def _publish_camera_info(self, source_size: tuple[int, int], msg: CompressedLatent) -> None:
        """The calibration rescaled to the encoded size, stamped as the frame; none when it was made
        for another image size (a wrong CameraInfo is worse than none)."""
        info = self.camera_info
        if info is None:
            return
        if (info.width, info.height) != source_size:
            self.stats.warn("camera_info_mismatch", f"camera_info is for {info.width}x{info.height}, frames are "
                            f"{source_size[0]}x{source_size[1]}: not published")  # fmt: skip
            return
        self.info_pub.publish(camera_info.scaled(info, msg.width, msg.height, msg.header))


def _explicit(quality: float) -> float | None:
    """The `quality` parameter as the Encoder takes it: negative = the preset's named quality (None)."""
    return None if quality < 0 else quality


def main(args: list[str] | None = None) -> None:
    common.run(EncoderNode, args)


if __name__ == "__main__":
    main()
