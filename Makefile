# The two set-up commands (see README): `make demo` and `make test`. Both install what is missing.
PRESET ?= dev
BUILD_DIR := build/$(PRESET)
JOBS ?= $(shell nproc)

.PHONY: all deps build release test unit demo bench clean

all: build

deps:
	@scripts/install-deps

build: deps
	@test -f $(BUILD_DIR)/build.ninja || cmake --preset $(PRESET)
	cmake --build --preset $(PRESET) -j $(JOBS)

release: deps
	@test -f build/release/build.ninja || cmake --preset release
	cmake --build --preset release -j $(JOBS)

# Every test layer: unit, integration, CLI, compatibility with Microsoft's own clients.
test: build
	ctest --preset $(PRESET) -j $(JOBS)

# The fast loop.
unit: build
	ctest --preset $(PRESET) -L unit -j $(JOBS)

# The partner guide, end to end, against the embedded emulator; ends by itself.
demo: deps
	@test -f $(BUILD_DIR)/build.ninja || cmake --preset $(PRESET)
	cmake --build --preset $(PRESET) -j $(JOBS) --target xdr-emulator $(if $(wildcard src/cli/CMakeLists.txt),xdrpartner)
	scripts/demo $(BUILD_DIR)

bench: release
	scripts/bench build/release

clean:
	rm -rf build
