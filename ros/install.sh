#!/usr/bin/env bash
# Install the nodes' Python dependencies on a ROS 2 robot (Humble on Ubuntu 22.04, Jazzy on 24.04)
# without touching apt's Python: a venv that sees the system site-packages (rclpy, cv_bridge, apt's
# NumPy 1.x) and pins numpy<2 so cv_bridge keeps working. Ubuntu 24.04 refuses `pip install` into the
# system Python (PEP 668); a venv is the supported way on both.
#   source /opt/ros/$ROS_DISTRO/setup.bash && ros/install.sh [VENV]   (default ~/anon-compression-venv)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
VENV="${1:-$HOME/anon-compression-venv}"
: "${ROS_DISTRO:?source /opt/ros/<distro>/setup.bash first}"
sudo apt-get install -y python3-venv python3-dev build-essential "ros-$ROS_DISTRO-cv-bridge" \
  "ros-$ROS_DISTRO-diagnostic-msgs" "ros-$ROS_DISTRO-rviz2"
python3 -m venv --system-site-packages "$VENV"
touch "$VENV/COLCON_IGNORE"  # colcon must not treat the venv as a package
"$VENV/bin/pip" install -c "$HERE/constraints.txt" -r "$HERE/requirements.txt"
"$VENV/bin/pip" install -c "$HERE/constraints.txt" pybind11 setuptools wheel
"$VENV/bin/pip" install --no-deps --ignore-requires-python --no-build-isolation -r "$HERE/requirements-nodeps.txt"
"$VENV/bin/pip" install --no-deps -e "$HERE/../anon_compression_codec"
echo "Now build the workspace with this venv's Python: source $VENV/bin/activate && python -m colcon build"
echo "then check it: ros2 run anon_compression_nodes doctor"
