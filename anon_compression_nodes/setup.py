"""ament_python package of the anon_compression nodes. Launch, config and rviz files live inside
this package (the repository's top-level launch/, config/ and rviz/ link here), so a build of this
folder alone (colcon, pip, sdist) installs them into the package's share."""

from glob import glob
from pathlib import Path

from setuptools import find_packages, setup

PACKAGE = "anon_compression_nodes"
HERE = Path(__file__).resolve().parent


def files(pattern: str) -> list[str]:
    """Relative to this folder, as setuptools requires; none found is an error, never an empty install."""
    found = sorted(str(Path(p).relative_to(HERE)) for p in glob(str(HERE / pattern)))
    if not found:
        raise SystemExit(f"{PACKAGE}: no {pattern} in {HERE}: the package is incomplete")
    return found


setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", files("launch/*.launch.py")),
        (f"share/{PACKAGE}/config", files("config/*.yaml")),
        (f"share/{PACKAGE}/rviz", files("rviz/*.rviz")),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="anon-compression maintainers",
    maintainer_email="maintainers@anon-compression.dev",
    description="ROS 2 nodes for anonymizing learned image compression: capture, encoder, decoder, detector.",
    license="AGPL-3.0-only",
    entry_points={
        "console_scripts": [
            f"capture = {PACKAGE}.capture_node:main",
            f"encoder = {PACKAGE}.encoder_node:main",
            f"decoder = {PACKAGE}.decoder_node:main",
            f"detector = {PACKAGE}.detector_node:main",
            f"web = {PACKAGE}.web_node:main",
            f"doctor = {PACKAGE}.doctor:main",
        ],
    },
)
