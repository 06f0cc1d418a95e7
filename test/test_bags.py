"""`anon-codec bag`: anonymize recorded camera bags and read compressed bags back, without ROS."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from rosbags.rosbag2 import Reader, StoragePlugin, Writer

from anon_compression_codec import Decoder, peek_header
from anon_compression_codec.bags.anonymize import anonymize
from anon_compression_codec.bags.decode import decode, info
from anon_compression_codec.bags.messages import IMAGE, LATENT, typestore
from anon_compression_codec.errors import CodecError, InputError
from anon_compression_codec.resources import package_file

CLI = Path(sys.executable).with_name("anon-codec")
STRING = "std_msgs/msg/String"
W, H = 320, 240


def _frames() -> list[np.ndarray]:
    """BGR frames with real faces (zidane.jpg, two people) at a size the guard detects."""
    img = cv2.imread(str(package_file("ultralytics", "assets", "zidane.jpg")))
    base = cv2.resize(img, (W, H), interpolation=cv2.INTER_AREA)
    return [np.roll(base, 3 * i, axis=1) for i in range(3)]


def _write_bag(path: Path, storage: StoragePlugin) -> dict:
    store = typestore()
    Image, CImage = store.types[IMAGE], store.types["sensor_msgs/msg/CompressedImage"]
    Header, Time, String = store.types["std_msgs/msg/Header"], store.types["builtin_interfaces/msg/Time"], store.types[STRING]
    frames = _frames()
    sent: dict = {"strings": []}
    with Writer(path, version=9, storage_plugin=storage) as writer:
        conns = {name: writer.add_connection(topic, kind, typestore=store) for name, topic, kind in [
            ("rgb", "/cam_rgb/image_raw", IMAGE), ("bgr", "/cam_bgr/image_raw", IMAGE), ("mono", "/cam_mono/image_raw", IMAGE),
            ("jpeg", "/cam_jpeg/image_raw/compressed", "sensor_msgs/msg/CompressedImage"), ("text", "/notes", STRING),
            ("depth", "/depth/image_raw", IMAGE)]}  # fmt: skip
        for i, bgr in enumerate(frames):
            header = Header(stamp=Time(sec=100 + i, nanosec=5), frame_id="cam")
            t = (100 + i) * 10**9 + 5
            gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
            for name, enc, arr in (("rgb", "rgb8", bgr[..., ::-1]), ("bgr", "bgr8", bgr), ("mono", "mono8", gray)):
                arr = np.ascontiguousarray(arr)
                msg = Image(header=header, height=H, width=W, encoding=enc, is_bigendian=0, step=arr.strides[0],
                            data=arr.reshape(-1))  # fmt: skip
                writer.write(conns[name], t, store.serialize_cdr(msg, IMAGE))
            jpeg = cv2.imencode(".jpg", bgr)[1].reshape(-1)
            cimage = CImage(header=header, format="jpeg", data=jpeg)
            writer.write(conns["jpeg"], t, store.serialize_cdr(cimage, "sensor_msgs/msg/CompressedImage"))
            depth = Image(header=header, height=2, width=2, encoding="16UC1", is_bigendian=0, step=4, data=np.zeros(8, np.uint8))
            writer.write(conns["depth"], t, store.serialize_cdr(depth, IMAGE))
            raw = store.serialize_cdr(String(data=f"note {i}"), STRING)
            writer.write(conns["text"], t, raw)
            sent["strings"].append(raw)
    return sent


def _read(path: Path) -> dict[str, list[tuple[str, int, bytes]]]:
    out: dict[str, list] = {}
    with Reader(path) as reader:
        for conn, t, raw in reader.messages():
            out.setdefault(conn.topic, []).append((conn.msgtype, t, raw))
    return out


@pytest.fixture(scope="module", params=[StoragePlugin.MCAP, StoragePlugin.SQLITE3], ids=["mcap", "sqlite3"])
def anonymized(request, tmp_path_factory, weights):
    tmp = tmp_path_factory.mktemp("bags")
    sent = _write_bag(tmp / "in", request.param)
    summary = anonymize(tmp / "in", tmp / "out", weights=weights, progress=False)
    return tmp, sent, summary


def test_no_raw_image_topic_survives(anonymized):
    tmp, _, summary = anonymized
    topics = _read(tmp / "out")
    kinds = {topic: {m[0] for m in msgs} for topic, msgs in topics.items()}
    assert not any(k & {IMAGE, "sensor_msgs/msg/CompressedImage"} for k in kinds.values()), kinds
    for cam in ("/cam_rgb/image_raw", "/cam_bgr/image_raw", "/cam_mono/image_raw", "/cam_jpeg/image_raw/compressed"):
        assert kinds[cam + "/anon"] == {LATENT} and len(topics[cam + "/anon"]) == 3
    assert summary.frames == 12 and summary.dropped == 3  # the three 16UC1 depth frames: counted, never copied
    assert "/depth/image_raw/anon" not in topics or not topics["/depth/image_raw/anon"]


def test_other_topics_are_byte_identical(anonymized):
    tmp, sent, _ = anonymized
    assert [raw for _, _, raw in _read(tmp / "out")["/notes"]] == sent["strings"]


def test_latent_frames_decode_keep_stamps_and_guard_the_faces(anonymized, weights):
    tmp, _, summary = anonymized
    store = typestore()
    dec = Decoder(weights)
    for msgtype, t, raw in _read(tmp / "out")["/cam_bgr/image_raw/anon"]:
        msg = store.deserialize_cdr(raw, msgtype)
        header = peek_header(bytes(msg.data))
        assert header.guard_applied and len(header.guard_boxes) >= 1  # zidane's faces
        assert msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec == t
        assert dec(bytes(msg.data)).shape == (H, W, 3)
    assert summary.guarded_regions >= 8


def test_decode_brings_back_images_with_the_original_stamps(anonymized, weights):
    tmp, _, _ = anonymized
    out = tmp / "decoded"
    counts = decode(tmp / "out", out, weights=weights, progress=False)
    assert counts["/cam_mono/image_raw/anon"] == {"frames": 3, "refused": 0}
    topics = _read(out)
    store = typestore()
    mono = [store.deserialize_cdr(raw, IMAGE) for _, _, raw in topics["/cam_mono/image_raw/anon/decoded"]]
    assert [m.header.stamp.sec for m in mono] == [100, 101, 102] and all(m.encoding == "mono8" for m in mono)
    rgb = store.deserialize_cdr(topics["/cam_rgb/image_raw/anon/decoded"][0][2], IMAGE)
    assert (rgb.height, rgb.width, rgb.encoding) == (H, W, "rgb8")
    assert "/notes" in topics
    decode(tmp / "out", tmp / "png", fmt="png", weights=weights, progress=False)
    assert len(list((tmp / "png" / "cam_jpeg_image_raw_compressed_anon").glob("*.png"))) == 3


def test_info_reports_topics_rates_and_models(anonymized, weights):
    tmp, _, _ = anonymized
    report = info(tmp / "out")
    entry = report["topics"]["/cam_rgb/image_raw/anon"]
    assert entry["messages"] == 3 and entry["guarded_frames"] == 3 and len(entry["models"]) == 1
    assert entry["rate_hz"] == pytest.approx(1.5, rel=0.01)  # 3 messages over 2 s


def test_only_named_topics_are_anonymized_and_the_rest_left_out(tmp_path, weights):
    _write_bag(tmp_path / "in", StoragePlugin.MCAP)
    summary = anonymize(tmp_path / "in", tmp_path / "out", topics=["/cam_bgr/image_raw"], weights=weights, progress=False)
    topics = _read(tmp_path / "out")
    assert set(topics) == {"/cam_bgr/image_raw/anon", "/notes"}
    assert summary.topics["/cam_rgb/image_raw"] == ""
    with pytest.raises(CodecError, match="no image topic"):
        anonymize(tmp_path / "in", tmp_path / "out2", topics=["/nope"], weights=weights, progress=False)
    assert not (tmp_path / "out2").exists()


@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_text("not a bag"), "not a rosbag2 bag"),
    (lambda p: None, "no such file or folder"),
    (lambda p: (p.mkdir(), (p / "metadata.yaml").write_text("rosbag2_bagfile_information: {}")), "cannot read"),
])  # fmt: skip
def test_bad_inputs_give_one_line_errors(tmp_path, make, message, weights):
    bad = tmp_path / "bad"
    make(bad)
    res = subprocess.run([CLI, "bag", "anonymize", str(bad), str(tmp_path / "out"), "--weights", weights],
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert res.returncode == 2 and message in res.stderr and "Traceback" not in res.stderr, res.stderr
    assert res.stderr.count(str(bad)) == 1  # the path once, not repeated by the CLI
    assert not (tmp_path / "out").exists()


def test_unknown_storage_id_is_a_clear_error(tmp_path, weights):
    _write_bag(tmp_path / "in", StoragePlugin.MCAP)
    meta = tmp_path / "in" / "metadata.yaml"
    meta.write_text(meta.read_text().replace("storage_identifier: mcap", "storage_identifier: zstd_custom"))
    res = subprocess.run([CLI, "bag", "info", str(tmp_path / "in")], capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and "zstd_custom" in res.stderr and "Traceback" not in res.stderr


def test_truncated_bag_leaves_no_output_that_looks_complete(tmp_path, weights):
    _write_bag(tmp_path / "in", StoragePlugin.MCAP)
    mcap = next((tmp_path / "in").glob("*.mcap"))
    mcap.write_bytes(mcap.read_bytes()[: mcap.stat().st_size // 2])
    with pytest.raises(InputError, match="damaged|cannot read"):
        anonymize(tmp_path / "in", tmp_path / "out", weights=weights, progress=False)
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out.partial*"))


def test_cli_many_bags_with_jobs_and_info(tmp_path, weights):
    for name in ("a", "b"):
        _write_bag(tmp_path / "bags" / name, StoragePlugin.SQLITE3)
    cmd = [CLI, "bag", "anonymize", str(tmp_path / "bags"), str(tmp_path / "out"), "--weights", weights, "--jobs", "2",
           "--topics", "/cam_bgr/image_raw"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    lines = [json.loads(x) for x in res.stdout.splitlines()]
    assert lines[-1]["bags"] == 2 and lines[-1]["frames"] == 6
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a_anon", "b_anon"]
    res = subprocess.run([CLI, "bag", "info", str(tmp_path / "out" / "a_anon")], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and '"/cam_bgr/image_raw/anon"' in res.stdout


def test_outputs_read_with_foxglove_mcap_name_their_final_file(anonymized, weights):
    """Read independently of rosbags (Foxglove's mcap + mcap-ros2-support): every message of an
    anonymized MCAP decodes from its embedded schemas, and the rosbag2 metadata record inside the
    file names the final file, as metadata.yaml does (not the temporary one)."""
    from mcap.reader import make_reader
    from mcap_ros2.decoder import DecoderFactory

    tmp, _, _ = anonymized
    files = list((tmp / "out").glob("*.mcap"))
    if not files:
        pytest.skip("the sqlite3 variant of the fixture writes no MCAP file")
    (mcap_file,) = files
    assert mcap_file.name == "out.mcap"
    with open(mcap_file, "rb") as f:
        reader = make_reader(f, decoder_factories=[DecoderFactory()])
        decoded = [(channel.topic, msg) for _, channel, _, msg in reader.iter_decoded_messages()]
        f.seek(0)
        records = [m.metadata for m in make_reader(f).iter_metadata()]
    assert len(decoded) == 3 * 5 + 3 - 3  # 4 latent topics x 3 frames + 3 notes (the depth frames dropped)
    assert {t for t, _ in decoded} >= {"/cam_bgr/image_raw/anon", "/notes"}
    text = " ".join(str(r) for r in records)
    assert "out.mcap" in text and "partial" not in text


def test_decode_to_video_uses_the_stamps_rate_h264_and_refuses_an_existing_output(anonymized, weights):
    tmp, _, _ = anonymized
    out = tmp / "videos"
    shutil.rmtree(out, ignore_errors=True)
    decode(tmp / "out", out, fmt="mp4", weights=weights, progress=False)
    video = out / "cam_bgr_image_raw_anon.mp4"
    cap = cv2.VideoCapture(str(video))
    fourcc = int(cap.get(cv2.CAP_PROP_FOURCC)).to_bytes(4, "little").decode()
    assert cap.get(cv2.CAP_PROP_FPS) == pytest.approx(1.0)  # frames stamped 1 s apart, not a fixed 10 fps
    assert fourcc in ("avc1", "h264") and int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 3
    cap.release()
    before = video.read_bytes()
    for fmt in ("mp4", "png", "bag"):
        with pytest.raises(InputError, match="exists"):
            decode(tmp / "out", out, fmt=fmt, weights=weights, progress=False)
    assert video.read_bytes() == before and not list(tmp.glob(".videos.partial*"))
