"""region_loss and the ROI rate-distortion loss on hand-computed cases."""

from __future__ import annotations

import pytest
import torch

from anon_compression_codec.training.losses import RoiRateDistortionLoss, pad_boxes, region_loss, region_loss_padded


@pytest.fixture
def pair():
    x = torch.zeros(2, 3, 8, 8)
    x_hat = torch.zeros(2, 3, 8, 8)
    x_hat[0, :, 0:4, 0:4] = 0.5  # error 0.25 inside the top-left quadrant of image 0
    return x, x_hat


def both(x, x_hat, boxes, invert=False):
    """Both implementations, which must agree."""
    a = region_loss(x, x_hat, boxes, invert)
    b = region_loss_padded(x, x_hat, *pad_boxes(boxes), invert=invert)
    torch.testing.assert_close(a, b)
    return float(a)


def test_inside_and_outside(pair):
    x, x_hat = pair
    inside = [torch.tensor([[0, 0, 4, 4]]), torch.zeros(0, 4)]
    assert both(x, x_hat, inside) == pytest.approx(0.25 / 2)  # image 1 has no boxes but counts
    outside = [torch.tensor([[4, 4, 8, 8]]), torch.zeros(0, 4)]
    assert both(x, x_hat, outside) == 0.0
    half = [torch.tensor([[0, 0, 8, 4]]), torch.zeros(0, 4)]  # 16 of 32 pixels have error 0.25
    assert both(x, x_hat, half) == pytest.approx(0.125 / 2)


def test_mean_over_boxes_and_inversion(pair):
    x, x_hat = pair
    boxes = [torch.tensor([[0, 0, 4, 4], [4, 4, 8, 8]]), torch.tensor([[0, 0, 8, 8]])]
    assert both(x, x_hat, boxes) == pytest.approx(((0.25 + 0) / 2 + 0) / 2)
    assert both(x, x_hat, boxes, invert=True) == pytest.approx((((1 - 0.25) + 1) / 2 + 1) / 2)


def test_degenerate_empty_and_outside_boxes_give_no_nan(pair):
    x, x_hat = pair
    boxes = [torch.tensor([[2, 2, 2, 6], [9, 9, 12, 12], [-5, -5, -1, -1]]), torch.zeros(0, 4)]
    assert both(x, x_hat, boxes) == 0.0
    partly_outside = [torch.tensor([[-4, -4, 4, 4]]), torch.zeros(0, 4)]  # clipped to [0,0,4,4]
    assert both(x, x_hat, partly_outside) == pytest.approx(0.25 / 2)
    fractional = [torch.tensor([[0.4, 0.4, 3.6, 3.6]]), torch.zeros(0, 4)]  # covers pixels 0..3
    assert both(x, x_hat, fractional) == pytest.approx(0.25 / 2)


def test_total_loss_terms():
    x = torch.rand(1, 3, 8, 8)
    out = {"x_hat": x.clone(), "likelihoods": {"y": torch.full((1, 4, 2, 2), 0.5)}}
    terms = RoiRateDistortionLoss(bg=1, hbox=0.6, vbox=1, rate=0.04)(out, x, [torch.tensor([[0, 0, 4, 4]])], [torch.zeros(0, 4)])
    assert terms["mse"] == 0 and terms["body"] == 0
    assert terms["head"] == pytest.approx(1.0)  # perfect reconstruction is the worst case for heads
    assert terms["bpp"] == pytest.approx(16 / 64)  # 16 symbols of 1 bit over 64 pixels
    assert terms["loss"] == pytest.approx(0.6 * 1.0 + 0.04 * 0.25)


def test_gradients_flow_through_the_padded_path():
    x = torch.rand(1, 3, 8, 8)
    x_hat = torch.rand(1, 3, 8, 8, requires_grad=True)
    region_loss_padded(x, x_hat, *pad_boxes([torch.tensor([[1, 1, 5, 5]])]), invert=True).backward()
    assert x_hat.grad[0, :, 1:5, 1:5].abs().sum() > 0
    assert x_hat.grad[0, :, 6:, 6:].abs().sum() == 0


def test_lowpass_heads_changes_only_the_heads_and_flattens_them():
    from anon_compression_codec.training.losses import lowpass_heads

    torch.manual_seed(0)
    x = torch.rand(2, 3, 40, 40)
    heads = [torch.tensor([[4.5, 6.0, 28.2, 30.0]]), torch.zeros(0, 4)]
    out = lowpass_heads(x, heads, cells=4)
    inside = torch.zeros(40, 40, dtype=torch.bool)
    inside[6:30, 4:29] = True  # covered: floor 4.5 -> 4, ceil 28.2 -> 29
    assert torch.equal(out[0][:, ~inside], x[0][:, ~inside]) and torch.equal(out[1], x[1])
    # Noise inside the head is gone: neighbouring pixels differ far less than in the input.
    def roughness(t):
        return (t[:, 6:30, 5:29] - t[:, 6:30, 4:28]).abs().mean()

    assert roughness(out[0]) < 0.2 * roughness(x[0])
    assert torch.allclose(out[0][:, 6:30, 4:29].mean(), x[0][:, 6:30, 4:29].mean(), atol=0.02)


def test_lowpass_head_term_is_bounded_and_rewards_no_error():
    torch.manual_seed(0)
    x = torch.rand(1, 3, 32, 32)
    heads, bodies = [torch.tensor([[8.0, 8.0, 24.0, 24.0]])], [torch.zeros(0, 4)]
    lk = {"y": torch.full((1, 4, 2, 2), 0.5)}
    loss = RoiRateDistortionLoss(head="lowpass", rate=0.0)
    from anon_compression_codec.training.losses import lowpass_heads

    perfect = loss({"x_hat": lowpass_heads(x, heads), "likelihoods": lk}, x, heads, bodies)
    assert float(perfect["loss"]) == pytest.approx(0.0, abs=1e-7)
    # Reproducing the face exactly costs; so does painting it over with saturated colour.
    original = loss({"x_hat": x.clone(), "likelihoods": lk}, x, heads, bodies)
    blob = x.clone()
    blob[:, :, 8:24, 8:24] = torch.tensor([1.0, 0.0, 1.0])[:, None, None]
    painted = loss({"x_hat": blob, "likelihoods": lk}, x, heads, bodies)
    assert 0 < float(original["head"]) < float(painted["head"])
    # The paper's inverted term rewards exactly that blob.
    inverted = RoiRateDistortionLoss(head="inverted", rate=0.0)
    assert float(inverted({"x_hat": blob, "likelihoods": lk}, x, heads, bodies)["head"]) < float(
        inverted({"x_hat": x.clone(), "likelihoods": lk}, x, heads, bodies)["head"])
    with pytest.raises(ValueError, match="head term"):
        RoiRateDistortionLoss(head="maximal")
