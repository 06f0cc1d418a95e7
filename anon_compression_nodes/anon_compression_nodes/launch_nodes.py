"""Builds launch_ros Node actions from the graph, for the launch files (imports launch lazily:
launch and launch_ros exist only on a ROS 2 install)."""

from __future__ import annotations

import os

from . import graph

# Launch arguments that override a node parameter when given a non-empty value:
# argument -> (node name, parameter, type).
OVERRIDES = {
    "sources": ("capture", "sources", list),
    "rate_hz": (("capture", "encoder"), "rate_hz", float),
    "loop": (("capture", "encoder"), "loop", bool),
    "weights": (("encoder", "decoder", "web"), "weights", str),
    "max_side": ("encoder", "max_side", int),
    "device": (("encoder", "decoder", "detector"), "device", str),
    "detector_model": ("detector", "model", str),
}


def _convert(value: str, kind: type):
    if kind is list:
        return [v.strip() for v in value.split(",") if v.strip()]
    if kind is bool:
        return value.lower() in ("1", "true", "yes")
    return kind(value)


def default_params_file() -> str:
    from ament_index_python.packages import get_package_share_directory

    return os.path.join(get_package_share_directory(graph.PACKAGE), graph.PARAMS_FILE)


def robot_side(arguments: dict[str, str]) -> tuple[tuple[graph.NodeSpec, ...], dict[str, dict], dict[str, dict]]:
    """Which robot-side nodes run, with the parameters and remappings that the choice implies:
    by default the encoder alone, reading the camera in-process (the first of `sources`), so no raw
    frame reaches DDS; `image_topic` makes it subscribe to a driver's topic instead; `use_capture`
    starts the capture node, which publishes raw frames."""
    image_topic = arguments.get("image_topic", "")
    if image_topic:
        return graph.ROBOT_SIDE, {"encoder": {"camera": ""}}, {"encoder": {"image": image_topic}}
    if _convert(arguments.get("use_capture", "false"), bool):
        return graph.RAW_ROBOT_SIDE, {"encoder": {"camera": ""}}, {}
    sources = _convert(arguments.get("sources", ""), list)
    return graph.ROBOT_SIDE, ({"encoder": {"camera": sources[0]}} if sources else {}), {}


def robot_nodes(context) -> list:
    specs, params, remaps = robot_side(dict(context.launch_configurations))
    return nodes(context, specs, params, remaps)


def nodes(context, specs: tuple[graph.NodeSpec, ...], params: dict[str, dict] | None = None,
          remaps: dict[str, dict] | None = None) -> list:  # fmt: skip
    """Node actions for `specs`, with the params file, non-empty launch-argument overrides and the
    given extra parameters and remappings per node name."""
    from launch_ros.actions import Node

    params_file = context.perform_substitution(_lc("params_file")) or default_params_file()
    actions = []
    for spec in specs:
        overrides = {}
        for arg, (names, param, kind) in OVERRIDES.items():
            value = context.launch_configurations.get(arg, "")
            if value and spec.name in (names if isinstance(names, tuple) else (names,)):
                overrides[param] = _convert(value, kind)
        overrides.update((params or {}).get(spec.name, {}))
        remappings = {**spec.remappings, **(remaps or {}).get(spec.name, {})}
        actions.append(
            Node(
                package=graph.PACKAGE,
                executable=spec.executable,
                name=spec.name,
                parameters=[params_file, overrides],
                remappings=list(remappings.items()),
                output="screen",
                emulate_tty=True,
            )
        )
    return actions


def _lc(name: str):
    from launch.substitutions import LaunchConfiguration

    return LaunchConfiguration(name, default="")
