"""Experiment defaults (appendix A.1), the learning-rate schedule, atomic checkpoints and the resumable sampler."""

import json
import math
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from ctnet.engine.checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from ctnet.engine.distributed import ResumableDistributedSampler, steps_per_epoch
from ctnet.experiment import (DROPOUT_DEFAULTS, KINETICS_TRAIN_DEFAULTS, PROTOCOL_CHOICES, PROTOCOL_DEFAULTS,
                               TRAIN_DEFAULTS, ExperimentError, load_experiment, resolve_experiment)
from ctnet.workflow import Plan
from ctnet.engine.schedule import lr_factor, scaled_lr

REPO = Path(__file__).resolve().parents[1]
MINIMAL = {"name": "x", "model": {"backbone": "resnet50"}, "data": {"dataset": "sthv1"}}


def test_paper_defaults_per_dataset_family():
    sth = resolve_experiment(MINIMAL)
    assert (sth["train"]["epochs"], sth["train"]["lr"], sth["train"]["weight_decay"], sth["model"]["dropout"]) == \
        (45, 0.02, 5e-4, 0.3)
    kin = resolve_experiment({**MINIMAL, "data": {"dataset": "kinetics400"}})
    assert (kin["train"]["epochs"], kin["train"]["lr"], kin["train"]["weight_decay"], kin["model"]["dropout"]) == \
        (110, 0.01, 1e-4, 0.5)
    for exp in (sth, kin):
        assert exp["train"]["batch_size"] == 64 and exp["train"]["momentum"] == 0.9
        assert exp["train"]["warmup_epochs"] == 10 and exp["train"]["clip_grad_norm"] == 20
        assert exp["train"]["optimizer"] == "sgd"
    assert sth["protocols"]["1x1"]["average"] == "scores" and sth["data"]["workers"] == 4
    explicit = resolve_experiment({**MINIMAL, "model": {"dropout": 0.1}, "train": {"epochs": 2}})
    assert explicit["model"]["dropout"] == 0.1 and explicit["train"]["epochs"] == 2


def paper_plan(tmp_path, official=True):
    """The paper configuration with stand-in folders for the data and weights (only their existence is checked);
    `official=False`: without its official-code recipe (`scale:` and `overrides:`), the catalogue's paper reading."""
    config = yaml.safe_load((REPO / "config/paper.yaml").read_text())
    if not official:
        config["scale"] = {}
        del config["overrides"]
    for source in config["sources"].values():
        for key in ("annotations", "videos", "frames"):
            if key in source:
                source[key] = str(tmp_path)
    weights = tmp_path / "weights.pth"
    weights.write_bytes(b"")
    config["imagenet_weights"] = {name: str(weights) for name in config["imagenet_weights"]}
    return Plan(config, root=REPO)


def schedule(exp):
    train = exp["train"]
    return (train["epochs"], train["lr"], train["weight_decay"], exp["model"]["dropout"], train["warmup_epochs"],
            train["batch_size"], train["base_batch"])


@pytest.mark.parametrize("official, kinetics_epochs", [(False, 110), (True, 90)], ids=["paper", "official"])
def test_paper_config_trains_with_the_paper_schedules(tmp_path, official, kinetics_epochs):
    """Appendix A.1, as the engine runs the experiments of config/paper.yaml (defaults filled in); Kinetics for 110
    epochs as the paper's text says, or 90 as the official scripts/train.sh (paper.yaml's default)."""
    plan = paper_plan(tmp_path, official)
    resolved = {exp: resolve_experiment(plan.resolve(exp)) for exp in plan.experiments()}
    for exp in ("v1_ct_8f", "v1_tsn_8f", "v2_ct_16f"):
        assert schedule(resolved[exp]) == (45, 0.02, 5e-4, 0.3, 10, 64, 64), exp
    for exp in ("k400_ct_16f", "k400_ct_r101_16f", "minik_ctm_8f"):
        assert schedule(resolved[exp]) == (kinetics_epochs, 0.01, 1e-4, 0.5, 10, 64, 64), exp
    for exp in ("ucf101_ct_16f", "hmdb51_ct_16f_split3"):  # fine-tuning (TSM's recipe)
        assert schedule(resolved[exp]) == (25, 0.001, 5e-4, 0.5, 0, 64, 64), exp


def test_cpu_scale_keeps_each_paper_datasets_schedule_but_what_scale_states(tmp_path):
    """The CPU-scale configurations train every paper dataset on synthetic data, which the engine gives the
    Something-Something defaults: experiments.yaml must state whatever of a paper dataset's schedule differs
    from them (the Kinetics schedule), and nothing else changes a value that `scale:` does not set."""
    paper = paper_plan(tmp_path, official=False)
    for name in ("config.yaml", "smoke.yaml"):
        config = yaml.safe_load((REPO / "config" / name).read_text())
        plan = Plan(config, root=REPO)
        scaled_train, scaled_model = config["scale"].get("train", {}), config["scale"].get("model", {})
        for exp in plan.experiments():
            small, full = resolve_experiment(plan.resolve(exp)), resolve_experiment(paper.resolve(exp))
            for key in set(TRAIN_DEFAULTS) - set(scaled_train) - {"init_from"}:
                assert small["train"][key] == full["train"][key], (name, exp, key)
            if "dropout" not in scaled_model:
                assert small["model"]["dropout"] == full["model"]["dropout"], (name, exp)


