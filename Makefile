# Quick start: `make demo` (set up and run the example company), `make test` (set up and run the suite).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench bench-smoke serve clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/incentive demo

lint: $(VENV)/.installed-test
	$(BIN)/ruff check incentive api tests bench
	$(BIN)/mypy incentive api

test: $(VENV)/.installed-test lint
	$(BIN)/python -m pytest -n 2 -q

bench: $(VENV)/.installed
	$(BIN)/python bench/run.py --sizes S,M

bench-smoke: $(VENV)/.installed
	$(BIN)/python bench/run.py --sizes XS --json bench/results/smoke.json

serve: $(VENV)/.installed
	$(BIN)/incentive serve

clean:
	rm -rf $(VENV) out *.egg-info .pytest_cache .mypy_cache .ruff_cache
