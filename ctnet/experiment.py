"""Read a resolved experiment YAML (docs/experiment.md), check every section and fill the engine's defaults.

The engine owns the `train:` and `protocols:` sections. `model:` and `data:` are passed on to `build_model`
and `build_dataset`, which fill their own defaults (`ctnet.model_spec`, `ctnet.data.spec`), with two exceptions
filled here when absent: `model.dropout`, whose paper default depends on the dataset family (appendix A.1), and
`data.workers`, the engine's DataLoader's. Every section is checked here, so that the workflow, which imports
this module without torch, refuses a bad value when it plans the run rather than when a job runs.
"""

import copy
from pathlib import Path

import yaml

from ctnet.data.registry import KINETICS_DATASETS
from ctnet.data.spec import DATA_DEFAULTS, check_data
from ctnet.model_spec import is_int, is_number, resolve_spec

# The paper's training schedules (appendix A.1), kept here only: Kinetics-style datasets (`data.dataset` in the
# registry's KINETICS_DATASETS) and the rest (Something-Something and any other) differ in epochs, learning rate,
# dropout and weight decay. config/experiments.yaml states only what differs from these for a paper dataset
# (UCF101/HMDB51's fine-tuning, and the Kinetics schedule for CPU-scale runs on synthetic data;
# tests/test_engine_config.py keeps that copy equal to KINETICS_TRAIN_DEFAULTS).
TRAIN_DEFAULTS = {
    "epochs": 45,
    "batch_size": 64,
    # Clips one process computes at once; batch_size / (processes x micro_batch) of them, gradients accumulated,
    # make one optimiser step. null: the process's whole share, no accumulation. The official BN batch is 8.
    "micro_batch": None,
    "lr": 0.02,
    "base_batch": 64,
    "warmup_epochs": 10,
    "optimizer": "sgd",
    "momentum": 0.9,
    "weight_decay": 5.0e-4,
    "clip_grad_norm": 20.0,
    "amp": "bf16",
    "channels_last": True,
    "deterministic": False,
    "eval_every": 0,
    "init_from": None,
    # The new classifier's learning rate as a multiple of the others' (weight decayed, bias not); the official
    # code's fc_lr5 is {weight: 5, bias: 10}.
    "head_lr_scale": {"weight": 1.0, "bias": 1.0},
    # Which epoch's weights final.pt holds: "last", or "best" (highest val_top1; needs eval_every: 1), the official
    # code's best.pth.tar.
    "select": "last",
}
KINETICS_TRAIN_DEFAULTS = {**TRAIN_DEFAULTS, "epochs": 110, "lr": 0.01, "weight_decay": 1.0e-4}
# sgd: the paper's. adamw: for the CPU-scale configs, whose small models train from scratch for a few hundred
# steps, where SGD has not left its plateau yet (measured on the synthetic dataset: chance vs ~80 % top-1).
OPTIMIZERS = ("sgd", "adamw")
DROPOUT_DEFAULTS = {"kinetics": 0.5, "other": 0.3}
DATA_WORKERS_DEFAULT = 4

PROTOCOL_DEFAULTS = {
    "clips": 1,
    "clip_sampling": "center",
    "crops": 1,
    "size": 256,
    "average": "scores",
    "views_per_batch": 16,
    "resize": None,  # null: short side to size; R: short side to R, then the official code's crops of size
}
PROTOCOL_CHOICES = {
    "clip_sampling": ("center", "twice", "uniform", "segment_spread"),
    "crops": (1, 3),
    "average": ("scores", "softmax"),
}
AMP_CHOICES = (None, "bf16", "fp16")


class ExperimentError(ValueError):
    """A resolved experiment file that the engine cannot run."""


def flatten(mapping, prefix=""):
    """(dotted key, value) pairs of a nested mapping, lists as tuples: a hashable, comparable fingerprint."""
    for key, value in mapping.items():
        if isinstance(value, dict):
            yield from flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", tuple(value) if isinstance(value, list) else value


