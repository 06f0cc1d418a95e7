"""ROS 2 nodes of the anon_compression stack: capture, encoder, decoder, detector."""

import os

# Before torch loads (a node's module imports it): the nodes share the machine's cores with each other,
# so torch's OpenMP workers sleep between layers instead of spinning; spinning workers of two nodes with
# 2 threads each on 2 cores starved each other (41 % of frames lost at 10 Hz; none lost when passive).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
