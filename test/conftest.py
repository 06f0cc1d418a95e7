"""Shared fixtures: a small trained model (test/data/tiny.pt: its latents carry the image, so tests
about pixels can fail) and random-init weight files (the codec must work with any weights)."""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from anon_compression_codec import AnonAutoencoder, save_weights
from anon_compression_codec.runtime.hyperprior import GainedHyperprior

# ROS tests of one run talk only to each other: a random DDS domain for this session (every node a
# test starts inherits it), unless the caller chose one.
if "ROS_DOMAIN_ID" not in os.environ:
    os.environ["ROS_DOMAIN_ID"] = str(random.SystemRandom().randint(1, 100))


def make_model(N: int = 16, M: int = 1, seed: int = 0) -> AnonAutoencoder:
    torch.manual_seed(seed)
    return AnonAutoencoder(N, M)


TINY = Path(__file__).with_name("data") / "tiny.pt"


@pytest.fixture(scope="session")
def weights() -> str:
    """16-1, trained 600 steps on photo crops (test/data/tiny.yaml); 78 KB."""
    return str(TINY)


@pytest.fixture(scope="session")
def random_weights(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("weights") / "random.pt"
    save_weights(make_model(), path, metadata={"purpose": "tests"})
    return str(path)


@pytest.fixture(scope="session")
def content_weights(tmp_path_factory) -> str:
    """Random weights whose latents vary by several quantization steps (a fresh random model's
    latents all round to the same symbol, so its bitstream would carry no image content)."""
    model = make_model()
    with torch.no_grad():
        model.g_a[-1].weight.mul_(200)
    path = tmp_path_factory.mktemp("weights") / "content.pt"
    save_weights(model, path)
    return str(path)


@pytest.fixture(scope="session")
def other_weights(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("weights") / "other.pt"
    save_weights(make_model(seed=1), path)
    return str(path)


def make_hyper(seed: int = 0) -> GainedHyperprior:
    """A small random codec v2 model whose latents vary (a fresh one rounds nearly all to 0)."""
    torch.manual_seed(seed)
    model = GainedHyperprior(N=8, L=12, S=8, H=8, Z=4, levels=3, M=1)
    with torch.no_grad():
        model.g_a[-1].weight.mul_(300)
        model.h_a[-1].weight.mul_(30)
        for layer in model.h_s:
            layer.weight.mul_(4)
    return model


@pytest.fixture(scope="session")
def hyper_weights(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("hyper") / "hyper.pt"
    save_weights(make_hyper(), path)
    return str(path)


@pytest.fixture
def image() -> np.ndarray:
    """A smooth synthetic RGB image with an odd size (not a multiple of the model stride)."""
    h, w = 45, 67
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.stack([xx * 255 / w, yy * 255 / h, (xx + yy) * 127 / (h + w)], axis=2)
    return img.astype(np.uint8)
