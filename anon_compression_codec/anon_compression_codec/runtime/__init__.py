"""The runtime codec: what a robot runs (Encoder/Decoder, models, entropy coding, the bitstream,
geometry of the guard's boxes, rate control, CPU speed-ups, shipped weights). It imports the
package's errors and resources and `privacy` (the encoder guards, the decoder paints), nothing of
training, evaluation, data, bags or the CLI."""
