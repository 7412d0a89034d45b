"""Helpers shared by the tests (importable because pytest puts tests/ on sys.path)."""
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
NUM_CLASSES = 4  # left->right, right->left, top->bottom, bottom->top: only frame order tells pairs apart
TINY_MODEL = {"backbone": "resnet50", "module": "ct", "num_segments": 4, "base_width": 8, "dropout": 0.0}


def load_script(name):
    """A program of scripts/ as a module, so its main(argv) runs in-process (no interpreter start-up per call)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
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
