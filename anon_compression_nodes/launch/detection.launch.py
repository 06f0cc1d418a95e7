"""Base-station side: decoder + detector, and optionally rviz showing decoded and annotated images and
the web node showing the decoded stream in a browser. Arguments, their defaults and descriptions:
anon_compression_nodes/launch_nodes.py."""

from launch.actions import OpaqueFunction

from anon_compression_nodes import graph
from anon_compression_nodes.launch_nodes import declare, nodes, rviz_node
from launch import LaunchDescription

ARGS = ["params_file", "namespace", "weights", "device", "detector_model", "rviz", "web"]


def generate_launch_description() -> LaunchDescription:
    return LaunchDescription(
        declare(ARGS)
        + [
            OpaqueFunction(function=lambda context: nodes(context, graph.BASE_SIDE)),
            OpaqueFunction(function=lambda context: nodes(context, (graph.WEB,))
                           if context.launch_configurations.get("web") == "true" else []),
            OpaqueFunction(function=rviz_node),
        ]
    )  # fmt: skip
