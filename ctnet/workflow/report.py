"""The workflow's tables as text, the one way each is written: CSV (results/tables/*.csv), Markdown tables (their
.md pages), and a fixed-decimals number as a CSV cell."""

import csv
import io


def csv_text(columns, rows):
    """CSV of the mappings `rows` over `columns`: a missing key is an empty cell, keys not in `columns` (a row's
    notes for the Markdown) are left out. Unix line ends, so a file's bytes are the same on every system."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n", extrasaction="ignore", restval="")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def markdown_table(header, rows):
    """The lines of a Markdown table. A cell's '|' is escaped and its line breaks become spaces, so that no text
    (a row label, a note) splits a row."""
    return [_markdown_row(header), "|" + "---|" * len(header)] + [_markdown_row(cells) for cells in rows]


def _markdown_row(cells):
    return "| " + " | ".join(str(cell).replace("|", "\\|").replace("\n", " ") for cell in cells) + " |"


def decimals(value, digits):
    """`value` with `digits` decimals for a CSV cell; '' for None (not reported, not reproduced)."""
    return "" if value is None else f"{value:.{digits}f}"
