"""The reference factorized-prior autoencoder (Liebender et al., CASE 2024) and its weight files.

Architecture, N channels and M hidden layers (the reference's "N-M" names, e.g. 128-2):
analysis  g_a: conv(3,N)+GDN1, M x [conv(N,N)+GDN1], conv(N,N)      (5x5, stride 2 each)
synthesis g_s: deconv(N,S)+IGDN1, M x [deconv(S,S)+IGDN1], deconv(S,3), sigmoid
entropy model: compressai EntropyBottleneck(N), no hyperprior. Latent at 1/2^(M+2) of the input.

S, the synthesis width, is N in the reference. A wider synthesis (S > N, "N-M-S", e.g. 32-2-64)
spends compute where it is cheap: the robot runs only g_a, a base station runs g_s. The prior stays
factorized on purpose: its CDF tables are fixed numbers in the weight file, so a frame encoded on
one machine decodes bit-exactly on any other, whereas a hyperprior recomputes its tables from
floating-point network outputs, which can differ across CPUs and GPUs and break decoding.

Weight files come in two formats:
- the reference's: torch-saved {"N", "M", "state_dict"} with keys `_encoder.encoder.*`,
  `_decoder.decoder.*`, `_bottleneck.*`, optionally prefixed `autoencoder.` (Lightning);
- ours: the same plus "format", "model_id", "dtype" and "metadata" (how it was trained), keys in
  compressai's naming (g_a, g_s, entropy_bottleneck), fp16 or fp32 storage.
Both load into the same model; the model identifier is a hash of the fp32 weights, including the
quantized CDF tables, so encoder and decoder agree bit-exactly on the entropy model.

Codec v2's gained hyperprior (hyperprior.py) uses the same format with "arch": "hyperprior" and its
sizes; its CDF tables must be stored (they are computed once, at export, never by a loader), and
its integer hyper-synthesis keeps fp32 parameters so its integer weights are exactly the trained ones.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import WeightsError
from ._compressai import GDN1, EntropyBottleneck
from .hyperprior import GainedHyperprior
from .protocol import CodecModel

WEIGHTS_FORMAT = "anon_compression_weights"
WEIGHTS_FORMAT_VERSION = 1
_REFERENCE_PREFIXES = {"_encoder.encoder.": "g_a.", "_decoder.decoder.": "g_s.", "_bottleneck.": "entropy_bottleneck."}
# Buffers whose shapes depend on the trained quantiles; rebuilt by update() when absent.
CDF_BUFFERS = ("_quantized_cdf", "_offset", "_cdf_length")


def conv(in_channels: int, out_channels: int, kernel_size: int = 5, stride: int = 2) -> nn.Conv2d:
    """compressai.models.utils.conv (its module imports every compressai model)."""
    return nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=kernel_size // 2)


def deconv(in_channels: int, out_channels: int, kernel_size: int = 5, stride: int = 2) -> nn.ConvTranspose2d:
    """compressai.models.utils.deconv."""
    return nn.ConvTranspose2d(in_channels, out_channels, kernel_size, stride=stride, output_padding=stride - 1,
                              padding=kernel_size // 2)  # fmt: skip


class AnonAutoencoder(CodecModel, nn.Module):
    """Factorized-prior autoencoder with compressai's model protocol (forward, update, aux_loss,
    compress, decompress: protocol.py); one rate, unit gains."""

    arch = "factorized"
    levels = 1  # one rate: `quality` is accepted and ignored

    def __init__(self, N: int = 64, M: int = 2, S: int | None = None) -> None:
        super().__init__()
        S = N if S is None else S
        if not (1 <= N <= 1024 and 0 <= M <= 6 and 1 <= S <= 1024):
            raise WeightsError(f"unsupported model size N={N}, M={M}, S={S}")
        self.N, self.M, self.S = N, M, S
        analysis: list[nn.Module] = [conv(3, N), GDN1(N)]
        synthesis: list[nn.Module] = [deconv(N, S), GDN1(S, inverse=True)]
        for _ in range(M):
            analysis += [conv(N, N), GDN1(N)]
            synthesis += [deconv(S, S), GDN1(S, inverse=True)]
        analysis.append(conv(N, N))
        synthesis += [deconv(S, 3), nn.Sigmoid()]
        self.g_a = nn.Sequential(*analysis)
        self.g_s = nn.Sequential(*synthesis)
        self.entropy_bottleneck = EntropyBottleneck(N)

    @property
    def name(self) -> str:
        return f"{self.N}-{self.M}" + (f"-{self.S}" if self.S != self.N else "")

    @property
    def stride(self) -> int:
        """Input sides must be multiples of this (the codec pads to it)."""
        return 2 ** (self.M + 2)

    @property
    def sizes(self) -> dict[str, int]:
        return {"N": self.N, "M": self.M, "S": self.S}

    def forward(self, x: torch.Tensor, quality: float | None = None) -> dict[str, Any]:
        """Inside a bf16 autocast region only the transforms run in bf16: the entropy model, its
        likelihoods and the returned x_hat stay fp32 (rates from bf16 likelihoods are too coarse)."""
        y = self.g_a(x)
        with torch.autocast(x.device.type, enabled=False):
            y_hat, likelihoods = self.entropy_bottleneck(y.float())
        return {"x_hat": self.g_s(y_hat).float(), "likelihoods": {"y": likelihoods}}

    def aux_loss(self) -> torch.Tensor:
        return self.entropy_bottleneck.loss()

    def update(self, force: bool = False) -> bool:
        self.forget_coder()
        return self.entropy_bottleneck.update(force=force)


Model = AnonAutoencoder | GainedHyperprior
ARCHS = {"factorized": AnonAutoencoder, "hyperprior": GainedHyperprior}


@dataclass
class LoadedWeights:
    model: Model
    model_id: bytes
    path: str
    stored_dtype: str
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def model_id_hex(self) -> str:
        return self.model_id.hex()


def compute_model_id(model: Model) -> bytes:
    """First 8 bytes of SHA-256 over the sizes (factorized: N, M, S where it differs from N;
    hyperprior: its arch and every size) and every tensor as fp32/int32, in key order."""
    if model.arch == "factorized":
        h = hashlib.sha256(f"N={model.N};M={model.M};".encode() + (f"S={model.S};".encode() if model.S != model.N else b""))
    else:
        h = hashlib.sha256(f"arch={model.arch};".encode() + "".join(f"{k}={v};" for k, v in sorted(model.sizes.items())).encode())
    for key, value in sorted(model.state_dict().items()):
        t = value.detach().cpu().contiguous()
        t = t.to(torch.float32) if t.is_floating_point() else t.to(torch.int32)
        h.update(key.encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(t.numpy().tobytes())
    return h.digest()[:8]


def _canonical_state_dict(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Map reference key names (optionally Lightning-prefixed) to ours."""
    out = {}
    for key, value in state.items():
        if key.startswith("autoencoder."):
            key = key[len("autoencoder.") :]
        for ref, ours in _REFERENCE_PREFIXES.items():
            if key.startswith(ref):
                key = ours + key[len(ref) :]
                break
        out[key] = value
    return out


