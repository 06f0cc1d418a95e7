"""The detector-feature term (task-oriented coding): the decoded image should give the robot's person
detector the features that the original gives it.

    task = mean over layers l of  |f_l(x_hat) - f_l(x)|^2 / mean(f_l(x)^2)

f_l are outputs of the person detector's backbone (the YOLOv8 that `privacy.detectors.yolo_persons`
runs), frozen in eval mode; each layer's error is relative to its own energy, so layers of different
scale weigh alike and the weight in the config does not depend on the detector. Why: plain MSE
training raised PSNR while YOLO found fewer persons at equal bits (issue #26, steps 50,000 to
76,000), and a pixel-weighted body term did not change that (docs/bench/2026-12-07-s7/ab_body_term.md).
Measured since (docs/bench/2026-12-07-s8/ab_task_term.md): no gain in persons at equal bits at weight
0.002, and 0.1-0.3 dB lost for two persons within the detectors' noise at 0.02; kept as a training
option (off by default) for those A/B recipes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor, nn

from ..errors import WeightsError


class DetectorFeatures(nn.Module):
    """The first layers of an ultralytics detection model's backbone, run in sequence."""

    def __init__(self, weights: str | Path, layers: Sequence[int] = (2, 4, 6)) -> None:
        super().__init__()
        from ultralytics import YOLO

        if not layers or min(layers) < 0:
            raise ValueError(f"task_layers must be backbone layer indices >= 0, not {list(layers)}")
        try:
            net = YOLO(str(weights), task="detect").model
        except Exception as exc:  # noqa: BLE001 - ultralytics raises many kinds for a bad file
            raise WeightsError(f"{weights}: cannot load the detector for the task term ({exc})") from None
        blocks = list(net.model[: max(layers) + 1])
        # Only a plain chain (each block reading the one before) can be run without the model's routing.
        if len(blocks) <= max(layers) or any(getattr(b, "f", -1) != -1 for b in blocks):
            raise WeightsError(f"{weights}: layers {list(layers)} are not a sequential backbone prefix")
        self.blocks = nn.ModuleList(blocks).float().eval()
        self.taps = sorted(set(layers))
        for p in self.parameters():
            p.requires_grad_(False)

    def train(self, mode: bool = True) -> DetectorFeatures:
        return super().train(False)  # frozen: batch norm keeps the detector's statistics

    def features(self, x: Tensor) -> list[Tensor]:
        out = []
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in self.taps:
                out.append(x)
        return out

    def forward(self, x_hat: Tensor, x: Tensor) -> Tensor:
        """The task term for RGB images in [0, 1] (the detector's own input convention)."""
        with torch.no_grad():
            targets = self.features(x.float())
        decoded = self.features(x_hat.float())
        terms = [((d - t) ** 2).mean() / (t**2).mean().clamp(min=1e-6) for d, t in zip(decoded, targets, strict=True)]
        return torch.stack(terms).mean()
