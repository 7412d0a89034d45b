#!/usr/bin/env python
"""Write the cost table: scripts/make_cost.py --plan results/cost/plan.json --throughput F.yaml --csv C --md M

The plan's work (written by the workflow's cost_plan rule, ctnet.workflow.cost.cost_plan) priced with a throughput
file (benchmarks/bench_throughput.py): device hours per training, test and paper table, frame storage, jobs and
totals. docs/cost.md explains every figure.
"""

import argparse
import sys

from ctnet.workflow.cost import Throughput, measure_command, price, write_cost
from ctnet.workflow.io import ConfigError, read_json


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--plan", required=True, help="the work of a configuration (results/cost/plan.json)")
    parser.add_argument("--throughput", required=True, help="throughput file (config/throughput/*.yaml)")
    parser.add_argument("--csv", required=True, help="CSV to write")
    parser.add_argument("--md", required=True, help="Markdown to write")
    args = parser.parse_args(argv)
    try:
        plan = read_json(args.plan)
        command = measure_command(plan["config"], plan["device"], args.throughput)
        cost = price(plan, Throughput(args.throughput, command))
    except ConfigError as err:
        parser.exit(2, f"make_cost.py: error: {err}\n")
    write_cost(cost, args.csv, args.md)
    totals = cost["totals"]
    print(f"{plan['config']}: training {totals['train_hours']:.1f} h, testing {totals['test_hours']:.1f} h, "
          f"frames {totals['gigabytes']:.1f} GB, {totals['jobs']} jobs -> {args.csv}, {args.md}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
