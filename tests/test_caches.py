"""Nothing reused that cannot be checked: the video counts cached in results/cache/videos.json are recounted from
the annotation files when the cache is unreadable or holds anything but counts, and a FLOPs file the tables read
holds a positive GFLOPs figure or is one line naming it. (The FLOPs cache: tests/test_flops.py; throughput files:
tests/test_workflow_cost.py.)"""

import json
import math

import pytest
import yaml
from helpers import write_lines, workflow_copy

from ctnet import paths
from ctnet.workflow import ConfigError, Plan
from ctnet.workflow.cost import Work
from ctnet.workflow.io import read_gflops


def ucf101_plan(tmp_path):
    """The paper configuration in a working copy with every source's files in one folder, whose UCF101 annotation
    files list three training and two validation videos."""
    work = workflow_copy(tmp_path / "repo")
    annotations = tmp_path / "ucf101"
    write_lines(annotations / "classInd.txt", ["1 ApplyLipstick", "2 Archery"])
    write_lines(annotations / "trainlist01.txt", ["ApplyLipstick/v_ApplyLipstick_g01_c01.avi 1",
                                                  "ApplyLipstick/v_ApplyLipstick_g02_c01.avi 1",
                                                  "Archery/v_Archery_g01_c01.avi 2"])
    write_lines(annotations / "testlist01.txt", ["ApplyLipstick/v_ApplyLipstick_g03_c01.avi",
                                                 "Archery/v_Archery_g02_c01.avi"])
    config = yaml.safe_load((work / "config/paper.yaml").read_text())
    for source in config["sources"].values():
        for key in ("annotations", "videos", "frames"):
            if key in source:
                source[key] = str(annotations)
    config["imagenet_weights"] = {name: str(work / "environment.yml") for name in config["imagenet_weights"]}
    return Plan(config, root=work, config_path="config/paper.yaml")


@pytest.mark.parametrize("damage, problem", [
    (lambda text: text[:30], "not valid JSON: "),  # failed with a JSONDecodeError naming no file
    (lambda text: text.replace('"train": 3', '"train": -3'), "train videos -3, not an integer >= 0"),  # "2 x -3"
    (lambda text: text.replace('"val": 2', '"val": 2.5'), "val videos 2.5, not an integer >= 0"),
    (lambda text: json.dumps([json.loads(text)]), "not a mapping of annotation folders"),
    (lambda text: text.replace('"videos"', '"counts"'), "not a stamp with train and val counts"),
])
def test_an_invalid_video_count_cache_is_recounted(tmp_path, caplog, damage, problem):
    plan = ucf101_plan(tmp_path)
    assert Work(plan).videos("ucf101") == {"train": 3, "val": 2}
    cache = plan.root / paths.VIDEO_COUNTS
    counted = cache.read_text()
    cache.write_text(damage(counted))  # the annotation files unchanged: their stamp still matches
    caplog.clear()
    assert Work(plan).videos("ucf101") == {"train": 3, "val": 2}
    assert cache.read_text() == counted
    [warning] = [record.getMessage() for record in caplog.records]
    assert warning.startswith(f"{cache}: cache ignored (") and problem in warning and "\n" not in warning


@pytest.mark.parametrize("text, message", [
    (json.dumps({"gflops": math.nan}), "'gflops' is nan, not a positive number"),  # a `nan` cell, a "+nan" claim
    (json.dumps({"gflops": -5}), "'gflops' is -5, not a positive number"),
    (json.dumps({"gflops": "37.3"}), "'gflops' is '37.3', not a positive number"),
    (json.dumps({"params_m": 1.0}), "no 'gflops'"),
    (json.dumps([37.3]), "no 'gflops'"),
])
def test_a_flops_file_holds_a_positive_gflops_figure(tmp_path, text, message):
    path = tmp_path / "v1_ct_8f_256.json"
    path.write_text(json.dumps({"gflops": 37.3, "views": 1}))
    assert read_gflops(path) == 37.3
    path.write_text(text)
    with pytest.raises(ConfigError) as error:
        read_gflops(path)
    assert str(error.value) == f"{path}: {message}; delete the file and rerun count_flops"
