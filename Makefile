# Thin wrapper around CMake. `make` builds build/bin/tern and libtern (static + shared).
BUILD ?= build
JOBS  ?= $(shell nproc)

PREFIX ?= /usr/local

.PHONY: all test test-arm deps model demo clean install

all:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

deps:
	@bash scripts/setup-deps.sh

model:
	@bash scripts/fetch-model.sh

test: all
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# Every test suite cross-built for aarch64 and run under qemu-aarch64 (slow: CI runs the kernel
# suites only; see scripts/test-arm64.sh).
test-arm:
	@bash scripts/test-arm64.sh --all

demo: deps all model
	@$(BUILD)/bin/tern run --chat --temp 0 -n 96 -p "What is the capital of France? Answer in two sentences."

install: all
	@cmake --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf $(BUILD)
