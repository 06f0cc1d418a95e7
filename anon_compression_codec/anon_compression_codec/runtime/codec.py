"""Encoder and Decoder: image in, self-contained bytes out, and back.

Supported images: uint8 HxWx3 (RGB, or BGR with channel_order="bgr"), uint8 HxW or HxWx1
(grayscale, coded as colour and returned as grayscale), sides 1..MAX_SIDE. Batches: NCHW float
tensors in [0, 1] -> list of bytes. Anything else raises InputError with the reason.
Sizes are padded (edge replication) to the model's stride and cropped back after decoding.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import InputError, LimitError, ModelMismatchError
from ..privacy import guard as privacy_guard
from ..privacy.anonymize import STYLES, render
from ..privacy.fill import fill
from . import bitstream, presets, speedups
from .geometry import analysis_radius, cover, inner_latent_rects, latent_rects
from .model import LoadedWeights, load_weights
from .precision import PRECISIONS

ChannelOrder = str  # "rgb" or "bgr"



def _device(name: str) -> torch.device:
    if name == "cuda" and not torch.cuda.is_available():
        raise InputError("device 'cuda' requested but CUDA is not available")
    if name not in ("cpu", "cuda"):
        raise InputError(f"device must be 'cpu' or 'cuda', found {name!r}")
    return torch.device(name)


class _CodecBase:
    def __init__(
        self, weights: str | Path | None = None, *, device: str = "cpu", threads: int | None = None, channels_last: bool = True,
        precision: str = "fp32",
    ) -> None:
        speedups.keep_freed_memory()
        if threads is not None:
            if threads < 1:
                raise InputError(f"threads must be >= 1, found {threads}")
            torch.set_num_threads(threads)
        self.device = _device(device)
        if precision not in PRECISIONS:
            raise InputError(f"precision must be one of {PRECISIONS}, found {precision!r}")
        # bf16: the transforms run under autocast (2.4x faster synthesis, 4x faster analysis on an
        # AVX512-BF16 CPU, -0.02 dB): the entropy tables stay fp32, so any decoder reads the frames.
        self.bf16 = precision == "bf16" or (precision == "auto" and (self.device.type == "cuda" or speedups.native_bf16()))
        self.weights: LoadedWeights = load_weights(presets.resolve(weights))
        # channels_last: oneDNN's fast layout for these convolutions (measured 1.3-2x on 2 CPU cores).
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.model = self.weights.model.to(self.device, memory_format=self.memory_format)
        self.tables = self.model.entropy_coder()
        self.variable_rate = self.model.arch == "hyperprior"
        self.layers = self.model.analysis_layers  # of the analysis: its receptive field (geometry.py)

    def _autocast(self):
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16)

    @property
    def model_id(self) -> bytes:
        return self.weights.model_id

    @property
    def stride(self) -> int:
        return self.model.stride


class Encoder(_CodecBase):
    """`Encoder(weights)(image) -> bytes`; weights is a preset name or a weight file path.

    guard: True (default: the detection stage's default settings), False, or a StageConfig. With
    the guard on, detected faces never enter the bitstream (see privacy/guard.py); `last_boxes` holds the
    regions suppressed in the last frame.

    quality: 0..100 for a variable-rate (hyperprior) model, carried in each frame in 1/100 steps
    (`set_quality` changes it between frames); None = `named_quality`, the preset's named quality
    (presets.py) or presets.DEFAULT_QUALITY for a weight file; one-rate models accept it and ignore it.
    """

    def __init__(self, weights: str | Path | None = None, *, guard: bool | object = True, quality: float | None = None,
                 **kwargs) -> None:  # fmt: skip
        super().__init__(weights, **kwargs)
        self.stage = None
        self._pool: ThreadPoolExecutor | None = None
        self.set_guard(guard)
        self.named_quality = presets.quality(weights)
        self.set_quality(quality)
        self.last_boxes: tuple[tuple[int, int, int, int], ...] = ()
        self.last_header: bitstream.Header | None = None

    def set_quality(self, quality: float | None) -> None:
        """0..100 or None (`named_quality`; anything else: InputError); rounded to the 1/100 that frames carry."""
        quality = self.named_quality if quality is None else quality
        if isinstance(quality, bool) or not isinstance(quality, int | float) or not 0 <= quality <= 100:
            raise InputError(f"quality must be a number in 0..100, found {quality!r}")
        self.quality_hundredths = round(quality * 100)

    @property
    def quality(self) -> float:
        return self.quality_hundredths / 100

    def set_guard(self, guard: bool | object) -> None:
        """Switch the privacy guard: exactly False, True (default settings) or a StageConfig;
        anything else is refused (InputError), never silently replaced by defaults."""
        from ..privacy.stage import STILL, DetectionStage, StageConfig

        if guard is False:
            self.stage = None
        elif guard is True or isinstance(guard, StageConfig):
            self.stage = DetectionStage(guard if isinstance(guard, StageConfig) else STILL)
        else:
            raise InputError(f"guard must be True, False or a StageConfig, found {type(guard).__name__}: {guard!r}")

    def __call__(self, image, channel_order: ChannelOrder = "rgb", boxes=None):
        if isinstance(image, torch.Tensor):
            return self.encode_batch(image)
        return self.encode(image, channel_order, boxes)

    def encode(self, image: np.ndarray, channel_order: ChannelOrder = "rgb", boxes=None) -> bytes:
        """boxes: regions to guard, (N, >=4) pixel corners; None = what the detection stage finds
        (nothing when the guard is off). Explicit boxes are guarded even with the guard off."""
        rgb, channels = _as_rgb(image, channel_order)
        detection = None
        if boxes is None and self.stage is not None:
            # Detection (ONNX Runtime or OpenCV) and the analysis transform (torch) release the GIL: run them at
            # once. The latents are guarded only after the boxes are known, so nothing leaves unguarded.
            detection = self._detector().submit(self.stage, np.ascontiguousarray(rgb[..., ::-1]))
        rgb = rgb if rgb.flags.writeable else rgb.copy()  # torch warns on read-only buffers (e.g. message data)
        x = torch.from_numpy(rgb).to(self.device).permute(2, 0, 1)[None].float().div_(255.0)
        try:
            analysed = self._analyse(x)
        finally:
            boxes = detection.result() if detection is not None else boxes  # a failed detection raises: no frame
        return self._pack(analysed, channels, boxes, rgb)

    def encode_to_bpp(self, image: np.ndarray, target_bpp: float, channel_order: ChannelOrder = "rgb") -> bytes:
        """The highest-quality frame (to 0.4 quality points) that spends at most `target_bpp` bits per
        pixel, or the lowest quality's frame if none does; faces are detected once. One-rate models
        encode as `encode`. The encoder's quality is left as it was."""
        if not target_bpp > 0:
            raise InputError(f"target_bpp must be positive, found {target_bpp!r}")
        rgb, _ = _as_rgb(image, channel_order)
        boxes = None if self.stage is None else self.stage(np.ascontiguousarray(rgb[..., ::-1]))
        if not self.variable_rate:
            return self.encode(rgb, boxes=boxes)
        saved, best, low, high = self.quality, None, 0.0, 100.0
        try:
            for quality in [100.0] + [None] * BPP_SEARCH_STEPS:
                quality = (low + high) / 2 if quality is None else quality
                self.set_quality(quality)
                data = self.encode(rgb, boxes=boxes)
                if len(data) * 8 <= target_bpp * rgb.shape[0] * rgb.shape[1]:
                    best, low = data, quality
                    if quality == 100.0:
                        break
                else:
                    high = quality
            if best is None:
                self.set_quality(0.0)
                best = self.encode(rgb, boxes=boxes)
        finally:
            self.set_quality(saved)
        return best

    @torch.inference_mode()
    def _analyse_filled(self, idx: np.ndarray, shape: tuple[int, ...], rgb: np.ndarray, boxes) -> None:
        """Replace (in place) the symbols of every latent whose receptive field touches a box by
        those of the image with the boxes filled from outside. Analysis is local: a window holding
        those latents plus the reach of their receptive field, aligned to the stride, gives them
        exactly (to float rounding) what the whole image gives; many or large boxes re-run it all."""
        _, lh, lw = shape
        s, layers = self.stride, self.layers
        touched = latent_rects(boxes, rgb.shape[1], rgb.shape[0], s, layers, (lh, lw))
        filled = torch.from_numpy(fill(rgb, boxes)).to(self.device).permute(2, 0, 1)[None].float().div_(255.0)
        if len(touched) > REANALYSE_ABOVE_BOXES or sum((y1 - y0) * (x1 - x0) for y0, x0, y1, x1 in touched) * 4 > lh * lw:
            idx[:] = self._analyse(filled)[0]
            return
        reach = -(-analysis_radius(layers) // s)  # latents of context each side
        grid = idx.reshape(idx.shape[0], lh, lw)
        padded = F.pad(filled, (0, lw * s - rgb.shape[1], 0, lh * s - rgb.shape[0]), mode="replicate")
        for y0, x0, y1, x1 in touched:
            wy0, wx0, wy1, wx1 = max(0, y0 - reach), max(0, x0 - reach), min(lh, y1 + reach), min(lw, x1 + reach)
            window = padded[..., wy0 * s : wy1 * s, wx0 * s : wx1 * s].contiguous(memory_format=self.memory_format)
            symbols = self.tables.quantize(self._analysis(window)).reshape(idx.shape[0], wy1 - wy0, wx1 - wx0)
            grid[:, y0:y1, x0:x1] = symbols[:, y0 - wy0 : y1 - wy0, x0 - wx0 : x1 - wx0]

    def _detector(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="guard")
        return self._pool

    def encode_batch(self, batch: torch.Tensor) -> list[bytes]:
        if batch.ndim != 4 or batch.shape[1] != 3 or not batch.is_floating_point():
            raise InputError(f"batch must be a float NCHW tensor with 3 channels, found {tuple(batch.shape)} {batch.dtype}")
        if not torch.isfinite(batch).all() or batch.min() < 0 or batch.max() > 1:
            raise InputError("batch values must be finite and in [0, 1]")
        _check_size(batch.shape[2], batch.shape[3])
        frames = []
        for x in batch:
            boxes = None
            if self.stage is not None:
                bgr = x.flip(0).permute(1, 2, 0).mul(255).round().to(torch.uint8).cpu().numpy()
                boxes = self.stage(np.ascontiguousarray(bgr))
            rgb = x.permute(1, 2, 0).mul(255).round().to(torch.uint8).cpu().numpy()
            frames.append(self._pack(self._analyse(x[None].to(self.device, torch.float32)), 3, boxes, rgb))
        return frames

    @torch.inference_mode()
    def _analyse(self, x: torch.Tensor) -> tuple[np.ndarray, tuple[int, ...], int, int]:
        """Padded analysis transform and quantization: (symbols, latent shape, height, width)."""
        h, w = x.shape[2:]
        s = self.stride
        x = F.pad(x, (0, (-w) % s, 0, (-h) % s), mode="replicate").contiguous(memory_format=self.memory_format)
        y = self._analysis(x)
        return self.tables.quantize(y), y.shape, h, w

    def _analysis(self, x: torch.Tensor) -> np.ndarray:
        """(1, 3, H, W) -> the (C, H/s, W/s) latent the tables quantize (gained for the frame's quality)."""
        with self._autocast():
            return self.model.analyse(x, self.quality)[0].cpu().numpy()

    def _pack(self, analysed: tuple[np.ndarray, tuple[int, ...], int, int], channels: int, boxes, rgb: np.ndarray) -> bytes:
        """Guard `boxes` (guard version 2: their pixels filled from outside, the latents that see
        them analysed again from the filled image, those wholly inside set to the fill value),
        entropy-code the symbols and write the frame."""
        idx, shape, h, w = analysed
        s = self.stride
        flags, settings, guarded = 0, 0, ()
        if boxes is not None:
            guarded = cover(boxes, w, h)
            if len(guarded) > bitstream.MAX_GUARD_BOXES:  # more than the frame can carry: guard it all
                guarded = ((0, 0, w, h),)
            if guarded:
                self._analyse_filled(idx, shape, rgb, guarded)
            rects = inner_latent_rects(guarded, w, h, s, self.layers, shape[1:])
            privacy_guard.apply(idx, rects, self.tables.fill, shape[2])
            flags = bitstream.FLAG_GUARD
            settings = self.stage.config.settings_id() if self.stage is not None else 0
        self.last_boxes = guarded
        payload = self.tables.encode(idx, *shape[1:])
        version = bitstream.VERSION_HYPERPRIOR if self.variable_rate else bitstream.VERSION
        quality = self.quality_hundredths if self.variable_rate else 0
        header = bitstream.Header(
            self.model_id, channels, h, w, *shape, len(payload), flags, version, settings, guarded, quality=quality
        )
        self.last_header = header  # what a message's fields are filled from, without parsing the frame again
        return bitstream.pack(header, payload)


BPP_SEARCH_STEPS = 8  # bisection steps of encode_to_bpp: 100 / 2^8 = 0.4 quality points
REANALYSE_ABOVE_BOXES = 16  # more guarded boxes than this: the filled image is analysed whole, once
DEFAULT_MAX_PIXELS = 4096 * 4096  # a 16.8 MP frame: above the largest camera a robot is likely to carry
DEFAULT_MAX_GUARD_BOXES = 1024
DEFAULT_MAX_GUARD_AREA = 2.0  # the guard boxes' summed area, in image areas


class Decoder(_CodecBase):
    """`Decoder(weights)(data) -> image`: HxWx3 uint8 (HxW for grayscale sources).

    Guarded boxes are drawn as `guard_style` says (privacy/anonymize.render): "tint" (what decoded,
    the encoder's fill, desaturated) or "mosaic" (a soft mosaic and an outline, the look before).

    Limits, checked from the header before anything is allocated, so no frame anyone can publish
    costs more than they allow: `max_pixels` (height x width), `max_guard_boxes` and
    `max_guard_area` (the boxes' summed area in image areas: the mosaic's cost is linear in it).
    Beyond them a frame is refused with LimitError.

    The synthesis runs in tiles of SYNTHESIS_TILE latents (each with SYNTHESIS_HALO latents of
    context, so the seams are invisible), which bounds its memory whatever the frame size; a tile
    whose latents and context all hold the fill value (a guarded region, or flat content) is not
    synthesized but painted with the fill value's decoded pattern, so a large guarded face costs
    almost nothing to decode.
    """

    def __init__(self, weights: str | Path | None = None, *, max_pixels: int = DEFAULT_MAX_PIXELS,
                 max_guard_boxes: int = DEFAULT_MAX_GUARD_BOXES, max_guard_area: float = DEFAULT_MAX_GUARD_AREA,
                 guard_style: str = "tint", **kwargs) -> None:  # fmt: skip
        if max_pixels < 1 or max_guard_boxes < 0 or max_guard_area < 0:
            raise InputError("max_pixels must be >= 1, max_guard_boxes and max_guard_area >= 0")
        if guard_style not in STYLES:
            raise InputError(f"guard_style must be one of {STYLES}, found {guard_style!r}")
        self.guard_style = guard_style
        super().__init__(weights, **kwargs)
        self.max_pixels, self.max_guard_boxes, self.max_guard_area = max_pixels, max_guard_boxes, max_guard_area
        self.tiles_synthesized = 0  # tiles run through g_s in the last decode (the rest were fill)
        self.synthesis = self.model.inference_synthesis().to(memory_format=self.memory_format)
        self._fill_block: np.ndarray | None = None

    def __call__(self, data: bytes, channel_order: ChannelOrder = "rgb") -> np.ndarray:
        return self.decode(data, channel_order)

    def check(self, data: bytes) -> tuple[bitstream.Header, bytes]:
        """Validate a frame against this decoder's model without decoding it."""
        header, payload = bitstream.parse(data)
        self.check_header(header)
        return header, payload

    def check_header(self, header: bitstream.Header) -> None:
        """Validate a parsed header against this decoder's limits and model (LimitError,
        ModelMismatchError, CorruptPayloadError)."""
        pixels = header.height * header.width
        if pixels > self.max_pixels:
            raise LimitError(f"frame of {header.width}x{header.height} pixels exceeds this decoder's limit of {self.max_pixels}")
        if len(header.guard_boxes) > self.max_guard_boxes:
            raise LimitError(f"frame carries {len(header.guard_boxes)} guard boxes, the limit is {self.max_guard_boxes}")
        area = sum((x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in header.guard_boxes)
        if area > self.max_guard_area * pixels:
            raise LimitError(f"guard boxes cover {area / pixels:.1f} image areas, this decoder's limit is {self.max_guard_area}")
        if header.model_id != self.model_id:
            raise ModelMismatchError(
                f"frame was made by model {header.model_id.hex()}, this decoder has {self.model_id.hex()} "
                f"({self.weights.path}); load the encoder's weights"
            )
        if (header.version == bitstream.VERSION_HYPERPRIOR) != self.variable_rate:
            raise bitstream.CorruptPayloadError(f"bitstream version {header.version} does not fit a {self.model.arch} model")
        expected = (self.tables.channels, -(-header.height // self.stride), -(-header.width // self.stride))
        found = (header.latent_channels, header.latent_height, header.latent_width)
        if found != expected:
            raise bitstream.CorruptPayloadError(f"latent shape {found} does not match {expected} for this model and size")

    def decode(self, data: bytes, channel_order: ChannelOrder = "rgb") -> np.ndarray:
        return self.decode_parsed(*bitstream.parse(data), channel_order)

    @torch.inference_mode()
    def decode_parsed(self, header: bitstream.Header, payload: bytes, channel_order: ChannelOrder = "rgb") -> np.ndarray:
        """Decode a frame that bitstream.parse already validated (each frame is parsed once)."""
        if channel_order not in ("rgb", "bgr"):
            raise InputError(f"channel_order must be 'rgb' or 'bgr', found {channel_order!r}")
        self.check_header(header)
        lh, lw = header.latent_height, header.latent_width
        idx = self.tables.decode(payload, lh, lw)
        guarded = np.zeros((lh, lw), bool)
        if header.guard_applied:
            blank = latent_rects if header.guard_version == bitstream.GUARD_LATENTS else inner_latent_rects
            rects = blank(header.guard_boxes, header.width, header.height, self.stride, self.layers, (lh, lw))
            privacy_guard.verify(idx, rects, self.tables.fill, lw)
            for y0, x0, y1, x1 in rects:
                guarded[y0:y1, x0:x1] = True
        img = self._synthesize(idx, lh, lw, guarded, header.quality)[: header.height, : header.width]
        if header.height * header.width > RELEASE_ABOVE_PIXELS:
            speedups.release_freed_memory()  # a frame this large must not leave the process at its peak
        if header.guard_boxes:
            img = render(np.ascontiguousarray(img), header.guard_boxes, self.guard_style)
        if header.channels == 1:
            return np.ascontiguousarray(img.mean(axis=2).round().astype(np.uint8))
        return np.ascontiguousarray(img[..., ::-1] if channel_order == "bgr" else img)

    def _synthesize(self, idx: np.ndarray, lh: int, lw: int, guarded: np.ndarray, quality: int = 0) -> np.ndarray:
        """(C, lh*lw) symbols -> (lh*stride, lw*stride, 3) uint8, tile by tile."""
        s, t, halo = self.stride, SYNTHESIS_TILE, SYNTHESIS_HALO
        # Variable rate: the fill symbol is 0, so the fill pattern does not depend on the quality.
        y = self.model.unscale(self.tables.dequantize(idx, lh, lw), quality / 100)
        is_fill = (idx.reshape(-1, lh, lw) == self.tables.fill[:, None, None]).all(axis=0)
        out = np.empty((lh * s, lw * s, 3), np.uint8)
        self.tiles_synthesized = 0
        for ty0 in range(0, lh, t):
            for tx0 in range(0, lw, t):
                ty1, tx1 = min(lh, ty0 + t), min(lw, tx0 + t)
                wy0, wx0, wy1, wx1 = max(0, ty0 - halo), max(0, tx0 - halo), min(lh, ty1 + halo), min(lw, tx1 + halo)
                tile = out[ty0 * s : ty1 * s, tx0 * s : tx1 * s]
                # The fill pattern is exact away from the image border; at the border only under the guard.
                inside = wy0 == ty0 - halo and wx0 == tx0 - halo and wy1 == ty1 + halo and wx1 == tx1 + halo
                if is_fill[wy0:wy1, wx0:wx1].all() and (inside or guarded[ty0:ty1, tx0:tx1].all()):
                    tile[:] = np.tile(self._fill_pattern(), (ty1 - ty0, tx1 - tx0, 1))
                    continue
                window = torch.from_numpy(y[:, wy0:wy1, wx0:wx1])[None].to(self.device, memory_format=self.memory_format)
                with self._autocast():
                    x_hat = self.synthesis(window)[0, :, (ty0 - wy0) * s : (ty1 - wy0) * s, (tx0 - wx0) * s : (tx1 - wx0) * s]
                tile[:] = _to_uint8(x_hat)
                self.tiles_synthesized += 1
        return out

    def _fill_pattern(self) -> np.ndarray:
        """The stride x stride block that an all-fill latent plane decodes to (periodic away from borders)."""
        if self._fill_block is None:
            n, s, c = 2 * SYNTHESIS_HALO + 1, self.stride, SYNTHESIS_HALO
            fill = np.repeat(self.tables.fill[:, None], n * n, axis=1)
            y = torch.from_numpy(self.tables.dequantize(fill, n, n))[None].to(self.device, memory_format=self.memory_format)
            with self._autocast():
                block = self.synthesis(y)[0, :, c * s : (c + 1) * s, c * s : (c + 1) * s]
            self._fill_block = _to_uint8(block)
        return self._fill_block


class FollowingDecoder:
    """A Decoder for `weights` that, with follow=True, also decodes frames of any other shipped preset
    (found by the model id each frame carries, presets.find), so a receiver keeps up with an encoder
    that switches presets. The decoder node, the web node and bag decoding all receive through it.
    Frames of weights that are neither loaded nor shipped are refused by the Decoder
    (ModelMismatchError). The last FOLLOW_CACHE decoders stay loaded."""

    def __init__(self, weights: str | Path | None = None, *, follow: bool = True, **kwargs) -> None:
        self.follow, self.kwargs = follow, kwargs
        self.current = Decoder(weights, **kwargs)
        self._loaded: dict[bytes, Decoder] = {self.current.model_id: self.current}
        self.followed: str | None = None  # the preset last switched to, for logs

    def decoder_for(self, model_id: bytes) -> Decoder:
        if model_id in self._loaded:
            self.current = self._loaded[model_id]
        elif self.follow and (name := presets.find(model_id)) is not None:
            self.current = self._loaded[model_id] = Decoder(name, **self.kwargs)
            self.followed = name
            while len(self._loaded) > FOLLOW_CACHE:
                self._loaded.pop(next(iter(self._loaded)))
        return self.current

    def decode(self, data: bytes, channel_order: ChannelOrder = "rgb") -> tuple[np.ndarray, bitstream.Header]:
        header, payload = bitstream.parse(data)
        return self.decode_parsed(header, payload, channel_order), header

    def decode_parsed(self, header: bitstream.Header, payload: bytes, channel_order: ChannelOrder = "rgb") -> np.ndarray:
        return self.decoder_for(header.model_id).decode_parsed(header, payload, channel_order)


FOLLOW_CACHE = 4
RELEASE_ABOVE_PIXELS = 2048 * 2048  # above 1440p: rare frames, whose peak memory goes back to the OS
SYNTHESIS_TILE = 64  # latents per tile side (1024 px at stride 16): bounds g_s memory at ~0.3 GB
SYNTHESIS_HALO = 2  # latents of context: one latent reaches 1 + 1/2 + 1/4 + ... < 2 latents of output


def _to_uint8(x_hat: torch.Tensor) -> np.ndarray:
    """A (3, H, W) synthesis output in [0, 1] (any float dtype) -> HxWx3 uint8."""
    return x_hat.float().clamp_(0, 1).mul_(255).round_().to(torch.uint8).permute(1, 2, 0).cpu().numpy()


def _check_size(h: int, w: int) -> None:
    if not (1 <= h <= bitstream.MAX_SIDE and 1 <= w <= bitstream.MAX_SIDE):
        raise InputError(f"image size {w}x{h} outside 1..{bitstream.MAX_SIDE} pixels per side")


def _as_rgb(image: np.ndarray, channel_order: ChannelOrder) -> tuple[np.ndarray, int]:
    """Validate an 8-bit image and return it as contiguous HxWx3 RGB plus its source channels."""
    if not isinstance(image, np.ndarray):
        raise InputError(f"image must be a numpy array, found {type(image).__name__}")
    if image.dtype != np.uint8:
        raise InputError(f"image must be 8-bit (uint8), found {image.dtype}; scale or convert it first")
    if channel_order not in ("rgb", "bgr"):
        raise InputError(f"channel_order must be 'rgb' or 'bgr', found {channel_order!r}")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    if image.ndim == 2:
        _check_size(*image.shape)
        return np.ascontiguousarray(np.repeat(image[..., None], 3, axis=2)), 1
    if image.ndim != 3 or image.shape[2] != 3:
        raise InputError(f"image must be HxW, HxWx1 or HxWx3, found shape {image.shape} (drop alpha first)")
    _check_size(*image.shape[:2])
    return np.ascontiguousarray(image[..., ::-1] if channel_order == "bgr" else image), 3