def load_experiment(path):
    """Read the YAML file at `path` and return the experiment dict with the engine's defaults filled in."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ExperimentError(f"{path}: experiment file not found; pass the YAML the workflow wrote") from None
    except yaml.YAMLError as err:
        raise ExperimentError(f"{path}: not valid YAML ({err}); fix the file's syntax") from None
    return resolve_experiment(raw, source=str(path))


def resolve_experiment(raw, source="experiment"):
    """Check `raw` (a parsed experiment mapping) and return a copy with the engine's defaults filled in."""
    if not isinstance(raw, dict):
        raise ExperimentError(f"{source}: expected a mapping with keys name, model, data, train; "
                              f"got {type(raw).__name__}")
    for key in ("name", "model", "data"):
        if key not in raw:
            raise ExperimentError(f"{source}: missing required key '{key}' (see docs/experiment.md)")
    exp = copy.deepcopy(raw)
    exp.setdefault("seed", 0)
    if not is_int(exp["seed"]):
        raise ExperimentError(f"{source}: seed must be an integer, got {exp['seed']!r}")
    for key in ("model", "data"):
        if not isinstance(exp[key], dict):
            raise ExperimentError(f"{source}: '{key}' must be a mapping, got {type(exp[key]).__name__}")

    kinetics = exp["data"].get("dataset") in KINETICS_DATASETS
    exp["model"].setdefault("dropout", DROPOUT_DEFAULTS["kinetics" if kinetics else "other"])
    try:
        resolve_spec(exp["model"])
    except ValueError as err:
        raise ExperimentError(f"{source}: {err}") from None
    try:
        check_data({**DATA_DEFAULTS, **exp["data"]})
    except ValueError as err:
        raise ExperimentError(f"{source}: {err}") from None
    # The DataLoader is the engine's, so is its worker count.
    exp["data"].setdefault("workers", DATA_WORKERS_DEFAULT)
    workers = exp["data"]["workers"]
    if not is_int(workers) or workers < 0:
        raise ExperimentError(f"{source}: data.workers must be a non-negative integer, got {workers!r}")

    train = exp.get("train") or {}
    if not isinstance(train, dict):
        raise ExperimentError(f"{source}: 'train' must be a mapping, got {type(train).__name__}")
    defaults = KINETICS_TRAIN_DEFAULTS if kinetics else TRAIN_DEFAULTS
    unknown = sorted(set(train) - set(defaults))
    if unknown:
        raise ExperimentError(f"{source}: unknown train keys {unknown}; allowed: {sorted(defaults)}")
    exp["train"] = {**defaults, **train}
    _check_train(exp["train"], source)

    protocols = exp.get("protocols") or {"1x1": {}}
    if not isinstance(protocols, dict):
        raise ExperimentError(f"{source}: 'protocols' must map protocol names to definitions")
    exp["protocols"] = {name: resolve_protocol(spec or {}, f"{source}: protocol '{name}'")
                        for name, spec in protocols.items()}
    return exp


def accumulation(batch_size, micro_batch, world_size, name):
    """(micro-batch, accumulation steps) of one process (the trainer's, and the workflow's plan for GPUs):
    `micro_batch` clips per forward pass (null: the whole per-process share, batch_size / world_size) and
    batch_size / (world_size x micro_batch) of them per optimiser step, which must be whole; else one line naming
    the numbers and the fix."""
    if batch_size % world_size:
        raise ValueError(f"{name}: train.batch_size {batch_size} is not divisible by {world_size} processes; "
                         "change the batch or --gpus")
    share = batch_size // world_size
    micro_batch = micro_batch or share
    if share % micro_batch:
        raise ValueError(f"{name}: train.batch_size {batch_size} over {world_size} process(es) is {share} clips "
                         f"each, not a multiple of train.micro_batch {micro_batch}; set a micro_batch that divides "
                         f"{share} or change --gpus")
    return micro_batch, share // micro_batch


