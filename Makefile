# The two set-up commands of the README: `make all_tables` (the main job) and `make test`.
# Both create the virtual environment .venv/ when it is missing.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
CORES ?= 2

.PHONY: venv test all_tables lint

$(BIN)/snakemake: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

venv: $(BIN)/snakemake

test: venv
	$(BIN)/python -m pytest -q

all_tables: venv
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/snakemake all_tables --cores $(CORES) --rerun-triggers mtime params input --rerun-incomplete && echo "Tables: $(CURDIR)/results/tables/<table>.md and .csv; figures: $(CURDIR)/results/figures/"
