"""The pipeline in one place: topic names, node names, executables, remappings, parameter file.

Launch files, the end-to-end tests, the demo and the README's topology all read this module.
Nodes use short private-side topic names (`image`, `compressed`, ...) that the graph remaps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PACKAGE = "anon_compression_nodes"
PARAMS_FILE = "config/anon_compression.yaml"  # relative to the package share (and to the repo root)
RVIZ_FILE = "rviz/anon_compression.rviz"

# Global topic names of the pipeline, in image_transport's convention: a transport's topic is
# <base topic>/<transport name> (as camera/image_raw/compressed is for compressed_image_transport), and
# a decoder republishes the frames as a new base topic.
RAW = "camera/image_raw"
CAMERA_INFO = "camera/camera_info"  # a camera driver's calibration, beside RAW
COMPRESSED = "camera/image_raw/anon"
# The decoded stream is a camera of its own (as image_proc's resize output is): its frames may be
# resized (max_side), so it pairs with its own CameraInfo, rescaled to match, for rviz and image_geometry.
DECODED = "camera_anon/image_raw"
DECODED_INFO = "camera_anon/camera_info"
DETECTIONS = "detections"
ANNOTATED = "detections/image"


@dataclass(frozen=True)
class NodeSpec:
    name: str
    executable: str
    remappings: dict[str, str] = field(default_factory=dict)
    description: str = ""

    @property
    def params_key(self) -> str:
        """This node's key in the parameter file: `/**/name` applies under any namespace."""
        return f"/**/{self.name}"

    def ros_args(self, params_file: str) -> list[str]:
        """The command-line equivalent of what the launch files do for this node."""
        args = ["--ros-args", "-r", f"__node:={self.name}", "--params-file", params_file]
        for src, dst in self.remappings.items():
            args += ["-r", f"{src}:={dst}"]
        return args


CAPTURE = NodeSpec("capture", "capture", {"image": RAW}, "camera or video frames -> sensor_msgs/Image")
ENCODER = NodeSpec("encoder", "encoder", {"image": RAW, "camera_info": CAMERA_INFO, "compressed": COMPRESSED,
                                          "anon/camera_info": DECODED_INFO}, "Image -> CompressedLatent")  # fmt: skip
DECODER = NodeSpec("decoder", "decoder", {"compressed": COMPRESSED, "decoded": DECODED}, "CompressedLatent -> Image")
DETECTOR = NodeSpec(
    "detector", "detector", {"image": DECODED, "detections": DETECTIONS, "annotated": ANNOTATED}, "YOLO on decoded images"
)

# The robot default: the encoder reads the camera in-process (its `camera` parameter), so no raw
# frame is ever published on DDS. RAW_ROBOT_SIDE (launch argument use_capture:=true, or a camera
# driver's topic with image_topic:=...) puts raw sensor_msgs/Image frames on the wire.
WEB = NodeSpec("web", "web", {"compressed": COMPRESSED}, "decoded stream in a browser (MJPEG) + the HTTP API")

ROBOT_SIDE = (ENCODER,)  # capture.launch.py
RAW_ROBOT_SIDE = (CAPTURE, ENCODER)  # capture.launch.py use_capture:=true
BASE_SIDE = (DECODER, DETECTOR)  # detection.launch.py
PIPELINE = ROBOT_SIDE + BASE_SIDE  # robot.launch.py with run_base_station:=true
RAW_PIPELINE = RAW_ROBOT_SIDE + BASE_SIDE  # the same with use_capture:=true (demo, latency benchmark)
ALL_NODES = RAW_PIPELINE + (WEB,)  # detection.launch.py web:=true adds the web node

# Diagnostics: every node publishes its rate, processing time and counters here once a second.
DIAGNOSTICS = "/diagnostics"
STATS_PERIOD_S = 1.0
