"""rosbag2 bags without ROS (rosbags): anonymize recorded camera bags into CompressedLatent bags,
decode such bags back to images, and summarise them. Uses the runtime and privacy."""
