# The commands a user runs. Everything else lives in CMake.
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)
# Warnings are errors in CI (CI=true) and whenever WERROR=ON is given.
WERROR ?= $(if $(CI),ON,OFF)

.PHONY: all setup configure build test run bench clean

all: build

setup:
	@bash scripts/setup.sh

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DREPLOG_WERROR=$(WERROR)

configure: setup $(BUILD_DIR)/build.ninja

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 600

run: build
	@bash scripts/run.sh $(BUILD_DIR)

bench: build
	$(BUILD_DIR)/bench/replog-bench storage --workload sync --dir ./data/bench --seconds 5

clean:
	rm -rf $(BUILD_DIR)
