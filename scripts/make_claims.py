#!/usr/bin/env python
"""Test every claim of the paper on this run: scripts/make_claims.py --plans P1.json P2.json ... --csv C.csv --md C.md

Each table plan (results/tables/plans/<table>.json, written by the workflow's table_plan rule) carries its spec's
`findings:`: comparative sentences of the paper with the rows that test them. ctnet.workflow.claims gathers each
claim's evidence (the same that each table's Markdown lists) and decides the verdicts over the whole page at once:
Holm's step-down over the accuracy claims with enough seeds, "one run" without a verdict word below them,
repeated tests marked, GFLOPs facts apart. The Markdown page starts with the counts and the error control, then
the accuracy claims and the GFLOPs facts; the CSV has the columns of ctnet.workflow.claims.CSV_COLUMNS. Both are
written atomically.
"""

import argparse
import sys

from ctnet.atomic import write_text_atomic
from ctnet.workflow import claims
from ctnet.workflow.io import ConfigError, read_json


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plans", nargs="+", required=True, help="table plan JSONs (results/tables/plans/*.json)")
    parser.add_argument("--csv", required=True, help="CSV to write (one row per claim)")
    parser.add_argument("--md", required=True, help="Markdown to write (counts, then one row per claim)")
    args = parser.parse_args(argv)
    try:
        plans = [read_json(path) for path in args.plans]
        # one table at a time: each loads its scores files once, and memory holds one table's files
        results = claims.decide([result for plan in plans for result in claims.evaluate_plan(plan)])
        csv_text, md_text = claims.to_csv(results), claims.to_markdown(plans, results)
    except ConfigError as err:
        parser.exit(2, f"make_claims.py: error: {err}\n")
    write_text_atomic(args.csv, csv_text)
    write_text_atomic(args.md, md_text)
    print(f"{len(results)} claims from {len(plans)} tables: {claims.counts_line(results)} -> {args.csv}, {args.md}")
    for result in results:
        if result.verdict not in (claims.REPRODUCED, claims.HOLDS, claims.SAME_TEST):
            print(f"  table {result.table}: {result.verdict}: {claims.evidence_line(result)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
