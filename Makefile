# Everything starts from nothing: the first target run creates .venv and installs the pinned set.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SHARED_DATA := $(abspath ../shared/data)
# Tests and the demo read the real datasets from ../shared/data when it is there.
export PRISMREC_DATA_HOME ?= $(if $(wildcard $(SHARED_DATA)),$(SHARED_DATA),$(HOME)/.cache/prismrec)
# One BLAS thread: implicit asks for it, and 2 cores are shared with the test runner.
export OPENBLAS_NUM_THREADS ?= 1
export OMP_NUM_THREADS ?= 1

.PHONY: install test lint demo bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev,semantic,multilingual,serve,spark]'
	touch $@

test: install
	$(BIN)/ruff check prismrec tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check prismrec tests benchmarks
	$(BIN)/ruff format --check prismrec tests benchmarks

demo: install
	$(BIN)/prismrec demo

bench: install
	$(BIN)/python benchmarks/accuracy.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
