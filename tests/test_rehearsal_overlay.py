"""The rehearsal overlay changes only what must change: every experiment and protocol that config/paper.yaml
resolves is resolved the same under paper.yaml + config/rehearsal.yaml, except for an explicit allow-list of keys
(the training's length and batch, the loader's workers, test batches), and the configuration differs only in the
keys that say where and how fast the run goes (description, throughput, extraction shards and tolerated
failures, resources)."""

import copy
import shutil
from pathlib import Path

import pytest
from snakemake.utils import update_config

from ctnet.experiment import flatten, resolve_experiment
from ctnet.workflow import Plan
from ctnet.workflow.io import read_yaml

ROOT = Path(__file__).resolve().parents[1]

# Resolved-experiment keys the rehearsal may change: the length of the training, its batch, the DataLoader's
# worker processes, and how many views a test forward pass holds (memory, not the protocol).
ALLOWED_EXPERIMENT_KEYS = {"train.epochs", "train.batch_size", "data.workers"}
ALLOWED_PROTOCOL_KEYS = {"views_per_batch"}
# Configuration keys it may change: where and how fast the run goes.
ALLOWED_CONFIG_PREFIXES = ("description", "throughput", "resources.", "scale.train.epochs", "scale.train.batch_size",
                           "scale.data.workers", "scale.protocol.views_per_batch")
ALLOWED_SOURCE_KEYS = {"shards", "max_failed_fraction"}


def merged(*files):
    """The configuration Snakemake builds from `--configfile` files given in this order."""
    config = {}
    for path in files:
        update_config(config, read_yaml(ROOT / path))
    return config


def plan_with_placeholder_data(tmp_path, config):
    """A Plan of `config` whose data paths exist (empty), as the configuration's path checks require."""
    for name in ("config", "workflow"):
        shutil.copytree(ROOT / name, tmp_path / name)
    for spec in config["sources"].values():
        for key in ("annotations", "videos", "frames"):
            if key in spec:
                (tmp_path / spec[key]).mkdir(parents=True, exist_ok=True)
    for path in config["imagenet_weights"].values():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).touch()
    return Plan(copy.deepcopy(config), root=tmp_path, config_path="config/paper.yaml")


@pytest.fixture(scope="module")
def plans(tmp_path_factory):
    paper = merged("config/paper.yaml")
    rehearsal = merged("config/paper.yaml", "config/rehearsal.yaml")
    return (paper, plan_with_placeholder_data(tmp_path_factory.mktemp("paper"), paper),
            rehearsal, plan_with_placeholder_data(tmp_path_factory.mktemp("rehearsal"), rehearsal))


def differing(a, b):
    flat_a, flat_b = dict(flatten(a)), dict(flatten(b))
    return {key for key in set(flat_a) | set(flat_b) if flat_a.get(key) != flat_b.get(key)}


def test_every_experiment_resolves_as_in_paper_yaml_outside_the_allow_list(plans):
    _, paper, _, rehearsal = plans
    experiments = paper.experiments(list(paper.specs))
    assert experiments == rehearsal.experiments(list(rehearsal.specs)) and len(experiments) > 40
    for exp in experiments:
        ours = resolve_experiment(rehearsal.resolve(exp), source=exp)
        theirs = resolve_experiment(paper.resolve(exp), source=exp)
        protocols_ours, protocols_theirs = ours.pop("protocols"), theirs.pop("protocols")
        assert differing(theirs, ours) <= ALLOWED_EXPERIMENT_KEYS, exp
        assert set(protocols_ours) == set(protocols_theirs), exp
        for name in protocols_theirs:
            assert differing(protocols_theirs[name], protocols_ours[name]) <= ALLOWED_PROTOCOL_KEYS, (exp, name)
        # What the rehearsal is for: paper-size models from ImageNet files, at the paper's sizes.
        assert ours["model"]["backbone"] in ("resnet50", "resnet101", "inception_v3")
        # ImageNet files (paper.yaml's imagenet_weights), or the Kinetics-400 CT-Net that UCF101/HMDB51 fine-tune
        assert ours["model"]["pretrained"] is None or ours["model"]["pretrained"].startswith("data/weights/")
        assert (ours["model"]["pretrained"] is None) == (ours["train"]["init_from"] is not None)
        assert ours["data"]["train_size"] in (224, 256)


def test_the_configuration_differs_only_where_the_run_goes_and_how_fast(plans):
    paper, _, rehearsal, _ = plans
    sources_paper, sources_rehearsal = paper.pop("sources"), rehearsal.pop("sources")
    changed = differing(paper, rehearsal)
    assert changed and all(key.startswith(ALLOWED_CONFIG_PREFIXES) for key in changed), sorted(changed)
    assert set(sources_paper) == set(sources_rehearsal)
    for name in sources_paper:
        assert differing(sources_paper[name], sources_rehearsal[name]) <= ALLOWED_SOURCE_KEYS, name


def test_the_allow_list_test_fails_on_a_recipe_change(tmp_path):
    """The comparison above is not vacuous: an overlay that touches a recipe key is caught."""
    paper = merged("config/paper.yaml")
    changed = merged("config/paper.yaml", "config/rehearsal.yaml")
    changed["scale"]["train"]["head_lr_scale"] = {"weight": 1, "bias": 1}
    ours = plan_with_placeholder_data(tmp_path / "a", changed)
    theirs = plan_with_placeholder_data(tmp_path / "b", paper)
    exp = "v1_ct_8f"
    assert "train.head_lr_scale.weight" in differing(theirs.resolve(exp), ours.resolve(exp))
