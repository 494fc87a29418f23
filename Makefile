# dqr — the two set-up commands are `make run` and `make check` (see README).
# Both start with `make deps`, which installs missing Debian packages.

JOBS ?= $(shell nproc)
FUZZ_SECONDS ?= 60
CMAKE_FLAGS ?=

.PHONY: all deps build run check test-release test-asan test-fuzz bench screenshots clean deb test-deb

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

# The Debian package (debian/), built from a copy of the tree (tracked and
# new files, not ignored ones) so the build leaves the tree clean; the .deb
# lands in build-deb/.
deb:
	rm -rf --one-file-system build-deb && mkdir -p build-deb/src
	git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t build-deb/src
	cd build-deb/src && dpkg-buildpackage -b -us -uc
	@ls build-deb/*.deb

# Builds the package, checks it (lintian, contents, the unit), installs it
# on this machine, runs it as the dqr user and purges it (tests/ops/deb.sh).
test-deb:
	DQR_TEST_DEB=1 ./tests/ops/deb.sh

clean:
	rm -rf build build-asan build-fuzz build-deb
