"""The dataset registry is the one home of what the pipeline knows about a dataset kind: the configuration's
`kind:` values, the list builder's `--dataset` choices, frame file names and split handling all come from it, so
that a new dataset is one entry (plus its parser's tests)."""

import pytest
import yaml

from ctnet.data import registry
from ctnet.data.annotations import parse_sthv2
from ctnet.workflow import ConfigError, Plan
from helpers import ROOT, load_script


def smoke_config():
    return yaml.safe_load((ROOT / "config/smoke.yaml").read_text())


def test_config_kinds_are_the_registry_kinds():
    config = smoke_config()
    config["sources"]["synthetic"]["kind"] = "kinetics700"
    with pytest.raises(ConfigError, match=r"sources.synthetic.kind: 'kinetics700' is not one of \['synthetic', "
                                          r"'sthv1', 'sthv2', 'kinetics400', 'minikinetics200', 'ucf101', 'hmdb51'\]"):
        Plan(config, root=ROOT)


def test_a_new_dataset_is_one_registry_entry(tmp_path, monkeypatch):
    """An SSv2-format dataset whose frames are named frame_00001.jpg, registered in one line: the workflow plans
    with it and build_lists.py reads it."""
    monkeypatch.setitem(registry.DATASETS, "mydataset", registry.DatasetKind(parse_sthv2, frame_prefix="frame_"))
    ann, frames = tmp_path / "ann", tmp_path / "frames"
    ann.mkdir()
    (ann / "labels.json").write_text('{"Holding something": "0", "Dropping something": "1"}')
    (ann / "train.json").write_text('[{"id": "1", "template": "Holding [something]"}]')
    (ann / "validation.json").write_text('[{"id": "2", "template": "Dropping [something]"}]')
    for video in ("1", "2"):
        (frames / video).mkdir(parents=True)
        for index in (1, 2, 3):
            (frames / video / f"frame_{index:05d}.jpg").write_bytes(b"")

    config = smoke_config()
    config["sources"] = {"mine": {"kind": "mydataset", "annotations": str(ann), "frames": str(frames)}}
    config["datasets"] = {dataset: "mine" for dataset in config["datasets"]}
    data = Plan(config, root=ROOT).resolve("v1_ct_8f")["data"]
    assert data["dataset"] == "mydataset" and data["filename_tmpl"] == "frame_{:05d}.jpg"

    lists = tmp_path / "lists"
    build_lists = load_script("build_lists").main
    assert build_lists(["--dataset", "mydataset", "--annotations", str(ann), "--frames", str(frames),
                        "--out", str(lists)]) == 0
    assert (lists / "train.txt").read_text() == "1 3 0\n"
    assert (lists / "classes.txt").read_text().splitlines() == ["Holding something", "Dropping something"]
