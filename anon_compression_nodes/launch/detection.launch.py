"""Base-station side: decoder + detector, and optionally rviz showing decoded and annotated images and
the web node showing the decoded stream in a browser. Arguments, their defaults and descriptions:
anon_compression_nodes/launch_nodes.py."""

from launch.actions import OpaqueFunction
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

from anon_compression_nodes import graph
from anon_compression_nodes.launch_nodes import declare, nodes
from launch import LaunchDescription

ARGS = ["params_file", "weights", "device", "detector_model", "rviz", "web"]


def generate_launch_description() -> LaunchDescription:
    rviz = Node(
        package="rviz2",
        executable="rviz2",
        arguments=["-d", PathJoinSubstitution([FindPackageShare(graph.PACKAGE), graph.RVIZ_FILE])],
        condition=IfCondition(LaunchConfiguration("rviz")),
    )
    return LaunchDescription(
        declare(ARGS)
        + [
            OpaqueFunction(function=lambda context: nodes(context, graph.BASE_SIDE)),
            OpaqueFunction(function=lambda context: nodes(context, (graph.WEB,))
                           if context.launch_configurations.get("web") == "true" else []),
            rviz,
        ]
    )  # fmt: skip
