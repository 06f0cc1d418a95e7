"""The HTTP service (`anon-codec serve`) over real HTTP on a loopback port, and the web node's page in
headless Chromium."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest

from anon_compression_codec import peek_header
from anon_compression_codec.resources import package_file

CLI = Path(sys.executable).with_name("anon-codec")
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_ready(url: str, proc: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the server exited"
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise AssertionError(f"{url} not ready after {timeout} s")


def _jpeg(name: str = "bus.jpg", side: int = 480) -> bytes:
    img = cv2.imread(str(package_file("ultralytics", "assets", name)))
    scale = side / max(img.shape[:2])
    return cv2.imencode(".jpg", cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA))[1].tobytes()


@pytest.fixture(scope="module")
def server(weights, tmp_path_factory):
    port = _free_port()
    log = tmp_path_factory.mktemp("web") / "serve.log"
    cmd = [CLI, "serve", "--port", str(port), "--weights", weights, "--max-body", "600000", "--max-side", "1500",
           "--queue", "1", "--workers", "1", "--threads", "1"]  # fmt: skip
    with open(log, "w") as f:
        proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url + "/health", proc)
        yield url
    finally:
        proc.terminate()
        proc.wait(20)


def test_health_names_the_model_and_guard(server, weights):
    from anon_compression_codec import load_weights

    health = httpx.get(server + "/health").json()
    assert health["status"] == "ok" and health["model_id"] == load_weights(weights).model_id_hex
    assert len(health["guard_settings_id"]) == 8


def test_anonymize_guards_faces_in_both_methods(server):
    for method in ("codec", "blur"):
        res = httpx.post(server + f"/anonymize?method={method}", content=_jpeg("zidane.jpg"),
                         headers={"content-type": "image/jpeg"}, timeout=120)  # fmt: skip
        assert res.status_code == 200, res.text
        assert res.headers["content-type"] == "image/jpeg"
        boxes = json.loads(res.headers["x-guarded-boxes"])
        assert len(boxes) >= 2, boxes  # zidane.jpg: two faces
        out = cv2.imdecode(np.frombuffer(res.content, np.uint8), cv2.IMREAD_COLOR)
        assert out.shape[1] == 480
    res = httpx.post(server + "/anonymize?json=1&format=png", content=_jpeg(), headers={"content-type": "image/jpeg"},
                     timeout=120)  # fmt: skip
    body = res.json()
    assert res.status_code == 200 and body["format"] == "png" and isinstance(body["boxes"], list)


def test_encode_then_decode(server):
    frame = httpx.post(server + "/encode", content=_jpeg(), headers={"content-type": "image/jpeg"}, timeout=120)
    assert frame.status_code == 200 and peek_header(frame.content).guard_applied
    image = httpx.post(server + "/decode", content=frame.content, headers={"content-type": "application/octet-stream"},
                       timeout=120)  # fmt: skip
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert cv2.imdecode(np.frombuffer(image.content, np.uint8), cv2.IMREAD_COLOR).shape[:2] == (480, 360)


@pytest.mark.parametrize(
    "path, body, kind, status, reason",
    [
        ("/anonymize", b"\xff" * 700_000, "image/jpeg", 413, "exceeds"),
        ("/anonymize", b"GIF89a", "image/gif", 415, "content type"),
        ("/anonymize", b"not an image at all", "image/png", 422, "not a decodable"),
        ("/anonymize?method=magic", b"x", "image/png", 400, "method must be"),
        ("/anonymize", b"", "image/png", 400, "empty"),
        ("/decode", b"ANCL" + b"\x00" * 40, "application/octet-stream", 422, "checksum"),
        ("/decode", b"x", "image/png", 415, "content type"),
    ],
)
def test_bad_requests_get_a_4xx_with_one_line(server, path, body, kind, status, reason):
    res = httpx.post(server + path, content=body, headers={"content-type": kind}, timeout=60)
    assert res.status_code == status, res.text
    error = res.json()["error"]
    assert reason in error and "\n" not in error and "Traceback" not in res.text


def test_too_large_an_image_is_refused(server):
    big = cv2.imencode(".png", np.zeros((1600, 40, 3), np.uint8))[1].tobytes()
    res = httpx.post(server + "/anonymize", content=big, headers={"content-type": "image/png"}, timeout=60)
    assert res.status_code == 422 and "side limit" in res.json()["error"]


def test_full_queue_answers_503_instead_of_growing(server):
    body = _jpeg(side=1000)

    def post(_):
        return httpx.post(server + "/anonymize", content=body, headers={"content-type": "image/jpeg"}, timeout=300).status_code

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(post, range(8)))
    assert 503 in codes and 200 in codes, codes
    assert set(codes) <= {200, 503}
    assert httpx.get(server + "/health").json()["in_progress"] == 0


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(_chromium() is None, reason="Debian's chromium is not installed (make test installs it)")
def test_web_node_page_shows_the_decoded_stream(tmp_path):
    """The web node decodes a CompressedLatent topic; headless Chromium loads its page and the
    screenshot shows the decoded frame (a red square on blue, guarded nowhere). A trained preset, so
    the decoded pixels resemble the frame."""
    import rclpy
    import yaml
    from ros_helpers import spin_until, start_all, stop
    from std_msgs.msg import Header

    from anon_compression_codec import Encoder
    from anon_compression_msgs.msg import CompressedLatent
    from anon_compression_nodes import graph
    from anon_compression_nodes.latent_message import to_message

    weights = "default"
    port = _free_port()
    (tmp_path / "o.yaml").write_text(yaml.safe_dump({"web": {"ros__parameters": {"weights": weights, "port": port}}}))
    (proc,) = start_all((graph.WEB,), tmp_path / "o.yaml", tmp_path)
    rclpy.init()
    node = rclpy.create_node("web_probe")
    try:
        frame = np.zeros((240, 320, 3), np.uint8)
        frame[:] = (200, 60, 20)  # BGR: blue
        frame[60:180, 100:220] = (20, 40, 220)  # red square
        msg = to_message(Encoder(weights, guard=False)(frame, channel_order="bgr", boxes=np.zeros((0, 4))), "bgr8", Header())
        pub = node.create_publisher(CompressedLatent, graph.COMPRESSED, 10)
        spin_until(node, lambda: pub.get_subscription_count() > 0, 60, "the web node to subscribe")
        _wait_ready(f"http://127.0.0.1:{port}/health", proc)

        def has_stats() -> bool:
            pub.publish(msg)
            time.sleep(0.2)
            return httpx.get(f"http://127.0.0.1:{port}/stats").json().get("frames", 0) >= 2

        spin_until(node, has_stats, 60, "frames on the page")
        stats = httpx.get(f"http://127.0.0.1:{port}/stats").json()
        assert stats["size"] == "320x240" and stats["bytes_per_frame"] > 0
        shot = tmp_path / "page.png"
        publisher_stop = time.monotonic() + 25
        chrome = subprocess.Popen([_chromium(), "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={shot}",
                                   "--window-size=700,520", "--timeout=8000", f"http://127.0.0.1:{port}/"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        while chrome.poll() is None and time.monotonic() < publisher_stop:
            pub.publish(msg)
            rclpy.spin_once(node, timeout_sec=0.1)
        chrome.wait(30)
        page = cv2.imread(str(shot))
        assert page is not None, "no screenshot"
        red = (page[..., 2] > 150) & (page[..., 1] < 110) & (page[..., 0] < 110)
        blue = (page[..., 0] > 130) & (page[..., 2] < 110)
        assert red.sum() > 2000 and blue.sum() > 5000, (red.sum(), blue.sum())
        shutil.copy(shot, tmp_path.parent / "web_page.png")
    finally:
        node.destroy_node()
        rclpy.shutdown()
        assert stop([proc]) == [0]


UNIT = Path(__file__).resolve().parents[1] / "systemd" / "anon-compression-robot.service"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed here")
def test_systemd_unit_verifies_and_starts_the_robot_launch(tmp_path):
    res = subprocess.run(["systemd-analyze", "verify", str(UNIT)], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and not res.stderr.strip(), res.stderr
    text = UNIT.read_text()
    for line in ("Restart=on-failure", "KillSignal=SIGINT", "WantedBy=multi-user.target", "robot.launch.py"):
        assert line in text
    # The check can fail: a unit with an impossible setting is reported.
    bad = tmp_path / UNIT.name
    bad.write_text(text.replace("Restart=on-failure", "Restart=sometimes"))
    res = subprocess.run(["systemd-analyze", "verify", str(bad)], capture_output=True, text=True, timeout=60)
    assert "restart specifier" in res.stderr


def test_web_node_refuses_unguarded_and_oversized_frames(tmp_path, weights):
    """The web node receives through the decoder's receiver: a frame without the guard and one over
    its pixel limit never reach the page; both are counted on /diagnostics."""
    import rclpy
    import yaml
    from diagnostic_msgs.msg import DiagnosticArray
    from ros_helpers import counter, spin_until, start_all, stop
    from std_msgs.msg import Header

    from anon_compression_codec import Encoder
    from anon_compression_msgs.msg import CompressedLatent
    from anon_compression_nodes import graph
    from anon_compression_nodes.latent_message import to_message

    port = _free_port()
    params = {"weights": weights, "port": port, "max_pixels": 160 * 120}
    (tmp_path / "o.yaml").write_text(yaml.safe_dump({"web": {"ros__parameters": params}}))
    (proc,) = start_all((graph.WEB,), tmp_path / "o.yaml", tmp_path)
    rclpy.init()
    node = rclpy.create_node("web_refusal_probe")
    seen: dict[str, list] = {"diagnostics": []}
    node.create_subscription(DiagnosticArray, graph.DIAGNOSTICS, seen["diagnostics"].append, 50)
    enc = Encoder(weights, guard=False)
    small, large = np.full((120, 160, 3), 90, np.uint8), np.full((240, 320, 3), 90, np.uint8)
    guarded = to_message(enc(small, boxes=np.zeros((0, 4))), "rgb8", Header())
    unguarded = to_message(enc(small), "rgb8", Header())
    oversized = to_message(enc(large, boxes=np.zeros((0, 4))), "rgb8", Header())
    try:
        pub = node.create_publisher(CompressedLatent, graph.COMPRESSED, 10)
        spin_until(node, lambda: pub.get_subscription_count() > 0, 60, "the web node to subscribe")
        _wait_ready(f"http://127.0.0.1:{port}/health", proc)

        def shown() -> int:
            return httpx.get(f"http://127.0.0.1:{port}/stats").json().get("frames", 0)

        for msg, key in ((unguarded, "refused_unguarded"), (oversized, "rejected_frames")):
            def counted(msg=msg, key=key) -> bool:
                pub.publish(msg)
                rclpy.spin_once(node, timeout_sec=0.2)
                return counter(seen, "web", key) >= 1

            spin_until(node, counted, 60, f"the web node to count {key}")
        assert shown() == 0  # neither reached the page

        def has_frame() -> bool:
            pub.publish(guarded)
            rclpy.spin_once(node, timeout_sec=0.2)
            return shown() >= 1

        spin_until(node, has_frame, 60, "the guarded frame on the page")
    finally:
        node.destroy_node()
        rclpy.shutdown()
        assert stop([proc]) == [0]
