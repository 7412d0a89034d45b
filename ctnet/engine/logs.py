"""Logging of one engine command: to stderr and to a log file on the main process, warnings only elsewhere.

The log file is appended to, never truncated: Snakemake deletes a job's own `log:` before every attempt (a
retry and a rerun alike), so `train.log` is the file that keeps each attempt's lines, such as where a checkpoint
of other settings was kept aside, each attempt starting with a line that says so.
"""

import logging
import os
import socket
import sys

FORMAT = "%(asctime)s %(levelname)s %(message)s"


def setup_logging(log_file=None, is_main=True):
    """Route the `ctnet` loggers to stderr (and `log_file`); replaces handlers left by an earlier call."""
    root = logging.getLogger("ctnet")
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    root.setLevel(logging.INFO if is_main else logging.WARNING)
    root.propagate = False
    handlers = [logging.StreamHandler(sys.stderr)]
    if log_file is not None and is_main:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file, mode="a"))
    for handler in handlers:
        handler.setFormatter(logging.Formatter(FORMAT))
        root.addHandler(handler)
    if len(handlers) > 1:
        root.info("%s started (process %d on %s); every attempt's log is appended to %s",
                  " ".join(sys.argv), os.getpid(), socket.gethostname(), log_file)


def log_to_file(message, level=logging.ERROR):
    """Write `message` to the log file of `setup_logging` only: for what the program prints itself, such as
    its closing error line, which the file would otherwise lack."""
    record = logging.LogRecord("ctnet", level, __file__, 0, message, None, None)
    for handler in logging.getLogger("ctnet").handlers:
        if isinstance(handler, logging.FileHandler):
            handler.handle(record)
