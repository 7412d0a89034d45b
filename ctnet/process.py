"""The end of a command-line process that imported torch."""

import logging
import os
import sys


def exit_without_teardown(code):
    """Exit with `code` (None counts as 0) once the logs and the standard streams are flushed, skipping Python's
    teardown of its modules.

    Tearing down torch's modules, and those of torch._dynamo that building an optimiser imports, takes seconds of
    CPU (docs/benchmarks.md, "Process exit"): more than a CPU-scale test spends on its clips. Call it only once the
    process's outputs are written and closed, as ctnet writes them (atomically, each closed before it is renamed).
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code or 0)
