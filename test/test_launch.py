"""Launch files. launch/launch_ros cannot be installed here, so they are checked statically against
the graph; test_robot_launch.py runs robot.launch.py with launch_testing on a ROS 2 install."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest
import yaml
from ros_helpers import REPO

from anon_compression_nodes import graph, launch_nodes, params

LAUNCH = {p.name: p for p in (REPO / "launch").glob("*.launch.py")}


def _declared_args(path: Path) -> dict[str, str]:
    """Argument names (the file's ARGS list, declared through launch_nodes.declare) -> descriptions."""
    tree = ast.parse(path.read_text())
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "ARGS" for t in node.targets):
            names += ast.literal_eval(node.value)
        assert not (isinstance(node, ast.Call) and getattr(node.func, "id", "") == "DeclareLaunchArgument"), (
            f"{path.name} declares an argument outside launch_nodes' table"
        )
    tables = {**{k: v for k, (_, v) in launch_nodes.SWITCHES.items()}, **launch_nodes.DESCRIPTIONS}
    assert "declare(ARGS)" in path.read_text() and set(names) <= set(tables), f"{path.name}: {set(names) - set(tables)}"
    return {name: tables[name] for name in names}


def test_the_three_launch_files_exist():
    assert set(LAUNCH) == {"robot.launch.py", "capture.launch.py", "detection.launch.py"}


@pytest.mark.parametrize("name", sorted(LAUNCH))
def test_every_argument_is_documented(name):
    args = _declared_args(LAUNCH[name])
    assert args, f"{name} declares no arguments"
    for arg, desc in args.items():
        assert len(desc) > 10, f"{name}: argument {arg} has no description"


@pytest.mark.parametrize("name, specs", [("capture.launch.py", graph.RAW_ROBOT_SIDE), ("detection.launch.py", graph.BASE_SIDE)])
def test_node_launchers_take_their_nodes_from_the_graph(name, specs):
    source = LAUNCH[name].read_text()
    assert "robot_nodes" in source if specs is graph.RAW_ROBOT_SIDE else "graph.BASE_SIDE" in source
    # Every override argument that applies to these nodes is declared by the launch file.
    declared = _declared_args(LAUNCH[name])
    for arg, (names, _, _) in launch_nodes.OVERRIDES.items():
        targets = names if isinstance(names, tuple) else (names,)
        if any(spec.name in targets for spec in specs):
            assert arg in declared, f"{name} does not declare {arg}"


def test_robot_launch_composes_the_others_and_passes_every_argument():
    source = LAUNCH["robot.launch.py"].read_text()
    assert '"capture.launch.py"' in source and '"detection.launch.py"' in source
    robot_args = set(_declared_args(LAUNCH["robot.launch.py"]))
    for other in ("capture.launch.py", "detection.launch.py"):
        missing = set(_declared_args(LAUNCH[other])) - robot_args
        assert not missing, f"robot.launch.py lacks {missing} of {other}"


def test_robot_side_reads_the_camera_in_process_unless_told_otherwise():
    specs, values, remaps = launch_nodes.robot_side({"sources": "/dev/video2,/dev/video3"})
    assert specs == (graph.ENCODER,) and values == {"encoder": {"camera": "/dev/video2"}} and remaps == {}
    assert launch_nodes.robot_side({}) == ((graph.ENCODER,), {}, {})  # the params file's camera
    defaults = launch_nodes.argument_defaults(params.load_params(REPO / graph.PARAMS_FILE))
    assert launch_nodes.robot_side({"sources": defaults["sources"]}, defaults) == ((graph.ENCODER,), {}, {})
    specs, values, remaps = launch_nodes.robot_side({"image_topic": "/driver/image_raw", "use_capture": "true"})
    assert specs == (graph.ENCODER,) and values == {"encoder": {"camera": ""}}
    assert remaps == {"encoder": {"image": "/driver/image_raw", "camera_info": "/driver/camera_info"}}
    _, _, remaps = launch_nodes.robot_side({"image_topic": "image", "camera_info_topic": "/calib/info"})
    assert remaps == {"encoder": {"image": "image", "camera_info": "/calib/info"}}
    specs, values, _ = launch_nodes.robot_side({"use_capture": "true", "sources": "0"})
    assert specs == graph.RAW_ROBOT_SIDE and values == {"encoder": {"camera": ""}}


def test_executables_exist_for_every_node_of_the_graph():
    setup = (REPO / "anon_compression_nodes" / "setup.py").read_text()
    for spec in graph.ALL_NODES:
        assert f'"{spec.executable} = ' in setup or f'f"{spec.executable} = ' in setup
        assert importlib.util.find_spec(f"anon_compression_nodes.{spec.executable}_node") is not None


