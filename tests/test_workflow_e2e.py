"""The smoke configuration end to end: a table from nothing, the HTML report, rerun triggers that spare training,
a training job killed half-way (Snakemake and its job sent SIGTERM) that resumes from its checkpoint, finished
weights that survive an unrecorded or failed rerun, and config paths that reach the shell as data."""

import csv
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from ctnet.data.synthetic import make_synthetic
from helpers import job_counts, workflow_copy

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ENV = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}

pytestmark = pytest.mark.slow


def snakemake_args(*args):
    return [sys.executable, "-m", "snakemake", *args]


def run(cwd, *args, timeout=600):
    result = subprocess.run(snakemake_args(*args), cwd=cwd, env=ENV, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return result.stdout + result.stderr


def test_smoke_table_report_and_rerun_triggers(tmp_path):
    work = workflow_copy(tmp_path)
    smoke = ["--configfile", "config/smoke.yaml"]
    run(work, "table2e", "--cores", "2", *smoke)

    with open(work / "results/tables/2e.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 4 and all(row["source"] == "reproduced" for row in rows)
    for row in rows:
        assert 0 <= float(row["top1"]) <= 100 and row["paper_top1"]
        # FLOPs at the paper's convention whatever the scale: the paper's (re-counted) GFLOPs of Table 2e
        assert float(row["gflops"]) == pytest.approx(float(row["paper_gflops"]), abs=0.1)
    assert (work / "results/figures/table2e.png").stat().st_size > 0

    report = work / "report.html"
    run(work, "table2e", *smoke, "--report", str(report))
    text = report.read_text(errors="replace")
    assert "2e.csv" in text and "table2e.png" in text

    # A table script edited (Snakemake compares small inputs' checksums, so a bare touch would not count):
    # its tables rerun, training and testing do not.
    with open(work / "scripts/make_table.py", "a") as handle:
        handle.write("# edited\n")
    output = run(work, "-n", "table2e", *smoke, "--rerun-triggers", "mtime", "params", "input")
    stats = output[output.index("Job stats:"):output.index("total")]
    planned = {match.group(1) for match in re.finditer(r"^(\w+)\s+\d+$", stats, re.MULTILINE)}
    assert planned == {"table", "plot_table", "table2e"}


def test_killed_training_resumes_from_checkpoint(tmp_path):
    work = workflow_copy(tmp_path)
    config = yaml.safe_load((work / "config/smoke.yaml").read_text())
    config["scale"]["train"]["epochs"] = 8  # long enough to be interrupted after the first checkpoint
    (work / "config/smoke-long.yaml").write_text(yaml.safe_dump(config))
    command = snakemake_args("results/train/v1_tsn_8f/final.pt", "--cores", "1",
                             "--configfile", "config/smoke-long.yaml")
    checkpoint = work / "results/checkpoints/v1_tsn_8f/last.pt"

    # Its own process group, signalled as a whole as SLURM (scancel, time limit) or a terminal does: Snakemake
    # alone on SIGTERM would let the running job finish.
    process = subprocess.Popen(command, cwd=work, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    deadline = time.monotonic() + 420
    while not checkpoint.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert checkpoint.exists() and process.poll() is None, "training ended or timed out before a checkpoint"
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=120)
    assert not (work / "results/train/v1_tsn_8f/final.pt").exists()

    subprocess.run(command, cwd=work, env=ENV, check=True, capture_output=True, timeout=600)
    log = (work / "results/logs/train/v1_tsn_8f.log").read_text()
    assert "resumed from results/checkpoints/v1_tsn_8f/last.pt at epoch" in log
    assert (work / "results/train/v1_tsn_8f/final.pt").exists()


def smoke_variant(work, name, edit):
    """config/<name>.yaml: the smoke configuration changed by `edit(config)`."""
    config = yaml.safe_load((work / "config/smoke.yaml").read_text())
    edit(config)
    (work / f"config/{name}.yaml").write_text(yaml.safe_dump(config))
    return ["--configfile", f"config/{name}.yaml"]


def test_two_seeds_train_apart_and_fill_cells_with_mean_spread_and_pooled_interval(tmp_path):
    work = workflow_copy(tmp_path)
    # Table 2e's first two rows and its first claim: two experiments, four trainings of one epoch.
    spec = yaml.safe_load((work / "config/tables/2e.yaml").read_text())
    spec.update(table="seeds", rows=spec["rows"][:2], findings=spec["findings"][:1])
    spec.pop("plot")
    (work / "config/tables/seeds.yaml").write_text(yaml.safe_dump(spec))
    two_seeds = smoke_variant(work, "smoke-2seeds", lambda config: (
        config.update(seeds=[0, 1], tables=["seeds"]), config["scale"]["train"].update(epochs=1)))
    run(work, "results/tables/seeds.csv", "--cores", "2", *two_seeds)

    weights = [torch.load(work / f"results/train/v1_ctm_res5_8f/seed{k}/final.pt", weights_only=True) for k in (0, 1)]
    assert weights[0]["settings"]["seed"] == 0 and weights[1]["settings"]["seed"] == 1
    assert any(not torch.equal(a, b) for a, b in zip(weights[0]["model"].values(), weights[1]["model"].values()))
    assert not (work / "results/train/v1_ctm_res5_8f/final.pt").exists()

    with open(work / "results/tables/seeds.csv", newline="") as handle:
        rows = {row["experiment"]: row for row in csv.DictReader(handle)}
    row = rows["v1_ctm_res5_8f"]
    per_seed = [json.loads((work / f"results/scores/v1_ctm_res5_8f/seed{k}/1x1.json").read_text())["top1"]
                for k in (0, 1)]
    assert row["seeds"] == "2" and float(row["top1"]) == pytest.approx(sum(per_seed) / 2, abs=0.01)
    assert (float(row["top1_seed_min"]), float(row["top1_seed_max"])) == pytest.approx(sorted(per_seed), abs=0.01)
    assert float(row["top1_lo"]) <= float(row["top1"]) <= float(row["top1_hi"])
    markdown = (work / "results/tables/seeds.md").read_text()
    assert "Top-1 of one seed (min–max)" in markdown and "mean over 2 training seeds" in markdown
    # Fewer seeds than verdict_min_seeds (3): the evidence, and no verdict word
    assert re.search(r"^- .*\(16.9% vs. 42.3%\).*: one run \(top-1, .*; 2 seeds", markdown, re.MULTILINE)


def test_finished_weights_survive_unrecorded_and_failed_reruns(tmp_path):
    work = workflow_copy(tmp_path)
    target = "results/train/v1_tsn_8f/final.pt"
    final, metrics = work / target, work / "results/train/v1_tsn_8f/metrics.csv"
    log = work / "results/logs/train/v1_tsn_8f.log"
    smoke = ["--configfile", "config/smoke.yaml"]
    run(work, target, "--cores", "1", *smoke)
    weights, table = final.read_bytes(), metrics.read_text()

    # A training that finished while Snakemake was gone (killed before it recorded the job, which then removed
    # its outputs): the rerun resumes at the last epoch and owes final.pt and metrics.csv, without training.
    final.unlink()
    metrics.unlink()
    log.unlink()
    run(work, target, "--cores", "1", *smoke, "--rerun-incomplete")
    assert "at epoch 2" in log.read_text() and "epoch 1/2:" not in log.read_text()
    assert metrics.read_text() == table

    # A changed setting whose training fails (a learning rate that makes the loss non-finite): Snakemake removes
    # final.pt, as it does for any failed job, whoever runs it. The trained weights are kept aside; going back to
    # the old setting brings them back in seconds.
    diverging = smoke_variant(work, "diverging", lambda config: config["scale"]["train"].update(lr=1.0e30))
    failed = subprocess.run(snakemake_args(target, "--cores", "1", *diverging), cwd=work, env=ENV,
                            capture_output=True, text=True, timeout=600)
    assert failed.returncode != 0 and not final.exists()
    assert "non-finite loss" in log.read_text()
    run(work, target, "--cores", "1", *smoke)
    assert "took back" in log.read_text()
    assert torch.equal(torch.load(final)["model"]["fc.weight"], torch.load(io.BytesIO(weights))["model"]["fc.weight"])
    assert metrics.read_text() == table


def test_config_paths_reach_the_shell_quoted(tmp_path):
    """A videos folder whose name holds a space and a command substitution is a path, never a command."""
    work = workflow_copy(tmp_path)
    videos = work / "data/my vids $(touch PWNED)"
    make_synthetic(videos.parent / "generated", num_videos=8, seed=0, size=32, num_frames=8, num_classes=4,
                   progress=False)
    (videos.parent / "generated/videos").rename(videos)

    def real_source(config):
        config["sources"] = {"mine": {"kind": "sthv2", "videos": str(videos.relative_to(work)),
                                      "annotations": "data/generated/annotations", "short_side": 0}}
        config["datasets"] = {dataset: "mine" for dataset in config["datasets"]}

    spaced = smoke_variant(work, "spaced", real_source)
    run(work, "results/data/mine/lists/train.txt", "--cores", "1", *spaced)
    assert not (work / "PWNED").exists() and not list(work.rglob("PWNED"))
    assert len((work / "results/data/mine/lists/train.txt").read_text().splitlines()) > 0


def test_released_weights_fill_table3_rows_without_training(tmp_path):
    """A checkpoint in the official code's format (names, Conv3d kernels, DataParallel prefix) given under
    `weights:` is converted and tested: Table 3's CT-Net 8f rows come out with no training of that model."""
    from test_import_official import official_state_dict, save_official  # the official naming, written as a test

    from ctnet.models import build_model
    from ctnet.workflow import Plan

    work = workflow_copy(tmp_path)
    released = smoke_variant(work, "released", lambda config: config.update(
        weights={"v1_ct_8f": "released/ct_net_8f.pth.tar"}))
    smoke = yaml.safe_load((work / "config/smoke.yaml").read_text())
    model = build_model(Plan(smoke, root=work).resolve("v1_ct_8f")["model"], 4)
    (work / "released").mkdir()
    save_official(work / "released/ct_net_8f.pth.tar", official_state_dict(model))

    # No training builds the lists first: a test of released weights must ask for them itself.
    plan = run(work, "results/scores/v1_ct_8f/1x1.npz", "--dry-run", *released)
    assert job_counts(plan)["build_lists"] == 1

    run(work, "table3", "--cores", "2", *released)
    assert not (work / "results/train/v1_ct_8f").exists()
    assert "official weights of" in (work / "results/logs/import_weights/v1_ct_8f.log").read_text()
    with open(work / "results/tables/3.csv", newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["experiment"] == "v1_ct_8f"]
    assert len(rows) == 2 and all(row["source"] == "reproduced" and row["top1"] for row in rows)
    assert all("official code's weights" in row["note"] for row in rows)
