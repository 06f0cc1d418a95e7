"""Cameras and video files opened with OpenCV: what the capture node publishes and what the encoder
node reads in-process (a node does not import another node)."""

from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path

import cv2
from rclpy.node import Node

from .common import Stats


@dataclass
class Source:
    spec: str
    capture: cv2.VideoCapture
    is_file: bool
    publisher: object
    finished: bool = False
    suffix: str = ""  # "" for a single source, else its index among the sources asked for


def expand(specs: list[str]) -> list[str]:
    """Globs expanded (sorted), other entries kept; duplicates dropped."""
    out: list[str] = []
    for spec in specs:
        matches = sorted(glob.glob(spec)) if glob.has_magic(spec) else [spec]
        out += [m for m in matches if m not in out]
    return out


def open_source(spec: str, width: int, height: int) -> tuple[cv2.VideoCapture, bool]:
    is_file = Path(spec).is_file() and not spec.startswith("/dev/")
    cap = cv2.VideoCapture(int(spec)) if spec.isdigit() else cv2.VideoCapture(spec)
    if not is_file:
        if width:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        if height:
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
    return cap, is_file


def read_frame(src: Source, loop: bool, node: Node, stats: Stats):
    """The next frame of a source, or None: a video file that ended (restarted with `loop`) is marked
    finished; a camera that gave no frame is counted as refused (diagnostics WARN)."""
    ok, frame = src.capture.read()
    if not ok and src.is_file and loop:
        src.capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
        ok, frame = src.capture.read()
    if ok:
        return frame
    if src.is_file:
        src.finished = True
        node.get_logger().info(f"end of {src.spec}")
    else:
        stats.warn("read_failures", f"no frame from {src.spec}")
    return None
