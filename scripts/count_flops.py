"""Count the GFLOPs and parameters of experiments' models, several in one process.

scripts/count_flops.py --count E.yaml N SIZE F.json [--count ...] [--views 1] [--cache DIR]
writes, for each --count, {"gflops", "params_m", "trainable_params_m", "frames", "size", "views"} of E's model
with N classes at SIZE x SIZE to F.json (docs/experiment.md). With --cache, counts of unchanged models are reused.
"""
import argparse
import sys

import yaml

from ctnet.atomic import write_json_atomic
from ctnet.flops import FlopsCounter
from ctnet.process import exit_without_teardown


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", nargs=4, action="append", required=True,
                        metavar=("EXPERIMENT", "NUM_CLASSES", "SIZE", "OUT"),
                        help="resolved experiment YAML with a model: mapping, classifier outputs, crop side (the "
                             "paper counts 256) and the JSON file to write; repeat for more counts")
    parser.add_argument("--views", type=int, default=1, help="clips x crops the figures are multiplied by")
    parser.add_argument("--cache", help="folder of counts kept across runs, keyed by what a count depends on")
    args = parser.parse_args(argv)
    counts = []
    for experiment, num_classes, size, out in args.count:
        if not (is_positive_int(num_classes) and is_positive_int(size)):
            parser.error(f"--count {experiment}: NUM_CLASSES and SIZE must be positive integers, "
                         f"got {num_classes!r} and {size!r}")
        counts.append((experiment, int(num_classes), int(size), out))
    args.count = counts
    return args


def is_positive_int(text):
    return text.isdigit() and int(text) > 0


def read_model_spec(path):
    try:
        with open(path) as f:
            experiment = yaml.safe_load(f)
    except OSError as error:
        raise SystemExit(f"{path}: cannot read the experiment ({error.strerror}); pass the resolved YAML")
    if not isinstance(experiment, dict) or not isinstance(experiment.get("model", {}), dict):
        raise SystemExit(f"{path}: not an experiment mapping with a 'model:' mapping; see docs/experiment.md")
    return dict(experiment.get("model") or {})


def main(argv=None):
    args = parse_args(argv)
    # Every experiment is read before the first (slow) count, so that a bad file fails the job at once.
    specs = {experiment: read_model_spec(experiment) for experiment, _, _, _ in args.count}
    counter = FlopsCounter(args.cache)
    for experiment, num_classes, size, out in args.count:
        try:
            result = counter.count(specs[experiment], num_classes, size)
        except ValueError as error:
            raise SystemExit(f"{experiment}: {error}")
        result.update(gflops=result["gflops"] * args.views, size=size, views=args.views)
        write_json_atomic(out, result)
        print(f"{experiment} at {size}: {result['gflops']:.2f} GFLOPs x{args.views}, {result['params_m']:.2f} M "
              f"params ({result['trainable_params_m']:.2f} M trainable) -> {out}", file=sys.stderr)


if __name__ == "__main__":
    exit_without_teardown(main())
