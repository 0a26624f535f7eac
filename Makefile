# Two commands do everything on a fresh machine with Python 3.11+ and make:
#   make demo   - install into .venv and analyse recordings/ into results/
#   make test   - install the test extras (and Chromium when missing) and run the whole suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
OUT ?= results
PYTEST_ARGS ?=

.PHONY: demo test lint docs clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "rapheunit needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed-run

demo: $(VENV)/.installed-run
	$(BIN)/rapheunit analyze recordings/ --out $(OUT)
	@echo "Results: tables in $(OUT)/ (units.csv, doses.csv, summary.csv, ...); reports in $(OUT)/reports/index.html"

test: $(VENV)/.installed-test
	@sh scripts/ensure-chromium.sh
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

docs: $(VENV)/.installed-test
	$(BIN)/python docs/make_cli_reference.py

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) $(OUT) build src/*.egg-info test-artifacts notebooks/output