def test_experiment_catalogue_states_only_what_differs_from_the_engine_defaults():
    """config/experiments.yaml repeats no default of ctnet/experiment.py, but for the Kinetics schedule, which it
    must state (see above) and which must then equal the engine's."""
    catalogue = yaml.safe_load((REPO / "config/experiments.yaml").read_text())
    kinetics = {key: value for key, value in KINETICS_TRAIN_DEFAULTS.items() if TRAIN_DEFAULTS[key] != value}
    assert kinetics == {"epochs": 110, "lr": 0.01, "weight_decay": 1e-4}
    for name, dataset in catalogue["paper_datasets"].items():
        train, dropout = dataset.get("train", {}), dataset.get("model", {}).get("dropout")
        assert all(TRAIN_DEFAULTS[key] != value for key, value in train.items()), name
        assert dropout != DROPOUT_DEFAULTS["other"], name
        if name.startswith(("kinetics", "minikinetics")):
            assert train == kinetics and dropout == DROPOUT_DEFAULTS["kinetics"] == 0.5, name


def test_catalogue_schema_allows_the_engines_protocols():
    """The schema checks protocols where they are written (config/experiments.yaml); the engine's choices are
    the truth, and the schema must name the same keys and values."""
    schema = json.loads((REPO / "workflow/schemas/experiments.schema.json").read_text())
    protocol = schema["properties"]["protocols"]["additionalProperties"]
    assert set(protocol["properties"]) == set(PROTOCOL_DEFAULTS)
    for key, choices in PROTOCOL_CHOICES.items():
        assert protocol["properties"][key]["enum"] == list(choices), key


@pytest.mark.parametrize("change, message", [
    ({"train": {"epochs": 0}}, "train.epochs must be a positive integer"),
    ({"train": {"lr_rate": 0.1}}, "unknown train keys"),
    ({"train": {"amp": "fp8"}}, "train.amp"),
    ({"train": {"optimizer": "adam"}}, "train.optimizer must be one of sgd, adamw"),
    ({"train": {"select": "best"}}, "train.select: best needs train.eval_every: 1"),
    ({"train": {"head_lr_scale": {"weight": -5}}}, "train.head_lr_scale must map"),
    ({"protocols": {"p": {"average": "max"}}}, "protocol 'p': average"),
    ({"protocols": {"p": {"crops": 2}}}, "protocol 'p': crops"),
])
def test_bad_experiments_are_refused_with_the_file_name(tmp_path, change, message):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({**MINIMAL, **change}))
    with pytest.raises(ExperimentError, match=message) as err:
        load_experiment(path)
    assert str(path) in str(err.value)


def test_missing_experiment_file_names_it(tmp_path):
    with pytest.raises(ExperimentError, match="nope.yaml: experiment file not found"):
        load_experiment(tmp_path / "nope.yaml")


def test_learning_rate_warmup_then_cosine():
    assert scaled_lr(0.02, 128, 64) == pytest.approx(0.04)
    total, warmup = 100, 10
    factors = [lr_factor(step, total, warmup) for step in range(total)]
    assert factors[0] == pytest.approx(0.1) and factors[9] == pytest.approx(1.0)
    assert all(b > a for a, b in zip(factors[:9], factors[1:10]))          # linear rise
    assert factors[10] == pytest.approx(1.0)
    assert factors[55] == pytest.approx(0.5)                               # half-way through the cosine
    assert factors[99] == pytest.approx(0.5 * (1 + math.cos(math.pi * 89 / 90)))
    assert all(b < a for a, b in zip(factors[10:], factors[11:]))          # monotone decay
    assert lr_factor(3, 4, 10) == pytest.approx(1.0)  # warm-up longer than the run is cut to the run


def test_checkpoint_is_atomic_and_restores_random_state(tmp_path):
    path = tmp_path / "ck" / "last.pt"
    random.seed(1), np.random.seed(1), torch.manual_seed(1)
    save_checkpoint(path, {"rng": rng_state(), "w": torch.arange(3)})
    expected = (random.random(), np.random.rand(), torch.rand(1).item())
    set_rng_state(load_checkpoint(path)["rng"])
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == expected
    assert [p.name for p in path.parent.iterdir()] == ["last.pt"]

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("cannot pickle")

    with pytest.raises(OSError, match=f"{path}: could not write the checkpoint: cannot pickle; the previous "
                       "last.pt is unchanged"):
        save_checkpoint(path, {"bad": Unpicklable()})
    assert torch.equal(load_checkpoint(path)["w"], torch.arange(3))  # the previous checkpoint survives
    assert [p.name for p in path.parent.iterdir()] == ["last.pt"]


