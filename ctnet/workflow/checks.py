"""Checks across the configuration, the experiment catalogue and the table specs, run when the plan is built.

`config.py` checks each file on its own (schemas, paths); these need the plan's view of what runs. Each problem
is one `ConfigError` line naming the file, the key and the fix, so that a dry run fails before any job starts.
"""

from ctnet.experiment import ExperimentError, resolve_experiment
from ctnet.workflow.config import DEFAULT_EXPERIMENTS, deep_merge
from ctnet.workflow.io import ConfigError


def check_plan(plan):
    check_names(plan)
    check_given_weights(plan)
    check_datasets_mapped(plan)
    check_parents_not_skipped(plan)
    check_protocols(plan)
    check_experiments(plan)


def check_names(plan):
    """`tables:` and `skip_experiments:` name tables and experiments that exist."""
    for table in plan.tables:
        if table not in plan.specs:
            raise ConfigError(f"{plan.config_path}: tables: no spec for table {table!r}; "
                              f"choose from {', '.join(plan.specs)}")
    for name in plan.skipped:
        if name not in plan.catalogue["experiments"]:
            raise ConfigError(f"{plan.config_path}: skip_experiments: no experiment named {name!r} in the catalogue")


def check_given_weights(plan):
    """`weights:` names experiments of the catalogue; one given weights is not also fine-tuned from here."""
    for exp in plan.config.get("weights", {}):
        if exp not in plan.catalogue["experiments"]:
            raise ConfigError(f"{plan.config_path}: weights: no experiment named {exp!r} in the catalogue")
        if "init_from" in plan.catalogue["experiments"][exp]:
            raise ConfigError(f"{plan.config_path}: weights.{exp}: the experiment fine-tunes another (init_from); "
                              "imported weights replace its training, so test the fine-tuned checkpoint instead")


def check_datasets_mapped(plan):
    for exp in plan.experiments(list(plan.specs)):
        dataset = plan.catalogue["experiments"][exp]["dataset"]
        if dataset not in plan.config["datasets"]:
            raise ConfigError(f"{plan.config_path}: datasets: paper dataset {dataset!r} (experiment {exp}) is not "
                              f"mapped to a source; add `{dataset}: <source>` or skip the experiment")


def check_parents_not_skipped(plan):
    """An experiment that fine-tunes another's weights (`init_from`) needs that one trained."""
    for exp in plan.experiments():
        parent = plan.catalogue["experiments"][exp].get("init_from")
        if parent in plan.skipped:
            raise ConfigError(f"{plan.config_path}: skip_experiments: {parent} is skipped but {exp} fine-tunes "
                              f"its weights (init_from); skip {exp} too, or train {parent}")


def check_protocols(plan):
    """A TSN-style `twice` protocol needs sparse sampling (scripts/test.py refuses it otherwise)."""
    catalogue = plan.catalogue
    for exp, protocol in plan.tests(list(plan.specs)):
        entry = catalogue["experiments"][exp]
        sampling = deep_merge(catalogue["paper_datasets"][entry["dataset"]].get("data", {}),
                              entry.get("data", {})).get("sampling", "sparse")
        if catalogue["protocols"][protocol].get("clip_sampling") == "twice" and sampling == "dense":
            raise ConfigError(f"config/tables: experiment {exp} samples densely but is tested with protocol "
                              f"{protocol} (clip_sampling: twice); use a protocol with clip_sampling: uniform")


def check_experiments(plan):
    """Every experiment the run trains or tests, resolved and checked as the engine will: a bad value stops the
    plan rather than a job, whose failure would also cost the outputs Snakemake removes."""
    for exp in plan.experiments():
        try:
            resolve_experiment(plan.resolve(exp), source=f"experiment {exp}")
        except ExperimentError as err:
            raise ConfigError(f"{plan.config_path}: {err}; fix the value in the configuration (scale:) or in "
                              f"{plan.config.get('experiments', DEFAULT_EXPERIMENTS)}") from None
