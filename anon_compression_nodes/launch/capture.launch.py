"""Robot side. By default the encoder alone, reading the camera in-process: only CompressedLatent
leaves the robot and no raw image is ever on DDS. image_topic:=/driver/image subscribes to a camera
driver instead, and use_capture:=true starts the capture node: both put raw frames on the wire
(keep ROS_AUTOMATIC_DISCOVERY_RANGE or a DDS partition to confine them). Arguments, their defaults
(the parameter file's values) and descriptions: anon_compression_nodes/launch_nodes.py."""

from launch.actions import OpaqueFunction

from anon_compression_nodes.launch_nodes import declare, robot_nodes
from launch import LaunchDescription

ARGS = ["params_file", "namespace", "sources", "image_topic", "camera_info_topic", "use_capture", "rate_hz", "loop", "weights",
        "max_side", "device", "guard_config"]  # fmt: skip


def generate_launch_description() -> LaunchDescription:
    return LaunchDescription(declare(ARGS) + [OpaqueFunction(function=robot_nodes)])
