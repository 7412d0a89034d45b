"""Shared pieces of the plotting scripts: reading a table CSV back as numbers, saving a figure atomically."""

import csv
from pathlib import Path

from ctnet.atomic import atomic_path
from ctnet.workflow.tables import COLUMNS

NUMERIC = ("views", "top1", "top5", "gflops", "gflops_per_view",
           "paper_top1", "paper_top5", "paper_gflops", "paper_gflops_per_view")


def read_table_csv(path):
    """The rows of a make_table.py CSV with numeric cells as floats and empty cells as None."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: not found; build the table first (snakemake {path})")
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [column for column in COLUMNS if column not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: missing columns {missing}; rebuild it with scripts/make_table.py")
        rows = list(reader)
    for row in rows:
        for key in NUMERIC:
            row[key] = float(row[key]) if row[key] else None
    return rows


def save_figure(fig, path, dpi=150):
    """Save `fig` as PNG through a temporary file in the same folder."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png")
