# The two commands of the README, and a few more for developers.
#   make run   install what is missing, build Release, start the daemon with config/metrics-governor.yaml
#   make test  install what is missing (with the e2e peers: prometheus, victoria-metrics), build Debug
#              with warnings as errors, run every test through ctest (docs/testing.md)
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CONFIG ?= config/metrics-governor.yaml
RELEASE_DIR := build/release
DEBUG_DIR := build/debug
CMAKE_GEN := $(shell command -v ninja >/dev/null 2>&1 && echo "-G Ninja")

.PHONY: all deps deps-e2e build release run test bench sanitize-test clean

all: release

deps:
	bash scripts/install-deps.sh

deps-e2e:
	bash scripts/install-deps.sh --e2e

release: deps
	cmake -S . -B $(RELEASE_DIR) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Release -DMG_BUILD_TESTS=OFF
	cmake --build $(RELEASE_DIR) -j$(JOBS) --target metrics-governor

build: release

run: release
	./$(RELEASE_DIR)/metrics-governor -config $(CONFIG)

test: deps-e2e
	cmake -S . -B $(DEBUG_DIR) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Debug -DMG_WERROR=ON -DMG_BUILD_BENCH=OFF
	cmake --build $(DEBUG_DIR) -j$(JOBS)
	ctest --test-dir $(DEBUG_DIR) --output-on-failure -j$(JOBS)

bench: deps
	cmake -S . -B build/bench $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Release -DMG_BUILD_TESTS=OFF -DMG_BUILD_BENCH=ON
	cmake --build build/bench -j$(JOBS)

# SANITIZE=address,undefined or SANITIZE=thread: the unit tests only, built with that sanitizer.
SANITIZE ?= address,undefined
sanitize-test: deps
	cmake -S . -B build/san-$(subst $(comma),-,$(SANITIZE)) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Debug -DMG_WERROR=ON \
	  -DMG_SANITIZE=$(SANITIZE) -DMG_BUILD_BENCH=OFF -DMG_BUILD_INTEGRATION_TESTS=OFF
	cmake --build build/san-$(subst $(comma),-,$(SANITIZE)) -j$(JOBS)
	ctest --test-dir build/san-$(subst $(comma),-,$(SANITIZE)) --output-on-failure -j$(JOBS)

comma := ,

clean:
	rm -rf build
