"""Does a training recipe learn motion direction on the synthetic data, whatever the seed? Top-1 side by side.

    .venv/bin/python benchmarks/bench_recipe_seeds.py [--experiments v1_tsn_8f v1_ctm_8f v1_ct_8f] [--seeds 0 1 2]
        [--vary model.zero_init_residual=true,false] [--set train.epochs=8 ...] [--configfile config/config.yaml]
        [--jobs 2]

Each experiment is resolved as the workflow resolves it (`Plan.resolve`, the configuration's scale included),
then changed by every `--set KEY=VALUE` and by one value of `--vary KEY=V1,V2,...` (dotted keys into the
resolved experiment file, values in YAML), trained once per seed with the engine and tested with protocol 1x1.
It prints top-1 per seed, the mean and the minimum, one row per experiment and value. The CPU-scale default is
meant to beat TSN by a wide margin on every seed, not on average: a recipe that learns direction late in its
schedule passes on one seed and stays at chance on the next.

Reads the configuration's prepared data: run `make all_tables` first, or build only the lists, e.g.
`.venv/bin/snakemake --cores 2 results/data/synthetic/lists/train.txt`. Runs from the repository root; each
training uses one thread, `--jobs` of them at once.
"""
import argparse
import copy
import logging
import os
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch
import yaml

from ctnet.engine import api
from ctnet.workflow import Plan
from ctnet.workflow.io import read_yaml, write_yaml_atomic

PROTOCOL = "1x1"


def assign(spec, dotted, value):
    """Set `spec[a][b]... = value` for the dotted key `a.b...`, refusing keys the resolved file does not have."""
    *path, last = dotted.split(".")
    node = spec
    for key in path:
        if not isinstance(node.get(key), dict):
            raise SystemExit(f"error: {dotted}: the resolved experiment has no mapping {key!r}; see docs/experiment.md")
        node = node[key]
    node[last] = value


def parse_assignment(text):
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"{text!r}: expected KEY=VALUE, e.g. train.epochs=8")
    return key, value


def quiet_worker():
    """Pool workers: one thread each, and no progress bars or log lines interleaving with the table."""
    torch.set_num_threads(1)
    sys.stderr = open(os.devnull, "w")
    logging.disable(logging.INFO)


def train_and_test(spec, work_dir):
    """Top-1 (protocol 1x1) of `spec` trained from scratch in `work_dir`."""
    experiment = Path(work_dir) / "experiment.yaml"
    write_yaml_atomic(experiment, spec)
    final = api.train(experiment, work_dir, ckpt_dir=Path(work_dir) / "checkpoints", device="cpu")
    return api.test(experiment, final, PROTOCOL, Path(work_dir) / "scores.npz", device="cpu")["top1"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configfile", default="config/config.yaml")
    parser.add_argument("--experiments", nargs="+", default=["v1_tsn_8f", "v1_ctm_8f", "v1_ct_8f"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--set", dest="fixed", action="append", type=parse_assignment, default=[],
                        metavar="KEY=VALUE", help="applied to every run (repeatable)")
    parser.add_argument("--vary", type=parse_assignment, metavar="KEY=V1,V2",
                        help="one key compared over several values")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)

    plan = Plan(read_yaml(args.configfile), root=".", config_path=args.configfile)
    vary_key, vary_values = (args.vary[0], args.vary[1].split(",")) if args.vary else (None, [None])
    runs = []  # (row label, seed, spec)
    for exp in args.experiments:
        base = plan.resolve(exp)
        for key, value in args.fixed:
            assign(base, key, yaml.safe_load(value))
        for value in vary_values:
            spec = copy.deepcopy(base)
            if vary_key:
                assign(spec, vary_key, yaml.safe_load(value))
            label = exp if vary_key is None else f"{exp} {vary_key}={value}"
            lists = (spec["data"]["train_list"], spec["data"]["val_list"])
            missing = [path for path in lists if not Path(path).is_file()]
            if missing:
                raise SystemExit(f"error: {missing[0]} not found; build the data first (see this script's docstring)")
            for seed in args.seeds:
                runs.append((label, seed, {**spec, "seed": seed}))

    with tempfile.TemporaryDirectory(prefix="recipe-seeds-") as tmp, \
            ProcessPoolExecutor(args.jobs, initializer=quiet_worker) as pool:
        futures = [pool.submit(train_and_test, spec, Path(tmp) / str(index)) for index, (_, _, spec) in enumerate(runs)]
        top1 = {(label, seed): future.result() for (label, seed, _), future in zip(runs, futures)}

    fixed = ", ".join(f"{key}={value}" for key, value in args.fixed) or "none"
    print(f"top-1 (%) with protocol {PROTOCOL}; config {args.configfile}; --set: {fixed}")
    width = max(len(label) for label, _, _ in runs)
    print(f"{'experiment':<{width}}  " + "  ".join(f"seed {seed:>2}" for seed in args.seeds) + "    mean     min")
    for label in dict.fromkeys(label for label, _, _ in runs):
        values = [top1[label, seed] for seed in args.seeds]
        print(f"{label:<{width}}  " + "  ".join(f"{value:7.2f}" for value in values)
              + f"  {sum(values) / len(values):6.2f}  {min(values):6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
