"""CameraInfo for the decoded stream: read from a calibration file (camera_calibration's YAML, as
camera drivers' camera_info_url points to) or taken from a driver, then rescaled to the encoded size
as image_proc's resize node does, so the decoded image and its CameraInfo always agree."""

from __future__ import annotations

from pathlib import Path

import yaml
from sensor_msgs.msg import CameraInfo


def load(path: str | Path) -> CameraInfo:
    """A camera_calibration YAML file (image_width, image_height, camera_matrix, distortion_model,
    distortion_coefficients, rectification_matrix, projection_matrix). ValueError naming the problem."""
    try:
        raw = yaml.safe_load(Path(path).read_text())
        info = CameraInfo(width=int(raw["image_width"]), height=int(raw["image_height"]))
        info.distortion_model = str(raw.get("distortion_model", "plumb_bob"))
        info.k = _matrix(raw, "camera_matrix", 9)
        info.d = [float(v) for v in raw.get("distortion_coefficients", {}).get("data", [])]
        info.r = _matrix(raw, "rectification_matrix", 9, [1.0, 0, 0, 0, 1, 0, 0, 0, 1])
        info.p = _matrix(raw, "projection_matrix", 12, [*info.k[0:3], 0.0, *info.k[3:6], 0.0, *info.k[6:9], 0.0])
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"{path}: not a camera calibration file ({type(exc).__name__}: {exc})") from None
    if info.width <= 0 or info.height <= 0:
        raise ValueError(f"{path}: image_width and image_height must be positive")
    return info


def _matrix(raw: dict, key: str, size: int, default: list[float] | None = None) -> list[float]:
    if key not in raw and default is not None:
        return [float(v) for v in default]
    data = [float(v) for v in raw[key]["data"]]
    if len(data) != size:
        raise ValueError(f"{key} has {len(data)} values, expected {size}")
    return data


def scaled(info: CameraInfo, width: int, height: int, header) -> CameraInfo:
    """`info` for the same camera at width x height, stamped with `header`."""
    sx, sy = width / info.width, height / info.height
    k, p = list(info.k), list(info.p)
    for i, s in ((0, sx), (2, sx), (4, sy), (5, sy)):  # fx, cx, fy, cy
        k[i] *= s
    for i, s in ((0, sx), (2, sx), (3, sx), (5, sy), (6, sy), (7, sy)):  # fx', cx', Tx, fy', cy', Ty
        p[i] *= s
    out = CameraInfo(header=header, width=width, height=height, distortion_model=info.distortion_model)
    out.d, out.r, out.k, out.p = list(info.d), list(info.r), k, p
    return out
