# The two commands of the README, and a few more for developers.
#   make run   install what is missing, build Release, start the daemon with config/metrics-governor.yaml
#   make test  install what is missing (with the e2e peers: prometheus, victoria-metrics), build Debug
#              with warnings as errors, run every test through ctest (docs/testing.md)
#   make fuzz  install clang if missing, build the libFuzzer targets (build/fuzz), run each for
#              FUZZ_SECONDS (default 30) on its corpus (scripts/run-fuzz.sh, docs/testing.md)
#   make format   format every C++ file with Debian's clang-format and .clang-format;
#              make check-format only checks (CI does)
#   make install  build Release and install the daemon to $(DESTDIR)$(PREFIX)/bin (PREFIX defaults
#              to /usr/local) and the example configs to $(DESTDIR)$(PREFIX)/share/metrics-governor,
#              with CMake's install rules (cmake --install)
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CONFIG ?= config/metrics-governor.yaml
PREFIX ?= /usr/local
RELEASE_DIR := build/release
DEBUG_DIR := build/debug
CMAKE_GEN := $(shell command -v ninja >/dev/null 2>&1 && echo "-G Ninja")

.PHONY: all deps deps-e2e build release run install test bench sanitize-test fuzz format check-format clean

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

# DESTDIR stages the tree for a package (DESTDIR=/tmp/pkg gives /tmp/pkg/usr/local/bin/...).
install: release
	DESTDIR="$(DESTDIR)" cmake --install $(RELEASE_DIR) --prefix "$(PREFIX)"

test: deps-e2e
	cmake -S . -B $(DEBUG_DIR) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Debug -DMG_WERROR=ON -DMG_BUILD_BENCH=OFF
	cmake --build $(DEBUG_DIR) -j$(JOBS)
	ctest --test-dir $(DEBUG_DIR) --output-on-failure -j$(JOBS)

bench: deps
	cmake -S . -B build/bench $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Release -DMG_BUILD_TESTS=OFF -DMG_BUILD_BENCH=ON
	cmake --build build/bench -j$(JOBS)

# SANITIZE=address,undefined or SANITIZE=thread: the unit and integration tests (the daemon they
# start is built with the same sanitizer), not the end-to-end ones with real peers (label e2e); the
# Redis client tests do run (they start redis-server, hence deps-e2e).
# A report stops the process (UBSan: -fno-sanitize-recover; TSan: halt_on_error), failing the test.
# Under TSan the tests of the gRPC paths (every test with "grpc" in its name, any case) are left out: Debian's
# gRPC and Abseil are not built with TSan, and gRPC's inline headers racing its uninstrumented
# libraries report races TSan cannot see through; ASan+UBSan runs them. tests/sanitizers/tsan.supp
# quiets the same libraries where another test merely has a gRPC server or channel idle.
# -g1 (line tables and function names, no variables): enough for the sanitizers' stack traces, and
# about a quarter less compile time than -g, twice over in CI.
SANITIZE ?= address,undefined
SAN_DIR = build/san-$(subst $(comma),-,$(SANITIZE))
SAN_EXCLUDE = $(if $(findstring thread,$(SANITIZE)),-E '[gG][rR][pP][cC]',)
sanitize-test: deps-e2e
	cmake -S . -B $(SAN_DIR) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-g1 \
	  -DMG_WERROR=ON -DMG_SANITIZE=$(SANITIZE) -DMG_BUILD_BENCH=OFF -DMG_BUILD_INTEGRATION_TESTS=ON
	cmake --build $(SAN_DIR) -j$(JOBS)
	TSAN_OPTIONS="halt_on_error=1 suppressions=$(CURDIR)/tests/sanitizers/tsan.supp" ctest --test-dir $(SAN_DIR) --output-on-failure -j$(JOBS) -LE e2e $(SAN_EXCLUDE)

comma := ,

format:
	bash scripts/check-format.sh --fix

check-format:
	bash scripts/check-format.sh

# The libFuzzer targets (clang, build/fuzz), FUZZ_SECONDS each (default 30); docs/testing.md.
fuzz:
	bash scripts/run-fuzz.sh

clean:
	rm -rf build
