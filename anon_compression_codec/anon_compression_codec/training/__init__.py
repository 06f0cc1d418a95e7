"""Training: ROI losses (a dict of named terms), training samples, pseudo labels and the training
loop. Uses the runtime, privacy and data; nothing on a robot imports it."""
