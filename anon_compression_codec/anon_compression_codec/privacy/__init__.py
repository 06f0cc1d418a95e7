"""Privacy: face (and plate) detectors, the detection stage (TTA, merging), the latent guard that keeps
detected regions out of the bitstream, and pixel-domain anonymizers. Imports the runtime's errors
and geometry only; the runtime imports `guard`, `anonymize` and, when the guard is on, `stage`."""

from .stage import DetectionStage, StageConfig

__all__ = ["DetectionStage", "StageConfig"]
