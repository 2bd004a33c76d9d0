# `make run` starts the local stack; `make test` runs lint, type checks and the test suite.
# Both create .venv and install the project on first use; the stamp files keep later runs quick
# until pyproject.toml changes.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.DEFAULT_GOAL := help
.PHONY: help run test lint fmt chromium vendor bench

help:
	@echo "make run   - migrate, seed demo data, start Temporal, the worker and the web app"
	@echo "make test  - ruff, mypy (strict on the production code) and the whole pytest suite"
	@echo "make lint  - ruff and mypy only"
	@echo "make fmt   - format the code and apply safe lint fixes"
	@echo "make bench - the benchmark suite against bare Temporal (about 20 minutes; bench/results/latest.json)"
	@echo "make vendor - refresh the vendored USWDS, Swagger UI, ReDoc, htmx-ext-sse, Leaflet and the map's country outlines from npm (needs npm)"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "Python 3.11 or newer is needed: make PYTHON=python3.11 ..." >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

run: $(VENV)/.installed
	$(BIN)/crc dev

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/mypy --strict crc workflows activities web worker.py

test: lint chromium
	$(BIN)/pytest

# Every figure of the performance table against its bare baseline, at full scale (never part of
# `make test`, which runs it once at tiny scale: tests/test_bench_smoke.py).
bench: $(VENV)/.installed-test
	$(BIN)/python -m bench --scale full

# The browser tests drive Debian's Chromium (Playwright downloads no browser here): install it as
# root with apt-get when missing; elsewhere say so, and those tests skip (fail under .ci/run).
CHROMIUM := /usr/bin/chromium
chromium:
	@if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing Debian's chromium for the browser tests (about 30 s)..."; \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
			|| echo "NOTE: apt-get could not install chromium; the browser tests skip" \
				"(and fail under CRC_REQUIRE_BROWSER=1)." >&2; \
	else \
		echo "NOTE: $(CHROMIUM) is missing and cannot be installed here (needs root and apt-get):" \
			"install Debian's chromium package; until then the browser tests skip" \
			"(and fail under CRC_REQUIRE_BROWSER=1)." >&2; \
	fi

fmt: $(VENV)/.installed-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Refresh the vendored front-end assets (USWDS, Swagger UI, ReDoc, htmx's SSE extension; versions pinned in the
# scripts) from the npm registry; by hand only, never part of run or test.
vendor:
	scripts/vendor_uswds.sh
	scripts/vendor-api-docs.sh
	scripts/vendor-htmx-sse.sh
	scripts/vendor-map.sh
