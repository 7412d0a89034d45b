"""Shared pieces of the plotting scripts: reading a table CSV back as numbers, error bars from its bootstrap
intervals, saving a figure atomically."""

import csv
from pathlib import Path

from ctnet.atomic import atomic_path
from ctnet.workflow.tables import COLUMNS, INTERVAL_COLUMNS

NUMERIC = ("views", "top1", "top5", "gflops", "gflops_per_view",
           "paper_top1", "paper_top5", "paper_gflops", "paper_gflops_per_view") + tuple(INTERVAL_COLUMNS)


def read_table_csv(path):
    """The rows of a make_table.py CSV with numeric cells as floats and empty cells as None. A CSV written
    before the interval columns existed reads with them all None (no error bars)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: not found; build the table first (snakemake {path})")
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [column for column in COLUMNS
                   if column not in (reader.fieldnames or []) and column not in INTERVAL_COLUMNS]
        if missing:
            raise ValueError(f"{path}: missing columns {missing}; rebuild it with scripts/make_table.py")
        rows = list(reader)
    for row in rows:
        for key in NUMERIC:
            row[key] = float(row[key]) if row.get(key) else None
    return rows


def error_bar(row, metric):
    """[[below], [above]] for matplotlib's `yerr` from the row's `<metric>_lo`/`_hi`, or None when empty."""
    value, lo, hi = row.get(metric), row.get(f"{metric}_lo"), row.get(f"{metric}_hi")
    if value is None or lo is None or hi is None:
        return None
    return [[max(0.0, value - lo)], [max(0.0, hi - value)]]


def save_figure(fig, path, dpi=150):
    """Save `fig` as PNG through a temporary file in the same folder."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png")
