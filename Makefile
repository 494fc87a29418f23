# dqr — the two set-up commands are `make run` and `make check` (see README).
# `make run` starts with `make deps` (what building and running need);
# `make check` with `make deps-test` (that, plus the test peers and tools).

JOBS ?= $(shell nproc)
FUZZ_SECONDS ?= 120
CMAKE_FLAGS ?=
# The project's own builds fail on any warning; a plain cmake build does not.
WERROR = -DDQR_WERROR=ON
BUILD_TYPES = Debug Release RelWithDebInfo MinSizeRel
BUILD_TYPE_CCS = gcc clang

.PHONY: all deps build run check test-release test-asan test-fuzz bench screenshots clean deb test-deb

all: build

deps:
	@./scripts/deps.sh

.PHONY: deps-test
deps-test:
	@./scripts/deps.sh --test

build: deps
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo $(WERROR) $(CMAKE_FLAGS)
	cmake --build build -j$(JOBS)

run: build
	./build/dqr serve

# Everything: a short libFuzzer run of every parser, unit and integration
# tests under ASan+UBSan, then the release build's full suite (last, so its
# summary closes the output).
check: deps-test build
	$(MAKE) --no-print-directory test-fuzz test-asan test-release

test-release:
	cd build && ctest --output-on-failure -j$(JOBS)

test-asan:
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DDQR_SANITIZE=ON $(WERROR) $(CMAKE_FLAGS)
	cmake --build build-asan -j$(JOBS)
	cd build-asan && ctest --output-on-failure -j$(JOBS) -L 'unit|integration'

test-fuzz:
	CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DDQR_FUZZ=ON \
	    -DDQR_FUZZ_SECONDS=$(FUZZ_SECONDS) $(WERROR) $(CMAKE_FLAGS)
	cmake --build build-fuzz -j$(JOBS) --target fuzz_part10 fuzz_script fuzz_pdu fuzz_json fuzz_pixel_rules fuzz_pixel \
	    fuzz_multipart fuzz_dimse fuzz_csv fuzz_config
	cd build-fuzz && ctest --output-on-failure -L fuzz

# Every build type with GCC and clang, warnings as errors, each in
# build-types/<cc>-<type> (log beside it). Slow, so not part of `make check`.
.PHONY: test-build-types
test-build-types: deps-test
	@failed=""; mkdir -p build-types; \
	for cc in $(BUILD_TYPE_CCS); do for type in $(BUILD_TYPES); do \
	    dir=build-types/$$cc-$$type; \
	    if { CC=$$cc cmake -S . -B $$dir -DCMAKE_BUILD_TYPE=$$type $(WERROR) $(CMAKE_FLAGS) && \
	         cmake --build $$dir -j$(JOBS); } >$$dir.log 2>&1; then echo "ok   $$dir"; \
	    else echo "FAIL $$dir (see $$dir.log)"; tail -n 20 $$dir.log; failed="$$failed $$dir"; fi; \
	done; done; \
	if [ -n "$$failed" ]; then echo "build types failed:$$failed"; exit 1; fi; \
	echo "all build types built warning-free"

# The web UI's pages, as the browser tests see them, for the docs.
screenshots: deps-test build
	/usr/bin/python3 tests/ui/ui_e2e.py build/dqr build/screenshots-work docs/screenshots
	/usr/bin/python3 tests/ui/viewer_e2e.py build/dqr build/screenshots-viewer docs/screenshots

bench: deps-test build
	./bench/dump.sh

# The Debian package (debian/), built from a copy of the tree (tracked and
# new files, not ignored ones) so the build leaves the tree clean; the .deb
# lands in build-deb/.
deb: deps-test
	rm -rf --one-file-system build-deb && mkdir -p build-deb/src
	git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t build-deb/src
	cd build-deb/src && dpkg-buildpackage -b -us -uc
	@ls build-deb/*.deb

# Builds the package, checks it (lintian, contents, the unit), installs it
# on this machine, runs it as the dqr user and purges it (tests/ops/deb.sh).
test-deb: deps-test
	DQR_TEST_DEB=1 ./tests/ops/deb.sh

clean:
	rm -rf build build-asan build-fuzz build-types build-deb
