#!/usr/bin/env python
"""Print (or write) the resolved experiment file the workflow would write for one experiment of the catalogue.

scripts/resolve_experiment.py NAME [--configfile config/config.yaml] [--paper-scale] [--out FILE]
--paper-scale prints the model spec the FLOPs rule counts (unscaled, the paper dataset's class count).
Run from the repository root.
"""

import argparse
import sys

import yaml

from ctnet.workflow import ConfigError, Plan
from ctnet.workflow.io import read_yaml, write_yaml_atomic


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", help="experiment name (config/experiments.yaml)")
    parser.add_argument("--configfile", default="config/config.yaml")
    parser.add_argument("--paper-scale", action="store_true", help="the FLOPs rule's model instead")
    parser.add_argument("--out", help="write here (atomically) instead of printing")
    args = parser.parse_args(argv)
    try:
        plan = Plan(read_yaml(args.configfile), root=".", config_path=args.configfile)
        if args.name not in plan.catalogue["experiments"]:
            raise ConfigError(f"{args.name}: no such experiment; choose from config/experiments.yaml "
                              f"({', '.join(sorted(plan.catalogue['experiments']))})")
        if args.paper_scale:
            spec = {**plan.resolver.flops_experiment(args.name), "num_classes": plan.resolver.paper_model(args.name)[1]}
        else:
            spec = plan.resolve(args.name)
    except ConfigError as err:
        parser.exit(2, f"resolve_experiment.py: error: {err}\n")
    if args.out:
        write_yaml_atomic(args.out, spec)
    else:
        sys.stdout.write(yaml.safe_dump(spec, sort_keys=False, default_flow_style=None, width=110))
    return 0


if __name__ == "__main__":
    sys.exit(main())
