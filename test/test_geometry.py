"""Box geometry: the one rounding rule and the helpers built on it."""

from __future__ import annotations

import numpy as np
import torch

from anon_compression_codec.runtime.geometry import (
    analysis_radius,
    cover,
    cover_tensor,
    enlarge,
    face_to_head,
    iou_matrix,
    latent_rects,
    mirror,
    union_boxes,
)  # fmt: skip


def test_cover_floors_the_start_ceils_the_end_and_clips():
    assert cover([[10.7, 3.2, 20.2, 9.0]], 100, 100) == ((10, 3, 21, 9),)
    assert cover([[-5.5, -1, 300, 50.01]], 100, 40) == ((0, 0, 100, 40),)


def test_cover_drops_empty_and_outside_boxes_and_ignores_scores():
    assert cover(np.array([[5, 5, 5, 9, 0.9], [120, 0, 130, 10, 0.8], [1, 1, 2, 2, 0.7]]), 100, 100) == ((1, 1, 2, 2),)
    assert cover(np.zeros((0, 4)), 10, 10) == ()


def test_cover_tensor_uses_the_same_rule():
    boxes = torch.tensor([[[10.7, 3.2, 20.2, 9.0], [-5.5, -1, 300, 50.01]]])
    assert cover_tensor(boxes, 100, 40).tolist() == [[[10, 3, 21, 9], [0, 0, 100, 40]]]


def test_cover_never_shrinks_a_box():
    rng = np.random.default_rng(0)
    for box in rng.uniform(0, 50, (200, 2)):
        b = np.array([box[0], box[1], box[0] + 3.3, box[1] + 7.7])
        (x0, y0, x1, y1), = cover([b], 100, 100)
        assert x0 <= b[0] and y0 <= b[1] and x1 >= b[2] and y1 >= b[3]


def test_iou_float_and_int_areas():
    a = np.array([[0, 0, 10, 10]], np.float32)
    b = np.array([[5, 0, 15, 10]], np.float32)
    assert np.isclose(iou_matrix(a, b)[0, 0], 50 / 150)
    assert np.isclose(iou_matrix(a, b, "int")[0, 0], 66 / 176)
    assert iou_matrix(a, np.zeros((0, 4))).shape == (1, 0)


def test_enlarge_mirror_face_to_head():
    box = np.array([[10, 10, 20, 30, 0.9]], np.float32)
    assert enlarge(box, 0.5, 100, 100).tolist() == [[5, 0, 25, 40, np.float32(0.9)]]
    assert mirror(box, 100)[0, :4].tolist() == [80, 10, 90, 30]
    assert face_to_head(box[:, :4], 100, 100).tolist() == [[7, 0, 23, 36]]


def test_union_merges_overlaps_into_their_envelope():
    a = np.array([[0, 0, 10, 10, 0.9]], np.float32)
    b = np.array([[1, 1, 11, 11, 0.5], [50, 50, 60, 60, 0.6]], np.float32)
    merged = union_boxes([a, b])
    assert merged.tolist() == [[0, 0, 11, 11, np.float32(0.9)], [50, 50, 60, 60, np.float32(0.6)]]


def test_latent_rects_cover_the_receptive_field():
    r = analysis_radius(4)  # 30 px for the 32-2 model (M+2 = 4 layers, stride 16)
    assert r == 30
    # A box at 100..110 touches latents whose field [16 i - 30, 16 i + 30] meets it: i = 5..8.
    assert latent_rects([(100, 100, 110, 110)], 640, 480, 16, 4, (30, 40)) == [(5, 5, 9, 9)]
    # Clipped at the latent grid.
    assert latent_rects([(0, 0, 5, 5)], 640, 480, 16, 4, (30, 40)) == [(0, 0, 3, 3)]



def test_boxes_at_the_right_or_bottom_edge_reach_the_latents_that_see_the_padding():
    """Padding replicates edge pixels into the last latent column/row: a box touching that edge
    must reach it, for every size that is not a multiple of the stride."""
    rng = np.random.default_rng(0)
    for _ in range(300):
        layers = int(rng.integers(1, 5))
        stride = 2**layers
        w, h = int(rng.integers(1, 200)), int(rng.integers(1, 200))
        lh, lw = -(-h // stride), -(-w // stride)
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        (ly0, lx0, ly1, lx1), = latent_rects([(x0, y0, w, h)], w, h, stride, layers, (lh, lw))
        assert (ly1, lx1) == (lh, lw)
        # Each latent whose field [stride*i - r, stride*i + r] meets the box is included, none other.
        r = analysis_radius(layers)
        expect_x0 = min(i for i in range(lw) if stride * i + r >= x0)
        assert lx0 == expect_x0