def test_launch_arguments_default_to_the_parameter_files_values():
    """One table: an argument that sets a parameter defaults to the file's value (what --show-args
    shows), and the switches have real defaults."""
    table = params.load_params(REPO / graph.PARAMS_FILE)
    defaults = launch_nodes.argument_defaults(table)
    assert set(defaults) == set(launch_nodes.SWITCHES) | set(launch_nodes.OVERRIDES) == set(launch_nodes.SWITCHES) | set(
        launch_nodes.DESCRIPTIONS
    )
    assert {k: defaults[k] for k in ("sources", "rate_hz", "loop", "weights", "max_side", "device")} == {
        "sources": "/dev/video0", "rate_hz": "10.0", "loop": "false", "weights": "default", "max_side": "640", "device": "cpu",
    }  # fmt: skip
    for arg, (names, param, kind) in launch_nodes.OVERRIDES.items():
        for name in names if isinstance(names, tuple) else (names,):  # every node it sets has that value in the file
            assert launch_nodes._convert(defaults[arg], kind) == table[name][param], (arg, name)
    assert all(defaults[k] in ("true", "false") for k in ("use_capture", "run_base_station", "web", "rviz"))


def test_params_file_keys_are_the_graph_nodes():
    params = yaml.safe_load((REPO / graph.PARAMS_FILE).read_text())
    assert set(params) == {spec.params_key for spec in graph.ALL_NODES}  # /**/name: valid under a namespace
    assert params[graph.ENCODER.params_key]["ros__parameters"]["camera"], "the robot default reads the camera in-process"
    assert params[graph.DECODER.params_key]["ros__parameters"]["require_guard"] is True
    assert all(set(v) == {"ros__parameters"} for v in params.values())


def test_rviz_shows_the_graph_topics():
    rviz = yaml.safe_load((REPO / graph.RVIZ_FILE).read_text())
    topics = {d["Topic"]["Value"] for d in rviz["Visualization Manager"]["Displays"]}
    assert topics == {"/" + graph.DECODED, "/" + graph.ANNOTATED}
    assert launch_nodes.rviz_remappings("") == {}
    assert set(launch_nodes.rviz_remappings("/robot1/").items()) == {(t, "/robot1" + t) for t in topics}


def test_installed_share_has_launch_config_and_rviz():
    import sys

    share = Path(sys.prefix) / "share" / graph.PACKAGE
    for rel in [*(f"launch/{n}" for n in LAUNCH), graph.PARAMS_FILE, graph.RVIZ_FILE, "package.xml"]:
        assert (share / rel).is_file(), f"{rel} not installed"


def test_the_package_folder_alone_builds_a_wheel_with_its_share_files(tmp_path):
    """As colcon or pip builds it: only the package folder, no repository around it."""
    import shutil
    import subprocess
    import sys
    import zipfile

    src = tmp_path / graph.PACKAGE
    shutil.copytree(REPO / graph.PACKAGE, src, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", str(src), "-w",
                    str(tmp_path / "dist")], check=True, capture_output=True)  # fmt: skip
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    share = f"{graph.PACKAGE}-0.1.0.data/data/share/{graph.PACKAGE}/"
    names = {n.removeprefix(share) for n in zipfile.ZipFile(wheel).namelist() if n.startswith(share)}
    assert names == {*(f"launch/{n}" for n in LAUNCH), graph.PARAMS_FILE, graph.RVIZ_FILE, "package.xml"}


def test_readme_names_the_graph():
    """The README's architecture sketch shows every topic of graph.py."""
    readme = (REPO / "README.md").read_text()
    for topic in (graph.RAW, graph.COMPRESSED, graph.DECODED, graph.DETECTIONS, graph.ANNOTATED):
        assert topic in readme, f"README does not show topic {topic}"
    for spec in graph.ALL_NODES:
        assert f"**{spec.name}**" in readme, f"README does not describe node {spec.name}"


def test_params_file_applies_under_a_namespace():
    """rcl reads the file as the launch files pass it: a node under /robot1 gets its values."""
    import rclpy
    from rclpy.node import Node

    params = yaml.safe_load((REPO / graph.PARAMS_FILE).read_text())
    context = rclpy.Context()
    rclpy.init(args=["--ros-args", "--params-file", str(REPO / graph.PARAMS_FILE), "-r", "__ns:=/robot1"], context=context)
    try:
        for spec in graph.ALL_NODES:
            node = Node(spec.name, context=context, automatically_declare_parameters_from_overrides=True)
            expected = params[spec.params_key]["ros__parameters"]
            assert node.get_namespace() == "/robot1"
            assert {name: node.get_parameter(name).value for name in expected} == expected
            node.destroy_node()
    finally:
        rclpy.shutdown(context=context)


@pytest.mark.parametrize(
    "base, suffix, expected",
    [("camera_optical_frame", "", "camera_optical_frame"), ("camera_optical_frame", "1", "camera1_optical_frame"),
     ("front", "2", "front2"), ("a_optical_frame_x", "0", "a_optical_frame_x0")],
)  # fmt: skip
def test_several_cameras_get_numbered_optical_frames(base, suffix, expected):
    from anon_compression_nodes.capture_node import numbered_frame

    assert numbered_frame(base, suffix) == expected
