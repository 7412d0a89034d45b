"""Count the GFLOPs and parameters of one experiment's model.

scripts/count_flops.py --experiment E.yaml --num-classes N --out F.json [--size 256] [--views 1]
writes {"gflops", "params_m", "trainable_params_m", "frames", "size", "views"} (docs/experiment.md).
"""
import argparse
import sys

import yaml

from ctnet.atomic import write_json_atomic
from ctnet.flops import count_flops
from ctnet.models import build_model


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--experiment", required=True, help="resolved experiment YAML with a model: mapping")
    parser.add_argument("--num-classes", type=int, required=True, help="classifier outputs")
    parser.add_argument("--out", required=True, help="JSON file to write")
    parser.add_argument("--size", type=int, default=256, help="crop side (the paper counts 256)")
    parser.add_argument("--views", type=int, default=1, help="clips x crops the figure is multiplied by")
    return parser.parse_args(argv)


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
    spec = read_model_spec(args.experiment)
    # Weights do not change the count, so the pretrained file need not exist on this machine.
    spec["pretrained"] = None
    try:
        model = build_model(spec, args.num_classes)
    except ValueError as error:
        raise SystemExit(f"{args.experiment}: {error}")
    frames = model.num_segments
    result = count_flops(model, frames, args.size, args.views)
    result.update(frames=frames, size=args.size, views=args.views)
    write_json_atomic(args.out, result)
    print(f"{args.experiment}: {result['gflops']:.2f} GFLOPs x{args.views}, {result['params_m']:.2f} M params "
          f"({result['trainable_params_m']:.2f} M trainable)", file=sys.stderr)


if __name__ == "__main__":
    main()
