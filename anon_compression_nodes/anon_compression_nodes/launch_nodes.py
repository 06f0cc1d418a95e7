"""Launch arguments and launch_ros Node actions from the graph, for the launch files (imports launch
lazily: launch and launch_ros exist only on a ROS 2 install).

One table of launch arguments (OVERRIDES and DESCRIPTIONS for those that set node parameters,
SWITCHES for the rest). An argument that sets a node parameter takes its default from the
parameter file (params.py, the one table of parameters), so `ros2 launch ... --show-args` shows
the real defaults; it overrides the file only when given another value, so a user's
`params_file` still wins for arguments left at their defaults.
"""

from __future__ import annotations

import os

from . import graph
from .params import load_params, params_file

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
    "guard_config": ("encoder", "guard_config", str),
}


# Arguments that are not node parameters: name -> (default, description).
SWITCHES = {
    "params_file": ("", "Parameter YAML for all nodes; empty = the installed config/anon_compression.yaml."),
    "namespace": ("", "Namespace of every node and topic (e.g. robot1); the parameter file's /**/ keys apply under it."),
    "image_topic": ("", "Subscribe the encoder to this raw sensor_msgs/Image topic (an existing camera driver) instead "
                    "of reading the camera in-process; empty = read the camera in-process."),
    "camera_info_topic": ("", "With image_topic: the driver's sensor_msgs/CameraInfo topic; empty = camera_info beside "
                          "image_topic."),
    "use_capture": ("false", "true: start the capture node, which publishes raw frames on DDS, and encode from its topic."),
    "run_base_station": ("false", "Also run decoder + detector on this machine."),
    "web": ("false", "Also start the web node: the decoded stream on http://127.0.0.1:8080/."),
    "rviz": ("false", "Start rviz2 (with the base station)."),
}  # fmt: skip
DESCRIPTIONS = {
    "sources": "Comma-separated camera sources: indices, /dev/video* paths or globs, or video files. Without "
    "use_capture the encoder reads the first one in-process (no raw frames on DDS).",
    "rate_hz": "Capture rate per camera in Hz.",
    "loop": "Loop video files (true/false).",
    "weights": "Codec preset name or weight file; the decoder must have the encoder's.",
    "max_side": "Resize frames so the longest side is at most this many pixels before encoding (0 = never).",
    "device": "Torch device: cpu or cuda.",
    "detector_model": "ultralytics .pt for the detector; empty = the shipped offline person model.",
    "guard_config": "YAML of the privacy guard's detection stage; empty = the video defaults (privacy/stage.py VIDEO).",
}


def _as_argument(value) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def argument_defaults(params: dict[str, dict]) -> dict[str, str]:
    """Every launch argument's default: a parameter's value in the file, or the switch's default."""
    defaults = {name: default for name, (default, _) in SWITCHES.items()}
    for arg, (names, param, _) in OVERRIDES.items():
        node = names[0] if isinstance(names, tuple) else names
        defaults[arg] = _as_argument(params[node][param])
    return defaults


def installed_defaults() -> dict[str, str]:
    return argument_defaults(load_params(params_file()))


def declare(names: list[str]) -> list:
    """DeclareLaunchArgument actions for these names, with their real defaults and descriptions."""
    from launch.actions import DeclareLaunchArgument

    defaults = {**installed_defaults(), "params_file": str(params_file())}
    actions = []
    for name in names:
        text = SWITCHES[name][1] if name in SWITCHES else DESCRIPTIONS[name]
        choices = ["true", "false"] if defaults[name] in ("true", "false") else None
        actions.append(DeclareLaunchArgument(name, default_value=defaults[name], description=text, choices=choices))
    return actions


def _convert(value: str, kind: type):
    if kind is list:
        return [v.strip() for v in value.split(",") if v.strip()]
    if kind is bool:
        return value.lower() in ("1", "true", "yes")
    return kind(value)


