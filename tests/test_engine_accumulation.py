"""Gradient accumulation (`train.micro_batch`): N processes with micro-batches of m clips accumulated A times train
to the weights of N x A processes with m clips each (BatchNorm in training mode included), a SIGTERM among the
micro-batches of a step resumes to the uninterrupted run's weights, and a micro-batch equal to the process's share
changes nothing."""

import os
import signal
import socket
from pathlib import Path

import pytest
import torch
import yaml
from torch.utils.data import Dataset

from ctnet.data import build_dataset
from ctnet.engine import Trainer, TrainingInterrupted, load_experiment
from ctnet.engine.checkpoint import load_checkpoint
from ctnet.engine.distributed import cleanup_distributed, init_distributed, interleave
from ctnet.experiment import ExperimentError, accumulation, resolve_experiment
from ctnet.models import build_model
from helpers import NUM_CLASSES, TINY_MODEL, assert_same_weights, write_experiment

pytestmark = pytest.mark.usefixtures("one_thread")

CLIPS = 32  # 4 optimiser steps of 8 clips an epoch
# The runs differ in the order gradients are summed (DDP's all-reduce, accumulation) and in nothing else. The tiny
# CT-Net amplifies that rounding 30-100 times a step: BatchNorm over micro-batches of 2 clips normalises 8 values
# a channel where its maps are 1 x 1 (measured by reversing the micro-batches' order in one process; in float32 the
# second step's gradients then already differ by 0.09 out of 17). So the runs train in float64, 4 steps that move
# the weights by about 2e-2: they agree to about 4e-13 (measured), one process with the whole 8-clip batch
# (BatchNorm over 8 clips) differs by about 8e-3.
ATOL = 1e-8


class FixedClips(Dataset):
    """float64 clips and labels that are a function of the index only: every process count draws the same data,
    so the runs differ in how the global batch is split and summed and in nothing else."""

    def __init__(self, _data_cfg, _split):
        generator = torch.Generator().manual_seed(0)
        self.clips = torch.randn(CLIPS, 3, TINY_MODEL["num_segments"], 32, 32, generator=generator,
                                 dtype=torch.float64)
        self.labels = torch.randint(0, NUM_CLASSES, (CLIPS,), generator=generator)

    def __len__(self):
        return CLIPS

    def __getitem__(self, index):
        return self.clips[index], self.labels[index]


def fixed_experiment(path, **train):
    """The tiny CT-Net with 8-clip global batches, SGD at a rate that moves it, and a gradient-norm clip small
    enough to act (clipping a micro-batch's gradient instead of the whole step's would show)."""
    (path.parent / "classes.txt").write_text("".join(f"class {i}\n" for i in range(NUM_CLASSES)))
    exp = {"name": "acc", "seed": 0, "model": TINY_MODEL,
           "data": {"dataset": "synthetic", "frames_root": str(path.parent / "none"), "train_list": "none",
                    "val_list": "none", "classes": str(path.parent / "classes.txt"), "workers": 0},
           "train": {"epochs": 1, "batch_size": 8, "base_batch": 8, "lr": 0.02, "warmup_epochs": 0,
                     "clip_grad_norm": 1.0, "deterministic": True, **train}}
    path.write_text(yaml.safe_dump(exp))
    return path


def float64_model(spec, num_classes):
    return build_model(spec, num_classes).double()


def _train(rank, world_size, exp_path, out, port, device="cpu"):
    """Train `exp_path` as rank `rank` of `world_size` gloo processes (in this process when world_size is 1)."""
    if world_size > 1:
        os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), LOCAL_RANK=str(rank),
                          WORLD_SIZE=str(world_size))
        torch.set_num_threads(1)
    ctx = init_distributed(device)
    try:
        Trainer(load_experiment(exp_path), out, ctx, build_model=float64_model, build_dataset=FixedClips).run()
    finally:
        cleanup_distributed()


def train_on(processes, exp_path, out, device="cpu"):
    """final.pt's weights after training on `processes` processes (one process on `device`)."""
    if processes == 1:
        _train(0, 1, exp_path, out, None, device)
    else:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        torch.multiprocessing.spawn(_train, args=(processes, exp_path, out, port), nprocs=processes)
    return load_checkpoint(Path(out) / "final.pt")["model"]


def parameters(weights):
    """The trained tensors: BatchNorm's running statistics are left out (see the test below)."""
    return {key: value for key, value in weights.items()
            if not key.endswith(("running_mean", "running_var", "num_batches_tracked"))}


def max_difference(a, b):
    return max((a[key] - b[key]).abs().max().item() for key in a)


def test_accumulated_micro_batches_train_like_more_processes(tmp_path):
    """(a) 4 gloo processes x 2 clips, (b) 1 process x 2-clip micro-batches accumulated 4 times, (c) 2 processes x
    2 accumulated twice: the same weights after 8 steps, BatchNorm in training mode normalising the same pairs of
    clips in all three. BatchNorm's running statistics are not compared: DDP keeps rank 0's, updated from its own
    micro-batch once a step, accumulation updates them from every micro-batch (docs/cluster.md). A control,
    1 process with the whole 8-clip batch (BatchNorm over 8 clips), must differ, or the test proves nothing."""
    four = parameters(train_on(4, fixed_experiment(tmp_path / "a.yaml"), tmp_path / "a"))
    one = parameters(train_on(1, fixed_experiment(tmp_path / "b.yaml", micro_batch=2), tmp_path / "b"))
    two = parameters(train_on(2, fixed_experiment(tmp_path / "c.yaml", micro_batch=2), tmp_path / "c"))
    whole = parameters(train_on(1, fixed_experiment(tmp_path / "d.yaml"), tmp_path / "d"))
    initial = parameters(Trainer(load_experiment(tmp_path / "d.yaml"), tmp_path / "e", init_distributed("cpu"),
                                 build_model=float64_model, build_dataset=FixedClips).model.state_dict())
    assert four.keys() == one.keys() == two.keys() and len(four) > 10
    assert max_difference(four, initial) > 100 * ATOL  # the weights moved
    print(f"max |difference|: 1x4 vs 4x1 {max_difference(one, four):.2e}, 2x2 vs 4x1 {max_difference(two, four):.2e}"
          f", control 1x8 vs 4x1 {max_difference(whole, four):.2e}")
    for name, value in four.items():
        torch.testing.assert_close(one[name], value, rtol=0, atol=ATOL, msg=name)
        torch.testing.assert_close(two[name], value, rtol=0, atol=ATOL, msg=name)
    assert max_difference(whole, four) > 100 * ATOL


