"""Checkpoints that lose nothing and run nothing: a finished training whose outputs were removed writes them again
without training, a checkpoint of other settings is kept aside (never resumed, never deleted) and taken back when
those settings return, and a crafted or broken `.pt` file is refused with one line naming it, running no code."""

import errno
import logging
import os
import random
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from ctnet.engine import Trainer, load_experiment
from ctnet.engine.checkpoint import input_contents, load_checkpoint, save_checkpoint
from ctnet.engine.distributed import init_distributed
from ctnet.models import build_model
from helpers import ROOT, TINY_MODEL, assert_same_weights, write_experiment

pytestmark = pytest.mark.usefixtures("one_thread")


def train_small(root, run, caplog, train_list="small.txt", **train):
    """Train on the 16-video subset (2 steps an epoch); return the log lines of this run."""
    exp = load_experiment(write_experiment(run.parent / f"{run.name}.yaml", root, train_list=train_list, **train))
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


def test_lists_rebuilt_from_other_videos_start_over(synthetic_lists, tmp_path, caplog):
    """A synthetic set of another num_videos or seed writes other lists at the same paths: the weights trained on
    the old videos are kept aside (last.pt and best.pt), never resumed, and the log says which list changed."""
    videos = (synthetic_lists / "lists/train.txt").read_text().splitlines()
    train_list = tmp_path / "train.txt"
    train_list.write_text("\n".join(videos[:16]) + "\n")
    run, ckpt = tmp_path / "run", tmp_path / "ckpt"
    train_small(synthetic_lists, run, caplog, train_list=train_list, select="best", eval_every=1)
    first_digest = load_checkpoint(ckpt / "last.pt")["digest"]
    (run / "final.pt").rename(tmp_path / "first.pt")

    train_list.write_text("\n".join(videos[16:32]) + "\n")
    log = train_small(synthetic_lists, run, caplog, train_list=train_list, select="best", eval_every=1)
    assert "resumed from" not in log and "epoch 1/2:" in log and "epoch 2/2:" in log
    assert re.search(r"saved with other settings \(contents\.data\.train_list 'sha256:\w+' -> 'sha256:\w+'\)", log)
    assert (ckpt / f"last.{first_digest}.pt").exists() and (ckpt / f"best.{first_digest}.pt").exists()
    first, second = load_checkpoint(tmp_path / "first.pt")["model"], load_checkpoint(run / "final.pt")["model"]
    assert not all(torch.equal(first[key], second[key]) for key in first)


def test_fine_tuning_from_other_weights_at_the_same_path_is_other_settings(synthetic_lists, tmp_path):
    """init_from weights without a digest of their own (imported official ones): their bytes make the digest."""
    source = tmp_path / "imported.pt"
    exp = load_experiment(write_experiment(tmp_path / "e.yaml", synthetic_lists, init_from=str(source)))
    digests = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        torch.save({"model": build_model(TINY_MODEL, 400).state_dict()}, source)
        digests.append(Trainer(exp, tmp_path / "run", init_distributed("cpu")).digest)
    assert digests[0] != digests[1]


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


@pytest.mark.parametrize("failure, free, cause", [
    ("torch", 2**20, "No space left on device (1.0 MiB free, about 4.0 MiB needed); the previous last.pt is unchanged. "
                     "Free space in {folder}"),
    ("errno", 2**40, "No space left on device; the previous last.pt is unchanged. Free space in {folder}"),
    ("torch", 2**40, "[enforce fail at inline_container.cc:672] . unexpected pos 4194432 vs 4194320; the previous "
                     "last.pt is unchanged. Check that {folder} is writable"),
], ids=["torch-full-disk", "enospc", "torch-other"])
def test_a_failed_checkpoint_write_is_one_line_and_keeps_the_previous_one(tmp_path, monkeypatch, failure, free,
                                                                         cause):
    """A full disk during torch.save: torch's C++ writer raises a RuntimeError without errno ("unexpected pos"),
    so the free space tells; an OSError says itself. Either way one line naming the file, the cause and the fix,
    and the previous checkpoint stays whole, with no temporary file left."""
    path = tmp_path / "last.pt"
    save_checkpoint(path, {"model": {"w": torch.ones(3)}, "epoch": 1})

    def full_disk(_state, target):
        Path(target).write_bytes(b"partial")
        if failure == "errno":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 4194432 vs 4194320\n"
                           "frame #0: c10::ThrowEnforceNotMet")

    monkeypatch.setattr(torch, "save", full_disk)
    monkeypatch.setattr(shutil, "disk_usage", lambda folder: SimpleNamespace(free=free))
    with pytest.raises(OSError) as err:
        save_checkpoint(path, {"model": {"w": torch.zeros(2**20)}, "epoch": 2})
    assert str(err.value) == (f"{path}: could not write the checkpoint: {cause.format(folder=tmp_path)} and run the "
                              "same command again")
    assert load_checkpoint(path)["epoch"] == 1
    assert [file.name for file in tmp_path.iterdir()] == ["last.pt"]


def test_frames_extracted_again_with_the_same_ids_and_counts_are_other_settings(tmp_path):
    """Re-extracted frames (another video of the same id and length, another short side) leave the lists as they
    were; the extraction manifests name what made each folder, and the training's digest reads them."""
    from ctnet.data.extract import extract_videos
    from ctnet.data.synthetic import make_synthetic

    frames = tmp_path / "frames"
    exp = {"data": {"frames_root": str(frames)}, "model": {}}
    digests = []
    for seed in (0, 1):
        make_synthetic(tmp_path / "raw", num_videos=4, seed=seed, size=16, num_frames=4, num_classes=2,
                       progress=False)
        extract_videos(tmp_path / "raw/videos", frames, short_side=0, progress=False)
        digests.append(input_contents(exp)["data"]["frames"])
    assert digests[0] != digests[1]
    extract_videos(tmp_path / "raw/videos", frames, short_side=0, progress=False)  # reused: the same digest
    assert input_contents(exp)["data"]["frames"] == digests[1]
    assert input_contents({"data": {"frames_root": str(tmp_path / "shipped")}, "model": {}}) == {}
