# The two commands of the README:
#   make run   installs what is missing, builds, and starts the cluster
#   make test  installs what is missing, builds, and runs the whole test suite
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
PROFILE ?= kubedesk

.PHONY: run test deps build configure clean screenshots

deps:
	./packaging/install-deps.sh

configure:
	cmake -S . -B $(BUILD_DIR) -G Ninja

build: deps configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

# With a display: the desktop app (it starts the cluster). Without one: the cluster through
# kdctl on the best driver it can use, then its status.
run: build
	@if [ -n "$$DISPLAY$$WAYLAND_DISPLAY" ]; then \
	  $(BUILD_DIR)/bin/kubedesk --profile $(PROFILE); \
	else \
	  $(BUILD_DIR)/bin/kdctl start --profile $(PROFILE) && $(BUILD_DIR)/bin/kdctl status --profile $(PROFILE); \
	fi

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

# The README's pictures, taken by a test on a virtual X server (needs root for the node agent).
screenshots: build
	cd $(BUILD_DIR) && ctest -R '^screenshots_test$$' --output-on-failure
	cp $(BUILD_DIR)/screenshots/*.png docs/screenshots/

clean:
	rm -rf $(BUILD_DIR)
