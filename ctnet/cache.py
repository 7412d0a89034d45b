"""Values a job computes once and keeps in a JSON file (FLOPs counts, video counts), reused only when they check
out: reading such a file, and the check of one number read back. Apart from ctnet.workflow.io, which also uses
them, because ctnet.flops runs in jobs and must not import the workflow's planning layer.
"""
import json
import logging
import math
from pathlib import Path

log = logging.getLogger(__name__)


def number_problem(value, zero_ok=False, integer=False):
    """None where `value` is a finite number above zero (or zero, with `zero_ok`; an int, with `integer`), else what
    it is not, for an error line. A bool is no number here, though Python counts it as an int."""
    kinds = int if integer else (int, float)
    if (isinstance(value, kinds) and not isinstance(value, bool) and math.isfinite(value)
            and (value > 0 or zero_ok and value == 0)):
        return None
    if zero_ok:
        return "not an integer >= 0" if integer else "not a number >= 0"
    return "not a positive integer" if integer else "not a positive number"


def read_cache(path, problem_of):
    """The JSON data cached at `path`, or None where there is nothing to reuse: no file, or (with one warning naming
    it) a file that is unreadable or in which `problem_of(data)` finds a problem. The caller then makes the values
    again and writes the file anew: a cache is never trusted beyond what it can be checked for."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
    except OSError as err:
        problem = f"unreadable: {err.strerror}"
    except ValueError as err:  # a JSONDecodeError, or bytes that are not UTF-8
        problem = f"not valid JSON: {err}"
    else:
        problem = problem_of(data)
        if problem is None:
            return data
    log.warning("%s: cache ignored (%s); counting again and rewriting it", path, problem)
    return None
