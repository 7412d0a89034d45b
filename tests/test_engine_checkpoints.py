"""Checkpoints that lose nothing and run nothing: a finished training whose outputs were removed writes them again
without training, a checkpoint of other settings is kept aside (never resumed, never deleted) and taken back when
those settings return, and a crafted or broken `.pt` file is refused with one line naming it, running no code."""

import logging
import os
import random
import subprocess
import sys
import warnings

import pytest
import torch

from ctnet.engine import Trainer, load_experiment
from ctnet.engine.checkpoint import load_checkpoint
from ctnet.engine.distributed import init_distributed
from helpers import ROOT, assert_same_weights, write_experiment

pytestmark = pytest.mark.usefixtures("one_thread")


def train_small(root, run, caplog, **train):
    """Train on the 16-video subset (2 steps an epoch); return the log lines of this run."""
    exp = load_experiment(write_experiment(run.parent / f"{run.name}.yaml", root, train_list="small.txt", **train))
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="ctnet.engine.trainer"):
        Trainer(exp, run, init_distributed("cpu"), ckpt_dir=run.parent / "ckpt").run()
    return caplog.text


def test_finished_training_whose_outputs_were_removed_writes_them_again(synthetic_lists, tmp_path, caplog):
    """Snakemake killed before it recorded a finished training (or after removing a failed job's outputs): the
    rerun resumes at the last epoch, trains nothing, and still writes final.pt and metrics.csv."""
    run = tmp_path / "run"
    train_small(synthetic_lists, run, caplog)
    metrics = (run / "metrics.csv").read_text()
    (run / "final.pt").rename(tmp_path / "first.pt")
    (run / "metrics.csv").unlink()

    log = train_small(synthetic_lists, run, caplog)
    assert "at epoch 2" in log and "epoch 1/2:" not in log and "epoch 2/2:" not in log
    assert (run / "metrics.csv").read_text() == metrics
    assert_same_weights(run / "final.pt", tmp_path / "first.pt")


def test_changed_settings_start_over_and_keep_the_old_checkpoint(synthetic_lists, tmp_path, caplog):
    run, ckpt = tmp_path / "run", tmp_path / "ckpt"
    train_small(synthetic_lists, run, caplog, epochs=1)
    first_digest = load_checkpoint(ckpt / "last.pt")["digest"]
    (run / "final.pt").rename(tmp_path / "first.pt")

    log = train_small(synthetic_lists, run, caplog, epochs=2, lr=0.02)
    assert "saved with other settings (train.epochs 1 -> 2, train.lr 0.01 -> 0.02)" in log
    assert "resumed from" not in log
    assert (ckpt / f"last.{first_digest}.pt").exists()
    rows = (run / "metrics.csv").read_text().splitlines()[1:]
    assert [row.split(",")[0] for row in rows] == ["1", "2"]
    assert load_checkpoint(run / "final.pt")["digest"] != first_digest

    # Back to the first settings: their finished checkpoint returns, with no training.
    log = train_small(synthetic_lists, run, caplog, epochs=1)
    assert f"took back {ckpt / f'last.{first_digest}.pt'}" in log and "epoch 1/1:" not in log
    assert_same_weights(run / "final.pt", tmp_path / "first.pt")
    assert len(list(ckpt.glob("last.*.pt"))) == 1  # the lr 0.02 run, kept aside in its turn


class RunsCommand:
    """A pickled object whose unpickling runs a shell command: what a crafted `.pt` file can hold."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


def test_crafted_or_broken_checkpoint_is_refused_without_running_code(synthetic_lists, tmp_path):
    marker = tmp_path / "PWNED"
    crafted = tmp_path / "crafted.pt"
    torch.save({"model": {}, "payload": RunsCommand(f"touch {marker}")}, crafted)
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(random.Random(0).randbytes(4096))
    exp = write_experiment(tmp_path / "e.yaml", synthetic_lists)

    for checkpoint in (crafted, garbage):
        done = subprocess.run([sys.executable, str(ROOT / "scripts/test.py"), "--experiment", str(exp),
                               "--checkpoint", str(checkpoint), "--protocol", "1x1", "--out", str(tmp_path / "s.npz"),
                               "--device", "cpu"], capture_output=True, text=True, timeout=300)
        assert done.returncode == 2, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: {checkpoint}: "), done.stderr
        assert "weights_only" not in lines[0]  # torch's advice to load unsafely is not passed on
    assert not marker.exists()

    # The same file as a training checkpoint to resume, or as weights to fine-tune from.
    (tmp_path / "ckpt").mkdir()
    (tmp_path / "ckpt/last.pt").write_bytes(crafted.read_bytes())
    with pytest.raises(RuntimeError, match="not a ctnet checkpoint"):
        Trainer(load_experiment(exp), tmp_path / "run", init_distributed("cpu"), ckpt_dir=tmp_path / "ckpt").run()
    tuned = write_experiment(tmp_path / "f.yaml", synthetic_lists, init_from=str(crafted))
    with pytest.raises(RuntimeError, match="not a ctnet checkpoint"):
        Trainer(load_experiment(tuned), tmp_path / "run2", init_distributed("cpu"))
    assert not marker.exists()


def test_any_garbage_is_an_unreadable_checkpoint_in_one_line(tmp_path):
    # Random bytes make torch's unpickler fail in many ways (UnpicklingError, IndexError, KeyError,
    # UnicodeDecodeError), some after a warning about an unknown pickle protocol: all are one error naming the file.
    rng = random.Random(1)
    path = tmp_path / "garbage.pt"
    kinds = set()
    for _ in range(400):
        path.write_bytes(rng.randbytes(512))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with pytest.raises(RuntimeError, match=f"^{path}: (unreadable|not a ctnet) checkpoint") as err:
                load_checkpoint(path)
        assert not caught, [str(w.message) for w in caught]
        assert "\n" not in str(err.value)
        kinds.add(type(err.value.__context__).__name__)
    assert {"UnpicklingError", "IndexError", "KeyError"} <= kinds
