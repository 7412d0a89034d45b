"""Progress bars for terminals and log files alike."""

import sys

from tqdm import tqdm

# In a file (Snakemake's `log:`, a SLURM output file) every redraw is appended: there the bar redraws at most
# this often, and once when it closes.
LOG_REFRESH_SECONDS = 30.0


def progress_bar(iterable=None, **kwargs):
    """`tqdm(iterable, **kwargs)`, redrawing at most every LOG_REFRESH_SECONDS when stderr is not a terminal."""
    if not sys.stderr.isatty():
        kwargs.setdefault("mininterval", LOG_REFRESH_SECONDS)
    return tqdm(iterable, **kwargs)
