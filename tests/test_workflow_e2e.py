"""The smoke configuration end to end: a table from nothing, the HTML report, rerun triggers that spare training,
and a training job killed half-way (Snakemake and its job sent SIGTERM) that resumes from its checkpoint."""

import csv
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ENV = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}

pytestmark = pytest.mark.slow


def workflow_copy(tmp_path):
    """A private working copy (own results/ and .snakemake/) of what the workflow reads."""
    for name in ("workflow", "config", "scripts"):
        shutil.copytree(ROOT / name, tmp_path / name)
    shutil.copy(ROOT / "environment.yml", tmp_path)
    return tmp_path


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
    final = work / "results/train/v1_ctm_8f/final.pt"
    assert not final.stat().st_mode & 0o222  # protected

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
