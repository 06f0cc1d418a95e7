"""Base-station side: decoder + detector, and optionally rviz showing decoded and annotated images and
the web node showing the decoded stream in a browser."""

from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

from anon_compression_nodes import graph
from anon_compression_nodes.launch_nodes import nodes
from launch import LaunchDescription

ARGS = {
    "params_file": "Parameter YAML for all nodes; empty = the installed config/anon_compression.yaml.",
    "weights": "Codec preset name or weight file; must match the encoder's.",
    "device": "Torch device: cpu or cuda.",
    "detector_model": "ultralytics .pt for the detector; empty = the shipped offline person model.",
}


def generate_launch_description() -> LaunchDescription:
    rviz = Node(
        package="rviz2",
        executable="rviz2",
        arguments=["-d", PathJoinSubstitution([FindPackageShare(graph.PACKAGE), graph.RVIZ_FILE])],
        condition=IfCondition(LaunchConfiguration("rviz")),
    )
    return LaunchDescription(
        [DeclareLaunchArgument(name, default_value="", description=text) for name, text in ARGS.items()]
        + [
            DeclareLaunchArgument("rviz", default_value="false", choices=["true", "false"], description="Start rviz2."),
            DeclareLaunchArgument("web", default_value="false", choices=["true", "false"],
                                  description="Also start the web node: the decoded stream on http://127.0.0.1:8080/."),
            OpaqueFunction(function=lambda context: nodes(context, graph.BASE_SIDE)),
            OpaqueFunction(function=lambda context: nodes(context, (graph.WEB,))
                           if context.launch_configurations.get("web") == "true" else []),
            rviz,
        ]
    )
