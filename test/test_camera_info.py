"""CameraInfo for the decoded stream: calibration files and rescaling."""

from __future__ import annotations

import pytest
import yaml
from std_msgs.msg import Header

from anon_compression_nodes import camera_info

CALIBRATION = {
    "image_width": 640, "image_height": 480, "camera_name": "cam",
    "camera_matrix": {"rows": 3, "cols": 3, "data": [500.0, 0, 320, 0, 510, 240, 0, 0, 1]},
    "distortion_model": "plumb_bob",
    "distortion_coefficients": {"rows": 1, "cols": 5, "data": [0.1, -0.2, 0, 0, 0.01]},
    "rectification_matrix": {"rows": 3, "cols": 3, "data": [1.0, 0, 0, 0, 1, 0, 0, 0, 1]},
    "projection_matrix": {"rows": 3, "cols": 4, "data": [500.0, 0, 320, 5, 0, 510, 240, 0, 0, 0, 1, 0]},
}  # fmt: skip


def test_a_calibration_file_loads_and_rescales_as_image_proc_resize_does(tmp_path):
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(CALIBRATION))
    info = camera_info.load(tmp_path / "c.yaml")
    assert (info.width, info.height, info.distortion_model) == (640, 480, "plumb_bob")
    header = Header(frame_id="camera_optical_frame")
    half = camera_info.scaled(info, 320, 240, header)
    assert (half.width, half.height, half.header.frame_id) == (320, 240, "camera_optical_frame")
    assert list(half.k) == [250.0, 0, 160, 0, 255, 120, 0, 0, 1]
    assert list(half.p) == [250.0, 0, 160, 2.5, 0, 255, 120, 0, 0, 0, 1, 0]
    assert list(half.d) == list(info.d) and list(half.r) == list(info.r)  # unitless: unchanged


def test_projection_defaults_to_the_camera_matrix(tmp_path):
    minimal = {k: CALIBRATION[k] for k in ("image_width", "image_height", "camera_matrix")}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(minimal))
    info = camera_info.load(tmp_path / "c.yaml")
    assert list(info.p) == [500.0, 0, 320, 0, 0, 510, 240, 0, 0, 0, 1, 0] and list(info.d) == []


BAD = [
    "",
    "image_width: 640",
    "[1, 2]",
    "image_width: 0\nimage_height: 4\ncamera_matrix: {data: [1,0,0,0,1,0,0,0,1]}",
    "image_width: 4\nimage_height: 4\ncamera_matrix: {data: [1, 2]}",
    "a: [unclosed",
]


@pytest.mark.parametrize("text", BAD)
def test_bad_calibration_files_are_refused_with_the_reason(tmp_path, text):
    (tmp_path / "c.yaml").write_text(text)
    with pytest.raises(ValueError, match="c.yaml"):
        camera_info.load(tmp_path / "c.yaml")
    with pytest.raises(ValueError, match="missing.yaml"):
        camera_info.load(tmp_path / "missing.yaml")