RobotSide = tuple[tuple[graph.NodeSpec, ...], dict[str, dict], dict[str, dict]]


def robot_side(arguments: dict[str, str], defaults: dict[str, str] | None = None) -> RobotSide:
    """Which robot-side nodes run, with the parameters and remappings that the choice implies:
    by default the encoder alone, reading the camera in-process (the first of `sources`), so no raw
    frame reaches DDS; `image_topic` makes it subscribe to a driver's topic instead; `use_capture`
    starts the capture node, which publishes raw frames. `sources` applies only when it differs
    from `defaults` (the parameter file's value), so the file's camera otherwise stays."""
    image_topic = arguments.get("image_topic", "")
    if image_topic:
        head, sep, _ = image_topic.rpartition("/")
        info = arguments.get("camera_info_topic", "") or f"{head}{sep}camera_info"  # image_transport's pairing
        return graph.ROBOT_SIDE, {"encoder": {"camera": ""}}, {"encoder": {"image": image_topic, "camera_info": info}}
    if _convert(arguments.get("use_capture", "false"), bool):
        return graph.RAW_ROBOT_SIDE, {"encoder": {"camera": ""}}, {}
    given = arguments.get("sources", "")
    sources = _convert(given, list) if given != (defaults or {}).get("sources") else []
    return graph.ROBOT_SIDE, ({"encoder": {"camera": sources[0]}} if sources else {}), {}


def robot_nodes(context) -> list:
    specs, params, remaps = robot_side(dict(context.launch_configurations), installed_defaults())
    return nodes(context, specs, params, remaps)


def nodes(context, specs: tuple[graph.NodeSpec, ...], params: dict[str, dict] | None = None,
          remaps: dict[str, dict] | None = None) -> list:  # fmt: skip
    """Node actions for `specs`, with the params file, the launch arguments that differ from the
    file's values, and the given extra parameters and remappings per node name."""
    from launch_ros.actions import Node

    file = context.perform_substitution(_lc("params_file")) or str(params_file())
    namespace = context.perform_substitution(_lc("namespace"))
    defaults = installed_defaults()  # what the arguments were declared with: unchanged ones leave the file alone
    actions = []
    for spec in specs:
        overrides = {}
        for arg, (names, param, kind) in OVERRIDES.items():
            value = context.launch_configurations.get(arg, defaults[arg])
            if value != defaults[arg] and spec.name in (names if isinstance(names, tuple) else (names,)):
                overrides[param] = _convert(value, kind)
        overrides.update((params or {}).get(spec.name, {}))
        remappings = {**spec.remappings, **(remaps or {}).get(spec.name, {})}
        actions.append(
            Node(
                package=graph.PACKAGE,
                executable=spec.executable,
                name=spec.name,
                namespace=namespace,
                parameters=[file, overrides],
                remappings=list(remappings.items()),
                output="screen",
                emulate_tty=True,
            )
        )
    return actions


def _lc(name: str):
    from launch.substitutions import LaunchConfiguration

    return LaunchConfiguration(name, default="")


def rviz_remappings(namespace: str) -> dict[str, str]:
    """The rviz file names the graph's topics absolutely; under a namespace they are remapped there."""
    ns = namespace.strip("/")
    return {f"/{t}": f"/{ns}/{t}" for t in (graph.DECODED, graph.ANNOTATED)} if ns else {}


def rviz_node(context) -> list:
    """rviz2 with the package's display file, when the rviz argument is true."""
    from launch_ros.actions import Node
    from launch_ros.substitutions import FindPackageShare

    if context.launch_configurations.get("rviz") != "true":
        return []
    config = os.path.join(context.perform_substitution(FindPackageShare(graph.PACKAGE)), graph.RVIZ_FILE)
    remappings = rviz_remappings(context.perform_substitution(_lc("namespace")))
    return [Node(package="rviz2", executable="rviz2", arguments=["-d", config], remappings=list(remappings.items()))]
