"""Robot side: capture + encoder. Only CompressedLatent leaves this side (no raw-image topic is
meant to cross the network; keep ROS_AUTOMATIC_DISCOVERY_RANGE or a DDS partition to enforce it)."""

from launch.actions import DeclareLaunchArgument, OpaqueFunction

from anon_compression_nodes import graph
from anon_compression_nodes.launch_nodes import nodes
from launch import LaunchDescription

ARGS = {
    "params_file": "Parameter YAML for all nodes; empty = the installed config/anon_compression.yaml.",
    "sources": "Comma-separated camera sources: indices, /dev/video* paths or globs, or video files.",
    "rate_hz": "Capture rate per camera in Hz.",
    "loop": "Loop video files (true/false).",
    "weights": "Codec preset name or weight file for the encoder (and decoder).",
    "max_side": "Resize frames so the longest side is at most this many pixels before encoding.",
    "device": "Torch device: cpu or cuda.",
}


def generate_launch_description() -> LaunchDescription:
    return LaunchDescription(
        [DeclareLaunchArgument(name, default_value="", description=text) for name, text in ARGS.items()]
        + [OpaqueFunction(function=lambda context: nodes(context, graph.ROBOT_SIDE))]
    )
