# The course's two commands: `make lab` opens it, `make test` runs every test.
# Both create the virtual environment .venv on first use (and refresh it when
# pyproject.toml changes), so a fresh clone needs nothing but Python >= 3.10 and make (lesson 10's
# Flower extra installs on Python >= 3.11 only; its tests skip without it).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# JupyterLab refuses to run as root unless told to (containers and CI machines often are root)
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: lab test test-fast lessons lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,flower]"
	touch $(STAMP)

lab: $(STAMP)  ## open the course in JupyterLab, at the welcome lesson
	$(BIN)/jupyter lab --ServerApp.root_dir="$(CURDIR)" $(ROOT_FLAG) lessons/00-welcome.ipynb

test: $(STAMP)  ## run the whole test suite (lint, unit, property, notebook and browser tests)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

test-fast: $(STAMP)  ## lint, then unit and property tests only (no notebooks, Flower, browser or subprocess commands), under 2 minutes
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -m "not notebook and not browser and not flower and not slow" -q

lessons: $(STAMP)  ## regenerate lessons/ from solutions/ (never overwrites a learner's work)
	$(BIN)/python -m fedlab lessons

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)  ## run the benchmarks (results go in benchmarks/README.md by hand)
	for b in benchmarks/bench_*.py; do $(BIN)/python $$b; done

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