def test_sampler_shards_and_resumes_mid_epoch():
    shards = [ResumableDistributedSampler(10, num_replicas=2, rank=r, seed=3) for r in range(2)]
    for sampler in shards:
        sampler.set_epoch(1)
    full = [list(s) for s in shards]
    assert len(full[0]) == len(full[1]) == 5 and not set(full[0]) & set(full[1])
    shards[0].set_epoch(1, start=2)
    assert list(shards[0]) == full[0][2:] and len(shards[0]) == 3
    shards[0].set_epoch(2)
    assert list(shards[0]) != full[0]  # a new permutation each epoch
    assert steps_per_epoch(10, 2, 2) == 2
    with pytest.raises(ValueError, match="lower train.batch_size"):
        steps_per_epoch(10, 8, 2)


def test_test_script_refuses_unknown_protocol_in_one_line(tmp_path):
    path = tmp_path / "e.yaml"
    path.write_text(yaml.safe_dump({**MINIMAL, "protocols": {"1x1": {}}}))
    done = subprocess.run([sys.executable, str(REPO / "scripts/test.py"), "--experiment", str(path), "--checkpoint",
                           str(tmp_path / "final.pt"), "--protocol", "9x9", "--out", str(tmp_path / "s.npz")],
                          capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: {path}: no protocol '9x9'; it defines ['1x1']"


def test_official_data_and_protocol_keys_default_to_todays_behaviour():
    exp = resolve_experiment(MINIMAL)
    assert exp["protocols"]["1x1"]["resize"] is None and PROTOCOL_DEFAULTS["resize"] is None
    assert "segment_spread" in PROTOCOL_CHOICES["clip_sampling"]
    official = resolve_experiment({**MINIMAL, "data": {"dataset": "kinetics400", "sampling": "dense",
                                                       "num_frames": 16, "dense_window": 64},
                                   "protocols": {"224": {"size": 224, "resize": 256},
                                                 "16x4": {"clips": 4, "clip_sampling": "segment_spread"}}})
    assert official["protocols"]["224"]["resize"] == 256 and official["data"]["dense_window"] == 64


@pytest.mark.parametrize("change, message", [
    ({"data": {"dataset": "sthv1", "dense_window": 4}}, "data.dense_window must be null or an integer >= data.num"),
    ({"data": {"dataset": "sthv1", "dense_window": True}}, "data.dense_window must be null or an integer"),
    ({"data": {"dataset": "sthv1", "dense_window": 64.0}}, "data.dense_window must be null or an integer"),
    ({"protocols": {"p": {"size": 224, "resize": 200}}}, "protocol 'p': resize must be null or an integer >= size"),
    ({"protocols": {"p": {"resize": "256"}}}, "protocol 'p': resize must be null or an integer"),
    ({"protocols": {"p": {"clip_sampling": "dense_spread"}}}, "protocol 'p': clip_sampling must be one of"),
])
def test_official_keys_refuse_bad_values_in_one_line(change, message):
    with pytest.raises(ExperimentError, match=message) as err:
        resolve_experiment({**MINIMAL, **change})
    assert "\n" not in str(err.value)


def test_paper_config_resolves_to_the_official_recipe(tmp_path):
    """Every item of docs/recipe.md at its official-code value in config/paper.yaml."""
    plan = paper_plan(tmp_path)
    resolved = {exp: resolve_experiment(plan.resolve(exp)) for exp in plan.experiments()}
    for exp, spec in resolved.items():
        model, train = spec["model"], spec["train"]
        assert (model["freeze_unreplaced"], model["frozen_bn"], model["dropout_on"]) == (True, "batch", "frames"), exp
        assert train["head_lr_scale"] == {"weight": 5, "bias": 10}, exp
        assert (train["select"], train["eval_every"], train["amp"]) == ("best", 1, None), exp
        assert spec["data"]["dense_window"] == 64, exp
    assert resolved["v1_ct_8f"]["model"]["pretrained"].endswith("weights.pth")  # stand-in for the V1 file
    assert "resnet50-0676ba61.pth" in (REPO / "config/paper.yaml").read_text()  # torchvision's IMAGENET1K_V1
    kinetics = resolved["k400_ct_16f"]
    assert kinetics["data"]["sampling"] == "dense" and kinetics["train"]["epochs"] == 90
    protocols = kinetics["protocols"]
    assert (protocols["1x1_224"]["size"], protocols["1x1_224"]["resize"]) == (224, 256)
    assert protocols["4clips_3crops"]["clip_sampling"] == "segment_spread"
    assert protocols["1x1"]["resize"] is None