def resolve_protocol(spec, source="protocol"):
    """Return the protocol `spec` with defaults filled in, checking every value."""
    unknown = sorted(set(spec) - set(PROTOCOL_DEFAULTS))
    if unknown:
        raise ExperimentError(f"{source}: unknown keys {unknown}; allowed: {sorted(PROTOCOL_DEFAULTS)}")
    protocol = {**PROTOCOL_DEFAULTS, **spec}
    for key, choices in PROTOCOL_CHOICES.items():
        if protocol[key] not in choices:
            raise ExperimentError(f"{source}: {key} must be one of {list(choices)}, got {protocol[key]!r}")
    for key in ("clips", "size", "views_per_batch"):
        if not is_int(protocol[key]) or protocol[key] < 1:
            raise ExperimentError(f"{source}: {key} must be a positive integer, got {protocol[key]!r}")
    if protocol["resize"] is not None and not (is_int(protocol["resize"]) and protocol["resize"] >= protocol["size"]):
        raise ExperimentError(f"{source}: resize must be null or an integer >= size, got {protocol['resize']!r}")
    return protocol


def _check_train(train, source):
    for key in ("epochs", "batch_size", "base_batch"):
        if not is_int(train[key]) or train[key] < 1:
            raise ExperimentError(f"{source}: train.{key} must be a positive integer, got {train[key]!r}")
    micro = train["micro_batch"]
    if micro is not None and not (is_int(micro) and micro >= 1 and train["batch_size"] % micro == 0):
        raise ExperimentError(f"{source}: train.micro_batch must be null or a positive integer dividing "
                              f"train.batch_size {train['batch_size']}, got {micro!r}")
    for key in ("warmup_epochs", "eval_every"):
        if not is_int(train[key]) or train[key] < 0:
            raise ExperimentError(f"{source}: train.{key} must be a non-negative integer, got {train[key]!r}")
    for key in ("lr", "momentum", "weight_decay"):
        if not is_number(train[key]) or train[key] < 0:
            raise ExperimentError(f"{source}: train.{key} must be a non-negative number, got {train[key]!r}")
    if train["clip_grad_norm"] is not None and not (is_number(train["clip_grad_norm"]) and train["clip_grad_norm"] > 0):
        raise ExperimentError(f"{source}: train.clip_grad_norm must be a positive number or null")
    if train["optimizer"] not in OPTIMIZERS:
        raise ExperimentError(f"{source}: train.optimizer must be one of {', '.join(OPTIMIZERS)}; "
                              f"got {train['optimizer']!r}")
    if train["init_from"] is not None and not isinstance(train["init_from"], str):
        raise ExperimentError(f"{source}: train.init_from must be the path of a ctnet final.pt or null, "
                              f"got {train['init_from']!r}")
    for key in ("deterministic", "channels_last"):
        if not isinstance(train[key], bool):
            raise ExperimentError(f"{source}: train.{key} must be true or false, got {train[key]!r}")
    if train["amp"] not in AMP_CHOICES:
        raise ExperimentError(f"{source}: train.amp must be one of bf16, fp16, null; got {train['amp']!r}")
    scale = train["head_lr_scale"]
    if not (isinstance(scale, dict) and set(scale) <= {"weight", "bias"}
            and all(is_number(value) and value > 0 for value in scale.values())):
        raise ExperimentError(f"{source}: train.head_lr_scale must map weight and/or bias to positive numbers "
                              f"(official fc_lr5: {{weight: 5, bias: 10}}), got {scale!r}")
    # A fresh, complete mapping: an absent part keeps 1, and no experiment shares the defaults' dict.
    train["head_lr_scale"] = {**TRAIN_DEFAULTS["head_lr_scale"], **scale}
    if train["select"] not in ("last", "best"):
        raise ExperimentError(f"{source}: train.select must be one of last, best; got {train['select']!r}")
    if train["select"] == "best" and train["eval_every"] != 1:
        raise ExperimentError(f"{source}: train.select: best needs train.eval_every: 1 (a validation every epoch), "
                              f"got eval_every {train['eval_every']!r}")

