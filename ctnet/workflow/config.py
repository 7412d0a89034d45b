"""Loading and validating the workflow's inputs: the configuration, the experiment catalogue, the table specs.

Every problem is reported as one `ConfigError` line that names the file, the key and the fix, so that
`snakemake` stops before planning anything.
"""

import copy
import json
from pathlib import Path

import jsonschema

from ctnet.data.registry import DATASETS
from ctnet.workflow.findings import check_labels
from ctnet.workflow.io import ConfigError, read_yaml

DEFAULT_EXPERIMENTS = "config/experiments.yaml"
DEFAULT_TABLES_DIR = "config/tables"
SCHEMA_DIR = "workflow/schemas"
CONFIG_SCHEMA = "config.schema.json"


def deep_merge(base, override):
    """A copy of `base` with `override` applied key by key; nested mappings merge, anything else replaces."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def load_schema(schema_name, root):
    """workflow/schemas/<schema_name>; the configuration's dataset kinds are the registry's (one home)."""
    schema = json.loads((Path(root) / SCHEMA_DIR / schema_name).read_text())
    if schema_name == CONFIG_SCHEMA:
        schema["$defs"]["source"]["properties"]["kind"]["enum"] = list(DATASETS)
    return schema


def validate(data, schema_name, source, root):
    """Check `data` against workflow/schemas/<schema_name>; raise one ConfigError line naming `source`."""
    schema = load_schema(schema_name, root)
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(data), key=lambda e: list(e.path))
    if not errors:
        return
    error = errors[0]
    where = ".".join(str(part) for part in error.absolute_path) or "(top level)"
    message = error.message
    if error.validator == "additionalProperties":
        message += f"; remove or rename it (allowed keys: {', '.join(sorted(error.schema.get('properties', {})))})"
    elif error.validator == "oneOf":
        message = ("a row needs either `experiment` + `protocol`, or `ensemble`, or `mean_over` + `protocol`, "
                   "or `quoted: true` (exactly one)")
    raise ConfigError(f"{source}: {where}: {message} (schema {SCHEMA_DIR}/{schema_name})")


def configured_seeds(config):
    """The training seeds of a configuration: `seeds:`, else its one `seed:` (default 0)."""
    return list(config.get("seeds") or [config.get("seed", 0)])


def load_config(config, root, source):
    """Validate the configuration dict `config` (loaded by Snakemake from `source`) and check its paths."""
    for rule, resources in (config.get("resources") or {}).items():
        site = sorted(key for key in resources or {} if key.startswith("slurm_"))
        if site:
            # The rules read only the keys below; the cluster's own settings have one home, the SLURM profile.
            raise ConfigError(f"{source}: resources.{rule}.{site[0]}: site settings of the cluster belong in "
                              "slurm/config.yaml (default-resources, or set-resources per rule), not in the configuration")
    validate(config, CONFIG_SCHEMA, source, root)
    root = Path(root)
    for name, spec in config["sources"].items():
        kind = spec["kind"]
        where = f"{source}: sources.{name}"
        if kind == "synthetic":
            if "generate" not in spec:
                raise ConfigError(f"{where}: a synthetic source needs `generate:` (num_videos, size, frames, ...)")
            continue
        if "annotations" not in spec:
            raise ConfigError(f"{where}: `annotations:` is missing; set it to the folder of the official annotation files")
        given = [key for key in ("videos", "frames", "frames_from") if key in spec]
        if len(given) != 1:
            raise ConfigError(f"{where}: give exactly one of `videos:` (to extract), `frames:` (already extracted) "
                              f"or `frames_from:` (another source's frames); found {given or 'none'}")
        if "frames_from" in spec and spec["frames_from"] not in config["sources"]:
            raise ConfigError(f"{where}.frames_from: no source named {spec['frames_from']!r}; "
                              f"use one of {sorted(config['sources'])}")
    for dataset, name in config["datasets"].items():
        if name not in config["sources"]:
            raise ConfigError(f"{source}: datasets.{dataset}: no source named {name!r}; "
                              f"add it under `sources:` or use one of {sorted(config['sources'])}")
    return config


def missing_downloads(config, root, source):
    """{path: the one-line error for it} of the files a user downloads (datasets, ImageNet and released weights)
    that are not there yet. Not an error when the plan is built: a dry run and `snakemake cost` work before the
    download (the rules ask `Plan.downloaded`); a job that would read one is refused when the run starts."""
    root = Path(root)
    missing = {}
    for name, spec in config["sources"].items():
        for key in ("annotations", "videos", "frames"):
            if key in spec and not (root / spec[key]).exists():
                missing[spec[key]] = (f"{source}: sources.{name}.{key}: {spec[key]} does not exist; download the "
                                      "dataset there (docs/data.md) or point the key at it")
    for exp, path in config.get("weights", {}).items():
        if not (root / path).is_file():
            missing[path] = (f"{source}: weights.{exp}: {path} does not exist; point it at the checkpoint saved by "
                             "the official code (e.g. the released .pth.tar)")
    for backbone, path in config.get("imagenet_weights", {}).items():
        if not (root / path).is_file():
            missing[path] = (f"{source}: imagenet_weights.{backbone}: {path} does not exist; download the "
                             "torchvision ImageNet weights there or set scale.model.pretrained: null")
    return missing


def load_catalogue(path, root, overrides=None, config_path="the configuration"):
    """The experiment catalogue with every `base:` chain flattened: name -> full experiment definition.

    `overrides` (the configuration's `overrides:`) is merged over the catalogue's `paper_datasets:` and `protocols:`
    first, so that a configuration can choose another reading of a dataset's schedule or a test protocol (the
    official code's, in paper.yaml) without a second catalogue; the result is checked as the catalogue is.
    """
    data = read_yaml(Path(root) / path)
    for section, entries in (overrides or {}).items():
        for name, override in entries.items():
            if name not in data.get(section, {}):
                raise ConfigError(f"{config_path}: overrides.{section}.{name}: {path} has no such entry; "
                                  f"use one of {', '.join(data.get(section, {}))}")
            data[section][name] = deep_merge(data[section][name], override)
    validate(data, "experiments.schema.json", path, root)
    raw = data["experiments"]
    flat = {}

    def flatten(name, chain):
        if name in flat:
            return flat[name]
        if name not in raw:
            raise ConfigError(f"{path}: experiments.{chain[-1]}.base: no experiment named {name!r}")
        if name in chain:
            raise ConfigError(f"{path}: experiments.{name}: `base:` chain loops ({' -> '.join(chain + [name])})")
        entry = dict(raw[name])
        base_name = entry.pop("base", None)
        merged = deep_merge(flatten(base_name, chain + [name]), entry) if base_name else entry
        if merged.get("dataset") not in data["paper_datasets"]:
            raise ConfigError(f"{path}: experiments.{name}.dataset: {merged.get('dataset')!r} is not one of "
                              f"paper_datasets ({', '.join(data['paper_datasets'])})")
        if "model" not in merged:
            raise ConfigError(f"{path}: experiments.{name}: `model:` is missing (directly or through `base:`)")
        flat[name] = merged
        return merged

    for name in raw:
        flatten(name, [])
    for name in flat:
        chain = [name]
        while "init_from" in flat[chain[-1]]:
            source = flat[chain[-1]]["init_from"]
            if source not in flat:
                raise ConfigError(f"{path}: experiments.{chain[-1]}.init_from: no experiment named {source!r}")
            if source in chain:
                raise ConfigError(f"{path}: experiments.{name}: `init_from:` chain loops "
                                  f"({' -> '.join(chain + [source])})")
            chain.append(source)
    for ens_name, ensemble in data.get("ensembles", {}).items():
        for member in ensemble["members"]:
            if member["experiment"] not in flat:
                raise ConfigError(f"{path}: ensembles.{ens_name}: no experiment named {member['experiment']!r}")
            if member["protocol"] not in data["protocols"]:
                raise ConfigError(f"{path}: ensembles.{ens_name}: no protocol named {member['protocol']!r}")
    return {
        "paper_datasets": data["paper_datasets"],
        "protocols": data["protocols"],
        "experiments": flat,
        "ensembles": data.get("ensembles", {}),
    }


def load_tables(tables_dir, root, catalogue):
    """Every table spec of `tables_dir`: table id -> spec, with its references checked against the catalogue."""
    folder = Path(root) / tables_dir
    if not folder.is_dir():
        raise ConfigError(f"{tables_dir}: folder not found; set `tables_dir:` in the config to the table specs")
    specs = {}
    for path in sorted(folder.glob("*.yaml")):
        rel = f"{tables_dir}/{path.name}"
        spec = read_yaml(path)
        validate(spec, "table.schema.json", rel, root)
        if spec["table"] != path.stem:
            raise ConfigError(f"{rel}: `table: {spec['table']}` differs from the file name; rename one of them")
        labels = set()
        for index, row in enumerate(spec["rows"]):
            where = f"{rel}: rows[{index}] ({row['label']})"
            key = (row.get("group"), row["label"])
            if key in labels:
                raise ConfigError(f"{where}: the same label twice in one group; make the labels unique")
            labels.add(key)
            for name in [row["experiment"]] if "experiment" in row else row.get("mean_over", []):
                if name not in catalogue["experiments"]:
                    raise ConfigError(f"{where}: no experiment named {name!r} in the catalogue")
            if "protocol" in row and row["protocol"] not in catalogue["protocols"]:
                raise ConfigError(f"{where}: no protocol named {row['protocol']!r}; "
                                  f"use one of {sorted(catalogue['protocols'])}")
            if "ensemble" in row and row["ensemble"] not in catalogue["ensembles"]:
                raise ConfigError(f"{where}: no ensemble named {row['ensemble']!r} in the catalogue")
        check_labels(spec, rel)
        specs[spec["table"]] = spec
    if not specs:
        raise ConfigError(f"{tables_dir}: no table specs (*.yaml) found")
    return specs
