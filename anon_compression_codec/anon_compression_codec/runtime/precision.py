"""The transforms' execution precisions, the one list the codec, the training loop and the nodes'
parameters read (no torch import: the capture node must not load torch for a constant).

fp32; bf16 (autocast on the transforms only, the entropy model stays fp32, so frames decode the same
anywhere); auto: bf16 where the device computes it natively (a GPU, a CPU with AVX512-BF16 or AMX).
"""

PRECISIONS = ("fp32", "bf16", "auto")
