"""`ros2 launch anon_compression_nodes robot.launch.py`: the robot pipeline (the encoder reading the
camera in-process; see capture.launch.py for the raw-topic options),
optionally with the base-station side (decoder + detector, rviz) on the same machine.
Composes capture.launch.py and detection.launch.py; every argument is passed through."""

from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription
from launch.conditions import IfCondition
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.substitutions import FindPackageShare

from anon_compression_nodes import graph
from launch import LaunchDescription

ARGS = {
    "params_file": "Parameter YAML for all nodes; empty = the installed config/anon_compression.yaml.",
    "sources": "Comma-separated camera sources: indices, /dev/video* paths or globs, or video files. Without "
    "use_capture the encoder reads the first one in-process (no raw frames on DDS).",
    "image_topic": "Subscribe the encoder to this raw sensor_msgs/Image topic (an existing camera driver) instead "
    "of reading the camera in-process.",
    "use_capture": "true: start the capture node, which publishes raw frames on DDS, and encode from its topic.",
    "rate_hz": "Capture rate per camera in Hz.",
    "loop": "Loop video files (true/false).",
    "weights": "Codec preset name or weight file.",
    "max_side": "Resize frames so the longest side is at most this many pixels before encoding.",
    "device": "Torch device: cpu or cuda.",
    "detector_model": "ultralytics .pt for the detector; empty = the shipped offline person model.",
}


def _include(name: str, condition=None) -> IncludeLaunchDescription:
    path = PathJoinSubstitution([FindPackageShare(graph.PACKAGE), "launch", name])
    return IncludeLaunchDescription(PythonLaunchDescriptionSource(path), condition=condition)


def generate_launch_description() -> LaunchDescription:
    return LaunchDescription(
        [DeclareLaunchArgument(name, default_value="", description=text) for name, text in ARGS.items()]
        + [
            DeclareLaunchArgument(
                "run_base_station",
                default_value="false",
                choices=["true", "false"],
                description="Also run decoder + detector on this machine.",
            ),  # fmt: skip
            DeclareLaunchArgument(
                "web", default_value="false", choices=["true", "false"],
                description="With run_base_station, start the web node (decoded stream in a browser) too.",
            ),  # fmt: skip
            DeclareLaunchArgument(
                "rviz", default_value="false", choices=["true", "false"], description="With run_base_station, start rviz2 too."
            ),  # fmt: skip
            _include("capture.launch.py"),
            _include("detection.launch.py", IfCondition(LaunchConfiguration("run_base_station"))),
        ]
    )
