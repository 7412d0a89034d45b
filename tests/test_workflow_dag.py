"""The Snakemake DAG without running jobs: the paper configuration against annotation files of the real datasets'
sizes plans in under 30 s with a few hundred extraction shards, the default plans every table, lint is clean,
and a configuration mistake stops Snakemake with one line naming the file."""

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from ctnet.workflow import Plan

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

# Official sizes (train, validation) of the real datasets; Mini-Kinetics lists YouTube ids of Kinetics-400.
SIZES = {"sthv1": (86017, 11522), "sthv2": (168913, 24777), "kinetics400": (240436, 19796),
         "minikinetics200": (80000, 5000), "ucf101": (9537, 3783), "hmdb51": (3570, 1530)}


def workflow_copy(tmp_path):
    """A private working copy (own results/ and .snakemake/) of what the workflow reads."""
    for name in ("workflow", "config", "scripts"):
        shutil.copytree(ROOT / name, tmp_path / name)
    shutil.copy(ROOT / "environment.yml", tmp_path)
    return tmp_path


def snakemake(cwd, *args, timeout=300):
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def job_counts(output):
    """Rule -> job count from the 'Job stats' table Snakemake prints."""
    table = output[output.index("Job stats:"):]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.MULTILINE)
            if m.group(1) != "total"}


def write_lines(path, lines):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def make_real_annotations(data):
    """Annotation files in each dataset's official format and size, a frames manifest for Something-Something
    V1 (shipped as frames), empty video folders and placeholder ImageNet weights: no video at all."""
    n_train, n_val = SIZES["sthv1"]
    classes = [f"class {i}" for i in range(174)]
    write_lines(data / "sthv1/annotations/something-something-v1-labels.csv", classes)
    for name, count, offset in (("train", n_train, 0), ("validation", n_val, n_train)):
        write_lines(data / f"sthv1/annotations/something-something-v1-{name}.csv",
                    (f"{offset + i};{classes[i % 174]}" for i in range(count)))
    write_lines(data / "sthv1/frames/manifest.csv",
                ["video_id,num_frames"] + [f"{i},40" for i in range(n_train + n_val)])

    n_train, n_val = SIZES["sthv2"]
    (data / "sthv2/annotations").mkdir(parents=True)
    (data / "sthv2/annotations/labels.json").write_text(json.dumps({c: str(i) for i, c in enumerate(classes)}))
    for name, count in (("train", n_train), ("validation", n_val)):
        entries = [{"id": str(i), "label": classes[i % 174], "template": classes[i % 174], "placeholders": []}
                   for i in range(count)]
        (data / f"sthv2/annotations/{name}.json").write_text(json.dumps(entries))

    n_train, n_val = SIZES["kinetics400"]
    for name, count in (("train", n_train), ("validate", n_val)):
        write_lines(data / f"kinetics400/annotations/{name}.csv", ["label,youtube_id,time_start,time_end,split"] +
                    [f"class {i % 400},yt{i:09d},0,10,{name}" for i in range(count)])
    n_train, n_val = SIZES["minikinetics200"]
    write_lines(data / "minikinetics200/annotations/train_ytid_list.txt", (f"yt{i:09d}" for i in range(n_train)))
    write_lines(data / "minikinetics200/annotations/val_ytid_list.txt", (f"yt{i:09d}" for i in range(n_val)))

    n_train, n_val = SIZES["ucf101"]
    write_lines(data / "ucf101/annotations/classInd.txt", (f"{i + 1} Class{i}" for i in range(101)))
    write_lines(data / "ucf101/annotations/trainlist01.txt",
                (f"Class{i % 101}/v_Class{i % 101}_g{i:05d}_c01.avi {i % 101 + 1}" for i in range(n_train)))
    write_lines(data / "ucf101/annotations/testlist01.txt",
                (f"Class{i % 101}/v_Class{i % 101}_t{i:05d}_c01.avi" for i in range(n_val)))
    for c in range(51):
        write_lines(data / f"hmdb51/annotations/class{c}_test_split1.txt",
                    (f"class{c}_{i}.avi {1 if i < 70 else 2}" for i in range(100)))
    for name in ("sthv2", "kinetics400", "ucf101", "hmdb51"):
        (data / name / "videos").mkdir(parents=True)
    (data / "weights").mkdir()
    for name in ("resnet50", "resnet101", "inception_v3"):
        (data / "weights" / f"{name}.pth").write_bytes(b"")


def test_paper_config_plans_the_full_reproduction_quickly(tmp_path):
    work = workflow_copy(tmp_path / "repo")
    data = tmp_path / "data"
    make_real_annotations(data)
    config = yaml.safe_load((ROOT / "config/paper.yaml").read_text())
    for name, source in config["sources"].items():
        for key in ("annotations", "videos", "frames"):
            if key in source:
                source[key] = str(data / source["kind"] / key)  # a dataset's splits share its annotations
    config["imagenet_weights"] = {name: str(data / "weights" / f"{name}.pth") for name in config["imagenet_weights"]}
    (work / "config/paper-test.yaml").write_text(yaml.safe_dump(config))

    start = time.monotonic()
    result = snakemake(work, "-n", "all_tables", "--configfile", "config/paper-test.yaml")
    elapsed = time.monotonic() - start
    assert result.returncode == 0, result.stderr[-3000:]
    output = result.stdout + result.stderr
    counts = job_counts(output)
    print(f"planned in {elapsed:.1f} s; jobs per rule: {counts}")
    assert elapsed < 30
    shards = {name: source.get("shards", 1) for name, source in config["sources"].items() if "videos" in source}
    assert counts["extract_frames"] == sum(shards.values()) <= 600
    assert 100 <= shards["kinetics400"] <= 500
    assert f"manifest.shard-{shards['kinetics400'] - 1}-of-{shards['kinetics400']}.csv" in output
    assert counts["build_lists"] == len(config["datasets"])  # one list job per dataset, never per video
    assert "make_synthetic" not in counts
    plan = Plan(config, root=work)
    assert counts["train"] == len(plan.experiments()) == len(plan.catalogue["experiments"])  # each trained once
    assert counts["table"] == len(plan.tables) == len(list((ROOT / "config/tables").glob("*.yaml")))
    # the cluster asks for GPUs in training and testing
    assert re.search(r"rule train:.*?resources:[^\n]*gpu=8", output, re.DOTALL)


