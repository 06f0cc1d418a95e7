"""`ros2 launch anon_compression_nodes robot.launch.py`: the robot pipeline (the encoder reading the
camera in-process; see capture.launch.py for the raw-topic options),
optionally with the base-station side (decoder + detector, rviz) on the same machine.
Composes capture.launch.py and detection.launch.py; every argument is passed through. Arguments,
their defaults (the parameter file's values) and descriptions: anon_compression_nodes/launch_nodes.py."""

from launch.actions import IncludeLaunchDescription
from launch.conditions import IfCondition
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.substitutions import FindPackageShare

from anon_compression_nodes import graph
from anon_compression_nodes.launch_nodes import declare
from launch import LaunchDescription

# Every argument of the two launch files it includes (passed through), plus the switch for the base station.
ARGS = ["params_file", "namespace", "sources", "image_topic", "camera_info_topic", "use_capture", "rate_hz", "loop",
        "weights", "max_side", "device", "guard_config", "detector_model", "run_base_station", "web", "rviz"]  # fmt: skip


def _include(name: str, condition=None) -> IncludeLaunchDescription:
    path = PathJoinSubstitution([FindPackageShare(graph.PACKAGE), "launch", name])
    return IncludeLaunchDescription(PythonLaunchDescriptionSource(path), condition=condition)


def generate_launch_description() -> LaunchDescription:
    return LaunchDescription(
        declare(ARGS)
        + [
            _include("capture.launch.py"),
            _include("detection.launch.py", IfCondition(LaunchConfiguration("run_base_station"))),
        ]
    )
