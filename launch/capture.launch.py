"""Robot side. By default the encoder alone, reading the camera in-process: only CompressedLatent
leaves the robot and no raw image is ever on DDS. image_topic:=/driver/image subscribes to a camera
driver instead, and use_capture:=true starts the capture node: both put raw frames on the wire
(keep ROS_AUTOMATIC_DISCOVERY_RANGE or a DDS partition to confine them)."""

from launch.actions import DeclareLaunchArgument, OpaqueFunction

from anon_compression_nodes.launch_nodes import robot_nodes
from launch import LaunchDescription

ARGS = {
    "params_file": "Parameter YAML for all nodes; empty = the installed config/anon_compression.yaml.",
    "sources": "Comma-separated camera sources: indices, /dev/video* paths or globs, or video files. Without "
    "use_capture the encoder reads the first one in-process.",
    "image_topic": "Subscribe the encoder to this raw sensor_msgs/Image topic (an existing camera driver) instead "
    "of reading the camera in-process.",
    "use_capture": "true: start the capture node, which publishes raw frames on DDS, and encode from its topic.",
    "rate_hz": "Capture rate per camera in Hz.",
    "loop": "Loop video files (true/false).",
    "weights": "Codec preset name or weight file for the encoder (and decoder).",
    "max_side": "Resize frames so the longest side is at most this many pixels before encoding.",
    "device": "Torch device: cpu or cuda.",
}


def generate_launch_description() -> LaunchDescription:
    return LaunchDescription(
        [DeclareLaunchArgument(name, default_value="", description=text) for name, text in ARGS.items()]
        + [OpaqueFunction(function=robot_nodes)]
    )
