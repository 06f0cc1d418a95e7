"""`anon-codec` command line: happy paths through the installed console script, and error exits."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

CLI = Path(sys.executable).with_name("anon-codec")  # the venv's console script


def run(*args: str) -> subprocess.CompletedProcess:
    assert CLI.is_file(), "the anon-codec console script is not installed"
    return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, timeout=120)


@pytest.fixture
def png(tmp_path, image) -> Path:
    path = tmp_path / "in.png"
    cv2.imwrite(str(path), image)
    return path


def test_encode_info_decode(tmp_path, png, weights):
    acl = tmp_path / "f.acl"
    assert run("encode", png, acl, "--weights", weights).returncode == 0
    info = run("info", acl)
    assert info.returncode == 0
    header = json.loads(info.stdout)
    assert (header["height"], header["width"], header["channels"]) == (45, 67, 3)
    out = tmp_path / "out.png"
    assert run("decode", acl, out, "--weights", weights).returncode == 0
    assert cv2.imread(str(out)).shape == (45, 67, 3)


def test_roundtrip_folder_and_video(tmp_path, png, weights):
    folder = tmp_path / "imgs"
    folder.mkdir()
    shutil.copy(png, folder / "a.png")
    shutil.copy(png, folder / "b.png")
    res = run("roundtrip", folder, tmp_path / "out", "--weights", weights, "--json")
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout)
    assert summary["frames"] == 2 and summary["bpp"] > 0 and summary["psnr"] > 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png", "b.png"]

    video = tmp_path / "v.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 5, (64, 48))
    for i in range(4):
        writer.write(np.full((48, 64, 3), i * 40, np.uint8))
    writer.release()
    res = run("roundtrip", video, tmp_path / "v_out.avi", "--weights", weights, "--json")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["frames"] == 4
    cap = cv2.VideoCapture(str(tmp_path / "v_out.avi"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 4


@pytest.mark.parametrize(
    "args, message",
    [
        (("decode", "{tmp}/missing.acl", "{tmp}/o.png"), "no such file"),
        (("info", "{tmp}/junk.acl"), "magic"),
        (("encode", "{tmp}/junk.acl", "{tmp}/o.acl"), "unknown kind|not a readable"),
        (("encode", "{tmp}/deep.png", "{tmp}/o.acl"), "8-bit"),
        (("encode", "{tmp}/in.png", "{tmp}/o.acl", "--weights", "nope"), "not a preset"),
    ],
)
def test_user_errors_are_one_line_and_exit_2(tmp_path, png, weights, args, message):
    (tmp_path / "junk.acl").write_bytes(b"JUNKJUNKJUNKJUNKJUNKJUNKJUNKJUNKJUNKJUNK")
    cv2.imwrite(str(tmp_path / "deep.png"), np.zeros((8, 8, 3), np.uint16))
    argv = [a.format(tmp=tmp_path) for a in args]
    if "--weights" not in argv:
        argv += ["--weights", weights]
    res = run(*argv)
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("anon-codec: error:")
    assert re.search(message, lines[0])
