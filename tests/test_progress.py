"""Progress bars in log files: Snakemake's `log:` and SLURM output files get a redraw every 30 s, not every step."""

import io
import sys

from ctnet.progress import LOG_REFRESH_SECONDS, progress_bar


def test_bars_redraw_rarely_in_files_and_freely_on_terminals(monkeypatch):
    log = io.StringIO()
    monkeypatch.setattr(sys, "stderr", log)
    bar = progress_bar(range(1000), desc="epoch 1/1")
    assert bar.mininterval == LOG_REFRESH_SECONDS
    for _ in bar:
        bar.set_postfix(loss="1.0", refresh=False)
    # the opening and the closing state only, however many steps
    assert log.getvalue().count("epoch 1/1") == 2

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr(sys, "stderr", Terminal())
    assert progress_bar(range(3)).mininterval < 1
