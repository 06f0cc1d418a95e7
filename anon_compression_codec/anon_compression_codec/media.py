"""Reading and writing images, folders and videos for the command-line tools (OpenCV, BGR order)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from .errors import InputError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm"}
VIDEO_SUFFIXES = {".mp4", ".avi", ".mkv", ".mov", ".webm"}


def kind_of(path: Path) -> str:
    """'image', 'folder' or 'video'; InputError for anything else."""
    if path.is_dir():
        return "folder"
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return "image"
    if suffix in VIDEO_SUFFIXES:
        return "video"
    raise InputError(f"{path}: unknown kind (images: {sorted(IMAGE_SUFFIXES)}, videos: {sorted(VIDEO_SUFFIXES)})")


def read_image(path: Path) -> np.ndarray:
    """BGR or grayscale uint8 as stored; alpha is dropped. Other depths are left for the codec to refuse."""
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise InputError(f"{path}: not a readable image")
    if img.ndim == 3 and img.shape[2] == 4:
        img = img[..., :3]
    return img


def write_image(path: Path, image: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), image):
        raise InputError(f"{path}: could not write an image there (unknown suffix or unwritable)")


def folder_images(path: Path) -> list[Path]:
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise InputError(f"{path}: folder holds no images")
    return files


def video_frames(path: Path, limit: int | None = None) -> tuple[Iterator[np.ndarray], float, int]:
    """(BGR frames, fps, frame count) of a video file."""
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise InputError(f"{path}: not a readable video")
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) or 0
    if limit is not None:
        count = min(count, limit) if count else limit

    def frames() -> Iterator[np.ndarray]:
        n = 0
        try:
            while limit is None or n < limit:
                ok, frame = cap.read()
                if not ok:
                    return
                n += 1
                yield frame
        finally:
            cap.release()

    return frames(), fps, count


class VideoWriter:
    """.avi: MJPG through OpenCV; .mp4: H.264 (yuv420p, the profile browsers play) through the static
    FFmpeg of imageio-ffmpeg, since opencv-python's FFmpeg has no H.264 encoder (its mp4v, MPEG-4
    Part 2, plays in no browser)."""

    def __init__(self, path: Path, fps: float) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path, self.fps, self._writer, self._ffmpeg = path, fps, None, None

    def write(self, frame: np.ndarray) -> None:
        if frame.ndim == 2:
            frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
        if self.path.suffix.lower() == ".mp4":
            self._write_h264(np.ascontiguousarray(frame))
            return
        if self._writer is None:
            self._writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*"MJPG"), self.fps,
                                           (frame.shape[1], frame.shape[0]))  # fmt: skip
            if not self._writer.isOpened():
                raise InputError(f"{self.path}: cannot write a video there")
        self._writer.write(frame)

    def _write_h264(self, frame: np.ndarray) -> None:
        if self._ffmpeg is None:
            try:
                import imageio_ffmpeg
            except ImportError:
                raise InputError("writing .mp4 needs imageio-ffmpeg (pip install imageio-ffmpeg), or use .avi") from None
            # yuv420p needs even sides: pad by one pixel where odd.
            self._ffmpeg = imageio_ffmpeg.write_frames(
                str(self.path), (frame.shape[1], frame.shape[0]), fps=self.fps, codec="libx264", pix_fmt_in="bgr24",
                pix_fmt_out="yuv420p", macro_block_size=1, output_params=["-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2"],
            )  # fmt: skip
            self._ffmpeg.send(None)
        self._ffmpeg.send(frame.tobytes())

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
        if self._ffmpeg is not None:
            self._ffmpeg.close()
