# The two commands of the README:
#   make run   installs what is missing, builds, and starts the cluster
#   make test  installs what is missing, builds, and runs the whole test suite
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
PROFILE ?= kubedesk

.PHONY: run test deps build configure clean

deps:
	./packaging/install-deps.sh

configure:
	cmake -S . -B $(BUILD_DIR) -G Ninja

build: deps configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

run: build
	$(BUILD_DIR)/bin/kubedesk-engine --profile $(PROFILE)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

clean:
	rm -rf $(BUILD_DIR)
