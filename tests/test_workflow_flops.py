"""The FLOPs counts of the workflow: one count_flops job writes every FLOPs file a table spec reads, with the class
count of the paper dataset, instead of one job (mostly interpreter and torch start-up) per model and crop size."""

from pathlib import Path

import yaml
from helpers import job_counts, snakemake, workflow_copy

from ctnet import paths
from ctnet.workflow import Plan

ROOT = Path(__file__).resolve().parents[1]


def default_plan(config=None):
    return Plan(config or yaml.safe_load((ROOT / "config/config.yaml").read_text()), root=ROOT)


def test_one_job_counts_every_flops_file_a_table_reads():
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    plan = default_plan(config)
    read = {path for table in plan.specs for path in plan.table_inputs(table) if path.startswith("results/flops/")}
    counts = plan.flops_counts()
    assert [out for _, _, _, out in counts] == sorted(read)
    assert {(key, classes) for key, classes, _, _ in counts} >= {("v1_ctm_8f", 174), ("minik_ctm_8f", 200)}
    assert ("v1_ct_8f", 174, 224, paths.FLOPS.format(key="v1_ct_8f", size=224)) in counts
    # A run of some tables still counts for every table target (one home per FLOPs file).
    assert default_plan(dict(config, tables=["2e"])).flops_counts() == counts


def test_default_run_has_one_count_flops_job(tmp_path):
    result = snakemake(workflow_copy(tmp_path), "-n", "all_tables")
    assert result.returncode == 0, result.stderr[-3000:]
    counts = job_counts(result.stdout + result.stderr)
    assert counts["count_flops"] == 1
    assert counts["flops_experiment"] == len({key for key, _, _, _ in default_plan().flops_counts()})
