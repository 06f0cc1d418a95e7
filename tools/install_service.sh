#!/usr/bin/env bash
# Install the robot pipeline as a systemd service that starts at boot and restarts on failure.
#   sudo tools/install_service.sh WORKSPACE [ROS_DISTRO] [USER] [LAUNCH_ARGS...]
# e.g. sudo tools/install_service.sh /home/robot/ws jazzy robot sources:=/dev/video0 weights:=default
# WORKSPACE is the colcon workspace holding this repository (built, with install/setup.bash).
# Check with: systemctl status anon-compression-robot; journalctl -u anon-compression-robot -f
set -euo pipefail
[ $# -ge 1 ] || { sed -n 2,6p "$0"; exit 2; }
workspace=$(realpath "$1"); distro=${2:-jazzy}; user=${3:-$(logname 2>/dev/null || echo root)}; shift $(( $# < 3 ? $# : 3 ))
[ -f "$workspace/install/setup.bash" ] || { echo "install_service: $workspace/install/setup.bash not found (colcon build first)" >&2; exit 2; }
[ -f "/opt/ros/$distro/setup.bash" ] || { echo "install_service: /opt/ros/$distro not found" >&2; exit 2; }
unit=anon-compression-robot.service
here=$(dirname "$(realpath "$0")")
install -m 644 "$here/../systemd/$unit" "/etc/systemd/system/$unit"
cat > /etc/default/anon-compression <<ENV
ROS_DISTRO=$distro
WORKSPACE=$workspace
LAUNCH_ARGS=$*
ENV
mkdir -p "/etc/systemd/system/$unit.d"
printf '[Service]\nUser=%s\n' "$user" > "/etc/systemd/system/$unit.d/user.conf"
systemd-analyze verify "/etc/systemd/system/$unit"
systemctl daemon-reload
systemctl enable --now "$unit"
systemctl --no-pager status "$unit" | head -5
