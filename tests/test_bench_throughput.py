"""benchmarks/bench_throughput.py at CI size: a quick CPU run over a small configuration, and an estimate from
GFLOPs, each writing a throughput file that the cost table reads."""

import os
import subprocess
import sys

import pytest
import yaml

from ctnet.workflow import Plan
from ctnet.workflow.cost import Throughput, cost_plan, price, throughput_needs
from test_workflow_cost import small_config
from helpers import ROOT


def bench(tmp_path, *options):
    """Run the benchmark on Table 2e of the smoke configuration; (plan, output, throughput file's data)."""
    config = tmp_path / "small.yaml"
    config.write_text(yaml.safe_dump(small_config(["2e"])))
    out = tmp_path / "speed.yaml"
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks/bench_throughput.py"), "--config", str(config),
                             "--quick", "--out", str(out), *options], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr[-3000:]
    plan = Plan(small_config(["2e"]), root=ROOT, config_path=str(config))
    return plan, result.stdout, out


def test_quick_cpu_run_writes_a_file_the_cost_table_reads(tmp_path):
    plan, output, out = bench(tmp_path, "--device", "cpu")
    data = yaml.safe_load(out.read_text())
    assert {(row["model"], row["size"]) for row in data["models"]} == set(throughput_needs(plan))
    assert all(row["source"] == "measured" and row["train_clips_per_s"] > 0 and row["test_clips_per_s"] > 0
               and row["gflops"] > 0 for row in data["models"])
    assert {(row["split"], row["frames"]) for row in data["loaders"]} == {(s, f) for s in ("train", "test")
                                                                          for f in (8, 16)}
    assert data["frame_bytes"]["bytes_per_frame"] > 0 and f"--out {out}" in data["command"]
    # A process that imports torch takes well over 0.1 s of CPU; a training's also loads torch's compiler stack.
    assert 0.1 < data["startup"]["test_seconds"] < data["startup"]["train_seconds"]
    tsn = next(line for line in output.splitlines() if line.startswith("| tsn-"))
    assert tsn.endswith("| 1.00 | 1.00 | 1.00 |")  # TSN beside itself
    cost = price(cost_plan(plan), Throughput(out, "measure"))
    assert cost["totals"]["train_hours"] > 0 and {entry["source"] for entry in cost["trainings"]} == {"measured"}


def test_estimate_divides_an_assumed_flop_rate_by_the_flops_of_a_clip(tmp_path):
    plan, _, out = bench(tmp_path, "--estimate", "--tflops", "2", "--device-name", "a 2-TFLOP/s device")
    data = yaml.safe_load(out.read_text())
    for row in data["models"]:
        assert row["source"] == "estimate" and row["device"] == "a 2-TFLOP/s device"
        # fvcore counts multiply-adds: 2 FLOPs each; a training step is three forward passes' worth
        assert row["test_clips_per_s"] == pytest.approx(2e12 / (2 * row["gflops"] * 1e9), rel=1e-3)
        assert row["train_clips_per_s"] == pytest.approx(row["test_clips_per_s"] / 3, rel=1e-3)
    assert "2 effective TFLOP/s assumed" in data["basis"]
    assert {entry["source"] for entry in price(cost_plan(plan), Throughput(out, "m"))["tests"]} == {"estimate"}