def test_micro_batch_of_the_whole_share_changes_nothing(tmp_path):
    """micro_batch set to the process's share (no accumulation) trains bit for bit as micro_batch unset, the
    engine's behaviour before the key existed; unset, the settings digest is that of a train section without it."""
    unset = train_on(1, fixed_experiment(tmp_path / "a.yaml"), tmp_path / "a")
    same = train_on(1, fixed_experiment(tmp_path / "b.yaml", micro_batch=8), tmp_path / "b")
    assert unset.keys() == same.keys() and all(torch.equal(unset[key], same[key]) for key in unset)
    settings = load_checkpoint(tmp_path / "a/final.pt")["settings"]
    assert "micro_batch" not in settings["train"]


def test_sigterm_among_micro_batches_resumes_to_the_uninterrupted_weights(synthetic_lists, tmp_path):
    """SIGTERM while the second micro-batch of step 2 loads (4 micro-batches of 2 clips a step, the real data
    path): the step is finished and saved as 2 whole steps, no micro-batch beyond it read, and the resumed run
    ends with the uninterrupted run's weights bit for bit."""
    exp = load_experiment(write_experiment(tmp_path / "e.yaml", synthetic_lists, train_list="small.txt",
                                           micro_batch=2))
    ctx = init_distributed("cpu")
    Trainer(exp, tmp_path / "ref", ctx).run()

    read = []

    class Signalling(Dataset):
        """The training videos, sending this process SIGTERM as the 11th clip loads: the first clip of micro-batch
        6, step 2's second."""

        def __init__(self, data_cfg, split):
            self.videos = build_dataset(data_cfg, split)

        def __len__(self):
            return len(self.videos)

        def __getitem__(self, index):
            read.append(index)
            if len(read) == 11:
                os.kill(os.getpid(), signal.SIGTERM)
            return self.videos[index]

    with pytest.raises(TrainingInterrupted) as stop:
        Trainer(exp, tmp_path / "run", ctx, build_dataset=Signalling).run()
    assert stop.value.exit_code == 128 + signal.SIGTERM
    saved = load_checkpoint(tmp_path / "run/checkpoints/last.pt")
    assert (saved["epoch"], saved["step_in_epoch"]) == (0, 2) and len(read) == 2 * 8

    Trainer(exp, tmp_path / "run", ctx).run()
    assert_same_weights(tmp_path / "run/final.pt", tmp_path / "ref/final.pt")


def test_accumulation_splits_the_share_evenly_or_says_what_to_change():
    assert accumulation(64, None, 8, "e") == (8, 1)
    assert accumulation(64, 8, 8, "e") == (8, 1)
    assert accumulation(64, 8, 4, "e") == (8, 2)
    assert accumulation(64, 8, 1, "e") == (8, 8)
    with pytest.raises(ValueError, match=r"^e: train.batch_size 64 over 8 process\(es\) is 8 clips each, not a "
                                         r"multiple of train.micro_batch 16; set a micro_batch that divides 8"):
        accumulation(64, 16, 8, "e")
    with pytest.raises(ValueError, match="not divisible by 3 processes"):
        accumulation(64, 8, 3, "e")
    with pytest.raises(ExperimentError, match=r"train.micro_batch must be null or a positive integer dividing "
                                              r"train.batch_size 64, got 6"):
        resolve_experiment({"name": "e", "model": dict(TINY_MODEL), "data": {"dataset": "synthetic"},
                            "train": {"micro_batch": 6}})


def test_interleave_gives_each_micro_batch_every_accumulate_th_clip_of_the_step():
    """Rank r's micro-batch a holds the clips of rank r + a x world_size in a run without accumulation."""
    assert interleave(list(range(10)), 4, 2) == [0, 2, 1, 3, 4, 6, 5, 7, 8, 9]
    assert interleave(list(range(5)), 4, 1) == list(range(5))


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_accumulation_on_a_gpu_trains_like_four_cpu_processes(tmp_path):
    """The CUDA path: one GPU with 4 accumulated micro-batches of 2 (float64, channels-last, no autocast, which
    would cast to bf16) reaches the weights of 4 gloo CPU processes with 2 clips each (benchmarks/cuda_check.sh)."""
    four = parameters(train_on(4, fixed_experiment(tmp_path / "a.yaml"), tmp_path / "a"))
    gpu = parameters(train_on(1, fixed_experiment(tmp_path / "b.yaml", micro_batch=2, amp=None), tmp_path / "b",
                              device="cuda"))
    print(f"max |difference|: 1 GPU x 4 micro-batches vs 4 CPU processes {max_difference(gpu, four):.2e}")
    for name, value in four.items():
        torch.testing.assert_close(gpu[name], value, rtol=0, atol=ATOL, msg=name)
