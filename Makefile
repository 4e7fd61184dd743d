# The README's two commands. Each first installs the Debian packages this machine lacks
# (scripts/bootstrap), then builds and runs.
#
#   make demo    the main job, `audit run --demo`, on the embedded demo store (release build)
#   make test    the test suite, `swift test`
#   make serve   the reviewers' web app, `audit serve --demo`, on the demo store (try sign-off)
#
# DEMO_FLAGS passes flags to the demo, e.g. `make demo DEMO_FLAGS=--json`.

DEMO_FLAGS ?=
SERVE_FLAGS ?=

.PHONY: demo test serve setup-build setup-test

demo: setup-build
	swift run -c release audit run --demo $(DEMO_FLAGS)

serve: setup-build
	swift run -c release audit serve --demo $(SERVE_FLAGS)

test: setup-test
	swift test

setup-build:
	@scripts/bootstrap build

setup-test:
	@scripts/bootstrap test
