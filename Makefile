# The commands a user runs. Everything else lives in CMake.
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)
# Warnings are errors in CI (CI=true) and whenever WERROR=ON is given.
WERROR ?= $(if $(CI),ON,OFF)

# ccache hits across clones (CI builds a fresh clone every time): ccache
# rewrites paths under the clone to relative ones, and the debug info names
# the clone as `.`, so two clones compile to the same objects.
export CCACHE_BASEDIR := $(CURDIR)
DEBUG_PREFIX_MAP := -fdebug-prefix-map=$(CURDIR)=.

.PHONY: all setup configure build test run bench bench-storage bench-cluster bench-kv bench-tls soak nemesis kv-lin clean

all: build

setup:
	@bash scripts/setup.sh

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DREPLOG_WERROR=$(WERROR) \
	  -DCMAKE_CXX_FLAGS="$(CXXFLAGS) $(DEBUG_PREFIX_MAP)"

configure: setup $(BUILD_DIR)/build.ninja

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 600

run: build
	@bash scripts/run.sh $(BUILD_DIR)

bench: build
	$(BUILD_DIR)/bench/replog-bench storage --workload sync --dir ./data/bench --seconds 5

# Every storage workload, RUNS=3 times each, then a table of medians. Long, and
# leaves logs of a few GiB under ./data/bench for reuse; knobs in the script.
bench-storage: build
	BUILD=$(BUILD_DIR) bash scripts/bench-storage.sh

# The service benchmarks of BENCHMARKS.md: produce at 1/16/64 clients, consume
# from a follower, failover gaps, each beside etcd 3.4 when
# ../shared/tools/etcd-bench.sh is there; knobs in the script (about 10 min).
bench-cluster: build
	BUILD=$(BUILD_DIR) bash scripts/bench-cluster.sh

# The key-value store's benchmarks: kv-put at 1/16/64 clients and
# linearizable kv-get at 16, each beside etcd 3.4 when
# ../shared/tools/etcd-bench.sh is there; knobs in the script (about 8 min).
bench-kv: build
	BUILD=$(BUILD_DIR) bash scripts/bench-kv.sh

# The cost of TLS: produce at 1/16/64 clients with mutual TLS and the access
# policy on against plaintext, alternating, 3 runs (about 6 min).
bench-tls: build
	BUILD=$(BUILD_DIR) bash scripts/bench-tls.sh

# The nemesis test (tests/nemesis, docs/nemesis.md) for DURATION seconds of
# faults, each of its two tests (without and with retention); SEED=N replays
# a schedule (default: a random seed, printed); FILTER=*Retention* (a gtest
# filter) runs one.
DURATION ?= 1800
nemesis: build
	NEMESIS_DURATION=$(DURATION) $(if $(SEED),NEMESIS_SEED=$(SEED)) $(BUILD_DIR)/tests/nemesis/nemesis_test \
	  $(if $(FILTER),--gtest_filter='$(FILTER)')

# The KV store's linearizability test (tests/nemesis, docs/kv.md) for
# DURATION seconds of faults; SEED=N replays a schedule.
kv-lin: build
	KV_LIN_DURATION=$(DURATION) $(if $(SEED),KV_LIN_SEED=$(SEED)) $(BUILD_DIR)/tests/nemesis/kv_linearizability_test

# Simulation seeds for as long as SOAK_SECONDS allows (3 and 5 members, then
# liveness runs), starting at SOAK_SEED; stops at the first failing seed and
# prints the command that replays it.
SOAK_SECONDS ?= 600
SOAK_SEED ?= 1000000
soak: build
	$(BUILD_DIR)/apps/replog-sim/replog-sim --first-seed $(SOAK_SEED) --duration-s $$(( $(SOAK_SECONDS) * 4 / 10 )) --nodes 3 --quiet
	$(BUILD_DIR)/apps/replog-sim/replog-sim --first-seed $(SOAK_SEED) --duration-s $$(( $(SOAK_SECONDS) * 4 / 10 )) --nodes 5 --quiet
	$(BUILD_DIR)/apps/replog-sim/replog-sim --first-seed $(SOAK_SEED) --duration-s $$(( $(SOAK_SECONDS) / 10 )) --nodes 3 --liveness --quiet
	$(BUILD_DIR)/apps/replog-sim/replog-sim --first-seed $(SOAK_SEED) --duration-s $$(( $(SOAK_SECONDS) / 10 )) --nodes 5 --liveness --quiet

clean:
	rm -rf $(BUILD_DIR)
