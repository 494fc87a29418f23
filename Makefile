# dqr — the two set-up commands are `make run` and `make check` (see README).
# Both start with `make deps`, which installs missing Debian packages.

JOBS ?= $(shell nproc)
FUZZ_SECONDS ?= 60
CMAKE_FLAGS ?=

.PHONY: all deps build run check test-release test-asan test-fuzz bench screenshots clean

all: build

deps:
	@./scripts/deps.sh

build: deps
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)
	cmake --build build -j$(JOBS)

run: build
	./build/dqr serve

# Everything: a short libFuzzer run of every parser, unit and integration
# tests under ASan+UBSan, then the release build's full suite (last, so its
# summary closes the output).
check: build
	$(MAKE) --no-print-directory test-fuzz test-asan test-release

test-release:
	cd build && ctest --output-on-failure -j$(JOBS)

test-asan:
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DDQR_SANITIZE=ON $(CMAKE_FLAGS)
	cmake --build build-asan -j$(JOBS)
	cd build-asan && ctest --output-on-failure -j$(JOBS) -L 'unit|integration'

test-fuzz:
	CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DDQR_FUZZ=ON \
	    -DDQR_FUZZ_SECONDS=$(FUZZ_SECONDS) $(CMAKE_FLAGS)
	cmake --build build-fuzz -j$(JOBS) --target fuzz_part10 fuzz_script fuzz_pdu fuzz_json
	cd build-fuzz && ctest --output-on-failure -L fuzz

# The web UI's pages, as the browser tests see them, for the docs.
screenshots: build
	/usr/bin/python3 tests/ui/ui_e2e.py build/dqr build/screenshots-work docs/screenshots

bench: build
	./bench/dump.sh

clean:
	rm -rf build build-asan build-fuzz
