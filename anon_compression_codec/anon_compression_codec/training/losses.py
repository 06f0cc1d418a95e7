"""The Region-of-Interest rate-distortion loss (Liebender et al., CASE 2024).

    L = bg * MSE(x_hat, x) + hbox * R_inv(heads) + vbox * R(bodies) + rate * bpp

R is, per image, the mean over its boxes of the MSE inside each box; R_inv uses 1 - MSE (inputs in
[0, 1]); images without boxes add 0 but count in the batch mean. Unlike the reference, boxes are
covered (floor start, ceil end: geometry.py), clipped to the image, and zero-area boxes are dropped,
so the result is never NaN.

`head="lowpass"` (the default presets' loss) replaces the inverted head term with a bounded one:
see `RoiRateDistortionLoss`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from ..runtime.geometry import cover_tensor


def region_loss(x: Tensor, x_hat: Tensor, boxes: Sequence[Tensor], invert: bool = False) -> Tensor:
    """Reference API: `boxes[i]` is a (K_i, 4) tensor of [x0, y0, x1, y1] for image i."""
    batch, _, height, width = x.shape
    total = x.new_zeros(())
    for i in range(batch):
        terms = []
        for x0, y0, x1, y1 in cover_tensor(torch.as_tensor(boxes[i]).reshape(-1, 4), width, height).tolist():
            if x1 > x0 and y1 > y0:
                mse = torch.mean((x_hat[i, :, y0:y1, x0:x1] - x[i, :, y0:y1, x0:x1]) ** 2)
                terms.append(1 - mse if invert else mse)
        if terms:
            total = total + torch.stack(terms).mean()
    return total / batch


def region_loss_padded(x: Tensor, x_hat: Tensor, boxes: Tensor, valid: Tensor, invert: bool = False) -> Tensor:
    """Vectorised path: boxes (B, K, 4), valid (B, K) bool. Box sums come from an integral image of
    the per-pixel squared error, so the cost does not grow with box count or size."""
    return box_mean_error(((x_hat - x) ** 2).mean(1), boxes, valid, invert)


def box_mean_error(err: Tensor, boxes: Tensor, valid: Tensor, invert: bool = False) -> Tensor:
    """Per image, the mean over its valid boxes of the mean of `err` (B, H, W) inside each box (or
    1 - that with invert); images without boxes add 0; averaged over the batch."""
    batch, height, width = err.shape
    integral = torch.nn.functional.pad(err.cumsum(1).cumsum(2), (1, 0, 1, 0))  # (B, H+1, W+1)
    b = cover_tensor(boxes, width, height).reshape(batch, -1, 4)
    x0, y0, x1, y1 = b.unbind(-1)
    area = ((x1 - x0) * (y1 - y0)).float()
    ok = valid & (x1 > x0) & (y1 > y0)
    flat = integral.reshape(batch, -1)

    def at(yy: Tensor, xx: Tensor) -> Tensor:
        return flat.gather(1, yy * (width + 1) + xx)

    sums = at(y1, x1) - at(y0, x1) - at(y1, x0) + at(y0, x0)
    mse = sums / area.clamp(min=1)
    terms = torch.where(ok, 1 - mse if invert else mse, torch.zeros_like(mse))
    count = ok.sum(1)
    per_image = torch.where(count > 0, terms.sum(1) / count.clamp(min=1), torch.zeros_like(count, dtype=mse.dtype))
    return per_image.sum() / batch


def pad_boxes(boxes: Sequence[Tensor]) -> tuple[Tensor, Tensor]:
    """List of (K_i, 4) -> (B, K, 4) and valid mask (B, K)."""
    k = max([len(b) for b in boxes] + [1])
    padded = torch.zeros(len(boxes), k, 4)
    valid = torch.zeros(len(boxes), k, dtype=torch.bool)
    for i, b in enumerate(boxes):
        if len(b):
            padded[i, : len(b)] = torch.as_tensor(b, dtype=torch.float32).reshape(-1, 4)
            valid[i, : len(b)] = True
    return padded, valid


def lowpass_heads(x: Tensor, heads: Sequence[Tensor], cells: int = 4) -> Tensor:
    """x with each head box replaced by a strongly low-passed copy of itself: area-averaged down to
    `cells` samples across its shorter side, then bilinearly enlarged back. A face at that
    resolution cannot be recognised, and the smooth result costs few bits to code."""
    out = x.clone()
    _, _, height, width = x.shape
    for i, boxes in enumerate(heads):
        for x0, y0, x1, y1 in cover_tensor(torch.as_tensor(boxes).reshape(-1, 4), width, height).tolist():
            h, w = y1 - y0, x1 - x0
            if h < 2 or w < 2:
                continue
            k = max(1, min(h, w) // cells)
            region = x[i : i + 1, :, y0:y1, x0:x1]
            small = torch.nn.functional.adaptive_avg_pool2d(region, (max(1, h // k), max(1, w // k)))
            out[i, :, y0:y1, x0:x1] = torch.nn.functional.interpolate(small, size=(h, w), mode="bilinear", align_corners=False)[0]
    return out


HEAD_TERMS = ("inverted", "lowpass")


class RoiRateDistortionLoss(torch.nn.Module):
    """Total loss with its named terms, as compressai's losses return them.

    head="inverted" is the paper's loss exactly: 1 - MSE inside head boxes rewards maximal error,
    which a model that cannot locate heads reaches cheapest with saturated colour blobs anywhere.
    head="lowpass" is bounded: every term measures the error against a target in which each head is
    replaced by its low-passed copy (`lowpass_heads`), so heads come out smooth, cost few bits, and
    no error is ever rewarded. Body boxes keep their fidelity term in both.
    """

    def __init__(self, bg: float = 1.0, hbox: float = 0.6, vbox: float = 1.0, rate: float = 0.04, head: str = "inverted",
                 head_cells: int = 4) -> None:  # fmt: skip
        super().__init__()
        if head not in HEAD_TERMS:
            raise ValueError(f"head term must be one of {HEAD_TERMS}, not {head!r}")
        self.bg, self.hbox, self.vbox, self.rate, self.head, self.head_cells = bg, hbox, vbox, rate, head, head_cells

    def forward(self, output: dict, x: Tensor, heads: Sequence[Tensor], bodies: Sequence[Tensor],
                rate: float | None = None) -> dict[str, Tensor]:  # fmt: skip
        """`rate` overrides the rate weight (a variable-rate model trains each level with its own)."""
        x_hat = output["x_hat"]
        batch, _, height, width = x.shape
        bpp = sum(-torch.log2(lk).sum() for lk in output["likelihoods"].values()) / (batch * height * width)
        inverted = self.head == "inverted"
        target = x if inverted else lowpass_heads(x, heads, self.head_cells)
        err = ((x_hat - target) ** 2).mean(1)
        mse = err.mean()
        head = box_mean_error(err, *pad_boxes(heads), invert=inverted)
        body = box_mean_error(err, *pad_boxes(bodies))
        loss = self.bg * mse + self.hbox * head + self.vbox * body + (self.rate if rate is None else rate) * bpp
        psnr = -10 * torch.log10(mse.detach().clamp(min=1e-10))
        return {"loss": loss, "mse": mse, "head": head, "body": body, "bpp": bpp, "psnr": psnr}


__all__ = ["HEAD_TERMS", "RoiRateDistortionLoss", "box_mean_error", "lowpass_heads", "pad_boxes", "region_loss",
           "region_loss_padded"]  # fmt: skip
