"""CI's part of the rehearsal of config/paper.yaml (docs/rehearsal.md): paper.yaml's own models, sizes, recipe and
protocols under config/rehearsal.yaml, on the tiny datasets in each real format of scripts/make_rehearsal_data.py.

It builds Table 2h (CT-Net ResNet-50 trained and tested at 224 and 256, ImageNet files loaded into the CT-Module
network), Table 8 (InceptionV3), Table 4 (Kinetics-400 R50 and R101 16f, 4 clips x 3 crops, and their ensemble)
and the UCF101 fine-tuning of the Kinetics-400 CT-Net (a new 101-class head, 2 clips x 3 crops): every
recipe key of paper.yaml runs (frozen BN, the classifier's learning rate, frame dropout, best-epoch selection,
dense_window 64, segment_spread, the 256 resize). The whole rehearsal is `make rehearsal`."""

import csv
import json
import math
import re
import subprocess
import sys

import pytest
import yaml

from ctnet.engine.checkpoint import load_checkpoint
from helpers import ROOT, snakemake, workflow_copy

pytestmark = pytest.mark.slow

CONFIG = ["--configfile", "config/paper.yaml", "config/rehearsal.yaml"]
TARGETS = ["table2h", "table8", "table4", "results/scores/ucf101_ct_16f/2clips_3crops_uniform.json"]


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory):
    work = workflow_copy(tmp_path_factory.mktemp("rehearsal"))
    # The fewest videos that still hold a broken, a missing and a short one: one training step per experiment.
    subprocess.run([sys.executable, str(ROOT / "scripts/make_rehearsal_data.py"), "--out", str(work / "data"),
                    "--train", "3", "--val", "3", "--small"], check=True, capture_output=True, text=True)
    result = snakemake(work, *TARGETS, "--cores", "2", *CONFIG, timeout=1500)
    assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]
    return work


def rows(work, table):
    with open(work / f"results/tables/{table}.csv", newline="") as handle:
        return {row["row"]: row for row in csv.DictReader(handle)}


def test_tables_are_filled_from_paper_models(rehearsal):
    for table, labels in (("2h", ["train 224 / test 224", "train 256 / test 256"]),
                          ("8", ["CT-Net ResNet50", "CT-Net InceptionV3"]),
                          ("4", ["CT-Net-R50 16f (16x3x4)", "CT-Net-R101 16f (16x3x4)",
                                 "CT-Net EN (R50 16f + R101 16f)"])):
        found = rows(rehearsal, table)
        for label in labels:
            row = found[label]
            assert row["source"] == "reproduced", (table, label)
            assert 0 <= float(row["top1"]) <= 100 and math.isfinite(float(row["gflops"])), (table, label)
    # GFLOPs of the paper's models at the paper's sizes: the rehearsal changes no model.
    assert float(rows(rehearsal, "4")["CT-Net-R50 16f (16x3x4)"]["gflops"]) == pytest.approx(894.6, abs=0.5)


def test_the_paper_recipe_ran(rehearsal):
    experiments = rehearsal / "results/experiments/train"
    ucf = yaml.safe_load((experiments / "ucf101_ct_16f.yaml").read_text())
    k400 = yaml.safe_load((experiments / "k400_ct_16f.yaml").read_text())
    inception = yaml.safe_load((experiments / "v1_ct_inception_8f.yaml").read_text())
    assert k400["model"]["backbone"] == "resnet50" and k400["data"]["dense_window"] == 64
    assert k400["model"]["pretrained"] == "data/weights/resnet50-0676ba61.pth"
    assert inception["model"]["pretrained"] == "data/weights/inception_v3_google-0cc3c7bd.pth"
    assert ucf["train"]["init_from"] == "results/train/k400_ct_16f/final.pt" and ucf["model"]["pretrained"] is None
    for spec in (ucf, k400, inception):
        assert spec["model"]["freeze_unreplaced"] and spec["model"]["frozen_bn"] == "batch"
        assert spec["train"]["select"] == "best" and spec["train"]["head_lr_scale"] == {"weight": 5, "bias": 10}
    # The 400-class Kinetics head is dropped for UCF101's 101 classes; everything else is the Kinetics weights.
    log = (rehearsal / "results/train/ucf101_ct_16f/train.log").read_text()
    assert re.search(r"trained afresh: .*fc", log), log[-2000:]
    final = load_checkpoint(rehearsal / "results/train/ucf101_ct_16f/final.pt")["model"]
    head = [name for name in final if name.endswith("fc.weight")]
    assert head and final[head[0]].shape[0] == 101
    # ImageNet files were loaded into the paper-size networks.
    for run in ("v1_ct_8f", "v1_ct_inception_8f", "k400_ct_r101_16f"):
        assert "pretrained weights" in (rehearsal / f"results/train/{run}/train.log").read_text(), run


def test_the_protocols_ran_with_all_their_views(rehearsal):
    k400 = yaml.safe_load((rehearsal / "results/experiments/k400_ct_16f.yaml").read_text())["protocols"]
    four = k400["4clips_3crops"]
    assert (four["clips"], four["clip_sampling"], four["crops"], four["size"]) == (4, "segment_spread", 3, 256)
    v1 = yaml.safe_load((rehearsal / "results/experiments/v1_ct_8f.yaml").read_text())["protocols"]
    assert v1["1x1_224"]["size"] == 224 and v1["1x1_224"]["resize"] == 256
    for scores, protocol in (("k400_ct_16f/4clips_3crops", "4clips_3crops"),
                             ("ucf101_ct_16f/2clips_3crops_uniform", "2clips_3crops_uniform")):
        assert json.loads((rehearsal / f"results/scores/{scores}.json").read_text())["protocol"] == protocol
    assert (rehearsal / "results/fused/k400_ct_en.json").is_file()
