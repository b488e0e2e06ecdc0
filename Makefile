# Thin wrapper so the README's commands stay short; the build itself is Meson + ninja.
BUILD ?= build
MESON_FLAGS ?=
# meson test's parallel tests: most tests wait on sockets, so more than the 2 cores pays (.ci/run: 4)
TEST_JOBS ?= 2

.PHONY: all build run check test bench clean

all: build

$(BUILD)/build.ninja:
	scripts/deps.sh build
	meson setup $(BUILD) $(MESON_FLAGS)

build: $(BUILD)/build.ninja
	scripts/deps.sh build
	ninja -C $(BUILD)

# The main job: ymsgd with an embedded default (SQLite in ./data, a demo account it prints).
run: build
	$(BUILD)/server/ymsgd --data-dir data

# Every test: unit, end-to-end, interop, fuzz-corpus replay.
check test:
	scripts/deps.sh test
	$(MAKE) build
	meson test -C $(BUILD) --print-errorlogs --num-processes $(TEST_JOBS)

bench: build
	scripts/bench.sh

clean:
	rm -rf $(BUILD)
