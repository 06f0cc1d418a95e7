"""HTTP: the anonymize/encode/decode service and the live page of a decoded stream (Starlette on
uvicorn). Uses the runtime and privacy; the ROS web node attaches a stream to it."""
