"""YAML/JSON reading with errors that name the file, and atomic YAML writing."""

import json
from pathlib import Path

import yaml

from ctnet.atomic import write_text_atomic
from ctnet.cache import number_problem


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