def load_weights(path: str | Path, device: str = "cpu") -> LoadedWeights:
    """Load a weight file of either format. Raises WeightsError with the reason on any problem."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weight file not found: {path}")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for foreign or damaged files
        raise WeightsError(f"{path} is not a readable torch weight file ({type(exc).__name__}: {exc})") from None
    if not isinstance(blob, dict) or not {"N", "M", "state_dict"} <= blob.keys():
        raise WeightsError(f"{path} is not a codec weight file: expected a dict with N, M and state_dict")
    arch = blob.get("arch", "factorized")
    if arch not in ARCHS:
        raise WeightsError(f"{path}: unknown model architecture {arch!r} (this codec knows {sorted(ARCHS)})")
    try:
        if arch == "factorized":
            model = AnonAutoencoder(int(blob["N"]), int(blob["M"]), int(blob.get("S", blob["N"])))
        else:
            model = GainedHyperprior(**{k: int(v) for k, v in dict(blob["sizes"]).items()})
    except (TypeError, ValueError, KeyError, WeightsError) as exc:
        raise WeightsError(f"{path}: invalid model sizes ({exc})") from None
    state = _canonical_state_dict(dict(blob["state_dict"]))
    tables = [n for n in ("entropy_bottleneck", "gaussian_conditional") if hasattr(model, n)]
    has_cdf = all(f"{n}.{b}" in state and state[f"{n}.{b}"].numel() > 0 for n in tables for b in CDF_BUFFERS)
    if has_cdf:
        for n in tables:
            for b in CDF_BUFFERS:  # size the empty buffers so load_state_dict accepts the tables
                getattr(getattr(model, n), b).resize_(state[f"{n}.{b}"].shape)
    elif arch != "factorized":
        raise WeightsError(f"{path}: a hyperprior weight file must carry its CDF tables (export it with save_weights)")
    else:
        for b in CDF_BUFFERS:
            state.pop(f"entropy_bottleneck.{b}", None)
    state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
    try:
        model.load_state_dict(state, strict=has_cdf)
    except RuntimeError as exc:
        raise WeightsError(f"{path}: weights do not fit a {model.name} (N-M-S) model: {exc}") from None
    if not has_cdf:
        missing = set(model.state_dict()) - set(state) - {f"entropy_bottleneck.{b}" for b in CDF_BUFFERS}
        if missing:
            raise WeightsError(f"{path}: missing weights {sorted(missing)[:5]}")
        model.update(force=True)  # on the CPU in fp32, so every loader derives the same tables
    model.eval().requires_grad_(False)
    model_id = compute_model_id(model)
    if blob.get("format") == WEIGHTS_FORMAT and blob.get("model_id") not in (None, model_id.hex()):
        raise WeightsError(f"{path}: content does not match its model_id {blob['model_id']} (damaged file?)")
    stored = "float16" if any(v.dtype == torch.float16 for v in blob["state_dict"].values()) else "float32"
    return LoadedWeights(model.to(device), model_id, str(path), stored, dict(blob.get("metadata") or {}))


def save_weights(model: Model, path: str | Path, *, half: bool = True, metadata: dict[str, Any] | None = None) -> bytes:
    """Write our format. With half=True the parameters are stored as fp16 (buffers such as GDN's
    tiny pedestal stay fp32, fp16 would flush them to zero; so do the integer hyper-synthesis's
    parameters, whose integer forms must stay the trained ones) and the CDF tables and the model
    identifier are those of the fp16-rounded weights, which every loader will see."""
    model = model.cpu()
    params = {name for name, _ in model.named_parameters() if not name.startswith("h_s.")}
    if half:
        with torch.no_grad():
            for name, p in model.named_parameters():
                if name in params:
                    p.copy_(p.half().float())
    model.update(force=True)
    model_id = compute_model_id(model)
    state = {k: (v.half() if half and k in params else v).clone() for k, v in model.state_dict().items()}
    torch.save(
        {
            "format": WEIGHTS_FORMAT,
            "format_version": WEIGHTS_FORMAT_VERSION,
            "N": model.N,
            "M": model.M,
            **({"S": model.S} if model.S != model.N else {}),
            **({"arch": model.arch, "sizes": model.sizes} if model.arch != "factorized" else {}),
            "model_id": model_id.hex(),
            "dtype": "float16" if half else "float32",
            "metadata": metadata or {},
            "state_dict": state,
        },
        Path(path),
    )
    return model_id
