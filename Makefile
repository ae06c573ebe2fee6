# Two commands set up everything on a fresh machine: `make serve` and `make test`.
VENV   ?= .venv
PYTHON ?= python3
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install serve demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch is pinned to the CPU build (torch==2.13.0) inside the `st` extra.
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## Build the demo workspace (catalog, index, partners, usage logs) and serve API + console.
serve: $(STAMP)
	$(BIN)/recommender demo
	$(BIN)/recommender serve

demo: $(STAMP)
	$(BIN)/recommender demo

## The whole test suite (browser tests need Debian's chromium: see .ci/run).
test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check features recommender service demo cli tests bench
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m bench.run_all

clean:
	rm -rf data/catalog data/cache data/generated data/*.sqlite* data/*.parquet data/playbook.yaml
