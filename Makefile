# The README's two commands. Each first installs the Debian packages this machine lacks
# (scripts/bootstrap), then builds and runs.
#
#   make demo    the main job, `audit run --demo`, on the embedded demo store (release build)
#   make test    the test suite, `swift test`
#
# DEMO_FLAGS passes flags to the demo, e.g. `make demo DEMO_FLAGS=--json`.

DEMO_FLAGS ?=

.PHONY: demo test setup-build setup-test

demo: setup-build
	swift run -c release audit run --demo $(DEMO_FLAGS)

test: setup-test
	swift test

setup-build:
	@scripts/bootstrap build

setup-test:
	@scripts/bootstrap test
