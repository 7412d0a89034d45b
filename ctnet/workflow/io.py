"""YAML/JSON reading with errors that name the file, checks of the numbers read, caches that are remade when
invalid, and atomic YAML writing."""

import json
import logging
import math
from pathlib import Path

import yaml

from ctnet.atomic import write_text_atomic

log = logging.getLogger(__name__)


class ConfigError(ValueError):
    """A configuration or table-spec problem, phrased as one line naming the file and the fix."""


def write_yaml_atomic(path, data):
    write_text_atomic(path, yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=110))


def read_yaml(path):
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: file not found; check the path (relative paths are from the repository root)")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}:{where} is not valid YAML ({getattr(err, 'problem', err)}); fix the syntax") from None
    return {} if data is None else data


def read_json(path):
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found; run the rule that makes it first") from None
    except json.JSONDecodeError as err:
        raise ConfigError(f"{path}: not valid JSON ({err.msg}, line {err.lineno}); delete it and rerun its rule") from None


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


def read_gflops(path):
    """The per-view GFLOPs of a FLOPs file (paths.FLOPS, written by scripts/count_flops.py): a positive number, or
    one ConfigError line naming the file."""
    data = read_json(path)
    if not isinstance(data, dict) or "gflops" not in data:
        raise ConfigError(f"{path}: no 'gflops'; delete the file and rerun count_flops")
    problem = number_problem(data["gflops"])
    if problem:
        raise ConfigError(f"{path}: 'gflops' is {data['gflops']!r}, {problem}; delete the file and rerun count_flops")
    return data["gflops"]
