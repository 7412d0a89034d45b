# The two set-up commands of the README: `make all_tables` (the main job) and `make test`.
# Both create the virtual environment .venv/ when it is missing.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
CORES ?= 2
# Snakemake reruns a job when its inputs, params or inputs' times changed (not on a new Snakemake version or
# environment), and redoes the outputs of a run that was killed.
RERUN := --rerun-triggers mtime params input --rerun-incomplete

.PHONY: venv test all_tables rehearsal

$(BIN)/snakemake: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

venv: $(BIN)/snakemake

test: venv
	$(BIN)/python -m pytest -q

all_tables: venv
	$(BIN)/snakemake all_tables --cores $(CORES) $(RERUN) && echo "Tables: $(CURDIR)/results/tables/<table>.md and .csv; figures: $(CURDIR)/results/figures/"

# The CPU dress rehearsal of config/paper.yaml (docs/rehearsal.md): paper.yaml's models and protocols on tiny
# datasets in each real format, in a working copy of its own (build/rehearsal/: a snapshot of the code, and the
# data/ that the generator writes at paper.yaml's paths), then each rule's time and each job's peak memory beside
# what `resources:` asks.
REHEARSAL := build/rehearsal
REHEARSAL_CONFIG := config/paper.yaml config/rehearsal.yaml
rehearsal: venv
	mkdir -p $(REHEARSAL)
	rm -rf $(REHEARSAL)/workflow $(REHEARSAL)/config $(REHEARSAL)/scripts $(REHEARSAL)/ctnet
	cp -R workflow config scripts ctnet environment.yml $(REHEARSAL)/
	$(BIN)/python scripts/make_rehearsal_data.py --out $(REHEARSAL)/data
	cd $(REHEARSAL) && PYTHONPATH=$(CURDIR)/$(REHEARSAL) $(CURDIR)/$(BIN)/snakemake all_tables cost --cores $(CORES) \
		--configfile $(REHEARSAL_CONFIG) $(RERUN)
	PYTHONPATH=$(CURDIR)/$(REHEARSAL) $(BIN)/python benchmarks/bench_run.py --run $(REHEARSAL) --configfile $(REHEARSAL_CONFIG)