def test_default_config_plans_every_table(tmp_path):
    work = workflow_copy(tmp_path)
    result = snakemake(work, "-n", "all_tables")
    assert result.returncode == 0, result.stderr[-3000:]
    counts = job_counts(result.stdout + result.stderr)
    assert counts["make_synthetic"] == 1 and counts["fig5"] == 1
    assert counts["table"] == len(list((ROOT / "config/tables").glob("*.yaml")))
    assert counts["train"] == counts["experiment_train"]
    assert "gpu=0" in result.stdout + result.stderr


def test_lint_is_clean(tmp_path):
    result = snakemake(workflow_copy(tmp_path), "--lint")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "Congratulations, your workflow is in a good condition!" in result.stdout + result.stderr


def test_config_mistake_is_one_clear_error(tmp_path):
    work = workflow_copy(tmp_path)
    config = yaml.safe_load((work / "config/smoke.yaml").read_text())
    config["scale"]["trian"] = {"epochs": 1}
    (work / "config/bad.yaml").write_text(yaml.safe_dump(config))
    result = snakemake(work, "-n", "all_tables", "--configfile", "config/bad.yaml")
    assert result.returncode != 0
    assert "config/bad.yaml: scale: Additional properties are not allowed ('trian' was unexpected)" in (
        result.stdout + result.stderr)


@pytest.mark.parametrize("key, value, message", [
    ("epochs", "ten", "train.epochs must be a positive integer, got 'ten'"),
    ("momentum", "high", "train.momentum must be a non-negative number, got 'high'"),
])
def test_experiment_type_error_fails_the_dry_run(tmp_path, key, value, message):
    """Caught when the plan is built, not inside a training job (whose failure costs the outputs it removes)."""
    work = workflow_copy(tmp_path)
    config = yaml.safe_load((work / "config/smoke.yaml").read_text())
    config["scale"]["train"][key] = value
    (work / "config/bad.yaml").write_text(yaml.safe_dump(config))
    result = snakemake(work, "-n", "all_tables", "--configfile", "config/bad.yaml")
    assert result.returncode != 0
    assert re.search(rf"config/bad.yaml: experiment \w+: {re.escape(message)}", result.stdout + result.stderr)


def test_a_new_table_is_one_yaml_file(tmp_path):
    """A spec dropped into config/tables/ gets its target rule (table<name>) and joins all_tables."""
    work = workflow_copy(tmp_path)
    spec = yaml.safe_load((work / "config/tables/2e.yaml").read_text())
    spec.update(table="9", title="Table 9: the CT-Module rows of Table 2e again")
    spec.pop("plot", None)
    (work / "config/tables/9.yaml").write_text(yaml.safe_dump(spec))
    smoke = ["--configfile", "config/smoke.yaml"]
    result = snakemake(work, "-n", "table9", *smoke)
    assert result.returncode == 0, result.stderr[-3000:]
    counts = job_counts(result.stdout + result.stderr)
    assert counts["table9"] == 1 and counts["table"] == 1 and "results/tables/9.md" in result.stdout
    every = job_counts(snakemake(work, "-n", "all_tables", *smoke).stdout)
    assert every["table"] == len(list((ROOT / "config/tables").glob("*.yaml"))) + 1


def test_experiment_given_official_weights_is_tested_never_trained(tmp_path):
    """`weights: {exp: official checkpoint}`: the checkpoint is converted (import_weights) and tested; no training
    job appears for the experiment, and its table rows say where the weights came from."""
    work = workflow_copy(tmp_path)
    (work / "released").mkdir()
    (work / "released/ct_net_8f_r50.pth.tar").write_bytes(b"stand-in")
    config = yaml.safe_load((work / "config/smoke.yaml").read_text())
    config["weights"] = {"v1_ct_8f": "released/ct_net_8f_r50.pth.tar"}
    (work / "config/released.yaml").write_text(yaml.safe_dump(config))
    released = ["--configfile", "config/released.yaml"]

    result = snakemake(work, "-n", "results/scores/v1_ct_8f/2clips_3crops.json", *released)
    assert result.returncode == 0, result.stderr[-3000:]
    counts = job_counts(result.stdout)
    assert counts["import_weights"] == 1 and counts["test"] == 1 and "train" not in counts
    assert "results/imported/v1_ct_8f/final.pt" in result.stdout

    plan = Plan(config, root=work, config_path="config/released.yaml")
    rows = [row for row in plan.table_plan("3")["rows"] if row.get("experiment") == "v1_ct_8f"]
    assert rows and all("official code's weights (released/ct_net_8f_r50.pth.tar)" in row["note"] for row in rows)
    assert all(plan.weights(exp) != plan.weights("v1_ct_8f") for exp in plan.experiments() if exp != "v1_ct_8f")
