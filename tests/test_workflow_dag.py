"""The Snakemake DAG without running jobs: the paper configuration against annotation files of the real datasets'
sizes plans in under 30 s with a few hundred extraction shards, the default plans every table, lint is clean,
and a configuration mistake stops Snakemake with one line naming the file."""

import re
import time

import pytest
import yaml

from ctnet.workflow import Plan
from helpers import ROOT, job_counts, make_real_annotations, snakemake, workflow_copy

def test_paper_config_plans_the_full_reproduction_quickly(tmp_path):
    work = workflow_copy(tmp_path / "repo")
    data = tmp_path / "data"
    make_real_annotations(data)
    config = yaml.safe_load((ROOT / "config/paper.yaml").read_text())
    for name, source in config["sources"].items():
        for key in ("annotations", "videos", "frames"):
            if key in source:
                source[key] = str(data / source["kind"] / key)  # a dataset's splits share its annotations
    config["imagenet_weights"] = {name: str(data / "weights" / f"{name}.pth") for name in config["imagenet_weights"]}
    (work / "config/paper-test.yaml").write_text(yaml.safe_dump(config))

    start = time.monotonic()
    result = snakemake(work, "-n", "all_tables", "--configfile", "config/paper-test.yaml")
    elapsed = time.monotonic() - start
    assert result.returncode == 0, result.stderr[-3000:]
    output = result.stdout + result.stderr
    counts = job_counts(output)
    print(f"planned in {elapsed:.1f} s; jobs per rule: {counts}")
    assert elapsed < 30
    shards = {name: source.get("shards", 1) for name, source in config["sources"].items() if "videos" in source}
    assert counts["extract_frames"] == sum(shards.values()) <= 600
    assert 100 <= shards["kinetics400"] <= 500
    assert f"manifest.shard-{shards['kinetics400'] - 1}-of-{shards['kinetics400']}.csv" in output
    assert counts["build_lists"] == len(config["datasets"])  # one list job per dataset, never per video
    assert "make_synthetic" not in counts
    plan = Plan(config, root=work)
    assert counts["train"] == len(plan.experiments()) == len(plan.catalogue["experiments"])  # each trained once
    assert counts["table"] == len(plan.tables) == len(list((ROOT / "config/tables").glob("*.yaml")))
    # the cluster asks for GPUs in training and testing
    assert re.search(r"rule train:.*?resources:[^\n]*gpu=8", output, re.DOTALL)


def test_default_config_plans_every_table(tmp_path):
    work = workflow_copy(tmp_path)
    result = snakemake(work, "-n", "all_tables")
    assert result.returncode == 0, result.stderr[-3000:]
    counts = job_counts(result.stdout + result.stderr)
    assert counts["make_synthetic"] == 1 and counts["fig5"] == 1
    assert counts["table"] == len(list((ROOT / "config/tables").glob("*.yaml")))
    assert counts["train"] == counts["experiment_train"]
    assert "gpu=0" in result.stdout + result.stderr


def test_lint_is_clean(tmp_path):
    result = snakemake(workflow_copy(tmp_path), "--lint")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "Congratulations, your workflow is in a good condition!" in result.stdout + result.stderr


def test_config_mistake_is_one_clear_error(tmp_path):
    work = workflow_copy(tmp_path)
    config = yaml.safe_load((work / "config/smoke.yaml").read_text())
    config["scale"]["trian"] = {"epochs": 1}
    (work / "config/bad.yaml").write_text(yaml.safe_dump(config))
    result = snakemake(work, "-n", "all_tables", "--configfile", "config/bad.yaml")
    assert result.returncode != 0
    assert "config/bad.yaml: scale: Additional properties are not allowed ('trian' was unexpected)" in (
        result.stdout + result.stderr)


@pytest.mark.parametrize("key, value, message", [
    ("epochs", "ten", "train.epochs must be a positive integer, got 'ten'"),
    ("momentum", "high", "train.momentum must be a non-negative number, got 'high'"),
])
def test_experiment_type_error_fails_the_dry_run(tmp_path, key, value, message):
    """Caught when the plan is built, not inside a training job (whose failure costs the outputs it removes)."""
    work = workflow_copy(tmp_path)
    config = yaml.safe_load((work / "config/smoke.yaml").read_text())
    config["scale"]["train"][key] = value
    (work / "config/bad.yaml").write_text(yaml.safe_dump(config))
    result = snakemake(work, "-n", "all_tables", "--configfile", "config/bad.yaml")
    assert result.returncode != 0
    assert re.search(rf"config/bad.yaml: experiment \w+: {re.escape(message)}", result.stdout + result.stderr)


def test_a_new_table_is_one_yaml_file(tmp_path):
    """A spec dropped into config/tables/ gets its target rule (table<name>) and joins all_tables."""
    work = workflow_copy(tmp_path)
    spec = yaml.safe_load((work / "config/tables/2e.yaml").read_text())
    spec.update(table="9", title="Table 9: the CT-Module rows of Table 2e again")
    spec.pop("plot", None)
    (work / "config/tables/9.yaml").write_text(yaml.safe_dump(spec))
    smoke = ["--configfile", "config/smoke.yaml"]
    result = snakemake(work, "-n", "table9", *smoke)
    assert result.returncode == 0, result.stderr[-3000:]
    counts = job_counts(result.stdout + result.stderr)
    assert counts["table9"] == 1 and counts["table"] == 1 and "results/tables/9.md" in result.stdout
    every = job_counts(snakemake(work, "-n", "all_tables", *smoke).stdout)
    assert every["table"] == len(list((ROOT / "config/tables").glob("*.yaml"))) + 1


def test_experiment_given_official_weights_is_tested_never_trained(tmp_path):
    """`weights: {exp: official checkpoint}`: the checkpoint is converted (import_weights) and tested; no training
    job appears for the experiment, and its table rows say where the weights came from."""
    work = workflow_copy(tmp_path)
    (work / "released").mkdir()
    (work / "released/ct_net_8f_r50.pth.tar").write_bytes(b"stand-in")
    config = yaml.safe_load((work / "config/smoke.yaml").read_text())
    config["weights"] = {"v1_ct_8f": "released/ct_net_8f_r50.pth.tar"}
    (work / "config/released.yaml").write_text(yaml.safe_dump(config))
    released = ["--configfile", "config/released.yaml"]

    result = snakemake(work, "-n", "results/scores/v1_ct_8f/2clips_3crops.json", *released)
    assert result.returncode == 0, result.stderr[-3000:]
    counts = job_counts(result.stdout)
    assert counts["import_weights"] == 1 and counts["test"] == 1 and "train" not in counts
    assert "results/imported/v1_ct_8f/final.pt" in result.stdout

    plan = Plan(config, root=work, config_path="config/released.yaml")
    rows = [row for row in plan.table_plan("3")["rows"] if row.get("experiment") == "v1_ct_8f"]
    assert rows and all("official code's weights (released/ct_net_8f_r50.pth.tar)" in row["note"] for row in rows)
    assert all(plan.weights(exp) != plan.weights("v1_ct_8f") for exp in plan.experiments() if exp != "v1_ct_8f")
