#!/usr/bin/env python
"""What a finished run's jobs took beside what they asked for: each rule's time, and each job's peak memory and
wall time against its `resources:` (mem_mb, runtime), from Snakemake's `benchmark:` files.

    .venv/bin/python benchmarks/bench_run.py --run build/rehearsal --configfile config/paper.yaml config/rehearsal.yaml

`--run` is the folder the workflow ran in (its results/benchmarks/<rule>/<job>.tsv), `--configfile` the files it
ran with, in the same order. Snakemake samples a job's memory every second for its first 30 s and every 30 s
after, so a short peak of a long job can be missed. A job over what it asks is marked `OVER`: on a cluster, SLURM
would have killed it.
"""

import argparse
import csv
import os
import sys
from collections import defaultdict
from pathlib import Path

from snakemake.utils import update_config

from ctnet import paths
from ctnet.workflow import Plan
from ctnet.workflow.io import read_yaml

REPO = Path(__file__).resolve().parents[1]


def benchmarks(run_dir):
    """(rule, job, seconds, peak MB) of every benchmark file of the run."""
    folder = Path(run_dir) / paths.BENCHMARK.split("/{rule}")[0]
    if not folder.is_dir():
        raise SystemExit(f"bench_run.py: error: {folder} not found; pass --run the folder a workflow ran in")
    rows = []
    for path in sorted(folder.glob("*/**/*.tsv")):
        rule = path.relative_to(folder).parts[0]
        job = str(path.relative_to(folder / rule).with_suffix(""))
        with open(path, newline="") as handle:
            for record in csv.DictReader(handle, delimiter="\t"):
                rss = record.get("max_rss", "NA")
                rows.append((rule, job, float(record["s"]), float(rss) if rss not in ("NA", "-", "") else None))
    return rows


def asked(plan, rule, job):
    """(mem_mb, runtime minutes) the job asked for: its rule's resources, a training's planned time limit."""
    resources = plan.resources(rule)
    runtime = plan.train_runtime(paths.parse_run(job)[0]) if rule == "train" else resources.get("runtime")
    return resources.get("mem_mb"), runtime


def report(rows, plan):
    by_rule = defaultdict(list)
    for row in rows:
        by_rule[row[0]].append(row)
    print("| rule | jobs | mean | sum | peak memory | asks (mem_mb) |\n|---|---|---|---|---|---|")
    for rule, jobs in sorted(by_rule.items(), key=lambda item: -sum(row[2] for row in item[1])):
        seconds = [row[2] for row in jobs]
        peaks = [row[3] for row in jobs if row[3] is not None]
        peak = f"{max(peaks):.0f} MB" if peaks else "not sampled"
        print(f"| {rule} | {len(jobs)} | {sum(seconds) / len(jobs):.1f} s | {sum(seconds) / 60:.1f} min | {peak} | "
              f"{plan.resources(rule).get('mem_mb')} |")
    print("\n| job | time | asks (runtime) | peak memory | asks (mem_mb) | |\n|---|---|---|---|---|---|")
    over = 0
    for rule, job, seconds, peak in rows:
        mem_mb, runtime = asked(plan, rule, job)
        flag = "OVER" if (peak is not None and peak > mem_mb) or seconds > 60 * runtime else ""
        over += bool(flag)
        peak_text = f"{peak:.0f} MB" if peak is not None else "not sampled"
        print(f"| {rule} {job} | {seconds:.1f} s | {runtime} min | {peak_text} | {mem_mb} | {flag} |")
    print(f"\n{len(rows)} jobs, {over} over what they asked")
    return over


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", required=True, help="the folder in which the workflow ran")
    parser.add_argument("--configfile", nargs="+", default=["config/config.yaml"],
                        help="the configuration files of the run, in order (relative to --run)")
    args = parser.parse_args(argv)
    run_dir = Path(args.run)
    config = {}
    for path in args.configfile:
        update_config(config, read_yaml(run_dir / path))
    os.chdir(run_dir)  # the plan's relative data paths are the run's
    plan = Plan(config, root=".", config_path=args.configfile[-1])
    report(benchmarks("."), plan)
    return 0


if __name__ == "__main__":
    sys.exit(main())
