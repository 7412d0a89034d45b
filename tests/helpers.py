"""Helpers shared by the tests (importable because pytest puts tests/ on sys.path)."""
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import torch
import yaml

from ctnet.engine.checkpoint import load_checkpoint

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
NUM_CLASSES = 4  # left->right, right->left, top->bottom, bottom->top: only frame order tells pairs apart
TINY_MODEL = {"backbone": "resnet50", "module": "ct", "num_segments": 4, "base_width": 8, "dropout": 0.0}


def load_script(name, folder="scripts"):
    """A program of scripts/ (or benchmarks/) as a module, so its main(argv) runs in-process (no interpreter
    start-up per call)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / folder / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_experiment(path, root, name="tiny", train_list="train.txt", **train):
    exp = {
        "name": name,
        "seed": 0,
        "model": TINY_MODEL,
        "data": {"dataset": "synthetic", "frames_root": str(root / "frames"),
                 "train_list": str(root / "lists" / train_list), "val_list": str(root / "lists/val.txt"),
                 "classes": str(root / "lists/classes.txt"), "num_frames": 4, "train_size": 32, "scales": [1.0],
                 "workers": 0},
        "train": {"epochs": 2, "batch_size": 8, "base_batch": 8, "lr": 0.01, "warmup_epochs": 1,
                  "weight_decay": 1e-4, "deterministic": True, **train},
        "protocols": {"1x1": {"size": 32, "views_per_batch": 8},
                      "2x3": {"clips": 2, "clip_sampling": "twice", "crops": 3, "size": 32, "views_per_batch": 4}},
    }
    path.write_text(yaml.safe_dump(exp))
    return path


def run_train(exp, out, ckpt_dir, *extra):
    """scripts/train.py in its own process (stdout and stderr together), as a workflow job runs it."""
    command = [sys.executable, str(ROOT / "scripts/train.py"), "--experiment", str(exp), "--out", str(out),
               "--ckpt-dir", str(ckpt_dir), "--device", "cpu", *extra]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})


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


def assert_same_weights(path_a, path_b):
    """Two checkpoints (final.pt or last.pt) hold bit-identical model weights."""
    a, b = load_checkpoint(path_a)["model"], load_checkpoint(path_b)["model"]
    assert a.keys() == b.keys() and all(torch.equal(a[key], b[key]) for key in a)
