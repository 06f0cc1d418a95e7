"""The parameter file is the one table of parameters and defaults: each node, started with no
parameter file at all, declares exactly the file's parameters for it, with the file's values."""

from __future__ import annotations

import socket
import subprocess

import rclpy
from rcl_interfaces.srv import GetParameters, ListParameters
from rclpy.parameter import parameter_value_to_python
from ros_helpers import spin_until, stop

from anon_compression_codec.runtime.codec import DEFAULT_MAX_PIXELS
from anon_compression_codec.runtime.presets import DEFAULT_PRESET
from anon_compression_nodes import graph, local_run, params

# Declared by rclpy or by QoSOverridingOptions, not by this project's table.
BUILT_IN = ("use_sim_time", "start_type_description_service", "qos_overrides.")


def _call(node, service_type, name: str, request):
    client = node.create_client(service_type, name)
    spin_until(node, client.service_is_ready, 60, name)
    future = client.call_async(request)
    spin_until(node, future.done, 30, name)
    return future.result()


def test_nodes_declare_the_files_parameters_with_its_values(tmp_path):
    table = params.load_params(params.params_file())
    with socket.socket() as s:  # the web node binds its port: take a free one
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    procs = []
    for spec in graph.ALL_NODES:
        extra = ["-p", f"port:={port}"] if spec is graph.WEB else []
        cmd = [str(local_run.BIN / spec.executable), "--ros-args", "-r", f"__node:=table_{spec.name}", *extra]
        log = open(tmp_path / f"{spec.name}.log", "w")  # noqa: SIM115 - lives as long as the process
        procs.append(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
    rclpy.init()
    node = rclpy.create_node("table_probe")
    try:
        for spec in graph.ALL_NODES:
            target = f"/table_{spec.name}"
            names = [n for n in _call(node, ListParameters, f"{target}/list_parameters", ListParameters.Request()).result.names
                     if not n.startswith(BUILT_IN)]  # fmt: skip
            assert sorted(names) == sorted(table[spec.name]), spec.name
            values = _call(node, GetParameters, f"{target}/get_parameters", GetParameters.Request(names=names)).values
            declared = dict(zip(names, (parameter_value_to_python(v) for v in values), strict=True))
            expected = {**table[spec.name], **({"port": port} if spec is graph.WEB else {})}
            assert declared == expected, spec.name
    finally:
        node.destroy_node()
        rclpy.shutdown()
        stop(procs)
    # The codec's own defaults agree with the table.
    assert table["decoder"]["max_pixels"] == DEFAULT_MAX_PIXELS
    assert {table[n]["weights"] for n in ("encoder", "decoder", "web")} == {DEFAULT_PRESET}
