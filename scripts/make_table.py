#!/usr/bin/env python
"""Write one reproduced table beside the paper's numbers: scripts/make_table.py --plan P.json --csv T.csv --md T.md

The plan (written by the workflow's table_plan rule, see ctnet.workflow.Plan.table_plan) names each row's scores
and FLOPs files; the CSV has the columns of ctnet.workflow.tables.COLUMNS, the Markdown the same side by side, each
reproduced accuracy with its 95 % interval (ctnet.workflow.results), then the evidence of the table's claims
(ctnet.workflow.claims; their verdicts are on the claims page). Each number is computed once and printed twice.
"""

import argparse
import sys

from ctnet.workflow import claims
from ctnet.workflow.io import ConfigError, read_json
from ctnet.workflow.tables import build_rows, note_line, write_table


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plan", required=True, help="table plan JSON (results/tables/plans/<table>.json)")
    parser.add_argument("--csv", required=True, help="CSV to write")
    parser.add_argument("--md", required=True, help="Markdown to write")
    args = parser.parse_args(argv)
    try:
        plan = read_json(args.plan)
        rows = build_rows(plan)
        findings = claims.evaluate_plan(plan)
        write_table(plan, rows, findings, args.csv, args.md)
    except ConfigError as err:
        parser.exit(2, f"make_table.py: error: {err}\n")
    reproduced = sum(row["source"] == "reproduced" for row in rows)
    print(f"table {plan['table']}: {len(rows)} rows ({reproduced} reproduced) -> {args.csv}, {args.md}")
    note = note_line(plan, rows)
    if note:
        print(f"  note: {note.replace('**', '')}")
    for result in findings:
        print(f"  claim: {claims.evidence_line(result)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
