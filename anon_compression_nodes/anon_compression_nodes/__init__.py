"""ROS 2 nodes of the anon_compression stack: capture, encoder, decoder, detector."""
