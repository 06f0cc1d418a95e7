"""Evaluation: metrics, classical baselines (JPEG/WebP/AVIF, detect-and-blur, ROI-JPEG), scoring of
decoded images by detectors, timing, and the benchmark suite. Uses the runtime, privacy and data."""
