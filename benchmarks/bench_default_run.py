#!/usr/bin/env python
"""Where the default run's time goes: wall time, CPU time and a per-rule table of Snakemake's own job records.

    .venv/bin/python benchmarks/bench_default_run.py --fresh          # clone this repository, time `make all_tables`
    .venv/bin/python benchmarks/bench_default_run.py --run DIR        # read DIR/.snakemake/metadata of a finished run

`--fresh` clones the committed tree into a temporary folder, removed afterwards (or `--into DIR`, kept), and runs
the README's main command there, so the figure includes creating `.venv/` and installing; CPU time is the
children's user + system time.
With `--run`, wall time is the span from the first job's start to the last job's end (no install) and CPU time is
unknown. The machine (CPU model, cores) is printed with the figures, and the training and test rules' measured time
beside the cost table's estimate for this repository's default configuration (ctnet.workflow.cost with its
throughput file, docs/cost.md): the estimate counts each job's start-up (Python, torch, the engine) and its clips'
model and loader time on a core of its own; a measured job also builds the model and the dataset, writes its outputs
and shares the machine with the other core's job.
"""

import argparse
import base64
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from ctnet.workflow import Plan
from ctnet.workflow.cost import cost_plan, price, throughput_path, work_of
from ctnet.workflow.io import read_yaml

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = "config/config.yaml"


def machine():
    model = platform.processor() or "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{model}, {os.cpu_count()} cores"


def job_records(run_dir):
    """One record per job (a job with several outputs has one metadata file per output, sharing its job hash)."""
    folder = Path(run_dir) / ".snakemake/metadata"
    if not folder.is_dir():
        raise SystemExit(f"bench_default_run.py: error: {folder} not found; pass --run the folder a workflow ran in")
    jobs = {}
    for path in folder.iterdir():
        record = json.loads(path.read_text())
        if record.get("starttime") is None or record.get("endtime") is None:
            continue
        output = base64.b64decode(path.name).decode(errors="replace")
        job = jobs.setdefault((record["rule"], record.get("job_hash")),
                              {"rule": record["rule"], "start": record["starttime"], "end": record["endtime"],
                               "outputs": []})
        # Each output's record is stamped a few microseconds apart: the job spans all of them.
        job["start"], job["end"] = min(job["start"], record["starttime"]), max(job["end"], record["endtime"])
        job["outputs"].append(output)
    return list(jobs.values())


def per_rule(jobs):
    """Rule -> (jobs, mean seconds, total seconds), the most expensive first."""
    times = defaultdict(list)
    for job in jobs:
        times[job["rule"]].append(job["end"] - job["start"])
    rows = [(rule, len(seconds), sum(seconds) / len(seconds), sum(seconds)) for rule, seconds in times.items()]
    return sorted(rows, key=lambda row: -row[3])


def minutes(seconds):
    return f"{int(seconds // 60)} min {seconds % 60:04.1f} s"


def estimated_seconds(config_path):
    """Rule -> (jobs, seconds) that the cost table estimates for the trainings and tests of a configuration."""
    plan = Plan(read_yaml(REPO / config_path), root=REPO, config_path=config_path)
    cost = price(cost_plan(plan), work_of(plan).throughput(throughput_path(plan)))
    return {rule: (sum(entry["runs"] for entry in entries),
                   sum(entry["wall_hours"] * entry["runs"] for entry in entries) * 3600)
            for rule, entries in (("train", cost["trainings"]), ("test", cost["tests"]))}


def report(jobs, wall, cpu, config_path):
    print(f"machine: {machine()}")
    print(f"wall time: {minutes(wall)}; CPU time (user + system): {minutes(cpu) if cpu is not None else 'unknown'}")
    span = max(job["end"] for job in jobs) - min(job["start"] for job in jobs)
    print(f"{len(jobs)} jobs from the first start to the last end: {minutes(span)}\n")
    print("| rule | jobs | mean | sum |\n|---|---|---|---|")
    measured = {}
    for rule, count, mean, total in per_rule(jobs):
        measured[rule] = (count, total)
        print(f"| {rule} | {count} | {mean:.1f} s | {total / 60:.1f} min |")
    print(f"\nagainst the cost table's estimate for {config_path} (docs/cost.md):\n")
    print("| rule | jobs run / planned | mean per job, measured | estimated | measured / estimated |\n"
          "|---|---|---|---|---|")
    for rule, (planned, estimate) in estimated_seconds(config_path).items():
        count, total = measured.get(rule, (0, 0.0))
        mean, estimated_mean = total / max(count, 1), estimate / planned
        print(f"| {rule} | {count} / {planned} | {mean:.1f} s | {estimated_mean:.1f} s | {mean / estimated_mean:.2f} |")


def fresh_run(into, cores):
    """Clone the committed tree into `into` and time `make all_tables` there; returns (wall, cpu) seconds."""
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(into)], check=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    done = subprocess.run(["make", "all_tables", f"CORES={cores}"], cwd=into)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        raise SystemExit(f"bench_default_run.py: error: make all_tables failed in {into} (exit {done.returncode})")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--fresh", action="store_true", help="clone this repository and time make all_tables")
    source.add_argument("--run", help="a folder in which the workflow ran (its .snakemake/metadata is read)")
    parser.add_argument("--into", help="with --fresh: the folder to clone into (default: a temporary folder)")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--config", default=DEFAULT_CONFIG, help="the configuration the run used (for the estimate)")
    args = parser.parse_args(argv)
    if args.run:
        jobs = job_records(args.run)
        report(jobs, max(job["end"] for job in jobs) - min(job["start"] for job in jobs), None, args.config)
        return 0
    if args.into:
        fresh_report(Path(args.into), args)
        return 0
    # The clone holds a 6 GB virtual environment: a temporary one goes once its records are read.
    with tempfile.TemporaryDirectory(prefix="ctnet-default-run-") as tmp:
        fresh_report(Path(tmp) / "repo", args)
    return 0


def fresh_report(into, args):
    wall, cpu = fresh_run(into, args.cores)
    report(job_records(into), wall, cpu, args.config)


if __name__ == "__main__":
    sys.exit(main())
