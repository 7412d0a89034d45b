"""Logging of one engine command: to stderr and to a log file on the main process, warnings only elsewhere."""

import logging
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
        handlers.append(logging.FileHandler(log_file))
    for handler in handlers:
        handler.setFormatter(logging.Formatter(FORMAT))
        root.addHandler(handler)
